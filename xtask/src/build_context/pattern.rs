//! One `.dockerignore` pattern, matched the way the engine's pattern matcher does it.
//!
//! The engine translates each pattern into a regular expression, except for three shapes it
//! answers with plain string tests: no wildcard at all (exact), a trailing `**` after a
//! wildcard-free prefix (`prefix/**` is "starts with `prefix/`"), and a leading `**` followed
//! by no other wildcard (`**/name` is "ends with `/name` or equals `name`", `**.md` is "ends
//! with `.md`"). Those shortcuts are not always what the regular expression would say, so
//! they are reproduced as such. In the regular-expression form:
//! - `*` is any run of characters other than `/`; `?` is one character other than `/`;
//! - `**` is any number of whole directories (`(.*/)?`); a final `**` is anything (`.*`);
//! - `[...]` is a character class whose negation `[^...]` also matches `/`;
//! - `\x` is the literal `x`;
//! - `.` inside `**` does not match a newline, as in the engine.
//!
//! Shapes the engine turns into a different regular expression than its syntax suggests
//! (`*` or `?` inside brackets, POSIX classes, escaped letters or digits, which are regex
//! escapes there) are rejected with an error instead of being guessed.

use super::glob::{class_matches, go_clean, parse_class, GlobToken, GoGlob, Memo};

/// A compiled pattern element of the regular-expression form.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `[^/]`
    NotSlash,
    /// `[^/]*`
    NotSlashRun,
    /// `.*` (a final `**` after other wildcards)
    AnyRun,
    /// `(.*/)?`
    AnyDirs,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Exact,
    Prefix(String),
    Suffix(String),
    Regex(Vec<Token>),
}

/// One parsed ignore pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The cleaned pattern without its `!`.
    text: String,
    exclusion: bool,
    kind: Kind,
    /// Number of `/`-separated elements in `text`.
    depth: usize,
}

impl Pattern {
    /// Parses a pattern as the engine's matcher receives it: whitespace trimmed, cleaned,
    /// a leading `!` marks an exception. Empty input is `Ok(None)`.
    pub fn parse(raw: &str) -> Result<Option<Pattern>, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let cleaned = go_clean(trimmed);
        let (exclusion, text) = match cleaned.strip_prefix('!') {
            Some("") => return Err("illegal exclusion pattern: \"!\"".to_owned()),
            Some(rest) => (true, rest.to_owned()),
            None => (false, cleaned),
        };
        GoGlob::parse(&text).map_err(|e| e.to_string())?;
        let kind = compile(&text)?;
        let depth = text.split('/').count();
        Ok(Some(Pattern { text, exclusion, kind, depth }))
    }

    /// The cleaned pattern text, without `!`.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether this is a `!` exception.
    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    /// Number of path elements in the pattern.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// Whether the pattern matches exactly this `/`-separated path (no parent logic).
    pub fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.text,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Kind::Regex(tokens) => {
                let text: Vec<char> = path.chars().collect();
                let mut memo = Memo::new(tokens.len(), text.len());
                regex_match(tokens, &text, 0, 0, &mut memo)
            }
        }
    }
}

