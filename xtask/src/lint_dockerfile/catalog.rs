//! Every rule's code, default severity and one-line meaning (used by SARIF and docs).

use super::finding::Severity::{self, Error, Info, Style, Warning};

/// A rule's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    /// `None`: off unless a configuration override gives it a severity.
    pub default: Option<Severity>,
    pub summary: &'static str,
}

const fn on(code: &'static str, severity: Severity, summary: &'static str) -> Rule {
    Rule { code, default: Some(severity), summary }
}

/// The rule with this code (case-insensitive).
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.code.eq_ignore_ascii_case(code))
}

/// hadolint's codes that are not in [`RULES`]: rules hadolint removed (DL3005, DL3017,
/// DL3031, DL3039) and rules of newer hadolint versions (DL3068 to DL3077, DL4007). A
/// configuration shared with hadolint may name them, so they are no typos.
pub const HADOLINT_ONLY: &[&str] = &[
    "DL3005", "DL3017", "DL3031", "DL3039", "DL3068", "DL3069", "DL3070", "DL3071", "DL3072",
    "DL3073", "DL3074", "DL3075", "DL3076", "DL3077", "DL4007",
];

/// What a code given to `--ignore`, `ignored:` or `override:` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeKind {
    /// A rule of [`RULES`].
    Rule,
    /// `SC` and four digits: ShellCheck's, passed through when ShellCheck runs.
    ShellCheck,
    /// One of [`HADOLINT_ONLY`]: valid for hadolint, never reported here.
    HadolintOnly,
    /// Nothing reports it: a typo. `near`: the rules one edit away (at most three).
    Unknown { near: Vec<&'static str> },
}

/// Classifies a code (case-insensitive).
pub fn classify(code: &str) -> CodeKind {
    let upper = code.to_ascii_uppercase();
    let digits = upper.strip_prefix("SC").filter(|d| d.len() == 4);
    if rule(&upper).is_some() {
        CodeKind::Rule
    } else if digits.is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit())) {
        CodeKind::ShellCheck
    } else if HADOLINT_ONLY.contains(&upper.as_str()) {
        CodeKind::HadolintOnly
    } else {
        let near: Vec<&'static str> =
            RULES.iter().map(|r| r.code).filter(|c| edit_distance(c, &upper) == 1).collect();
        CodeKind::Unknown { near: if near.len() <= 3 { near } else { Vec::new() } }
    }
}

/// The warning for a code that names no rule; `place` says where it was given.
pub fn unknown_code_message(code: &str, place: &str, near: &[&str]) -> String {
    let hint = match near {
        [] => String::new(),
        [one] => format!(" (did you mean {one}?)"),
        [first @ .., last] => format!(" (did you mean {} or {last}?)", first.join(", ")),
    };
    format!(
        "lint-dockerfile: {code} in {place} is not a rule code, so it changes nothing{hint}; \
         `cargo xtask lint-dockerfile --list-rules` lists them"
    )
}

