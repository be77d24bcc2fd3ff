//! Per-step records for the layer-cache check. Each instruction gets a key
//! (its text, plus the effective value for `ARG` and the resolved base for
//! `FROM`); each `COPY`/`ADD` from the context also gets the hash of the files
//! it consumes and, for up to [`MAX_FILES_RECORDED`] files, a short hash per file.
//! The records are stored in one JSON image label ([`LabelStep`], compact: one-letter
//! names, empty fields left out, 12-digit keys); `--explain` compares the records of
//! the image, wherever it was built, with fresh ones and names, per stage, the first
//! step the engine will have to rebuild and the files that invalidate it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dockerfile::{Base, Dockerfile};

/// Label holding the step records.
pub const STEPS_LABEL: &str = "org.scylla.xtask.steps";
/// Per-file detail is kept for steps with at most this many files.
pub const MAX_FILES_RECORDED: usize = 500;

/// The record of one instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepRecord {
    pub stage: usize,
    pub line: usize,
    /// `COPY src/ ./src/` as written (for messages).
    pub text: String,
    pub key: String,
    /// Hash of the context files consumed (context COPY/ADD only).
    pub inputs: Option<String>,
    /// Short content hash per consumed file (when few enough).
    pub files: Option<BTreeMap<String, String>>,
    /// The stages this step reads from (`FROM stage`, `COPY --from=stage`).
    pub depends_on: Vec<usize>,
}

/// The consumed files of a context COPY/ADD: its step hash and per-file hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyInputs {
    pub hash: String,
    pub files: BTreeMap<String, String>,
}

/// Hex digits kept of a step's key and of its inputs' hash: they are compared
/// only with the same step of an earlier build, where 48 bits never collide in
/// practice, and the label stays small.
const KEPT_HEX: usize = 12;

fn kept(hash: &str) -> String {
    hash[..hash.len().min(KEPT_HEX)].to_string()
}

fn short_key(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let hex: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    kept(&hex)
}

