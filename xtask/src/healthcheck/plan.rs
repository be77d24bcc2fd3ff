//! The throwaway container for `--image`, as data: which probe timing it runs
//! with, how it is kept alive, and the `run` command it renders (the container
//! guard removes it). Pure: no engine, no clock, so every choice is unit-tested
//! on the argv.
//!
//! # Why the timing is overridden
//! The image declares `--interval=30s`: the engine runs the first probe only one
//! interval after the container starts, so a faithful check would take 30 s or
//! more. The check keeps the image's probe command (no `--health-cmd`) and its
//! `--retries` and `--timeout` (they say what healthy means), and overrides:
//! - `--health-interval 1s`: the first probe runs after one second;
//! - `--health-start-period 1ms`: the container runs only a keep-alive `sleep`,
//!   so there is no workload to warm up; the `--retries` failures in a row still
//!   tolerate a slow first probe. (0 would mean "inherit the image's".)
//! - `--health-timeout`: the image's own, but never more than `--timeout`.
//!
//! Podman 4.3 ignores the `--health-*` timing flags unless `--health-cmd` is
//! given too (the container keeps the image's 30 s), so on podman the plan
//! restates the image's own probe as `--health-cmd` with the `Test` array in
//! JSON, which podman takes as is: the same command, in the same form.
//!
//! # Why the keep-alive looks like this
//! The probe needs a running container, and the image's default command may end
//! at once (`scylla-runner` prints its help). The command becomes
//! `sleep <timeout + 60s>`: bounded, so that with `--rm` a container outlives a
//! `kill -9` of this task by a minute at most. `scylla-entrypoint` (and an image
//! without ENTRYPOINT) runs its arguments, so the image's entrypoint is kept and
//! the probe sees the container as the image prepares it; any other entrypoint
//! may not run its arguments, so it is replaced by `--entrypoint sleep`. `--init`
//! puts a real init in front of `sleep`, which ignores SIGTERM as PID 1.

use std::time::Duration;

use anyhow::Result;

use crate::container::{Role, OWNER_LABEL};
use crate::engine::inspect::{HealthTiming, ImageInfo};
use crate::engine::{EngineCommand, EngineKind};
use crate::error::usage;

/// The image checked when neither `--image` nor `--container` is given.
pub const DEFAULT_IMAGE: &str = "scylla-runner:latest";
/// The role label value of the containers this task starts.
pub const ROLE: &str = Role::Healthcheck.name();
/// The entrypoint of `scylla-runner`, known to run its arguments.
pub const SCYLLA_ENTRYPOINT: &str = "/usr/local/bin/scylla-entrypoint";
/// How often the probe runs during the check.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest start period the engine accepts (zero would inherit the image's).
pub const START_PERIOD: Duration = Duration::from_millis(1);
/// How much longer than `--timeout` the keep-alive lives.
const KEEP_ALIVE_MARGIN: Duration = Duration::from_secs(60);
/// The engine's probe timeout when the image declares none.
const ENGINE_DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The engine's retries when the image declares none.
const ENGINE_DEFAULT_RETRIES: u64 = 3;

/// The probe timing the throwaway container runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeTiming {
    pub interval: Duration,
    pub start_period: Duration,
    pub timeout: Duration,
    pub retries: u64,
}

impl ProbeTiming {
    /// The check's timing for an image that declares `declared` (see the module doc).
    pub fn for_check(declared: &HealthTiming, deadline: Duration) -> ProbeTiming {
        let declared_timeout = match declared.timeout {
            Duration::ZERO => ENGINE_DEFAULT_TIMEOUT,
            timeout => timeout,
        };
        ProbeTiming {
            interval: PROBE_INTERVAL,
            start_period: START_PERIOD,
            timeout: declared_timeout.min(deadline).max(Duration::from_millis(1)),
            retries: match declared.retries {
                0 => ENGINE_DEFAULT_RETRIES,
                retries => retries,
            },
        }
    }
}

/// How the throwaway container is kept running while the probe runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAlive {
    /// `sleep N` is the command; the image's entrypoint (if any) runs it.
    ThroughEntrypoint,
    /// `--entrypoint sleep` with `N` as the command.
    ReplaceEntrypoint,
}

