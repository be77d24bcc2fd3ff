//! Variable substitution as the engine does it for `FROM` and other instructions:
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`,
//! `${VAR+alt}`, `${VAR:?message}`, `${VAR?message}`, quotes and the escape character.

use std::iter::Peekable;
use std::str::Chars;

/// Nesting depth of `${A:-${B:-...}}` beyond which expansion gives up (bounds recursion).
const MAX_DEPTH: usize = 16;

/// The result of [`expand`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The expanded text, quotes removed.
    pub value: String,
    /// Every variable referenced, in order of appearance (repeats removed).
    pub used: Vec<String>,
    /// The referenced variables that had no value (not declared or declared without one).
    pub unset: Vec<String>,
}

/// Expands variables in `text`; `lookup` gives a variable's value (`None` if unset).
///
/// Errors on `${` without `}`, on `${VAR?message}` with `VAR` unset and on the
/// modifiers this substitution does not support (`#`, `%`, `/`).
pub fn expand(
    text: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Expansion, String> {
    let mut expander = Expander { escape, lookup, out: Expansion::default() };
    let value = expander.run(text, 0)?;
    expander.out.value = value;
    Ok(expander.out)
}

struct Expander<'a> {
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    out: Expansion,
}

impl Expander<'_> {
    fn run(&mut self, text: &str, depth: usize) -> Result<String, String> {
        if depth > MAX_DEPTH {
            return Err("variable substitution nested too deeply".to_string());
        }
        let mut value = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' => value.extend(chars.by_ref().take_while(|&c| c != '\'')),
                '"' => self.double_quoted(&mut chars, &mut value, depth)?,
                '$' => self.dollar(&mut chars, &mut value, depth)?,
                c if c == self.escape => value.extend(chars.next()),
                c => value.push(c),
            }
        }
        Ok(value)
    }

    fn double_quoted(
        &mut self,
        chars: &mut Peekable<Chars<'_>>,
        value: &mut String,
        depth: usize,
    ) -> Result<(), String> {
        while let Some(c) = chars.next() {
            match c {
                '"' => return Ok(()),
                '$' => self.dollar(chars, value, depth)?,
                c if c == self.escape => {
                    let escape = self.escape;
                    match chars.next_if(|&n| n == '"' || n == '$' || n == escape) {
                        Some(n) => value.push(n),
                        None => value.push(c),
                    }
                }
                c => value.push(c),
            }
        }
        Ok(())
    }

    fn variable(&mut self, name: &str) -> Option<String> {
        if !self.out.used.iter().any(|u| u == name) {
            self.out.used.push(name.to_string());
        }
        let found = (self.lookup)(name);
        if found.is_none() && !self.out.unset.iter().any(|u| u == name) {
            self.out.unset.push(name.to_string());
        }
        found
    }

    fn dollar(
        &mut self,
        chars: &mut Peekable<Chars<'_>>,
        value: &mut String,
        depth: usize,
    ) -> Result<(), String> {
        if chars.next_if_eq(&'{').is_some() {
            return self.braced(chars, value, depth);
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|&c| c == '_' || c.is_ascii_alphanumeric()) {
            name.push(c);
        }
        if name.is_empty() {
            value.push('$');
        } else {
            value.push_str(&self.variable(&name).unwrap_or_default());
        }
        Ok(())
    }

    fn braced(
        &mut self,
        chars: &mut Peekable<Chars<'_>>,
        value: &mut String,
        depth: usize,
    ) -> Result<(), String> {
        let mut name = String::new();
        while let Some(c) = chars.next_if(|&c| c == '_' || c.is_ascii_alphanumeric()) {
            name.push(c);
        }
        if name.is_empty() {
            return Err("bad substitution: missing variable name after ${".to_string());
        }
        let colon = chars.next_if_eq(&':').is_some();
        let Some(operator) = chars.next() else {
            return Err(format!("missing '}}' in ${{{name}"));
        };
        if operator == '}' && !colon {
            value.push_str(&self.variable(&name).unwrap_or_default());
            return Ok(());
        }
        let word = braced_word(chars).ok_or_else(|| format!("missing '}}' in ${{{name}"))?;
        let current = self.variable(&name);
        let is_set = if colon {
            current.as_deref().is_some_and(|v| !v.is_empty())
        } else {
            current.is_some()
        };
        match operator {
            '-' if is_set => value.push_str(&current.unwrap_or_default()),
            '-' => value.push_str(&self.run(&word, depth + 1)?),
            '+' if is_set => value.push_str(&self.run(&word, depth + 1)?),
            '+' => {}
            '?' if is_set => value.push_str(&current.unwrap_or_default()),
            '?' => return Err(format!("{name}: {}", self.run(&word, depth + 1)?)),
            other => return Err(format!("unsupported modifier '{other}' in ${{{name}...}}")),
        }
        Ok(())
    }
}

/// The text up to the `}` closing the current `${`, nested braces included.
fn braced_word(chars: &mut Peekable<Chars<'_>>) -> Option<String> {
    let mut word = String::new();
    let mut open = 0usize;
    for c in chars.by_ref() {
        match c {
            '}' if open == 0 => return Some(word),
            '}' => open -= 1,
            '{' => open += 1,
            _ => {}
        }
        word.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)], text: &str) -> Result<String, String> {
        let lookup = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
        expand(text, '\\', &lookup).map(|e| e.value)
    }

    #[test]
    fn plain_and_braced_variables() {
        let vars = [("IMAGE", "python"), ("TAG", "3.12"), ("EMPTY", "")];
        assert_eq!(with(&vars, "$IMAGE:${TAG}-slim").unwrap(), "python:3.12-slim");
        assert_eq!(with(&vars, "${MISSING:-debian}").unwrap(), "debian");
        assert_eq!(with(&vars, "${EMPTY:-x}|${EMPTY-x}").unwrap(), "x|");
        assert_eq!(with(&vars, "${TAG:+set}${MISSING+no}").unwrap(), "set");
        assert_eq!(with(&vars, "${MISSING:-${IMAGE}}").unwrap(), "python");
        assert_eq!(with(&vars, r"\$IMAGE '$TAG' cost$").unwrap(), "$IMAGE $TAG cost$");
    }

    #[test]
    fn errors_are_values() {
        assert!(with(&[], "${A").is_err());
        assert!(with(&[], "${A:-x").is_err());
        assert_eq!(with(&[], "${A:?need A}"), Err("A: need A".to_string()));
        assert!(with(&[("A", "x")], "${A#x}").is_err());
        assert!(with(&[], &"${A:-".repeat(40)).is_err());
    }

    #[test]
    fn unset_names_are_reported() {
        let lookup = |name: &str| (name == "A").then(|| "1".to_string());
        let e = expand("$A$B${C:-c}", '\\', &lookup).unwrap();
        assert_eq!(e.used, vec!["A", "B", "C"]);
        assert_eq!(e.unset, vec!["B", "C"]);
    }
}
