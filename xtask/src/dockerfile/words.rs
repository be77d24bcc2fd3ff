//! Word-level lexing shared by the instruction parser: builder flags, shell-like
//! words with quotes and the escape character, JSON arrays and heredoc markers.

/// A word found in a text: its byte range and its value with quotes and escapes removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawWord {
    pub start: usize,
    pub end: usize,
    pub value: String,
}

/// Leading `--name[=value]` words (BuildKit's builder flags).
///
/// Returns each flag word (quotes and `\` escapes removed) with its start offset in
/// `text`, and the offset where the arguments begin. A bare `--` ends the flags.
pub(crate) fn extract_flags(text: &str) -> (Vec<(usize, String)>, usize) {
    let mut flags = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else { return (flags, text.len()) };
        if !text[start..].starts_with("--") {
            return (flags, start);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut end = text.len();
        while let Some((at, c)) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => {
                    end = at;
                    break;
                }
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    if let Some((_, next)) = chars.next() {
                        word.push(next);
                    }
                }
                (_, c) => word.push(c),
            }
        }
        if word == "--" {
            return (flags, end);
        }
        flags.push((start, word));
    }
}

/// Splits `text` into shell-like words: whitespace separates, single quotes are
/// literal, double quotes allow `escape` before `"`, `$` and itself, and outside
/// quotes `escape` takes the next character literally.
pub(crate) fn split_words(text: &str, escape: char) -> Vec<RawWord> {
    let mut words = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else { return words };
        let mut value = String::new();
        let mut end = text.len();
        while let Some(&(at, c)) = chars.peek() {
            if c.is_whitespace() {
                end = at;
                break;
            }
            chars.next();
            unquote_char(c, &mut chars, escape, &mut value);
        }
        words.push(RawWord { start, end, value });
    }
}

/// Appends what `c` (already taken from `chars`) stands for: the body of a
/// single- or double-quoted run it opens, the character an escape protects, or
/// itself.
fn unquote_char(
    c: char,
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    escape: char,
    value: &mut String,
) {
    if c == '\'' {
        for (_, c) in chars.by_ref() {
            if c == '\'' {
                break;
            }
            value.push(c);
        }
    } else if c == '"' {
        double_quoted(chars, escape, value);
    } else if c == escape {
        if let Some((_, next)) = chars.next() {
            value.push(next);
        }
    } else {
        value.push(c);
    }
}

fn double_quoted(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    escape: char,
    value: &mut String,
) {
    while let Some((_, c)) = chars.next() {
        if c == '"' {
            return;
        }
        if c == escape {
            match chars.next_if(|&(_, n)| n == '"' || n == '$' || n == escape) {
                Some((_, n)) => value.push(n),
                None => value.push(c),
            }
        } else {
            value.push(c);
        }
    }
}

/// Removes quotes and escapes from one word (no splitting on whitespace).
pub(crate) fn unquote(text: &str, escape: char) -> String {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        unquote_char(c, &mut chars, escape, &mut value);
    }
    value
}

/// The outcome of reading arguments as a JSON array.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonForm {
    /// A JSON array of strings: the exec form.
    Strings(Vec<String>),
    /// Valid JSON array with a non-string element: the engine rejects it.
    NotStrings,
    /// Not a JSON array: the shell form.
    Shell,
}

pub(crate) fn json_form(args: &str) -> JsonForm {
    let trimmed = args.trim_start();
    if !trimmed.starts_with('[') {
        return JsonForm::Shell;
    }
    match serde_json::from_str::<serde_json::Value>(trimmed) {
        Ok(serde_json::Value::Array(items)) => {
            let strings: Option<Vec<String>> =
                items.iter().map(|v| v.as_str().map(str::to_string)).collect();
            strings.map_or(JsonForm::NotStrings, JsonForm::Strings)
        }
        _ => JsonForm::Shell,
    }
}

/// A heredoc marker word (`<<EOF`, `<<-EOF`, `2<<'EOF'`) as BuildKit reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Marker {
    pub name: String,
    pub expand: bool,
    pub strip_tabs: bool,
    pub fd: Option<u32>,
}

/// Reads a raw word (quotes kept) as a heredoc marker.
pub(crate) fn heredoc_marker(raw: &str) -> Option<Marker> {
    let digits = raw.len() - raw.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let rest = raw[digits..].strip_prefix("<<")?;
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let name = unquote(rest, '\\');
    if name.is_empty() {
        return None;
    }
    let fd = if digits == 0 { None } else { raw[..digits].parse().ok() };
    Some(Marker { expand: name == rest, name, strip_tabs, fd })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_stop_at_the_first_plain_word() {
        let (flags, rest) = extract_flags(" --from=builder --chown=\"a b\" src dst");
        assert_eq!(flags, vec![(1, "--from=builder".to_string()), (16, "--chown=a b".to_string())]);
        assert_eq!(rest, 30);
        let (flags, rest) = extract_flags("-- --x y");
        assert!(flags.is_empty());
        assert_eq!(rest, 2);
    }

    #[test]
    fn words_follow_shell_quoting() {
        let values: Vec<String> = split_words(r#"a "b c" 'd\e' f\ g "h\"i""#, '\\')
            .into_iter()
            .map(|w| w.value)
            .collect();
        assert_eq!(values, vec!["a", "b c", r"d\e", "f g", "h\"i"]);
        let values: Vec<String> =
            split_words(r"C:\dir a` b", '`').into_iter().map(|w| w.value).collect();
        assert_eq!(values, vec![r"C:\dir", "a b"]);
    }

    #[test]
    fn json_form_needs_an_array_of_strings() {
        assert_eq!(json_form(r#"["a", "b"]"#), JsonForm::Strings(vec!["a".into(), "b".into()]));
        assert_eq!(json_form(r#"["a", 1]"#), JsonForm::NotStrings);
        assert_eq!(json_form("[a, b]"), JsonForm::Shell);
        assert_eq!(json_form("echo [1]"), JsonForm::Shell);
    }

    #[test]
    fn heredoc_markers() {
        let m = heredoc_marker("<<-'EOT'").unwrap();
        assert_eq!((m.name.as_str(), m.expand, m.strip_tabs, m.fd), ("EOT", false, true, None));
        let m = heredoc_marker("3<<EOF").unwrap();
        assert_eq!((m.name.as_str(), m.expand, m.fd), ("EOF", true, Some(3)));
        assert_eq!(heredoc_marker("<<<here"), None);
        assert_eq!(heredoc_marker("cat<<EOF"), None);
        assert_eq!(heredoc_marker("<<"), None);
    }
}
