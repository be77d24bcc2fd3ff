//! A real 3-node Docker Swarm on this machine for the multi-node tests, made
//! by tests/swarm/cluster.sh (extra dockerds in network namespaces, a bridge,
//! a registry on the bridge address, a bind-backed results volume per node).
//!
//! [`cluster`] brings it up once per test binary and loads the test image into
//! it; an exit hook takes it down again when the binary ends, pass or fail —
//! unless it was already up before (then whoever made it removes it).
//! Included by the multi-node test binary with `#[path]`, next to `support`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::support::project::{project_root, test_image, text};

/// Nodes of the test swarm.
pub const NODES: usize = 3;
/// The role label of everything a swarm run creates.
pub const ROLE: &str = "org.scylla.xtask.role=run-experiment-swarm";

/// The running swarm, as `cluster.sh env` describes it.
pub struct Cluster {
    env: BTreeMap<String, String>,
    /// The test image, present on every node.
    pub image: &'static str,
}

fn script() -> PathBuf {
    project_root().join("tests/swarm/cluster.sh")
}

/// Runs `cluster.sh ARGS`; panics with its stderr unless it succeeds.
#[allow(clippy::disallowed_methods)]
pub fn harness(args: &[&str]) -> String {
    let out: Output = Command::new("bash").arg(script()).args(args).output().expect("bash runs");
    assert!(out.status.success(), "cluster.sh {args:?} failed: {}", text(&out.stderr));
    text(&out.stdout)
}

