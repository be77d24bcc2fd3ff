//! Image and container queries through `inspect`, parsed with serde_json into
//! the few fields the tasks use. "No such object" is `Ok(None)`; an unreachable
//! daemon is the actionable error from [`Engine::diagnose_unreachable`].

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use serde_json::Value;

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

/// Runs an inspect command and returns its first JSON object, or None if absent.
fn inspect_one(ctx: &Context, engine: &Engine, args: &[&str]) -> Result<Option<Value>> {
    let command = EngineCommand::query(args.iter().copied());
    let out = exec::output(ctx, engine, &command)?;
    if !out.status.success() {
        if is_missing(&out.stderr) {
            return Ok(None);
        }
        return Err(engine.diagnose_unreachable(&ctx.env, &out.stderr));
    }
    let parsed: Value = serde_json::from_str(&out.stdout).with_context(|| {
        format!("cannot parse the output of `{} {}`", engine.program_str(), args.join(" "))
    })?;
    match parsed {
        Value::Array(mut items) if !items.is_empty() => Ok(Some(items.swap_remove(0))),
        Value::Array(_) => Ok(None),
        other => Err(anyhow!("unexpected inspect output: {}", truncate(&other.to_string()))),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|map| {
            map.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect()
        })
        .unwrap_or_default()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Parses one element of `image inspect` output.
pub fn parse_image(value: &Value) -> ImageInfo {
    let config = &value["Config"];
    // Docker keeps the HEALTHCHECK under `Config`; podman at the top level.
    let health = match &config["Healthcheck"] {
        Value::Null => &value["Healthcheck"],
        inside => inside,
    };
    let healthcheck = health["Test"].as_array().map(|_| strings(&health["Test"]));
    let nanos = |field: &str| Duration::from_nanos(health[field].as_u64().unwrap_or(0));
    ImageInfo {
        id: value["Id"].as_str().unwrap_or_default().to_string(),
        labels: string_map(&config["Labels"]),
        repo_digests: strings(&value["RepoDigests"]),
        healthcheck,
        healthcheck_timing: HealthTiming {
            interval: nanos("Interval"),
            timeout: nanos("Timeout"),
            start_period: nanos("StartPeriod"),
            retries: health["Retries"].as_u64().unwrap_or(0),
        },
        entrypoint: strings(&config["Entrypoint"]),
    }
}

/// Parses one element of `container inspect` output.
pub fn parse_container(value: &Value) -> ContainerInfo {
    let state = &value["State"];
    // Podman reports `Health` with an empty status for a container without a check.
    let checked = state["Health"]["Status"].as_str().is_some_and(|status| !status.is_empty());
    let health = state["Health"].as_object().filter(|_| checked).map(|_| {
        let h = &state["Health"];
        Health {
            status: h["Status"].as_str().unwrap_or_default().to_string(),
            failing_streak: h["FailingStreak"].as_u64().unwrap_or(0),
            log: h["Log"]
                .as_array()
                .map(|entries| {
                    entries
                        .iter()
                        .map(|e| ProbeResult {
                            exit_code: e["ExitCode"].as_i64().unwrap_or(-1),
                            output: e["Output"].as_str().unwrap_or_default().to_string(),
                            start: e["Start"].as_str().unwrap_or_default().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            interval: Duration::from_nanos(
                value["Config"]["Healthcheck"]["Interval"].as_u64().unwrap_or(0),
            ),
        }
    });
    ContainerInfo {
        id: value["Id"].as_str().unwrap_or_default().to_string(),
        name: value["Name"].as_str().unwrap_or_default().trim_start_matches('/').to_string(),
        status: state["Status"].as_str().unwrap_or_default().to_string(),
        running: state["Running"].as_bool().unwrap_or(false),
        labels: string_map(&value["Config"]["Labels"]),
        health,
    }
}

/// The local image `reference`, if it exists.
pub fn image(ctx: &Context, engine: &Engine, reference: &str) -> Result<Option<ImageInfo>> {
    Ok(inspect_one(ctx, engine, &["image", "inspect", reference])?.map(|v| parse_image(&v)))
}

/// The container called exactly `name` (or with that id), if it exists.
pub fn container(ctx: &Context, engine: &Engine, name: &str) -> Result<Option<ContainerInfo>> {
    let found =
        inspect_one(ctx, engine, &["container", "inspect", name])?.map(|v| parse_container(&v));
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

    #[test]
    fn parses_an_image_with_labels_and_healthcheck() {
        let value: Value = serde_json::from_str(
            r#"{"Id":"sha256:abc","RepoDigests":["r@sha256:1"],
                "Config":{"Labels":{"a":"1"},"Entrypoint":["/e","x"],
                          "Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":30000000000,
                                         "Timeout":10000000000,"StartPeriod":5000000,
                                         "Retries":3}}}"#,
        )
        .unwrap();
        let info = parse_image(&value);
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
        let value: Value = serde_json::from_str(
            r#"{"Id":"p","Config":{"Labels":{}},
                "Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Retries":2}}"#,
        )
        .unwrap();
        let info = parse_image(&value);
        assert_eq!(info.healthcheck, Some(vec!["CMD-SHELL".to_string(), "true".to_string()]));
        assert_eq!(info.healthcheck_timing.interval, Duration::from_secs(1));
        assert_eq!(info.healthcheck_timing.retries, 2);
    }

    #[test]
    fn parses_an_image_without_labels_or_healthcheck() {
        let value: Value = serde_json::from_str(r#"{"Id":"x","Config":{"Labels":null}}"#).unwrap();
        let info = parse_image(&value);
        assert!(info.labels.is_empty());
        assert_eq!(info.healthcheck, None);
        assert_eq!(info.healthcheck_timing, HealthTiming::default());
        assert!(info.entrypoint.is_empty());
    }

    #[test]
    fn parses_container_health() {
        let value: Value = serde_json::from_str(
            r#"{"Id":"c1","Name":"/box","State":{"Status":"running","Running":true,
                "Health":{"Status":"unhealthy","FailingStreak":2,
                          "Log":[{"Start":"2024-01-01T00:00:00.5Z","ExitCode":1,
                                  "Output":"boom\n"}]}},
                "Config":{"Healthcheck":{"Test":["CMD","true"],"Interval":2000000000}}}"#,
        )
        .unwrap();
        let info = parse_container(&value);
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
        let value: Value = serde_json::from_str(
            r#"{"Id":"c2","Name":"plain","State":{"Status":"running","Running":true,
                "Health":{"Status":"","FailingStreak":0,"Log":null}}}"#,
        )
        .unwrap();
        assert_eq!(parse_container(&value).health, None);
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
