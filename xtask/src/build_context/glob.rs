//! Go's `path/filepath` `Match` and `Clean` on `/`-separated paths, as the engine uses them.
//!
//! `Match` decides which context paths a wildcard `COPY`/`ADD` source names (the classic
//! builder matches the whole relative path, so `*` never crosses a `/`), and it is the syntax
//! check every `.dockerignore` pattern must pass. `Clean` normalises ignore patterns.

use std::fmt;

/// A pattern that Go's `filepath.Match` rejects with `ErrBadPattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPattern {
    pub pattern: String,
    pub reason: &'static str,
}

impl fmt::Display for BadPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid pattern {:?}: {}", self.pattern, self.reason)
    }
}

impl std::error::Error for BadPattern {}

/// One element of a parsed `filepath.Match` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GlobToken {
    /// A literal character (escapes already resolved).
    Literal(char),
    /// `?`: any single character except `/`.
    AnyChar,
    /// `*`: any run of characters without `/`.
    Star,
    /// `[...]`: inclusive ranges, possibly negated. Unlike `?`, a class can match `/`.
    Class { negated: bool, ranges: Vec<(char, char)> },
}

/// A validated `filepath.Match` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoGlob {
    tokens: Vec<GlobToken>,
}

impl GoGlob {
    /// Parses `pattern` with Go's rules; the whole pattern is validated up front, as
    /// `filepath.Match` does before it answers "no match".
    pub fn parse(pattern: &str) -> Result<GoGlob, BadPattern> {
        let bad = |reason| BadPattern { pattern: pattern.to_owned(), reason };
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut pos = 0;
        while pos < chars.len() {
            let ch = chars[pos];
            pos += 1;
            match ch {
                '*' => tokens.push(GlobToken::Star),
                '?' => tokens.push(GlobToken::AnyChar),
                '\\' => {
                    let escaped = *chars.get(pos).ok_or_else(|| bad("trailing backslash"))?;
                    pos += 1;
                    tokens.push(GlobToken::Literal(escaped));
                }
                '[' => {
                    let (class, next) = parse_class(&chars, pos).map_err(bad)?;
                    tokens.push(class);
                    pos = next;
                }
                other => tokens.push(GlobToken::Literal(other)),
            }
        }
        Ok(GoGlob { tokens })
    }

    /// Matches the whole of `name`.
    pub fn matches(&self, name: &str) -> bool {
        let text: Vec<char> = name.chars().collect();
        let mut memo = Memo::new(self.tokens.len(), text.len());
        match_from(&self.tokens, &text, 0, 0, &mut memo)
    }
}

/// Parses a class body starting after `[`; returns the token and the index after `]`.
pub(crate) fn parse_class(
    chars: &[char],
    mut pos: usize,
) -> Result<(GlobToken, usize), &'static str> {
    let mut negated = false;
    if chars.get(pos) == Some(&'^') {
        negated = true;
        pos += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(pos) == Some(&']') && !ranges.is_empty() {
            return Ok((GlobToken::Class { negated, ranges }, pos + 1));
        }
        let (lo, next) = class_char(chars, pos)?;
        pos = next;
        let mut hi = lo;
        if chars.get(pos) == Some(&'-') {
            let (upper, next) = class_char(chars, pos + 1)?;
            hi = upper;
            pos = next;
        }
        ranges.push((lo, hi));
    }
}

/// One possibly escaped character inside a class (Go's `getEsc`); something must follow it.
fn class_char(chars: &[char], mut pos: usize) -> Result<(char, usize), &'static str> {
    match chars.get(pos) {
        None => return Err("unterminated character class"),
        Some('-') | Some(']') => return Err("misplaced '-' or ']' in character class"),
        Some('\\') => pos += 1,
        Some(_) => {}
    }
    let ch = *chars.get(pos).ok_or("unterminated character class")?;
    if pos + 1 >= chars.len() {
        return Err("unterminated character class");
    }
    Ok((ch, pos + 1))
}

/// Visited (token, text) states, so that backtracking stays polynomial.
pub(crate) struct Memo {
    width: usize,
    failed: Vec<bool>,
}

