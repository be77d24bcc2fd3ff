//! The source hash, the content cache and per-step inputs on real temporary trees.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use camino::{Utf8Path, Utf8PathBuf};
use sha2::{Digest, Sha256};

use crate::build_context::*;

/// A temporary directory, removed when its `tempfile::TempDir` is dropped.
pub(super) struct TempTree(pub Utf8PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl TempTree {
    pub(super) fn new(files: &[(&str, &str)]) -> TempTree {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
        let tree = TempTree(root, dir);
        for (path, text) in files {
            tree.write(path, text);
        }
        tree
    }

    pub(super) fn write(&self, path: &str, text: &str) {
        let full = self.0.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    pub(super) fn list(&self) -> BuildContext {
        let dockerfile = self.0.join("Dockerfile");
        if !dockerfile.exists() {
            self.write("Dockerfile", "FROM scratch\nCOPY . /ctx\n");
        }
        let spec = ContextSpec {
            context_dir: &self.0,
            dockerfile: &dockerfile,
            builder: Builder::Classic,
        };
        list_context(&spec).unwrap()
    }
}

const FILES: &[(&str, &str)] = &[
    ("Dockerfile", "FROM scratch\nCOPY . /ctx\n"),
    ("pyproject.toml", "[project]\nname = \"scylla\"\n"),
    ("src/scylla/__init__.py", ""),
    ("src/scylla/core.py", "print('core')\n"),
    ("scripts/run.sh", "#!/bin/sh\necho run\n"),
];

fn hash_with(tree: &TempTree, args: &BTreeMap<String, String>, target: Option<&str>) -> String {
    let context = tree.list();
    let digests = ContentDigests::compute(&context, None).unwrap();
    let dockerfile = std::fs::read(tree.0.join("Dockerfile")).unwrap();
    let input =
        SourceHashInput { dockerfile: &dockerfile, build_args: args, target, platform: None };
    source_hash(&context, &digests, &input).unwrap()
}

fn hash(tree: &TempTree) -> String {
    hash_with(tree, &BTreeMap::new(), None)
}

#[test]
fn the_hash_ignores_mtimes_owners_location_and_creation_order() {
    let first = TempTree::new(FILES);
    let reversed: Vec<(&str, &str)> = FILES.iter().rev().copied().collect();
    let second = TempTree::new(&reversed);
    let reference = hash(&first);
    assert_eq!(hash(&second), reference, "another directory, another creation order");
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let file = std::fs::File::options().write(true).open(first.0.join("pyproject.toml")).unwrap();
    file.set_modified(old).unwrap();
    std::os::unix::fs::chown(first.0.join("src/scylla/core.py"), Some(4321), Some(4321)).unwrap();
    std::fs::set_permissions(first.0.join("pyproject.toml"), PermissionsExt::from_mode(0o600))
        .unwrap();
    assert_eq!(hash(&first), reference, "mtime, owner and non-execute bits");
}

#[test]
fn the_hash_changes_with_every_input_that_shapes_the_image() {
    let tree = TempTree::new(FILES);
    let mut seen = vec![hash(&tree)];
    let mut expect_new = |value: String, what: &str| {
        assert!(!seen.contains(&value), "{what} did not change the hash");
        seen.push(value);
    };
    let args = BTreeMap::from([("EXTRAS".to_owned(), "dev".to_owned())]);
    expect_new(hash_with(&tree, &args, None), "a build arg");
    let args = BTreeMap::from([("EXTRAS".to_owned(), "analysis".to_owned())]);
    expect_new(hash_with(&tree, &args, None), "a build arg value");
    expect_new(hash_with(&tree, &BTreeMap::new(), Some("runtime")), "the target");
    tree.write("src/scylla/core.py", "print('changed')\n");
    expect_new(hash(&tree), "file content");
    let script = tree.0.join("scripts/run.sh");
    std::fs::set_permissions(&script, PermissionsExt::from_mode(0o755)).unwrap();
    expect_new(hash(&tree), "the execute bit");
    std::os::unix::fs::symlink("src/scylla/core.py", tree.0.join("current")).unwrap();
    expect_new(hash(&tree), "a new symlink");
    std::fs::remove_file(tree.0.join("current")).unwrap();
    std::os::unix::fs::symlink("src/scylla/__init__.py", tree.0.join("current")).unwrap();
    expect_new(hash(&tree), "a symlink target");
    std::fs::create_dir(tree.0.join("empty")).unwrap();
    expect_new(hash(&tree), "an empty directory");
    tree.write("Dockerfile", "FROM scratch\nCOPY . /ctx/\n");
    expect_new(hash(&tree), "the Dockerfile bytes");
    tree.write(".dockerignore", "scripts\n");
    expect_new(hash(&tree), "an ignore file that drops files");
}

#[test]
fn the_byte_format_is_the_documented_one() {
    let tree = TempTree::new(&[("a", "x"), ("d/b", "yy")]);
    std::os::unix::fs::symlink("a", tree.0.join("l")).unwrap();
    std::fs::set_permissions(tree.0.join("d/b"), PermissionsExt::from_mode(0o755)).unwrap();
    let args = BTreeMap::from([("K".to_owned(), "V".to_owned())]);
    let actual = hash_with(&tree, &args, Some("t"));

    let dockerfile = b"FROM scratch\nCOPY . /ctx\n";
    let mut stream: Vec<u8> = Vec::new();
    let field = |s: &mut Vec<u8>, bytes: &[u8]| {
        s.extend((bytes.len() as u64).to_be_bytes());
        s.extend(bytes);
    };
    for part in [&b"scylla-source-hash/v1"[..], b"dockerfile", dockerfile, b"target", b"t"] {
        field(&mut stream, part);
    }
    for part in [&b"platform"[..], b"", b"build-args"] {
        field(&mut stream, part);
    }
    stream.extend(1u64.to_be_bytes());
    field(&mut stream, b"K");
    field(&mut stream, b"V");
    field(&mut stream, b"entries");
    stream.extend(5u64.to_be_bytes());
    let content = |text: &[u8]| Sha256::digest(text).to_vec();
    let records: [[Vec<u8>; 4]; 5] = [
        [b"Dockerfile".to_vec(), b"file".to_vec(), b"-".to_vec(), content(dockerfile)],
        [b"a".to_vec(), b"file".to_vec(), b"-".to_vec(), content(b"x")],
        [b"d".to_vec(), b"dir".to_vec(), b"-".to_vec(), Vec::new()],
        [b"d/b".to_vec(), b"file".to_vec(), b"x".to_vec(), content(b"yy")],
        [b"l".to_vec(), b"symlink".to_vec(), b"-".to_vec(), b"a".to_vec()],
    ];
    for record in &records {
        for part in record {
            field(&mut stream, part);
        }
    }
    assert_eq!(actual, hex(&Sha256::digest(&stream)));
}

#[test]
fn hash_files_matches_known_digests_in_order() {
    let tree = TempTree::new(&[("one", "abc"), ("two", "")]);
    let paths = vec![tree.0.join("one").into(), tree.0.join("two").into()];
    let digests = hash_files(&paths).unwrap();
    assert_eq!(
        hex(&digests[0]),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&digests[1]),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let error = hash_files(&[tree.0.join("missing").into()]).unwrap_err();
    assert!(format!("{error:#}").starts_with("cannot read "), "{error:#}");
}

fn cache_file(cache: &Utf8Path) -> Utf8PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one cache file, no temporary left behind: {files:?}");
    Utf8PathBuf::from_path_buf(files.remove(0)).unwrap()
}

#[test]
fn the_cache_reuses_settled_files_and_rehashes_changed_ones() {
    let tree = TempTree::new(FILES);
    let cache = TempTree::new(&[]);
    // Let the timestamp clock tick past the files' creation (racily clean otherwise).
    std::thread::sleep(Duration::from_millis(50));
    let context = tree.list();
    let cold = ContentDigests::compute(&context, Some(&cache.0)).unwrap();
    assert_eq!((cold.reused, cold.hashed), (0, FILES.len()));
    let warm = ContentDigests::compute(&tree.list(), Some(&cache.0)).unwrap();
    assert_eq!((warm.reused, warm.hashed), (FILES.len(), 0));
    assert_eq!(warm.by_path, cold.by_path);

    // Same size, mtime put back: the ctime still moves, so the content is read again.
    let path = tree.0.join("src/scylla/core.py");
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    tree.write("src/scylla/core.py", "print('CORE')\n");
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
    let changed = ContentDigests::compute(&tree.list(), Some(&cache.0)).unwrap();
    assert_eq!((changed.reused, changed.hashed), (FILES.len() - 1, 1));
    assert_ne!(changed.by_path["src/scylla/core.py"], cold.by_path["src/scylla/core.py"]);
    cache_file(&cache.0);
}

#[test]
fn files_not_older_than_the_cache_are_racily_clean_and_reread() {
    let tree = TempTree::new(FILES);
    let cache = TempTree::new(&[]);
    std::thread::sleep(Duration::from_millis(50));
    ContentDigests::compute(&tree.list(), Some(&cache.0)).unwrap();
    // Pretend the cache was written before the files last changed: a same-size rewrite in
    // the same clock tick would look exactly like this, so no stored hash may be trusted.
    let file = cache_file(&cache.0);
    let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1);
    std::fs::File::options().write(true).open(&file).unwrap().set_modified(long_ago).unwrap();
    let racy = ContentDigests::compute(&tree.list(), Some(&cache.0)).unwrap();
    assert_eq!((racy.reused, racy.hashed), (0, FILES.len()));
    // That run rewrote the cache, so the next one trusts it again.
    let settled = ContentDigests::compute(&tree.list(), Some(&cache.0)).unwrap();
    assert_eq!((settled.reused, settled.hashed), (FILES.len(), 0));
}

