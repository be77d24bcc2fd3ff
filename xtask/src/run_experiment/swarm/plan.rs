//! The swarm plan: validated flags and facts rendered as engine commands with
//! no I/O — how the image reaches the nodes ([`Delivery`]: the local image, or
//! a tag pushed to a registry), the results volume, one secret per value, the
//! ONE replicated service whose tasks run the shards once, and the short helper
//! containers that move inputs and results through the engine. Secret values
//! never appear here: commands carry names only.
//!
//! The commands that name the image take it as an argument: with a registry
//! the nodes run it by the digest the push returns, which exists only once the
//! push has run (the executor passes [`PlannedPush::placeholder_reference`]
//! when the push was only printed).

use camino::Utf8PathBuf;

use crate::container::{self, Limits, Role, CACHE_VOLUMES, OWNER_LABEL, ROLE_LABEL};
use crate::engine::{push_pair, EngineCommand};

/// The role label value of everything a swarm run creates.
pub const ROLE: &str = Role::RunExperimentSwarm.name();
/// Label on a swarm secret naming the file it becomes in the container.
pub const SECRET_TARGET_LABEL: &str = "org.scylla.xtask.secret-target";
/// Where the results volume is mounted in shards and helpers.
pub const VOLUME_MOUNT: &str = "/scylla";
/// The shard wrapper's file name inside the staged inputs.
pub const SHARD_WRAPPER: &str = ".scylla-swarm-shard.py";
/// The shard wrapper (maps the task slot to its shards, each run as `--shard i/N`).
pub const SHARD_WRAPPER_SOURCE: &str = include_str!("shard.py");
/// Exit code of a task that finds no staged inputs: its node lacks the shared volume.
pub const NO_INPUTS_EXIT: i32 = 97;
/// The in-container entry point, as in a single-machine run.
pub const ENTRY_SCRIPT: &str = crate::run_experiment::plan::ENTRY_SCRIPT;

/// The image the service runs, and how it reaches every node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceImage {
    /// The local image id (`sha256:...`).
    pub id: String,
    pub source_hash: Option<String>,
    pub delivery: Delivery,
}

/// How the nodes get the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A one-node swarm without a registry: the local image by id, never
    /// resolved against a registry.
    Local,
    /// Tagged, pushed, and run by the digest the registry returns.
    Push(PlannedPush),
}

/// The push of the image to `--registry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedPush {
    pub registry: String,
    /// `registry/scylla-runner`: the service runs `repository@sha256:...`.
    pub repository: String,
    /// The local tag made for the push (`registry/scylla-runner:<id>`), removed after the run.
    pub tag: String,
}

impl ServiceImage {
    /// The image `id`, pushed to `registry` when one is given.
    pub fn new(id: &str, source_hash: Option<String>, registry: Option<&str>) -> ServiceImage {
        let delivery = match registry {
            None => Delivery::Local,
            Some(registry) => {
                let repository = format!("{registry}/scylla-runner");
                let tag = format!("{repository}:{}", crate::output::short_digest(id));
                Delivery::Push(PlannedPush { registry: registry.to_string(), repository, tag })
            }
        };
        ServiceImage { id: id.to_string(), source_hash, delivery }
    }

    /// A local image on a one-node swarm.
    pub fn is_local(&self) -> bool {
        self.delivery == Delivery::Local
    }
}

impl PlannedPush {
    /// `tag ID TAG`.
    pub fn tag_command(&self, image_id: &str) -> EngineCommand {
        EngineCommand::action(["tag", image_id, self.tag.as_str()])
    }

    /// `push TAG`.
    pub fn push_command(&self) -> EngineCommand {
        EngineCommand::action(["push", self.tag.as_str()])
    }

    /// `image rm --no-prune TAG`: drops the tag made for the push.
    pub fn untag_command(&self) -> EngineCommand {
        EngineCommand::action(["image", "rm", "--no-prune", self.tag.as_str()])
    }

    /// What the commands name the image by when the push was only printed.
    pub fn placeholder_reference(&self) -> String {
        format!("{}@sha256:<digest returned by the push>", self.repository)
    }
}

/// The volume shards write results to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultsVolume {
    pub name: String,
    /// Created (and removed) by this run, rather than given with `--results-volume`.
    pub created_by_run: bool,
}

/// One swarm secret: its run-unique name and the file it becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmSecret {
    pub name: String,
    /// `scylla-env-NAME` or `scylla-claude-credentials`, under /run/secrets.
    pub target: String,
}

