//! `docker-build --check-pins` / `--update-pins` for the Claude Code pin, against
//! a real HTTP server on 127.0.0.1 serving the package document captured from
//! npm (support::npm). The Dockerfiles build `FROM scratch`, so no engine and no
//! image registry is involved: these tests always run.

mod support;

use std::path::Path;

use serde_json::Value;
use support::npm::{captured_document, integrity, Registry};
use support::project::{text, xtask, TempDir};

/// A project whose Dockerfile pins Claude Code `version` with `hash`.
fn project(version: &str, hash: &str) -> (TempDir, String) {
    let dir = TempDir::new("cc-pins");
    std::fs::create_dir_all(dir.path.join("docker")).unwrap();
    let dockerfile = format!(
        "# Claude Code, pinned\nARG CLAUDE_CODE_VERSION={version}\n\
         ARG CLAUDE_CODE_INTEGRITY={hash}  # the tarball's sha512\nFROM scratch\n\
         ARG CLAUDE_CODE_VERSION\n"
    );
    std::fs::write(dir.path.join("docker/Dockerfile"), &dockerfile).unwrap();
    (dir, dockerfile)
}

fn pins(dir: &Path, registry: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = xtask()
        .args(["--project-dir", dir.to_str().unwrap(), "docker-build", "--registry-timeout", "5"])
        .args(extra)
        .env("SCYLLA_NPM_REGISTRY", registry)
        .output()
        .expect("xtask runs");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn dockerfile(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("docker/Dockerfile")).unwrap()
}

fn with_latest(version: &str) -> Value {
    let mut document = captured_document();
    document["dist-tags"]["latest"] = Value::from(version);
    document
}

#[test]
fn check_pins_sees_a_newer_release_and_update_pins_moves_version_and_hash_together() {
    let registry = Registry::serve(&with_latest("2.1.331"));
    let (dir, original) = project("2.1.330", &integrity("2.1.330"));

    let (code, stdout, stderr) = pins(&dir.path, &registry.url, &["--check-pins"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            ":2: stale       @anthropic-ai/claude-code-linux-x64@2.1.330 newer release: 2.1.331"
        ),
        "{stdout}"
    );
    let (_, json, _) = pins(&dir.path, &registry.url, &["--check-pins", "--format", "json"]);
    let rows: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(rows[0]["state"], "stale", "{json}");

    let (code, stdout, stderr) = pins(&dir.path, &registry.url, &["--update-pins"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let expected = original
        .replace("=2.1.330\n", "=2.1.331\n")
        .replace(&integrity("2.1.330"), &integrity("2.1.331"));
    assert_eq!(dockerfile(&dir.path), expected, "only the two values change");
    assert!(stdout.contains(&format!("+ ARG CLAUDE_CODE_INTEGRITY={}", integrity("2.1.331"))));

    let (code, stdout, _) = pins(&dir.path, &registry.url, &["--check-pins"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains(":2: current     @anthropic-ai/claude-code-linux-x64@2.1.331"),
        "{stdout}"
    );

    // The registry moves on: the next update follows it; a pin ahead of latest stays.
    registry.publish(&with_latest("2.1.332"));
    let (code, _, _) = pins(&dir.path, &registry.url, &["--check-pins"]);
    assert_eq!(code, Some(1));
    registry.publish(&with_latest("2.1.197"));
    let (code, stdout, _) = pins(&dir.path, &registry.url, &["--update-pins"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("every pin is current: nothing to change"), "{stdout}");
    assert_eq!(dockerfile(&dir.path), expected);
}

#[test]
fn a_registry_that_cannot_be_trusted_or_reached_changes_nothing() {
    // The pinned version is published with another hash: reported, never rewritten.
    let registry = Registry::serve(&with_latest("2.1.332"));
    let (dir, original) = project("2.1.330", &integrity("2.1.331"));
    let (code, stdout, _) = pins(&dir.path, &registry.url, &["--check-pins"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains(":2: mismatch"), "{stdout}");
    let (code, _, stderr) = pins(&dir.path, &registry.url, &["--update-pins"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("nothing was changed"), "{stderr}");
    assert_eq!(dockerfile(&dir.path), original);

    // "latest" names a version the document does not describe.
    let (dir, original) = project("2.1.330", &integrity("2.1.330"));
    registry.publish(&with_latest("9.9.9"));
    let (code, _, stderr) = pins(&dir.path, &registry.url, &["--update-pins"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("gives no sha512 integrity for 9.9.9"), "{stderr}");
    assert_eq!(dockerfile(&dir.path), original);

    // Nobody answers (a closed port); --npm-registry wins over SCYLLA_NPM_REGISTRY.
    let closed = ["--npm-registry", "http://127.0.0.1:1"];
    let (code, stdout, stderr) =
        pins(&dir.path, &registry.url, &[&["--check-pins"], &closed[..]].concat());
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stdout.contains("unreachable") && stdout.contains("127.0.0.1:1"), "{stdout}");
    let (code, _, stderr) =
        pins(&dir.path, &registry.url, &[&["--update-pins"], &closed[..]].concat());
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot be looked up") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert_eq!(dockerfile(&dir.path), original);
}

#[test]
fn update_pins_under_dry_run_prints_the_edits_and_writes_nothing() {
    let registry = Registry::serve(&with_latest("2.1.331"));
    let (dir, original) = project("2.1.330", &integrity("2.1.330"));
    let out = xtask()
        .args(["--dry-run", "--project-dir", dir.path.to_str().unwrap(), "docker-build"])
        .args(["--update-pins", "--registry-timeout", "5"])
        .env("SCYLLA_NPM_REGISTRY", &registry.url)
        .output()
        .expect("xtask runs");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("+ ARG CLAUDE_CODE_VERSION=2.1.331"), "the edit is shown: {stdout}");
    assert!(stderr.contains("would update 2 pin(s) in "), "{stderr}");
    assert!(!stderr.contains("updated 2 pin(s)"), "{stderr}");
    assert_eq!(dockerfile(&dir.path), original, "--dry-run rewrote the Dockerfile");
    let left: Vec<_> = std::fs::read_dir(dir.path.join("docker")).unwrap().collect();
    assert_eq!(left.len(), 1, "only the Dockerfile is there: {left:?}");
}
