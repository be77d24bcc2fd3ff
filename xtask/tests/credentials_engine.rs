//! Authentication and configuration against a real engine: the variables
//! Claude Code users have are forwarded (secrets as files, settings as plain
//! env), secrets live in memory only (never under the engine's data root), a
//! credentials file refreshed in the container is written back on exit and on
//! Ctrl-C, and the warnings about credentials say exactly what happens.
//!
//! Every xtask here runs with a private HOME and none of the user's Claude
//! variables, so the machine's own login never leaks into a test.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::project::{fake_project, test_image, text, wait_for, TempDir};
use support::Engine;

/// Variables the tool forwards; removed from every child so the tests are hermetic.
const FORWARDED: [&str; 12] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
];

/// xtask on `engine` for `project` with HOME set to `home` and no forwarded variables.
fn hermetic(engine: &Engine, project: &Path, home: &Path) -> Command {
    let mut command = engine.xtask();
    for name in FORWARDED {
        command.env_remove(name);
    }
    command.env("HOME", home).args(["--project-dir", project.to_str().unwrap()]);
    command
}

fn run_args<'a>(image: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["run-experiment", "--no-build", "--image", image];
    args.extend_from_slice(extra);
    args
}

fn credentials(token: &str, expires_at: u64) -> String {
    let oauth = format!(
        r#"{{"accessToken":"{token}","refreshToken":"r-{token}","expiresAt":{expires_at}}}"#
    );
    format!(r#"{{"claudeAiOauth":{oauth}}}"#)
}

/// A HOME holding `~/.claude/.credentials.json` (mode 0600) with `content`.
fn home_with_credentials(content: &str) -> (TempDir, PathBuf) {
    let home = TempDir::new("xtask-home");
    let dir = home.path.join(".claude");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(".credentials.json");
    std::fs::write(&file, content).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    (home, file)
}

/// A script that rewrites the container's credentials file the way a token
/// refresh does (a temporary file, then rename) with `token` and `expires_at`.
fn refresh_snippet(token: &str, expires_at: u64) -> String {
    format!(
        "import os, json\n\
         path = os.path.expanduser('~/.claude/.credentials.json')\n\
         tmp = path + '.tmp-' + str(os.getpid())\n\
         open(tmp, 'w').write(json.dumps({{'claudeAiOauth': {{'accessToken': '{token}', \
         'refreshToken': 'r-{token}', 'expiresAt': {expires_at}}}}}))\n\
         os.chmod(tmp, 0o600)\n\
         os.rename(tmp, path)\n"
    )
}

fn output_of(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

support::engine_tests! {
fn forwarded_settings_are_plain_and_tokens_are_secret(engine) {
    let image = test_image(&engine);
    let canary = format!("tok-{}", support::unique_name("oauth"));
    let script = "import hashlib, os\n\
                  for name in ['ANTHROPIC_BASE_URL', 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC', \
                  'MY_SETTING', 'UNSET_VAR_XYZ']:\n\
                  \x20   print(name + '=' + os.environ.get(name, '<unset>'))\n\
                  token = os.environ.get('CLAUDE_CODE_OAUTH_TOKEN', '')\n\
                  print('token-sha=' + hashlib.sha256(token.encode()).hexdigest())\n";
    let project = fake_project(script);
    let home = TempDir::new("xtask-home");
    let network = support::unique_name("xtask-net");
    engine.run(&["network", "create", "--label", support::TEST_LABEL, &network]);
    let _network = NetworkGuard { engine: engine.clone(), name: network.clone() };
    let flags = ["--env", "MY_SETTING=a b", "--env", "UNSET_VAR_XYZ", "--network", &network];
    let configure = |command: &mut Command| {
        command
            .env("ANTHROPIC_BASE_URL", "http://172.17.0.1:9")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("CLAUDE_CODE_OAUTH_TOKEN", &canary);
    };

    let mut dry = hermetic(&engine, &project.path, &home.path);
    dry.arg("--dry-run").args(run_args(image, &flags));
    configure(&mut dry);
    let out = dry.output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(plan.contains("--env ANTHROPIC_BASE_URL=http://172.17.0.1:9"), "{plan}");
    assert!(plan.contains("--env CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"), "{plan}");
    assert!(plan.contains("--env 'MY_SETTING=a b'"), "{plan}");
    assert!(plan.contains(&format!("--network {network}")), "{plan}");
    assert!(!output_of(&out).contains(&canary), "the token is in the dry-run plan");
    assert!(
        text(&out.stderr).contains("--env UNSET_VAR_XYZ: UNSET_VAR_XYZ is not set here"),
        "{}",
        text(&out.stderr)
    );

    let mut real = hermetic(&engine, &project.path, &home.path);
    real.args(run_args(image, &flags));
    configure(&mut real);
    let out = real.output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let seen = text(&out.stdout);
    for line in [
        "ANTHROPIC_BASE_URL=http://172.17.0.1:9",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
        "MY_SETTING=a b",
        "UNSET_VAR_XYZ=<unset>",
    ] {
        assert!(seen.lines().any(|l| l == line), "{line} missing in: {seen}");
    }
    use sha2::Digest as _;
    let sha: String =
        sha2::Sha256::digest(canary.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert!(seen.contains(&format!("token-sha={sha}")), "the token did not arrive: {seen}");
    assert!(!output_of(&out).contains(&canary), "the token is in the output");
}

struct NetworkGuard {
    engine: Engine,
    name: String,
}

impl Drop for NetworkGuard {
    fn drop(&mut self) {
        let _ = self.engine.output(&["network", "rm", &self.name]);
    }
}

fn secrets_never_reach_the_engines_data_root(engine) {
    let image = test_image(&engine);
    // Docker's data root, or podman's image and container store (its run root
    // is a tmpfs, not the disk).
    let format = if engine.is_podman() { "{{.Store.GraphRoot}}" } else { "{{.DockerRootDir}}" };
    let root_out = engine.run(&["info", "--format", format]);
    let data_root = PathBuf::from(text(&root_out).trim());
    assert!(
        std::fs::read_dir(&data_root).is_ok(),
        "the engine's data root {} is not readable by this test; run it as root",
        data_root.display()
    );
    let canary = format!("canary-{}", support::unique_name("disk"));
    let started = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
    let script = "import os, time\n\
                  assert os.environ['ANTHROPIC_API_KEY'].startswith('canary-')\n\
                  assert 'canary-' in open(\
                      os.path.expanduser('~/.claude/.credentials.json')).read()\n\
                  open('results/ready', 'w').write('1')\n\
                  while not os.path.exists('results/go'): time.sleep(0.1)\n";
    let project = fake_project(script);
    let (home, _file) = home_with_credentials(&credentials(&format!("{canary}-file"), 1000));
    let child = hermetic(&engine, &project.path, &home.path)
        .args(run_args(image, &[]))
        .env("ANTHROPIC_API_KEY", &canary)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(60, || project.path.join("results/ready").exists()), "the run never started");
    let found = grep_changed_since(&data_root, &canary, started);
    std::fs::write(project.path.join("results/go"), "1").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(found.is_empty(), "a secret is on the host's disk: {found:?}");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!output_of(&out).contains(&canary), "canary in the task's output");
}

/// Two units in one HOME (as the runner's parallel units are) refresh the one
/// credentials file at once, several times, each reading what the other wrote.
const PARALLEL_REFRESHES: &str = r#"
import json, os, subprocess, sys, time
path = os.path.expanduser('~/.claude/.credentials.json')
if len(sys.argv) > 1:
    unit = int(sys.argv[1])
    for i in range(6):
        json.load(open(path))  # a reader never sees a torn file
        tmp = path + '.tmp-' + str(os.getpid())
        at = 2000 + i * 10 + unit
        open(tmp, 'w').write(json.dumps({'claudeAiOauth': {'accessToken': 'new-%d' % at,
                                         'refreshToken': 'r', 'expiresAt': at}}))
        os.chmod(tmp, 0o600)
        os.rename(tmp, path)
        time.sleep(0.05)
    sys.exit(0)
units = [subprocess.Popen([sys.executable, __file__, str(u)]) for u in (1, 2)]
assert all(u.wait() == 0 for u in units)
open('results/final.json', 'w').write(open(path).read())
"#;

/// Files under `dir` changed (ctime) since `since` whose content holds `needle`.
/// Whatever a run writes is that recent; skipping the rest keeps the scan of
/// a data root full of image layers to seconds. Symlinks are not followed.
fn grep_changed_since(dir: &Path, needle: &str, since: std::time::SystemTime) -> Vec<PathBuf> {
    let since = since.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.metadata().map(|m| m.ctime() >= since).unwrap_or(false))
        .filter(|e| std::fs::read(e.path()).map(|b| text(&b).contains(needle)).unwrap_or(false))
        .map(|e| e.path().to_path_buf())
        .collect()
}

fn a_refreshed_token_is_written_back_atomically_and_privately(engine) {
    let image = test_image(&engine);
    let project = fake_project(PARALLEL_REFRESHES);
    let (home, file) = home_with_credentials(&credentials("old-token", 1000));
    let before = std::fs::metadata(&file).unwrap();
    let out =
        hermetic(&engine, &project.path, &home.path).args(run_args(image, &[])).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expiry = |bytes: &[u8]| {
        let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        value["claudeAiOauth"]["expiresAt"].as_u64().unwrap()
    };
    let now = std::fs::read(&file).unwrap();
    let final_inside = std::fs::read(project.path.join("results/final.json")).unwrap();
    // The host gets the container's final file, or a version that expires later.
    assert!(expiry(&now) >= expiry(&final_inside), "{}", text(&now));
    assert!(text(&now).contains(&format!("new-{}", expiry(&now))), "{}", text(&now));
    let after = std::fs::metadata(&file).unwrap();
    assert_eq!(after.mode() & 0o777, 0o600);
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    let stderr = text(&out.stderr);
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains("were refreshed")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].contains(file.to_str().unwrap()), "{stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(file.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "a temporary file is left next to the credentials");
}

