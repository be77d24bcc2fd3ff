//! The swarm the engine belongs to (queries made before the plan), and the
//! delivery of the image the plan chose: pushed to a registry and named by the
//! digest the registry returned, or, on a one-node swarm without a registry,
//! the local image by id.

use anyhow::{anyhow, Result};

use super::cleanup::SwarmResources;
use super::plan::{Delivery, PlannedPush, SwarmPlan, NO_INPUTS_EXIT};
use crate::context::Context;
use crate::engine::exec::Acted;
use crate::engine::types::{json_lines, WireNode, JSON_LINES};
use crate::engine::{exec, inspect, Engine, EngineCommand};
use crate::error::usage;

/// What `info --format '{{json .Swarm}}'` says about the engine's swarm (the
/// fields read, by their wire names; the others are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SwarmState {
    /// `inactive`, `pending`, `active`, `error` or `locked`.
    pub local_node_state: String,
    /// Whether this engine is a manager (only managers create services).
    pub control_available: bool,
    pub nodes: u64,
    pub error: String,
}

const HOW_TO_POINT_AT_A_MANAGER: &str = "or point at a manager of an existing swarm: \
     DOCKER_HOST=ssh://user@manager cargo xtask ..., \
     or `docker context create` + `docker context use`";

/// The swarm must be active and this engine one of its managers.
pub fn require_manager(state: &SwarmState) -> Result<()> {
    match state.local_node_state.as_str() {
        "active" if state.control_available => Ok(()),
        "active" => Err(usage(format!(
            "this engine is a swarm worker; services are created on a manager\n  \
             {HOW_TO_POINT_AT_A_MANAGER}"
        ))),
        "locked" => {
            Err(usage("the swarm is locked; unlock it with `docker swarm unlock` and run again"))
        }
        other => {
            let detail =
                if state.error.is_empty() { String::new() } else { format!(": {}", state.error) };
            Err(usage(format!(
                "this engine is not in a swarm (state {}{detail})\n  \
                 create a one-node swarm here: docker swarm init --advertise-addr 127.0.0.1\n  \
                 {HOW_TO_POINT_AT_A_MANAGER}",
                if other.is_empty() { "unknown" } else { other }
            )))
        }
    }
}

/// The engine's swarm state.
pub fn swarm_state(ctx: &Context, engine: &Engine) -> Result<SwarmState> {
    let command = EngineCommand::query(["info", "--format", "{{json .Swarm}}"]);
    let out = exec::output(ctx, engine, &command)?;
    if !out.status.success() {
        return Err(engine.diagnose_unreachable(&ctx.env, &out.stderr));
    }
    serde_json::from_str(out.stdout.trim())
        .map_err(|e| anyhow!("cannot read the swarm state from `info`: {e}"))
}

/// More than one node needs a registry (every node pulls the same bytes) and
/// a shared results volume (a node-local one would keep each node's results).
pub fn require_multi_node_inputs(
    nodes: u64,
    registry: Option<&str>,
    results_volume: Option<&str>,
) -> Result<()> {
    if nodes <= 1 {
        return Ok(());
    }
    if registry.is_none() {
        return Err(usage(format!(
            "this swarm has {nodes} nodes, so every node must pull the image from a registry\n  \
             pass --registry HOST:PORT (e.g. --registry registry.example:5000); the image is \
             pushed there and the service runs it by digest"
        )));
    }
    if results_volume.is_none() {
        return Err(usage(format!(
            "this swarm has {nodes} nodes, so the shards need a results volume they all share\n  \
             pass --results-volume NAME, a volume backed by shared storage on every node \
             (e.g. the local driver with NFS options; see docs/scale-out.md)"
        )));
    }
    Ok(())
}

/// The swarm's nodes, as the manager lists them.
pub fn nodes(ctx: &Context, engine: &Engine) -> Result<Vec<WireNode>> {
    let ls = EngineCommand::query(["node", "ls", "--format", JSON_LINES]);
    let out = exec::output(ctx, engine, &ls)?;
    if !out.status.success() {
        return Err(anyhow!("cannot list the swarm's nodes: {}", out.stderr.trim()));
    }
    json_lines(&format!("{} node ls", engine.program_str()), &out.stdout)
}

