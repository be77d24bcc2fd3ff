//! Unit tests of the swarm plan: the exact argv of every engine command.

use super::*;

fn request() -> SwarmRequest {
    SwarmRequest {
        run_name: "scylla-swarm-1-abcd".into(),
        owner_tag: "h:1:2".into(),
        uid: 1000,
        gid: 100,
        shards: 4,
        max_concurrent: 2,
        constraints: vec!["node.role==worker".into()],
        retries: 2,
        volume: ResultsVolume { name: "scylla-swarm-1-abcd".into(), created_by_run: true },
        experiment_id: "test-001-T0-T1".into(),
        fresh: false,
        experiment_args: vec!["--tiers".into(), "T0".into(), "T1".into()],
        limits: Limits { memory: "8g".into(), cpus: "2".into(), pids: 4096 },
        cache_volumes: false,
        project_dir: "/p".into(),
        extra_paths: Vec::new(),
        plain_env: Vec::new(),
    }
}

fn image(local: bool) -> ServiceImage {
    let delivery = if local {
        Delivery::Local
    } else {
        Delivery::Push(PlannedPush {
            registry: "127.0.0.1:5000".into(),
            repository: "127.0.0.1:5000/scylla-runner".into(),
            tag: "127.0.0.1:5000/scylla-runner:111122223333".into(),
        })
    };
    ServiceImage { id: "sha256:1111".into(), source_hash: Some("h".into()), delivery }
}

/// What the commands name the image by: the local id, or the digest the push returned.
fn reference(local: bool) -> &'static str {
    if local {
        "sha256:1111"
    } else {
        "127.0.0.1:5000/scylla-runner@sha256:2222"
    }
}

fn plan(local: bool) -> SwarmPlan {
    let files = ["scylla-env-ANTHROPIC_API_KEY", "scylla-claude-credentials"];
    SwarmPlan::new(request(), image(local), &files)
}

#[test]
fn one_replicated_service_with_secrets_volume_and_the_shard_wrapper() {
    let command = plan(false).service_create(reference(false));
    let expected = [
        "service",
        "create",
        "--detach",
        "--quiet",
        "--name",
        "scylla-swarm-1-abcd",
        "--label",
        "org.scylla.xtask.role=run-experiment-swarm",
        "--label",
        "org.scylla.xtask.owner=h:1:2",
        "--container-label",
        "org.scylla.xtask.role=run-experiment-swarm",
        "--container-label",
        "org.scylla.xtask.owner=h:1:2",
        "--mode",
        "replicated",
        "--replicas",
        "2",
        "--restart-condition",
        "on-failure",
        "--restart-max-attempts",
        "2",
        "--restart-delay",
        "1s",
        "--constraint",
        "node.role==worker",
        "--with-registry-auth",
        "--init",
        "--cap-drop",
        "ALL",
        "--limit-memory",
        "8g",
        "--limit-cpu",
        "2",
        "--limit-pids",
        "4096",
        "--user",
        "1000:100",
        "--mount",
        "type=volume,source=scylla-swarm-1-abcd,target=/scylla",
        "--workdir",
        "/scylla",
        "--env",
        "SCYLLA_NODE={{.Node.Hostname}}",
        "--env",
        "SCYLLA_TASK_SLOT={{.Task.Slot}}",
        "--env",
        "SCYLLA_TASK_COUNT=2",
        "--env",
        "SCYLLA_SHARD_COUNT=4",
        "--env",
        "SCYLLA_IMAGE_ID=sha256:1111",
        "--env",
        "SCYLLA_SOURCE_HASH=h",
        "--secret",
        concat!(
            "source=scylla-swarm-1-abcd-secret-0,target=scylla-env-ANTHROPIC_API_KEY,",
            "uid=1000,gid=100,mode=0400"
        ),
        "--secret",
        concat!(
            "source=scylla-swarm-1-abcd-secret-1,target=scylla-claude-credentials,",
            "uid=1000,gid=100,mode=0400"
        ),
        "127.0.0.1:5000/scylla-runner@sha256:2222",
        "sh",
        "-c",
        "cd /scylla/inputs/scylla-swarm-1-abcd 2>/dev/null && [ -f .scylla-swarm-shard.py ] || \
         { echo \"no staged inputs in volume scylla-swarm-1-abcd on node $SCYLLA_NODE: it is not \
         the shared results volume\" >&2; exit 97; }; exec python .scylla-swarm-shard.py \"$@\"",
        "task",
        "--tiers",
        "T0",
        "T1",
        "--experiment-id",
        "test-001-T0-T1",
    ];
    assert_eq!(command.args, expected);
    assert!(command.stdin.is_none());
}

#[test]
fn a_local_image_is_not_resolved_and_no_retries_means_no_restart() {
    let mut p = plan(true);
    p.request.retries = 0;
    p.request.fresh = true;
    let args = p.service_create(reference(true)).args;
    let joined = args.join(" ");
    assert!(joined
        .contains("--restart-condition none --constraint node.role==worker --no-resolve-image"));
    assert!(!joined.contains("--restart-max-attempts"), "{joined}");
    assert!(joined.ends_with("--experiment-id test-001-T0-T1 --fresh"), "{joined}");
    assert!(args.contains(&"sha256:1111".to_string()));
}

