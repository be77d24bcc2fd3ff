//! What a check found, rendered for people (stdout lines) or for scripts (one
//! JSON object). Pure, so both renderings are unit-tested.

use std::time::Duration;

use serde_json::{json, Value};

use super::plan::human_duration;
use crate::engine::exec::Signal;
use crate::engine::inspect::ProbeResult;

/// How the check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The engine said `healthy` (static: no findings). Exit 0.
    Healthy,
    /// The engine said `unhealthy` (static: findings). Exit 1.
    Unhealthy,
    /// Still `starting` when `--timeout` ran out. Exit 2.
    TimedOut,
    /// Stopped by a signal; the container was removed. Exit 130 or 143.
    Interrupted(Signal),
    /// The check could not run (no engine, image or container). Exit 2.
    Error,
}

impl Status {
    /// The `status` field of the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Unhealthy => "unhealthy",
            Status::TimedOut | Status::Interrupted(_) | Status::Error => "error",
        }
    }
}

/// A problem in the Dockerfile's HEALTHCHECK, found by `--static`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line in the Dockerfile.
    pub line: usize,
    pub message: String,
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// `image`, `container` or `static`.
    pub mode: &'static str,
    /// The image reference, container name or Dockerfile path.
    pub target: String,
    pub status: Status,
    /// The last probe result the engine reported, if any ran.
    pub last_probe: Option<ProbeResult>,
    /// How many distinct probe results were seen.
    pub probes: u64,
    /// Image: from `run` to the verdict. Container: the time spent waiting.
    pub duration: Duration,
    /// The throwaway container (`--image`), already removed.
    pub container: Option<String>,
    /// Why the status is `error`.
    pub error: Option<String>,
    /// `--static` only.
    pub findings: Vec<Finding>,
}

impl Report {
    /// An empty report for `mode` and `target`, to fill in.
    pub fn new(mode: &'static str, target: &str, status: Status) -> Report {
        Report {
            mode,
            target: target.to_string(),
            status,
            last_probe: None,
            probes: 0,
            duration: Duration::ZERO,
            container: None,
            error: None,
            findings: Vec::new(),
        }
    }

    /// The report of a check that could not run.
    pub fn failed(mode: &'static str, target: &str, error: &anyhow::Error) -> Report {
        Report { error: Some(format!("{error:#}")), ..Report::new(mode, target, Status::Error) }
    }

    /// The one JSON object `--format json` prints.
    pub fn to_json(&self) -> Value {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|finding| json!({ "line": finding.line, "message": finding.message }))
            .collect();
        json!({
            "status": self.status.as_str(),
            "exit_code": self.last_probe.as_ref().map(|probe| probe.exit_code),
            "output": self.last_probe.as_ref().map(|probe| probe.output.as_str()),
            "probes": self.probes,
            "duration_ms": u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
            "mode": self.mode,
            "target": self.target,
            "container": self.container,
            "error": self.error,
            "findings": findings,
        })
    }

    /// The result lines for people (stdout).
    pub fn text_lines(&self) -> Vec<String> {
        let mut lines = vec![self.headline()];
        if let Some(probe) = &self.last_probe {
            lines.extend(probe_lines(probe));
        }
        for finding in &self.findings {
            lines.push(format!("{}:{}: {}", self.target, finding.line, finding.message));
        }
        lines
    }

    fn headline(&self) -> String {
        let subject = format!("{} {}", self.mode, self.target);
        let probes = match self.probes {
            1 => "1 probe".to_string(),
            n => format!("{n} probes"),
        };
        let took = human_duration(self.duration);
        match (self.status, self.mode) {
            (Status::Healthy, "static") => format!("healthy: {subject}: the HEALTHCHECK is sound"),
            (Status::Unhealthy, "static") => {
                format!("unhealthy: {subject}: {} finding(s)", self.findings.len())
            }
            (Status::Healthy, "container") => {
                format!("healthy: {subject} ({probes} seen, waited {took})")
            }
            (Status::Unhealthy, "container") => {
                format!("unhealthy: {subject} ({probes} seen, waited {took})")
            }
            (Status::Healthy, _) => format!("healthy: {subject} ({probes}, healthy after {took})"),
            (Status::Unhealthy, _) => format!("unhealthy: {subject} ({probes} in {took})"),
            (Status::TimedOut, _) => {
                format!("starting: {subject}: no verdict after {took} ({probes})")
            }
            (Status::Interrupted(_), _) => {
                format!("interrupted: {subject} after {took} ({probes})")
            }
            (Status::Error, _) => format!("error: {subject}"),
        }
    }
}