/// Host names of the swarm's nodes whose status is `down`.
pub fn down_nodes(ctx: &Context, engine: &Engine) -> Result<Vec<String>> {
    Ok(down_hostnames(&nodes(ctx, engine)?))
}

/// The host names of the `down` nodes among `nodes`.
pub fn down_hostnames(nodes: &[WireNode]) -> Vec<String> {
    nodes
        .iter()
        .filter(|node| node.is_down())
        .map(|node| node.hostname.trim().to_string())
        .collect()
}

/// Errors of a node that cannot fetch the image.
const PULL_ERRORS: [&str; 7] = [
    "No such image",
    "pull access denied",
    "manifest unknown",
    "HTTP response to HTTPS client",
    "connection refused",
    "no such host",
    "i/o timeout",
];

/// The fix for a shard that failed because of its node, from the task's error;
/// `image` is the reference the service runs.
pub fn node_fix(failure: &str, node: &str, plan: &SwarmPlan, image: &str) -> Option<String> {
    let volume = &plan.request.volume.name;
    if failure.contains(&format!("non-zero exit ({NO_INPUTS_EXIT})")) {
        return Some(format!(
            "node {node} has no shared results volume {volume} (the engine made an empty local \
             one there): on {node}, `docker volume rm {volume}` and create it as on the other \
             nodes, backed by the shared storage (docs/scale-out.md), or keep shards off it with \
             --constraint node.hostname!={node}"
        ));
    }
    if PULL_ERRORS.iter().any(|e| failure.contains(e)) {
        let registry = image.split('/').next().unwrap_or(image);
        return Some(format!(
            "node {node} cannot pull {image}: make {registry} reachable from {node}; a \
             plain-HTTP registry must be in that daemon's insecure-registries \
             (/etc/docker/daemon.json), a registry with TLS needs its CA on {node} and \
             `docker login` where you run this"
        ));
    }
    if failure.starts_with("node ") && failure.ends_with(" is down") {
        return Some(format!(
            "node {node} is down and the engine had no attempt left to move its shards: the \
             other shards' results are kept; bring {node} back (or `docker node update \
             --availability drain {node}`) and run again with the same --experiment-id to \
             finish the missing units"
        ));
    }
    None
}

/// `HOST:PORT` (or a host name): no scheme, no path, no spaces.
pub fn valid_registry(registry: &str) -> bool {
    !registry.is_empty()
        && !registry.contains("://")
        && !registry.contains('/')
        && registry.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
}

/// The repo digest for `repository` among an image's `RepoDigests`.
pub fn digest_for(repo_digests: &[String], repository: &str) -> Option<String> {
    let prefix = format!("{repository}@sha256:");
    repo_digests.iter().find(|d| d.starts_with(&prefix)).cloned()
}

/// Gets the image to the nodes as the plan says, and returns the reference the
/// service runs: the local image id, or `repo@sha256:...` as the registry
/// returned it (the plan's placeholder when the push was only printed). The
/// tag made for the push is left to `resources` to remove.
pub fn deliver_image(
    ctx: &Context,
    engine: &Engine,
    plan: &SwarmPlan,
    resources: &mut SwarmResources,
) -> Result<String> {
    let Delivery::Push(push) = &plan.image.delivery else {
        return Ok(plan.image.id.clone());
    };
    let tag = &push.tag;
    let tagged = push.tag_command(&plan.image.id);
    if let Acted::Ran(_) = exec::act(ctx, engine, &tagged, &format!("tag the image as {tag}"))? {
        resources.untag_with(push.untag_command());
    }
    if push_image(ctx, engine, push)? == Acted::Printed {
        return Ok(push.placeholder_reference());
    }
    let digests = inspect::image(ctx, engine, tag)?.map(|i| i.repo_digests).unwrap_or_default();
    digest_for(&digests, &push.repository)
        .ok_or_else(|| anyhow!("the registry returned no digest for {tag}"))
}

