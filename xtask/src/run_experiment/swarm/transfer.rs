//! What crosses between this machine and the results volume, always as a tar
//! stream through the engine (so it works against a remote manager too):
//! the project's inputs and any earlier results go in, `results/<id>/` comes
//! back and is unpacked here as files of the invoking user.

use anyhow::{anyhow, Context as _, Result};
use camino::{Utf8Path, Utf8PathBuf};

/// Project paths every shard needs: the entry script, the runner's sources
/// (the script imports them first) and the fixtures.
pub const STAGED_PATHS: [&str; 3] = ["scripts", "src", "tests/fixtures"];

/// Builds a tar whose entries belong to one uid:gid with modes of at most 0755.
pub struct InputArchive {
    builder: tar::Builder<Vec<u8>>,
    uid: u32,
    gid: u32,
    /// Directories already added: parents are added once.
    dirs: std::collections::BTreeSet<String>,
}

fn skipped(name: &str) -> bool {
    // Caches never, and nothing credential-shaped, even if it sits in a fixture.
    name == "__pycache__" || name.ends_with(".pyc") || name == ".credentials.json"
}

impl InputArchive {
    pub fn new(uid: u32, gid: u32) -> InputArchive {
        // Every header is written by `header` below, so the builder's
        // metadata mode (which applies to files it stats itself) plays no part.
        let builder = tar::Builder::new(Vec::new());
        InputArchive { builder, uid, gid, dirs: Default::default() }
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode & 0o755);
        header.set_uid(u64::from(self.uid));
        header.set_gid(u64::from(self.gid));
        header.set_size(size);
        header.set_mtime(crate::container::host::epoch_seconds());
        header
    }

    /// A directory entry (owned by the run's user, 0755).
    pub fn dir(&mut self, path: &str) -> Result<()> {
        if !self.dirs.insert(path.to_string()) {
            return Ok(());
        }
        let mut header = self.header(tar::EntryType::Directory, 0o755, 0);
        self.builder
            .append_data(&mut header, path, std::io::empty())
            .with_context(|| format!("cannot add {path} to the input archive"))
    }

    /// A file entry with the given bytes.
    pub fn file(&mut self, path: &str, mode: u32, bytes: &[u8]) -> Result<()> {
        let mut header = self.header(tar::EntryType::Regular, mode, bytes.len() as u64);
        self.builder
            .append_data(&mut header, path, bytes)
            .with_context(|| format!("cannot add {path} to the input archive"))
    }

    /// Every parent of `path` (`a`, `a/b` for `a/b/c`) as a directory entry.
    pub fn parents(&mut self, path: &str) -> Result<()> {
        let mut prefix = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            prefix = if prefix.is_empty() { part.to_string() } else { format!("{prefix}/{part}") };
            self.dir(&prefix)?;
        }
        Ok(())
    }

    /// The tree at `source` under the archive path `target` (symlinks kept as links).
    pub fn tree(&mut self, source: &Utf8Path, target: &str) -> Result<()> {
        let walker = walkdir::WalkDir::new(source).follow_links(false).sort_by_file_name();
        let mut entries =
            walker.into_iter().filter_entry(|e| !skipped(&e.file_name().to_string_lossy()));
        while let Some(entry) =
            entries.next().transpose().with_context(|| format!("cannot read {source}"))?
        {
            let relative = entry.path().strip_prefix(source).unwrap_or(entry.path());
            let relative =
                relative.to_str().ok_or_else(|| anyhow!("non-UTF-8 path under {source}"))?;
            let path = if relative.is_empty() {
                target.to_string()
            } else {
                format!("{target}/{relative}")
            };
            self.entry(entry.path(), &path)?;
        }
        Ok(())
    }

    fn entry(&mut self, source: &std::path::Path, path: &str) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::symlink_metadata(source)
            .with_context(|| format!("cannot read {}", source.display()))?;
        let mode = meta.permissions().mode();
        if meta.is_dir() {
            return self.dir(path);
        }
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(source)?;
            let mut header = self.header(tar::EntryType::Symlink, 0o777, 0);
            return self
                .builder
                .append_link(&mut header, path, link)
                .with_context(|| format!("cannot add {path} to the input archive"));
        }
        if meta.is_file() {
            let bytes = std::fs::read(source)
                .with_context(|| format!("cannot read {}", source.display()))?;
            return self.file(path, mode, &bytes);
        }
        Ok(()) // sockets, fifos, devices: nothing a shard reads
    }

    /// A symbolic link at `path` pointing to `target`.
    pub fn link(&mut self, path: &str, target: &str) -> Result<()> {
        let mut header = self.header(tar::EntryType::Symlink, 0o777, 0);
        self.builder
            .append_link(&mut header, path, target)
            .with_context(|| format!("cannot add {path} to the input archive"))
    }

    pub fn finish(self) -> Result<Vec<u8>> {
        self.builder.into_inner().context("cannot finish the input archive")
    }
}

