//! The run plan: validated flags and facts, rendered as engine argv (no I/O
//! beyond reading ids and names in [`RunRequest::from_args`]).

use anyhow::Result;
use camino::Utf8PathBuf;

use super::swarm::passthrough;
use super::Args;
use crate::container::forward::Forwarding;
use crate::container::options::host_cpu_count;
use crate::container::{host, identity_env, labels, ContainerSpec, Limits, Role, UserMapping};
use crate::context::Context;
use crate::engine::{Engine, EngineCommand};
use crate::error::usage;
use crate::image::ImageState;

/// The role label value of experiment containers.
pub const ROLE: &str = Role::RunExperiment.name();
/// The in-container entry point.
pub const ENTRY_SCRIPT: &str = "scripts/run_e2e_experiment.py";

/// Validated flags plus the facts of the invoking process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRequest {
    pub image: String,
    pub project_dir: Utf8PathBuf,
    pub limits: Limits,
    pub cache_volumes: bool,
    /// The forwarded variables, decided from the environment and `--env`.
    pub forwarding: Forwarding,
    pub network: Option<String>,
    pub credentials: Option<Utf8PathBuf>,
    pub experiment_args: Vec<String>,
    pub tty: bool,
    pub uid: u32,
    pub gid: u32,
    pub container_name: String,
    pub owner_tag: String,
}

impl RunRequest {
    /// Validates the flags; a bad `--env` name or limit is a usage error.
    pub fn from_args(args: &Args, ctx: &Context) -> Result<RunRequest> {
        let options = &args.container;
        let (uid, gid) = host::user_ids();
        Ok(RunRequest {
            image: options.image()?,
            project_dir: ctx.root.clone(),
            limits: options.limits(Some(host_cpu_count()))?,
            cache_volumes: options.cache_volumes,
            forwarding: options.forwarding(&ctx.env)?,
            network: options.network()?,
            credentials: options.credentials.clone(),
            experiment_args: runner_args(args)?,
            // A pseudo-terminal only when both ends are terminals: CI has neither.
            tty: ctx.stdin_is_tty && ctx.stdout_is_tty,
            uid,
            gid,
            container_name: host::unique_name("scylla-run"),
            owner_tag: host::owner_tag(),
        })
    }
}

/// The runner's arguments: those after `--`, then `--experiment-id` and
/// `--fresh` when they were given before it (once, and never two different ids).
pub fn runner_args(args: &Args) -> Result<Vec<String>> {
    let mut runner = args.experiment_args.clone();
    if let Some(id) = &args.experiment_id {
        if !passthrough::valid_experiment_id(id) {
            return Err(usage(format!(
                "invalid experiment id `{id}`: use letters, digits, '.', '_' and '-', \
                 starting with a letter or digit"
            )));
        }
        match passthrough::experiment_id_in(&runner) {
            Some(other) if other != id => {
                return Err(usage(format!(
                    "two experiment ids given: `{id}` and `{other}`; pass one"
                )))
            }
            Some(_) => {}
            None => runner.extend(["--experiment-id".to_string(), id.clone()]),
        }
    }
    if args.fresh && !runner.iter().any(|word| word == "--fresh") {
        runner.push("--fresh".to_string());
    }
    Ok(runner)
}

/// Everything `execute` does, decided up front.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunPlan {
    pub spec: ContainerSpec,
    pub forwarding: Forwarding,
    pub credentials: Option<Utf8PathBuf>,
    pub results_dir: Utf8PathBuf,
    /// The experiment's own `--agent`, when given (for accurate warnings).
    pub requested_agent: Option<String>,
    pub launch: Launch,
}

/// How the container is launched, decided once the secrets are known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Launch {
    /// Nothing to deliver: `run`, one engine process creates and runs the container.
    Run(EngineCommand),
    /// Secrets go into the tmpfs, which exists only once the container runs:
    /// `create` now, `start --attach` to supervise, and the delivery once it runs
    /// (the entrypoint waits for it). `hand_back`: a credentials file to collect
    /// again at the end.
    CreateDeliverStart { create: EngineCommand, start: EngineCommand, hand_back: bool },
}

impl Launch {
    /// The command that makes the container: `run`, or `create`.
    pub fn first_command(&self) -> &EngineCommand {
        match self {
            Launch::Run(run) => run,
            Launch::CreateDeliverStart { create, .. } => create,
        }
    }
}

