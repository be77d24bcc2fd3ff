//! Flags shared by the tasks that start containers (run-experiment, shell).

use camino::Utf8PathBuf;

use super::secrets::{valid_env_name, DEFAULT_SECRET_ENV};
use super::Limits;
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
    /// Pass one more variable by name; its value is delivered as a secret file (repeatable)
    #[arg(long = "env", value_name = "NAME")]
    pub env_names: Vec<String>,
    /// Claude credentials file [default: ~/.claude/.credentials.json]
    #[arg(long, value_name = "PATH")]
    pub credentials: Option<Utf8PathBuf>,
}

impl ContainerOptions {
    /// The variables delivered as secrets: the API keys plus `--env` names.
    pub fn secret_env_names(&self) -> anyhow::Result<Vec<String>> {
        let mut names: Vec<String> = DEFAULT_SECRET_ENV.iter().map(|s| s.to_string()).collect();
        for name in &self.env_names {
            if !valid_env_name(name) {
                return Err(usage(format!(
                    "--env takes a variable NAME, got `{}`\n  \
                     pass the name only (--env GITHUB_TOKEN); the value is read from your environment",
                    name.split('=').next().unwrap_or(name)
                )));
            }
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        Ok(names)
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
    fn env_names_are_checked_and_merged_with_the_api_keys() {
        let probe =
            Probe::try_parse_from(["p", "--env", "GITHUB_TOKEN", "--env", "OPENAI_API_KEY"])
                .unwrap();
        assert_eq!(
            probe.options.secret_env_names().unwrap(),
            ["ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GITHUB_TOKEN"]
        );
        let bad = Probe::try_parse_from(["p", "--env", "TOKEN=hunter2"]).unwrap();
        let message = bad.options.secret_env_names().unwrap_err().to_string();
        assert!(message.contains("got `TOKEN`") && !message.contains("hunter2"), "{message}");
    }
}
