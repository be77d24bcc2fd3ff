//! From text to logical lines: parser directives, comments, continuations and
//! heredoc bodies, the way BuildKit's scanner walks a Dockerfile.
//!
//! Each instruction's text is assembled into a [`Logical`] line, built with the
//! escape character in force, and handed to the instruction parser.

use super::instruction::{self, Heredoc};
use super::logical::Logical;
use super::{Comment, Dockerfile, ErrorKind, ParseError, Position};

/// Splits on `\n`, drops one `\r` before it, and a leading byte-order mark.
fn physical_lines(src: &str) -> Vec<&str> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut lines: Vec<&str> = src.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    if src.ends_with('\n') || src.is_empty() {
        lines.pop();
    }
    lines
}

fn leading_whitespace(line: &str) -> (&str, usize) {
    let trimmed = line.trim_start();
    let skipped = line.len() - trimmed.len();
    (trimmed, line[..skipped].chars().count())
}

/// Removes a trailing escape character (followed only by spaces or tabs).
fn strip_continuation(text: &str, escape: char) -> (&str, bool) {
    let trimmed = text.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

/// What a top-of-file comment line means for the directives.
enum DirectiveLine {
    Directive(String, String),
    NotDirective,
}

fn directive_of(line: &str) -> DirectiveLine {
    let Some(body) = line.strip_prefix('#') else { return DirectiveLine::NotDirective };
    let body = body.trim_start();
    let key_len = body.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(body.len());
    let key = &body[..key_len];
    if key.is_empty() || !key.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return DirectiveLine::NotDirective;
    }
    let Some(value) = body[key_len..].trim_start().strip_prefix('=') else {
        return DirectiveLine::NotDirective;
    };
    let value = value.trim();
    if value.is_empty() {
        return DirectiveLine::NotDirective;
    }
    DirectiveLine::Directive(key.to_ascii_lowercase(), value.to_string())
}

/// The scanner state over the physical lines.
struct Scanner<'a> {
    lines: Vec<&'a str>,
    next: usize,
    out: Dockerfile,
    directives_done: bool,
    directives_seen: Vec<String>,
}

/// Parses the whole text into instructions, comments, directives and errors.
pub(crate) fn parse_lines(src: &str) -> Dockerfile {
    let mut scanner = Scanner {
        lines: physical_lines(src),
        next: 0,
        out: Dockerfile::default(),
        directives_done: false,
        directives_seen: Vec::new(),
    };
    while let Some(logical) = scanner.next_logical() {
        let mut parsed = instruction::parse_instruction(logical, &mut scanner.out.errors);
        scanner.read_heredocs(&mut parsed);
        scanner.out.instructions.push(parsed);
    }
    scanner.out
}

impl<'a> Scanner<'a> {
    fn take_line(&mut self) -> Option<(usize, &'a str)> {
        let line = *self.lines.get(self.next)?;
        self.next += 1;
        Some((self.next, line))
    }

    /// Handles a line while directives may still appear; true if it was one.
    fn directive(&mut self, number: usize, trimmed: &str) -> bool {
        if self.directives_done {
            return false;
        }
        let DirectiveLine::Directive(key, value) = directive_of(trimmed) else {
            self.directives_done = true;
            return false;
        };
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.directives_done = true;
            return false;
        }
        if self.directives_seen.contains(&key) {
            self.error(number, format!("only one {key} parser directive can be used"));
            return true;
        }
        let directives = &mut self.out.directives;
        match key.as_str() {
            "syntax" => directives.syntax = Some(value),
            "check" => directives.check = Some(value),
            _ => match value.as_str() {
                "\\" => directives.escape = '\\',
                "`" => directives.escape = '`',
                _ => self.error(number, format!("invalid escape {value:?}: use \\ or `")),
            },
        }
        self.directives_seen.push(key);
        true
    }

    fn error(&mut self, line: usize, message: String) {
        let position = Position { line, column: 1 };
        self.out.errors.push(ParseError::new(position, ErrorKind::Syntax, message));
    }

    fn comment(&mut self, line: usize, column: usize, trimmed: &str) {
        let text = trimmed.get(1..).unwrap_or("").trim().to_string();
        self.out.comments.push(Comment { line, column, text });
    }

    /// The next instruction's logical line, or `None` at the end of the file.
    fn next_logical(&mut self) -> Option<Logical> {
        loop {
            let (number, raw) = self.take_line()?;
            let (trimmed, indent) = leading_whitespace(raw);
            if self.directive(number, trimmed) {
                continue;
            }
            if trimmed.starts_with('#') {
                self.comment(number, indent + 1, trimmed);
                continue;
            }
            if trimmed.is_empty() {
                continue;
            }
            let escape = self.out.directives.escape;
            let mut logical = Logical::new(number, escape);
            let (piece, mut continued) = strip_continuation(trimmed, escape);
            logical.push(piece, number, indent + 1);
            while continued {
                let Some((number, raw)) = self.take_line() else { break };
                let (trimmed, indent) = leading_whitespace(raw);
                if trimmed.starts_with('#') {
                    self.comment(number, indent + 1, trimmed);
                    continue;
                }
                if trimmed.is_empty() {
                    continue;
                }
                let (piece, more) = strip_continuation(raw, escape);
                logical.push(piece, number, 1);
                continued = more;
            }
            logical.finish();
            return Some(logical);
        }
    }

    /// Reads the bodies of the heredocs the instruction (or its ONBUILD trigger) opened.
    fn read_heredocs(&mut self, parsed: &mut instruction::Instruction) {
        let target = match parsed.onbuild.as_deref_mut() {
            Some(inner) => inner,
            None => parsed,
        };
        let mut end_line = target.end_line;
        for heredoc in &mut target.heredocs {
            end_line = self.read_heredoc(heredoc, end_line);
        }
        target.end_line = end_line;
        parsed.end_line = parsed.end_line.max(end_line);
    }

    fn read_heredoc(&mut self, heredoc: &mut Heredoc, mut end_line: usize) -> usize {
        heredoc.start_line = end_line + 1;
        loop {
            let Some((number, raw)) = self.take_line() else {
                let message = format!("unterminated heredoc {}", heredoc.name);
                self.error(heredoc.start_line.saturating_sub(1).max(1), message);
                heredoc.end_line = end_line;
                return end_line;
            };
            end_line = number;
            let candidate = if heredoc.strip_tabs { raw.trim_start_matches('\t') } else { raw };
            if candidate == heredoc.name {
                heredoc.end_line = number;
                return number;
            }
            heredoc.content.push_str(raw);
            heredoc.content.push('\n');
        }
    }
}