/// What the shards read, under `inputs/<run>/`, plus `results/` and, when
/// resuming, the experiment's results from this machine.
pub struct Inputs<'a> {
    pub project_dir: &'a Utf8Path,
    pub run_name: &'a str,
    /// Extra project-relative paths (a `--tiers-dir` outside the staged ones).
    pub extra_paths: Vec<Utf8PathBuf>,
    pub wrapper: &'a str,
    /// `results/<id>` on this machine to carry over, when resuming.
    pub resume_from: Option<(Utf8PathBuf, String)>,
}

/// The input tar for the seed helper.
pub fn input_archive(inputs: &Inputs, uid: u32, gid: u32) -> Result<Vec<u8>> {
    let mut archive = InputArchive::new(uid, gid);
    let root = format!("inputs/{}", inputs.run_name);
    archive.dir("inputs")?;
    archive.dir(&root)?;
    let mut paths: Vec<Utf8PathBuf> = STAGED_PATHS.iter().map(Utf8PathBuf::from).collect();
    paths.extend(inputs.extra_paths.iter().cloned());
    for relative in paths {
        let source = inputs.project_dir.join(&relative);
        if source.exists() {
            let target = format!("{root}/{relative}");
            archive.parents(&target)?;
            archive.tree(&source, &target)?;
        }
    }
    archive.file(
        &format!("{root}/{}", super::plan::SHARD_WRAPPER),
        0o644,
        inputs.wrapper.as_bytes(),
    )?;
    // The runner's default `--results-dir results` then lands in the volume's results/.
    archive.link(&format!("{root}/results"), "../../results")?;
    archive.dir("results")?;
    if let Some((dir, id)) = &inputs.resume_from {
        if dir.is_dir() {
            archive.tree(dir, &format!("results/{id}"))?;
        }
    }
    archive.finish()
}

