//! The experiment arguments after `--`, read for what a swarm run must decide
//! itself: the experiment id and `--fresh` are lifted out (every shard and the
//! summary get them explicitly), `--shard`, `--summarize-only` and
//! `--results-dir` are refused (the run owns them), and the tiers and fixture
//! are found so that the default experiment id matches a single-machine run.

use anyhow::Result;
use camino::{Utf8Path, Utf8PathBuf};

use crate::error::usage;

/// The fixture the runner uses when `--tiers-dir` is not given.
pub const DEFAULT_TIERS_DIR: &str = "tests/fixtures/tests/test-001";
/// The runner's tiers, in its order.
const TIER_IDS: [&str; 7] = ["T0", "T1", "T2", "T3", "T4", "T5", "T6"];

/// What the swarm run needs to know about the experiment arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Passthrough {
    /// The arguments with `--experiment-id` and `--fresh` taken out.
    pub args: Vec<String>,
    pub experiment_id: Option<String>,
    pub fresh: bool,
    /// `--tiers` values, upper-cased, in the order given.
    pub tiers: Vec<String>,
    /// `--tiers-dir`, relative to the project, as given.
    pub tiers_dir: Utf8PathBuf,
}

/// `--flag value` or `--flag=value` at `args[index]`: the value and how many words it took.
fn flag_value<'a>(
    args: &'a [String],
    index: usize,
    flag: &str,
) -> Option<(Option<&'a str>, usize)> {
    let word = args[index].as_str();
    if word == flag {
        return Some((args.get(index + 1).map(String::as_str), 2));
    }
    word.strip_prefix(flag).and_then(|rest| rest.strip_prefix('=')).map(|value| (Some(value), 1))
}

fn refuse(word: &str) -> Option<&'static str> {
    let name = word.split('=').next().unwrap_or(word);
    match name {
        "--shard" => Some("a swarm run gives each shard its own --shard; use --shards N instead"),
        "--summarize-only" => {
            Some("a swarm run writes the summary itself when every shard is done")
        }
        "--results-dir" => Some(
            "a swarm run writes into its results volume and copies results/<experiment-id>/ back",
        ),
        _ => None,
    }
}

/// The `--experiment-id` value among the experiment arguments, if one is given.
pub fn experiment_id_in(args: &[String]) -> Option<&str> {
    (0..args.len()).find_map(|index| flag_value(args, index, "--experiment-id")?.0)
}

/// Reads the experiment arguments; a flag the swarm run owns is a usage error.
pub fn parse(args: &[String]) -> Result<Passthrough> {
    let mut parsed = Passthrough {
        args: Vec::new(),
        experiment_id: None,
        fresh: false,
        tiers: Vec::new(),
        tiers_dir: Utf8PathBuf::from(DEFAULT_TIERS_DIR),
    };
    let mut index = 0;
    while index < args.len() {
        let word = args[index].as_str();
        if let Some(reason) = refuse(word) {
            return Err(usage(format!("`{word}` cannot be passed to a swarm run: {reason}")));
        }
        if word == "--fresh" {
            parsed.fresh = true;
            index += 1;
            continue;
        }
        if let Some((value, taken)) = flag_value(args, index, "--experiment-id") {
            let value = value.ok_or_else(|| usage("--experiment-id needs a value"))?;
            parsed.experiment_id = Some(value.to_string());
            index += taken;
            continue;
        }
        if let Some((Some(value), taken)) = flag_value(args, index, "--tiers-dir") {
            parsed.tiers_dir = Utf8PathBuf::from(value);
            parsed.args.extend(args[index..index + taken].iter().cloned());
            index += taken;
            continue;
        }
        parsed.args.push(args[index].clone());
        if word == "--tiers" {
            while let Some(tier) = args.get(index + 1).filter(|next| !next.starts_with('-')) {
                parsed.tiers.push(tier.trim().to_ascii_uppercase());
                parsed.args.push(tier.clone());
                index += 1;
            }
        }
        index += 1;
    }
    Ok(parsed)
}