/// The value of the last `--agent X` / `--agent=X` among the experiment's args.
pub fn requested_agent(args: &[String]) -> Option<String> {
    let mut agent = None;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--agent" {
            agent = words.next().cloned();
        } else if let Some(value) = word.strip_prefix("--agent=") {
            agent = Some(value.to_string());
        }
    }
    agent
}

impl RunPlan {
    pub fn new(request: &RunRequest, engine: &Engine, image: &ImageState) -> RunPlan {
        let mut command = vec!["python".to_string(), ENTRY_SCRIPT.to_string()];
        command.extend(request.experiment_args.iter().cloned());
        let spec = ContainerSpec {
            name: request.container_name.clone(),
            image: image.reference.clone(),
            labels: labels(Role::RunExperiment, &request.owner_tag),
            user: UserMapping::for_engine(engine.kind, request.uid, request.gid),
            project_dir: request.project_dir.clone(),
            tty: request.tty,
            interactive: request.tty,
            auto_remove: true,
            limits: request.limits.clone(),
            cache_volumes: request.cache_volumes,
            plain_env: identity_env(image, &request.container_name)
                .into_iter()
                .chain(request.forwarding.plain.iter().cloned())
                .collect(),
            network: request.network.clone(),
            engine: engine.kind,
            command,
        };
        let run = spec.run_command();
        RunPlan {
            spec,
            forwarding: request.forwarding.clone(),
            credentials: request.credentials.clone(),
            results_dir: request.project_dir.join("results"),
            requested_agent: requested_agent(&request.experiment_args),
            launch: Launch::Run(run),
        }
    }

    /// The plan for a run with secrets to deliver (`deliver`), and with a
    /// credentials file to hand back (`hand_back`).
    pub fn with_secrets(mut self, deliver: bool, hand_back: bool) -> RunPlan {
        if deliver {
            self.launch = Launch::CreateDeliverStart {
                create: self.delivery_spec(hand_back).create_command(),
                start: self.start_command(),
                hand_back,
            };
        }
        self
    }

    /// The spec for a run with secrets to deliver after the start: the
    /// entrypoint waits for them, and with a credentials file to hand back,
    /// stays to let the keeper collect a refreshed one at the end.
    pub fn delivery_spec(&self, hand_back_credentials: bool) -> ContainerSpec {
        let mut spec = self.spec.clone();
        spec.plain_env.push(("SCYLLA_SECRETS_PENDING".to_string(), "1".to_string()));
        if hand_back_credentials {
            spec.plain_env.push(("SCYLLA_CREDENTIALS_RETURN".to_string(), "1".to_string()));
        }
        spec
    }

