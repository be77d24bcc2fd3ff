//! Running the built `xtask` binary against the real project or a temporary
//! one, and the project image that the container tests share.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use super::Engine;

/// Tag of the project image built for the tests (from the offline bases), unless
/// `SCYLLA_TEST_IMAGE` names another: checkouts that share one engine, each testing its
/// own sources at the same time, must not rebuild the same tag under each other.
pub const TEST_IMAGE: &str = "scylla-runner:xtask-test";

/// [`TEST_IMAGE`], or the tag `SCYLLA_TEST_IMAGE` names.
pub fn test_image_tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| match std::env::var("SCYLLA_TEST_IMAGE") {
        Ok(tag) if !tag.is_empty() => tag,
        _ => TEST_IMAGE.to_owned(),
    })
}

/// The test image's tag on `engine`: podman's is `SCYLLA_TEST_IMAGE_PODMAN` if set,
/// else the same name as Docker's (podman keeps its images in a store of its own).
pub fn test_image_tag_for(engine: &Engine) -> &'static str {
    static PODMAN_TAG: OnceLock<String> = OnceLock::new();
    if !engine.is_podman() {
        return test_image_tag();
    }
    PODMAN_TAG.get_or_init(|| match std::env::var("SCYLLA_TEST_IMAGE_PODMAN") {
        Ok(tag) if !tag.is_empty() => tag,
        _ => test_image_tag().to_owned(),
    })
}

/// The workspace root.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask/ has a parent").to_path_buf()
}

/// A command running the built xtask binary, with colour off.
#[allow(clippy::disallowed_methods)]
pub fn xtask() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.env("NO_COLOR", "1").env_remove("CONTAINER_ENGINE");
    command
}

/// Runs xtask with `args` and returns its output.
pub fn run_xtask(args: &[&str]) -> Output {
    xtask().args(args).output().expect("xtask runs")
}

/// Builds [`test_image_tag_for`] `engine` once per test binary with `docker-build`
/// (which skips the build when nothing changed) and returns its tag.
pub fn test_image(engine: &Engine) -> &'static str {
    static BUILT_DOCKER: OnceLock<()> = OnceLock::new();
    static BUILT_PODMAN: OnceLock<()> = OnceLock::new();
    let built = if engine.is_podman() { &BUILT_PODMAN } else { &BUILT_DOCKER };
    let tag = test_image_tag_for(engine);
    built.get_or_init(|| {
        let build_args = project_root().join(".xtask/build-args");
        assert!(
            build_args.exists(),
            "{} is missing: run `bash tests/offline/prepare.sh` first \
             (it builds the offline bases)",
            build_args.display()
        );
        let output = engine.run_xtask(&["-q", "docker-build", "--tag", tag]);
        assert!(
            output.status.success(),
            "docker-build on {} failed: {}",
            engine.program,
            text(&output.stderr)
        );
    });
    tag
}

/// Lossy UTF-8.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temporary directory, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let path = std::env::temp_dir().join(super::unique_name(prefix));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A project whose `scripts/run_e2e_experiment.py` is `script` (Python), so
/// that tests control what the container does.
pub fn fake_project(script: &str) -> TempDir {
    let dir = TempDir::new("xtask-project");
    std::fs::create_dir_all(dir.path.join("scripts")).unwrap();
    std::fs::write(dir.path.join("scripts/run_e2e_experiment.py"), script).unwrap();
    dir
}

/// Names of containers (any state) with a label, e.g. `org.scylla.xtask.role=run-experiment`.
pub fn containers_with(engine: &Engine, label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    let out = engine.run(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]);
    text(&out).lines().map(str::to_string).collect()
}

/// Polls `condition` every 100 ms for at most `seconds`.
pub fn wait_for(seconds: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    condition()
}

/// Sends a signal (`-INT`, `-TERM`) to a process.
#[allow(clippy::disallowed_methods)]
pub fn kill(pid: &str, signal: &str) {
    let status = Command::new("kill").args([signal, pid]).status().expect("kill runs");
    assert!(status.success(), "kill {signal} {pid} failed");
}

/// Every process's full command line (`ps -eo args`).
#[allow(clippy::disallowed_methods)]
pub fn ps_all() -> String {
    text(&Command::new("ps").args(["-eo", "args"]).output().expect("ps runs").stdout)
}

/// Files under `dir` whose content contains `needle`.
pub fn grep_tree(dir: &Path, needle: &str) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| std::fs::read(e.path()).map(|b| text(&b).contains(needle)).unwrap_or(false))
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// The first `program` on PATH, like `command -v`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join(program)).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|candidate| candidate.is_file())
}

/// Any program, for tests that drive tools other than the engine and xtask.
#[allow(clippy::disallowed_methods)]
pub fn command(program: &str) -> Command {
    Command::new(program)
}

/// A directory or file a test made under the real project (its `results/<id>`,
/// a report), removed when the test ends, pass or fail.
pub struct ResultsDir(pub PathBuf);

impl Drop for ResultsDir {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// The JSON file at `path`.
pub fn json_file(path: &Path) -> serde_json::Value {
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

/// `value` without the timings a run measures (`duration_s`, `*_at`), so that two
/// runs of one experiment compare equal.
pub fn without_timings(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| !key.ends_with("duration_s") && !key.ends_with("_at"))
                .map(|(key, v)| (key.clone(), without_timings(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_timings).collect()),
        other => other.clone(),
    }
}
