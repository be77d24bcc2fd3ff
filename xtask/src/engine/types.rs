//! `docker inspect` output as typed serde structs: the wire shape of the fields
//! the tasks read (Docker's and Podman's names are the same for these), turned
//! into [`ImageInfo`] and [`ContainerInfo`]. `null` and missing fields both
//! read as empty, as the engines write either.
//!
//! `inspect` reads its output as `Vec<WireImage>` / `Vec<WireContainer>` and
//! converts the first element with `ImageInfo::from` / `ContainerInfo::from`.
//!
//! Swarm listings (`service ps`, `node ps`, `node ls`) are read the same way,
//! one [`WireTask`] or [`WireNode`] per line of `--format '{{json .}}'`, with
//! [`json_lines`]. Only Docker has them (podman has no swarm); the client
//! renders them, so their shape is the CLI's (checked with clients 20.10 and 28).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::inspect::{ContainerInfo, Health, HealthTiming, ImageInfo, ProbeResult};

/// One element of `image inspect`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireImage {
    pub id: String,
    pub repo_digests: Option<Vec<String>>,
    pub config: Option<WireImageConfig>,
    /// Podman's place for the HEALTHCHECK (Docker's is under `Config`).
    pub healthcheck: Option<WireHealthConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireImageConfig {
    pub labels: Option<BTreeMap<String, String>>,
    pub entrypoint: Option<Vec<String>>,
    pub healthcheck: Option<WireHealthConfig>,
}

/// A HEALTHCHECK as the image declares it; durations in nanoseconds.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireHealthConfig {
    pub test: Option<Vec<String>>,
    pub interval: u64,
    pub timeout: u64,
    pub start_period: u64,
    pub retries: u64,
}