/// Validated flags plus the facts of the invoking process and the swarm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmRequest {
    /// Unique per run; names the service, secrets, helpers and staged inputs.
    pub run_name: String,
    pub owner_tag: String,
    pub uid: u32,
    pub gid: u32,
    pub shards: u32,
    pub max_concurrent: u32,
    pub constraints: Vec<String>,
    pub retries: u32,
    pub volume: ResultsVolume,
    pub experiment_id: String,
    pub fresh: bool,
    /// The experiment arguments without `--experiment-id` and `--fresh`.
    pub experiment_args: Vec<String>,
    pub limits: Limits,
    pub cache_volumes: bool,
    pub project_dir: Utf8PathBuf,
    /// Project paths staged besides the usual ones (a `--tiers-dir` outside them).
    pub extra_paths: Vec<Utf8PathBuf>,
    /// Forwarded plain settings (`ANTHROPIC_BASE_URL`, `--env NAME=VALUE`, ...).
    pub plain_env: Vec<(String, String)>,
}

/// Everything the swarm run does, decided up front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwarmPlan {
    pub request: SwarmRequest,
    pub image: ServiceImage,
    pub secrets: Vec<SwarmSecret>,
}

impl SwarmPlan {
    /// The plan for `request`, with one secret per file name of the bundle.
    pub fn new(request: SwarmRequest, image: ServiceImage, secret_files: &[&str]) -> SwarmPlan {
        let secrets = secret_files
            .iter()
            .enumerate()
            .map(|(index, target)| SwarmSecret {
                // Names stay short (the engine allows 64 characters) whatever the variable.
                name: format!("{}-secret-{index}", request.run_name),
                target: target.to_string(),
            })
            .collect();
        SwarmPlan { request, image, secrets }
    }

    fn labels(&self, flag: &str, argv: &mut Vec<String>) {
        push_pair(argv, flag, format!("{ROLE_LABEL}={ROLE}"));
        push_pair(argv, flag, format!("{OWNER_LABEL}={}", self.request.owner_tag));
    }

    /// The staged inputs inside the volume: the shards' working directory.
    pub fn inputs_dir(&self) -> String {
        format!("{VOLUME_MOUNT}/inputs/{}", self.request.run_name)
    }

    /// Where shards write results (the experiment is `results/<id>/` under it);
    /// the staged inputs link `results` here, so the runner's default applies.
    pub fn results_dir(&self) -> String {
        format!("{VOLUME_MOUNT}/results")
    }

    /// The experiment's results on the invoking machine.
    pub fn host_experiment_dir(&self) -> Utf8PathBuf {
        self.request.project_dir.join("results").join(&self.request.experiment_id)
    }

    /// `volume create`, for the volume a one-node run makes for itself.
    pub fn volume_create(&self) -> EngineCommand {
        let mut argv = vec!["volume".to_string(), "create".to_string()];
        self.labels("--label", &mut argv);
        argv.push(self.request.volume.name.clone());
        EngineCommand::action(argv)
    }

    /// `volume rm --force NAME`.
    pub fn volume_rm(&self) -> EngineCommand {
        EngineCommand::action(["volume", "rm", "--force", self.request.volume.name.as_str()])
    }

    /// `secret create NAME -`: the value goes on stdin, never in argv.
    pub fn secret_create(&self, secret: &SwarmSecret, value: &[u8]) -> EngineCommand {
        let mut argv = vec!["secret".to_string(), "create".to_string()];
        self.labels("--label", &mut argv);
        push_pair(&mut argv, "--label", format!("{SECRET_TARGET_LABEL}={}", secret.target));
        argv.push(secret.name.clone());
        argv.push("-".to_string());
        EngineCommand::action(argv).with_stdin(value.to_vec())
    }

