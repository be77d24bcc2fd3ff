//! What a build shows by default: one short line per finished step (its number,
//! the instruction in short, cached or not, the time since the build started)
//! read from the builder's own output: Docker's legacy builder (`Step 2/4 : COPY ...`,
//! ` ---> Using cache`), podman's (`STEP 2/4: COPY ...`, `--> Using cache ...`) or
//! BuildKit's plain progress (`#5 [2/4] COPY ...`, `#5 CACHED`, `#5 DONE 0.3s`).
//! The whole output goes to a log file; `-v` streams it instead.

use std::collections::BTreeMap;

/// Characters of an instruction shown in a progress line.
const INSTRUCTION_WIDTH: usize = 60;

/// A step of the build, once it is finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// `2/4`, or `builder 2/6` for a named stage under BuildKit.
    pub number: String,
    pub instruction: String,
    pub cached: bool,
    /// The builder reported an error for it (BuildKit), or the build ended
    /// with it unfinished and failed (legacy).
    pub failed: bool,
}

impl Step {
    /// `step 2/4 COPY deps.txt /deps.txt: cached (0.4 s)`.
    pub fn line(&self, elapsed_seconds: f64) -> String {
        let state = match (self.failed, self.cached) {
            (true, _) => "failed",
            (false, true) => "cached",
            // A base is pulled or found, not built.
            _ if self.instruction.starts_with("FROM ") => "base",
            _ => "built",
        };
        format!("step {} {}: {state} ({elapsed_seconds:.1} s)", self.number, self.instruction)
    }
}

/// The instruction in short: one line, at most [`INSTRUCTION_WIDTH`] characters.
fn shorten(instruction: &str) -> String {
    let words: Vec<&str> = instruction.split_whitespace().collect();
    let text = words.join(" ");
    if text.chars().count() <= INSTRUCTION_WIDTH {
        return text;
    }
    let kept: String = text.chars().take(INSTRUCTION_WIDTH - 1).collect();
    format!("{kept}…")
}

/// Reads builder output line by line and yields the steps as they finish.
#[derive(Debug, Default)]
pub struct Progress {
    /// The legacy builder's current step.
    current: Option<Step>,
    /// BuildKit's steps by vertex number (`#5`), until they finish.
    vertices: BTreeMap<String, Step>,
}

impl Progress {
    /// The step that `line` finishes, if any.
    pub fn line(&mut self, line: &str) -> Option<Step> {
        let sequential = match (line.strip_prefix("Step "), line.strip_prefix("STEP ")) {
            (Some(docker), _) => docker.split_once(" : "),
            (_, Some(podman)) => podman.split_once(": "),
            _ => None,
        };
        if let Some((number, instruction)) = sequential {
            let step = Step {
                number: number.trim().to_string(),
                instruction: shorten(instruction),
                cached: false,
                failed: false,
            };
            return self.current.replace(step);
        }
        let trimmed = line.trim();
        if trimmed == "---> Using cache" || trimmed.starts_with("--> Using cache") {
            if let Some(step) = &mut self.current {
                step.cached = true;
            }
            return None;
        }
        let rest = line.strip_prefix('#')?;
        let (vertex, text) = rest.split_once(' ')?;
        if let Some(bracketed) = text.strip_prefix('[') {
            let (number, instruction) = bracketed.split_once("] ")?;
            if number.contains('/') {
                let step = Step {
                    number: number.to_string(),
                    instruction: shorten(instruction),
                    cached: false,
                    failed: false,
                };
                self.vertices.insert(vertex.to_string(), step);
            }
            return None;
        }
        let cached = text == "CACHED";
        if cached || text.starts_with("DONE") || text.starts_with("ERROR") {
            let mut step = self.vertices.remove(vertex)?;
            step.cached = cached;
            step.failed = text.starts_with("ERROR");
            return Some(step);
        }
        None
    }

    /// The legacy builder's last step, once its output has ended (`failed`:
    /// the build did not succeed, so the step did not finish).
    pub fn finish(&mut self, failed: bool) -> Option<Step> {
        let mut step = self.current.take()?;
        step.failed = failed;
        Some(step)
    }
}

/// The last `count` lines of a log, for the message of a failed build.
pub fn tail(log: &str, count: usize) -> Vec<&str> {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(count)..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(output: &str) -> Vec<Step> {
        let mut progress = Progress::default();
        let mut found: Vec<Step> = output.lines().filter_map(|l| progress.line(l)).collect();
        found.extend(progress.finish(false));
        found
    }

    #[test]
    fn legacy_steps_are_read_with_their_cache_state() {
        let output = "Sending build context to Docker daemon  3.072kB\n\
                      Step 1/3 : FROM base@sha256:1\n ---> 1a2b\n\
                      Step 2/3 : COPY deps.txt /deps.txt\n ---> Using cache\n ---> 5e6f\n\
                      Step 3/3 : RUN wc -l   /deps.txt\n ---> Running in ab\n ---> cd\n\
                      Successfully built cd\n";
        let found = steps(output);
        assert_eq!(found.len(), 3);
        assert_eq!(found[1].line(0.4), "step 2/3 COPY deps.txt /deps.txt: cached (0.4 s)");
        assert_eq!(found[2].line(1.25), "step 3/3 RUN wc -l /deps.txt: built (1.2 s)");
        assert_eq!(found[0].line(0.0), "step 1/3 FROM base@sha256:1: base (0.0 s)");
        let mut progress = Progress::default();
        assert_eq!(progress.line("Step 2/2 : RUN exit 3"), None);
        assert!(progress.finish(true).unwrap().line(0.3).ends_with(": failed (0.3 s)"));
    }

    #[test]
    fn podman_steps_are_read_too() {
        let output = "STEP 1/3: FROM base@sha256:1\nSTEP 2/3: COPY deps.txt /deps.txt\n\
                      --> Using cache 5e6f\n--> 5e6f\nSTEP 3/3: RUN make\nCOMMIT x:1\n--> 7a8b\n";
        let found = steps(output);
        assert_eq!(found.len(), 3);
        assert_eq!(found[1].line(0.2), "step 2/3 COPY deps.txt /deps.txt: cached (0.2 s)");
        assert!(!found[2].cached);
    }

    #[test]
    fn buildkit_steps_finish_when_cached_or_done() {
        let output = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\
                      #5 [builder 2/4] COPY deps.txt /deps.txt\n#6 [builder 3/4] RUN make\n\
                      #5 CACHED\n#6 0.120 compiling\n#6 DONE 2.3s\n\
                      #7 [3/3] RUN exit 3\n#7 ERROR: process did not complete successfully\n";
        let found = steps(output);
        assert_eq!(found.len(), 3);
        assert!(found[2].failed);
        assert_eq!((found[0].number.as_str(), found[0].cached), ("builder 2/4", true));
        assert_eq!((found[1].instruction.as_str(), found[1].cached), ("RUN make", false));
    }

    #[test]
    fn long_instructions_are_cut_and_the_tail_is_the_end_of_the_log() {
        let long = format!("LABEL org.scylla.xtask.steps={}", "x".repeat(3000));
        let step = steps(&format!("Step 5/5 : {long}\n")).remove(0);
        assert_eq!(step.instruction.chars().count(), INSTRUCTION_WIDTH);
        assert!(step.instruction.ends_with('…'));
        assert_eq!(tail("a\nb\nc\n", 2), ["b", "c"]);
    }
}