/// Translates the cleaned pattern the way the engine builds its regular expression.
fn compile(text: &str) -> Result<Kind, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut regex = false;
    let mut suffix = false;
    let mut prefix = false;
    let mut pos = 0;
    let mut step = 0;
    while pos < chars.len() {
        let ch = chars[pos];
        pos += 1;
        match ch {
            '*' if chars.get(pos) == Some(&'*') => {
                pos += 1;
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                if pos == chars.len() {
                    if regex || suffix || prefix {
                        tokens.push(Token::AnyRun);
                        regex = true;
                    } else {
                        prefix = true;
                    }
                } else {
                    tokens.push(Token::AnyDirs);
                    regex = true;
                }
                if step == 0 {
                    (suffix, regex, prefix) = (true, false, false);
                }
            }
            '*' => (tokens.push(Token::NotSlashRun), regex = true).1,
            '?' => (tokens.push(Token::NotSlash), regex = true).1,
            '\\' => {
                // Validation guarantees a character follows.
                let next = chars[pos];
                pos += 1;
                tokens.push(Token::Literal(escaped(next, text)?));
                regex = true;
            }
            '[' => {
                pos = compile_class(&chars, pos, text, &mut tokens)?;
                regex = true;
            }
            // A stray `]` is literal, but it still switches the engine to its regex form.
            ']' => (tokens.push(Token::Literal(']')), regex = true).1,
            other => tokens.push(Token::Literal(other)),
        }
        step += 1;
    }
    Ok(if regex {
        Kind::Regex(tokens)
    } else if suffix {
        Kind::Suffix(text[2..].to_owned())
    } else if prefix {
        Kind::Prefix(text[..text.len() - 2].to_owned())
    } else {
        Kind::Exact
    })
}

/// An escaped character; letters, digits and non-ASCII mean something else to the engine.
fn escaped(ch: char, pattern: &str) -> Result<char, String> {
    if ch.is_ascii() && !ch.is_ascii_alphanumeric() {
        Ok(ch)
    } else {
        Err(format!("unsupported escape \\{ch} in pattern {pattern:?}"))
    }
}

fn compile_class(
    chars: &[char],
    start: usize,
    pattern: &str,
    tokens: &mut Vec<Token>,
) -> Result<usize, String> {
    let unsupported = || format!("unsupported character class in pattern {pattern:?}");
    // The class is already known to be well formed; find where it ends, escapes included.
    let (parsed, end) = parse_class(chars, start).map_err(|_| unsupported())?;
    let body = &chars[start..end - 1];
    let mut index = 0;
    while index < body.len() {
        match body[index] {
            '\\' => {
                escaped(*body.get(index + 1).ok_or_else(unsupported)?, pattern)?;
                index += 1;
            }
            '*' | '?' => return Err(unsupported()),
            '[' if body.get(index + 1) == Some(&':') => return Err(unsupported()),
            _ => {}
        }
        index += 1;
    }
    let GlobToken::Class { negated, ranges } = parsed else { return Err(unsupported()) };
    if ranges.iter().any(|(lo, hi)| lo > hi) {
        return Err(format!("invalid character class range in pattern {pattern:?}"));
    }
    tokens.push(Token::Class { negated, ranges });
    Ok(end)
}

fn regex_match(tokens: &[Token], text: &[char], t: usize, at: usize, memo: &mut Memo) -> bool {
    if memo.seen(t, at) {
        return false;
    }
    let Some(token) = tokens.get(t) else { return at == text.len() };
    let single = |ok: bool, memo: &mut Memo| ok && regex_match(tokens, text, t + 1, at + 1, memo);
    match token {
        Token::Literal(c) => single(at < text.len() && text[at] == *c, memo),
        Token::NotSlash => single(at < text.len() && text[at] != '/', memo),
        Token::Class { negated, ranges } => {
            single(at < text.len() && class_matches(*negated, ranges, text[at]), memo)
        }
        Token::NotSlashRun | Token::AnyRun => {
            let stop = |c: char| if *token == Token::AnyRun { c == '\n' } else { c == '/' };
            let mut end = at;
            loop {
                if regex_match(tokens, text, t + 1, end, memo) {
                    return true;
                }
                if end == text.len() || stop(text[end]) {
                    return false;
                }
                end += 1;
            }
        }
        Token::AnyDirs => {
            if regex_match(tokens, text, t + 1, at, memo) {
                return true;
            }
            let mut end = at;
            while end < text.len() && text[end] != '\n' {
                if text[end] == '/' && regex_match(tokens, text, t + 1, end + 1, memo) {
                    return true;
                }
                end += 1;
            }
            false
        }
    }
}
