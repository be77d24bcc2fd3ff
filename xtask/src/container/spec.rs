//! The container specification and its `create` argv (pure: no I/O).

use camino::Utf8PathBuf;

use super::secrets::SECRETS_MOUNT;
use super::WORKSPACE;
use crate::engine::{push_pair, EngineCommand, EngineKind};

/// How the container's user relates to the invoking user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserMapping {
    /// Run as the invoking user's uid:gid, so files written to the project
    /// mount belong to that user (no `chmod 777`).
    HostUser { uid: u32, gid: u32 },
    /// Rootless podman: `--userns keep-id` maps the invoking user into the
    /// container under the same uid.
    KeepId { uid: u32, gid: u32 },
}

impl UserMapping {
    /// The right mapping for `engine` and the invoking user.
    pub fn for_engine(kind: EngineKind, uid: u32, gid: u32) -> UserMapping {
        match kind {
            EngineKind::Podman if uid != 0 => UserMapping::KeepId { uid, gid },
            _ => UserMapping::HostUser { uid, gid },
        }
    }

    /// The uid:gid the container process runs as (owner of delivered secrets).
    pub fn runtime_ids(&self) -> (u32, u32) {
        match *self {
            UserMapping::HostUser { uid, gid } | UserMapping::KeepId { uid, gid } => (uid, gid),
        }
    }
}

/// Resource limits; defaults suit one experiment on a workstation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub memory: String,
    pub cpus: String,
    pub pids: u32,
}

/// Everything `create` needs to know. Secrets are not here: they are delivered
/// as files after `create` (see `secrets`), never as `-e NAME=value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub labels: Vec<(String, String)>,
    pub user: UserMapping,
    /// Host directory mounted read-write at /workspace.
    pub project_dir: Utf8PathBuf,
    /// `-t`: a pseudo-terminal (only when the user's stdin and stdout are terminals).
    pub tty: bool,
    /// `-i`: keep stdin open.
    pub interactive: bool,
    /// `--rm`: the engine removes the container when it stops.
    pub auto_remove: bool,
    pub limits: Limits,
    /// Named volumes for pip and npm caches.
    pub cache_volumes: bool,
    /// Non-secret variables, rendered as `--env NAME=value`.
    pub plain_env: Vec<(String, String)>,
    /// `--network NAME`; the engine's default network when `None`.
    pub network: Option<String>,
    /// The engine whose flag dialect is rendered (tmpfs ownership options, the
    /// workspace mount's SELinux label).
    pub engine: EngineKind,
    pub command: Vec<String>,
}

/// Named cache volumes and where they are mounted; the image creates the
/// mount points world-writable (sticky) so any mapped uid can use them.
pub const CACHE_VOLUMES: [(&str, &str, &str); 2] = [
    ("scylla-pip-cache", "/cache/pip", "PIP_CACHE_DIR"),
    ("scylla-npm-cache", "/cache/npm", "npm_config_cache"),
];

/// `--env VARIABLE=TARGET` for each cache volume, so pip and npm use them: the same
/// for a container and a swarm service (their mounts are written differently:
/// `service create` takes only `--mount`).
pub fn push_cache_env(argv: &mut Vec<String>) {
    for (_, target, variable) in CACHE_VOLUMES {
        push_pair(argv, "--env", format!("{variable}={target}"));
    }
}

/// One field of a CSV record as Go's `encoding/csv` reads it: quoted, with
/// inner quotes doubled, when it holds a comma, a quote or a line break.
fn csv_field(field: &str) -> std::borrow::Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(field)
    }
}

impl ContainerSpec {
    /// `create ...`: the container, made but not started.
    pub fn create_command(&self) -> EngineCommand {
        EngineCommand::action(self.argv("create"))
    }

    /// `run ...`: the same container, created and started (attached) by one
    /// engine process, for runs with nothing to deliver before the start.
    pub fn run_command(&self) -> EngineCommand {
        EngineCommand::action(self.argv("run"))
    }

