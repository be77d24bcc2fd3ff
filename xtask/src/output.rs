//! Everything a task prints: commands echoed to stderr (with `-v`) with paste-safe quoting,
//! notes and warnings, colours only on a terminal (never with `NO_COLOR`).
//! Stdout is reserved for results (`--format json`, `--list-context`, dry-run plans).

use std::borrow::Cow;
use std::io::Write;

use crate::context::{Context, Verbosity};

/// Quotes one word for a POSIX shell, only when it needs it.
///
/// The result pasted into `sh` yields exactly `word` back as one argument.
pub fn shell_quote(word: &str) -> Cow<'_, str> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        return Cow::Borrowed(word);
    }
    // Inside single quotes nothing is special but the quote itself: close the
    // quote, emit an escaped quote, reopen.
    Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
}

/// Renders an argv as one paste-safe shell line.
pub fn render_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter().map(|word| shell_quote(word.as_ref())).collect::<Vec<_>>().join(" ")
}

const DIM: &str = "\x1b[2m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// `text` in an ANSI `style` (one of the constants above, or `"\x1b[1m"`-like)
/// when `enabled`; the one colouring helper of the crate.
pub fn paint(enabled: bool, style: &str, text: &str) -> String {
    if enabled {
        format!("{style}{text}{RESET}")
    } else {
        text.to_string()
    }
}

/// The first 12 hex digits of a digest, an image id or a source hash, for
/// messages (`sha256:` dropped).
pub fn short_digest(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    &hex[..hex.len().min(12)]
}

/// Escapes text for XML and HTML, in element content and attribute values alike;
/// control characters XML cannot hold (all but tab, newline and return) are dropped.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn to_stderr(line: &str) {
    // A closed stderr must not turn into a panic: there is nobody to tell.
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// A progress note, unless quiet.
pub fn note(ctx: &Context, message: &str) {
    if ctx.verbosity >= Verbosity::Normal {
        to_stderr(message);
    }
}

/// Detail shown with `-v` only.
pub fn detail(ctx: &Context, message: &str) {
    if ctx.verbosity >= Verbosity::Verbose {
        to_stderr(&paint(ctx.stderr_color(), DIM, message));
    }
}

/// A warning: shown even with `-q`, because it asks the user to act.
pub fn warn(ctx: &Context, message: &str) {
    to_stderr(&format!("{} {message}", paint(ctx.stderr_color(), YELLOW, "WARNING:")));
}

/// The one-line summary a task ends with (stderr, shown unless quiet).
pub fn success(ctx: &Context, message: &str) {
    if ctx.verbosity >= Verbosity::Normal {
        to_stderr(&paint(ctx.stderr_color(), GREEN, message));
    }
}

/// Prints an error and its causes; the first line starts with `ERROR:`.
pub fn error(color: bool, error: &anyhow::Error) {
    to_stderr(&format!("{} {error}", paint(color, &format!("{BOLD}{RED}"), "ERROR:")));
    for cause in error.chain().skip(1) {
        to_stderr(&format!("  caused by: {cause}"));
    }
}

/// Whether stderr gets colour, for errors printed before a context exists.
pub fn stderr_color_from_env() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
}

/// A result line on stdout (the only thing scripts should parse, with `--format json`).
pub fn result_line(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(shell_quote("docker"), "docker");
        assert_eq!(shell_quote("--label=a.b/c:d@e%f+g,h"), "--label=a.b/c:d@e%f+g,h");
    }

    #[test]
    fn special_words_are_single_quoted() {
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("a\nb"), "'a\nb'");
        assert_eq!(shell_quote("*"), "'*'");
    }

    #[test]
    fn argv_renders_as_one_line() {
        let argv = ["docker", "run", "--name", "x y", "img", "sh", "-c", "echo 'hi'"];
        assert_eq!(render_argv(&argv), r"docker run --name 'x y' img sh -c 'echo '\''hi'\'''");
    }

    #[test]
    fn quoting_round_trips_through_a_real_shell() {
        let words = ["", "a b", "it's", "$(x)", "\\", "\"q\"", "tab\there", "ünï"];
        let line = format!("printf '%s\\0' {}", render_argv(&words));
        let out = xshell_sh(&line);
        let got: Vec<&str> = out.split('\0').collect();
        assert_eq!(&got[..words.len()], &words[..]);
    }

    // The test checks quoting against a real shell, so it runs one itself.
    #[allow(clippy::disallowed_macros)]
    fn xshell_sh(line: &str) -> String {
        let sh = xshell::Shell::new().expect("shell");
        xshell::cmd!(sh, "sh -c {line}").quiet().read().expect("sh runs")
    }
}
