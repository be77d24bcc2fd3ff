//! Image and container queries through `inspect`, read into the typed wire
//! structs of [`super::types`] and turned into the few fields the tasks use.
//! "No such object" is `Ok(None)`; an unreachable daemon is the actionable
//! error from [`Engine::diagnose_unreachable`].

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::de::DeserializeOwned;

use super::types::{WireContainer, WireImage};
use super::{exec, Engine, EngineCommand};
use crate::context::Context;

/// What the tasks need to know about a local image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageInfo {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub repo_digests: Vec<String>,
    /// The image's HEALTHCHECK `Test` array, if it declares one.
    pub healthcheck: Option<Vec<String>>,
    /// The HEALTHCHECK's timing; zero fields mean the engine's defaults.
    pub healthcheck_timing: HealthTiming,
    /// `ENTRYPOINT` in exec form (empty when the image has none).
    pub entrypoint: Vec<String>,
}

/// A HEALTHCHECK's timing as the image declares it (zero: the engine default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthTiming {
    pub interval: Duration,
    pub timeout: Duration,
    pub start_period: Duration,
    pub retries: u64,
}

/// What the tasks need to know about a container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerInfo {
    pub id: String,
    pub name: String,
    /// `created`, `running`, `exited`, ...
    pub status: String,
    pub running: bool,
    pub labels: BTreeMap<String, String>,
    pub health: Option<Health>,
}

/// The engine's health record of a container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Health {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    pub failing_streak: u64,
    /// Probe results, oldest first.
    pub log: Vec<ProbeResult>,
    /// The container's probe interval (`Config.Healthcheck.Interval`, run flags
    /// included); zero when it uses the engine's default.
    pub interval: Duration,
}

/// One run of the health probe.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeResult {
    pub exit_code: i64,
    pub output: String,
    /// When the probe started, as the engine reports it (RFC 3339); tells
    /// probes apart in the engine's sliding window of the last five.
    pub start: String,
}

/// Docker says `No such image`/`No such container`; podman says `image not known`
/// for images and `no such container` for containers.
fn is_missing(stderr: &str) -> bool {
    let lower = stderr.to_ascii_lowercase();
    lower.contains("no such")
        || lower.contains("image not known")
        || lower.contains("not found") && !lower.contains("command not found")
}

/// Runs an inspect command and returns its first object, or None if absent.
fn inspect_one<T: DeserializeOwned>(
    ctx: &Context,
    engine: &Engine,
    args: &[&str],
) -> Result<Option<T>> {
    let command = EngineCommand::query(args.iter().copied());
    let out = exec::output(ctx, engine, &command)?;
    if !out.status.success() {
        if is_missing(&out.stderr) {
            return Ok(None);
        }
        return Err(engine.diagnose_unreachable(&ctx.env, &out.stderr));
    }
    let parsed: Vec<T> = serde_json::from_str(&out.stdout).with_context(|| {
        let program = engine.program_str();
        let start: String = out.stdout.chars().take(200).collect();
        format!("cannot parse the output of `{program} {}`: {start}", args.join(" "))
    })?;
    Ok(parsed.into_iter().next())
}

/// The local image `reference`, if it exists.
pub fn image(ctx: &Context, engine: &Engine, reference: &str) -> Result<Option<ImageInfo>> {
    let found: Option<WireImage> = inspect_one(ctx, engine, &["image", "inspect", reference])?;
    Ok(found.map(ImageInfo::from))
}

/// The container called exactly `name` (or with that id), if it exists.
pub fn container(ctx: &Context, engine: &Engine, name: &str) -> Result<Option<ContainerInfo>> {
    let found: Option<WireContainer> = inspect_one(ctx, engine, &["container", "inspect", name])?;
    let found = found.map(ContainerInfo::from);
    // `inspect` also accepts an id prefix: insist on the exact name or full id.
    Ok(found.filter(|c| c.name == name || c.id == name))
}

