//! Facts about the invoking process and machine that container plans need:
//! uid/gid, host name, an owner tag that survives pid reuse, unique names.

use std::time::{SystemTime, UNIX_EPOCH};

fn status_field(field: &str) -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    // "Uid:\treal\teffective\tsaved\tfs": the effective id decides file ownership.
    line.split_whitespace().nth(2)?.parse().ok()
}

/// The invoking user's effective uid and gid.
pub fn user_ids() -> (u32, u32) {
    (status_field("Uid:").unwrap_or(0), status_field("Gid:").unwrap_or(0))
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

/// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat).
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: skip past its last ')'.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// The owner label value for this process: `host:pid:start-time`.
pub fn owner_tag() -> String {
    let pid = std::process::id();
    format!("{}:{pid}:{}", hostname(), process_start_time(pid).unwrap_or(0))
}

/// Whether the process an owner tag names is gone. Tags from other hosts are
/// never judged dead: their owner may be alive there.
pub fn owner_is_dead(tag: &str, this_host: &str) -> bool {
    let mut parts = tag.rsplitn(3, ':');
    let (Some(start), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != this_host {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else { return false };
    match process_start_time(pid) {
        None => true,
        Some(actual) => start.parse::<u64>().map(|expected| expected != actual).unwrap_or(false),
    }
}

/// Eight random hex characters (from the kernel's generator).
pub fn random_suffix() -> String {
    let bytes = std::fs::read("/proc/sys/kernel/random/uuid").unwrap_or_default();
    let text: String =
        String::from_utf8_lossy(&bytes).chars().filter(char::is_ascii_hexdigit).take(8).collect();
    if text.len() == 8 {
        text
    } else {
        let nanos =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        format!("{:08x}", nanos ^ std::process::id())
    }
}

/// Seconds since the epoch.
pub fn epoch_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A container name no other run will pick: `PREFIX-<epoch>-<random>`.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}-{}", epoch_seconds(), random_suffix())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_bogus_one_is_dead() {
        let host = hostname();
        assert!(!owner_is_dead(&owner_tag(), &host));
        assert!(owner_is_dead(&format!("{host}:4294967:1"), &host));
        // Same pid, different start time: pid reuse, so the owner is gone.
        let pid = std::process::id();
        assert!(owner_is_dead(&format!("{host}:{pid}:1"), &host));
    }

    #[test]
    fn other_hosts_and_garbage_are_left_alone() {
        assert!(!owner_is_dead("elsewhere:1:1", "here"));
        assert!(!owner_is_dead("garbage", "here"));
    }

    #[test]
    fn names_are_unique() {
        let a = unique_name("scylla-run");
        let b = unique_name("scylla-run");
        assert_ne!(a, b);
        assert!(a.starts_with("scylla-run-"));
    }

    #[test]
    fn ids_are_read() {
        let (uid, _gid) = user_ids();
        let owner = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap();
        assert_eq!(uid, owner);
    }
}
