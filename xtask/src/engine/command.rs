//! An engine command as data: the arguments after the engine program, the names
//! of environment variables it forwards, optional stdin bytes, and whether it may
//! run under `--dry-run`. Plans build these; only `engine::exec` runs them.

use crate::output::render_argv;

/// `flag value` appended to an argv: the one helper plans build argvs with.
pub fn push_pair(argv: &mut Vec<String>, flag: &str, value: impl Into<String>) {
    argv.push(flag.to_string());
    argv.push(value.into());
}

/// Whether a command changes anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Reads state only (`inspect`, `version`, `ps`): runs even under `--dry-run`.
    Query,
    /// Creates, changes or removes something: printed, not run, under `--dry-run`.
    Action,
}

/// One invocation of the container engine, e.g. `docker image inspect X`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineCommand {
    /// The arguments after the program name.
    pub args: Vec<String>,
    pub effect: Effect,
    /// Bytes piped to the command's stdin (e.g. a tar stream for `cp -`).
    /// Never printed: it may hold credentials.
    pub stdin: Option<Vec<u8>>,
    /// Engine settings (name, value) set for the engine process only, such as
    /// `DOCKER_BUILDKIT=0`. Printed with the command: never put a secret here.
    pub env: Vec<(String, String)>,
}

impl EngineCommand {
    /// A command that changes state.
    pub fn action<S: Into<String>>(args: impl IntoIterator<Item = S>) -> EngineCommand {
        EngineCommand {
            args: args.into_iter().map(Into::into).collect(),
            effect: Effect::Action,
            stdin: None,
            env: Vec::new(),
        }
    }

    /// A read-only command.
    pub fn query<S: Into<String>>(args: impl IntoIterator<Item = S>) -> EngineCommand {
        EngineCommand { effect: Effect::Query, ..EngineCommand::action(args) }
    }

    /// Pipes `bytes` to the command's stdin.
    pub fn with_stdin(mut self, bytes: Vec<u8>) -> EngineCommand {
        self.stdin = Some(bytes);
        self
    }

    /// Sets a variable for the engine process (e.g. `DOCKER_BUILDKIT=0`).
    pub fn with_env(mut self, name: &str, value: &str) -> EngineCommand {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// The paste-safe shell line for `program`, with stdin shown as a placeholder.
    pub fn render(&self, program: &str) -> String {
        let mut words: Vec<String> = Vec::new();
        for (name, value) in &self.env {
            words.push(format!("{name}={value}"));
        }
        words.push(program.to_string());
        words.extend(self.args.iter().cloned());
        let mut line = render_argv(&words);
        if self.stdin.is_some() {
            line.push_str(" <(stdin stream, not shown)");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_quoted_args_and_hides_stdin() {
        let cmd = EngineCommand::action(["cp", "-", "box one:/"]).with_stdin(b"secret".to_vec());
        assert_eq!(cmd.render("docker"), "docker cp - 'box one:/' <(stdin stream, not shown)");
        assert!(!cmd.render("docker").contains("secret"));
    }

    #[test]
    fn env_is_rendered_before_the_program() {
        let cmd = EngineCommand::action(["build", "."]).with_env("DOCKER_BUILDKIT", "0");
        assert_eq!(cmd.render("docker"), "DOCKER_BUILDKIT=0 docker build .");
        assert_eq!(cmd.effect, Effect::Action);
        assert_eq!(EngineCommand::query(["ps"]).effect, Effect::Query);
    }
}
