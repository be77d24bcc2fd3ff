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
    #[arg(long, default_value = "scylla-runner:latest", value_name = "NAME:TAG")]
    pub image: String,
    /// Use the image as it is: do not rebuild it when it is missing or stale
    #[arg(long)]
    pub no_build: bool,
    // The limits take values that start with `-` (`--cpus -1`), so that a
    // wrong value gets this tool's message rather than clap's tip to write
    // `-- -1`, which would hand the value to the experiment instead.
    /// Memory limit of the container, at least 6m (engine units: b, k, m, g, t; e.g. 512m, 8g)
    #[arg(long, default_value = "8g", allow_hyphen_values = true)]
    pub memory: String,
    /// CPU limit of the container, from 0.01 to this machine's CPU count
    /// [default: 2, or all of this machine's CPUs when it has fewer]
    #[arg(long, allow_hyphen_values = true, value_name = "CPUS")]
    pub cpus: Option<String>,
    /// Maximum number of processes in the container (at least 1)
    #[arg(long, default_value = "4096", allow_hyphen_values = true)]
    pub pids_limit: String,
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
    #[arg(long, value_name = "PATH", value_parser = file_path)]
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

    /// The `--image`, checked to be an image name.
    pub fn image(&self) -> anyhow::Result<String> {
        crate::image::check_reference("--image", &self.image)?;
        Ok(self.image.clone())
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

    /// The validated limits; `cpu_count` is the most `--cpus` may ask for
    /// (`None` where the engine's nodes decide, as in a swarm).
    pub fn limits(&self, cpu_count: Option<usize>) -> anyhow::Result<Limits> {
        check_memory(&self.memory)?;
        // The default must fit a one-CPU machine: 2, or every CPU there is.
        let cpus = match &self.cpus {
            Some(cpus) => cpus.clone(),
            None => DEFAULT_CPUS.min(cpu_count.unwrap_or(DEFAULT_CPUS)).to_string(),
        };
        check_cpus(&cpus, cpu_count)?;
        Ok(Limits { memory: self.memory.clone(), cpus, pids: parse_pids_limit(&self.pids_limit)? })
    }
}

/// A path flag's value: not empty (an empty one would name the current directory).
fn file_path(value: &str) -> Result<Utf8PathBuf, String> {
    if value.is_empty() {
        return Err("needs a file path; leave the flag out for the default".to_string());
    }
    Ok(Utf8PathBuf::from(value))
}

/// The CPUs a container gets without `--cpus` (fewer on a smaller machine).
const DEFAULT_CPUS: usize = 2;

/// The CPUs this machine offers, the ceiling of `--cpus` for a local container.
pub fn host_cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The engine's smallest memory limit: 6 MiB.
const MIN_MEMORY_BYTES: u64 = 6 * 1024 * 1024;

/// Bytes of a size in the engine's units (`512m`, `8g`, `1.5GiB`, `1048576`):
/// a decimal number, then optionally one of b k m g t p (powers of 1024,
/// either case), an optional `i` and an optional `b`. A subset of what the
/// engine accepts, so that every value that passes here passes there.
pub fn memory_bytes(text: &str) -> Option<u64> {
    let number_end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(number_end);
    let digits_ok = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    let number_ok = match number.split_once('.') {
        Some((whole, fraction)) => digits_ok(whole) && digits_ok(fraction),
        None => digits_ok(number),
    };
    if !number_ok {
        return None;
    }
    let unit = unit.to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let unit = unit.strip_suffix('i').filter(|u| !u.is_empty()).unwrap_or(unit);
    let power = match unit {
        "" => 0,
        "k" => 1,
        "m" => 2,
        "g" => 3,
        "t" => 4,
        "p" => 5,
        _ => return None,
    };
    let bytes = number.parse::<f64>().ok()? * 1024f64.powi(power);
    (bytes.is_finite() && bytes < 9.2e18).then_some(bytes as u64)
}