    /// `service create ...`: the one replicated service. Its K tasks (K =
    /// `--max-concurrent`) each run their share of the N shards once; the
    /// engine places them, restarts failed ones and reschedules those of a
    /// node that goes down, and removing the service removes every task
    /// container on every node (Docker 20.10 does neither for `replicated-job`).
    /// `image` is the reference the nodes run: the local id, or the
    /// `repository@sha256:...` the push returned.
    pub fn service_create(&self, image: &str) -> EngineCommand {
        let request = &self.request;
        let mut argv: Vec<String> =
            ["service", "create", "--detach", "--quiet"].map(String::from).to_vec();
        push_pair(&mut argv, "--name", &request.run_name);
        self.labels("--label", &mut argv);
        self.labels("--container-label", &mut argv);
        push_pair(&mut argv, "--mode", "replicated");
        push_pair(&mut argv, "--replicas", request.max_concurrent.to_string());
        self.push_restart_policy(&mut argv);
        for constraint in &request.constraints {
            push_pair(&mut argv, "--constraint", constraint);
        }
        argv.push(
            if self.image.is_local() { "--no-resolve-image" } else { "--with-registry-auth" }
                .into(),
        );
        self.push_limits(&mut argv);
        push_pair(&mut argv, "--user", format!("{}:{}", request.uid, request.gid));
        self.push_mounts(&mut argv);
        // Not the inputs: the engine would create a missing working directory,
        // and a task that a returning node restarts after the run would leave it.
        push_pair(&mut argv, "--workdir", VOLUME_MOUNT);
        self.push_env(&mut argv);
        for secret in &self.secrets {
            push_pair(&mut argv, "--secret", self.secret_mount(secret));
        }
        argv.push(image.to_string());
        argv.extend(["sh".to_string(), "-c".to_string(), self.task_script(), "task".to_string()]);
        argv.extend(self.shard_args());
        EngineCommand::action(argv)
    }

    /// The task's shell: into the staged inputs, or, on a node whose volume
    /// holds none (it made an empty local volume of that name), say so and
    /// exit with [`NO_INPUTS_EXIT`]; then the wrapper with the arguments.
    fn task_script(&self) -> String {
        format!(
            "cd {inputs} 2>/dev/null && [ -f {SHARD_WRAPPER} ] || {{ echo \"no staged inputs in \
             volume {volume} on node $SCYLLA_NODE: it is not the shared results volume\" >&2; \
             exit {NO_INPUTS_EXIT}; }}; exec python {SHARD_WRAPPER} \"$@\"",
            inputs = self.inputs_dir(),
            volume = self.request.volume.name
        )
    }

    /// The runner's arguments in every shard (the wrapper adds `--shard i/N`).
    pub fn shard_args(&self) -> Vec<String> {
        let mut args = self.request.experiment_args.clone();
        push_pair(&mut args, "--experiment-id", &self.request.experiment_id);
        if self.request.fresh {
            args.push("--fresh".to_string());
        }
        args
    }

    fn push_restart_policy(&self, argv: &mut Vec<String>) {
        if self.request.retries == 0 {
            push_pair(argv, "--restart-condition", "none");
            return;
        }
        push_pair(argv, "--restart-condition", "on-failure");
        push_pair(argv, "--restart-max-attempts", self.request.retries.to_string());
        push_pair(argv, "--restart-delay", "1s");
    }

    fn push_limits(&self, argv: &mut Vec<String>) {
        // An init as PID 1 forwards signals and reaps zombies, as in a single-machine run.
        argv.push("--init".to_string());
        push_pair(argv, "--cap-drop", "ALL");
        push_pair(argv, "--limit-memory", &self.request.limits.memory);
        push_pair(argv, "--limit-cpu", &self.request.limits.cpus);
        push_pair(argv, "--limit-pids", self.request.limits.pids.to_string());
    }

    fn push_mounts(&self, argv: &mut Vec<String>) {
        let volume = &self.request.volume.name;
        push_pair(argv, "--mount", format!("type=volume,source={volume},target={VOLUME_MOUNT}"));
        if self.request.cache_volumes {
            for (name, target, _) in CACHE_VOLUMES {
                push_pair(argv, "--mount", format!("type=volume,source={name},target={target}"));
            }
        }
    }

    fn push_env(&self, argv: &mut Vec<String>) {
        // Templates the engine fills in per task: the node's name goes into result.json.
        push_pair(argv, "--env", "SCYLLA_NODE={{.Node.Hostname}}");
        push_pair(argv, "--env", "SCYLLA_TASK_SLOT={{.Task.Slot}}");
        push_pair(argv, "--env", format!("SCYLLA_TASK_COUNT={}", self.request.max_concurrent));
        push_pair(argv, "--env", format!("SCYLLA_SHARD_COUNT={}", self.request.shards));
        push_pair(argv, "--env", format!("SCYLLA_IMAGE_ID={}", self.image.id));
        let hash = self.image.source_hash.clone().unwrap_or_default();
        push_pair(argv, "--env", format!("SCYLLA_SOURCE_HASH={hash}"));
        for (name, value) in &self.request.plain_env {
            push_pair(argv, "--env", format!("{name}={value}"));
        }
        if self.request.cache_volumes {
            container::push_cache_env(argv);
        }
    }

    fn secret_mount(&self, secret: &SwarmSecret) -> String {
        let SwarmRequest { uid, gid, .. } = self.request;
        format!("source={},target={},uid={uid},gid={gid},mode=0400", secret.name, secret.target)
    }

