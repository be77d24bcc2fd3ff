//! tests/offline/claude_code.sh, the part of the offline set-up that puts the
//! pinned Claude Code package into the build context: it downloads from a real
//! HTTP server on 127.0.0.1 (support::npm), keeps only a tarball whose sha512 is
//! the pinned integrity, and a second call reuses its cache without the network.

mod support;

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use support::npm::{fake_package, Registry};
use support::project::{command, project_root, text, TempDir};

const VERSION: &str = "0.0.1-test";

fn name() -> String {
    format!("claude-code-linux-x64-{VERSION}.tgz")
}

/// A project whose Dockerfile pins VERSION with `integrity`.
fn project(integrity: &str) -> TempDir {
    let dir = TempDir::new("cc-offline");
    std::fs::create_dir_all(dir.path.join("docker")).unwrap();
    let dockerfile = format!(
        "ARG CLAUDE_CODE_VERSION={VERSION}\nARG CLAUDE_CODE_INTEGRITY={integrity}\nFROM scratch\n"
    );
    std::fs::write(dir.path.join("docker/Dockerfile"), dockerfile).unwrap();
    dir
}

fn fetch(project: &Path, cache: &Path, registry: &str) -> (Option<i32>, String) {
    let out = command("bash")
        .arg(project_root().join("tests/offline/claude_code.sh"))
        .arg(project)
        .env("SCYLLA_OFFLINE_CACHE", cache)
        .env("SCYLLA_NPM_REGISTRY", registry)
        .output()
        .unwrap();
    (out.status.code(), text(&out.stderr))
}

fn serving(tarball: &[u8]) -> Registry {
    let path = format!("@anthropic-ai/claude-code-linux-x64/-/{}", name());
    Registry::serve_files("127.0.0.1", &[(path.as_str(), tarball.to_vec())])
}

#[test]
fn fetches_once_verifies_and_reuses_the_cache_offline() {
    let work = TempDir::new("cc-offline-pkg");
    let (tarball, integrity) = fake_package(&work.path, VERSION);
    let dir = project(&integrity);
    let cache = TempDir::new("cc-offline-cache");
    let registry = serving(&tarball);

    let (code, stderr) = fetch(&dir.path, &cache.path, &registry.url);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(&format!("downloading Claude Code {VERSION}")), "{stderr}");
    let in_context = dir.path.join("docker/claude-code").join(name());
    let cached = cache.path.join("claude-code").join(name());
    assert_eq!(std::fs::read(&in_context).unwrap(), tarball);
    assert_eq!(
        std::fs::metadata(&in_context).unwrap().ino(),
        std::fs::metadata(&cached).unwrap().ino()
    );

    // No registry any more, a tarball of an older pin in the context: the cache serves,
    // and only the pinned tarball stays in the build context.
    drop(registry);
    let old = dir.path.join("docker/claude-code/claude-code-linux-x64-0.0.0-old.tgz");
    std::fs::write(&old, b"old").unwrap();
    std::fs::remove_file(&in_context).unwrap();
    let (code, stderr) = fetch(&dir.path, &cache.path, "http://127.0.0.1:1");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("downloading"), "{stderr}");
    assert_eq!(std::fs::read(&in_context).unwrap(), tarball);
    assert!(!old.exists(), "the older tarball left the build context");
}

#[test]
fn keeps_nothing_that_does_not_match_the_pin() {
    let work = TempDir::new("cc-offline-pkg");
    let (_, integrity) = fake_package(&work.path, VERSION);
    let (other, _) = fake_package(&TempDir::new("cc-offline-other").path, "0.0.2-test");
    let dir = project(&integrity);
    let cache = TempDir::new("cc-offline-cache");
    let registry = serving(&other);

    let (code, stderr) = fetch(&dir.path, &cache.path, &registry.url);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "does not match CLAUDE_CODE_INTEGRITY of docker/Dockerfile; nothing was kept"
        ),
        "{stderr}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(cache.path.join("claude-code")).unwrap().collect();
    assert!(leftovers.is_empty(), "nothing is kept in the cache: {leftovers:?}");
    assert!(!dir.path.join("docker/claude-code").join(name()).exists());

    let (code, stderr) = fetch(&dir.path, &cache.path, "http://127.0.0.1:1");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot download http://127.0.0.1:1/"), "{stderr}");
}