/// One element of `container inspect`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireContainer {
    pub id: String,
    /// `/name` for Docker, `name` for Podman.
    pub name: String,
    pub state: Option<WireState>,
    pub config: Option<WireContainerConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireState {
    pub status: String,
    pub running: bool,
    pub health: Option<WireHealth>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireHealth {
    pub status: String,
    pub failing_streak: u64,
    pub log: Option<Vec<WireProbe>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireProbe {
    pub exit_code: i64,
    pub output: String,
    pub start: String,
}

impl Default for WireProbe {
    fn default() -> WireProbe {
        // A probe without an exit code did not report one: not a pass.
        WireProbe { exit_code: -1, output: String::new(), start: String::new() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireContainerConfig {
    pub labels: Option<BTreeMap<String, String>>,
    /// The container's check, run flags included.
    pub healthcheck: Option<WireHealthConfig>,
}

/// `--format` of a listing that prints one JSON object per line, for [`json_lines`].
pub const JSON_LINES: &str = "{{json .}}";

/// Reads a listing printed with [`JSON_LINES`]: one `T` per non-empty line. A
/// line of another shape is an error that quotes it, naming the `listing`
/// (`docker service ps`).
pub fn json_lines<T: DeserializeOwned>(listing: &str, text: &str) -> Result<Vec<T>> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_str(line).with_context(|| {
                let start: String = line.chars().take(200).collect();
                format!("cannot parse the output of `{listing}`: {start}")
            })
        })
        .collect()
}

/// One line of `service ps` / `node ps`: a swarm task as the client prints it.
/// Every field is a string (`Ports` too, not read). `Error` is quoted when there
/// is one (`"task: non-zero exit (3)"`, quotes included), and clients that
/// indent earlier attempts of a slot write their `Name` as ` \_ name`; use
/// [`WireTask::task_name`] and [`WireTask::error_message`].
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireTask {
    #[serde(rename = "ID")]
    pub id: String,
    /// `SERVICE.SLOT`, or `SERVICE-ID.SLOT` once the service is removed.
    pub name: String,
    pub image: String,
    /// The node's host name; empty while the task is not placed.
    pub node: String,
    /// `Running`, `Shutdown`, ...
    pub desired_state: String,
    /// The state and its age: `Running 3 seconds ago`, `Failed 1 second ago`.
    pub current_state: String,
    pub error: String,
}

impl WireTask {
    /// The task's name without the indent of an earlier attempt.
    pub fn task_name(&self) -> &str {
        self.name.trim().trim_start_matches(['\\', '_', ' '])
    }

    /// The task's error without the quotes the client adds; empty when none.
    pub fn error_message(&self) -> &str {
        self.error.trim().trim_matches('"')
    }
}

/// One line of `node ls`: a node of the swarm (the fields read here; the client
/// also prints `Availability`, `ManagerStatus`, `EngineVersion`, `Self`, `TLSStatus`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WireNode {
    #[serde(rename = "ID")]
    pub id: String,
    pub hostname: String,
    /// `Ready`, `Down`, `Unknown` or `Disconnected`.
    pub status: String,
}

impl WireNode {
    /// The manager has marked the node down.
    pub fn is_down(&self) -> bool {
        self.status.trim().eq_ignore_ascii_case("down")
    }
}

impl From<WireImage> for ImageInfo {
    fn from(image: WireImage) -> ImageInfo {
        let config = image.config.unwrap_or_default();
        let health = config.healthcheck.or(image.healthcheck).unwrap_or_default();
        ImageInfo {
            id: image.id,
            labels: config.labels.unwrap_or_default(),
            repo_digests: image.repo_digests.unwrap_or_default(),
            healthcheck: health.test,
            healthcheck_timing: HealthTiming {
                interval: Duration::from_nanos(health.interval),
                timeout: Duration::from_nanos(health.timeout),
                start_period: Duration::from_nanos(health.start_period),
                retries: health.retries,
            },
            entrypoint: config.entrypoint.unwrap_or_default(),
        }
    }
}

impl From<WireContainer> for ContainerInfo {
    fn from(container: WireContainer) -> ContainerInfo {
        let state = container.state.unwrap_or_default();
        let config = container.config.unwrap_or_default();
        let interval = config.healthcheck.map_or(0, |check| check.interval);
        // Podman reports `Health` with an empty status for a container without a check.
        let checked = state.health.filter(|health| !health.status.is_empty());
        let health = checked.map(|health| Health {
            status: health.status,
            failing_streak: health.failing_streak,
            log: health
                .log
                .unwrap_or_default()
                .into_iter()
                .map(|probe| ProbeResult {
                    exit_code: probe.exit_code,
                    output: probe.output,
                    start: probe.start,
                })
                .collect(),
            interval: Duration::from_nanos(interval),
        });
        ContainerInfo {
            id: container.id,
            name: container.name.trim_start_matches('/').to_string(),
            status: state.status,
            running: state.running,
            labels: config.labels.unwrap_or_default(),
            health,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGES: [&str; 4] = [
        r#"{"Id":"sha256:abc","RepoDigests":["r@sha256:1"],
            "Config":{"Labels":{"a":"1"},"Entrypoint":["/e","x"],
                      "Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":30000000000,
                                     "Timeout":10000000000,"StartPeriod":5000000,"Retries":3}}}"#,
        r#"{"Id":"x","RepoDigests":null,"Config":{"Labels":null,"Entrypoint":null,
            "Healthcheck":null}}"#,
        r#"{"Id":"y"}"#,
        r#"{"Id":"podman","Config":{"Labels":{"a":"1"}},
            "Healthcheck":{"Test":["CMD","true"],"Interval":1000000000,"Retries":2}}"#,
    ];

    const CONTAINERS: [&str; 4] = [
        r#"{"Id":"c1","Name":"/box","State":{"Status":"running","Running":true,
            "Health":{"Status":"unhealthy","FailingStreak":2,
                      "Log":[{"Start":"2024-01-01T00:00:00.5Z","ExitCode":1,"Output":"boom\n"}]}},
            "Config":{"Labels":{"org.scylla.xtask.role":"shell"}}}"#,
        r#"{"Id":"c2","Name":"plain","State":{"Status":"exited","Running":false,"Health":null},
            "Config":{"Labels":null}}"#,
        r#"{"Id":"c3","State":{"Health":{"Status":"starting","Log":null}},
            "Config":{"Healthcheck":{"Interval":2000000000}}}"#,
        r#"{"Id":"c4","Name":"podman","State":{"Status":"running","Running":true,
            "Health":{"Status":"","FailingStreak":0,"Log":null}}}"#,
    ];

    fn image(text: &str) -> ImageInfo {
        serde_json::from_str::<WireImage>(text).unwrap().into()
    }

    fn container(text: &str) -> ContainerInfo {
        serde_json::from_str::<WireContainer>(text).unwrap().into()
    }

    #[test]
    fn images_read_docker_and_podman_shapes_and_null_as_empty() {
        let full = image(IMAGES[0]);
        assert_eq!(full.id, "sha256:abc");
        assert_eq!(full.repo_digests, vec!["r@sha256:1"]);
        assert_eq!(full.entrypoint, vec!["/e", "x"]);
        assert_eq!(full.healthcheck_timing.interval, Duration::from_secs(30));
        assert_eq!(full.healthcheck_timing.start_period, Duration::from_millis(5));
        for empty in [image(IMAGES[1]), image(IMAGES[2])] {
            assert!(empty.labels.is_empty() && empty.repo_digests.is_empty());
            assert!(empty.entrypoint.is_empty());
            assert_eq!(empty.healthcheck, None);
            assert_eq!(empty.healthcheck_timing, HealthTiming::default());
        }
        let podman = image(IMAGES[3]);
        assert_eq!(podman.healthcheck, Some(vec!["CMD".to_string(), "true".to_string()]));
        assert_eq!(podman.healthcheck_timing.retries, 2);
    }

    /// `service ps --no-trunc --format '{{json .}}'` of Docker 20.10 (client 28).
    const TASKS: &str = concat!(
        r#"{"CurrentState":"Failed 5 seconds ago","DesiredState":"Shutdown","#,
        r#""Error":"\"task: non-zero exit (3)\"","ID":"x5cw7jf76mtwmk0kqrbzlq1s9","#,
        r#""Image":"scylla-runner:latest","Name":"job.1","Node":"vm","Ports":""}"#,
        "\n",
        r#"{"CurrentState":"Pending 1 second ago","DesiredState":"Running","Error":"","#,
        r#""ID":"ehwzvblvgb6o","Image":"i","Name":" \\_ job.2","Node":"","Ports":""}"#,
        "\n",
    );

    /// `node ls --format '{{json .}}'`.
    const NODES: &str = concat!(
        r#"{"Availability":"Active","EngineVersion":"20.10.24+dfsg1","Hostname":"vm","#,
        r#""ID":"s0z1","ManagerStatus":"Leader","Self":true,"Status":"Ready","#,
        r#""TLSStatus":"Ready"}"#,
        "\n",
        r#"{"Hostname":"n2","ID":"s0z2","Self":false,"Status":"Down"}"#,
    );

    #[test]
    fn listings_read_one_object_per_line() {
        let tasks: Vec<WireTask> = json_lines("docker service ps", TASKS).unwrap();
        assert_eq!(tasks.len(), 2);
        assert_eq!(
            (tasks[0].id.as_str(), tasks[0].task_name()),
            ("x5cw7jf76mtwmk0kqrbzlq1s9", "job.1")
        );
        assert_eq!(tasks[0].error_message(), "task: non-zero exit (3)");
        assert_eq!(tasks[0].current_state, "Failed 5 seconds ago");
        assert_eq!((tasks[1].task_name(), tasks[1].node.as_str()), ("job.2", ""));
        assert_eq!(tasks[1].error_message(), "");
        let nodes: Vec<WireNode> = json_lines("docker node ls", NODES).unwrap();
        assert_eq!((nodes[0].hostname.as_str(), nodes[0].is_down()), ("vm", false));
        assert_eq!((nodes[1].id.as_str(), nodes[1].is_down()), ("s0z2", true));
        assert!(json_lines::<WireNode>("docker node ls", "").unwrap().is_empty());
    }

    #[test]
    fn a_listing_of_another_shape_is_an_error_that_quotes_it() {
        let error = json_lines::<WireTask>("docker service ps", "abc\tjob.1\tvm").unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.starts_with("cannot parse the output of `docker service ps`: abc\tjob.1\tvm"),
            "{message}"
        );
    }

    #[test]
    fn containers_read_health_names_and_null_as_empty() {
        let boxed = container(CONTAINERS[0]);
        assert_eq!((boxed.name.as_str(), boxed.running), ("box", true));
        assert_eq!(boxed.labels.get("org.scylla.xtask.role").map(String::as_str), Some("shell"));
        let health = boxed.health.unwrap();
        assert_eq!((health.status.as_str(), health.failing_streak), ("unhealthy", 2));
        assert_eq!(health.log[0].exit_code, 1);
        let plain = container(CONTAINERS[1]);
        assert_eq!((plain.status.as_str(), plain.running), ("exited", false));
        assert!(plain.labels.is_empty() && plain.health.is_none());
        let starting = container(CONTAINERS[2]).health.unwrap();
        assert_eq!(starting.status, "starting");
        assert!(starting.log.is_empty());
        assert_eq!(starting.interval, Duration::from_secs(2));
        // Podman's empty health record: no health check.
        assert_eq!(container(CONTAINERS[3]).health, None);
    }
}
