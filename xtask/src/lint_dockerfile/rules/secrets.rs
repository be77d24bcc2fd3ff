//! Names of `ARG` and `ENV` variables that suggest secrets: hadolint's `DL3064` and
//! this project's `SCY007`.
//!
//! One name gives one finding. `DL3064` (hadolint's criteria: a list of well-known
//! variable names and a few telling substrings) reports first; `SCY007` reports the
//! names it would miss (`PASSWD`, `PASSPHRASE`, `APIKEY`, `ACCESS_KEY`...), and every
//! name when `DL3064` is ignored or turned off, so the project's invariant holds.

use super::super::facts::{effective, Facts};
use super::super::findings::Findings;

/// Substrings (of the lowercased name) that hadolint takes as a sign of a secret.
const TELLING_PARTS: &[&str] =
    &["api_key", "client_key", "password", "private", "secret", "token", "username"];

/// Well-known variables that hadolint also reports although no telling part
/// appears in their name.
const KNOWN_NAMES: &[&str] = &[
    "APPLICATION_KEY",
    "AWS_ACCESS_KEY_ID",
    "CI_DEPLOY_USER",
    "DOCKER_EMAIL",
    "FACEBOOK_APP_ID",
    "HEROKU_API_USER",
    "OKTA_AUTHN_GROUPID",
    "OKTA_CLIENT_ORGURL",
    "OKTA_OAUTH2_CLIENTID",
    "STRIPE_DEVICE_NAME",
    "TRAVIS_OS_NAME",
    "TRAVIS_SECURE_ENV_VARS",
    "TRAVIS_SUDO",
];

/// Whether hadolint's DL3064 takes `name` for sensitive data.
pub(crate) fn is_sensitive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    TELLING_PARTS.iter().any(|part| lower.contains(part))
        || KNOWN_NAMES.iter().any(|known| known.eq_ignore_ascii_case(name))
}

/// Whether a variable name looks like it holds a secret (SCY007's own test).
pub(crate) fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let parts: Vec<&str> = upper.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let word = |w: &str| parts.contains(&w);
    ["TOKEN", "TOKENS", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PASSPHRASE", "APIKEY"]
        .iter()
        .any(|w| word(w))
        || parts
            .windows(2)
            .any(|w| matches!((w[0], w[1]), ("API" | "PRIVATE" | "ACCESS" | "SECRET", "KEY")))
}

pub(crate) fn check(facts: &Facts<'_>, out: &mut Findings<'_>) {
    let hadolint_rule_on = !facts.options.turned_off("DL3064");
    for (index, outer) in facts.dockerfile.instructions.iter().enumerate() {
        let instruction = effective(outer);
        let keyword = instruction.keyword.as_str();
        if !matches!(keyword, "ENV" | "ARG") {
            continue;
        }
        let mut reported = false;
        for (name, _, position) in instruction.key_values() {
            if hadolint_rule_on && is_sensitive_name(&name) {
                // hadolint reports an instruction once, however many names it has.
                if !std::mem::replace(&mut reported, true) {
                    let message = format!(
                        "{keyword} {name} may carry sensitive data, \
                         which stays in the image history; \
                         pass it at run time or with RUN --mount=type=secret"
                    );
                    out.report("DL3064", Some(index), position, message);
                }
            } else if is_secret_name(&name) {
                let message = format!(
                    "{keyword} {name} looks like a secret: \
                     values in ENV and ARG stay in the image history; \
                     pass it at run time or with RUN --mount=type=secret"
                );
                out.report("SCY007", Some(index), position, message);
            }
        }
    }
}
