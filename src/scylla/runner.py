"""Running an experiment: each unit in a fresh workspace, judged, recorded.

Per unit (tier, sub-test, run): copy the fixture's workspace source into a
new temporary directory, lay the tier's settings over it, run the agent, judge
the workspace, and write ``results/<experiment-id>/<unit>/result.json``. A unit
whose result is complete is skipped unless ``fresh`` is set.

``--parallel N`` runs N units at once, each in its own thread with its own
workspace, agent and judge processes; each writes only its own run directory,
so the results are the same as a sequential run's. Ctrl-C, SIGTERM, a results
write that fails, or the same unrecoverable API error twice in a row stop every
unit: their process groups are ended (see :class:`scylla.claude.ProcessRegistry`)
and the units in progress record nothing, so a re-run redoes them; a unit that
ran again keeps its earlier result until the new one is written
(:mod:`scylla.rundir`).
"""

from __future__ import annotations

import errno
import logging
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping

from . import rundir
from .agents import AgentChoice, AgentError, AgentRun, run_claude_code, run_oracle
from .checks import workspace_files
from .claude import PROCESSES
from .errors import ApiUnusable, ResultsWriteError, UsageError
from .fixture import Fixture
from .grading import grade, passed
from .judge import JudgeError, Verdict, judge_run
from .plan import Unit
from .probe import is_unrecoverable
from .provenance import node_name, provenance, utc_now
from .results import (RESULT_FILE, RESULT_SCHEMA_VERSION, is_complete, load_result,
                      write_json_atomically)
from .tiers import TierSettings

log = logging.getLogger("scylla")


@dataclass
class RunContext:
    """Everything a unit needs besides itself; built once by the command line."""

    fixture: Fixture
    fixture_arg: str
    experiment_id: str
    experiment_dir: Path
    agent: AgentChoice
    agent_model: str | None
    use_llm_judge: bool
    llm_judge_note: str
    judge_model: str | None
    env: Mapping[str, str]
    git: tuple
    parallel: int = 1


def check_resume_conflicts(context: RunContext, units: list[Unit], fresh: bool) -> None:
    """Refuse to mix agents in one experiment: a kept result must be by the same agent."""
    if fresh:
        return
    for unit in units:
        result = load_result(context.experiment_dir / unit.relative_dir / RESULT_FILE)
        if is_complete(result) and result.get("agent") != context.agent.name:
            raise UsageError(
                f"{context.experiment_dir / unit.relative_dir} holds a completed run by agent "
                f"{result.get('agent')!r}, but this run uses {context.agent.name!r}; pass --fresh "
                "to redo it or --experiment-id to start another experiment"
            )


def pending_units(context: RunContext, planned: list[tuple[Unit, TierSettings]],
                  fresh: bool) -> list[tuple[Unit, TierSettings]]:
    """The units to run: all with ``fresh``, else those without a complete result."""
    pending = []
    for unit, settings in planned:
        existing = load_result(context.experiment_dir / unit.relative_dir / RESULT_FILE)
        if is_complete(existing) and not fresh:
            log.info("[%s] already completed (score %.3f): kept; --fresh redoes it",
                     unit.label, existing["score"])
            continue
        pending.append((unit, settings))
    return pending


REPEAT_LIMIT = 2


def run_units(context: RunContext, pending: list[tuple[Unit, TierSettings]]) -> list[str]:
    """Run the units, ``context.parallel`` at a time; returns the labels of those in error."""
    errors = []
    repeats = _RepeatWatch()
    PROCESSES.reset()
    with ThreadPoolExecutor(max_workers=context.parallel, thread_name_prefix="unit") as pool:
        futures = [pool.submit(_run_and_record, context, unit, settings)
                   for unit, settings in pending]
        try:
            for future in as_completed(futures):
                unit, result = future.result()
                if result["status"] == "completed":
                    log.info("[%s] score %.3f, grade %s, %s", unit.label, result["score"],
                             result["grade"], "PASS" if result["passed"] else "FAIL")
                    repeats.clear()
                    continue
                log.error("[%s] ERROR: %s", unit.label, result["error"])
                errors.append(unit)
                if repeats.add(result) >= REPEAT_LIMIT:
                    raise ApiUnusable(
                        f"stopped early: {REPEAT_LIMIT} units in a row failed with the same "
                        f"unrecoverable error, which every other unit would pay too: "
                        f"{result['error']}"
                    )
        except BaseException:
            for future in futures:
                future.cancel()
            PROCESSES.cancel()
            raise
    return [unit.label for unit in sorted(errors, key=Unit.sort_key)]


