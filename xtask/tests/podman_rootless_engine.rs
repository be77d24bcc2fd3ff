//! Rootless podman: `run-experiment` as a non-root user writes results that user
//! owns, through `--userns keep-id` (no `chmod 777`); root never gets keep-id.
//!
//! The user is made by `tests/offline/prepare.sh --engine podman` (`scylla-rootless`,
//! or `SCYLLA_ROOTLESS_USER`): subordinate ids, native overlay storage (vfs breaks
//! keep-id here, fuse-overlayfs may not mount) and the host network
//! (slirp4netns cannot open /dev/net/tun). The test switches to it with `runuser`,
//! copies the podman test image into its storage once (`podman save | podman load`,
//! skipped while the ids match, older copies pruned), and leaves both for the next run.

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use support::project::{command, fake_project, test_image, text};
use support::Engine;

/// The prepared non-root user.
fn rootless_user() -> String {
    std::env::var("SCYLLA_ROOTLESS_USER").unwrap_or_else(|_| "scylla-rootless".to_string())
}

/// `uid gid home` of `user` from the password database, if the user exists.
fn account(user: &str) -> Option<(u32, u32, String)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|line| line.split(':').next() == Some(user))?;
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields[2].parse().ok()?, fields[3].parse().ok()?, fields[5].to_string()))
}

/// `program args` as `user`, with a clean environment (HOME and PATH of that user).
fn as_user(user: &str, home: &str, program: &str) -> Command {
    let mut cmd = command("runuser");
    cmd.args(["-u", user, "--", "env", "-i"])
        .arg(format!("HOME={home}"))
        .arg(format!("USER={user}"))
        .arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .arg("NO_COLOR=1")
        .arg(program)
        .current_dir(home);
    cmd
}

/// Makes `image` (from root's podman) present in `user`'s podman storage.
fn load_image_for(user: &str, home: &str, engine: &Engine, image: &str) {
    let id = |out: Output| text(&out.stdout).trim().to_string();
    let root_id = id(engine.output(&["image", "inspect", "--format", "{{.Id}}", image]));
    let user_id = id(as_user(user, home, "podman")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .unwrap());
    if root_id == user_id {
        return;
    }
    let mut save = command("podman").args(["save", image]).stdout(Stdio::piped()).spawn().unwrap();
    let load = as_user(user, home, "podman")
        .args(["load", "--quiet"])
        .stdin(save.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(save.wait().unwrap().success(), "podman save {image} failed");
    assert!(load.status.success(), "podman load as {user}: {}", text(&load.stderr));
    // The copy it replaced is now untagged: keep the user's storage to one copy.
    let _ = as_user(user, home, "podman").args(["image", "prune", "--force"]).output();
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    for entry in walkdir::WalkDir::new(path) {
        std::os::unix::fs::chown(entry.unwrap().path(), Some(uid), Some(gid)).unwrap();
    }
}

/// The `create` (or `run`) line xtask echoed (`-v` echoes engine commands).
fn create_line(stderr: &str) -> String {
    stderr
        .lines()
        .find(|line| line.contains(" create --name ") || line.contains(" run --name "))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn rootless_results_belong_to_the_user_through_keep_id() {
    let Some(engine) = support::engine_named("podman") else { return };
    let user = rootless_user();
    let required = std::env::var(support::REQUIRE_PODMAN).as_deref() == Ok("1");
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    let Some((uid, gid, home)) = account(&user).filter(|_| me == 0) else {
        let why = format!(
            "needs root and the user {user} \
             (made by: bash tests/offline/prepare.sh --engine podman)"
        );
        assert!(!required, "{}=1 but the rootless test {why}", support::REQUIRE_PODMAN);
        support::skip_on_podman(&why);
        return;
    };
    let image = test_image(&engine);
    load_image_for(&user, &home, &engine, image);
    let project = fake_project(
        "import os\n\
         open('results/out.txt', 'w').write(str(os.getuid()))\n\
         print('uid', os.getuid())\n",
    );
    chown_tree(&project.path, uid, gid);

    let out = as_user(&user, &home, env!("CARGO_BIN_EXE_xtask"))
        .args(["-v", "--engine", "podman", "--project-dir", project.path.to_str().unwrap()])
        .args(["run-experiment", "--no-build", "--image", image])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "rootless run failed: {stderr}");
    let create = create_line(&stderr);
    assert!(create.contains(&format!(" --userns keep-id --user {uid}:{gid} ")), "{create}");
    // keep-id maps the user to the same uid inside, so the process runs as them...
    assert!(text(&out.stdout).lines().any(|line| line == format!("uid {uid}")), "{stderr}");
    // ...and what it writes on the mount is theirs on the host, with no world bit.
    let written = std::fs::metadata(project.path.join("results/out.txt")).unwrap();
    assert_eq!((written.uid(), written.gid()), (uid, gid));
    let results = std::fs::metadata(project.path.join("results")).unwrap();
    assert_eq!(results.uid(), uid);
    assert_eq!(results.mode() & 0o002, 0, "results/ must not be world-writable");
}

#[test]
fn root_never_gets_keep_id() {
    let Some(engine) = support::engine_named("podman") else { return };
    let me = std::fs::metadata("/proc/self").unwrap().uid();
    if me != 0 {
        support::skip_on_podman(&format!("runs as uid {me}: the root path needs root"));
        return;
    }
    let image = test_image(&engine);
    let project = fake_project("import os\nprint('uid', os.getuid())\n");
    let out = engine.run_xtask(&[
        "-v",
        "--project-dir",
        project.path.to_str().unwrap(),
        "run-experiment",
        "--no-build",
        "--image",
        image,
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let create = create_line(&stderr);
    assert!(!create.is_empty(), "no create or run line: {stderr}");
    assert!(!create.contains("keep-id"), "podman refuses keep-id for root: {create}");
    assert!(text(&out.stdout).lines().any(|line| line == format!("uid {me}")), "{stderr}");
}
