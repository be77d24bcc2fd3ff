//! Credentials that survive a token refresh. Claude Code's OAuth refresh
//! tokens rotate: when the CLI in the container refreshes, the host's copy
//! stops working. So while an experiment runs, a keeper process in the
//! container (`scylla-entrypoint --keep-credentials`, started over `exec`)
//! prints the credentials file each time it changes; at the end (normal exit,
//! error, Ctrl-C) the newest version is written back to the host's file —
//! atomically (a temporary file in the same directory, then `rename`), mode
//! 0600, the owner kept, and only when its `claudeAiOauth.expiresAt` is later
//! than the one the host file holds at that moment (another process may have
//! refreshed it meanwhile).
//!
//! The keeper sends lines `credentials <base64>` and `end`. Parallel units in
//! the container share one HOME and so one file; of all versions seen, the one
//! that expires last is the one the token server issued last.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};

use super::UserMapping;
use crate::context::Context;
use crate::engine::{exec, Engine, EngineCommand};
use crate::output;

/// The image's entrypoint, which also hosts the keeper.
pub const ENTRYPOINT: &str = "/usr/local/bin/scylla-entrypoint";

/// The keeper of one container, with what was delivered and where it came from.
pub struct Keeper {
    lines: Option<mpsc::Receiver<String>>,
    delivered: Vec<u8>,
    host_path: Utf8PathBuf,
}

/// `exec --user U:G NAME scylla-entrypoint --keep-credentials`.
pub fn keeper_command(name: &str, user: &UserMapping) -> EngineCommand {
    let (uid, gid) = user.runtime_ids();
    let user = format!("{uid}:{gid}");
    EngineCommand::action(["exec", "--user", &user, name, ENTRYPOINT, "--keep-credentials"])
}

impl Keeper {
    /// Starts the keeper in the running container `name`.
    pub fn start(
        ctx: &Context,
        engine: &Engine,
        name: &str,
        user: &UserMapping,
        delivered: Vec<u8>,
        host_path: Utf8PathBuf,
    ) -> anyhow::Result<Keeper> {
        let command = keeper_command(name, user);
        let lines = exec::background_lines(ctx, engine, &command)?;
        Ok(Keeper { lines, delivered, host_path })
    }

    /// After the container ended: writes the newest version back when it is
    /// newer than the host's file, and says so in one line.
    pub fn finish(self, ctx: &Context) {
        let Some(lines) = self.lines else { return };
        let versions = collect_versions(&lines, Duration::from_secs(10));
        let Some(newest) = newest_change(&versions, &self.delivered) else { return };
        let host_now = std::fs::read(&self.host_path).ok();
        match decide(&newest, host_now.as_deref()) {
            Decision::Write => match write_back(&self.host_path, &newest) {
                Ok(()) => output::note(
                    ctx,
                    &format!(
                        "Claude credentials were refreshed in the container; updated {}",
                        self.host_path
                    ),
                ),
                Err(e) => output::warn(
                    ctx,
                    &format!(
                        "cannot write the refreshed Claude credentials back to {}: {e}",
                        self.host_path
                    ),
                ),
            },
            Decision::NotNewer => output::detail(
                ctx,
                &format!(
                    "the container's Claude credentials are not newer than {}",
                    self.host_path
                ),
            ),
            Decision::Unreadable => output::warn(
                ctx,
                &format!(
                    "the container changed the Claude credentials, but not into a file with \
                     claudeAiOauth.expiresAt; {} was left as it is",
                    self.host_path
                ),
            ),
        }
    }
}

fn collect_versions(lines: &mpsc::Receiver<String>, timeout: Duration) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut versions = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line == "end" => break,
            Ok(line) => {
                if let Some(bytes) = line.strip_prefix("credentials ").and_then(decode_base64) {
                    versions.push(bytes);
                }
            }
            Err(_) => break,
        }
    }
    versions
}

/// `claudeAiOauth.expiresAt` (milliseconds since the epoch) of a credentials file.
pub fn expires_at(bytes: &[u8]) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let at = &value["claudeAiOauth"]["expiresAt"];
    at.as_i64().or_else(|| at.as_f64().map(|f| f as i64))
}