fn a_refresh_before_ctrl_c_is_written_back_too(engine) {
    let image = test_image(&engine);
    let script = format!(
        "{}import time\nopen('results/refreshed', 'w').write('1')\ntime.sleep(120)\n",
        refresh_snippet("interrupted-token", 5000)
    );
    let project = fake_project(&script);
    let (home, file) = home_with_credentials(&credentials("old-token", 1000));
    // In a process group of its own, so that SIGINT goes to the whole group,
    // as Ctrl-C at a terminal does (the engine clients get it too).
    let child = hermetic(&engine, &project.path, &home.path)
        .args(run_args(image, &[]))
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for(60, || project.path.join("results/refreshed").exists()),
        "the refresh never ran"
    );
    // Right after the refresh: the keeper's poll may not have seen it yet, and
    // the task's `stop` (SIGTERM) follows the forwarded SIGINT within 0.1-0.2 s.
    interrupt_group(child.id());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let now = std::fs::read_to_string(&file).unwrap();
    assert!(now.contains("interrupted-token"), "{now}\n{}", text(&out.stderr));
    assert_eq!(std::fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
}

/// SIGINT to the process group `pgid` (a child started with `process_group(0)`).
/// Spelled `kill -s INT -- -PGID`: procps-ng's `kill -INT -PGID` reads the
/// group as an option and signals other processes.
fn interrupt_group(pgid: u32) {
    assert!(pgid > 1, "refusing to signal process group {pgid}");
    let stat = std::fs::read_to_string(format!("/proc/{pgid}/stat")).unwrap();
    let leader_of = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(2).unwrap();
    assert_eq!(leader_of, pgid.to_string(), "{pgid} does not lead its own process group");
    let group = format!("-{pgid}");
    let status = support::project::command("kill")
        .args(["-s", "INT", "--", &group])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s INT -- {group} failed");
}