#[test]
fn a_cache_that_cannot_be_written_is_reported_not_fatal() {
    let tree = TempTree::new(FILES);
    let cache = TempTree::new(&[("file", "")]);
    let unwritable = cache.0.join("file/cache");
    let digests = ContentDigests::compute(&tree.list(), Some(&unwritable)).unwrap();
    assert_eq!(digests.by_path, ContentDigests::compute(&tree.list(), None).unwrap().by_path);
    let error = digests.cache_error.expect("the reason is kept");
    assert!(error.starts_with("cannot create"), "{error}");
}

#[test]
fn a_corrupt_or_foreign_cache_means_rehash_not_failure() {
    let tree = TempTree::new(FILES);
    let cache = TempTree::new(&[]);
    std::thread::sleep(Duration::from_millis(50));
    let reference = ContentDigests::compute(&tree.list(), Some(&cache.0)).unwrap();
    let file = cache_file(&cache.0);
    let text = std::fs::read_to_string(&file).unwrap();
    for broken in [
        String::new(),
        "garbage\n".to_owned(),
        text.replace("scylla-content-hashes v2", "scylla-content-hashes v1"),
        format!("{text}{} 1 2 3 4 bad\\q\n", "0".repeat(64)),
        format!("{text}truncated line\n"),
        text.replace(&hex(&reference.by_path["pyproject.toml"])[..10], "zzzzzzzzzz"),
    ] {
        std::fs::write(&file, broken).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let digests = ContentDigests::compute(&tree.list(), Some(&cache.0)).unwrap();
        assert_eq!(digests.by_path, reference.by_path);
    }
}

