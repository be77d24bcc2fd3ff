//! Build stages and `FROM` resolution: global `ARG`s, build-arg overrides, and
//! what each base is (an earlier stage, `scratch`, or an external image).

use std::collections::BTreeMap;

use super::expand::expand;
use super::image_ref::ImageRef;
use super::instruction::Instruction;
use super::{Dockerfile, ErrorKind, ParseError, Position};

/// ARGs the engine defines in the global scope without a declaration.
const AUTOMATIC_ARGS: &[&str] = &[
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// One build stage, opened by a `FROM`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    /// 0-based, in file order (what `COPY --from=0` refers to).
    pub index: usize,
    /// The `AS` name, lowercased.
    pub name: Option<String>,
    /// The base as written (variables not expanded), e.g. `python:${TAG}`.
    pub base: String,
    /// The `--platform=` value, if any.
    pub platform: Option<String>,
    /// The `FROM` line.
    pub line: usize,
    /// Index of the `FROM` in [`Dockerfile::instructions`].
    pub instruction_index: usize,
    /// One past the stage's last instruction in [`Dockerfile::instructions`].
    pub end_index: usize,
}

/// What a `FROM` builds on, after variable substitution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// An earlier stage, by index.
    Stage(usize),
    /// The empty image.
    Scratch,
    /// An image pulled from a registry (or found locally).
    Image(ImageRef),
    /// The engine would reject it; the message says why.
    Invalid(String),
}

/// A variable a `FROM` referenced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgUse {
    pub name: String,
    /// The value used, `None` when it had none.
    pub value: Option<String>,
    /// The line of the global `ARG` that declared it (none for automatic platform ARGs).
    pub line: Option<usize>,
    /// Whether a build-arg override supplied the value.
    pub overridden: bool,
}

/// A `FROM` after substitution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedFrom {
    pub stage_index: usize,
    pub line: usize,
    /// The base as written.
    pub raw: String,
    /// The base after substitution (empty when substitution failed).
    pub resolved: String,
    pub base: Base,
    /// The variables the base referenced, in order.
    pub args: Vec<ArgUse>,
}

/// Collects stages and reports malformed `FROM` lines and duplicate stage names.
pub(crate) fn collect_stages(
    instructions: &[Instruction],
    errors: &mut Vec<ParseError>,
) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (index, instruction) in instructions.iter().enumerate() {
        if instruction.keyword != "FROM" {
            let before_first = stages.is_empty() && instruction.keyword != "ARG";
            let known = !matches!(instruction.keyword.as_str(), "ARG" | "FROM");
            if before_first
                && known
                && super::instruction::KEYWORDS.contains(&instruction.keyword.as_str())
            {
                let at = Position { line: instruction.line, column: instruction.column };
                let message = format!("{} before the first FROM", instruction.keyword);
                errors.push(ParseError::new(at, ErrorKind::InstructionBeforeFrom, message));
            }
            continue;
        }
        if let Some(last) = stages.last_mut() {
            last.end_index = index;
        }
        let name = stage_name(instruction, errors);
        if let Some(name) = &name {
            if !names.insert(name.clone()) {
                let at = Position { line: instruction.line, column: instruction.column };
                let message = format!("duplicate stage name {name:?}");
                errors.push(ParseError::new(at, ErrorKind::DuplicateStageName, message));
            }
        }
        stages.push(Stage {
            index: stages.len(),
            name,
            base: instruction.words().first().map(|w| w.raw.clone()).unwrap_or_default(),
            platform: instruction.flag("platform").and_then(|f| f.value.clone()),
            line: instruction.line,
            instruction_index: index,
            end_index: instructions.len(),
        });
    }
    if stages.is_empty() {
        let at = instructions.first().map_or(Position { line: 1, column: 1 }, |i| Position {
            line: i.line,
            column: i.column,
        });
        errors.push(ParseError::new(at, ErrorKind::Syntax, "the Dockerfile has no FROM"));
    }
    stages
}

fn stage_name(instruction: &Instruction, errors: &mut Vec<ParseError>) -> Option<String> {
    let at = Position { line: instruction.line, column: instruction.column };
    let words = &instruction.words();
    match words.len() {
        0 | 1 => None,
        3 if words[1].value.eq_ignore_ascii_case("as") => {
            let name = words[2].value.to_ascii_lowercase();
            let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                let message = format!(
                    "invalid stage name {:?}: start with a letter, then letters, digits, - _ .",
                    words[2].value
                );
                errors.push(ParseError::new(words[2].position, ErrorKind::InvalidFrom, message));
            }
            Some(name)
        }
        _ => {
            let message = "FROM takes an image and an optional AS name";
            errors.push(ParseError::new(at, ErrorKind::InvalidFrom, message));
            None
        }
    }
}

