//! docker-build against a real engine and the local registry from
//! tests/offline/prepare.sh: skip when unchanged, explain what a change
//! rebuilds, refuse floating bases and bad COPY sources, and check and update
//! pins after a tag moves in the registry.

mod support;

use std::path::Path;

use serde_json::Value;
use support::project::{project_root, text, TempDir};
use support::{Engine, Resource};

const REGISTRY: &str = "127.0.0.1:5000";

/// The pinned python base from .xtask/build-args.
fn python_base() -> String {
    let args = std::fs::read_to_string(project_root().join(".xtask/build-args"))
        .expect(".xtask/build-args: run `bash tests/offline/prepare.sh` first");
    args.lines()
        .find_map(|l| l.strip_prefix("PYTHON_BASE="))
        .expect("PYTHON_BASE in build-args")
        .to_string()
}

fn project(dockerfile: &str) -> TempDir {
    let dir = TempDir::new("build-ctx");
    std::fs::create_dir_all(dir.path.join("docker")).unwrap();
    std::fs::create_dir_all(dir.path.join("app")).unwrap();
    std::fs::write(dir.path.join("docker/Dockerfile"), dockerfile).unwrap();
    std::fs::write(dir.path.join("deps.txt"), "dependency list\n").unwrap();
    std::fs::write(dir.path.join("app/main.py"), "print('v1')\n").unwrap();
    dir
}

