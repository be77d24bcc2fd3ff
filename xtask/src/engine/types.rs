//! `docker inspect` output as typed serde structs: the wire shape of the fields
//! the tasks read (Docker's and Podman's names are the same for these), turned
//! into [`ImageInfo`] and [`ContainerInfo`]. `null` and missing fields both
//! read as empty, as the engines write either.
//!
//! `inspect` reads its output as `Vec<WireImage>` / `Vec<WireContainer>` and
//! converts the first element with `ImageInfo::from` / `ContainerInfo::from`.

use std::collections::BTreeMap;
use std::time::Duration;

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
