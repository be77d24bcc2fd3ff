//! The context lister against a real engine: for each tricky tree, build `FROM scratch` +
//! `COPY . /ctx` with plain `docker build`, export a container of the image, and compare
//! what arrived under `/ctx` (paths, kinds, symlink targets, execute bits) with
//! `list_context`. Without an engine each test prints `skipped: <reason>`.
//!
//! Each tree is also built by podman (buildah inside). Where buildah sends another
//! context than Docker's classic builder, the podman half is skipped and its skip
//! line names the difference. For the project's own `.dockerignore` the only one is the
//! empty `docker/` directory buildah leaves out, which has no content to hash.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use camino::Utf8Path;
use support::{unique_name, Engine, Resource, TEST_LABEL};
use xtask::build_context::{list_context, Builder, ContextSpec, EntryKind};

/// One node of a test tree.
enum Node {
    File(&'static str),
    Exec(&'static str),
    Link(&'static str),
    Dir,
}
use Node::{Dir, Exec, File, Link};

/// A tree: its nodes, where the context and the Dockerfile are (relative to the tree root).
struct Tree {
    nodes: &'static [(&'static str, Node)],
    context: &'static str,
    dockerfile: &'static str,
}

const DOCKERFILE: &str = "FROM scratch\nCOPY . /ctx\n";

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(unique_name("scylla-ctx-engine"));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn materialize(root: &Path, tree: &Tree) {
    for (path, node) in tree.nodes {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        match node {
            File(text) => std::fs::write(&full, text).unwrap(),
            Exec(text) => {
                std::fs::write(&full, text).unwrap();
                std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            Link(target) => std::os::unix::fs::symlink(target, &full).unwrap(),
            Dir => std::fs::create_dir_all(&full).unwrap(),
        }
    }
    let dockerfile = root.join(tree.dockerfile);
    std::fs::create_dir_all(dockerfile.parent().unwrap()).unwrap();
    std::fs::write(dockerfile, DOCKERFILE).unwrap();
}

/// Path → `dir`, `file x|-` or `link -> target`, from the engine's export of `/ctx`.
fn engine_view(engine: &Engine, root: &Path, tree: &Tree) -> BTreeMap<String, String> {
    let name = unique_name("scylla-xtask-ctx-test");
    let tag = format!("{name}:latest");
    let _image = Resource::image(engine, &tag);
    let dockerfile = root.join(tree.dockerfile);
    let context = root.join(tree.context);
    // Podman: no layer cache (every tree is new anyway); its cache lookup races
    // with another test's `rmi` ("getting top layer info: layer not known").
    let no_cache: &[&str] = if engine.is_podman() { &["--layers=false"] } else { &[] };
    let mut argv = vec!["build"];
    argv.extend_from_slice(no_cache);
    argv.extend_from_slice(&[
        "-q",
        "--force-rm",
        "--label",
        TEST_LABEL,
        "-t",
        &tag,
        "-f",
        dockerfile.to_str().unwrap(),
        context.to_str().unwrap(),
    ]);
    engine.run(&argv);
    let _container = Resource::container(engine, &name);
    engine.run(&["create", "--label", TEST_LABEL, "--name", &name, &tag, "/none"]);
    let archive = engine.run(&["export", &name]);
    let mut view = BTreeMap::new();
    for entry in read_tar(&archive) {
        let Some(path) = entry.path.strip_prefix("ctx/") else { continue };
        let path = path.trim_end_matches('/');
        if path.is_empty() {
            continue;
        }
        let description = match entry.kind {
            b'5' => "dir".to_owned(),
            b'2' => format!("link -> {}", entry.link),
            b'0' | b'\0' => format!("file {}", if entry.mode & 0o100 != 0 { "x" } else { "-" }),
            other => format!("type {}", other as char),
        };
        view.insert(path.to_owned(), description);
    }
    view
}

/// The same view from `list_context`.
fn lister_view(root: &Path, tree: &Tree) -> BTreeMap<String, String> {
    let context_dir = Utf8Path::from_path(&root.join(tree.context)).unwrap().to_owned();
    let dockerfile = Utf8Path::from_path(&root.join(tree.dockerfile)).unwrap().to_owned();
    let spec = ContextSpec {
        context_dir: &context_dir,
        dockerfile: &dockerfile,
        builder: Builder::Classic,
    };
    let context = list_context(&spec).unwrap();
    context
        .entries
        .iter()
        .map(|entry| {
            let description = match entry.kind {
                EntryKind::Dir => "dir".to_owned(),
                EntryKind::Symlink => format!("link -> {}", entry.link_target.as_deref().unwrap()),
                EntryKind::File | EntryKind::Generated => {
                    format!("file {}", if entry.executable { "x" } else { "-" })
                }
                EntryKind::Special => "special".to_owned(),
            };
            (entry.path.clone(), description)
        })
        .collect()
}

/// Builds the tree with the engine and asserts that the lister predicted it exactly;
/// returns the engine's view for extra assertions.
fn check(engine: &Engine, tree: &Tree) -> Option<BTreeMap<String, String>> {
    let dir = TempDir::new();
    materialize(&dir.0, tree);
    let expected = engine_view(engine, &dir.0, tree);
    let listed = lister_view(&dir.0, tree);
    assert_eq!(listed, expected, "lister (left) and engine (right) disagree");
    Some(expected)
}

struct TarEntry {
    path: String,
    kind: u8,
    link: String,
    mode: u32,
}

/// The entries of a `docker export` stream, with GNU long names and PAX
/// records already applied by the tar crate.
fn read_tar(bytes: &[u8]) -> Vec<TarEntry> {
    let mut archive = tar::Archive::new(bytes);
    let mut entries = Vec::new();
    for entry in archive.entries().expect("a tar stream") {
        let entry = entry.expect("a tar entry");
        let header = entry.header();
        let kind = header.entry_type().as_byte();
        if matches!(kind, b'g' | b'x') {
            continue;
        }
        let link = entry.link_name().ok().flatten();
        entries.push(TarEntry {
            path: entry.path().expect("a path").to_string_lossy().into_owned(),
            kind,
            link: link.map(|l| l.to_string_lossy().into_owned()).unwrap_or_default(),
            mode: header.mode().unwrap_or(0),
        });
    }
    entries
}

support::engine_tests! {
fn patterns_are_root_anchored_not_gitignore(engine) {
    check(&engine, &Tree {
        nodes: &[
            (".dockerignore", File("*.md\nnode_modules\n")),
            ("README.md", File("r")),
            ("docs/guide.md", File("g")),
            ("node_modules/x/index.js", File("n")),
            ("web/node_modules/y/index.js", File("w")),
            ("src/app.py", File("a")),
        ],
        context: ".",
        dockerfile: "Dockerfile",
    });
}

docker_only = concat!(
    "buildah 1.28 (podman 4.3) does not apply `**.log` or `**foo` (no slash ",
    "after **): it sends x/y/z.log and barfoo, which Docker leaves out",
);
fn double_star_reaches_any_depth(engine) {
    let view = check(&engine, &Tree {
        nodes: &[
            (".dockerignore", File("**/*.pyc\n**/__pycache__\n**.log\n**foo\n")),
            ("a.pyc", File("1")),
            ("pkg/b.pyc", File("2")),
            ("pkg/deep/c.pyc", File("3")),
            ("pkg/__pycache__/m.cpython.pyc", File("4")),
            ("pkg/keep.py", File("5")),
            ("x/y/z.log", File("6")),
            ("barfoo", File("7")),
            ("foobar", File("8")),
        ],
        context: ".",
        dockerfile: "Dockerfile",
    });
    if let Some(view) = view {
        assert!(view.contains_key("pkg/keep.py") && !view.contains_key("barfoo"));
    }
}

fn excluded_directory_with_a_reincluded_file_inside(engine) {
    let view = check(&engine, &Tree {
        nodes: &[
            (".dockerignore", File("docs\n!docs/keep/file.txt\n")),
            ("docs/keep/file.txt", File("k")),
            ("docs/keep/other.txt", File("o")),
            ("docs/top.txt", File("t")),
            ("docs/empty", Dir),
            ("docs/sub/x.txt", File("x")),
        ],
        context: ".",
        dockerfile: "Dockerfile",
    });
    if let Some(view) = view {
        assert!(view.contains_key("docs/keep/file.txt") && !view.contains_key("docs/empty"));
    }
}

fn wildcard_exceptions_do_not_reopen_excluded_directories(engine) {
    check(&engine, &Tree {
        nodes: &[
            (".dockerignore", File("a\n!a/*/f\n!a/b/g\n")),
            ("a/b/f", File("f")),
            ("a/b/g", File("g")),
            ("a/c/f", File("cf")),
        ],
        context: ".",
        dockerfile: "Dockerfile",
    });
}

docker_only = concat!(
    "buildah 1.28 (podman 4.3) lets a `!` exception reopen a directory the ",
    "parent pattern excluded and sends a/f and a/sub/g, which Docker leaves ",
    "out",
);
fn an_exception_skipped_at_the_parent_stays_skipped(engine) {
    let view = check(&engine, &Tree {
        nodes: &[
            (".dockerignore", File("a/*\n!a\nfoo/*\n")),
            ("a/f", File("f")),
            ("a/sub/g", File("g")),
            ("foo/x", File("x")),
        ],
        context: ".",
        dockerfile: "Dockerfile",
    });
    if let Some(view) = view {
        let kept: Vec<&str> = view.keys().map(String::as_str).collect();
        assert_eq!(kept, vec![".dockerignore", "Dockerfile", "a", "foo"]);
    }
}

fn empty_directories_symlinks_and_execute_bits_arrive_as_such(engine) {
    check(&engine, &Tree {
        nodes: &[
            ("empty", Dir),
            ("nested/empty/deeper", Dir),
            ("bin/run.sh", Exec("#!/bin/sh\n")),
            ("bin/data.txt", File("d")),
            ("link-to-file", Link("bin/data.txt")),
            ("link-to-dir", Link("bin")),
            ("dangling", Link("does/not/exist")),
            ("absolute", Link("/etc/hostname")),
        ],
        context: ".",
        dockerfile: "Dockerfile",
    });
}

fn an_excluded_dockerfile_and_ignore_file_are_deleted_by_the_daemon(engine) {
    check(&engine, &Tree {
        nodes: &[(".dockerignore", File("Dockerfile\n.dockerignore\n")), ("app.py", File("a"))],
        context: ".",
        dockerfile: "Dockerfile",
    });
}

docker_only = concat!(
    "buildah 1.28 (podman 4.3) drops an excluded directory that holds the ",
    "Dockerfile; Docker keeps it empty",
);
fn a_dockerfile_in_an_excluded_directory_leaves_that_directory_empty(engine) {
    let view = check(&engine, &Tree {
        nodes: &[
            (".dockerignore", File("docker\n")),
            ("docker/entrypoint.sh", Exec("#!/bin/sh\n")),
            ("src/app.py", File("a")),
        ],
        context: ".",
        dockerfile: "docker/Dockerfile",
    });
    if let Some(view) = view {
        assert_eq!(view.get("docker").map(String::as_str), Some("dir"));
        assert!(!view.keys().any(|path| path.starts_with("docker/")));
    }
}

docker_only = concat!(
    "buildah 1.28 (podman 4.3) does not keep the empty directory of an ",
    "excluded Dockerfile that Docker keeps (`docker`)",
);
fn star_then_exceptions_keeps_only_the_listed_paths(engine) {
    check(&engine, &Tree {
        nodes: &[
            (".dockerignore", File("*\n!src\n!pyproject.toml\n")),
            ("src/pkg/mod.py", File("m")),
            ("src/pkg/data/x.json", File("{}")),
            ("pyproject.toml", File("[project]")),
            ("tests/test_x.py", File("t")),
            ("README.md", File("r")),
        ],
        context: ".",
        dockerfile: "docker/Dockerfile",
    });
}

docker_only = concat!(
    "buildah 1.28 (podman 4.3) reads docker/Dockerfile.dockerignore like ",
    "BuildKit, the lister models the classic builder here",
);
fn the_classic_builder_ignores_dockerfile_specific_ignore_files(engine) {
    let view = check(&engine, &Tree {
        nodes: &[
            ("docker/Dockerfile.dockerignore", File("*.md\n")),
            (".dockerignore", File("*.log\n")),
            ("README.md", File("r")),
            ("build.log", File("l")),
        ],
        context: ".",
        dockerfile: "docker/Dockerfile",
    });
    if let Some(view) = view {
        assert!(view.contains_key("README.md") && !view.contains_key("build.log"));
    }
}

fn patterns_are_cleaned_trimmed_and_commented(engine) {
    check(&engine, &Tree {
        nodes: &[
            (
                ".dockerignore",
                File(
                    "# a comment\n/build/\n./dist\nlogs//old\n   spaced   \n\n#secret\n a/../tmp\n",
                ),
            ),
            ("build/out.o", File("o")),
            ("dist/pkg.whl", File("w")),
            ("logs/old/1.log", File("1")),
            ("logs/new/2.log", File("2")),
            ("spaced", File("s")),
            ("#secret", File("not a pattern")),
            ("tmp/t", File("t")),
        ],
        context: ".",
        dockerfile: "Dockerfile",
    });
}

fn classes_question_marks_escapes_and_last_match(engine) {
    check(&engine, &Tree {
        nodes: &[
            (
                ".dockerignore",
                File("file[0-2].txt\n?.log\n[^a]*.tmp\n\\*star\nsecret\n!secret\nsecret\nfoo**\n"),
            ),
            ("file1.txt", File("1")),
            ("file7.txt", File("7")),
            ("a.log", File("a")),
            ("ab.log", File("ab")),
            ("a1.tmp", File("a")),
            ("b1.tmp", File("b")),
            ("*star", File("s")),
            ("xstar", File("x")),
            ("secret", File("s")),
            ("foo", File("f")),
            ("foobar/x", File("fx")),
            ("fo", File("fo")),
        ],
        context: ".",
        dockerfile: "Dockerfile",
    });
}

fn unusual_names_and_dotfiles(engine) {
    check(&engine, &Tree {
        nodes: &[
            (".dockerignore", File(".git\n.env*\n!.env.example\n")),
            (".git/config", File("c")),
            (".env", File("e")),
            (".env.local", File("l")),
            (".env.example", File("x")),
            ("with space/file name.txt", File("s")),
            ("caf\u{e9}/men\u{fc}.txt", File("u")),
            ("a.b/c", File("c")),
            ("a/b", File("b")),
        ],
        context: ".",
        dockerfile: "Dockerfile",
    });
}

fn a_dockerfile_outside_the_context_leaves_a_generated_ignore_file(engine) {
    check(&engine, &Tree {
        nodes: &[("ctx/app.py", File("a")), ("ctx/lib/util.py", File("u"))],
        context: "ctx",
        dockerfile: "elsewhere/Dockerfile",
    });
    check(&engine, &Tree {
        nodes: &[
            ("ctx/.dockerignore", File("*.txt\n")),
            ("ctx/a.txt", File("a")),
            ("ctx/b.py", File("b")),
        ],
        context: "ctx",
        dockerfile: "elsewhere/Dockerfile",
    });
}
}
