//! One instruction: keyword, flags, arguments (as words, as raw text, as JSON),
//! heredocs and, for `ONBUILD`, the trigger instruction.

use std::sync::{Arc, OnceLock};

use super::logical::Logical;
use super::words::{self, JsonForm};
use super::{ErrorKind, ParseError, Position};

/// Every keyword the engine knows.
pub const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// The flags each keyword accepts (BuildKit's stable and labs syntax).
fn known_flags(keyword: &str) -> &'static [&'static str] {
    match keyword {
        "FROM" => &["platform"],
        "RUN" => &["mount", "network", "security", "device"],
        "COPY" => &["from", "chown", "chmod", "link", "parents", "exclude"],
        "ADD" => &["chown", "chmod", "link", "checksum", "keep-git-dir", "exclude", "unpack"],
        "HEALTHCHECK" => &["interval", "timeout", "start-period", "start-interval", "retries"],
        _ => &[],
    }
}

/// A builder flag such as `--from=builder` or `--link`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    /// The name without the leading `--`, e.g. `from`.
    pub name: String,
    /// The text after the first `=`, quotes removed; `None` for `--link`.
    pub value: Option<String>,
    pub position: Position,
}

/// One whitespace-separated argument word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The word with quotes and escape characters removed (variables not expanded).
    pub value: String,
    /// The word exactly as written.
    pub raw: String,
    /// Byte offset of the word in [`Instruction::args`].
    pub offset: usize,
    pub position: Position,
}

/// A heredoc opened by a `RUN`, `COPY` or `ADD` line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Heredoc {
    /// The delimiter, quotes removed.
    pub name: String,
    /// False when the delimiter was quoted: the body is taken literally.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body lines and the delimiter.
    pub strip_tabs: bool,
    /// The file descriptor before `<<` (`3<<EOF`), if any.
    pub fd: Option<u32>,
    /// The body lines, each followed by `\n`, exactly as written.
    pub content: String,
    /// First line of the body (the line after the instruction or the previous body).
    pub start_line: usize,
    /// The delimiter's line (the last line read when it is missing).
    pub end_line: usize,
}

/// A parsed instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instruction {
    /// Uppercased keyword, e.g. `RUN` (also for unknown keywords).
    pub keyword: String,
    /// The line of the keyword.
    pub line: usize,
    /// The last line of the instruction, its heredoc bodies included.
    pub end_line: usize,
    /// The column of the keyword.
    pub column: usize,
    pub flags: Vec<Flag>,
    /// The arguments after the keyword and flags: continuations joined, comment
    /// lines dropped, outer whitespace trimmed.
    pub args: String,
    /// Where [`Instruction::args`] starts.
    pub args_position: Position,
    /// The arguments split into shell-like words, split on first use ([`Instruction::words`]):
    /// most rules read a `RUN` through its shell script, so a long `RUN` line is not
    /// split twice.
    words: OnceLock<Vec<Word>>,
    /// `Some` when the arguments are a JSON array of strings (exec form).
    pub json: Option<Vec<String>>,
    pub heredocs: Vec<Heredoc>,
    /// The trigger of an `ONBUILD`.
    pub onbuild: Option<Box<Instruction>>,
    /// Shared with an `ONBUILD`'s trigger, so a long line is stored once.
    pub(crate) logical: Arc<Logical>,
    pub(crate) args_offset: usize,
}

impl Instruction {
    /// The position of byte `offset` of [`Instruction::args`].
    pub fn position_at(&self, offset: usize) -> Position {
        self.logical.position(self.args_offset + offset)
    }

    /// The arguments split into shell-like words (quotes removed in each value).
    pub fn words(&self) -> &[Word] {
        self.words.get_or_init(|| split_into_words(self))
    }

    /// The byte offsets in [`Instruction::args`] where a continuation line begins.
    pub fn continuation_offsets(&self) -> Vec<usize> {
        let args_end = self.args_offset + self.args.len();
        self.logical
            .segments
            .iter()
            .map(|s| s.offset)
            .filter(|&o| o > self.args_offset && o < args_end)
            .map(|o| o - self.args_offset)
            .collect()
    }

    /// The first flag with this name.
    pub fn flag(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// Whether this is the exec (JSON array) form.
    pub fn is_json(&self) -> bool {
        self.json.is_some()
    }

    /// The word values (quotes removed).
    pub fn values(&self) -> Vec<&str> {
        self.words().iter().map(|w| w.value.as_str()).collect()
    }

    /// `KEY=value` pairs of `ENV`, `LABEL` and `ARG` (an `ARG` without `=` has no
    /// value), or the legacy `ENV KEY value` form. Each with its word's position.
    pub fn key_values(&self) -> Vec<(String, Option<String>, Position)> {
        let legacy = self.keyword == "ENV"
            && self.words().first().is_some_and(|w| !w.value.contains('='))
            && self.words().len() > 1;
        if legacy {
            let first = &self.words()[0];
            let rest = self.args.get(first.offset + first.raw.len()..).unwrap_or("").trim();
            let value = words::unquote(rest, self.escape());
            return vec![(first.value.clone(), Some(value), first.position)];
        }
        self.words()
            .iter()
            .map(|w| match w.value.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string()), w.position),
                None => (w.value.clone(), None, w.position),
            })
            .collect()
    }

    fn escape(&self) -> char {
        self.logical.escape
    }
}

/// Parses the instruction of a logical line.
pub(crate) fn parse_instruction(logical: Logical, errors: &mut Vec<ParseError>) -> Instruction {
    let logical = Arc::new(logical);
    parse_at(&logical, 0, errors, false)
}