/// Builds the records; `copy_inputs` maps an instruction index to its inputs.
pub fn records(
    dockerfile: &Dockerfile,
    build_args: &BTreeMap<String, String>,
    copy_inputs: &BTreeMap<usize, CopyInputs>,
) -> Vec<StepRecord> {
    let froms: BTreeMap<usize, Base> =
        dockerfile.resolve_froms(build_args).into_iter().map(|f| (f.stage_index, f.base)).collect();
    let mut records = Vec::new();
    for stage in &dockerfile.stages {
        let first = stage.instruction_index;
        for (offset, instruction) in dockerfile.stage_instructions(stage).iter().enumerate() {
            let flags: Vec<String> = instruction
                .flags
                .iter()
                .map(|f| format!("--{}={}", f.name, f.value.clone().unwrap_or_default()))
                .collect();
            let text = [instruction.keyword.as_str(), &flags.join(" "), &instruction.args]
                .iter()
                .filter(|part| !part.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            let mut extra = String::new();
            let mut depends_on = Vec::new();
            match instruction.keyword.as_str() {
                "FROM" => match froms.get(&stage.index) {
                    Some(Base::Stage(index)) => depends_on.push(*index),
                    Some(Base::Image(image)) => extra = image.full_name(),
                    _ => {}
                },
                "ARG" => {
                    let name = instruction.args.split('=').next().unwrap_or_default().trim();
                    extra = build_args.get(name).cloned().unwrap_or_default();
                }
                _ => {}
            }
            if let Some(from) =
                instruction.flags.iter().find(|f| f.name == "from").and_then(|f| f.value.as_deref())
            {
                if let Some(source) = dockerfile.stage_named(from) {
                    depends_on.push(source.index);
                }
            }
            let inputs = copy_inputs.get(&(first + offset));
            records.push(StepRecord {
                stage: stage.index,
                line: instruction.line,
                key: short_key(&[&text, &flags.join(" "), &extra]),
                text,
                inputs: inputs.map(|i| kept(&i.hash)),
                files: inputs
                    .filter(|i| i.files.len() <= MAX_FILES_RECORDED)
                    .map(|i| i.files.clone()),
                depends_on,
            });
        }
    }
    records
}

/// One step as the label stores it. The long names are those of the first
/// label format (24-digit keys, full input hashes, `null`s written out), still
/// read from images built before it changed.
#[derive(Debug, Serialize, Deserialize)]
pub struct LabelStep {
    #[serde(rename = "s", alias = "stage")]
    pub stage: usize,
    #[serde(rename = "l", alias = "line")]
    pub line: usize,
    #[serde(rename = "k", alias = "key")]
    pub key: String,
    #[serde(rename = "i", alias = "inputs", default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
    #[serde(rename = "f", alias = "files", default, skip_serializing_if = "Option::is_none")]
    pub files: Option<BTreeMap<String, String>>,
    #[serde(rename = "d", alias = "deps", default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<usize>,
}

/// The label value: compact JSON.
pub fn to_label(records: &[StepRecord]) -> String {
    let steps: Vec<LabelStep> = records
        .iter()
        .map(|r| LabelStep {
            stage: r.stage,
            line: r.line,
            key: r.key.clone(),
            inputs: r.inputs.clone(),
            files: r.files.clone(),
            depends_on: r.depends_on.clone(),
        })
        .collect();
    serde_json::to_string(&steps).unwrap_or_default()
}

/// Parses a label written by [`to_label`] (or by the first format); anything
/// else gives `None`.
pub fn from_label(label: &str) -> Option<Vec<StepRecord>> {
    let steps: Vec<LabelStep> = serde_json::from_str(label).ok()?;
    let records = steps.into_iter().map(|step| StepRecord {
        stage: step.stage,
        line: step.line,
        text: String::new(),
        key: kept(&step.key),
        inputs: step.inputs.as_deref().map(kept),
        files: step.files,
        depends_on: step.depends_on,
    });
    Some(records.collect())
}

/// Why a step must be rebuilt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Its text, flags, base or ARG value changed (or it is new).
    Instruction,
    /// The files it copies changed: added, removed or modified paths.
    Files { changed: Vec<String> },
    /// The files changed but no per-file detail was recorded.
    FilesUnlisted,
    /// A stage it reads from was rebuilt.
    Stage(usize),
}

/// The first invalidated step of one stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalidation {
    pub stage: usize,
    pub step: usize,
    pub line: usize,
    pub text: String,
    pub cause: Cause,
}