fn steps(tree: &TempTree, sources: &[&str]) -> StepInputs {
    let context = tree.list();
    let digests = ContentDigests::compute(&context, None).unwrap();
    step_inputs(&context, &digests, sources).unwrap()
}

#[test]
fn copy_sources_resolve_like_the_classic_builder() {
    let tree = TempTree::new(&[
        ("pyproject.toml", "p"),
        ("src/a.py", "a"),
        ("src/pkg/b.py", "b"),
        ("src/pkg/data.json", "{}"),
        ("notes.md", "n"),
        (".dockerignore", "secret.txt\n"),
        ("secret.txt", "s"),
    ]);
    std::os::unix::fs::symlink("src/pkg", tree.0.join("pkglink")).unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["src/*.py"], &["src/a.py"]),
        (&["src/*/*.py"], &["src/pkg/b.py"]),
        (&["./pyproject.toml", "/notes.md"], &["notes.md", "pyproject.toml"]),
        (&["src/pkg"], &["src/pkg", "src/pkg/b.py", "src/pkg/data.json"]),
        (&["src/pkg/"], &["src/pkg", "src/pkg/b.py", "src/pkg/data.json"]),
        (&["s?c/[ab].py"], &["src/a.py"]),
        (&["../../pyproject.toml"], &["pyproject.toml"]),
        (&["pkglink/b.py"], &["pkglink", "src/pkg/b.py"]),
        (&["*.toml", "pyproject.toml"], &["pyproject.toml"]),
    ];
    for (sources, expected) in cases {
        let step = steps(&tree, sources);
        assert_eq!(step.paths, *expected, "{sources:?}");
        assert_eq!(step.problems().count(), 0, "{sources:?}");
    }
    let everything = steps(&tree, &["."]);
    assert!(everything.paths.contains(&"src/pkg/b.py".to_owned()));
    assert!(!everything.paths.contains(&"secret.txt".to_owned()));
}