    /// The arguments after the engine program, for `create` or `run`.
    fn argv(&self, verb: &str) -> Vec<String> {
        let mut argv = vec![verb.to_string()];
        push_pair(&mut argv, "--name", &self.name);
        for (key, value) in &self.labels {
            push_pair(&mut argv, "--label", format!("{key}={value}"));
        }
        // Never look the image up on a registry: it is built locally.
        push_pair(&mut argv, "--pull", "never");
        if self.auto_remove {
            argv.push("--rm".into());
        }
        if self.interactive {
            argv.push("--interactive".into());
        }
        if self.tty {
            argv.push("--tty".into());
        }
        self.push_hardening(&mut argv);
        self.push_user(&mut argv);
        self.push_mounts(&mut argv);
        self.push_secrets_tmpfs(&mut argv);
        if let Some(network) = &self.network {
            push_pair(&mut argv, "--network", network);
        }
        self.push_env(&mut argv);
        argv.push(self.image.clone());
        argv.extend(self.command.iter().cloned());
        argv
    }

    fn push_hardening(&self, argv: &mut Vec<String>) {
        // An init as PID 1 forwards signals and reaps zombies, so `stop` is prompt.
        argv.push("--init".into());
        push_pair(argv, "--cap-drop", "ALL");
        push_pair(argv, "--security-opt", "no-new-privileges");
        push_pair(argv, "--memory", &self.limits.memory);
        push_pair(argv, "--cpus", &self.limits.cpus);
        push_pair(argv, "--pids-limit", self.limits.pids.to_string());
    }

    fn push_user(&self, argv: &mut Vec<String>) {
        match self.user {
            UserMapping::HostUser { uid, gid } => push_pair(argv, "--user", format!("{uid}:{gid}")),
            UserMapping::KeepId { uid, gid } => {
                push_pair(argv, "--userns", "keep-id");
                push_pair(argv, "--user", format!("{uid}:{gid}"));
            }
        }
    }

    fn push_mounts(&self, argv: &mut Vec<String>) {
        // `--mount`, not `--volume SRC:DST`: a `:` in the project path would
        // split the `--volume` value. `--mount` is one CSV record for both
        // docker and podman, so the source field is quoted when it needs it.
        let source = format!("source={}", self.project_dir);
        let source = csv_field(&source);
        // SELinux hosts (Fedora, RHEL: where podman is the engine) deny a confined
        // container its bind mounts until they are labelled. The workspace is shared:
        // the host user edits it and concurrent runs mount it too, so it gets the
        // shared label (`relabel=shared`, the `:z` of `--volume`); the private one
        // (`:Z`) would fence it off for one container. Credentials are never bind-mounted
        // (they are delivered into the container's own tmpfs, which carries its
        // private label), so nothing private needs it; `label=disable` would drop the
        // confinement of the whole container. Without SELinux podman ignores it;
        // Docker's `--mount` has no such key.
        let relabel = if self.engine == EngineKind::Podman { ",relabel=shared" } else { "" };
        push_pair(argv, "--mount", format!("type=bind,{source},target={WORKSPACE}{relabel}"));
        push_pair(argv, "--workdir", WORKSPACE);
        if self.cache_volumes {
            for (volume, target, _) in CACHE_VOLUMES {
                push_pair(argv, "--volume", format!("{volume}:{target}"));
            }
        }
    }

    /// Secrets are delivered into this tmpfs after the start, so they live in
    /// memory only: files copied into a created container would sit in its
    /// writable layer on the host's disk until it is removed.
    fn push_secrets_tmpfs(&self, argv: &mut Vec<String>) {
        let (uid, gid) = self.user.runtime_ids();
        // Docker takes the owner as tmpfs options; Podman refuses them and
        // has `U` (chown to the container's user) instead.
        let options = match self.engine {
            EngineKind::Docker => format!("mode=0700,uid={uid},gid={gid}"),
            EngineKind::Podman => "mode=0700,U".to_string(),
        };
        push_pair(argv, "--tmpfs", format!("{SECRETS_MOUNT}:{options}"));
    }