fn check_memory(text: &str) -> anyhow::Result<()> {
    match memory_bytes(text) {
        Some(bytes) if bytes >= MIN_MEMORY_BYTES => Ok(()),
        _ => Err(usage(format!(
            "--memory takes a size of at least 6m in the engine's units \
             (a number with b, k, m, g or t, e.g. 512m or 8g), got `{text}`"
        ))),
    }
}

fn check_cpus(text: &str, cpu_count: Option<usize>) -> anyhow::Result<()> {
    let plain = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && text.matches('.').count() <= 1
        && text != "."
        && text.split('.').nth(1).map_or(true, |fraction| fraction.len() <= 9);
    let cpus = if plain { text.parse::<f64>().ok() } else { None };
    let ceiling = cpu_count.map(|count| count as f64).unwrap_or(f64::MAX);
    match cpus {
        Some(cpus) if (0.01..=ceiling).contains(&cpus) => Ok(()),
        _ => Err(usage(match cpu_count {
            Some(count) => format!(
                "--cpus takes a number of CPUs from 0.01 to {count} \
                 (this machine has {count}), got `{text}`"
            ),
            None => format!("--cpus takes a number of CPUs of at least 0.01, got `{text}`"),
        })),
    }
}

fn parse_pids_limit(text: &str) -> anyhow::Result<u32> {
    match text.parse::<u32>() {
        Ok(pids) if pids >= 1 => Ok(pids),
        _ => Err(usage(format!(
            "--pids-limit takes a whole number of processes of at least 1, got `{text}`"
        ))),
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

    fn limits(args: &[&str], cpus: Option<usize>) -> Result<Limits, String> {
        let probe = Probe::try_parse_from(std::iter::once("p").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        probe.options.limits(cpus).map_err(|e| e.to_string())
    }

    #[test]
    fn memory_is_read_in_the_engine_units() {
        assert_eq!(memory_bytes("8g"), Some(8 << 30));
        assert_eq!(memory_bytes("512M"), Some(512 << 20));
        assert_eq!(memory_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(memory_bytes("7340032"), Some(7340032));
        assert_eq!(memory_bytes("6mb"), Some(6 << 20));
        for bad in ["", "8x", "g", "-1", "1.g", ".5g", "1..2m", "8 g", "8gg", "8ib"] {
            assert_eq!(memory_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn limits_outside_the_engine_range_are_usage_errors_with_the_range() {
        let good = limits(&["--memory", "6m", "--cpus", "1.5", "--pids-limit", "1"], Some(2));
        assert_eq!(good.unwrap(), Limits { memory: "6m".into(), cpus: "1.5".into(), pids: 1 });
        for memory in ["0", "1k", "8x", "-1", "5m"] {
            let message = limits(&["--memory", memory], Some(2)).unwrap_err();
            assert!(message.contains("--memory takes a size of at least 6m"), "{message}");
            assert!(message.ends_with(&format!("got `{memory}`")), "{message}");
        }
        for cpus in ["-1", "999", "0", "0.001", "2.5", "x", "1/2", "", "1e1"] {
            let message = limits(&["--cpus", cpus], Some(2)).unwrap_err();
            assert!(message.contains("from 0.01 to 2 (this machine has 2)"), "{cpus}: {message}");
        }
        // In a swarm the nodes decide the ceiling.
        assert!(limits(&["--cpus", "999"], None).is_ok());
        // Without --cpus: 2, or every CPU of a smaller machine; 2 where nodes decide.
        assert_eq!(limits(&[], Some(1)).unwrap().cpus, "1");
        assert_eq!(limits(&[], Some(8)).unwrap().cpus, "2");
        assert_eq!(limits(&[], None).unwrap().cpus, "2");
        assert!(limits(&["--cpus=-1"], None).unwrap_err().contains("at least 0.01"));
        for pids in ["-1", "0", "lots"] {
            let message = limits(&["--pids-limit", pids], Some(2)).unwrap_err();
            assert!(message.contains("--pids-limit takes a whole number"), "{message}");
        }
    }
}
