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
    }
}