fn nothing_is_written_back_when_not_newer_or_without_a_file(engine) {
    let image = test_image(&engine);
    let project = fake_project(&refresh_snippet("older-token", 500));
    let original = credentials("current-token", 1000);
    let (home, file) = home_with_credentials(&original);
    let out =
        hermetic(&engine, &project.path, &home.path).args(run_args(image, &[])).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    assert!(!text(&out.stderr).contains("were refreshed"), "{}", text(&out.stderr));

    // A token in the environment only: no file appears on the host.
    let script = "import os\nos.makedirs(os.path.expanduser('~/.claude'), exist_ok=True)\n\
                  open(os.path.expanduser('~/.claude/.credentials.json'), 'w').write('{}')\n";
    let project = fake_project(script);
    let home = TempDir::new("xtask-home");
    let out = hermetic(&engine, &project.path, &home.path)
        .args(run_args(image, &[]))
        .env("CLAUDE_CODE_OAUTH_TOKEN", "env-token")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!home.path.join(".claude").exists(), "something was written to the host's HOME");
}

fn credentials_that_cannot_be_used_are_named_and_the_run_goes_on(engine) {
    let image = test_image(&engine);
    let project = fake_project("raise SystemExit(0)\n");
    let dry = |home: &Path, extra: &[&str], key: bool| {
        let mut command = hermetic(&engine, &project.path, home);
        command.arg("--dry-run").args(run_args(image, extra));
        if key {
            command.env("ANTHROPIC_API_KEY", "sk-x");
        }
        command.output().unwrap()
    };
    // Unreadable (a read error even for root: /proc/self/mem gives EIO at offset 0).
    let home = TempDir::new("xtask-home");
    std::fs::create_dir_all(home.path.join(".claude")).unwrap();
    let file = home.path.join(".claude/.credentials.json");
    std::os::unix::fs::symlink("/proc/self/mem", &file).unwrap();
    let out = dry(&home.path, &[], true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("the Claude credentials file {}", file.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("cannot be read: ") && stderr.contains("; using ANTHROPIC_API_KEY"),
        "{stderr}"
    );

    let empty = TempDir::new("xtask-home");
    let out = dry(&empty.path, &["--credentials", "/tmp/typo-xtask.json"], true);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("the Claude credentials file /tmp/typo-xtask.json does not exist"),
        "{}",
        text(&out.stderr)
    );
    let dir = empty.path.to_str().unwrap();
    let out = dry(&empty.path, &["--credentials", dir], false);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("the Claude credentials file {dir} is a directory")),
        "{}",
        text(&out.stderr)
    );
}

fn the_warning_follows_the_requested_agent(engine) {
    let image = test_image(&engine);
    let project = fake_project("raise SystemExit(0)\n");
    let home = TempDir::new("xtask-home");
    let dry = |agent: &[&str]| {
        let mut args = run_args(image, &["--"]);
        args.extend_from_slice(agent);
        hermetic(&engine, &project.path, &home.path).arg("--dry-run").args(args).output().unwrap()
    };
    let claude = text(&dry(&["--tiers", "T0", "--agent", "claude-code"]).stderr);
    assert!(claude.contains("`--agent claude-code` cannot log in"), "{claude}");
    assert!(!claude.contains("oracle"), "contradicts --agent claude-code: {claude}");
    assert_eq!(claude.matches("WARNING:").count(), 1, "{claude}");
    let auto = text(&dry(&["--tiers", "T0"]).stderr);
    assert!(auto.contains("so the experiment runs the oracle agent"), "{auto}");
    let oracle = text(&dry(&["--agent=oracle"]).stderr);
    assert!(!oracle.contains("WARNING:"), "{oracle}");
}
}
