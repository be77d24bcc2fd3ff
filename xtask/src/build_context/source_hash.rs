//! The source hash and the per-step input hash: their exact byte format.
//!
//! Both are SHA-256 over a stream of *fields*; a field is its length as 8 bytes big-endian
//! followed by its bytes, so no two different inputs produce the same stream. A *count* is
//! a bare 8-byte big-endian integer.
//!
//! An *entry record* is four fields: the path (relative, `/`-separated), the kind
//! (`file`, `symlink`, `dir`, `special` or `generated`), the mode (`x` for a file with the
//! owner execute bit, `-` otherwise) and the payload (a file: the 32 raw bytes of the SHA-256
//! of its content; a symlink: its target text; anything else: empty). Entries always come
//! sorted by path bytes. Mtimes, owners, other permission bits and the walk order are not
//! part of it, so the same tree gives the same hash on any machine.
//!
//! Source hash, version 1:
//! ```text
//! field("scylla-source-hash/v1")
//! field("dockerfile")  field(<Dockerfile bytes>)
//! field("target")      field(<target stage, or empty>)
//! field("platform")    field(<platform, or empty>)
//! field("build-args")  count(n)  n × (field(<name>) field(<value>))   sorted by name
//! field("entries")     count(m)  m × <entry record>                   every context entry
//! ```
//!
//! Step input hash, version 1 (the entries one `COPY`/`ADD` consumes):
//! ```text
//! field("scylla-step-inputs/v1")  count(m)  m × <entry record>
//! ```
//!
//! Both are written as 64 lowercase hexadecimal characters.

use std::collections::BTreeMap;

use anyhow::Context as _;
use sha2::{Digest, Sha256};

use super::digest::{hex, ContentDigests};
use super::walk::{BuildContext, ContextEntry, EntryKind};

/// Everything besides the context that selects what the build produces.
#[derive(Clone, Copy, Debug)]
pub struct SourceHashInput<'a> {
    /// The Dockerfile exactly as read from disk.
    pub dockerfile: &'a [u8],
    /// The effective build arguments (defaults resolved by the caller).
    pub build_args: &'a BTreeMap<String, String>,
    /// `--target`, if any.
    pub target: Option<&'a str>,
    /// `--platform`, if any.
    pub platform: Option<&'a str>,
}

/// The source hash of a listed and hashed context (format in the module docs).
///
/// ```no_run
/// # use std::collections::BTreeMap;
/// # use camino::Utf8Path;
/// # use xtask::build_context::*;
/// let spec = ContextSpec {
///     context_dir: Utf8Path::new("."),
///     dockerfile: Utf8Path::new("docker/Dockerfile"),
///     builder: Builder::Classic,
/// };
/// let context = list_context(&spec)?;
/// let digests = ContentDigests::compute(&context, Some(Utf8Path::new("target/xtask-cache")))?;
/// let dockerfile = std::fs::read("docker/Dockerfile")?;
/// let build_args = BTreeMap::from([("EXTRAS".to_owned(), "dev".to_owned())]);
/// let input = SourceHashInput {
///     dockerfile: &dockerfile,
///     build_args: &build_args,
///     target: None,
///     platform: None,
/// };
/// let hash: String = source_hash(&context, &digests, &input)?;
/// # anyhow::Ok(())
/// ```
pub fn source_hash(
    context: &BuildContext,
    digests: &ContentDigests,
    input: &SourceHashInput<'_>,
) -> anyhow::Result<String> {
    let mut stream = FieldStream::new();
    stream.field(b"scylla-source-hash/v1");
    stream.field(b"dockerfile");
    stream.field(input.dockerfile);
    stream.field(b"target");
    stream.field(input.target.unwrap_or("").as_bytes());
    stream.field(b"platform");
    stream.field(input.platform.unwrap_or("").as_bytes());
    stream.field(b"build-args");
    stream.count(input.build_args.len());
    for (name, value) in input.build_args {
        stream.field(name.as_bytes());
        stream.field(value.as_bytes());
    }
    stream.field(b"entries");
    stream.count(context.entries.len());
    for entry in &context.entries {
        stream.entry(entry, digests)?;
    }
    Ok(stream.finish())
}

/// The step input hash over `entries` (sorted and deduplicated here).
pub fn step_hash(entries: &[&ContextEntry], digests: &ContentDigests) -> anyhow::Result<String> {
    let mut sorted: Vec<&ContextEntry> = entries.to_vec();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    sorted.dedup_by(|a, b| a.path == b.path);
    let mut stream = FieldStream::new();
    stream.field(b"scylla-step-inputs/v1");
    stream.count(sorted.len());
    for entry in sorted {
        stream.entry(entry, digests)?;
    }
    Ok(stream.finish())
}

/// Length-prefixed fields, collected and hashed at the end (one large `update` is much
/// faster than thousands of small ones, in unoptimised builds especially).
struct FieldStream {
    bytes: Vec<u8>,
}

impl FieldStream {
    fn new() -> FieldStream {
        FieldStream { bytes: Vec::with_capacity(64 * 1024) }
    }

    fn count(&mut self, n: usize) {
        self.bytes.extend_from_slice(&(n as u64).to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        self.count(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }

    fn entry(&mut self, entry: &ContextEntry, digests: &ContentDigests) -> anyhow::Result<()> {
        let kind: &[u8] = match entry.kind {
            EntryKind::File => b"file",
            EntryKind::Symlink => b"symlink",
            EntryKind::Dir => b"dir",
            EntryKind::Special => b"special",
            EntryKind::Generated => b"generated",
        };
        self.field(entry.path.as_bytes());
        self.field(kind);
        self.field(if entry.executable { b"x" } else { b"-" });
        match entry.kind {
            EntryKind::File => {
                let digest = digests
                    .by_path
                    .get(&entry.path)
                    .with_context(|| format!("no content hash for {}", entry.path))?;
                self.field(digest);
            }
            EntryKind::Symlink => self.field(entry.link_target.as_deref().unwrap_or("").as_bytes()),
            EntryKind::Dir | EntryKind::Special | EntryKind::Generated => self.field(b""),
        }
        Ok(())
    }

    fn finish(self) -> String {
        hex(&Sha256::digest(&self.bytes))
    }
}
