//! Content hashes of the context's files: parallel SHA-256 with an incremental cache.
//!
//! The cache maps a path to the SHA-256 of its content, keyed by size, mtime, ctime and inode
//! (all in nanoseconds where it applies). A file whose key still matches reuses the stored
//! hash; any other file is read again. As in git's index, a file touched at or after the
//! moment the cache was written ("racily clean": the timestamp granularity could hide a
//! second write) is never trusted and is re-read. A missing, unreadable or malformed cache
//! only means everything is hashed again, and one that cannot be written only
//! means the next run hashes again: [`ContentDigests::cache_error`] says why, and the
//! task goes on.
//!
//! Cache file: `<cache dir>/content-hashes-<first 16 hex of sha256(context dir)>.v2`, text:
//! ```text
//! scylla-content-hashes v2
//! <canonical context dir>
//! <sha256 hex> <size> <mtime ns> <ctime ns> <inode> <path>
//! ```
//! where the directory and the paths escape `\` as `\\`, a newline as `\n` and a carriage
//! return as `\r`, so that every record is one line.
//! It is written to a temporary file and renamed into place, and only when something changed.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use camino::{Utf8Path, Utf8PathBuf};
use sha2::{Digest, Sha256};

use super::walk::{stamp, BuildContext, EntryKind, FileStamp};

/// A SHA-256 digest.
pub type Sha256Digest = [u8; 32];

const CACHE_HEADER: &str = "scylla-content-hashes v2";
const READ_BUFFER: usize = 256 * 1024;

/// SHA-256 of each file in `paths`, in the same order, hashed in parallel on every
/// available core. The first file that cannot be read fails the whole call.
pub fn hash_files(paths: &[PathBuf]) -> anyhow::Result<Vec<Sha256Digest>> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = cores.min(paths.len()).max(1);
    let next = AtomicUsize::new(0);
    let mut digests = vec![[0u8; 32]; paths.len()];
    let outcome: anyhow::Result<()> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut buffer = vec![0u8; READ_BUFFER];
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = paths.get(index) else { return Ok(done) };
                        done.push((index, hash_file(path, &mut buffer)?));
                    }
                })
            })
            .collect();
        for worker in workers {
            let finished: anyhow::Result<Vec<(usize, Sha256Digest)>> =
                worker.join().map_err(|_| anyhow::anyhow!("a hashing thread panicked"))?;
            for (index, digest) in finished? {
                digests[index] = digest;
            }
        }
        Ok(())
    });
    outcome?;
    Ok(digests)
}

fn hash_file(path: &Path, buffer: &mut [u8]) -> anyhow::Result<Sha256Digest> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    loop {
        let read = file.read(buffer).with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&buffer[..read]);
    }
}

/// Content digests of a context's regular files, by path.
#[derive(Clone, Debug, Default)]
pub struct ContentDigests {
    pub by_path: BTreeMap<String, Sha256Digest>,
    /// Files whose cached hash was reused.
    pub reused: usize,
    /// Files read and hashed.
    pub hashed: usize,
    /// Why the refreshed cache could not be saved, if it could not (speed lost, nothing else).
    pub cache_error: Option<String>,
}

impl ContentDigests {
    /// Hashes every regular file of `context`, reusing and refreshing the cache in
    /// `cache_dir` when one is given (it is created if missing).
    pub fn compute(
        context: &BuildContext,
        cache_dir: Option<&Utf8Path>,
    ) -> anyhow::Result<ContentDigests> {
        let cache_path = cache_dir.map(|dir| cache_file(dir, &context.context_dir));
        let cache = match &cache_path {
            Some(path) => Cache::load(path, &context.context_dir),
            None => Cache::default(),
        };
        let mut digests = ContentDigests::default();
        let mut missing: Vec<&str> = Vec::new();
        for entry in context.entries.iter().filter(|e| e.kind == EntryKind::File) {
            match cache.lookup(&entry.path, entry.stamp) {
                Some(digest) => {
                    digests.by_path.insert(entry.path.clone(), digest);
                }
                None => missing.push(&entry.path),
            }
        }
        digests.reused = digests.by_path.len();
        digests.hashed = missing.len();
        let missing_paths: Vec<PathBuf> =
            missing.iter().map(|path| context.context_dir.join(path).into()).collect();
        for (path, digest) in missing.iter().zip(hash_files(&missing_paths)?) {
            digests.by_path.insert(path.to_string(), digest);
        }
        if let Some(path) = cache_path {
            let stale = cache.entries.len() != digests.reused;
            if digests.hashed > 0 || stale {
                if let Err(error) = save_cache(&path, context, &digests) {
                    digests.cache_error = Some(format!("{error:#}"));
                }
            }
        }
        Ok(digests)
    }
}