/// `push TAG`; a refusal is a usage error that says what to check.
fn push_image(ctx: &Context, engine: &Engine, push: &PlannedPush) -> Result<Acted> {
    let command = push.push_command();
    if !exec::will_run(ctx, &command) {
        // --dry-run: `act` prints it and answers `Printed`.
        return exec::act(ctx, engine, &command, "push the image");
    }
    let pushed = exec::output(ctx, engine, &command)?;
    if !pushed.status.success() {
        return Err(usage(format!(
            "cannot push {}: {}\n  is the registry {} running and reachable from this \
             engine? (a plain-HTTP registry must be listed in the daemon's insecure-registries)",
            push.tag,
            pushed.stderr.trim(),
            push.registry
        )));
    }
    Ok(Acted::Ran(pushed.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(json: &str) -> SwarmState {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn not_in_a_swarm_says_how_to_make_one_or_reach_one() {
        let message = require_manager(&state(r#"{"LocalNodeState":"inactive","Nodes":0}"#))
            .unwrap_err()
            .to_string();
        assert!(message.contains("not in a swarm (state inactive)"), "{message}");
        assert!(message.contains("docker swarm init --advertise-addr 127.0.0.1"), "{message}");
        assert!(message.contains("DOCKER_HOST=ssh://"), "{message}");
        assert!(message.contains("docker context use"), "{message}");
    }

    #[test]
    fn workers_and_locked_swarms_are_refused_managers_pass() {
        let worker = state(r#"{"LocalNodeState":"active","ControlAvailable":false}"#);
        assert!(require_manager(&worker).unwrap_err().to_string().contains("worker"));
        let locked = state(r#"{"LocalNodeState":"locked"}"#);
        assert!(require_manager(&locked).unwrap_err().to_string().contains("swarm unlock"));
        let manager = state(r#"{"LocalNodeState":"active","ControlAvailable":true,"Nodes":3}"#);
        assert!(require_manager(&manager).is_ok());
        assert_eq!(manager.nodes, 3);
    }

    #[test]
    fn several_nodes_need_a_registry_and_a_shared_volume() {
        assert!(require_multi_node_inputs(1, None, None).is_ok());
        let message = require_multi_node_inputs(3, None, None).unwrap_err().to_string();
        assert!(
            message.contains("3 nodes") && message.contains("--registry HOST:PORT"),
            "{message}"
        );
        let message = require_multi_node_inputs(2, Some("r:5000"), None).unwrap_err().to_string();
        assert!(message.contains("--results-volume NAME"), "{message}");
        assert!(require_multi_node_inputs(2, Some("r:5000"), Some("v")).is_ok());
    }

    #[test]
    fn down_nodes_are_named_by_host() {
        let nodes: Vec<WireNode> = json_lines(
            "docker node ls",
            r#"{"Hostname":"a","ID":"1","Status":"Ready"}
               {"Hostname":"b","ID":"2","Status":"Down"}
               {"Hostname":"c","ID":"3","Status":"Unknown"}"#,
        )
        .unwrap();
        assert_eq!(down_hostnames(&nodes), ["b"]);
    }

    #[test]
    fn registries_and_digests() {
        assert!(valid_registry("127.0.0.1:5000"));
        assert!(valid_registry("registry.example"));
        assert!(!valid_registry("http://r:5000"));
        assert!(!valid_registry("r:5000/path"));
        assert!(!valid_registry(""));
        let digests = vec![
            "scylla-runner@sha256:aaa".to_string(),
            "127.0.0.1:5000/scylla-runner@sha256:bbb".to_string(),
        ];
        assert_eq!(
            digest_for(&digests, "127.0.0.1:5000/scylla-runner").as_deref(),
            Some("127.0.0.1:5000/scylla-runner@sha256:bbb")
        );
        assert_eq!(digest_for(&digests, "other:5000/scylla-runner"), None);
    }
}