    fn push_env(&self, argv: &mut Vec<String>) {
        for (name, value) in &self.plain_env {
            push_pair(argv, "--env", format!("{name}={value}"));
        }
        if self.cache_volumes {
            push_cache_env(argv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ContainerSpec {
        ContainerSpec {
            name: "scylla-run-1".into(),
            image: "scylla-runner:latest".into(),
            labels: vec![("org.scylla.xtask.role".into(), "run-experiment".into())],
            user: UserMapping::HostUser { uid: 1000, gid: 1000 },
            project_dir: "/home/me/scylla".into(),
            tty: false,
            interactive: false,
            auto_remove: true,
            limits: Limits { memory: "8g".into(), cpus: "2".into(), pids: 1024 },
            cache_volumes: false,
            plain_env: vec![("SCYLLA_IMAGE_ID".into(), "sha256:abc".into())],
            network: None,
            engine: EngineKind::Docker,
            command: vec![
                "python".into(),
                "scripts/run_e2e_experiment.py".into(),
                "--tiers".into(),
                "T0".into(),
            ],
        }
    }

    #[test]
    fn create_argv_is_hardened_mapped_and_mounted() {
        let argv = spec().create_command().args;
        let expected: Vec<&str> = vec![
            "create",
            "--name",
            "scylla-run-1",
            "--label",
            "org.scylla.xtask.role=run-experiment",
            "--pull",
            "never",
            "--rm",
            "--init",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--memory",
            "8g",
            "--cpus",
            "2",
            "--pids-limit",
            "1024",
            "--user",
            "1000:1000",
            "--mount",
            "type=bind,source=/home/me/scylla,target=/workspace",
            "--workdir",
            "/workspace",
            "--tmpfs",
            "/run/secrets:mode=0700,uid=1000,gid=1000",
            "--env",
            "SCYLLA_IMAGE_ID=sha256:abc",
            "scylla-runner:latest",
            "python",
            "scripts/run_e2e_experiment.py",
            "--tiers",
            "T0",
        ];
        assert_eq!(argv, expected);
    }

    #[test]
    fn project_paths_with_colons_commas_and_quotes_mount_as_one_csv_record() {
        let mount = |dir: &str| {
            let mut s = spec();
            s.project_dir = dir.into();
            let argv = s.create_command().args;
            let at = argv.iter().position(|a| a == "--mount").unwrap();
            argv[at + 1].clone()
        };
        assert_eq!(mount("/tmp/co:lon"), "type=bind,source=/tmp/co:lon,target=/workspace");
        assert_eq!(mount("/tmp/a b/ü"), "type=bind,source=/tmp/a b/ü,target=/workspace");
        assert_eq!(mount("/tmp/a,b"), "type=bind,\"source=/tmp/a,b\",target=/workspace");
        assert_eq!(mount("/tmp/q\"x"), "type=bind,\"source=/tmp/q\"\"x\",target=/workspace");
    }

    #[test]
    fn run_argv_is_the_create_argv_with_run() {
        let spec = spec();
        let (run, create) = (spec.run_command().args, spec.create_command().args);
        assert_eq!(run[0], "run");
        assert_eq!(run[1..], create[1..]);
    }

    #[test]
    fn tty_and_caches_and_keep_id() {
        let mut s = spec();
        s.tty = true;
        s.interactive = true;
        s.cache_volumes = true;
        s.network = Some("lab-net".into());
        s.user = UserMapping::for_engine(EngineKind::Podman, 1000, 1000);
        s.engine = EngineKind::Podman;
        let argv = s.create_command().args;
        let joined = argv.join(" ");
        let mount = "--mount type=bind,source=/home/me/scylla,target=/workspace,relabel=shared ";
        assert!(joined.contains(mount), "{joined}");
        assert!(joined.contains("--tmpfs /run/secrets:mode=0700,U "), "{joined}");
        assert!(joined.contains("--network lab-net --env"), "{joined}");
        assert!(joined.contains("--interactive --tty"), "{joined}");
        assert!(joined.contains("--userns keep-id --user 1000:1000"), "{joined}");
        assert!(joined.contains("--volume scylla-pip-cache:/cache/pip"), "{joined}");
        assert!(joined.contains("--env PIP_CACHE_DIR=/cache/pip"), "{joined}");
    }

    #[test]
    fn rootful_podman_and_docker_use_the_host_user() {
        assert_eq!(
            UserMapping::for_engine(EngineKind::Podman, 0, 0),
            UserMapping::HostUser { uid: 0, gid: 0 }
        );
        assert_eq!(
            UserMapping::for_engine(EngineKind::Docker, 1000, 100),
            UserMapping::HostUser { uid: 1000, gid: 100 }
        );
    }
}