    /// The push of the image, when it goes through a registry.
    pub fn push(&self) -> Option<&PlannedPush> {
        match &self.image.delivery {
            Delivery::Local => None,
            Delivery::Push(push) => Some(push),
        }
    }

    /// `image rm --no-prune TAG`: drops the tag made for the push.
    pub fn untag(&self) -> Option<EngineCommand> {
        self.push().map(PlannedPush::untag_command)
    }

    /// `service rm NAME` of this run's service.
    pub fn service_rm(&self) -> EngineCommand {
        service_rm(&self.request.run_name)
    }

    /// The name of the helper container for `purpose` (seed, summary, collect, tidy).
    pub fn helper_name(&self, purpose: &str) -> String {
        format!("{}-{purpose}", self.request.run_name)
    }

    /// `run --rm` of the image with the volume; `as_root` only to create and
    /// remove directories whatever their owner.
    fn helper_base(&self, purpose: &str, as_root: bool, read_only: bool) -> Vec<String> {
        let mut argv: Vec<String> = ["run", "--rm"].map(String::from).to_vec();
        push_pair(&mut argv, "--name", self.helper_name(purpose));
        self.labels("--label", &mut argv);
        push_pair(&mut argv, "--pull", if self.image.is_local() { "never" } else { "missing" });
        push_pair(&mut argv, "--network", "none");
        let user = if as_root { "0:0".to_string() } else { self.run_user() };
        push_pair(&mut argv, "--user", user);
        push_pair(&mut argv, "--cap-drop", "ALL");
        if as_root {
            for cap in ["CHOWN", "DAC_OVERRIDE", "FOWNER"] {
                push_pair(&mut argv, "--cap-add", cap);
            }
        }
        push_pair(&mut argv, "--security-opt", "no-new-privileges");
        let mode = if read_only { ":ro" } else { "" };
        push_pair(
            &mut argv,
            "--volume",
            format!("{}:{VOLUME_MOUNT}{mode}", self.request.volume.name),
        );
        argv
    }

    fn run_user(&self) -> String {
        format!("{}:{}", self.request.uid, self.request.gid)
    }

    /// Unpacks the input tar (stdin) into the volume, keeping what is there.
    pub fn seed_helper(&self, image: &str, archive: Vec<u8>) -> EngineCommand {
        let mut argv = self.helper_base("seed", true, false);
        argv.insert(2, "--interactive".to_string());
        push_pair(&mut argv, "--entrypoint", "tar");
        argv.push(image.to_string());
        argv.extend(
            ["-C", VOLUME_MOUNT, "-x", "-f", "-", "--numeric-owner", "--same-owner"]
                .map(String::from),
        );
        // Results already in a given volume win over the copy from this machine.
        argv.push("--skip-old-files".to_string());
        EngineCommand::action(argv).with_stdin(archive)
    }

    /// Writes the summary table and summary.json from every shard's results.
    pub fn summary_helper(&self, image: &str) -> EngineCommand {
        let mut argv = self.helper_base("summary", false, false);
        push_pair(&mut argv, "--workdir", self.inputs_dir());
        argv.push(image.to_string());
        argv.extend(["python".to_string(), ENTRY_SCRIPT.to_string()]);
        argv.extend(self.request.experiment_args.iter().cloned());
        argv.push("--summarize-only".to_string());
        push_pair(&mut argv, "--experiment-id", &self.request.experiment_id);
        EngineCommand::action(argv)
    }

    /// Streams `results/<id>/` out of the volume as a tar on stdout.
    pub fn collect_helper(&self, image: &str) -> EngineCommand {
        let mut argv = self.helper_base("collect", false, true);
        push_pair(&mut argv, "--entrypoint", "tar");
        argv.push(image.to_string());
        argv.extend(["-C".to_string(), self.results_dir(), "-c".into(), "-f".into(), "-".into()]);
        argv.push(self.request.experiment_id.clone());
        EngineCommand::action(argv)
    }

    /// Removes this run's staged inputs from a volume the run did not create.
    pub fn tidy_helper(&self, image: &str) -> EngineCommand {
        let mut argv = self.helper_base("tidy", true, false);
        push_pair(&mut argv, "--entrypoint", "rm");
        argv.push(image.to_string());
        argv.extend(["-rf".to_string(), self.inputs_dir()]);
        EngineCommand::action(argv)
    }
}

/// `service rm NAME`: the plan's own service, or one a cleanup finds by name.
pub fn service_rm(name: &str) -> EngineCommand {
    EngineCommand::action(["service", "rm", name])
}

#[cfg(test)]
mod tests;