impl KeepAlive {
    /// Keeps entrypoints known to run their arguments; replaces any other.
    pub fn for_entrypoint(entrypoint: &[String]) -> KeepAlive {
        match entrypoint {
            [] => KeepAlive::ThroughEntrypoint,
            [program] if program == SCYLLA_ENTRYPOINT => KeepAlive::ThroughEntrypoint,
            _ => KeepAlive::ReplaceEntrypoint,
        }
    }
}

/// Everything needed to start, probe and remove the throwaway container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthPlan {
    pub image: String,
    pub container_name: String,
    /// The owner label value (`host:pid:start-time`), so that a later run can
    /// remove the container if this process dies without cleaning up.
    pub owner: String,
    pub timing: ProbeTiming,
    pub keep_alive: KeepAlive,
    /// How long the keep-alive `sleep` runs (whole seconds).
    pub keep_alive_for: Duration,
    /// How long to wait for the engine's verdict.
    pub deadline: Duration,
    /// The image's probe (`Test` array), restated as `--health-cmd` when set
    /// (podman: see the module doc).
    pub restated_probe: Option<Vec<String>>,
}

impl HealthPlan {
    /// Plans the check of `image` (described by `info`) in a container named
    /// `container_name` owned by `owner`. Fails (exit 2) when the image declares
    /// no probe.
    pub fn new(
        image: &str,
        info: &ImageInfo,
        container_name: &str,
        owner: &str,
        deadline: Duration,
    ) -> Result<HealthPlan> {
        declared_probe(image, info)?;
        let keep_alive_secs = (deadline + KEEP_ALIVE_MARGIN).as_secs_f64().ceil() as u64;
        Ok(HealthPlan {
            image: image.to_string(),
            container_name: container_name.to_string(),
            owner: owner.to_string(),
            timing: ProbeTiming::for_check(&info.healthcheck_timing, deadline),
            keep_alive: KeepAlive::for_entrypoint(&info.entrypoint),
            keep_alive_for: Duration::from_secs(keep_alive_secs),
            deadline,
            restated_probe: None,
        })
    }

    /// The plan for `kind`: podman gets the image's probe restated.
    pub fn for_engine(mut self, kind: EngineKind, info: &ImageInfo) -> HealthPlan {
        if kind == EngineKind::Podman {
            self.restated_probe = info.healthcheck.clone();
        }
        self
    }

    /// `run --detach ...`: starts the container.
    pub fn run_command(&self) -> EngineCommand {
        let mut args =
            words(&["run", "--detach", "--rm", "--init", "--name", &self.container_name]);
        args.extend(words(&["--label", &Role::Healthcheck.label()]));
        args.extend(words(&["--label", &format!("{OWNER_LABEL}={}", self.owner)]));
        if let Some(test) = &self.restated_probe {
            let json = serde_json::to_string(test).unwrap_or_default();
            args.extend(words(&["--health-cmd", &json]));
        }
        push_timing(&mut args, &self.timing);
        let seconds = self.keep_alive_for.as_secs().to_string();
        match self.keep_alive {
            KeepAlive::ThroughEntrypoint => {
                args.extend(words(&[&self.image, "sleep", &seconds]));
            }
            KeepAlive::ReplaceEntrypoint => {
                args.extend(words(&["--entrypoint", "sleep", &self.image, &seconds]));
            }
        }
        EngineCommand::action(args)
    }
}

fn words(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn push_timing(args: &mut Vec<String>, timing: &ProbeTiming) {
    args.extend(words(&["--health-interval", &engine_duration(timing.interval)]));
    args.extend(words(&["--health-start-period", &engine_duration(timing.start_period)]));
    args.extend(words(&["--health-timeout", &engine_duration(timing.timeout)]));
    args.extend(words(&["--health-retries", &timing.retries.to_string()]));
}

/// The probe the image declares, or the exit-2 error saying it has none.
pub fn declared_probe<'a>(image: &str, info: &'a ImageInfo) -> Result<&'a [String]> {
    match info.healthcheck.as_deref() {
        Some([kind, ..]) if kind == "NONE" => Err(usage(format!(
            "image {image} disables its health check (HEALTHCHECK NONE)\n  \
             declare a probe in the final stage of its Dockerfile, e.g.\n  \
             HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
             CMD python -c 'import scylla' || exit 1"
        ))),
        Some(test) if !test.is_empty() => Ok(test),
        _ => Err(usage(format!(
            "image {image} has no HEALTHCHECK, so there is no probe to run\n  \
             add one to the final stage of its Dockerfile (check it with \
             `cargo xtask healthcheck --static`), then rebuild: cargo xtask docker-build"
        ))),
    }
}