fn probe_lines(probe: &ProbeResult) -> Vec<String> {
    let output = probe.output.trim_end();
    let exit = format!("  last probe: exit code {}", probe.exit_code);
    if output.is_empty() {
        return vec![format!("{exit}, no output")];
    }
    if !output.contains('\n') {
        return vec![format!("{exit}, output: {output}")];
    }
    let mut lines = vec![format!("{exit}, output:")];
    lines.extend(output.lines().map(|line| format!("    {line}")));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(exit_code: i64, output: &str) -> ProbeResult {
        ProbeResult { exit_code, output: output.to_string(), start: "t".to_string() }
    }

    #[test]
    fn healthy_image_in_text_and_json() {
        let report = Report {
            last_probe: Some(probe(0, "OK\n")),
            probes: 1,
            duration: Duration::from_millis(1_234),
            container: Some("hc-1".into()),
            ..Report::new("image", "scylla-runner:latest", Status::Healthy)
        };
        assert_eq!(
            report.text_lines(),
            vec![
                "healthy: image scylla-runner:latest (1 probe, healthy after 1.2s)",
                "  last probe: exit code 0, output: OK",
            ]
        );
        assert_eq!(
            report.to_json(),
            json!({"status": "healthy", "exit_code": 0, "output": "OK\n", "probes": 1,
                   "duration_ms": 1234, "mode": "image", "target": "scylla-runner:latest",
                   "container": "hc-1", "error": null, "findings": []})
        );
    }

    #[test]
    fn unhealthy_output_is_shown_line_by_line() {
        let report = Report {
            last_probe: Some(probe(1, "Traceback:\nModuleNotFoundError: No module named 'x'\n")),
            probes: 3,
            duration: Duration::from_millis(3_400),
            ..Report::new("container", "box", Status::Unhealthy)
        };
        assert_eq!(
            report.text_lines(),
            vec![
                "unhealthy: container box (3 probes seen, waited 3.4s)",
                "  last probe: exit code 1, output:",
                "    Traceback:",
                "    ModuleNotFoundError: No module named 'x'",
            ]
        );
        assert_eq!(report.to_json()["status"], "unhealthy");
        assert_eq!(report.to_json()["exit_code"], 1);
    }

    #[test]
    fn errors_have_no_probe_and_say_why() {
        let error = anyhow::anyhow!("gone").context("cannot check");
        let report = Report::failed("image", "x:1", &error);
        let value = report.to_json();
        assert_eq!(value["status"], "error");
        assert_eq!(value["exit_code"], Value::Null);
        assert_eq!(value["output"], Value::Null);
        assert_eq!(value["error"], "cannot check: gone");
        assert_eq!(report.text_lines(), vec!["error: image x:1"]);
        let interrupted = Report::new("image", "x", Status::Interrupted(Signal::Interrupt));
        assert_eq!(interrupted.to_json()["status"], "error");
        assert_eq!(Report::new("image", "x", Status::TimedOut).to_json()["status"], "error");
    }

    #[test]
    fn static_findings_carry_lines() {
        let report = Report {
            findings: vec![Finding { line: 7, message: "HEALTHCHECK NONE".into() }],
            ..Report::new("static", "docker/Dockerfile", Status::Unhealthy)
        };
        assert_eq!(
            report.text_lines(),
            vec![
                "unhealthy: static docker/Dockerfile: 1 finding(s)",
                "docker/Dockerfile:7: HEALTHCHECK NONE",
            ]
        );
        assert_eq!(
            report.to_json()["findings"],
            json!([{"line": 7, "message": "HEALTHCHECK NONE"}])
        );
    }
}
