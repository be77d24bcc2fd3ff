//! Secret values: keys, tokens and the Claude credentials file, collected into
//! an in-memory bundle and packed as a tar stream of files owned by the
//! container's user with mode 0400. The stream goes into a running container
//! over `exec --interactive` stdin and is unpacked into the tmpfs at
//! `/run/secrets` (see `container::deliver_secrets`), so no value touches a
//! disk, an argv, a log line or the container's `inspect` output; the
//! entrypoint turns `/run/secrets/scylla-env-NAME` back into `$NAME`.

use anyhow::{Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};

use super::forward::SecretFile;
use crate::context::Env;

/// The directory inside the container (the same path swarm secrets use); a
/// tmpfs in experiment and shell containers.
pub const SECRETS_MOUNT: &str = "/run/secrets";
/// File name prefix of a secret that becomes an environment variable.
pub const ENV_PREFIX: &str = "scylla-env-";
/// File name of the Claude credentials.
pub const CREDENTIALS_FILE: &str = "scylla-claude-credentials";

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
    /// The default file does not exist (nobody logged in on this machine).
    Absent(Utf8PathBuf),
    /// No path given and no HOME to look in.
    NoHome,
    /// A file that cannot be used: a given path that does not exist, a
    /// directory, or a file this user cannot read. The run goes on without it.
    Unusable {
        path: Utf8PathBuf,
        reason: String,
    },
}

/// Reads a secret file, or says in a few words why it cannot be used.
fn read_secret_file(path: &Utf8Path, given: bool) -> Result<Vec<u8>, Option<String>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(given.then(|| "does not exist".to_string()))
        }
        Ok(meta) if meta.is_dir() => Err(Some("is a directory".to_string())),
        _ => std::fs::read(path).map_err(|e| Some(format!("cannot be read: {e}"))),
    }
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
    /// credentials file when it can be read. Returns the bundle and the
    /// credentials status; a file that cannot be used is not an error (the
    /// caller warns and the run goes on with the other ways to authenticate).
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
            Some(path) => match read_secret_file(&path, credentials.is_some()) {
                Ok(bytes) => {
                    bundle.files.push((CREDENTIALS_FILE.to_string(), bytes));
                    CredentialsStatus::Found(path)
                }
                Err(None) => CredentialsStatus::Absent(path),
                Err(Some(reason)) => CredentialsStatus::Unusable { path, reason },
            },
        };
        Ok((bundle, status))
    }

    /// Adds secret files (a cloud provider's credentials); returns the ones that
    /// cannot be used, with the reason, for the caller to warn about.
    pub fn add_files(&mut self, files: &[SecretFile]) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for file in files {
            match read_secret_file(&file.host_path, true) {
                Ok(bytes) => self.files.push((file.file_name.clone(), bytes)),
                Err(reason) => problems.push((
                    format!("{} ({})", file.host_path, file.variable),
                    reason.unwrap_or_default(),
                )),
            }
        }
        problems
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

    /// The content of one file of the bundle.
    pub fn file(&self, file_name: &str) -> Option<&[u8]> {
        self.files.iter().find(|(name, _)| name == file_name).map(|(_, bytes)| bytes.as_slice())
    }

    /// The files with their contents (for swarm secrets).
    pub fn files(&self) -> &[(String, Vec<u8>)] {
        &self.files
    }

    /// A tar stream of one 0400 file per secret, owned by `uid:gid`, to
    /// extract in the secrets directory of the container.
    pub fn to_tar(&self, uid: u32, gid: u32) -> Result<Vec<u8>> {
        let header = |kind: tar::EntryType, mode: u32, size: usize| {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(kind);
            header.set_mode(mode);
            header.set_uid(u64::from(uid));
            header.set_gid(u64::from(gid));
            header.set_size(size as u64);
            header.set_mtime(0);
            header
        };
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in &self.files {
            let mut file = header(tar::EntryType::Regular, 0o400, bytes.len());
            builder
                .append_data(&mut file, name, bytes.as_slice())
                .with_context(|| format!("cannot pack the secret {name}"))?;
        }
        Ok(builder.into_inner()?)
    }
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
            CredentialsStatus::Absent("/nonexistent/.claude/.credentials.json".into())
        );
        assert!(!format!("{bundle:?}").contains("canary"));
    }

    #[test]
    fn a_given_path_that_is_missing_or_a_directory_says_so() {
        let env = Env::from_pairs([("HOME", "/nonexistent")]);
        let status = |path: &str| SecretBundle::collect(&env, &[], Some(path.into())).unwrap().1;
        assert_eq!(
            status("/tmp/typo-does-not-exist.json"),
            CredentialsStatus::Unusable {
                path: "/tmp/typo-does-not-exist.json".into(),
                reason: "does not exist".into()
            }
        );
        assert_eq!(
            status("/tmp"),
            CredentialsStatus::Unusable { path: "/tmp".into(), reason: "is a directory".into() }
        );
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

    // The bytes are checked by the real tar, which the test runs itself.
    #[allow(clippy::disallowed_macros)]
    #[test]
    fn tar_stream_is_read_back_by_tar_with_owner_and_mode() {
        let mut bundle = SecretBundle::default();
        bundle.push("scylla-env-KEY", b"value".to_vec());
        let bytes = bundle.to_tar(4321, 8765).unwrap();
        assert_eq!(bytes.len() % 512, 0);
        let sh = xshell::Shell::new().unwrap();
        let listing =
            xshell::cmd!(sh, "tar --numeric-owner -tvf -").stdin(&bytes).quiet().read().unwrap();
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), 1, "{listing}");
        assert!(lines[0].starts_with("-r-------- 4321/8765"), "{listing}");
        assert!(lines[0].ends_with(" scylla-env-KEY"), "{listing}");
        let content =
            xshell::cmd!(sh, "tar -xOf - scylla-env-KEY").stdin(&bytes).quiet().read().unwrap();
        assert_eq!(content, "value");
    }
}