/// A duration as the engine's flags take it (Go syntax): `1s`, `1500ms`.
pub fn engine_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration.as_nanos() % 1_000_000 == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}ns", duration.as_nanos())
    }
}

/// Parses a duration: `500ms`, `30s`, `2m`, `1h`, `1m30s`, `1.5s`, or plain
/// seconds (`45`). Units: ns, us (µs), ms, s, m, h, as the engine accepts them.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration; write e.g. 30s, 2m or 500ms".to_string());
    }
    if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return scaled(text, 1_000_000_000).map(Duration::from_nanos);
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(0);
        let unit_end = rest[number_end..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .map_or(rest.len(), |i| number_end + i);
        if number_end == 0 {
            return Err(format!("`{text}` is not a duration; write e.g. 30s, 2m or 500ms"));
        }
        let unit = unit_nanos(&rest[number_end..unit_end]).ok_or_else(|| {
            format!("unknown unit `{}` in `{text}`; use ms, s, m or h", &rest[number_end..unit_end])
        })?;
        let part = scaled(&rest[..number_end], unit)?;
        total = total.checked_add(part).ok_or_else(|| format!("`{text}` is too long"))?;
        rest = &rest[unit_end..];
    }
    Ok(Duration::from_nanos(total))
}

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "µs" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// `number` (digits, at most one `.`) times `unit` nanoseconds.
fn scaled(number: &str, unit: u64) -> Result<u64, String> {
    let bad = || format!("`{number}` is not a number");
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let mut nanos = whole.checked_mul(unit).ok_or_else(|| format!("`{number}` is too large"))?;
    let mut place = unit;
    for digit in fraction.chars() {
        place /= 10;
        nanos += u64::from(digit.to_digit(10).ok_or_else(bad)?) * place;
    }
    Ok(nanos)
}

/// Parses `--timeout`: a duration longer than zero.
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err("the timeout must be longer than 0".to_string()),
        duration => Ok(duration),
    }
}