#[test]
fn secret_values_go_on_stdin_only() {
    let p = plan(true);
    let command = p.secret_create(&p.secrets[0], b"canary-value");
    assert_eq!(
        command.args,
        [
            "secret",
            "create",
            "--label",
            "org.scylla.xtask.role=run-experiment-swarm",
            "--label",
            "org.scylla.xtask.owner=h:1:2",
            "--label",
            "org.scylla.xtask.secret-target=scylla-env-ANTHROPIC_API_KEY",
            "scylla-swarm-1-abcd-secret-0",
            "-",
        ]
    );
    assert_eq!(command.stdin.as_deref(), Some(&b"canary-value"[..]));
    assert!(!command.render("docker").contains("canary"));
    let long = "scylla-swarm-1700000000-abcdef12-secret-12";
    assert!(long.len() <= 64, "secret names fit the engine's limit");
}

#[test]
fn helpers_are_short_labelled_and_offline() {
    let p = plan(true);
    let seed = p.seed_helper(reference(true), b"tar".to_vec());
    let joined = seed.args.join(" ");
    assert!(
        joined.starts_with("run --rm --interactive --name scylla-swarm-1-abcd-seed"),
        "{joined}"
    );
    assert!(joined.contains("--pull never --network none --user 0:0 --cap-drop ALL"), "{joined}");
    assert!(joined.contains("--cap-add CHOWN"), "{joined}");
    assert!(joined.ends_with(
        "--entrypoint tar sha256:1111 -C /scylla -x -f - --numeric-owner --same-owner \
         --skip-old-files"
    ));
    let collect = p.collect_helper(reference(true)).args.join(" ");
    assert!(collect.contains("--user 1000:100 --cap-drop ALL --security-opt no-new-privileges"));
    assert!(collect.contains("--volume scylla-swarm-1-abcd:/scylla:ro --entrypoint tar"));
    assert!(collect.ends_with("-C /scylla/results -c -f - test-001-T0-T1"), "{collect}");
    let summary = p.summary_helper(reference(true)).args.join(" ");
    assert!(summary.contains("--workdir /scylla/inputs/scylla-swarm-1-abcd sha256:1111 python"));
    assert!(summary.ends_with(
        "scripts/run_e2e_experiment.py --tiers T0 T1 --summarize-only \
         --experiment-id test-001-T0-T1"
    ));
    let remote = plan(false).collect_helper(reference(false)).args.join(" ");
    assert!(remote.contains("--pull missing"), "{remote}");
    let tidy = p.tidy_helper(reference(true)).args.join(" ");
    assert!(tidy.ends_with("--entrypoint rm sha256:1111 -rf /scylla/inputs/scylla-swarm-1-abcd"));
}

#[test]
fn volume_and_service_removal() {
    let p = plan(true);
    assert_eq!(
        p.volume_create().args,
        [
            "volume",
            "create",
            "--label",
            "org.scylla.xtask.role=run-experiment-swarm",
            "--label",
            "org.scylla.xtask.owner=h:1:2",
            "scylla-swarm-1-abcd",
        ]
    );
    assert_eq!(p.volume_rm().args, ["volume", "rm", "--force", "scylla-swarm-1-abcd"]);
    assert_eq!(p.service_rm().args, ["service", "rm", "scylla-swarm-1-abcd"]);
    assert_eq!(p.untag(), None);
    assert_eq!(
        plan(false).untag().unwrap().args,
        ["image", "rm", "--no-prune", "127.0.0.1:5000/scylla-runner:111122223333"]
    );
    assert_eq!(p.host_experiment_dir(), "/p/results/test-001-T0-T1");
}

#[test]
fn cache_volumes_are_mounted_with_their_variables() {
    let mut p = plan(true);
    p.request.cache_volumes = true;
    let joined = p.service_create(reference(true)).args.join(" ");
    assert!(joined.contains("--mount type=volume,source=scylla-pip-cache,target=/cache/pip"));
    assert!(joined.contains("--env PIP_CACHE_DIR=/cache/pip"), "{joined}");
}

#[test]
fn forwarded_plain_settings_reach_the_service() {
    let mut request = request();
    request.plain_env = vec![("ANTHROPIC_BASE_URL".into(), "http://gw:8080".into())];
    let plan = SwarmPlan::new(request, image(true), &[]);
    let joined = plan.service_create(reference(true)).args.join(" ");
    assert!(joined.contains("--env ANTHROPIC_BASE_URL=http://gw:8080"), "{joined}");
}

#[test]
fn a_registry_means_a_planned_push_by_image_id() {
    let image = ServiceImage::new("sha256:0123456789abcdef", None, Some("127.0.0.1:5000"));
    let Delivery::Push(push) = &image.delivery else { panic!("no push planned: {image:?}") };
    assert_eq!(push.repository, "127.0.0.1:5000/scylla-runner");
    assert_eq!(
        push.tag_command(&image.id).args,
        ["tag", "sha256:0123456789abcdef", "127.0.0.1:5000/scylla-runner:0123456789ab"]
    );
    assert_eq!(push.push_command().args, ["push", "127.0.0.1:5000/scylla-runner:0123456789ab"]);
    assert_eq!(
        push.placeholder_reference(),
        "127.0.0.1:5000/scylla-runner@sha256:<digest returned by the push>"
    );
    assert!(!image.is_local());
    let local = ServiceImage::new("sha256:0123", Some("h".into()), None);
    assert_eq!(local.delivery, Delivery::Local);
    let plan = SwarmPlan::new(request(), local, &[]);
    assert_eq!(plan.push(), None);
}
