//! The Claude Code CLI in the image, against a real engine: the project image
//! carries the version docker/Dockerfile pins, on PATH and in the entrypoint's
//! `--version`; the claude-code stage installs only a tarball whose sha512 is the
//! pinned integrity, from the build context or downloaded from a registry (here
//! a real HTTP server on the docker bridge's gateway, which build containers reach).

mod support;

use std::path::Path;

use support::npm::{fake_package, Registry};
use support::project::{command, project_root, test_image, text, xtask, TempDir};
use support::Resource;

/// The default of `ARG NAME=...` in the project's Dockerfile.
fn dockerfile_arg(name: &str) -> String {
    let dockerfile = std::fs::read_to_string(project_root().join("docker/Dockerfile")).unwrap();
    let prefix = format!("ARG {name}=");
    dockerfile.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap().trim().to_string()
}

support::engine_tests! {
fn the_project_image_runs_the_pinned_claude_code(engine) {
    let image = test_image(&engine);
    let version = dockerfile_arg("CLAUDE_CODE_VERSION");
    let out = engine.run(&["run", "--rm", "--entrypoint", "claude", image, "--version"]);
    assert_eq!(text(&out).trim(), format!("{version} (Claude Code)"));
    let out = engine.run(&["run", "--rm", image, "--version"]);
    assert!(text(&out).contains(&format!("claude   {version} (Claude Code)")), "{}", text(&out));
    let out = engine.run(&[
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        image,
        "-c",
        "command -v claude; command -v node || echo no-node",
    ]);
    assert_eq!(text(&out), "/usr/local/bin/claude\nno-node\n");
}
}

/// A copy of what the project's build context holds, without the Claude Code tarball.
fn context_copy() -> TempDir {
    let dir = TempDir::new("cc-context");
    let root = project_root();
    for entry in walkdir::WalkDir::new(root.join("src")).into_iter().filter_map(Result::ok) {
        let relative = entry.path().strip_prefix(&root).unwrap();
        if entry.file_type().is_file() && !relative.to_string_lossy().contains("__pycache__") {
            std::fs::create_dir_all(dir.path.join(relative).parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), dir.path.join(relative)).unwrap();
        }
    }
    std::fs::create_dir_all(dir.path.join("docker/claude-code")).unwrap();
    for file in [
        ".dockerignore",
        "pyproject.toml",
        "docker/Dockerfile",
        "docker/entrypoint.sh",
        "docker/install_deps.py",
        "docker/install_claude_code.py",
        "docker/claude-code/README.md",
    ] {
        std::fs::copy(root.join(file), dir.path.join(file)).unwrap();
    }
    dir
}

fn python_base() -> String {
    let args = std::fs::read_to_string(project_root().join(".xtask/build-args"))
        .expect(".xtask/build-args: run `bash tests/offline/prepare.sh` first");
    args.lines().find_map(|l| l.strip_prefix("PYTHON_BASE=")).unwrap().to_string()
}

/// `docker-build --target claude-code` of `dir` with these build args.
fn build_stage(dir: &Path, tag: &str, args: &[String]) -> (Option<i32>, String) {
    let mut command = xtask();
    command.args(["-q", "--project-dir", dir.to_str().unwrap(), "docker-build", "--tag", tag]);
    command.args([
        "--target",
        "claude-code",
        "--build-arg",
        &format!("PYTHON_BASE={}", python_base()),
    ]);
    for arg in args {
        command.args(["--build-arg", arg]);
    }
    let out = command.output().unwrap();
    (out.status.code(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
}

/// The docker0 bridge's gateway address, which build containers reach.
fn bridge_gateway(engine: &support::Engine) -> String {
    let format = "{{range .IPAM.Config}}{{.Gateway}}{{end}}";
    let gateway = text(&engine.run(&["network", "inspect", "bridge", "--format", format]));
    if !gateway.trim().is_empty() {
        return gateway.trim().to_string();
    }
    let out = command("ip").args(["-4", "-o", "addr", "show", "docker0"]).output().unwrap();
    let line = text(&out.stdout);
    let address = line.split_whitespace().skip_while(|w| *w != "inet").nth(1);
    address.and_then(|a| a.split('/').next()).expect("docker0 has an IPv4 address").to_string()
}

/// Why the podman half of the registry test is skipped.
const DOCKER_BRIDGE_ONLY: &str = "the stand-in npm registry listens on the docker0 bridge's \
    gateway, which Docker's build containers reach; podman's build containers use its own network";

support::engine_tests! {
docker_only = DOCKER_BRIDGE_ONLY;
fn the_build_installs_only_a_tarball_with_the_pinned_integrity(engine) {
    let dir = context_copy();
    let version = "0.0.1-test";
    let (tarball, integrity) = fake_package(&dir.path, version);
    let name = format!("claude-code-linux-x64-{version}.tgz");
    let tag = format!("xtask-test-cc:{}", support::unique_name("t"));
    let _image = Resource::image(&engine, &tag);
    let pin = |hash: &str| {
        vec![format!("CLAUDE_CODE_VERSION={version}"), format!("CLAUDE_CODE_INTEGRITY={hash}")]
    };

    // Online: no tarball in the context, so the build downloads it from the registry.
    let registry = Registry::serve_files(
        &bridge_gateway(&engine),
        &[(&format!("@anthropic-ai/claude-code-linux-x64/-/{name}"), tarball.clone())],
    );
    let mut args = pin(&integrity);
    args.push(format!("NPM_REGISTRY={}", registry.url));
    let (code, output) = build_stage(&dir.path, &tag, &args);
    assert_eq!(code, Some(0), "{output}");
    let out = engine.run(&["run", "--rm", "--entrypoint", "/opt/claude-code/bin/claude", &tag]);
    assert_eq!(text(&out), format!("{version} (Claude Code)\n"));

    // The registry serves other bytes than the pin: nothing is installed.
    let wrong = fake_package(&TempDir::new("cc-other").path, "0.0.2-test").1;
    let mut args = pin(&wrong);
    args.push(format!("NPM_REGISTRY={}", registry.url));
    let (code, output) = build_stage(&dir.path, &format!("{tag}-never"), &args);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("from the registry does not match the pinned integrity"), "{output}");

    // Offline: a tampered tarball in the build context is refused, never replaced.
    let mut tampered = tarball;
    tampered.extend_from_slice(b"tampered");
    std::fs::write(dir.path.join("docker/claude-code").join(&name), tampered).unwrap();
    let (code, output) = build_stage(&dir.path, &format!("{tag}-never"), &pin(&integrity));
    assert_eq!(code, Some(1), "{output}");
    assert!(
        output.contains("from docker/claude-code/ in the build context does not match"),
        "{output}"
    );
}
}
