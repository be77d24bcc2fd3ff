"""The command line of ``scripts/run_e2e_experiment.py`` (also ``python -m scylla``).

Flags are turned into a validated plan (fixture, units, shard, agent, judge)
before any unit runs; every usage or fixture problem exits 2 with one message.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from collections.abc import Mapping

from . import __version__
from .agents import AGENT_CHOICES, DEFAULT_AGENT_MODEL, check_agent_fixture, choose_agent
from .errors import (EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_UNIT_ERROR,
                     ResultsWriteError, ScyllaError, Terminated, UsageError)
from .fixture import load_fixture
from .claude import claude_availability
from .judge import DEFAULT_JUDGE_MODEL, JUDGE_CHOICES, resolve_llm_judge
from .plan import (default_experiment_id, parse_shard, plan_units, shard_units,
                   valid_experiment_id)
from .probe import ProbeTarget, probe_models
from .provenance import git_state
from .runner import (RunContext, check_resume_conflicts, pending_units, recover_run_dirs,
                     run_units)
from .summary import build_summary, collect_rows, render_table, write_summary
from .tiers import TIER_IDS, valid_tiers_text

DEFAULT_TIERS_DIR = "tests/fixtures/tests/test-001"
MAX_RUNS = 9
MAX_PARALLEL = 64

log = logging.getLogger("scylla")


def _tier(text: str) -> str:
    tier = text.strip().upper()
    if tier not in TIER_IDS:
        raise argparse.ArgumentTypeError(f"invalid tier {text!r}: valid tiers are {valid_tiers_text()}")
    return tier


def _runs(text: str) -> int:
    try:
        runs = int(text)
    except ValueError:
        runs = 0
    if not 1 <= runs <= MAX_RUNS:
        raise argparse.ArgumentTypeError(f"invalid run count {text!r}: use 1 to {MAX_RUNS}")
    return runs


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: use a whole number of 1 or more")
    return value


def _parallel(text: str) -> int:
    value = _positive(text)
    if value > MAX_PARALLEL:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: use 1 to {MAX_PARALLEL}")
    return value


def _shard(text: str):
    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_e2e_experiment.py",
        description="Run a test fixture's task on tiers T0-T6 with an agent, judge each run, "
        "and record results under RESULTS_DIR/EXPERIMENT_ID/.",
        epilog="Exit codes: 0 every run completed and was judged (low scores included); "
        "1 a run errored or is missing, or a result could not be written; 2 usage, fixture or "
        "environment error (an API that refuses the key or model); 130 interrupted; "
        "143 terminated.",
    )
    parser.add_argument("--tiers-dir", default=DEFAULT_TIERS_DIR,
                        help=f"the test fixture directory (default: {DEFAULT_TIERS_DIR})")
    parser.add_argument("--tiers", nargs="+", type=_tier, metavar="TIER",
                        help=f"tiers to run, from {valid_tiers_text()}")
    parser.add_argument("--runs", type=_runs, default=1, help=f"runs per tier, 1-{MAX_RUNS} (default 1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every step")
    parser.add_argument("--max-subtests", type=_positive, metavar="N",
                        help="run at most the first N sub-tests of each tier")
    parser.add_argument("--fresh", action="store_true", help="redo runs that already completed")
    parser.add_argument("--agent", choices=AGENT_CHOICES, default="auto",
                        help="auto (default): Claude Code when the CLI and credentials are "
                        "present, else the oracle")
    parser.add_argument("--model", help="the agent's model (default: the tier's, the fixture's, or sonnet)")
    parser.add_argument("--judge", choices=JUDGE_CHOICES, default="auto",
                        help="who judges items without a check_command: auto (Claude when usable), "
                        "claude (required), commands (nobody: those items are N/A)")
    parser.add_argument("--judge-model", help="the LLM judge's model (default: the fixture's, or opus)")
    parser.add_argument("--experiment-id", help="default: <fixture id>-<tiers>, so a re-run resumes")
    parser.add_argument("--results-dir", default="results", help="default: results")
    parser.add_argument("--shard", type=_shard, metavar="i/N",
                        help="run only shard i of N (i from 0); writes no summary")
    parser.add_argument("--parallel", type=_parallel, default=1, metavar="N",
                        help=f"run N units at once, each with its own workspace, agent and "
                        f"judge (1-{MAX_PARALLEL}, default 1)")
    parser.add_argument("--no-probe", action="store_true",
                        help="skip asking each model for 'OK' before the first unit")
    parser.add_argument("--summarize-only", action="store_true",
                        help="run nothing: summarize every result.json of the experiment")
    parser.add_argument("--version", action="version", version=f"scylla {__version__}")
    return parser


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(message)s", stream=sys.stderr, force=True)
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _main(parser, args, env)
    except ScyllaError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted: the units in progress were abandoned and will be redone",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print("terminated: the units in progress were abandoned and will be redone",
              file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_terminated(signum, frame):
    # SIGTERM (docker stop, a swarm task's shutdown) unwinds like Ctrl-C: the
    # agent's process group is killed and the temporary workspace removed.
    raise Terminated()


def _main(parser: argparse.ArgumentParser, args: argparse.Namespace, env: dict) -> int:
    if args.summarize_only and (args.shard or args.fresh):
        parser.error("--summarize-only runs nothing: it takes neither --shard nor --fresh")
    if not args.tiers and not (args.summarize_only and args.experiment_id):
        parser.error("--tiers is required (e.g. --tiers T0), or --summarize-only --experiment-id ID")
    if args.experiment_id is not None and not valid_experiment_id(args.experiment_id):
        parser.error(f"invalid --experiment-id {args.experiment_id!r}: use letters, digits, '.', "
                     "'_' and '-', starting with a letter or digit")
    tiers = [tier for tier in TIER_IDS if tier in (args.tiers or [])]
    results_dir = Path(args.results_dir)

    fixture = None
    planned = []
    if tiers:
        fixture = load_fixture(Path(args.tiers_dir))
        not_offered = [tier for tier in tiers if tier not in fixture.tiers]
        if not_offered:
            raise UsageError(f"fixture {fixture.id} does not offer tier {not_offered[0]} "
                             f"(it offers {', '.join(fixture.tiers)})")
        planned = plan_units(fixture, tiers, args.runs, args.max_subtests)
    experiment_id = args.experiment_id or default_experiment_id(fixture.id, tiers)
    experiment_dir = results_dir / experiment_id
    expected = [unit for unit, _ in planned] if planned else None

    if args.summarize_only:
        if not experiment_dir.is_dir():
            raise UsageError(f"no results to summarize: {experiment_dir} does not exist")
        return _summarize(experiment_id, experiment_dir, expected)

    agent = choose_agent(args.agent, env)
    check_agent_fixture(agent, fixture)
    use_llm, llm_note = resolve_llm_judge(args.judge, env)
    _announce(agent, llm_note, experiment_dir, args.shard, planned)
    context = RunContext(
        fixture=fixture, fixture_arg=args.tiers_dir, experiment_id=experiment_id,
        experiment_dir=experiment_dir, agent=agent, agent_model=args.model,
        use_llm_judge=use_llm, llm_judge_note=llm_note, judge_model=args.judge_model,
        env=env, git=git_state(fixture.root), parallel=args.parallel,
    )
    mine = shard_units(planned, args.shard)
    recover_run_dirs(context, [unit for unit, _ in mine])
    check_resume_conflicts(context, [unit for unit, _ in mine], args.fresh)
    created = _missing_dirs(experiment_dir)
    try:
        experiment_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ResultsWriteError.from_os_error(error, experiment_dir) from None
    pending = pending_units(context, mine, args.fresh)
    if pending and not args.no_probe:
        try:
            _probe(context, pending, args.model)
        except BaseException:
            # No unit ran: leave behind no empty results/<id>/ that this run made.
            _remove_if_empty(created)
            raise
    errors = run_units(context, pending)
    if args.shard is not None:
        log.info("shard %s: %d unit(s), %d error(s); the summary is written by "
                 "--summarize-only once every shard has finished", args.shard, len(mine), len(errors))
        return EXIT_UNIT_ERROR if errors else EXIT_OK
    return _summarize(experiment_id, experiment_dir, expected)


def _probe(context: RunContext, pending, model_override) -> None:
    """Ask every model the pending units need for "OK" (see :mod:`scylla.probe`)."""
    targets = []
    if context.agent.name == "claude-code":
        for _, settings in pending:
            model = model_override or settings.model or context.fixture.model or DEFAULT_AGENT_MODEL
            targets.append(ProbeTarget("agent", model))
    needs_llm = any(not item.machine_checkable for item in context.fixture.rubric.items)
    if context.use_llm_judge and needs_llm:
        model = context.judge_model or context.fixture.judge_model or DEFAULT_JUDGE_MODEL
        targets.append(ProbeTarget("judge", model))
    executable = claude_availability(context.env).executable
    if targets and executable is not None:
        probe_models(executable, targets, context.env)


def _missing_dirs(path: Path) -> list[Path]:
    """``path`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _remove_if_empty(directories: list[Path]) -> None:
    for directory in directories:
        try:
            directory.rmdir()  # only ever removes an empty directory
        except OSError:
            return


def _summarize(experiment_id: str, experiment_dir: Path, expected) -> int:
    rows = collect_rows(experiment_dir)
    if not rows and not expected:
        raise UsageError(f"no result.json under {experiment_dir}")
    summary = build_summary(experiment_id, rows, expected)
    path = write_summary(experiment_dir, summary)
    print(render_table(summary))
    print(f"summary: {path}")
    return EXIT_OK if summary["complete"] else EXIT_UNIT_ERROR


def _announce(agent, llm_note: str, experiment_dir: Path, shard, planned) -> None:
    banner = f"AGENT: {agent.name}  ({agent.reason})"
    if agent.name == "oracle":
        banner += ("\nThe oracle copies the reference solution: its scores check the harness, "
                   "not a model.")
    rule = "=" * 72
    log.warning("%s\n%s\n%s", rule, banner, rule)
    log.info("judge: %s", llm_note)
    log.info("experiment: %s (%d unit(s)%s)", experiment_dir, len(planned),
             f", shard {shard}" if shard else "")


if __name__ == "__main__":
    sys.exit(main())