/// The global scope of `FROM` lines: each declared name with its value and line.
pub(crate) fn global_scope(
    dockerfile: &Dockerfile,
    build_args: &BTreeMap<String, String>,
) -> BTreeMap<String, ArgUse> {
    let mut scope: BTreeMap<String, ArgUse> = BTreeMap::new();
    for name in AUTOMATIC_ARGS {
        let value = build_args.get(*name).cloned();
        let overridden = value.is_some();
        scope.insert(
            name.to_string(),
            ArgUse { name: name.to_string(), value, line: None, overridden },
        );
    }
    let escape = dockerfile.directives.escape;
    for instruction in dockerfile.global_args().iter().filter(|i| i.keyword == "ARG") {
        for (name, default, _) in instruction.key_values() {
            let (value, overridden) = match build_args.get(&name) {
                Some(value) => (Some(value.clone()), true),
                None => {
                    let lookup = |n: &str| scope.get(n).and_then(|a| a.value.clone());
                    let expanded =
                        default.map(|d| expand(&d, escape, &lookup).map(|e| e.value).unwrap_or(d));
                    (expanded, false)
                }
            };
            let line = Some(instruction.line);
            scope.insert(name.clone(), ArgUse { name, value, line, overridden });
        }
    }
    scope
}

pub(crate) fn resolve_froms(
    dockerfile: &Dockerfile,
    build_args: &BTreeMap<String, String>,
) -> Vec<ResolvedFrom> {
    let first_named = first_named(&dockerfile.stages);
    let scope = global_scope(dockerfile, build_args);
    let lookup = |name: &str| scope.get(name).and_then(|a| a.value.clone());
    let escape = dockerfile.directives.escape;
    dockerfile
        .stages
        .iter()
        .map(|stage| {
            let expansion = expand(&stage.base, escape, &lookup);
            let (resolved, used, unset) = match &expansion {
                Ok(e) => (e.value.clone(), e.used.clone(), e.unset.clone()),
                Err(_) => (String::new(), Vec::new(), Vec::new()),
            };
            let args = used
                .iter()
                .map(|name| match scope.get(name) {
                    Some(known) => known.clone(),
                    None => {
                        ArgUse { name: name.clone(), value: None, line: None, overridden: false }
                    }
                })
                .collect();
            let base = match expansion {
                Err(message) => {
                    Base::Invalid(format!("cannot substitute {}: {message}", stage.base))
                }
                Ok(_) => classify(&first_named, stage, &resolved, &unset),
            };
            ResolvedFrom {
                stage_index: stage.index,
                line: stage.line,
                raw: stage.base.clone(),
                resolved,
                base,
                args,
            }
        })
        .collect()
}

/// Each stage name with the index of the first stage that carries it.
fn first_named(stages: &[Stage]) -> std::collections::HashMap<&str, usize> {
    let mut map = std::collections::HashMap::new();
    for stage in stages {
        if let Some(name) = stage.name.as_deref() {
            map.entry(name).or_insert(stage.index);
        }
    }
    map
}

fn classify(
    first_named: &std::collections::HashMap<&str, usize>,
    stage: &Stage,
    resolved: &str,
    unset: &[String],
) -> Base {
    let unset_note = match unset {
        [] => String::new(),
        names => format!(
            " ({} without a value: give the ARG a default before the first FROM \
             or pass --build-arg {}=...)",
            names.join(", "),
            names[0]
        ),
    };
    if resolved.is_empty() {
        return Base::Invalid(format!("base image {} is empty{unset_note}", stage.base));
    }
    let lower = resolved.to_ascii_lowercase();
    if let Some(&earlier) = first_named.get(lower.as_str()).filter(|&&i| i < stage.index) {
        return Base::Stage(earlier);
    }
    if lower == "scratch" {
        return Base::Scratch;
    }
    match ImageRef::parse(resolved) {
        Ok(image) => Base::Image(image),
        Err(message) => Base::Invalid(format!("{resolved}: {message}{unset_note}")),
    }
}
