//! Unit tests of detection and daemon-error classification (no engine needed).

use super::*;

fn fake_path_with(programs: &[&str]) -> (tempdir::Dir, Env) {
    let dir = tempdir::Dir::new();
    for program in programs {
        let path = dir.path.join(program);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let env = Env::from_pairs([("PATH", dir.path.to_string())]);
    (dir, env)
}

mod tempdir {
    use camino::Utf8PathBuf;

    /// A temporary directory removed on drop.
    pub struct Dir {
        pub path: Utf8PathBuf,
        _dir: tempfile::TempDir,
    }

    impl Dir {
        pub fn new() -> Dir {
            let dir = tempfile::tempdir().unwrap();
            let path = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
            Dir { path, _dir: dir }
        }
    }
}

#[test]
fn prefers_docker_then_podman() {
    let (_dir, env) = fake_path_with(&["docker", "podman"]);
    assert_eq!(detect(None, &env).unwrap().kind, EngineKind::Docker);
    let (_dir, env) = fake_path_with(&["podman"]);
    assert_eq!(detect(None, &env).unwrap().kind, EngineKind::Podman);
}

#[test]
fn explicit_choice_and_env_var_win() {
    let (dir, env) = fake_path_with(&["docker", "podman"]);
    assert_eq!(detect(Some("podman"), &env).unwrap().kind, EngineKind::Podman);
    let env2 =
        Env::from_pairs([("PATH", dir.path.to_string()), ("CONTAINER_ENGINE", "podman".into())]);
    assert_eq!(detect(None, &env2).unwrap().kind, EngineKind::Podman);
    // The flag beats the variable.
    assert_eq!(detect(Some("docker"), &env2).unwrap().kind, EngineKind::Docker);
}

#[test]
fn missing_engine_says_how_to_install() {
    let (_dir, env) = fake_path_with(&[]);
    let error = detect(None, &env).unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("Docker is not installed or not in PATH"), "{text}");
    assert!(text.contains("apt-get install -y docker.io"), "{text}");
    assert_eq!(crate::error::exit_code_for(&error), 2);
    let text = detect(Some("podman"), &env).unwrap_err().to_string();
    assert!(text.starts_with("Podman is not installed or not in PATH"), "{text}");
}

#[test]
fn unknown_engine_is_a_usage_error() {
    let (_dir, env) = fake_path_with(&["docker"]);
    let error = detect(Some("containerd"), &env).unwrap_err();
    assert!(error.to_string().contains("unknown container engine `containerd`"));
    assert_eq!(crate::error::exit_code_for(&error), 2);
}

#[test]
fn classifies_daemon_errors() {
    let env = Env::default();
    let denied = "permission denied while trying to connect to the Docker daemon socket at \
                  unix:///var/run/docker.sock: Get \"http://...\": dial unix /var/run/docker.sock";
    assert_eq!(
        classify(EngineKind::Docker, &env, denied),
        Unreachable::PermissionDenied { socket: "unix:///var/run/docker.sock".into() }
    );
    let missing = "Cannot connect to the Docker daemon at unix:///nonexistent/docker.sock. \
                   Is the docker daemon running?";
    assert_eq!(
        classify(EngineKind::Docker, &env, missing),
        Unreachable::SocketMissing { socket: "unix:///nonexistent/docker.sock".into() }
    );
    let tcp = Env::from_pairs([("DOCKER_HOST", "tcp://127.0.0.1:1")]);
    assert_eq!(
        classify(
            EngineKind::Docker,
            &tcp,
            "Cannot connect to the Docker daemon at tcp://127.0.0.1:1."
        ),
        Unreachable::NotRunning { endpoint: "tcp://127.0.0.1:1".into() }
    );
}

#[test]
fn daemon_messages_say_what_to_do() {
    let env = Env::default();
    let text = diagnose(
        EngineKind::Docker,
        &env,
        "Cannot connect to the Docker daemon at unix:///nope.sock.",
    );
    assert!(text.starts_with("Docker daemon is not running"), "{text}");
    assert!(text.contains("start it:"), "{text}");
}