impl Memo {
    pub(crate) fn new(tokens: usize, text: usize) -> Memo {
        Memo { width: text + 1, failed: vec![false; (tokens + 1) * (text + 1)] }
    }

    pub(crate) fn seen(&mut self, token: usize, at: usize) -> bool {
        let slot = &mut self.failed[token * self.width + at];
        std::mem::replace(slot, true)
    }
}

fn match_from(tokens: &[GlobToken], text: &[char], t: usize, at: usize, memo: &mut Memo) -> bool {
    if memo.seen(t, at) {
        return false;
    }
    let Some(token) = tokens.get(t) else { return at == text.len() };
    match token {
        GlobToken::Star => {
            let mut end = at;
            loop {
                if match_from(tokens, text, t + 1, end, memo) {
                    return true;
                }
                if end == text.len() || text[end] == '/' {
                    return false;
                }
                end += 1;
            }
        }
        GlobToken::AnyChar => {
            at < text.len() && text[at] != '/' && match_from(tokens, text, t + 1, at + 1, memo)
        }
        GlobToken::Literal(c) => {
            at < text.len() && text[at] == *c && match_from(tokens, text, t + 1, at + 1, memo)
        }
        GlobToken::Class { negated, ranges } => {
            at < text.len()
                && class_matches(*negated, ranges, text[at])
                && match_from(tokens, text, t + 1, at + 1, memo)
        }
    }
}

pub(crate) fn class_matches(negated: bool, ranges: &[(char, char)], ch: char) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= ch && ch <= hi) != negated
}

/// Go's `filepath.Clean` for `/`-separated paths: collapses `//`, drops `.` elements,
/// resolves `..` where it can, removes a trailing `/`; an empty result is `.`.
pub fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        GoGlob::parse(pattern).unwrap().matches(name)
    }

    #[test]
    fn star_and_question_stay_inside_one_element() {
        let cases = [
            ("*.py", "a.py", true),
            ("*.py", "src/a.py", false),
            ("src/*.py", "src/a.py", true),
            ("src/*", "src/pkg/a.py", false),
            ("*/*", "src/pkg", true),
            ("?.txt", "a.txt", true),
            ("?.txt", "ab.txt", false),
            ("a?b", "a/b", false),
            ("*", "", true),
            ("a*", "a", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(matches(pattern, name), expected, "{pattern} vs {name}");
        }
    }

    #[test]
    fn classes_escapes_and_their_quirks() {
        let cases = [
            ("[a-c].txt", "b.txt", true),
            ("[a-c].txt", "d.txt", false),
            ("[^a-c].txt", "d.txt", true),
            ("[^a-c].txt", "a.txt", false),
            ("[!a].txt", "!.txt", true),
            ("a[/]b", "a/b", true),
            ("a[^x]b", "a/b", true),
            ("\\*.txt", "*.txt", true),
            ("\\*.txt", "a.txt", false),
            ("[\\]]", "]", true),
            ("[a-]x", "ax", false),
        ];
        for (pattern, name, expected) in cases {
            let got = GoGlob::parse(pattern).map(|g| g.matches(name)).unwrap_or(false);
            assert_eq!(got, expected, "{pattern} vs {name}");
        }
    }

    #[test]
    fn malformed_patterns_are_rejected() {
        for pattern in ["[", "[]", "[]a]", "[a-]", "[^]", "a\\", "[a", "[a-b", "[-a]", "x[\\"] {
            assert!(GoGlob::parse(pattern).is_err(), "{pattern} should be rejected");
        }
    }

    #[test]
    fn clean_follows_go() {
        let cases = [
            ("", "."),
            (".", "."),
            ("./a", "a"),
            ("a//b", "a/b"),
            ("a/b/", "a/b"),
            ("/a/../b", "/b"),
            ("/..", "/"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("a/./b/.", "a/b"),
            ("/", "/"),
            ("!a/../b", "b"),
            ("!foo/", "!foo"),
        ];
        for (input, expected) in cases {
            assert_eq!(go_clean(input), expected, "clean({input:?})");
        }
    }
}
