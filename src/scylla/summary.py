"""The experiment summary: a table on stdout and ``summary.json``.

Both are built from every ``result.json`` under ``results/<experiment-id>/``,
so a single-machine run and ``--summarize-only`` after a sharded run produce
the same summary from the same results.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from . import __version__
from .plan import Unit
from .provenance import utc_now
from .results import RESULT_FILE, is_complete, load_result, write_json_atomically
from .tiers import TIER_IDS

SUMMARY_SCHEMA_VERSION = 1
SUMMARY_FILE = "summary.json"

ROW_FIELDS = (
    "score", "grade", "passed", "cost_usd", "total_duration_s", "agent_duration_s",
    "judge_duration_s", "cache_efficiency", "agent", "model", "exit_code", "node", "error",
)


def collect_rows(experiment_dir: Path) -> list[dict]:
    rows = []
    for path in sorted(experiment_dir.rglob(RESULT_FILE)):
        relative = path.parent.relative_to(experiment_dir)
        result = load_result(path)
        row = {"unit": relative.as_posix()}
        if result is None:
            row.update(status="invalid", error=f"unreadable {RESULT_FILE}")
        else:
            row.update(
                tier=result.get("tier"),
                subtest=result.get("subtest"),
                run=result.get("run"),
                status="completed" if is_complete(result) else "error",
            )
            row.update({name: result.get(name) for name in ROW_FIELDS})
            row["tokens"] = result.get("tokens")
        rows.append(row)
    rows.sort(key=_row_order)
    return rows


def _row_order(row: dict) -> tuple:
    tier = row.get("tier")
    tier_index = TIER_IDS.index(tier) if tier in TIER_IDS else len(TIER_IDS)
    run = row.get("run") if isinstance(row.get("run"), int) else 0
    return (tier_index, row.get("subtest") or "", run, row["unit"])


def build_summary(experiment_id: str, rows: list[dict], expected: list[Unit] | None) -> dict:
    present = {row["unit"] for row in rows}
    missing = [unit.label for unit in expected or [] if unit.label not in present]
    tiers = {}
    for tier in TIER_IDS:
        tier_rows = [row for row in rows if row.get("tier") == tier]
        if tier_rows:
            tiers[tier] = _aggregate(tier_rows)
    totals = _aggregate(rows)
    totals["missing"] = len(missing)
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "experiment_id": experiment_id,
        "generated_at": utc_now(),
        "scylla_version": __version__,
        "agents": sorted({row["agent"] for row in rows if row.get("agent")}),
        "complete": bool(rows) and not missing and all(r["status"] == "completed" for r in rows),
        "missing": missing,
        "totals": totals,
        "tiers": tiers,
        "runs": rows,
    }


def _aggregate(rows: list[dict]) -> dict:
    completed = [row for row in rows if row["status"] == "completed"]
    scores = [row["score"] for row in completed]
    passed = [row for row in completed if row.get("passed")]
    costs = [row["cost_usd"] for row in completed if isinstance(row.get("cost_usd"), (int, float))]
    durations = [row["total_duration_s"] for row in completed
                 if isinstance(row.get("total_duration_s"), (int, float))]
    return {
        "runs": len(rows),
        "completed": len(completed),
        "errors": len(rows) - len(completed),
        "passed": len(passed),
        "pass_rate": round(len(passed) / len(completed), 6) if completed else None,
        "mean_score": round(statistics.fmean(scores), 6) if scores else None,
        "median_score": round(statistics.median(scores), 6) if scores else None,
        "best_score": max(scores) if scores else None,
        "total_cost_usd": round(sum(costs), 6) if costs else None,
        "total_duration_s": round(sum(durations), 3) if durations else None,
    }


def write_summary(experiment_dir: Path, summary: dict) -> Path:
    path = experiment_dir / SUMMARY_FILE
    write_json_atomically(path, summary)
    return path


# --- the table ------------------------------------------------------------------

COLUMNS = ("Run", "Score", "Grade", "Status", "Cost", "Duration", "Agent Time", "Judge Time",
           "Cache Efficiency")


def render_table(summary: dict) -> str:
    table = [COLUMNS]
    for row in summary["runs"]:
        table.append(_cells(row))
    for unit in summary["missing"]:
        table.append((unit, "-", "-", "MISSING", "-", "-", "-", "-", "-"))
    totals = summary["totals"]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    rule = "  ".join("-" * width for width in widths)
    out = [f"Experiment {summary['experiment_id']}  (agent: {', '.join(summary['agents']) or '-'})",
           rule]
    for index, line in enumerate(table):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            out.append(rule)
    out.append(rule)
    mean = totals["mean_score"]
    out.append(
        f"{totals['completed']}/{totals['runs']} completed, {totals['passed']} passed, "
        f"{totals['errors']} errored, {totals['missing']} missing; "
        f"mean score {_fixed(mean, 3)}; total cost {_money(totals['total_cost_usd'])}"
    )
    return "\n".join(out)


def _cells(row: dict) -> tuple:
    if row["status"] != "completed":
        return (row["unit"], "-", "-", "ERROR", _money(row.get("cost_usd")),
                _seconds(row.get("total_duration_s")), _seconds(row.get("agent_duration_s")),
                _seconds(row.get("judge_duration_s")), "-")
    return (
        row["unit"],
        _fixed(row.get("score"), 3),
        str(row.get("grade") or "-"),
        "PASS" if row.get("passed") else "FAIL",
        _money(row.get("cost_usd")),
        _seconds(row.get("total_duration_s")),
        _seconds(row.get("agent_duration_s")),
        _seconds(row.get("judge_duration_s")),
        _percent(row.get("cache_efficiency")),
    )


def _fixed(value, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"


def _money(value) -> str:
    return f"${value:.4f}" if isinstance(value, (int, float)) else "-"


def _seconds(value) -> str:
    return f"{value:.1f}s" if isinstance(value, (int, float)) else "-"


def _percent(value) -> str:
    return f"{value * 100:.2f}%" if isinstance(value, (int, float)) else "-"
