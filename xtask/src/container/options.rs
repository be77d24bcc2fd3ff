//! Flags shared by the tasks that start containers (run-experiment, shell).

use camino::Utf8PathBuf;

use super::forward::{self, EnvArg, Forwarding};
use super::secrets::SECRETS_MOUNT;
use super::Limits;
use crate::context::Env;
use crate::error::usage;

/// Image, limits, caches and secrets of a container.
#[derive(clap::Args, Debug, Clone)]
pub struct ContainerOptions {
    /// Image to run
    #[arg(long, default_value = "scylla-runner:latest")]
    pub image: String,
    /// Use the image as it is: do not rebuild it when it is missing or stale
    #[arg(long)]
    pub no_build: bool,
    /// Memory limit of the container (engine syntax: 512m, 8g)
    #[arg(long, default_value = "8g")]
    pub memory: String,
    /// CPU limit of the container
    #[arg(long, default_value = "2")]
    pub cpus: String,
    /// Maximum number of processes in the container
    #[arg(long, default_value_t = 4096)]
    pub pids_limit: u32,
    /// Mount named volumes for pip and npm caches (scylla-pip-cache, scylla-npm-cache)
    #[arg(long)]
    pub cache_volumes: bool,
    /// Pass one more variable: NAME delivers its value from your environment as a
    /// secret file; NAME=VALUE sets a plain value (shown by --dry-run) (repeatable)
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub env_args: Vec<String>,
    /// Connect the container to this engine network (default: the engine's bridge)
    #[arg(long, value_name = "NAME")]
    pub network: Option<String>,
    /// Claude credentials file [default: ~/.claude/.credentials.json]
    #[arg(long, value_name = "PATH")]
    pub credentials: Option<Utf8PathBuf>,
}

impl ContainerOptions {
    /// The parsed `--env` arguments; a bad name is a usage error that never
    /// echoes a value.
    pub fn env_args(&self) -> anyhow::Result<Vec<EnvArg>> {
        self.env_args
            .iter()
            .map(|raw| {
                forward::parse_env_arg(raw).map_err(|name| {
                    usage(format!(
                        "--env takes NAME or NAME=VALUE with a variable name, got `{name}`\n  \
                         names are letters, digits and `_`, not starting with a digit \
                         (--env GITHUB_TOKEN, --env MY_SETTING=1)"
                    ))
                })
            })
            .collect()
    }

    /// What reaches the container from `env`: the Claude Code variables and `--env`.
    pub fn forwarding(&self, env: &Env) -> anyhow::Result<Forwarding> {
        Ok(forward::forwarding(env, &self.env_args()?, SECRETS_MOUNT))
    }

    /// The `--network`, checked for emptiness (the engine checks the rest).
    pub fn network(&self) -> anyhow::Result<Option<String>> {
        match self.network.as_deref() {
            Some(name) if name.trim().is_empty() => {
                Err(usage("--network needs a network name (see `docker network ls`)"))
            }
            other => Ok(other.map(str::to_string)),
        }
    }

    /// The validated limits.
    pub fn limits(&self) -> anyhow::Result<Limits> {
        if self.pids_limit == 0 {
            return Err(usage("--pids-limit must be at least 1"));
        }
        Ok(Limits { memory: self.memory.clone(), cpus: self.cpus.clone(), pids: self.pids_limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        options: ContainerOptions,
    }

    #[test]
    fn env_args_are_secrets_or_plain_values_and_bad_names_hide_values() {
        let probe = Probe::try_parse_from([
            "p",
            "--env",
            "GITHUB_TOKEN",
            "--env",
            "MODE=fast",
            "--network",
            "lab",
        ])
        .unwrap();
        let env = Env::from_pairs([("GITHUB_TOKEN", "g"), ("ANTHROPIC_API_KEY", "k")]);
        let forwarding = probe.options.forwarding(&env).unwrap();
        assert_eq!(forwarding.secret_names, ["ANTHROPIC_API_KEY", "GITHUB_TOKEN"]);
        assert_eq!(forwarding.plain, [("MODE".to_string(), "fast".to_string())]);
        assert_eq!(probe.options.network().unwrap().as_deref(), Some("lab"));
        let bad = Probe::try_parse_from(["p", "--env", "TO-KEN=hunter2"]).unwrap();
        let message = bad.options.env_args().unwrap_err().to_string();
        assert!(message.contains("got `TO-KEN`") && !message.contains("hunter2"), "{message}");
        let empty = Probe::try_parse_from(["p", "--network", ""]).unwrap();
        assert!(empty.options.network().is_err());
    }
}
