//! A small reader for the POSIX shell in `RUN` instructions: enough to see which
//! commands run, with which arguments, chained how, and piped where.
//!
//! It is not a shell parser: command substitutions and subshells stay inside the
//! words they appear in, and control keywords (`if`, `then`, `do`...) are skipped.

/// One simple command: its words after variable assignments and redirections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The words, quotes removed; the first is the program.
    pub words: Vec<String>,
    /// Byte offset of the program word in the script.
    pub offset: usize,
    /// Byte offset of each word in the script (parallel to `words`).
    pub offsets: Vec<usize>,
    /// This command's output goes into the next command through `|`.
    pub pipes_into_next: bool,
}

impl Command {
    /// The program's base name (`/usr/bin/pip3` gives `pip3`).
    pub fn program(&self) -> &str {
        let first = self.words.first().map_or("", String::as_str);
        first.rsplit('/').next().unwrap_or(first)
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or(&[])
    }

    /// Whether any argument is exactly one of `flags`.
    pub fn has_any(&self, flags: &[&str]) -> bool {
        // When every flag is an option, words that are not are passed over at once.
        let options_only = flags.iter().all(|f| f.starts_with('-'));
        self.args()
            .iter()
            .any(|a| (!options_only || a.starts_with('-')) && flags.contains(&a.as_str()))
    }

    /// Whether a short-option cluster (`-qy`) or an exact long option appears.
    pub fn has_option(&self, short: char, long: &[&str]) -> bool {
        // Every option starts with `-`: other words are passed over at once.
        self.args().iter().any(|a| {
            a.starts_with('-')
                && (long.contains(&a.as_str()) || (!a.starts_with("--") && a[1..].contains(short)))
        })
    }

    /// The subcommand: the first argument that is not an option.
    pub fn subcommand(&self) -> Option<&str> {
        self.args().iter().find(|a| !a.starts_with('-')).map(String::as_str)
    }
}

/// The commands of a script, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<Command>,
    /// Number of `&&` and `;` (or newline) separators between commands.
    pub chained: usize,
}

impl Script {
    /// The commands running `program` (by base name).
    pub fn running<'a>(&'a self, program: &'a str) -> impl Iterator<Item = &'a Command> + 'a {
        self.commands.iter().filter(move |c| c.program() == program)
    }

    /// Whether `program` runs, directly or inside a `$(...)` or backquoted substitution.
    pub fn mentions(&self, program: &str) -> bool {
        let substituted = [format!("$({program} "), format!("`{program} ")];
        let may_substitute = |w: &str| w.contains(['$', '`']);
        self.running(program).next().is_some()
            || self
                .commands
                .iter()
                .flat_map(|c| &c.words)
                .any(|w| may_substitute(w) && substituted.iter().any(|s| w.contains(s.as_str())))
    }

    /// Whether some command pipes into another.
    pub fn has_pipe(&self) -> bool {
        self.commands.iter().any(|c| c.pipes_into_next)
    }
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "time", "{", "}", "(",
    ")",
];

/// Reads a script into commands.
pub fn parse(script: &str) -> Script {
    let mut reader = Reader {
        text: script,
        base: 0,
        chars: script.char_indices().peekable(),
        out: Script::default(),
    };
    reader.run();
    reader.out
}

struct Reader<'a> {
    text: &'a str,
    /// Where `chars` starts in `text` (it restarts after a run of plain characters).
    base: usize,
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    out: Script,
}

/// A word being built, or the pending state between words.
#[derive(Default)]
struct Current {
    words: Vec<(usize, String)>,
    word: Option<(usize, String)>,
    skip_next_word: bool,
}

impl Current {
    fn push_char(&mut self, at: usize, c: char) {
        self.word.get_or_insert_with(|| (at, String::new())).1.push(c);
    }

    fn end_word(&mut self) {
        if let Some(word) = self.word.take() {
            if std::mem::take(&mut self.skip_next_word) {
                return;
            }
            self.words.push(word);
        }
    }
}

