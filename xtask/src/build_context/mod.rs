//! The build context as the engine sees it: `.dockerignore` matching, the context listing,
//! content hashes with an incremental cache, the source hash and per-step input hashes.
//!
//! Pure library code: it reads the file system and spawns nothing. The `docker-build` task
//! uses it to list the context (`--list-context`), to decide whether an image is up to date
//! (the source hash stored in a label) and to explain which `COPY`/`ADD` step a change
//! invalidates (per-step input hashes).
//!
//! ```no_run
//! # use std::collections::BTreeMap;
//! # use camino::Utf8Path;
//! use xtask::build_context::*;
//! let spec = ContextSpec {
//!     context_dir: Utf8Path::new("."),
//!     dockerfile: Utf8Path::new("docker/Dockerfile"),
//!     builder: Builder::Classic,
//! };
//! let context = list_context(&spec)?;
//! let digests = ContentDigests::compute(&context, Some(Utf8Path::new("target/xtask-cache")))?;
//! let dockerfile = std::fs::read("docker/Dockerfile")?;
//! let args = BTreeMap::new();
//! let input = SourceHashInput {
//!     dockerfile: &dockerfile,
//!     build_args: &args,
//!     target: None,
//!     platform: None,
//! };
//! let hash = source_hash(&context, &digests, &input)?;
//! let deps = step_inputs(&context, &digests, &["pyproject.toml"])?;
//! # anyhow::Ok(())
//! ```
//!
//! Semantics follow the engine on this project's machines (Docker 20.10, classic builder):
//! the ignore file is `<context>/.dockerignore` only (a `<Dockerfile>.dockerignore` is read by
//! BuildKit alone, see [`Builder`]), patterns are root-anchored and cleaned (it is not
//! gitignore: `*.md` matches at the root only), `!` exceptions re-include with the last
//! matching pattern winning. See [`pattern`], [`ignore`] and [`walk`] for the details the
//! engine tests in `xtask/tests/build_context_engine.rs` pin down, and [`source_hash`] for the
//! hash byte format.

mod digest;
mod glob;
pub mod ignore;
pub mod pattern;
pub mod source_hash;
mod steps;
pub mod walk;

#[cfg(test)]
mod tests;

pub use digest::{hash_files, hex, ContentDigests, Sha256Digest};
pub use glob::{go_clean, BadPattern, GoGlob};
pub use ignore::{select_ignore_file, Builder, IgnoreRules, ParentMatches};
pub use pattern::Pattern;
pub use source_hash::{source_hash, step_hash, SourceHashInput};
pub use steps::{step_inputs, SourceReport, SourceStatus, StepInputs};
pub use walk::{list_context, BuildContext, ContextEntry, ContextSpec, EntryKind, FileStamp};
