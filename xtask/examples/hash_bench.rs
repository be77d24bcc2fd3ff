//! Benchmark driver for build-context hashing (see `docs/benchmarks.md`, "Build context
//! hashing"); run it under `hyperfine` next to `sha256sum`.
//!
//! ```text
//! hash_bench files FILE...                     SHA-256 of each file, in parallel; prints
//!                                              `<hex>  <path>` lines like sha256sum
//! hash_bench source CONTEXT [DOCKERFILE] [--cache DIR]
//!                                              list the context, hash it (incrementally
//!                                              with --cache), print the source hash and
//!                                              what was reused; DOCKERFILE defaults to
//!                                              CONTEXT/Dockerfile
//! hash_bench make-tree DIR COUNT MIN_KIB MAX_KIB
//!                                              write COUNT deterministic files of
//!                                              MIN_KIB..=MAX_KIB KiB under DIR, spread
//!                                              over nested directories, plus a Dockerfile
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context as _};
use camino::{Utf8Path, Utf8PathBuf};
use xtask::build_context::{
    hash_files, hex, list_context, source_hash, Builder, ContentDigests, ContextSpec,
    SourceHashInput,
};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("files") => files(&args[1..]),
        Some("source") => source(&args[1..]),
        Some("make-tree") => make_tree(&args[1..]),
        _ => bail!(
            "usage: hash_bench files FILE... | source CONTEXT [DOCKERFILE] [--cache DIR] \
             | make-tree DIR COUNT MIN_KIB MAX_KIB"
        ),
    }
}

fn files(paths: &[String]) -> anyhow::Result<()> {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let digests = hash_files(&paths)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (path, digest) in paths.iter().zip(digests) {
        writeln!(out, "{}  {}", hex(&digest), path.display())?;
    }
    Ok(())
}

fn source(args: &[String]) -> anyhow::Result<()> {
    let mut positional = Vec::new();
    let mut cache = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--cache" {
            cache = Some(Utf8PathBuf::from(rest.next().context("--cache needs a directory")?));
        } else {
            positional.push(Utf8PathBuf::from(arg));
        }
    }
    let context_dir = positional.first().context("missing CONTEXT")?.clone();
    let dockerfile = positional.get(1).cloned().unwrap_or_else(|| context_dir.join("Dockerfile"));
    let started = Instant::now();
    let spec = ContextSpec {
        context_dir: &context_dir,
        dockerfile: &dockerfile,
        builder: Builder::Classic,
    };
    let context = list_context(&spec)?;
    let listed = started.elapsed();
    let digests = ContentDigests::compute(&context, cache.as_deref())?;
    let digested = started.elapsed();
    let bytes = std::fs::read(&dockerfile).with_context(|| format!("cannot read {dockerfile}"))?;
    let args = BTreeMap::new();
    let input =
        SourceHashInput { dockerfile: &bytes, build_args: &args, target: None, platform: None };
    let hash = source_hash(&context, &digests, &input)?;
    println!(
        "{hash}  entries={} reused={} hashed={} list_ms={:.1} digests_ms={:.1} total_ms={:.1}",
        context.entries.len(),
        digests.reused,
        digests.hashed,
        listed.as_secs_f64() * 1000.0,
        (digested - listed).as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

fn make_tree(args: &[String]) -> anyhow::Result<()> {
    let [dir, count, min_kib, max_kib] = args else {
        bail!("usage: hash_bench make-tree DIR COUNT MIN_KIB MAX_KIB");
    };
    let dir = Utf8Path::new(dir);
    let count: usize = count.parse().context("COUNT must be a number")?;
    let min: usize = min_kib.parse().context("MIN_KIB must be a number")?;
    let max: usize = max_kib.parse().context("MAX_KIB must be a number")?;
    if min > max {
        bail!("MIN_KIB must not exceed MAX_KIB");
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        // xorshift64*: deterministic filler, so every run builds the same tree.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for index in 0..count {
        let path = dir.join(format!("d{:02}/s{:02}/file{index:05}.dat", index % 23, index % 7));
        std::fs::create_dir_all(path.parent().context("file without parent")?)?;
        let size = 1024 * (min + (next() as usize) % (max - min + 1));
        let data: Vec<u8> = (0..size.div_ceil(8)).flat_map(|_| next().to_le_bytes()).collect();
        std::fs::write(&path, &data[..size]).with_context(|| format!("cannot write {path}"))?;
    }
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\nCOPY . /ctx\n")?;
    Ok(())
}