/// A duration for people: `850ms`, `2.4s`, `3m05s`.
pub fn human_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1_000 {
        format!("{millis}ms")
    } else if millis < 60_000 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        format!("{}m{:02}s", duration.as_secs() / 60, duration.as_secs() % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scylla_image() -> ImageInfo {
        ImageInfo {
            healthcheck: Some(vec![
                "CMD-SHELL".to_string(),
                r#"python -c 'import scylla; print("OK")' || exit 1"#.to_string(),
            ]),
            healthcheck_timing: HealthTiming {
                interval: Duration::from_secs(30),
                timeout: Duration::from_secs(10),
                start_period: Duration::from_secs(5),
                retries: 3,
            },
            entrypoint: vec![SCYLLA_ENTRYPOINT.to_string()],
            ..ImageInfo::default()
        }
    }

    #[test]
    fn scylla_image_keeps_its_entrypoint_and_probe_with_fast_timing() {
        let plan = HealthPlan::new(
            "scylla-runner:latest",
            &scylla_image(),
            "hc-1",
            "h:1:2",
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!(
            plan.run_command().args,
            vec![
                "run",
                "--detach",
                "--rm",
                "--init",
                "--name",
                "hc-1",
                "--label",
                "org.scylla.xtask.role=healthcheck",
                "--label",
                "org.scylla.xtask.owner=h:1:2",
                "--health-interval",
                "1s",
                "--health-start-period",
                "1ms",
                "--health-timeout",
                "10s",
                "--health-retries",
                "3",
                "scylla-runner:latest",
                "sleep",
                "120",
            ]
        );
        assert!(!plan.run_command().args.iter().any(|word| word == "--health-cmd"));
    }

    #[test]
    fn podman_gets_the_images_own_probe_restated_before_the_timing() {
        let info = scylla_image();
        let plan_for = |kind| {
            HealthPlan::new("scylla-runner:latest", &info, "hc-1", "h:1:2", Duration::from_secs(60))
                .unwrap()
                .for_engine(kind, &info)
        };
        let argv = plan_for(EngineKind::Podman).run_command().args;
        let at = argv.iter().position(|word| word == "--health-cmd").expect("restated");
        let test: Vec<String> = serde_json::from_str(&argv[at + 1]).unwrap();
        assert_eq!(Some(test), info.healthcheck);
        assert_eq!(argv[at + 2], "--health-interval");
        assert!(!plan_for(EngineKind::Docker)
            .run_command()
            .args
            .iter()
            .any(|word| word == "--health-cmd"));
    }

    #[test]
    fn unknown_entrypoints_are_replaced_by_sleep() {
        let info = ImageInfo { entrypoint: vec!["/docker-entrypoint.sh".into()], ..scylla_image() };
        let plan = HealthPlan::new("other:1", &info, "hc-2", "h:1:2", Duration::from_millis(1500))
            .unwrap();
        assert_eq!(plan.keep_alive, KeepAlive::ReplaceEntrypoint);
        assert_eq!(
            plan.run_command().args[18..],
            ["--entrypoint", "sleep", "other:1", "62"].map(String::from)
        );
        // The probe may not take longer than the whole check.
        assert_eq!(plan.timing.timeout, Duration::from_millis(1500));
        assert_eq!(plan.run_command().args[15], "1500ms");
    }

    #[test]
    fn keep_alive_follows_the_entrypoint() {
        assert_eq!(KeepAlive::for_entrypoint(&[]), KeepAlive::ThroughEntrypoint);
        let ours = [SCYLLA_ENTRYPOINT.to_string()];
        assert_eq!(KeepAlive::for_entrypoint(&ours), KeepAlive::ThroughEntrypoint);
        let shell = ["/bin/sh".to_string(), "-c".to_string(), "exec app".to_string()];
        assert_eq!(KeepAlive::for_entrypoint(&shell), KeepAlive::ReplaceEntrypoint);
    }

    #[test]
    fn undeclared_timing_falls_back_to_the_engine_defaults() {
        let timing = ProbeTiming::for_check(&HealthTiming::default(), Duration::from_secs(60));
        assert_eq!(
            timing,
            ProbeTiming {
                interval: Duration::from_secs(1),
                start_period: Duration::from_millis(1),
                timeout: Duration::from_secs(30),
                retries: 3,
            }
        );
    }

    #[test]
    fn images_without_a_probe_are_refused_with_exit_2() {
        let none = ImageInfo { healthcheck: Some(vec!["NONE".into()]), ..scylla_image() };
        let error = HealthPlan::new("x:1", &none, "n", "o", Duration::from_secs(5)).unwrap_err();
        assert!(error.to_string().starts_with("image x:1 disables its health check"), "{error}");
        assert_eq!(crate::error::exit_code_for(&error), 2);
        for healthcheck in [None, Some(vec![])] {
            let info = ImageInfo { healthcheck, ..scylla_image() };
            let error =
                HealthPlan::new("x:1", &info, "n", "o", Duration::from_secs(5)).unwrap_err();
            assert!(error.to_string().starts_with("image x:1 has no HEALTHCHECK"), "{error}");
            assert_eq!(crate::error::exit_code_for(&error), 2);
        }
    }

    #[test]
    fn parses_durations() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("30s"), Ok(ms(30_000)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("45"), Ok(ms(45_000)));
        assert_eq!(parse_duration(" 1.5 "), Ok(ms(1_500)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("0.25s"), Ok(ms(250)));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
    }

    #[test]
    fn rejects_bad_durations_with_a_hint() {
        for bad in ["", "s", "10x", "1m30", "1..2s", "-5s", "99999999999999999999h", "."] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse_duration("10x").unwrap_err().contains("use ms, s, m or h"));
        assert!(parse_timeout("0s").unwrap_err().contains("longer than 0"));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn renders_durations() {
        assert_eq!(engine_duration(Duration::from_secs(10)), "10s");
        assert_eq!(engine_duration(Duration::from_millis(1)), "1ms");
        assert_eq!(engine_duration(Duration::from_nanos(1_500)), "1500ns");
        assert_eq!(human_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(human_duration(Duration::from_millis(2_449)), "2.4s");
        assert_eq!(human_duration(Duration::from_secs(185)), "3m05s");
    }
}