extern "C" fn take_down() {
    let _ = std::panic::catch_unwind(|| harness(&["down"]));
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

fn parse_env(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Why this machine cannot host the test swarm, if it cannot.
fn unusable() -> Option<String> {
    if std::env::var("SCYLLA_MULTI_NODE").as_deref() != Ok("1") {
        return Some(
            "the multi-node tests build namespaces, a bridge, firewall rules and extra daemons: \
             run them with SCYLLA_MULTI_NODE=1 (as root; .ci/run does)"
                .into(),
        );
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(str::to_string))
        .unwrap_or_default();
    if uid.split_whitespace().nth(1) != Some("0") {
        return Some("the multi-node swarm needs root (namespaces, a bridge, daemons)".into());
    }
    for program in ["dockerd", "docker-registry", "nsenter", "unshare", "ip", "iptables"] {
        if crate::support::project::find_program(program).is_none() {
            return Some(format!("{program} is not installed"));
        }
    }
    None
}

/// The 3-node swarm, or `None` after printing `skipped: <reason>`: without an
/// engine, without `SCYLLA_MULTI_NODE=1` (the swarm changes the host's network
/// for the run), or without root and the tools (then it panics instead when
/// both `SCYLLA_MULTI_NODE=1` and `SCYLLA_REQUIRE_ENGINE=1`).
pub fn cluster() -> Option<&'static Cluster> {
    let engine = crate::support::engine()?;
    if let Some(reason) = unusable() {
        let asked = std::env::var("SCYLLA_MULTI_NODE").as_deref() == Ok("1");
        if asked && std::env::var("SCYLLA_REQUIRE_ENGINE").as_deref() == Ok("1") {
            panic!("SCYLLA_REQUIRE_ENGINE=1 but {reason}");
        }
        eprintln!("skipped: {reason}");
        return None;
    }
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    Some(CLUSTER.get_or_init(|| {
        let image = test_image(&engine);
        let before = parse_env(&harness(&["env"]));
        if before.get("NODES").map(String::as_str) == Some("0") {
            // SAFETY: registering a plain function to run at exit.
            unsafe { atexit(take_down) };
        }
        let env = parse_env(&harness(&["up", &NODES.to_string()]));
        harness(&["load-image", image]);
        Cluster { env, image }
    }))
}

impl Cluster {
    fn get(&self, key: &str) -> &str {
        self.env.get(key).unwrap_or_else(|| panic!("cluster.sh env has no {key}"))
    }

    /// `unix://...` of the manager's engine (node 1).
    pub fn manager_host(&self) -> &str {
        self.get("MANAGER_HOST")
    }

    pub fn registry(&self) -> &str {
        self.get("REGISTRY")
    }

    pub fn volume(&self) -> &str {
        self.get("RESULTS_VOLUME")
    }

    /// The host directory behind every node's results volume.
    pub fn results_dir(&self) -> PathBuf {
        PathBuf::from(self.get("RESULTS_DIR"))
    }

    /// The host name of node `i` (1-based), as shards record it.
    pub fn node_name(&self, i: usize) -> String {
        self.get(&format!("NODE_{i}_NAME")).to_string()
    }

    pub fn node_names(&self) -> Vec<String> {
        (1..=NODES).map(|i| self.node_name(i)).collect()
    }

    /// Runs `docker ARGS` against node `i`'s engine.
    #[allow(clippy::disallowed_methods)]
    pub fn docker(&self, i: usize, args: &[&str]) -> Output {
        Command::new("docker")
            .args(["-H", self.get(&format!("NODE_{i}_HOST"))])
            .args(args)
            .output()
            .expect("docker runs")
    }

    /// Like [`Cluster::docker`], panicking unless it succeeds; returns stdout.
    pub fn run(&self, i: usize, args: &[&str]) -> String {
        let out = self.docker(i, args);
        assert!(out.status.success(), "node {i}: docker {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// Node names the manager lists as `Ready`.
    pub fn ready_nodes(&self) -> Vec<String> {
        self.run(1, &["node", "ls", "--format", "{{.Hostname}} {{.Status}}"])
            .lines()
            .filter_map(|l| l.strip_suffix(" Ready").map(str::to_string))
            .collect()
    }

    /// Everything of swarm runs still present on ANY node: containers on each
    /// node, services and secrets on the manager, staged inputs in the volume.
    pub fn leftovers(&self) -> Vec<String> {
        let filter = format!("label={ROLE}");
        let mut found = Vec::new();
        for i in 1..=NODES {
            let out = self.docker(i, &["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]);
            found.extend(text(&out.stdout).lines().map(|l| format!("node {i}: container {l}")));
        }
        for kind in ["service", "secret"] {
            let out = self.run(1, &[kind, "ls", "--filter", &filter, "--format", "{{.Name}}"]);
            found.extend(out.lines().map(|l| format!("{kind} {l}")));
        }
        if let Ok(entries) = std::fs::read_dir(self.results_dir().join("inputs")) {
            found.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| format!("staged inputs {}", e.file_name().to_string_lossy())),
            );
        }
        found
    }

    /// Waits (bounded) until [`Cluster::leftovers`] is empty; panics naming what is left.
    pub fn assert_clean(&self, seconds: u64) {
        let clean = crate::support::project::wait_for(seconds, || self.leftovers().is_empty());
        assert!(clean, "left behind: {:?}", self.leftovers());
    }

    /// A command running xtask against the manager.
    pub fn xtask(&self) -> Command {
        let mut command = crate::support::project::xtask();
        command.env("DOCKER_HOST", self.manager_host());
        command
    }

    /// `run-experiment --swarm` flags for this swarm: image, registry, volume.
    pub fn swarm_flags(&self) -> Vec<String> {
        ["--swarm", "--no-build", "--image", self.image, "--registry", self.registry()]
            .into_iter()
            .map(str::to_string)
            .chain(["--results-volume".to_string(), self.volume().to_string()])
            .collect()
    }

    /// Kills node `i` like a machine that dies, and waits until the manager sees it down.
    pub fn kill_node(&self, i: usize) {
        harness(&["kill-node", &i.to_string()]);
    }

    /// Starts node `i` again and waits until it is Ready.
    pub fn restore_node(&self, i: usize) {
        harness(&["start-node", &i.to_string()]);
        let name = self.node_name(i);
        let ready = crate::support::project::wait_for(60, || self.ready_nodes().contains(&name));
        assert!(ready, "node {i} did not come back: {:?}", self.ready_nodes());
    }
}
