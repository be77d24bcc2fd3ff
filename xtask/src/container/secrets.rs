//! Secret delivery: API keys and the Claude credentials file go into a created
//! container as files in a tar stream (`cp -` reads it from stdin), owned by the
//! container's user with mode 0400. Nothing is written to the host's disk, no
//! value reaches an argv, a log line or the container's `inspect` output; the
//! entrypoint turns `/run/secrets/scylla-env-NAME` back into `$NAME`.

use anyhow::{Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};

use crate::context::Env;

/// The directory inside the container (the same path swarm secrets use).
pub const SECRETS_DIR: &str = "run/secrets";
/// File name prefix of a secret that becomes an environment variable.
pub const ENV_PREFIX: &str = "scylla-env-";
/// File name of the Claude credentials.
pub const CREDENTIALS_FILE: &str = "scylla-claude-credentials";
/// Variables always forwarded when set.
pub const DEFAULT_SECRET_ENV: [&str; 2] = ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"];

/// Secret values collected for one container. Its `Debug` shows names only.
#[derive(Clone, Default)]
pub struct SecretBundle {
    files: Vec<(String, Vec<u8>)>,
}

impl std::fmt::Debug for SecretBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.files.iter().map(|(name, _)| name)).finish()
    }
}

/// Where the credentials came from, for warnings and the banner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialsStatus {
    Found(Utf8PathBuf),
    Missing(Utf8PathBuf),
    /// No path given and no HOME to look in.
    NoHome,
}

/// Whether `name` can be an environment variable name.
pub fn valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// The credentials path: the given one, else `$HOME/.claude/.credentials.json`.
pub fn credentials_path(env: &Env, given: Option<&Utf8Path>) -> Option<Utf8PathBuf> {
    given.map(Utf8Path::to_path_buf).or_else(|| {
        env.get("HOME").map(|home| Utf8PathBuf::from(home).join(".claude/.credentials.json"))
    })
}

impl SecretBundle {
    /// Collects the variables in `names` that are set in `env`, and the
    /// credentials file when it exists. Returns the bundle and the credentials
    /// status; a missing file is not an error (the caller warns).
    pub fn collect(
        env: &Env,
        names: &[String],
        credentials: Option<&Utf8Path>,
    ) -> Result<(SecretBundle, CredentialsStatus)> {
        let mut bundle = SecretBundle::default();
        for name in names {
            if let Some(value) = env.get(name) {
                bundle.files.push((format!("{ENV_PREFIX}{name}"), value.as_bytes().to_vec()));
            }
        }
        let status = match credentials_path(env, credentials) {
            None => CredentialsStatus::NoHome,
            Some(path) if path.is_file() => {
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read the Claude credentials file {path}"))?;
                bundle.files.push((CREDENTIALS_FILE.to_string(), bytes));
                CredentialsStatus::Found(path)
            }
            Some(path) => CredentialsStatus::Missing(path),
        };
        Ok((bundle, status))
    }