fn build(engine: &Engine, dir: &Path, tag: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["--project-dir", dir.to_str().unwrap(), "docker-build", "--tag", tag];
    args.extend_from_slice(extra);
    let out = engine.run_xtask(&args);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

support::engine_tests! {
fn skips_an_unchanged_build_and_explains_a_source_change(engine) {
    let dockerfile = format!(
        "FROM {}\nCOPY deps.txt /deps.txt\nRUN wc -l /deps.txt > /deps.count\nCOPY app/ /app/\n",
        python_base()
    );
    let dir = project(&dockerfile);
    let tag = format!("xtask-test-build:{}", support::unique_name("t"));
    let _image = Resource::image(&engine, &tag);

    let (code, stdout, stderr) = build(&engine, &dir.path, &tag, &["--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let first = json(&stdout);
    assert_eq!(first["action"], "built");
    let labels =
        text(&engine.run(&["image", "inspect", "--format", "{{json .Config.Labels}}", &tag]));
    assert!(
        labels.contains(first["source_hash"].as_str().unwrap()),
        "the image carries its source hash"
    );

    let (code, stdout, _) = build(&engine, &dir.path, &tag, &["--format", "json"]);
    assert_eq!(code, Some(0));
    let second = json(&stdout);
    assert_eq!(second["action"], "skipped");
    assert_eq!(second["source_hash"], first["source_hash"]);
    assert_eq!(second["image_id"], first["image_id"]);

    std::fs::write(dir.path.join("app/main.py"), "print('v2')\n").unwrap();
    let (_, explained, _) = build(&engine, &dir.path, &tag, &["--explain"]);
    assert!(
        explained.contains("steps 1-3 stay cached; step 4 (line 4: COPY app/ /app/)"),
        "{explained}"
    );
    assert!(explained.contains("app/main.py"), "{explained}");
    let (code, stdout, stderr) = build(&engine, &dir.path, &tag, &["--format", "json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let third = json(&stdout);
    assert_eq!(third["action"], "built");
    assert_ne!(third["source_hash"], first["source_hash"]);
    assert_eq!(third["first_invalidated_step"]["line"], 4);
    // The builder's own output is shown with -v only; by default one line per step.
    assert!(
        stderr.contains("step 2/") && stderr.contains("COPY deps.txt /deps.txt: cached"),
        "the dependency layer stays cached: {stderr}"
    );
    let longest = stderr.lines().map(|line| line.chars().count()).max().unwrap_or(0);
    assert!(longest <= 120, "no kilobytes of label JSON on screen: {stderr}");
}

fn refuses_floating_bases_and_missing_copy_sources_before_building(engine) {
    let floating = python_base().split('@').next().unwrap().to_string();
    let dir = project(&format!("FROM {floating}\nCOPY app/ /app/\n"));
    let (code, _, stderr) = build(&engine, &dir.path, "xtask-test-never:built", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("refusing to build from a floating base"), "{stderr}");
    assert!(stderr.contains("Dockerfile:1:"), "{stderr}");
    assert!(stderr.contains("--update-pins"), "the refusal names the fix: {stderr}");

    let dir = project(&format!("FROM {}\nCOPY missing.txt /x\n", python_base()));
    let (code, _, stderr) = build(&engine, &dir.path, "xtask-test-never:built", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("COPY/ADD sources the engine will not find"), "{stderr}");
    assert!(stderr.contains("Dockerfile:2: COPY source `missing.txt`"), "{stderr}");

    let dir = project("ARG BASE\nFROM $BASE\n");
    let (code, _, stderr) = build(&engine, &dir.path, "xtask-test-never:built", &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("uses ARG BASE which has no value"), "{stderr}");

    let (code, _, stderr) =
        build(&engine, &dir.path, "xtask-test-never:built", &["--extras", "nope"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--extras needs"), "{stderr}");
}

/// Pushes a fresh image (distinct by a label) under `reference`; returns its digest.
fn push_variant(engine: &Engine, reference: &str, label: &str) -> String {
    let dir = TempDir::new("variant");
    std::fs::write(
        dir.path.join("Dockerfile"),
        format!("FROM {}\nLABEL variant={label}\n", python_base()),
    )
    .unwrap();
    let out = support::project::command(&engine.program)
        .args(["build", "-q", "-t", reference, dir.path.to_str().unwrap()])
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    if engine.is_podman() {
        // Podman records no RepoDigests on push; it writes the digest to a file.
        let file = dir.path.join("digest");
        engine.run(&["push", "--digestfile", file.to_str().unwrap(), reference]);
        return std::fs::read_to_string(file).unwrap().trim().to_string();
    }
    engine.run(&["push", reference]);
    let digests = text(&engine.run(&[
        "image",
        "inspect",
        "--format",
        "{{join .RepoDigests \"\\n\"}}",
        reference,
    ]));
    let repo = reference.rsplit_once(':').unwrap().0;
    digests.lines().find_map(|l| l.strip_prefix(&format!("{repo}@"))).unwrap().to_string()
}

fn check_pins_sees_a_moved_tag_and_update_pins_rewrites_only_the_digest(engine) {
    let repo = format!("{REGISTRY}/xtask-test/{}", support::unique_name("pins"));
    let reference = format!("{repo}:v1");
    let _local = Resource::image(&engine, &reference);
    let first = push_variant(&engine, &reference, "one");
    let dockerfile =
        format!("# the base\nARG BASE={reference}@{first}  # keep this comment\nFROM ${{BASE}}\n");
    let dir = project(&dockerfile);

    let (code, stdout, stderr) = build(&engine, &dir.path, "unused:tag", &["--check-pins"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains(":2: current"), "{stdout}");

    let second = push_variant(&engine, &reference, "two");
    assert_ne!(first, second);
    let (code, stdout, _) = build(&engine, &dir.path, "unused:tag", &["--check-pins"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(":2: stale") && stdout.contains(&second), "{stdout}");

    let (code, stdout, stderr) = build(&engine, &dir.path, "unused:tag", &["--update-pins"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&format!("+ ARG BASE={reference}@{second}")), "{stdout}");
    let rewritten = std::fs::read_to_string(dir.path.join("docker/Dockerfile")).unwrap();
    assert_eq!(rewritten, dockerfile.replace(&first, &second));
    let (code, _, _) = build(&engine, &dir.path, "unused:tag", &["--check-pins"]);
    assert_eq!(code, Some(0));
}

fn update_pins_pins_an_unpinned_base_together_with_claude_code_or_changes_nothing(engine) {
    let pinned = python_base();
    let floating = pinned.split('@').next().unwrap().to_string();
    let npm = support::npm::Registry::serve(&{
        let mut document = support::npm::captured_document();
        document["dist-tags"]["latest"] = "2.1.331".into();
        document
    });
    let old = support::npm::integrity("2.1.330");
    let dockerfile = format!(
        "ARG CLAUDE_CODE_VERSION=2.1.330\nARG CLAUDE_CODE_INTEGRITY={old}\n\
         FROM {floating} AS base\nCOPY app/ /app/\n"
    );
    let dir = project(&dockerfile);
    let (code, stdout, _) =
        build(&engine, &dir.path, "unused:tag", &["--check-pins", "--npm-registry", &npm.url]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(":3: unpinned") && stdout.contains(":1: stale"), "{stdout}");

    // One registry does not answer: neither pin is written.
    let closed =
        ["--update-pins", "--npm-registry", "http://127.0.0.1:1", "--registry-timeout", "3"];
    let (code, _, stderr) = build(&engine, &dir.path, "unused:tag", &closed);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path.join("docker/Dockerfile")).unwrap(), dockerfile);

    let (code, stdout, stderr) =
        build(&engine, &dir.path, "unused:tag", &["--update-pins", "--npm-registry", &npm.url]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let rewritten = std::fs::read_to_string(dir.path.join("docker/Dockerfile")).unwrap();
    let digest = rewritten
        .split(&format!("FROM {floating}@"))
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no digest appended: {rewritten}"))
        .to_string();
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "{rewritten}");
    let expected = dockerfile
        .replace(&format!("{floating} AS"), &format!("{floating}@{digest} AS"))
        .replace("=2.1.330\n", "=2.1.331\n")
        .replace(&old, &support::npm::integrity("2.1.331"));
    assert_eq!(rewritten, expected);
    let (code, stdout, _) =
        build(&engine, &dir.path, "unused:tag", &["--check-pins", "--npm-registry", &npm.url]);
    assert_eq!(code, Some(0), "{stdout}");
}

fn an_unreachable_registry_is_an_error_and_changes_nothing(engine) {
    let digest = "0".repeat(64);
    let dockerfile = format!("FROM 127.0.0.1:1/nothing/here:v1@sha256:{digest}\n");
    let dir = project(&dockerfile);
    let (code, stdout, stderr) =
        build(&engine, &dir.path, "unused:tag", &["--check-pins", "--registry-timeout", "3"]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("unreachable"), "{stdout}");
    let (code, _, stderr) =
        build(&engine, &dir.path, "unused:tag", &["--update-pins", "--registry-timeout", "3"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(std::fs::read_to_string(dir.path.join("docker/Dockerfile")).unwrap(), dockerfile);
}

fn ctrl_c_or_sigterm_during_a_build_stops_it_exits_130_or_143_and_leaves_no_image(engine) {
    use std::os::unix::process::CommandExt as _;
    let dir = project(&format!("FROM {}\nRUN sleep 60\n", python_base()));
    // Ctrl-C at a terminal signals the whole process group; `timeout` or `kill PID`
    // signal xtask alone, which passes it on to the builder.
    let cases = [("INT", true, 130, "interrupted"), ("TERM", false, 143, "terminated")];
    for (signal, group, code, word) in cases {
        let tag = format!("xtask-test-build:{}", support::unique_name("int"));
        let _image = Resource::image(&engine, &tag);
        let mut command = engine.xtask();
        let project = dir.path.to_str().unwrap();
        command.args(["--project-dir", project, "docker-build", "--no-cache", "--tag", &tag]);
        command.process_group(0).stdout(std::process::Stdio::null());
        let child = command.stderr(std::process::Stdio::piped()).spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_secs(4));
        let sent = std::time::Instant::now();
        let target = if group { format!("-{}", child.id()) } else { child.id().to_string() };
        let killed =
            support::project::command("kill").args(["-s", signal, "--", &target]).status();
        assert!(killed.unwrap().success(), "kill -s {signal} -- {target}");
        let out = child.wait_with_output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{signal}: {stderr}");
        assert!(sent.elapsed() < std::time::Duration::from_secs(30), "took {:?}", sent.elapsed());
        let said = format!("{word}: the build of {tag} was stopped");
        assert!(stderr.contains(&said), "{signal}: {stderr}");
        assert!(!engine.output(&["image", "inspect", &tag]).status.success(), "{tag} was built");
    }
}

fn dry_run_prints_the_build_says_it_would_build_and_builds_nothing(engine) {
    let dir = project(&format!("FROM {}\nCOPY app/ /app/\n", python_base()));
    let tag = format!("xtask-test-build:{}", support::unique_name("dry"));
    let _image = Resource::image(&engine, &tag);
    let project = dir.path.to_str().unwrap();
    let args = ["--dry-run", "--project-dir", project, "docker-build", "--tag", &tag];
    let out = engine.run_xtask(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(" build ") && stdout.contains(&tag), "the command: {stdout}");
    assert!(stderr.contains(&format!("would build {tag}, source hash ")), "{stderr}");
    assert!(!stderr.contains("built"), "{stderr}");
    let out = engine.run_xtask(&[&args[..], &["--format", "json"]].concat());
    let last = text(&out.stdout).lines().last().unwrap_or_default().to_string();
    assert_eq!(json(&last)["action"], "printed", "{last}");
    assert!(!engine.output(&["image", "inspect", &tag]).status.success(), "{tag} was built");
}
}