/// Of the versions that differ from the delivered bytes, the one that expires
/// last (a version without `expiresAt` only when no version has one).
pub fn newest_change(versions: &[Vec<u8>], delivered: &[u8]) -> Option<Vec<u8>> {
    let changed: Vec<&Vec<u8>> = versions.iter().filter(|v| v.as_slice() != delivered).collect();
    let best =
        changed.iter().filter_map(|v| expires_at(v).map(|at| (at, *v))).max_by_key(|(at, _)| *at);
    match best {
        Some((_, version)) => Some(version.clone()),
        None => changed.last().map(|v| (*v).clone()),
    }
}

/// What to do with a changed version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Write,
    NotNewer,
    Unreadable,
}

/// Write only a version that expires later than the host's file does now.
pub fn decide(candidate: &[u8], host_now: Option<&[u8]>) -> Decision {
    let Some(new) = expires_at(candidate) else { return Decision::Unreadable };
    match host_now.and_then(expires_at) {
        Some(old) if old >= new => Decision::NotNewer,
        _ => Decision::Write,
    }
}

/// Replaces `path` (its target when it is a symlink) atomically with
/// `bytes`: mode 0600, owned by whoever owned the file before.
pub fn write_back(path: &Utf8Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let target = std::fs::canonicalize(path)
        .ok()
        .and_then(|p| Utf8PathBuf::from_path_buf(p).ok())
        .unwrap_or_else(|| path.to_path_buf());
    let owner = std::fs::metadata(&target).ok().map(|m| (m.uid(), m.gid()));
    let dir = target.parent().unwrap_or(Utf8Path::new("."));
    let name = target.file_name().unwrap_or("credentials");
    let temporary = dir.join(format!(".{name}.scylla-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

/// Standard base64 (with padding), as `base64 -w0` writes it.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let text = text.trim().as_bytes();
    if text.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for chunk in text.chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        let mut n: u32 = 0;
        for &c in &chunk[..4 - pad] {
            n = n << 6 | u32::from(value(c)?);
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad.min(2)]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(at: i64) -> Vec<u8> {
        format!(r#"{{"claudeAiOauth":{{"accessToken":"a{at}","expiresAt":{at}}}}}"#).into_bytes()
    }

    #[test]
    fn base64_round_trips_what_coreutils_writes() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64("eyJhIjoxfQo=").unwrap(), b"{\"a\":1}\n");
        assert!(decode_base64("Zm9").is_none());
        assert!(decode_base64("Zm9*").is_none());
    }

    #[test]
    fn the_version_that_expires_last_wins_and_unchanged_is_nothing() {
        let delivered = creds(100);
        assert_eq!(newest_change(std::slice::from_ref(&delivered), &delivered), None);
        let versions = vec![delivered.clone(), creds(300), creds(200)];
        assert_eq!(newest_change(&versions, &delivered), Some(creds(300)));
    }

    #[test]
    fn only_a_later_expiry_than_the_host_file_is_written() {
        assert_eq!(decide(&creds(300), Some(&creds(100))), Decision::Write);
        assert_eq!(decide(&creds(300), Some(&creds(300))), Decision::NotNewer);
        assert_eq!(decide(&creds(300), Some(&creds(400))), Decision::NotNewer);
        assert_eq!(decide(&creds(300), None), Decision::Write);
        assert_eq!(decide(b"not json", Some(&creds(1))), Decision::Unreadable);
        assert_eq!(
            expires_at(br#"{"claudeAiOauth":{"expiresAt":1.7e12}}"#),
            Some(1_700_000_000_000)
        );
    }

    #[test]
    fn write_back_is_atomic_private_and_follows_a_symlink() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = tempfile::tempdir().unwrap();
        let dir = Utf8PathBuf::from_path_buf(scratch.path().to_path_buf()).unwrap();
        let real = dir.join("real.json");
        std::fs::write(&real, creds(1)).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_back(&link, &creds(2)).unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), creds(2));
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
    }
}
