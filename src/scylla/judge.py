"""The judge: machine checks first, then Claude for what only an LLM can judge.

Every rubric item with a ``check_command`` is judged by running it (see
:mod:`scylla.rubric`). The other items go to Claude when the judge mode allows
it and Claude Code is usable; otherwise they are marked not applicable (N/A),
left out of the score, and listed as such in the result.

Score: per category, achieved points over applicable points; the run's score
is the weight-averaged category score over the categories with at least one
applicable item (upstream's weighted checklist).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping

from .checks import MANIFEST_ENV, workspace_files
from .claude import (PROCESSES, claude_availability, end_descendants, kill_group,
                     run_with_timeout)
from .errors import UsageError
from .fixture import Fixture
from .grading import normalize_score
from .rubric import Rubric, RubricItem
from .stream_json import TokenStats, parse_stream

JUDGE_CHOICES = ("auto", "claude", "commands")
DEFAULT_JUDGE_MODEL = "opus"
LLM_JUDGE_TIMEOUT = 600.0
OUTPUT_LIMIT = 2000
SNAPSHOT_FILE_LIMIT = 20_000
SNAPSHOT_TOTAL_LIMIT = 150_000


class JudgeError(RuntimeError):
    """The LLM judge could not produce a usable verdict."""


@dataclass
class ItemResult:
    id: str
    category: str
    check: str
    points: float
    achieved: float | None
    status: str  # pass | fail | partial | na
    method: str  # command | llm | none
    reason: str
    command: dict | None = None

    def to_json(self) -> dict:
        data = {
            "id": self.id,
            "category": self.category,
            "check": self.check,
            "points": self.points,
            "achieved": self.achieved,
            "status": self.status,
            "method": self.method,
            "reason": self.reason,
        }
        if self.command is not None:
            data["command"] = self.command
        return data


@dataclass
class Verdict:
    score: float | None
    categories: dict
    items: list[ItemResult]
    reasoning: str
    llm_used: bool
    llm_model: str | None = None
    llm_note: str = ""
    cost_usd: float = 0.0
    tokens: TokenStats = field(default_factory=TokenStats)
    llm_session_id: str | None = None
    llm_models: tuple[str, ...] = ()


def resolve_llm_judge(mode: str, env: Mapping[str, str]) -> tuple[bool, str]:
    """Whether Claude judges the LLM-only items, and why (for logs and results)."""
    availability = claude_availability(env)
    if mode == "commands":
        return False, "LLM judging turned off with --judge commands"
    if mode == "claude":
        if not availability.available:
            raise UsageError(f"--judge claude needs Claude Code, but {availability.remedy()}")
        return True, f"--judge claude: {availability.reason()}"
    if mode != "auto":
        raise UsageError(f"unknown judge mode {mode!r}: choose one of {', '.join(JUDGE_CHOICES)}")
    if availability.available:
        return True, f"auto: {availability.reason()}"
    return False, f"auto: no LLM judge, {availability.reason()}"


def judge_run(
    fixture: Fixture,
    workspace: Path,
    run_dir: Path,
    env: Mapping[str, str],
    baseline_manifest: Path,
    use_llm: bool,
    llm_note: str,
    judge_model: str | None,
) -> Verdict:
    rubric = fixture.rubric
    with tempfile.TemporaryDirectory(prefix="scylla-check-") as scratch:
        check_env = _check_env(env, Path(scratch), baseline_manifest)
        results = {
            item.id: run_check(item, workspace, check_env)
            for item in rubric.items
            if item.machine_checkable
        }
    llm_items = [item for item in rubric.items if not item.machine_checkable]
    verdict_extra = {"cost": 0.0, "tokens": TokenStats(), "reasoning": "", "model": None,
                     "session": None, "models": ()}
    if llm_items and use_llm:
        model = judge_model or fixture.judge_model or DEFAULT_JUDGE_MODEL
        llm = judge_with_claude(fixture, llm_items, list(results.values()), workspace, run_dir, env, model)
        results.update(llm.items)
        verdict_extra = {
            "cost": llm.cost_usd or 0.0,
            "tokens": llm.tokens,
            "reasoning": llm.reasoning,
            "model": model,
            "session": llm.session_id,
            "models": llm.models,
        }
    else:
        for item in llm_items:
            results[item.id] = ItemResult(
                item.id, item.category, item.check, item.points, None, "na", "none",
                f"needs an LLM judge, and none ran ({llm_note})",
            )
    ordered = [results[item.id] for item in rubric.items]
    score, categories = compute_score(rubric, ordered)
    return Verdict(
        score=score,
        categories=categories,
        items=ordered,
        reasoning=_reasoning(ordered, verdict_extra["reasoning"]),
        llm_used=bool(llm_items) and use_llm,
        llm_model=verdict_extra["model"],
        llm_note=llm_note,
        cost_usd=verdict_extra["cost"],
        tokens=verdict_extra["tokens"],
        llm_session_id=verdict_extra["session"],
        llm_models=tuple(verdict_extra["models"]),
    )


def compute_score(rubric: Rubric, results: list[ItemResult]) -> tuple[float | None, dict]:
    by_id = {result.id: result for result in results}
    categories = {}
    weighted = 0.0
    weights = 0.0
    for category in rubric.categories:
        applicable = [by_id[item.id] for item in category.items if by_id[item.id].status != "na"]
        possible = sum(result.points for result in applicable)
        achieved = sum(result.achieved or 0.0 for result in applicable)
        category_score = normalize_score(achieved / possible) if possible > 0 else None
        categories[category.name] = {
            "weight": category.weight,
            "scoring_type": category.scoring_type,
            "score": category_score,
            "achieved_points": achieved,
            "applicable_points": possible,
            "na_items": [item.id for item in category.items if by_id[item.id].status == "na"],
        }
        if category_score is not None and category.weight > 0:
            weighted += category.weight * category_score
            weights += category.weight
    if weights == 0:
        return None, categories
    return normalize_score(weighted / weights), categories


def run_check(item: RubricItem, workspace: Path, env: Mapping[str, str]) -> ItemResult:
    def result(achieved, status, reason, command=None):
        return ItemResult(item.id, item.category, item.check, item.points, achieved, status,
                          "command", reason, command)

    if item.applicable_if is not None:
        probe = _shell(item.applicable_if, workspace, env, item.timeout_seconds)
        probe.pop("_stdout_full")
        if probe["exit_code"] != 0:
            reason = item.na_condition or f"`{item.applicable_if}` exited {probe['exit_code']}"
            return result(None, "na", f"not applicable: {reason}", probe)
    outcome = _shell(item.check_command or "", workspace, env, item.timeout_seconds)
    problems = []
    if outcome["timed_out"]:
        problems.append(f"timed out after {item.timeout_seconds:g}s")
    elif outcome["exit_code"] != item.expect_exit_code:
        problems.append(f"exit code {outcome['exit_code']}, expected {item.expect_exit_code}")
    stdout = outcome.pop("_stdout_full")
    if item.expect_stdout is not None:
        actual = stdout[:-1] if stdout.endswith("\n") else stdout
        if actual != item.expect_stdout:
            problems.append(f"stdout {actual!r}, expected exactly {item.expect_stdout!r}")
    if item.expect_stdout_contains is not None and item.expect_stdout_contains not in stdout:
        problems.append(f"stdout does not contain {item.expect_stdout_contains!r}")
    if problems:
        return result(0.0, "fail", "; ".join(problems), outcome)
    return result(item.points, "pass", "command met every expectation", outcome)


def _shell(command: str, workspace: Path, env: Mapping[str, str], timeout: float) -> dict:
    started = time.monotonic()
    process = PROCESSES.start(
        ["/bin/sh", "-c", command], cwd=workspace, env=dict(env), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        out, err = process.communicate(timeout=timeout)
        exit_code, timed_out = process.returncode, False
        end_descendants(process)
    except subprocess.TimeoutExpired:
        kill_group(process)
        out, err = process.communicate()
        exit_code, timed_out = 124, True
    except BaseException:
        kill_group(process)
        raise
    finally:
        PROCESSES.finish(process)
    stdout = (out or b"").decode("utf-8", errors="replace")
    stderr = (err or b"").decode("utf-8", errors="replace")
    return {
        "command": command,
        "exit_code": exit_code,
        "timed_out": timed_out,
        "stdout": stdout[:OUTPUT_LIMIT],
        "stderr": stderr[:OUTPUT_LIMIT],
        "duration_s": round(time.monotonic() - started, 3),
        "_stdout_full": stdout,
    }


def _check_env(env: Mapping[str, str], scratch: Path, baseline_manifest: Path) -> dict:
    """The environment of check commands.

    ``python``/``python3`` are the runner's own interpreter (a shim directory
    first on PATH), so fixtures can say ``python hello.py`` on machines where
    only ``python3`` exists; bytecode writing is off so checks leave no
    ``__pycache__`` behind; ``scylla`` is importable for ``python -m scylla.checks``.
    """
    shim_dir = scratch / "bin"
    shim_dir.mkdir()
    for name in ("python", "python3"):
        shim = shim_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
    package_parent = str(Path(__file__).resolve().parent.parent)
    check_env = dict(env)
    check_env["PATH"] = os.pathsep.join([str(shim_dir), env.get("PATH", os.defpath)])
    check_env["PYTHONDONTWRITEBYTECODE"] = "1"
    check_env["PYTHONPATH"] = os.pathsep.join(
        part for part in (package_parent, env.get("PYTHONPATH", "")) if part
    )
    check_env[MANIFEST_ENV] = str(baseline_manifest)
    return check_env


def _reasoning(results: list[ItemResult], llm_reasoning: str) -> str:
    by_method: dict[str, list[ItemResult]] = {}
    for result in results:
        by_method.setdefault(result.method, []).append(result)
    lines = []
    commands = by_method.get("command", [])
    if commands:
        passed = [r.id for r in commands if r.status == "pass"]
        failed = [f"{r.id} ({r.reason})" for r in commands if r.status == "fail"]
        applicable = [r for r in commands if r.status != "na"]
        lines.append(f"Machine checks: {len(passed)} of {len(applicable)} applicable passed.")
        if failed:
            lines.append("Failed: " + "; ".join(failed) + ".")
    not_applicable = [r for r in results if r.status == "na"]
    if not_applicable:
        lines.append(
            "Not applicable (left out of the score): "
            + "; ".join(f"{r.id}: {r.reason}" for r in not_applicable) + "."
        )
    if llm_reasoning:
        lines.append(f"LLM judge: {llm_reasoning}")
    return " ".join(lines)


# --- the LLM judge -----------------------------------------------------------


@dataclass
class LlmVerdict:
    items: dict
    reasoning: str
    cost_usd: float | None
    tokens: TokenStats
    session_id: str | None = None
    models: tuple[str, ...] = ()


def judge_with_claude(
    fixture: Fixture,
    items: list[RubricItem],
    command_results: list[ItemResult],
    workspace: Path,
    run_dir: Path,
    env: Mapping[str, str],
    model: str,
) -> LlmVerdict:
    """Ask Claude to score the LLM-only items; raises JudgeError when it cannot."""
    availability = claude_availability(env)
    if availability.executable is None:
        raise JudgeError(availability.reason())
    prompt = build_judge_prompt(fixture, items, command_results, workspace)
    (run_dir / "judge-prompt.md").write_text(prompt, encoding="utf-8")
    argv = [availability.executable, "--model", model, "--print", "--output-format", "json"]
    # The judge runs in an empty directory: the prompt carries the workspace, so
    # the judge needs no tools and cannot change what was judged.
    with tempfile.TemporaryDirectory(prefix="scylla-judge-") as cwd:
        outcome = run_with_timeout(
            argv, Path(cwd), env, LLM_JUDGE_TIMEOUT,
            run_dir / "judge-output.json", run_dir / "judge-stderr.log", stdin_text=prompt,
        )
    output = (run_dir / "judge-output.json").read_text(encoding="utf-8", errors="replace")
    summary = parse_stream(output)
    if outcome.timed_out:
        raise JudgeError(f"the LLM judge timed out after {LLM_JUDGE_TIMEOUT:g}s")
    reason = summary.error_reason()
    if reason is not None:
        raise JudgeError(f"the LLM judge failed: {reason}")
    if outcome.exit_code != 0 or not summary.result_text:
        raise JudgeError(f"the LLM judge failed (exit {outcome.exit_code}); see judge-stderr.log")
    verdict = parse_judge_answer(summary.result_text, items)
    return LlmVerdict(verdict[0], verdict[1], summary.cost_usd, summary.tokens,
                      summary.session_id, summary.models_used)


def build_judge_prompt(
    fixture: Fixture, items: list[RubricItem], command_results: list[ItemResult], workspace: Path
) -> str:
    parts = [
        "You are the judge of a coding task. Score each rubric item below from 0.0 "
        "(not met) to 1.0 (fully met) by inspecting the final workspace.",
        "",
        "## Task given to the agent",
        fixture.prompt.strip(),
        "",
        "## Evaluation criteria",
        fixture.criteria.strip(),
        "",
        "## Items to score",
    ]
    for item in items:
        line = f"- {item.id} ({item.points:g} points): {item.check}"
        if item.na_condition:
            line += f" [not applicable when: {item.na_condition}]"
        parts.append(line)
    if command_results:
        parts += ["", "## Machine checks already run (for context; do not score them)"]
        for result in command_results:
            parts.append(f"- {result.id} {result.status.upper()}: {result.check} ({result.reason})")
    parts += ["", "## Final workspace", _workspace_snapshot(workspace), ""]
    parts.append(
        "Answer with one JSON object and nothing else:\n"
        '{"items": [{"id": "<item id>", "score": <0.0-1.0 or null if not applicable>, '
        '"reason": "<one sentence>"}], "reasoning": "<two or three sentences overall>"}'
    )
    return "\n".join(parts)


def _workspace_snapshot(workspace: Path) -> str:
    files = workspace_files(workspace)
    lines = ["Files:"] + [f"- {path}" for path in files] + [""]
    budget = SNAPSHOT_TOTAL_LIMIT
    for path in files:
        data = (workspace / path).read_bytes()[:SNAPSHOT_FILE_LIMIT]
        if b"\0" in data or budget <= 0:
            continue
        text = data.decode("utf-8", errors="replace")[:budget]
        budget -= len(text)
        lines += [f"### {path}", "```", text, "```", ""]
    return "\n".join(lines)


def parse_judge_answer(text: str, items: list[RubricItem]) -> tuple[dict, str]:
    """Read the judge's JSON answer into ItemResults; raises JudgeError when unusable."""
    answer = _first_json_object(text)
    if answer is None or not isinstance(answer.get("items"), list):
        raise JudgeError("the LLM judge's answer holds no JSON object with an 'items' list")
    scores = {}
    for entry in answer["items"]:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            scores[entry["id"]] = entry
    results = {item.id: _llm_item_result(item, scores.get(item.id)) for item in items}
    return results, str(answer.get("reasoning", "")).strip()


def _llm_item_result(item: RubricItem, entry: dict | None) -> ItemResult:
    def make(achieved: float | None, status: str, reason: str) -> ItemResult:
        return ItemResult(item.id, item.category, item.check, item.points, achieved, status,
                          "llm", reason)

    if entry is None:
        return make(None, "na", "the LLM judge gave no score for this item")
    reason = str(entry.get("reason", "")).strip()
    score = entry.get("score")
    if score is None:
        return make(None, "na", f"not applicable per the LLM judge: {reason}")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise JudgeError(f"the LLM judge's score for {item.id} is not a number: {score!r}")
    fraction = min(1.0, max(0.0, float(score)))
    status = "pass" if fraction == 1.0 else "fail" if fraction == 0.0 else "partial"
    return make(round(fraction * item.points, 6), status, reason)


def _first_json_object(text: str) -> dict | None:
    decoder = json.JSONDecoder()
    index = text.find("{")
    while index != -1:
        try:
            value, _ = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
            continue
        if isinstance(value, dict):
            return value
        index = text.find("{", index + 1)
    return None