fn changed_files(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<String> {
    let mut changed: Vec<String> = new
        .iter()
        .filter(|(path, hash)| old.get(*path) != Some(hash))
        .map(|(path, _)| path.clone())
        .collect();
    changed.extend(old.keys().filter(|path| !new.contains_key(*path)).cloned());
    changed.sort();
    changed
}

fn cause_of(old: Option<&StepRecord>, new: &StepRecord, rebuilt: &[usize]) -> Option<Cause> {
    let Some(old) = old.filter(|o| o.key == new.key) else { return Some(Cause::Instruction) };
    if let Some(stage) = new.depends_on.iter().find(|s| rebuilt.contains(s)) {
        return Some(Cause::Stage(*stage));
    }
    if old.inputs == new.inputs {
        return None;
    }
    Some(match (&old.files, &new.files) {
        (Some(before), Some(after)) => Cause::Files { changed: changed_files(before, after) },
        _ => Cause::FilesUnlisted,
    })
}

/// Per stage, the first step whose cache the engine cannot reuse. Steps are
/// matched by position within their stage; later steps of an invalidated stage
/// are rebuilt too, which is what the engine does.
pub fn first_invalidated(old: &[StepRecord], new: &[StepRecord]) -> Vec<Invalidation> {
    let mut rebuilt_stages: Vec<usize> = Vec::new();
    let mut result = Vec::new();
    let stages: Vec<usize> = {
        let mut s: Vec<usize> = new.iter().map(|r| r.stage).collect();
        s.dedup();
        s
    };
    for stage in stages {
        let old_steps: Vec<&StepRecord> = old.iter().filter(|r| r.stage == stage).collect();
        for (step, record) in new.iter().filter(|r| r.stage == stage).enumerate() {
            if let Some(cause) = cause_of(old_steps.get(step).copied(), record, &rebuilt_stages) {
                rebuilt_stages.push(stage);
                result.push(Invalidation {
                    stage,
                    step: step + 1,
                    line: record.line,
                    text: record.text.clone(),
                    cause,
                });
                break;
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parse;

    const SRC: &str =
        "FROM scratch AS builder\nCOPY pyproject.toml ./\nRUN deps\nCOPY src/ ./src/\n\
                       FROM scratch\nCOPY --from=builder /x /x\n";

    fn inputs(files: &[(&str, &str)]) -> CopyInputs {
        CopyInputs {
            hash: short_key(
                &files
                    .iter()
                    .map(|(p, h)| format!("{p}{h}"))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            ),
            files: files.iter().map(|(p, h)| (p.to_string(), h.to_string())).collect(),
        }
    }

    fn build(src_hash: &str) -> Vec<StepRecord> {
        let dockerfile = parse(SRC);
        let copy_inputs = BTreeMap::from([
            (1, inputs(&[("pyproject.toml", "a")])),
            (3, inputs(&[("src/x.py", src_hash)])),
        ]);
        records(&dockerfile, &BTreeMap::new(), &copy_inputs)
    }

    #[test]
    fn a_source_change_leaves_the_dependency_layer_cached() {
        let old = build("1");
        let new = build("2");
        let found = first_invalidated(&old, &new);
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].stage, found[0].step, found[0].line), (0, 4, 4));
        assert_eq!(found[0].cause, Cause::Files { changed: vec!["src/x.py".into()] });
        assert_eq!((found[1].stage, found[1].step), (1, 2));
        assert_eq!(found[1].cause, Cause::Stage(0));
    }

    #[test]
    fn nothing_changed_means_nothing_invalidated_and_labels_round_trip() {
        let old = from_label(&to_label(&build("1"))).unwrap();
        assert!(first_invalidated(&old, &build("1")).is_empty());
    }

    #[test]
    fn the_label_is_compact_and_the_first_format_is_still_read() {
        let label = to_label(&build("1"));
        assert!(!label.contains("null") && !label.contains("\"stage\""), "{label}");
        let first_format = r#"[{"deps":[],"files":null,"inputs":null,
            "key":"9d8a13de1bf6c36df9167d54","line":19,"stage":0},
            {"deps":[0],"files":{"src/x.py":"ea2d623a80df"},
            "inputs":"c117081ca006e9bdf871d2bf06ae","key":"23e9b65fe135fdb2",
            "line":24,"stage":1}]"#;
        let old = from_label(first_format).unwrap();
        assert_eq!(
            (old[0].key.as_str(), old[0].line, old[0].inputs.clone()),
            ("9d8a13de1bf6", 19, None)
        );
        assert_eq!(old[1].inputs.as_deref(), Some("c117081ca006"));
        assert_eq!(old[1].depends_on, [0]);
        assert_eq!(old[1].files.as_ref().unwrap()["src/x.py"], "ea2d623a80df");
        assert_eq!(from_label("not json"), None);
    }

    #[test]
    fn an_edited_instruction_invalidates_from_there() {
        let old = build("1");
        let dockerfile = parse(&SRC.replace("RUN deps", "RUN deps --upgrade"));
        let new = records(
            &dockerfile,
            &BTreeMap::new(),
            &BTreeMap::from([
                (1, inputs(&[("pyproject.toml", "a")])),
                (3, inputs(&[("src/x.py", "1")])),
            ]),
        );
        let found = first_invalidated(&old, &new);
        assert_eq!((found[0].step, found[0].cause.clone()), (3, Cause::Instruction));
    }
}
