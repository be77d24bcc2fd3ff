//! Which of the user's variables reach the container, and how: the ways Claude
//! Code authenticates and is configured, forwarded when set, with no flag.
//!
//! Secrets (keys, tokens, cloud credentials) go in as files, like `--env NAME`
//! (see `secrets`); plain settings (endpoints, models, regions, proxies,
//! switches) become `--env NAME=value` on the `create` argv, so `--dry-run`
//! shows them. Cloud credentials are forwarded only when their provider is
//! selected (`CLAUDE_CODE_USE_BEDROCK`, `CLAUDE_CODE_USE_VERTEX`), so a machine
//! with AWS keys for other work does not hand them to every experiment.
//! Pure: the environment comes in as a value.

use camino::Utf8PathBuf;

use super::secrets::valid_env_name;
use crate::context::Env;

/// Secrets forwarded whenever they are set.
pub const SECRET_ENV: [&str; 6] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "OPENAI_API_KEY",
    // Custom headers are how gateways take their keys.
    "ANTHROPIC_CUSTOM_HEADERS",
    "ANTHROPIC_FOUNDRY_API_KEY",
];

/// AWS credentials, forwarded when Bedrock is selected.
pub const BEDROCK_SECRET_ENV: [&str; 4] =
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"];

/// The variable naming Google's credentials file, delivered when Vertex is selected.
pub const GOOGLE_CREDENTIALS_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// Its file name among the delivered secrets.
pub const GOOGLE_CREDENTIALS_FILE: &str = "scylla-google-application-credentials.json";

/// Plain settings forwarded whenever they are set.
pub const PLAIN_ENV: [&str; 38] = [
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
    "CLAUDE_CODE_SUBAGENT_MODEL",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "ANTHROPIC_SMALL_FAST_MODEL_AWS_REGION",
    "ANTHROPIC_BEDROCK_BASE_URL",
    "CLAUDE_CODE_SKIP_BEDROCK_AUTH",
    "CLOUD_ML_REGION",
    "ANTHROPIC_VERTEX_PROJECT_ID",
    "ANTHROPIC_VERTEX_BASE_URL",
    "CLAUDE_CODE_SKIP_VERTEX_AUTH",
    "ANTHROPIC_FOUNDRY_RESOURCE",
    "ANTHROPIC_FOUNDRY_BASE_URL",
    "CLAUDE_CODE_SKIP_FOUNDRY_AUTH",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "DISABLE_TELEMETRY",
    "DISABLE_ERROR_REPORTING",
    "DISABLE_AUTOUPDATER",
    "DISABLE_NON_ESSENTIAL_MODEL_CALLS",
    "API_TIMEOUT_MS",
    "BASH_DEFAULT_TIMEOUT_MS",
    "BASH_MAX_TIMEOUT_MS",
    "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
    "MAX_THINKING_TOKENS",
];

/// Per-model Vertex regions (`VERTEX_REGION_CLAUDE_3_5_HAIKU=...`): forwarded by prefix.
pub const VERTEX_REGION_PREFIX: &str = "VERTEX_REGION_CLAUDE_";

/// One `--env` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvArg {
    /// `--env NAME`: the value is read from the environment and delivered as a secret.
    Secret(String),
    /// `--env NAME=VALUE`: a plain setting, visible in `--dry-run` and `inspect`.
    Plain(String, String),
}

/// A file delivered as a secret, with the variable that points at it inside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretFile {
    pub variable: String,
    pub file_name: String,
    pub host_path: Utf8PathBuf,
}

/// What reaches the container, decided from the environment and `--env`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forwarding {
    /// Rendered as `--env NAME=value`.
    pub plain: Vec<(String, String)>,
    /// Delivered as files; values are read again at delivery and never kept here.
    pub secret_names: Vec<String>,
    pub secret_files: Vec<SecretFile>,
    /// `--env NAME` names that are not set (the caller warns).
    pub unset: Vec<String>,
}

/// Claude Code's reading of a switch: `1`, `true`, `yes`, `on` (any case).
pub fn is_truthy(value: Option<&str>) -> bool {
    value.is_some_and(|v| ["1", "true", "yes", "on"].contains(&v.to_ascii_lowercase().as_str()))
}

/// A proxy URL with `user:password@` in it is a secret, not a plain setting.
fn holds_credentials(name: &str, value: &str) -> bool {
    name.to_ascii_lowercase().ends_with("_proxy") && value.contains('@')
}