impl Reader<'_> {
    fn run(&mut self) {
        let mut current = Current::default();
        while let Some((at, c)) = self.chars.next() {
            let at = at + self.base;
            match c {
                '\n' | ';' => self.finish(&mut current, false, true),
                '&' if self.chars.next_if(|&(_, n)| n == '&').is_some() => {
                    self.finish(&mut current, false, true)
                }
                '&' if self.chars.next_if(|&(_, n)| n == '>').is_some() => {
                    self.redirect(&mut current)
                }
                '&' => self.finish(&mut current, false, false),
                '|' if self.chars.next_if(|&(_, n)| n == '|').is_some() => {
                    self.finish(&mut current, false, false)
                }
                '|' => self.finish(&mut current, true, false),
                '>' | '<' => {
                    let fd = current
                        .word
                        .as_ref()
                        .is_some_and(|(_, w)| w.chars().all(|d| d.is_ascii_digit()));
                    if fd {
                        current.word = None;
                    }
                    while self.chars.next_if(|&(_, n)| matches!(n, '>' | '<' | '&' | '-')).is_some()
                    {
                    }
                    self.redirect(&mut current);
                }
                '#' if current.word.is_none() => {
                    while self.chars.next_if(|&(_, n)| n != '\n').is_some() {}
                }
                c if c.is_whitespace() => current.end_word(),
                '\'' => self.quoted(&mut current, at, '\''),
                '"' => self.quoted(&mut current, at, '"'),
                '`' => self.substitution(&mut current, at, '`', '`'),
                '$' if self.chars.peek().is_some_and(|&(_, n)| n == '(') => {
                    current.push_char(at, '$');
                    self.substitution(&mut current, at, '(', ')');
                }
                '\\' => match self.chars.next() {
                    Some((_, '\n')) | None => {}
                    Some((_, n)) => current.push_char(at, n),
                },
                _ => self.plain_run(&mut current, at),
            }
        }
        self.finish(&mut current, false, false);
    }

    /// Copies the run of ordinary characters starting at `at` into the word at once
    /// (most of a long script), stopping before the next character with a meaning.
    fn plain_run(&mut self, current: &mut Current, at: usize) {
        let rest = &self.text[at..];
        let first_len = rest.chars().next().map_or(1, char::len_utf8);
        // Non-ASCII bytes end the run too: the general path decides about them.
        let ends_run = |b: &u8| {
            !b.is_ascii()
                || b.is_ascii_whitespace()
                || matches!(
                    b,
                    b';' | b'&' | b'|' | b'<' | b'>' | b'\'' | b'"' | b'`' | b'$' | b'\\'
                )
        };
        let len = rest.as_bytes()[first_len..]
            .iter()
            .position(ends_run)
            .map_or(rest.len(), |i| i + first_len);
        current.word.get_or_insert_with(|| (at, String::new())).1.push_str(&rest[..len]);
        self.base = at + len;
        self.chars = self.text[self.base..].char_indices().peekable();
    }

    fn redirect(&mut self, current: &mut Current) {
        current.end_word();
        current.skip_next_word = true;
    }

    fn quoted(&mut self, current: &mut Current, at: usize, quote: char) {
        current.word.get_or_insert_with(|| (at, String::new()));
        while let Some((_, c)) = self.chars.next() {
            if c == quote {
                return;
            }
            if c == '\\' && quote == '"' {
                if let Some((_, n)) = self.chars.next() {
                    current.push_char(at, n);
                }
                continue;
            }
            current.push_char(at, c);
        }
    }

    /// Copies a `$(...)` or backquoted substitution into the current word as is.
    fn substitution(&mut self, current: &mut Current, at: usize, open: char, close: char) {
        let mut depth = 0usize;
        if open == '(' {
            self.chars.next();
        }
        current.push_char(at, open);
        for (_, c) in self.chars.by_ref() {
            current.push_char(at, c);
            if c == close && depth == 0 {
                return;
            }
            if open != close && c == open {
                depth += 1;
            } else if c == close {
                depth = depth.saturating_sub(1);
            }
        }
    }

    fn finish(&mut self, current: &mut Current, pipe: bool, chained: bool) {
        current.end_word();
        current.skip_next_word = false;
        let mut words = std::mem::take(&mut current.words);
        let is_prefix = |w: &str| KEYWORDS.contains(&w) || is_assignment(w);
        let skip = words.iter().take_while(|(_, w)| is_prefix(w)).count();
        words.drain(..skip);
        let Some(&(offset, _)) = words.first() else { return };
        if chained {
            self.out.chained += 1;
        }
        let (offsets, words) = words.into_iter().unzip();
        self.out.commands.push(Command { words, offset, offsets, pipes_into_next: pipe });
    }
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(script: &str) -> Vec<Vec<String>> {
        parse(script).commands.into_iter().map(|c| c.words).collect()
    }

    #[test]
    fn splits_on_operators_and_drops_assignments_and_redirections() {
        let s = |x: &str| x.to_string();
        assert_eq!(
            programs(
                "DEBIAN_FRONTEND=noninteractive apt-get install -y a >/dev/null 2>&1 \
                 && echo \"x y\"; ls|wc -l"
            ),
            vec![
                vec![s("apt-get"), s("install"), s("-y"), s("a")],
                vec![s("echo"), s("x y")],
                vec![s("ls")],
                vec![s("wc"), s("-l")],
            ]
        );
        let script = parse("curl -fsSL x | sh && true");
        assert!(script.commands[0].pipes_into_next);
        assert!(!script.commands[1].pipes_into_next);
        assert_eq!(script.chained, 1);
    }

    #[test]
    fn comments_substitutions_and_keywords() {
        let s = |x: &str| x.to_string();
        assert_eq!(
            programs("# note\nif [ -f a ]; then echo $(cat a | wc -l) `id -u`; fi\ncat <<EOF\n"),
            vec![
                vec![s("["), s("-f"), s("a"), s("]")],
                vec![s("echo"), s("$(cat a | wc -l)"), s("`id -u`")],
                vec![s("cat")],
            ]
        );
        assert_eq!(parse("x || y").commands.len(), 2);
        assert_eq!(parse("a \\\n b").commands[0].words, vec![s("a"), s("b")]);
    }
}