#[test]
fn missing_excluded_and_remote_sources_are_reported_as_data() {
    let tree = TempTree::new(&[(".dockerignore", "secret.txt\nbuild\n"), ("secret.txt", "s")]);
    tree.write("build/out/x.o", "o");
    tree.write("ok.txt", "ok");
    let step =
        steps(&tree, &["ok.txt", "secret.txt", "build/*/x.o", "nope/", "*.zip", "https://x/y"]);
    let statuses: Vec<(&str, &SourceStatus)> =
        step.sources.iter().map(|s| (s.source.as_str(), &s.status)).collect();
    assert_eq!(
        statuses,
        vec![
            ("ok.txt", &SourceStatus::Found { count: 1 }),
            ("secret.txt", &SourceStatus::Excluded { on_disk: vec!["secret.txt".to_owned()] }),
            ("build/*/x.o", &SourceStatus::Excluded { on_disk: vec!["build/out/x.o".to_owned()] }),
            ("nope/", &SourceStatus::Missing),
            ("*.zip", &SourceStatus::Missing),
            ("https://x/y", &SourceStatus::Remote),
        ]
    );
    assert_eq!(step.problems().count(), 4);
}

#[test]
fn a_step_hash_moves_only_with_its_own_inputs() {
    let tree = TempTree::new(&[("pyproject.toml", "p"), ("src/a.py", "a")]);
    let deps = steps(&tree, &["pyproject.toml"]).hash;
    let code = steps(&tree, &["src/"]).hash;
    tree.write("src/a.py", "changed");
    assert_eq!(steps(&tree, &["pyproject.toml"]).hash, deps, "a src/ change");
    assert_ne!(steps(&tree, &["src/"]).hash, code);
    tree.write("pyproject.toml", "p2");
    assert_ne!(steps(&tree, &["pyproject.toml"]).hash, deps);
}

#[test]
fn listing_lines_show_files_links_and_only_empty_directories() {
    let tree = TempTree::new(&[("a/b.txt", "b"), ("a.b", "x"), (".dockerignore", "c/*\n")]);
    tree.write("c/gone", "excluded: c stays as an empty directory");
    std::fs::create_dir_all(tree.0.join("e/f")).unwrap();
    std::os::unix::fs::symlink("a", tree.0.join("l")).unwrap();
    let lines = tree.list().lines();
    assert_eq!(lines, vec![".dockerignore", "Dockerfile", "a.b", "a/b.txt", "c/", "e/f/", "l"]);
}

#[test]
fn buildkit_prefers_the_dockerfile_specific_ignore_file() {
    let tree = TempTree::new(&[
        ("docker/Dockerfile", "FROM scratch\n"),
        ("docker/Dockerfile.dockerignore", "*.md\ndocker\n"),
        (".dockerignore", "*.txt\n"),
        ("README.md", "r"),
        ("notes.txt", "n"),
    ]);
    let dockerfile = tree.0.join("docker/Dockerfile");
    let chosen = |builder| select_ignore_file(&tree.0, &dockerfile, builder);
    assert_eq!(chosen(Builder::BuildKit), Some(tree.0.join("docker/Dockerfile.dockerignore")));
    assert_eq!(chosen(Builder::Classic), Some(tree.0.join(".dockerignore")));
    let list = |builder| {
        let spec = ContextSpec { context_dir: &tree.0, dockerfile: &dockerfile, builder };
        list_context(&spec).unwrap().lines()
    };
    // BuildKit sends the Dockerfile separately: nothing forces it into the context.
    assert_eq!(list(Builder::BuildKit), vec![".dockerignore", "notes.txt"]);
    let classic =
        vec![".dockerignore", "README.md", "docker/Dockerfile", "docker/Dockerfile.dockerignore"];
    assert_eq!(list(Builder::Classic), classic);
}

#[test]
fn bad_input_gives_one_clear_error() {
    let tree = TempTree::new(&[(".dockerignore", "ok\n[broken\n")]);
    let missing = tree.0.join("nope/Dockerfile");
    let spec =
        ContextSpec { context_dir: &tree.0, dockerfile: &missing, builder: Builder::Classic };
    let error = format!("{:#}", list_context(&spec).unwrap_err());
    assert!(error.starts_with("cannot find the Dockerfile "), "{error}");
    tree.write("Dockerfile", "FROM scratch\n");
    let dockerfile = tree.0.join("Dockerfile");
    let spec =
        ContextSpec { context_dir: &tree.0, dockerfile: &dockerfile, builder: Builder::Classic };
    let error = format!("{:#}", list_context(&spec).unwrap_err());
    assert!(error.contains("invalid ignore file") && error.contains("line 2"), "{error}");
}