fn cache_file(dir: &Utf8Path, context_dir: &Utf8Path) -> Utf8PathBuf {
    let key = hex(&Sha256::digest(context_dir.as_str().as_bytes()));
    dir.join(format!("content-hashes-{}.v2", &key[..16]))
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<String, (FileStamp, Sha256Digest)>,
    /// The cache file's mtime: entries stamped at or after it are racy.
    written_ns: i128,
}

impl Cache {
    fn load(path: &Utf8Path, context_dir: &Utf8Path) -> Cache {
        let Ok(meta) = std::fs::metadata(path) else { return Cache::default() };
        let Ok(text) = std::fs::read_to_string(path) else { return Cache::default() };
        let entries = parse_cache(&text, context_dir).unwrap_or_default();
        Cache { entries, written_ns: stamp(&meta).mtime_ns }
    }

    fn lookup(&self, path: &str, current: FileStamp) -> Option<Sha256Digest> {
        let (recorded, digest) = self.entries.get(path)?;
        let settled = current.mtime_ns < self.written_ns && current.ctime_ns < self.written_ns;
        (*recorded == current && settled).then_some(*digest)
    }
}

/// Records every file with the stamp the walk saw *before* reading it: a write that lands
/// after that stat changes the stamp, so the next run hashes the file again.
fn save_cache(
    path: &Utf8Path,
    context: &BuildContext,
    digests: &ContentDigests,
) -> anyhow::Result<()> {
    let mut text = format!("{CACHE_HEADER}\n{}\n", escape(context.context_dir.as_str()));
    for entry in context.entries.iter().filter(|e| e.kind == EntryKind::File) {
        let Some(digest) = digests.by_path.get(&entry.path) else { continue };
        let stamp = entry.stamp;
        text.push_str(&format!(
            "{} {} {} {} {} {}\n",
            hex(digest),
            stamp.size,
            stamp.mtime_ns,
            stamp.ctime_ns,
            stamp.inode,
            escape(&entry.path)
        ));
    }
    write_atomically(path, text.as_bytes())
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n").replace('\r', "\\r")
}

fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

fn parse_cache(
    text: &str,
    context_dir: &Utf8Path,
) -> Option<HashMap<String, (FileStamp, Sha256Digest)>> {
    let mut lines = text.lines();
    if lines.next()? != CACHE_HEADER {
        return None;
    }
    let dir = unescape(lines.next()?)?;
    if dir != context_dir.as_str() {
        return None;
    }
    let mut entries = HashMap::new();
    for line in lines {
        let mut fields = line.splitn(6, ' ');
        let digest = parse_hex(fields.next()?)?;
        let stamp = FileStamp {
            size: fields.next()?.parse().ok()?,
            mtime_ns: fields.next()?.parse().ok()?,
            ctime_ns: fields.next()?.parse().ok()?,
            inode: fields.next()?.parse().ok()?,
        };
        let path = unescape(fields.next()?)?;
        entries.insert(path, (stamp, digest));
    }
    Some(entries)
}

fn parse_hex(text: &str) -> Option<Sha256Digest> {
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(text.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(digest)
}

/// Writes `path` through a temporary file in the same directory and a rename.
fn write_atomically(path: &Utf8Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Utf8Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {dir}"))?;
    let temp =
        dir.join(format!(".{}.tmp.{}", path.file_name().unwrap_or("cache"), std::process::id()));
    std::fs::write(&temp, bytes).with_context(|| format!("cannot write {temp}"))?;
    std::fs::rename(&temp, path).with_context(|| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write {path}")
    })
}