/// Unpacks `results/<id>/` from `bytes` (a tar of `<id>/...`) into
/// `results_dir`; entries outside `<id>/` are refused. Returns the file count.
pub fn unpack_results(bytes: &[u8], results_dir: &Utf8Path, experiment_id: &str) -> Result<usize> {
    std::fs::create_dir_all(results_dir).with_context(|| format!("cannot create {results_dir}"))?;
    let mut archive = tar::Archive::new(bytes);
    archive.set_overwrite(true);
    let mut files = 0;
    for entry in archive.entries().context("cannot read the results archive")? {
        let mut entry = entry.context("cannot read the results archive")?;
        let path = entry.path().context("bad path in the results archive")?.into_owned();
        let first = path.components().next().map(|c| c.as_os_str().to_owned());
        if first.as_deref() != Some(std::ffi::OsStr::new(experiment_id)) {
            return Err(anyhow!("unexpected entry {} in the results archive", path.display()));
        }
        if entry.header().entry_type().is_file() {
            files += 1;
        }
        let unpacked = entry
            .unpack_in(results_dir)
            .with_context(|| format!("cannot write {} under {results_dir}", path.display()))?;
        if !unpacked {
            return Err(anyhow!("refused to write {} outside {results_dir}", path.display()));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory (removed when the first value is dropped) and its path.
    fn temp_dir(name: &str) -> (tempfile::TempDir, Utf8PathBuf) {
        let dir = tempfile::Builder::new().prefix(name).tempdir().unwrap();
        let path = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
        (dir, path)
    }

    fn listing(bytes: &[u8]) -> Vec<(String, u64, u32)> {
        let mut archive = tar::Archive::new(bytes);
        archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (e.path().unwrap().display().to_string(), h.uid().unwrap(), h.mode().unwrap())
            })
            .collect()
    }

    #[test]
    fn inputs_are_staged_under_the_run_owned_by_the_user_without_caches() {
        let (_scratch, project) = temp_dir("swarm-inputs");
        std::fs::create_dir_all(project.join("scripts/__pycache__")).unwrap();
        std::fs::write(project.join("scripts/run.py"), "print(1)").unwrap();
        std::fs::write(project.join("scripts/__pycache__/run.pyc"), "x").unwrap();
        std::fs::create_dir_all(project.join("tests/fixtures/t")).unwrap();
        std::fs::write(project.join("tests/fixtures/t/.credentials.json"), "no").unwrap();
        std::os::unix::fs::symlink("run.py", project.join("scripts/link.py")).unwrap();
        let inputs = Inputs {
            project_dir: &project,
            run_name: "r1",
            extra_paths: Vec::new(),
            wrapper: "print('w')",
            resume_from: None,
        };
        let entries = listing(&input_archive(&inputs, 4321, 8765).unwrap());
        let paths: Vec<&str> = entries.iter().map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "inputs",
                "inputs/r1",
                "inputs/r1/scripts",
                "inputs/r1/scripts/link.py",
                "inputs/r1/scripts/run.py",
                "inputs/r1/tests",
                "inputs/r1/tests/fixtures",
                "inputs/r1/tests/fixtures/t",
                "inputs/r1/.scylla-swarm-shard.py",
                "inputs/r1/results",
                "results",
            ]
        );
        assert!(entries.iter().all(|(_, uid, mode)| *uid == 4321 && mode & 0o022 == 0));
    }

    #[test]
    fn earlier_results_are_carried_over_when_resuming() {
        let (_scratch, project) = temp_dir("swarm-resume");
        std::fs::create_dir_all(project.join("results/e1/T0/run-1")).unwrap();
        std::fs::write(project.join("results/e1/T0/run-1/result.json"), "{}").unwrap();
        let inputs = Inputs {
            project_dir: &project,
            run_name: "r2",
            extra_paths: Vec::new(),
            wrapper: "",
            resume_from: Some((project.join("results/e1"), "e1".into())),
        };
        let entries = listing(&input_archive(&inputs, 1, 1).unwrap());
        assert!(entries.iter().any(|(p, _, _)| p == "results/e1/T0/run-1/result.json"));
    }

    #[test]
    fn results_unpack_under_the_experiment_only() {
        let mut archive = InputArchive::new(0, 0);
        archive.dir("e1").unwrap();
        archive.file("e1/T0/run-1/result.json", 0o644, b"{\"score\": 1}").unwrap();
        let bytes = archive.finish().unwrap();
        let (_scratch, dest) = temp_dir("swarm-unpack");
        assert_eq!(unpack_results(&bytes, &dest, "e1").unwrap(), 1);
        let text = std::fs::read_to_string(dest.join("e1/T0/run-1/result.json")).unwrap();
        assert_eq!(text, "{\"score\": 1}");
        let message = unpack_results(&bytes, &dest, "other").unwrap_err().to_string();
        assert!(message.contains("unexpected entry e1"), "{message}");
    }
}
