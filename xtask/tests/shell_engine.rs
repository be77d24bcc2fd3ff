//! The shell task through a real pseudo-terminal (`script`): a new container
//! with the banner and credentials set up, attach to a running one, start a
//! stopped one, a foreign container refused, `--rm` and `--list`.

mod support;

use std::io::Write as _;
use std::process::Stdio;

use support::project::{find_program, test_image, text, TempDir};
use support::Engine;

/// Runs `cargo xtask --engine ENGINE shell ARGS` under `script` (a real pty), typing `input`.
fn shell_session(
    engine: &Engine,
    args: &[&str],
    input: &str,
    env: &[(&str, &str)],
) -> (Option<i32>, String) {
    let binary = env!("CARGO_BIN_EXE_xtask");
    let line = [binary, "--engine", engine.program.as_str()]
        .into_iter()
        .chain(args.iter().copied())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = support::project::command("script");
    command.args(["-qefc", &line, "/dev/null"]).env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Give the container's shell time to start before typing into the pty.
    std::thread::sleep(std::time::Duration::from_secs(3));
    // The task may have refused and exited already: a closed pty is fine then.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
}

fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

support::engine_tests! {
fn shell_creates_attaches_and_starts_with_credentials_on_every_entry(engine) {
    if find_program("script").is_none() {
        let _ = writeln!(std::io::stderr(), "skipped: `script` (util-linux) is needed for a pty");
        assert!(std::env::var("SCYLLA_REQUIRE_ENGINE").as_deref() != Ok("1"), "script required");
        return;
    }
    let image = test_image(&engine);
    let name = support::unique_name("xtask-shell");
    let _cleanup = support::Resource::container(&engine, &name);
    let creds = TempDir::new("shell-creds");
    let file = creds.path.join("credentials.json");
    std::fs::write(&file, "{\"shell-token\": 1}").unwrap();
    let args = [
        "shell",
        name.as_str(),
        "--no-build",
        "--image",
        image,
        "--credentials",
        file.to_str().unwrap(),
    ];

    let probe =
        "cat ~/.claude/.credentials.json; echo; stat -c '%a' ~/.claude/.credentials.json; exit\n";
    let (code, output) = shell_session(&engine, &args, probe, &[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("scylla-runner shell"), "no banner: {output}");
    assert!(output.contains("credentials:  Claude credentials file"), "{output}");
    assert!(output.contains("shell-token"), "credentials not set up: {output}");
    assert!(output.lines().any(|l| l.trim() == "600"), "credentials mode: {output}");
    let state = |engine: &Engine| {
        text(&engine.run(&["inspect", "--format", "{{.State.Status}}", &name])).trim().to_string()
    };
    assert_eq!(state(&engine), "running", "the container outlives the shell");

    // Running: attach, and the credentials are there on this path too.
    let (code, output) = shell_session(&engine, &args, probe, &[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("shell-token"), "{output}");

    // Stopped: started again (its secrets tmpfs is empty then, so they are
    // delivered again), then attached.
    engine.run(&["stop", "--time", "1", &name]);
    assert_eq!(state(&engine), "exited");
    let again = "cat ~/.claude/.credentials.json; echo; echo attached-$((40+2)); exit 3\n";
    let (code, output) = shell_session(&engine, &args, again, &[]);
    assert_eq!(code, Some(3), "{output}");
    assert!(output.contains("attached-42"), "{output}");
    assert!(output.contains("shell-token"), "credentials lost on restart: {output}");
    assert_eq!(state(&engine), "running");
}

fn shell_refuses_a_container_it_did_not_make(engine) {
    let image = test_image(&engine);
    let name = support::unique_name("foreign");
    let _cleanup = support::Resource::container(&engine, &name);
    engine.run(&["create", "--name", &name, image, "sleep", "1"]);
    let (code, output) =
        shell_session(&engine, &["shell", &name, "--no-build", "--image", image], "exit\n", &[]);
    assert_eq!(code, Some(2), "{output}");
    assert!(output.contains("was not made by `cargo xtask shell`"), "{output}");
}

fn shell_rm_removes_the_container_when_the_shell_exits_and_list_shows_kept_ones(engine) {
    if find_program("script").is_none() {
        let _ = writeln!(std::io::stderr(), "skipped: `script` (util-linux) is needed for a pty");
        assert!(std::env::var("SCYLLA_REQUIRE_ENGINE").as_deref() != Ok("1"), "script required");
        return;
    }
    let image = test_image(&engine);
    let exists =
        |name: &str| engine.output(&["inspect", "--type", "container", name]).status.success();

    // A kept shell container is listed by --list.
    let kept = support::unique_name("xtask-shell-kept");
    let _kept_cleanup = support::Resource::container(&engine, &kept);
    let (code, output) =
        shell_session(&engine, &["shell", &kept, "--no-build", "--image", image], "exit\n", &[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("the container keeps running"), "{output}");
    let listed = engine.run_xtask(&["shell", "--list"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let row = text(&listed.stdout).lines().find(|l| l.starts_with(&kept)).map(str::to_string);
    assert!(row.as_deref().is_some_and(|r| r.contains("running")), "{}", text(&listed.stdout));

    // --rm, named and new: gone after the shell exits, with the shell's code.
    let named = support::unique_name("xtask-shell-rm");
    let _named_cleanup = support::Resource::container(&engine, &named);
    let args = ["shell", named.as_str(), "--rm", "--no-build", "--image", image];
    let (code, output) = shell_session(&engine, &args, "echo inside-$((6*7)); exit 4\n", &[]);
    assert_eq!(code, Some(4), "{output}");
    assert!(output.contains("inside-42"), "{output}");
    assert!(output.contains("the container is then removed (--rm)"), "{output}");
    assert!(!exists(&named), "--rm left {named} behind");

    // Unnamed: the container the banner names is gone afterwards.
    let (code, output) =
        shell_session(&engine, &["shell", "--rm", "--no-build", "--image", image], "exit\n", &[]);
    assert_eq!(code, Some(0), "{output}");
    let banner = output.split("scylla-runner shell (").nth(1).expect("banner");
    let unnamed = banner.split(')').next().unwrap().to_string();
    let _unnamed_cleanup = support::Resource::container(&engine, &unnamed);
    assert!(unnamed.starts_with("scylla-shell-"), "{output}");
    assert!(!exists(&unnamed), "--rm left {unnamed} behind");

    // An existing kept container is removed too when --rm is asked for.
    let args = ["shell", kept.as_str(), "--rm", "--no-build", "--image", image];
    let (code, output) = shell_session(&engine, &args, "exit\n", &[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(!exists(&kept), "--rm left {kept} behind");
}
}