/// Names of all containers (any state) carrying `label` (`key` or `key=value`).
pub fn containers_with_label(ctx: &Context, engine: &Engine, label: &str) -> Result<Vec<String>> {
    let filter = format!("label={label}");
    // No `--quiet`: with it the engine ignores `--format` and prints short ids,
    // which the exact-name match in `container` then rejects.
    let command =
        EngineCommand::query(["ps", "--all", "--filter", &filter, "--format", "{{.Names}}"]);
    let out = exec::output(ctx, engine, &command)?;
    if !out.status.success() {
        return Err(engine.diagnose_unreachable(&ctx.env, &out.stderr));
    }
    Ok(out.stdout.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_image(json: &str) -> ImageInfo {
        serde_json::from_str::<WireImage>(json).unwrap().into()
    }

    fn parse_container(json: &str) -> ContainerInfo {
        serde_json::from_str::<WireContainer>(json).unwrap().into()
    }

    #[test]
    fn parses_an_image_with_labels_and_healthcheck() {
        let value = r#"{"Id":"sha256:abc","RepoDigests":["r@sha256:1"],
                "Config":{"Labels":{"a":"1"},"Entrypoint":["/e","x"],
                          "Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":30000000000,
                                         "Timeout":10000000000,"StartPeriod":5000000,
                                         "Retries":3}}}"#;
        let info = parse_image(value);
        assert_eq!(info.id, "sha256:abc");
        assert_eq!(info.labels.get("a").map(String::as_str), Some("1"));
        assert_eq!(info.repo_digests, vec!["r@sha256:1"]);
        assert_eq!(info.healthcheck, Some(vec!["CMD-SHELL".to_string(), "true".to_string()]));
        assert_eq!(
            info.healthcheck_timing,
            HealthTiming {
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(10),
                start_period: Duration::from_millis(5),
                retries: 3,
            }
        );
        assert_eq!(info.entrypoint, vec!["/e", "x"]);
    }

    #[test]
    fn parses_podmans_top_level_healthcheck() {
        let value = r#"{"Id":"p","Config":{"Labels":{}},
                "Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Retries":2}}"#;
        let info = parse_image(value);
        assert_eq!(info.healthcheck, Some(vec!["CMD-SHELL".to_string(), "true".to_string()]));
        assert_eq!(info.healthcheck_timing.interval, Duration::from_secs(1));
        assert_eq!(info.healthcheck_timing.retries, 2);
    }

    #[test]
    fn parses_an_image_without_labels_or_healthcheck() {
        let value = r#"{"Id":"x","Config":{"Labels":null}}"#;
        let info = parse_image(value);
        assert!(info.labels.is_empty());
        assert_eq!(info.healthcheck, None);
        assert_eq!(info.healthcheck_timing, HealthTiming::default());
        assert!(info.entrypoint.is_empty());
    }

    #[test]
    fn parses_container_health() {
        let value = r#"{"Id":"c1","Name":"/box","State":{"Status":"running","Running":true,
                "Health":{"Status":"unhealthy","FailingStreak":2,
                          "Log":[{"Start":"2024-01-01T00:00:00.5Z","ExitCode":1,
                                  "Output":"boom\n"}]}},
                "Config":{"Healthcheck":{"Test":["CMD","true"],"Interval":2000000000}}}"#;
        let info = parse_container(value);
        assert_eq!(info.name, "box");
        assert!(info.running);
        let health = info.health.unwrap();
        assert_eq!(health.status, "unhealthy");
        assert_eq!(health.failing_streak, 2);
        assert_eq!(health.interval, Duration::from_secs(2));
        assert_eq!(
            health.log,
            vec![ProbeResult {
                exit_code: 1,
                output: "boom\n".into(),
                start: "2024-01-01T00:00:00.5Z".into()
            }]
        );
    }

    #[test]
    fn podmans_empty_health_record_means_no_health_check() {
        let value = r#"{"Id":"c2","Name":"plain","State":{"Status":"running","Running":true,
                "Health":{"Status":"","FailingStreak":0,"Log":null}}}"#;
        assert_eq!(parse_container(value).health, None);
    }

    #[test]
    fn recognises_missing_objects() {
        assert!(is_missing("Error: No such image: scylla-runner:latest"));
        assert!(is_missing("Error: no such container box"));
        assert!(is_missing("Error: inspecting object: localhost/x:y: image not known"));
        assert!(is_missing("Error: inspecting object: no such container box"));
        assert!(!is_missing("Cannot connect to the Docker daemon at unix:///var/run/docker.sock"));
    }
}