class _RepeatWatch:
    """Counts consecutive units that failed with the same unrecoverable API error."""

    def __init__(self) -> None:
        self.error: str | None = None
        self.count = 0

    def clear(self) -> None:
        self.error, self.count = None, 0

    def add(self, result: dict) -> int:
        api = (result.get("claude_code") or {})
        if not is_unrecoverable(api.get("api_error_status"), result.get("error")):
            self.clear()
            return 0
        if result["error"] != self.error:
            self.error, self.count = result["error"], 0
        self.count += 1
        return self.count


def recover_run_dirs(context: RunContext, units: list[Unit]) -> None:
    """Put back earlier results that a killed runner left set aside (see :mod:`scylla.rundir`)."""
    for unit in units:
        run_dir = context.experiment_dir / unit.relative_dir
        try:
            rundir.recover(run_dir)
        except OSError as error:
            raise ResultsWriteError.from_os_error(error, error.filename or run_dir) from None


def _run_and_record(context: RunContext, unit: Unit, settings: TierSettings) -> tuple[Unit, dict]:
    run_dir = context.experiment_dir / unit.relative_dir
    previous = None
    try:
        try:
            previous = rundir.set_aside(run_dir)
            run_dir.mkdir(parents=True)
        except OSError as error:
            raise ResultsWriteError.from_os_error(error, error.filename or run_dir) from None
        result = run_unit(context, unit, settings, run_dir)
        write_json_atomically(run_dir / RESULT_FILE, result)
    except BaseException:
        # Abandoned (Ctrl-C, SIGTERM, a failed write, an early stop): the earlier
        # result stays what the experiment holds for this unit.
        rundir.put_back(run_dir, previous)
        raise
    rundir.discard(previous)
    return unit, result


def run_unit(context: RunContext, unit: Unit, settings: TierSettings, run_dir: Path) -> dict:
    started_at = utc_now()
    started = time.monotonic()
    result = _base_result(context, unit, settings, started_at)
    scratch = Path(tempfile.mkdtemp(prefix=f"scylla-{unit.tier}-run{unit.run}-"))
    try:
        workspace = scratch / "workspace"
        shutil.copytree(context.fixture.workspace_source, workspace, symlinks=True)
        result["tier_settings"]["files"] = settings.apply(workspace)
        manifest = scratch / "baseline-files.txt"
        manifest.write_text("".join(f"{path}\n" for path in workspace_files(workspace)),
                            encoding="utf-8")
        log.info("[%s] agent %s: running in %s", unit.label, context.agent.name, workspace)
        agent_run = _run_agent(context, settings, workspace, run_dir)
        _record_agent(result, agent_run)
        log.debug("[%s] agent done: exit %s, %s", unit.label, agent_run.exit_code, agent_run.detail)
        if agent_run.error is not None:
            # The CLI says why it could not work; the judge's failure would hide it.
            result.update(status="error", error=f"agent: {agent_run.error}")
            return result
        judge_started = time.monotonic()
        try:
            verdict = judge_run(context.fixture, workspace, run_dir, context.env, manifest,
                                context.use_llm_judge, context.llm_judge_note, context.judge_model)
        finally:
            result["judge_duration_s"] = round(time.monotonic() - judge_started, 3)
        _record_verdict(context, result, verdict)
    except AgentError as error:
        result.update(status="error", error=f"agent: {error}")
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise ResultsWriteError.from_os_error(error, error.filename or run_dir) from None
        log.debug("[%s] unit failed", unit.label, exc_info=True)
        result.update(status="error", error=f"{type(error).__name__}: {error}")
    except JudgeError as error:
        result.update(status="error", error=f"judge: {error}")
    except Exception as error:  # one unit's failure must not stop the experiment
        log.debug("[%s] unit failed", unit.label, exc_info=True)
        result.update(status="error", error=f"{type(error).__name__}: {error}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        result["logs"] = sorted(path.name for path in run_dir.iterdir()
                                if path.name != RESULT_FILE and not path.name.startswith("."))
        result["total_duration_s"] = round(time.monotonic() - started, 3)
        result["finished_at"] = utc_now()
        result["cost_usd"] = _total_cost(result)
    return result