    /// `start --attach [--interactive] NAME`: the exit code is the container's.
    pub fn start_command(&self) -> EngineCommand {
        let mut argv = vec!["start".to_string(), "--attach".to_string()];
        if self.spec.interactive {
            argv.push("--interactive".to_string());
        }
        argv.push(self.spec.name.clone());
        EngineCommand::action(argv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineKind;

    fn request() -> RunRequest {
        RunRequest {
            image: "scylla-runner:latest".into(),
            project_dir: "/p".into(),
            limits: Limits { memory: "8g".into(), cpus: "2".into(), pids: 4096 },
            cache_volumes: false,
            forwarding: Forwarding {
                plain: vec![("ANTHROPIC_BASE_URL".into(), "http://172.17.0.1:9".into())],
                secret_names: vec!["ANTHROPIC_API_KEY".into()],
                ..Forwarding::default()
            },
            network: Some("lab".into()),
            credentials: None,
            experiment_args: vec!["--tiers".into(), "T0".into()],
            tty: false,
            uid: 1000,
            gid: 1000,
            container_name: "scylla-run-1-abcd".into(),
            owner_tag: "h:1:2".into(),
        }
    }

    fn image() -> ImageState {
        ImageState {
            reference: "scylla-runner:latest".into(),
            id: "sha256:i".into(),
            source_hash: Some("h".into()),
        }
    }

    #[test]
    fn runs_the_entry_script_with_the_passthrough_args() {
        let engine = Engine { kind: EngineKind::Docker, program: "docker".into() };
        let plan = RunPlan::new(&request(), &engine, &image());
        let argv = plan.spec.create_command().args;
        let tail: Vec<&str> = argv.iter().rev().take(5).rev().map(String::as_str).collect();
        assert_eq!(tail, ["scylla-runner:latest", "python", ENTRY_SCRIPT, "--tiers", "T0"]);
        assert!(argv.contains(&"SCYLLA_IMAGE_ID=sha256:i".to_string()));
        assert!(argv.contains(&"--rm".to_string()));
        assert_eq!(plan.start_command().args, ["start", "--attach", "scylla-run-1-abcd"]);
        assert_eq!(plan.results_dir, "/p/results");
    }

    #[test]
    fn forwarded_settings_and_the_network_are_on_the_argv() {
        let engine = Engine { kind: EngineKind::Docker, program: "docker".into() };
        let plan = RunPlan::new(&request(), &engine, &image());
        let joined = plan.spec.create_command().args.join(" ");
        assert!(joined.contains("--network lab"), "{joined}");
        assert!(joined.contains("--env ANTHROPIC_BASE_URL=http://172.17.0.1:9"), "{joined}");
        assert!(joined.contains("--tmpfs /run/secrets:mode=0700,uid=1000,gid=1000"), "{joined}");
        assert!(!joined.contains("SCYLLA_SECRETS_PENDING"), "{joined}");
        let delivering = plan.delivery_spec(true).create_command().args.join(" ");
        assert!(delivering.contains("--env SCYLLA_SECRETS_PENDING=1"), "{delivering}");
        assert!(delivering.contains("--env SCYLLA_CREDENTIALS_RETURN=1"), "{delivering}");
        assert!(!plan.delivery_spec(false).create_command().args.join(" ").contains("RETURN"));
    }

    #[test]
    fn the_requested_agent_is_read_from_the_passthrough_args() {
        let args = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(requested_agent(&args(&["--tiers", "T0"])), None);
        assert_eq!(
            requested_agent(&args(&["--agent", "claude-code", "--tiers", "T0"])).as_deref(),
            Some("claude-code")
        );
        assert_eq!(
            requested_agent(&args(&["--agent=oracle", "--agent", "claude-code"])).as_deref(),
            Some("claude-code")
        );
    }

    #[test]
    fn secrets_never_reach_the_argv() {
        let engine = Engine { kind: EngineKind::Docker, program: "docker".into() };
        let plan = RunPlan::new(&request(), &engine, &image());
        let joined = plan.spec.create_command().args.join(" ");
        assert!(!joined.contains("ANTHROPIC_API_KEY"), "{joined}");
    }

    fn args(line: &[&str]) -> Args {
        use clap::Parser;
        #[derive(Parser)]
        struct Probe {
            #[command(flatten)]
            args: Args,
        }
        Probe::try_parse_from(std::iter::once("p").chain(line.iter().copied())).unwrap().args
    }

    #[test]
    fn experiment_id_and_fresh_before_the_double_dash_reach_the_runner() {
        let runner =
            runner_args(&args(&["--experiment-id", "e1", "--fresh", "--", "--tiers", "T0"]));
        assert_eq!(runner.unwrap(), ["--tiers", "T0", "--experiment-id", "e1", "--fresh"]);
        let same = runner_args(&args(&["--experiment-id=e1", "--", "--experiment-id", "e1"]));
        assert_eq!(same.unwrap(), ["--experiment-id", "e1"]);
        let message = runner_args(&args(&["--experiment-id", "a", "--", "--experiment-id=b"]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("two experiment ids given"), "{message}");
        let message = runner_args(&args(&["--experiment-id", "../x"])).unwrap_err().to_string();
        assert!(message.contains("invalid experiment id"), "{message}");
        assert_eq!(runner_args(&args(&["--fresh", "--", "--fresh"])).unwrap(), ["--fresh"]);
    }

    #[test]
    fn the_launch_is_run_without_secrets_and_create_then_start_with_them() {
        let engine = Engine { kind: EngineKind::Docker, program: "docker".into() };
        let plan = RunPlan::new(&request(), &engine, &image());
        assert_eq!(plan.launch, Launch::Run(plan.spec.run_command()));
        let Launch::CreateDeliverStart { create, start, hand_back } =
            plan.clone().with_secrets(true, true).launch
        else {
            panic!("secrets to deliver need create, deliver, start");
        };
        assert_eq!(create.args, plan.delivery_spec(true).create_command().args);
        assert_eq!(start.args, ["start", "--attach", "scylla-run-1-abcd"]);
        assert!(hand_back);
        assert_eq!(plan.clone().with_secrets(false, false), plan);
    }

    #[test]
    fn tty_runs_are_interactive_at_start_too() {
        let engine = Engine { kind: EngineKind::Docker, program: "docker".into() };
        let mut req = request();
        req.tty = true;
        let plan = RunPlan::new(&req, &engine, &image());
        let start = plan.start_command();
        assert_eq!(start.args, ["start", "--attach", "--interactive", "scylla-run-1-abcd"]);
    }
}