/// `--list-rules`: one line per rule, its code, default severity (`off`: only an
/// override turns it on) and meaning.
pub fn listing() -> String {
    RULES
        .iter()
        .map(|r| {
            let severity = r.default.map_or("off", Severity::name);
            format!("{:<6}  {severity:<7}  {}\n", r.code, r.summary)
        })
        .collect()
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // rows[i][j]: the distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = rows[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = substitution.min(rows[i - 1][j] + 1).min(rows[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// All rules, in code order.
pub const RULES: &[Rule] = &[
    on("DL1000", Error, "The Dockerfile cannot be parsed as the engine would."),
    on("DL3000", Error, "WORKDIR must be an absolute path."),
    on(
        "DL3001",
        Info,
        "A command that does nothing useful in an image build (ssh, vim, service...).",
    ),
    on("DL3002", Warning, "The last USER of the final stage is root."),
    on("DL3003", Warning, "`cd` inside RUN: set the directory with WORKDIR."),
    on("DL3004", Error, "`sudo` inside RUN: the build already runs as the current USER."),
    on("DL3006", Warning, "FROM without an explicit tag."),
    on("DL3007", Warning, "FROM with the floating `latest` tag."),
    on("DL3008", Warning, "apt-get install of a package without `=version`."),
    on("DL3009", Info, "apt lists left in the image after `apt-get update`."),
    on(
        "DL3010",
        Info,
        "An archive copied with COPY and unpacked in RUN: ADD unpacks local archives.",
    ),
    on("DL3011", Error, "EXPOSE of a port outside 0-65535."),
    on("DL3012", Error, "More than one HEALTHCHECK in a stage."),
    on("DL3013", Warning, "pip install of a package without a version."),
    on("DL3014", Warning, "apt-get install without `-y`."),
    on("DL3015", Info, "apt-get install without `--no-install-recommends`."),
    on("DL3016", Warning, "npm install of a package without `@version`."),
    on("DL3018", Warning, "apk add of a package without `=version`."),
    on("DL3019", Info, "apk add without `--no-cache`."),
    on("DL3020", Error, "ADD of a plain local file or folder: use COPY."),
    on("DL3021", Error, "COPY of several sources to a destination not ending in `/`."),
    on("DL3022", Warning, "COPY --from names no earlier stage."),
    on("DL3023", Error, "COPY --from names the stage it is in."),
    on("DL3024", Error, "Two stages share a name."),
    on("DL3025", Warning, "CMD or ENTRYPOINT in shell form: use the JSON form."),
    on("DL3026", Error, "FROM an image outside the trusted registries."),
    on("DL3027", Warning, "`apt` in RUN: use apt-get or apt-cache in scripts."),
    on("DL3028", Warning, "gem install without a version."),
    on("DL3029", Warning, "FROM with a fixed --platform."),
    on("DL3030", Warning, "yum install without `-y`."),
    on("DL3032", Warning, "yum install without `yum clean all` in the same RUN."),
    on("DL3033", Warning, "yum install of a package without `-version`."),
    on("DL3034", Warning, "zypper install without a non-interactive switch."),
    on("DL3035", Warning, "zypper dist-upgrade in a build."),
    on("DL3036", Warning, "zypper install without `zypper clean` in the same RUN."),
    on("DL3037", Warning, "zypper install of a package without `=version`."),
    on("DL3038", Warning, "dnf install without `-y`."),
    on("DL3040", Warning, "dnf install without `dnf clean all` in the same RUN."),
    on("DL3041", Warning, "dnf install of a package without `-version`."),
    on("DL3042", Warning, "pip install without `--no-cache-dir`."),
    on("DL3043", Error, "ONBUILD triggering ONBUILD, FROM or MAINTAINER."),
    on("DL3044", Error, "ENV refers to a variable the same ENV defines."),
    on("DL3045", Warning, "COPY to a relative destination before any WORKDIR."),
    on("DL3046", Warning, "useradd with a high UID and without `-l`."),
    on("DL3047", Info, "wget without a quiet or progress option."),
    on("DL3048", Style, "LABEL key with characters outside the allowed set."),
    on("DL3049", Info, "A stage lacks a label the label schema requires."),
    on("DL3050", Info, "With strict labels, a label outside the label schema."),
    on("DL3051", Warning, "A label of the label schema has an empty value."),
    on("DL3052", Warning, "A `url` label of the label schema is not a URL."),
    on("DL3053", Warning, "An `rfc3339` label of the label schema is not an RFC 3339 time."),
    on("DL3054", Warning, "An `spdx` label of the label schema is not an SPDX license identifier."),
    on("DL3055", Warning, "A `hash` label of the label schema is not a git commit hash."),
    on("DL3056", Warning, "A `semver` label of the label schema is not a semantic version."),
    Rule { code: "DL3057", default: None, summary: "A stage image without HEALTHCHECK." },
    on("DL3058", Warning, "An `email` label of the label schema is not an email address."),
    on("DL3059", Info, "Consecutive single-command RUNs that could be one layer."),
    on("DL3060", Info, "yarn install without `yarn cache clean` in the same RUN."),
    on("DL3061", Error, "An instruction other than ARG before the first FROM."),
    on("DL3062", Warning, "go install without `@version`."),
    on("DL3063", Warning, "A stage named with a reserved word (`scratch`, `context`)."),
    on("DL3064", Warning, "ARG or ENV with a name that suggests sensitive data."),
    on("DL3065", Warning, "FROM --platform=$TARGETPLATFORM, which is already the default."),
    on("DL3066", Info, "USER by name: the host may not resolve it; give a numeric uid."),
    on("DL3067", Warning, "COPY --from of a whole file system (`/` to `/`)."),
    on("DL4000", Error, "MAINTAINER is deprecated: use a label."),
    on("DL4001", Warning, "Both wget and curl are used."),
    on("DL4003", Warning, "More than one CMD in a stage: only the last counts."),
    on("DL4004", Error, "More than one ENTRYPOINT in a stage: only the last counts."),
    on("DL4005", Warning, "Replacing /bin/sh with ln: use SHELL."),
    on("DL4006", Warning, "A pipe in RUN without `set -o pipefail` in the shell."),
    Rule { code: "DL1001", default: None, summary: "An inline ignore pragma." },
    on("SCY001", Error, "An external base image is not pinned by sha256 digest."),
    on("SCY002", Warning, "Dependencies are installed after the source tree is copied."),
    on(
        "SCY003",
        Error,
        "The final stage does not run as a non-root USER set before CMD/ENTRYPOINT.",
    ),
    on("SCY004", Warning, "The final stage has no HEALTHCHECK."),
    on("SCY005", Error, "A global npm package is not pinned to an exact version."),
    on("SCY006", Error, "A download is piped straight into an interpreter."),
    on(
        "SCY007",
        Error,
        "ENV or ARG with a secret-looking name that DL3064 does not already report.",
    ),
    on(
        "SCY008",
        Error,
        "A COPY/ADD source is missing from the build context or excluded by .dockerignore.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_findable() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(RULES[..i].iter().all(|o| o.code != r.code), "{}", r.code);
            assert_eq!(rule(&r.code.to_lowercase()).map(|f| f.code), Some(r.code));
        }
        assert!(HADOLINT_ONLY.iter().all(|code| rule(code).is_none()));
    }

    #[test]
    fn codes_are_rules_shellcheck_hadolint_or_typos_with_their_neighbours() {
        assert_eq!(classify("dl3008"), CodeKind::Rule);
        assert_eq!(classify("scy004"), CodeKind::Rule);
        assert_eq!(classify("SC2086"), CodeKind::ShellCheck);
        assert_eq!(classify("DL3005"), CodeKind::HadolintOnly);
        assert_eq!(classify("NOPE"), CodeKind::Unknown { near: vec![] });
        // A letter O for a zero, a swapped pair, a digit too many.
        assert_eq!(classify("DL3O08"), CodeKind::Unknown { near: vec!["DL3008"] });
        assert_eq!(classify("SCY040"), CodeKind::Unknown { near: vec!["SCY004"] });
        assert_eq!(classify("SCY0044"), CodeKind::Unknown { near: vec!["SCY004"] });
        // Too many neighbours to be a useful hint.
        assert_eq!(classify("DL400"), CodeKind::Unknown { near: vec![] });
        assert_eq!(classify("SC20861"), CodeKind::Unknown { near: vec![] });
    }

    #[test]
    fn the_warning_names_the_code_the_place_and_the_neighbours() {
        let message = unknown_code_message("DL3O08", "--ignore", &["DL3008"]);
        assert_eq!(
            message,
            "lint-dockerfile: DL3O08 in --ignore is not a rule code, so it changes nothing \
             (did you mean DL3008?); `cargo xtask lint-dockerfile --list-rules` lists them"
        );
        let message = unknown_code_message("X", "--ignore", &["A", "B", "C"]);
        assert!(message.contains("(did you mean A, B or C?)"), "{message}");
        assert!(!unknown_code_message("X", "--ignore", &[]).contains("did you mean"));
    }

    #[test]
    fn the_listing_has_every_rule_once_with_its_default() {
        let listing = listing();
        assert_eq!(listing.lines().count(), RULES.len());
        assert!(listing.contains("DL3008  warning  apt-get install"), "{listing}");
        assert!(listing.contains("DL3057  off      A stage image"), "{listing}");
        assert!(listing.contains("SCY004  warning  The final stage"), "{listing}");
    }
}