def _run_agent(context: RunContext, settings: TierSettings, workspace: Path, run_dir: Path) -> AgentRun:
    if context.agent.name == "oracle":
        return run_oracle(context.fixture, workspace, run_dir)
    return run_claude_code(context.fixture, settings, workspace, run_dir, context.env,
                           context.agent_model)


def _base_result(context: RunContext, unit: Unit, settings: TierSettings, started_at: str) -> dict:
    fixture = context.fixture
    return {
        "schema_version": RESULT_SCHEMA_VERSION,
        "experiment_id": context.experiment_id,
        "fixture_id": fixture.id,
        "tier": unit.tier,
        "subtest": unit.subtest,
        "run": unit.run,
        "unit": unit.label,
        "status": "error",
        "error": "the run did not finish",
        "agent": context.agent.name,
        "agent_selection": context.agent.reason,
        "model": None,
        "exit_code": None,
        "timed_out": False,
        "score": None,
        "grade": None,
        "passed": False,
        "pass_threshold": fixture.rubric.pass_threshold,
        "cost_usd": None,
        "agent_cost_usd": None,
        "judge_cost_usd": 0.0,
        "max_cost_usd": fixture.max_cost_usd,
        "over_budget": False,
        "agent_duration_s": None,
        "judge_duration_s": None,
        "total_duration_s": None,
        "tokens": None,
        "cache_efficiency": None,
        "judge_tokens": None,
        "criteria": [],
        "categories": {},
        "reasoning": None,
        "judge": {"method": None, "llm_model": None, "llm_note": context.llm_judge_note,
                  "llm_session_id": None, "llm_models_reported": []},
        "tier_settings": {"name": settings.name, "description": settings.description, "files": []},
        "agent_detail": None,
        "claude_code": None,
        "logs": [],
        "node": node_name(context.env),
        "started_at": started_at,
        "finished_at": None,
        "provenance": provenance(context.env, fixture.id, Path(context.fixture_arg), context.git),
    }


def _record_agent(result: dict, agent_run: AgentRun) -> None:
    result.update(
        model=agent_run.model,
        exit_code=agent_run.exit_code,
        timed_out=agent_run.timed_out,
        agent_duration_s=round(agent_run.duration_s, 3),
        agent_cost_usd=agent_run.cost_usd,
        tokens=agent_run.tokens.to_json(),
        cache_efficiency=agent_run.tokens.cache_efficiency,
        agent_detail=agent_run.detail,
        claude_code=agent_run.cli,
    )


def _record_verdict(context: RunContext, result: dict, verdict: Verdict) -> None:
    result.update(
        criteria=[item.to_json() for item in verdict.items],
        categories=verdict.categories,
        reasoning=verdict.reasoning,
        judge_cost_usd=round(verdict.cost_usd, 6),
        judge_tokens=verdict.tokens.to_json() if verdict.llm_used else None,
        judge={
            "method": "commands+llm" if verdict.llm_used else "commands",
            "llm_model": verdict.llm_model,
            "llm_note": verdict.llm_note,
            "llm_session_id": verdict.llm_session_id,
            "llm_models_reported": list(verdict.llm_models),
        },
    )
    if verdict.score is None:
        result.update(status="error", error="every rubric item is N/A: there is nothing to score")
        return
    threshold = context.fixture.rubric.pass_threshold
    result.update(
        status="completed",
        error=None,
        score=verdict.score,
        grade=grade(verdict.score),
        passed=passed(verdict.score, threshold),
    )


def _total_cost(result: dict) -> float | None:
    agent_cost = result.get("agent_cost_usd")
    if agent_cost is None:
        return None
    total = round(agent_cost + (result.get("judge_cost_usd") or 0.0), 6)
    max_cost = result.get("max_cost_usd")
    result["over_budget"] = max_cost is not None and total > max_cost
    return total