/// Whether `id` is a valid experiment id for the runner (the same rule as its own).
pub fn valid_experiment_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && id.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// The fixture's `id:` from the top level of its `test.yaml`.
pub fn fixture_id(test_yaml: &str) -> Option<String> {
    test_yaml.lines().find_map(|line| {
        let value = line.strip_prefix("id:")?.trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The runner's default id, `<fixture id>-<tiers in T0..T6 order>`, so that a
/// swarm run and a single-machine run of the same experiment share results.
pub fn default_experiment_id(fixture_id: &str, tiers: &[String]) -> String {
    let mut parts = vec![fixture_id.to_string()];
    parts.extend(TIER_IDS.iter().filter(|t| tiers.iter().any(|g| g == *t)).map(|t| t.to_string()));
    parts.join("-")
}

/// The experiment id: given, else the runner's default read from the fixture.
pub fn resolve_experiment_id(
    project_dir: &Utf8Path,
    given: Option<&str>,
    passthrough: &Passthrough,
) -> Result<String> {
    let id = match given {
        Some(id) => id.to_string(),
        None => {
            let test_yaml = project_dir.join(&passthrough.tiers_dir).join("test.yaml");
            let text = std::fs::read_to_string(&test_yaml).map_err(|e| {
                usage(format!(
                    "cannot read {test_yaml} to name the experiment: {e}\n  \
                     pass --experiment-id ID (or fix --tiers-dir)"
                ))
            })?;
            let fixture = fixture_id(&text).ok_or_else(|| {
                usage(format!("{test_yaml} has no top-level `id:`; pass --experiment-id ID"))
            })?;
            default_experiment_id(&fixture, &passthrough.tiers)
        }
    };
    if !valid_experiment_id(&id) {
        return Err(usage(format!(
            "invalid experiment id `{id}`: use letters, digits, '.', '_' and '-', \
             starting with a letter or digit"
        )));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn lifts_the_id_and_fresh_and_finds_the_tiers() {
        let parsed = parse(&words("--tiers t1 T0 --runs 2 --experiment-id e1 --fresh -v")).unwrap();
        assert_eq!(parsed.args, words("--tiers t1 T0 --runs 2 -v"));
        assert_eq!(parsed.experiment_id.as_deref(), Some("e1"));
        assert!(parsed.fresh);
        assert_eq!(parsed.tiers, ["T1", "T0"]);
        assert_eq!(parsed.tiers_dir, DEFAULT_TIERS_DIR);
    }

    #[test]
    fn equals_forms_and_tiers_dir() {
        let parsed = parse(&words("--experiment-id=x --tiers-dir=fx/a --tiers T2")).unwrap();
        assert_eq!(parsed.experiment_id.as_deref(), Some("x"));
        assert_eq!(parsed.tiers_dir, "fx/a");
        assert_eq!(parsed.args, words("--tiers-dir=fx/a --tiers T2"));
    }

    #[test]
    fn flags_the_run_owns_are_refused_with_the_alternative() {
        for line in ["--shard 0/2", "--summarize-only", "--results-dir=/x"] {
            let message = parse(&words(line)).unwrap_err().to_string();
            assert!(message.contains("cannot be passed to a swarm run"), "{message}");
        }
        let message = parse(&words("--shard=1/3")).unwrap_err().to_string();
        assert!(message.contains("--shards N"), "{message}");
        assert!(parse(&words("--experiment-id")).is_err());
    }

    #[test]
    fn default_id_matches_the_runner() {
        assert_eq!(fixture_id("name: x\nid: test-001\n").as_deref(), Some("test-001"));
        assert_eq!(fixture_id("id: \"q\"\n").as_deref(), Some("q"));
        assert_eq!(fixture_id("  id: nested\n"), None);
        let tiers = vec!["T3".to_string(), "T0".to_string()];
        assert_eq!(default_experiment_id("test-001", &tiers), "test-001-T0-T3");
    }

    #[test]
    fn ids_are_checked() {
        assert!(valid_experiment_id("test-001-T0"));
        assert!(valid_experiment_id("a.b_c"));
        assert!(!valid_experiment_id("-a"));
        assert!(!valid_experiment_id("a/b"));
        assert!(!valid_experiment_id(""));
        let dir = Utf8Path::new("/nonexistent");
        let parsed = parse(&[]).unwrap();
        let message = resolve_experiment_id(dir, None, &parsed).unwrap_err().to_string();
        assert!(message.contains("pass --experiment-id"), "{message}");
        assert!(resolve_experiment_id(dir, Some("../x"), &parsed).is_err());
        assert_eq!(resolve_experiment_id(dir, Some("ok"), &parsed).unwrap(), "ok");
    }
}