fn push_unique(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

/// Decides what to forward from `env` plus the `--env` arguments.
/// `secrets_dir` is where delivered files appear inside the container.
pub fn forwarding(env: &Env, extra: &[EnvArg], secrets_dir: &str) -> Forwarding {
    let mut forwarding = Forwarding::default();
    let given_secret = |name: &str| extra.iter().any(|a| *a == EnvArg::Secret(name.to_string()));
    let given_plain =
        |name: &str| extra.iter().any(|a| matches!(a, EnvArg::Plain(n, _) if n == name));
    for name in SECRET_ENV {
        if env.is_set(name) {
            push_unique(&mut forwarding.secret_names, name);
        }
    }
    if is_truthy(env.get("CLAUDE_CODE_USE_BEDROCK")) {
        for name in BEDROCK_SECRET_ENV.into_iter().filter(|n| env.is_set(n)) {
            push_unique(&mut forwarding.secret_names, name);
        }
    }
    if is_truthy(env.get("CLAUDE_CODE_USE_VERTEX")) {
        if let Some(path) = env.get(GOOGLE_CREDENTIALS_ENV) {
            forwarding.secret_files.push(SecretFile {
                variable: GOOGLE_CREDENTIALS_ENV.to_string(),
                file_name: GOOGLE_CREDENTIALS_FILE.to_string(),
                host_path: Utf8PathBuf::from(path),
            });
            let inside = format!("{secrets_dir}/{GOOGLE_CREDENTIALS_FILE}");
            forwarding.plain.push((GOOGLE_CREDENTIALS_ENV.to_string(), inside));
        }
    }
    let prefixed = env.names().filter(|n| n.starts_with(VERTEX_REGION_PREFIX));
    let plain_names: Vec<String> =
        PLAIN_ENV.iter().map(|n| n.to_string()).chain(prefixed.map(str::to_string)).collect();
    for name in &plain_names {
        let Some(value) = env.get(name) else { continue };
        if given_secret(name) || given_plain(name) {
            continue;
        }
        if holds_credentials(name, value) {
            push_unique(&mut forwarding.secret_names, name);
        } else {
            forwarding.plain.push((name.clone(), value.to_string()));
        }
    }
    for arg in extra {
        match arg {
            EnvArg::Secret(name) if env.is_set(name) => {
                push_unique(&mut forwarding.secret_names, name)
            }
            EnvArg::Secret(name) => push_unique(&mut forwarding.unset, name),
            EnvArg::Plain(name, value) => {
                forwarding.secret_names.retain(|n| n != name);
                forwarding.plain.retain(|(n, _)| n != name);
                forwarding.plain.push((name.clone(), value.clone()));
            }
        }
    }
    forwarding
}

/// Parses one `--env` argument; the error names the part before `=` only, so a
/// value never reaches a message.
pub fn parse_env_arg(raw: &str) -> Result<EnvArg, String> {
    let (name, value) = match raw.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (raw, None),
    };
    if !valid_env_name(name) {
        return Err(name.to_string());
    }
    Ok(match value {
        Some(value) => EnvArg::Plain(name.to_string(), value.to_string()),
        None => EnvArg::Secret(name.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(f: &Forwarding) -> Vec<&str> {
        f.secret_names.iter().map(String::as_str).collect()
    }

    #[test]
    fn keys_and_tokens_are_secrets_and_settings_are_plain() {
        let env = Env::from_pairs([
            ("ANTHROPIC_API_KEY", "k"),
            ("CLAUDE_CODE_OAUTH_TOKEN", "t"),
            ("ANTHROPIC_AUTH_TOKEN", "a"),
            ("ANTHROPIC_BASE_URL", "http://172.17.0.1:8080"),
            ("ANTHROPIC_MODEL", "sonnet"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("NO_PROXY", "localhost"),
            ("UNRELATED", "x"),
        ]);
        let f = forwarding(&env, &[], "/run/secrets");
        assert_eq!(
            names(&f),
            ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"]
        );
        let plain: Vec<(&str, &str)> =
            f.plain.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(
            plain,
            [
                ("ANTHROPIC_BASE_URL", "http://172.17.0.1:8080"),
                ("ANTHROPIC_MODEL", "sonnet"),
                ("HTTPS_PROXY", "http://proxy:3128"),
                ("NO_PROXY", "localhost"),
                ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ]
        );
        assert!(f.unset.is_empty() && f.secret_files.is_empty());
    }

    #[test]
    fn cloud_credentials_only_when_their_provider_is_selected() {
        let aws = [
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_REGION", "us-east-1"),
        ];
        let f = forwarding(&Env::from_pairs(aws), &[], "/run/secrets");
        assert!(f.secret_names.is_empty(), "{f:?}");
        let mut selected = aws.to_vec();
        selected.push(("CLAUDE_CODE_USE_BEDROCK", "true"));
        let f = forwarding(&Env::from_pairs(selected), &[], "/run/secrets");
        assert_eq!(names(&f), ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
        assert!(f.plain.contains(&("AWS_REGION".into(), "us-east-1".into())));
        assert!(f.plain.contains(&("CLAUDE_CODE_USE_BEDROCK".into(), "true".into())));

        let gcp = [
            ("CLAUDE_CODE_USE_VERTEX", "1"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/home/me/gcp.json"),
            ("CLOUD_ML_REGION", "us-east5"),
            ("ANTHROPIC_VERTEX_PROJECT_ID", "proj"),
            ("VERTEX_REGION_CLAUDE_3_5_HAIKU", "us-central1"),
        ];
        let f = forwarding(&Env::from_pairs(gcp), &[], "/run/secrets");
        assert_eq!(f.secret_files[0].host_path, "/home/me/gcp.json");
        assert!(f.plain.contains(&(
            "GOOGLE_APPLICATION_CREDENTIALS".into(),
            format!("/run/secrets/{GOOGLE_CREDENTIALS_FILE}")
        )));
        assert!(f.plain.contains(&("VERTEX_REGION_CLAUDE_3_5_HAIKU".into(), "us-central1".into())));
        let unselected = Env::from_pairs([("GOOGLE_APPLICATION_CREDENTIALS", "/x.json")]);
        assert!(forwarding(&unselected, &[], "/run/secrets").secret_files.is_empty());
    }

    #[test]
    fn env_flags_add_secrets_and_plain_values_and_report_unset_names() {
        let env = Env::from_pairs([("GITHUB_TOKEN", "g"), ("ANTHROPIC_MODEL", "opus")]);
        let extra = [
            EnvArg::Secret("GITHUB_TOKEN".into()),
            EnvArg::Secret("UNSET_VAR_XYZ".into()),
            EnvArg::Plain("ANTHROPIC_MODEL".into(), "haiku".into()),
            EnvArg::Plain("MY_SETTING".into(), "a=b".into()),
        ];
        let f = forwarding(&env, &extra, "/run/secrets");
        assert_eq!(names(&f), ["GITHUB_TOKEN"]);
        assert_eq!(f.unset, ["UNSET_VAR_XYZ"]);
        assert_eq!(
            f.plain,
            [("ANTHROPIC_MODEL".into(), "haiku".into()), ("MY_SETTING".into(), "a=b".into())]
        );
    }

    #[test]
    fn a_proxy_with_a_password_is_a_secret() {
        let env = Env::from_pairs([("HTTPS_PROXY", "http://me:pw@proxy:3128")]);
        let f = forwarding(&env, &[], "/run/secrets");
        assert_eq!(names(&f), ["HTTPS_PROXY"]);
        assert!(f.plain.is_empty());
        // `--env NAME` makes any plain setting a secret.
        let env = Env::from_pairs([("ANTHROPIC_BASE_URL", "http://gw/k3y")]);
        let f = forwarding(&env, &[EnvArg::Secret("ANTHROPIC_BASE_URL".into())], "/run/secrets");
        assert_eq!(names(&f), ["ANTHROPIC_BASE_URL"]);
        assert!(f.plain.is_empty());
    }

    #[test]
    fn env_args_parse_without_echoing_values() {
        assert_eq!(parse_env_arg("TOKEN"), Ok(EnvArg::Secret("TOKEN".into())));
        assert_eq!(parse_env_arg("A=b=c"), Ok(EnvArg::Plain("A".into(), "b=c".into())));
        assert_eq!(parse_env_arg("A="), Ok(EnvArg::Plain("A".into(), String::new())));
        assert_eq!(parse_env_arg("2BAD=hunter2"), Err("2BAD".into()));
        assert!(is_truthy(Some("TRUE")) && !is_truthy(Some("0")) && !is_truthy(None));
    }
}