fn parse_at(
    logical: &Arc<Logical>,
    start: usize,
    errors: &mut Vec<ParseError>,
    in_onbuild: bool,
) -> Instruction {
    let text = &logical.text[start..];
    let keyword_start = start + (text.len() - text.trim_start().len());
    let keyword_len = logical.text[keyword_start..]
        .find(char::is_whitespace)
        .unwrap_or(logical.text.len() - keyword_start);
    let keyword_end = keyword_start + keyword_len;
    let keyword = logical.text[keyword_start..keyword_end].to_ascii_uppercase();
    let position = logical.position(keyword_start);
    let (flag_words, args_rel) = words::extract_flags(&logical.text[keyword_end..]);
    let flags = flag_words
        .into_iter()
        .map(|(at, word)| make_flag(word, logical.position(keyword_end + at)))
        .collect::<Vec<_>>();
    let after_flags = &logical.text[keyword_end + args_rel..];
    let args_offset = keyword_end + args_rel + (after_flags.len() - after_flags.trim_start().len());
    let args = after_flags.trim().to_string();
    let mut instruction = Instruction {
        keyword,
        line: position.line,
        end_line: logical.end_line,
        column: position.column,
        flags,
        args_position: logical.position(args_offset),
        words: OnceLock::new(),
        json: None,
        heredocs: Vec::new(),
        onbuild: None,
        args,
        logical: Arc::clone(logical),
        args_offset,
    };
    check(&mut instruction, errors, in_onbuild);
    // One level only: the engine rejects ONBUILD ONBUILD, and a bound keeps a line of
    // thousands of ONBUILD words from nesting that deep.
    if instruction.keyword == "ONBUILD" && !instruction.args.is_empty() && !in_onbuild {
        let inner = parse_at(logical, args_offset, errors, true);
        instruction.onbuild = Some(Box::new(inner));
    }
    instruction
}

fn make_flag(word: String, position: Position) -> Flag {
    let body = word.strip_prefix("--").unwrap_or(&word);
    match body.split_once('=') {
        Some((name, value)) => Flag { name: name.to_string(), value: Some(value.into()), position },
        None => Flag { name: body.to_string(), value: None, position },
    }
}

fn split_into_words(instruction: &Instruction) -> Vec<Word> {
    words::split_words(&instruction.args, instruction.escape())
        .into_iter()
        .map(|w| Word {
            raw: instruction.args[w.start..w.end].to_string(),
            value: w.value,
            offset: w.start,
            position: instruction.position_at(w.start),
        })
        .collect()
}

/// Validations the engine does at parse time, plus JSON form and heredoc markers.
fn check(instruction: &mut Instruction, errors: &mut Vec<ParseError>, in_onbuild: bool) {
    let keyword = instruction.keyword.clone();
    let at = Position { line: instruction.line, column: instruction.column };
    if !KEYWORDS.contains(&keyword.as_str()) {
        let message = format!("unknown instruction: {keyword}");
        errors.push(ParseError::new(at, ErrorKind::UnknownInstruction, message));
        return;
    }
    if in_onbuild && matches!(keyword.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
        let message = format!("{keyword} isn't allowed as an ONBUILD trigger");
        errors.push(ParseError::new(at, ErrorKind::ForbiddenOnbuildTrigger, message));
    }
    for flag in &instruction.flags {
        if !known_flags(&keyword).contains(&flag.name.as_str()) {
            let message = format!("unknown flag --{} for {keyword}", flag.name);
            errors.push(ParseError::new(flag.position, ErrorKind::UnknownFlag, message));
        }
    }
    let json_capable = matches!(
        keyword.as_str(),
        "RUN" | "CMD" | "ENTRYPOINT" | "SHELL" | "COPY" | "ADD" | "VOLUME"
    );
    if json_capable {
        match words::json_form(&instruction.args) {
            JsonForm::Strings(items) => instruction.json = Some(items),
            JsonForm::NotStrings => {
                let message = format!("{keyword}: a JSON array must contain only strings");
                errors.push(ParseError::new(at, ErrorKind::Syntax, message));
            }
            JsonForm::Shell => {}
        }
    }
    if keyword == "SHELL" && instruction.json.is_none() {
        let message = "SHELL requires its arguments as a JSON array of strings";
        errors.push(ParseError::new(at, ErrorKind::Syntax, message));
    }
    check_argument_count(instruction, errors);
    let may_open_heredocs = instruction.args.contains("<<");
    if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD")
        && instruction.json.is_none()
        && may_open_heredocs
    {
        instruction.heredocs = instruction
            .words()
            .iter()
            .filter_map(|w| words::heredoc_marker(&w.raw))
            .map(|m| Heredoc {
                name: m.name,
                expand: m.expand,
                strip_tabs: m.strip_tabs,
                fd: m.fd,
                ..Heredoc::default()
            })
            .collect();
    }
}

fn check_argument_count(instruction: &Instruction, errors: &mut Vec<ParseError>) {
    let minimum = match instruction.keyword.as_str() {
        "COPY" | "ADD" => 2,
        "CMD" | "ENTRYPOINT" | "SHELL" => 0,
        _ => 1,
    };
    // Words are split from the trimmed arguments, so there is one as soon as they are
    // not empty: only a minimum of two needs the words themselves.
    let count = match &instruction.json {
        Some(items) => items.len(),
        None if minimum > 1 => instruction.words().len(),
        None => usize::from(!instruction.args.is_empty()),
    };
    if count < minimum {
        let message = match minimum {
            1 => format!("{} requires at least one argument", instruction.keyword),
            _ => format!("{} requires at least two arguments", instruction.keyword),
        };
        let at = Position { line: instruction.line, column: instruction.column };
        errors.push(ParseError::new(at, ErrorKind::Syntax, message));
    }
}
