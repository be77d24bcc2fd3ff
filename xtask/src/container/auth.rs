//! What the user is told about authentication before a container starts: one
//! accurate message, built from every way Claude Code can authenticate
//! (credentials file, API key, tokens, a cloud provider) and from what the
//! run is for (an experiment's `--agent`, or a shell).

use crate::container::forward::{is_truthy, Forwarding};
use crate::container::secrets::{CredentialsStatus, SecretBundle};
use crate::context::Context;
use crate::output;

/// Variables that authenticate Claude Code on their own.
const AUTH_ENV: [&str; 3] =
    ["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_AUTH_TOKEN"];
/// Provider switches: the provider's own credentials authenticate.
const PROVIDERS: [(&str, &str); 3] = [
    ("CLAUDE_CODE_USE_BEDROCK", "Amazon Bedrock"),
    ("CLAUDE_CODE_USE_VERTEX", "Google Vertex AI"),
    ("CLAUDE_CODE_USE_FOUNDRY", "Microsoft Foundry"),
];

/// What the container is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose<'a> {
    /// An experiment, with its `--agent` when given.
    Experiment {
        agent: Option<&'a str>,
    },
    Shell,
}

/// The way to authenticate besides the credentials file, if any, in words.
pub fn other_auth(bundle: &SecretBundle, forwarding: &Forwarding) -> Option<String> {
    let names = bundle.env_names();
    if let Some(name) = AUTH_ENV.into_iter().find(|name| names.contains(name)) {
        return Some(name.to_string());
    }
    PROVIDERS.into_iter().find_map(|(switch, provider)| {
        let value = forwarding.plain.iter().find(|(n, _)| n == switch).map(|(_, v)| v.as_str());
        is_truthy(value).then(|| format!("{provider} ({switch})"))
    })
}

/// The warning to print, if any (pure, for tests).
pub fn credentials_message(
    status: &CredentialsStatus,
    other: Option<&str>,
    purpose: Purpose<'_>,
) -> Option<(bool, String)> {
    let lead = match status {
        CredentialsStatus::Found(_) => return None,
        CredentialsStatus::Unusable { path, reason } => {
            Some(format!("the Claude credentials file {path} {reason}"))
        }
        CredentialsStatus::Absent(_) | CredentialsStatus::NoHome => None,
    };
    let none = match status {
        CredentialsStatus::NoHome => "no Claude credentials file (HOME is not set)",
        _ => "no Claude credentials file",
    };
    if let Some(other) = other {
        return Some(match lead {
            Some(lead) => (true, format!("{lead}; using {other}")),
            None => (false, format!("{none}; using {other}")),
        });
    }
    let lead = lead.map(|l| format!("{l}, and")).unwrap_or_else(|| format!("{none} and"));
    let how =
        "log in once with `claude` on this machine (creates ~/.claude/.credentials.json),\n  \
               or export ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN before running";
    let text = match purpose {
        Purpose::Experiment { agent: Some("oracle") } => return None,
        Purpose::Experiment { agent: Some("claude-code") } => format!(
            "{lead} no API key or token is set, so `--agent claude-code` cannot log in\n  {how}"
        ),
        Purpose::Experiment { .. } => format!(
            "{lead} no API key or token is set, so the experiment runs the oracle agent\n  \
             to use Claude Code: {how}"
        ),
        Purpose::Shell => {
            let not_logged_in = "no API key or token is set, so Claude Code in the shell is \
                                 not logged in";
            format!("{lead} {not_logged_in}\n  {how}")
        }
    };
    Some((true, text))
}

/// Warns about credentials and forwarded files that cannot be used, and about
/// `--env` names that are not set.
pub fn warn_about_credentials(
    ctx: &Context,
    status: &CredentialsStatus,
    bundle: &SecretBundle,
    forwarding: &Forwarding,
    purpose: Purpose<'_>,
) {
    for name in &forwarding.unset {
        output::warn(
            ctx,
            &format!("--env {name}: {name} is not set here, so nothing is passed for it"),
        );
    }
    if let CredentialsStatus::Found(path) = status {
        output::detail(ctx, &format!("Claude credentials: {path}"));
    }
    let other = other_auth(bundle, forwarding);
    match credentials_message(status, other.as_deref(), purpose) {
        Some((true, text)) => output::warn(ctx, &text),
        Some((false, text)) => output::detail(ctx, &text),
        None => {}
    }
}

/// Warns about secret files (a cloud provider's credentials) that cannot be read.
pub fn warn_about_files(ctx: &Context, problems: &[(String, String)]) {
    for (what, reason) in problems {
        output::warn(ctx, &format!("cannot pass the file {what}: it {reason}; it is left out"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unusable(reason: &str) -> CredentialsStatus {
        CredentialsStatus::Unusable { path: "/tmp/typo.json".into(), reason: reason.into() }
    }

    #[test]
    fn an_unusable_file_names_itself_and_what_is_used_instead() {
        let auto = Purpose::Experiment { agent: None };
        let (warn, text) =
            credentials_message(&unusable("does not exist"), Some("ANTHROPIC_API_KEY"), auto)
                .unwrap();
        assert!(warn);
        assert_eq!(
            text,
            "the Claude credentials file /tmp/typo.json does not exist; using ANTHROPIC_API_KEY"
        );
        let (_, text) = credentials_message(&unusable("is a directory"), None, auto).unwrap();
        assert!(text.starts_with(
            "the Claude credentials file /tmp/typo.json is a directory, and no API key"
        ));
        assert!(text.contains("runs the oracle agent"), "{text}");
    }

    #[test]
    fn an_explicit_agent_changes_the_message_and_oracle_needs_none() {
        let absent = CredentialsStatus::Absent("/h/.claude/.credentials.json".into());
        let claude = Purpose::Experiment { agent: Some("claude-code") };
        let (_, text) = credentials_message(&absent, None, claude).unwrap();
        assert!(text.contains("`--agent claude-code` cannot log in"), "{text}");
        assert!(!text.contains("oracle"), "{text}");
        assert_eq!(
            credentials_message(&absent, None, Purpose::Experiment { agent: Some("oracle") }),
            None
        );
        let (warn, _) =
            credentials_message(&absent, Some("CLAUDE_CODE_OAUTH_TOKEN"), claude).unwrap();
        assert!(!warn, "a token is a normal way to log in: -v detail only");
        assert!(credentials_message(&absent, None, Purpose::Shell).unwrap().1.contains("shell"));
    }

    #[test]
    fn tokens_and_providers_count_as_authentication() {
        let mut bundle = SecretBundle::default();
        bundle.push("scylla-env-CLAUDE_CODE_OAUTH_TOKEN", b"t".to_vec());
        assert_eq!(
            other_auth(&bundle, &Forwarding::default()).as_deref(),
            Some("CLAUDE_CODE_OAUTH_TOKEN")
        );
        let bedrock = Forwarding {
            plain: vec![("CLAUDE_CODE_USE_BEDROCK".into(), "1".into())],
            ..Forwarding::default()
        };
        assert_eq!(
            other_auth(&SecretBundle::default(), &bedrock).as_deref(),
            Some("Amazon Bedrock (CLAUDE_CODE_USE_BEDROCK)")
        );
        assert_eq!(other_auth(&SecretBundle::default(), &Forwarding::default()), None);
    }
}