    /// Adds one named file (for tests and swarm secrets).
    pub fn push(&mut self, file_name: &str, bytes: Vec<u8>) {
        self.files.push((file_name.to_string(), bytes));
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The file names, e.g. `scylla-env-ANTHROPIC_API_KEY` (never the values).
    pub fn file_names(&self) -> Vec<&str> {
        self.files.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// The variables this bundle sets, by name.
    pub fn env_names(&self) -> Vec<&str> {
        self.files.iter().filter_map(|(name, _)| name.strip_prefix(ENV_PREFIX)).collect()
    }

    pub fn has_credentials(&self) -> bool {
        self.files.iter().any(|(name, _)| name == CREDENTIALS_FILE)
    }

    /// The files with their contents (for swarm secrets).
    pub fn files(&self) -> &[(String, Vec<u8>)] {
        &self.files
    }

    /// A tar stream holding `run/secrets/` (0700) and one 0400 file per secret,
    /// all owned by `uid:gid`, to extract at `/` in the container.
    pub fn to_tar(&self, uid: u32, gid: u32) -> Vec<u8> {
        let mut out = Vec::new();
        tar_entry(&mut out, &format!("{SECRETS_DIR}/"), 0o700, uid, gid, b'5', &[]);
        for (name, bytes) in &self.files {
            tar_entry(&mut out, &format!("{SECRETS_DIR}/{name}"), 0o400, uid, gid, b'0', bytes);
        }
        out.extend_from_slice(&[0u8; 1024]);
        out
    }
}

fn octal(field: &mut [u8], value: u64) {
    // Zero-padded octal, NUL-terminated, filling the field.
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&text.as_bytes()[text.len() - digits..]);
    field[digits] = 0;
}

/// Appends one ustar entry (names here are short, so no prefix field is needed).
fn tar_entry(out: &mut Vec<u8>, name: &str, mode: u32, uid: u32, gid: u32, kind: u8, data: &[u8]) {
    let mut header = [0u8; 512];
    header[..name.len().min(100)].copy_from_slice(&name.as_bytes()[..name.len().min(100)]);
    octal(&mut header[100..108], u64::from(mode));
    octal(&mut header[108..116], u64::from(uid));
    octal(&mut header[116..124], u64::from(gid));
    octal(&mut header[124..136], data.len() as u64);
    octal(&mut header[136..148], 0);
    header[156] = kind;
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    // The checksum is computed with its own field read as spaces.
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..154].copy_from_slice(format!("{sum:06o}").as_bytes());
    header[154] = 0;
    header[155] = b' ';
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    let padding = (512 - data.len() % 512) % 512;
    out.resize(out.len() + padding, 0u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_set_variables_by_name_and_hides_values_in_debug() {
        let env = Env::from_pairs([("ANTHROPIC_API_KEY", "canary-123"), ("HOME", "/nonexistent")]);
        let names = vec!["ANTHROPIC_API_KEY".to_string(), "OPENAI_API_KEY".to_string()];
        let (bundle, status) = SecretBundle::collect(&env, &names, None).unwrap();
        assert_eq!(bundle.env_names(), vec!["ANTHROPIC_API_KEY"]);
        assert_eq!(
            status,
            CredentialsStatus::Missing("/nonexistent/.claude/.credentials.json".into())
        );
        assert!(!format!("{bundle:?}").contains("canary"));
    }

    #[test]
    fn env_names_are_validated() {
        assert!(valid_env_name("MY_TOKEN_2"));
        assert!(valid_env_name("_x"));
        assert!(!valid_env_name("2X"));
        assert!(!valid_env_name("A-B"));
        assert!(!valid_env_name(""));
        assert!(!valid_env_name("A=B"));
    }

    #[test]
    fn tar_stream_is_read_back_by_tar_with_owner_and_mode() {
        let mut bundle = SecretBundle::default();
        bundle.push("scylla-env-KEY", b"value".to_vec());
        let bytes = bundle.to_tar(4321, 8765);
        assert_eq!(bytes.len() % 512, 0);
        let sh = xshell::Shell::new().unwrap();
        let listing =
            xshell::cmd!(sh, "tar --numeric-owner -tvf -").stdin(&bytes).quiet().read().unwrap();
        let lines: Vec<&str> = listing.lines().collect();
        assert!(lines[0].starts_with("drwx------ 4321/8765"), "{listing}");
        assert!(lines[0].ends_with("run/secrets/"), "{listing}");
        assert!(lines[1].starts_with("-r-------- 4321/8765"), "{listing}");
        assert!(lines[1].ends_with("run/secrets/scylla-env-KEY"), "{listing}");
        let content = xshell::cmd!(sh, "tar -xOf - run/secrets/scylla-env-KEY")
            .stdin(&bytes)
            .quiet()
            .read()
            .unwrap();
        assert_eq!(content, "value");
    }
}
