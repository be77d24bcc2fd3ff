"""The rubric: upstream's ``expected/rubric.yaml`` plus machine-check fields.

Upstream format: ``categories`` maps a name to ``weight``, ``scoring_type``
(``checklist`` or ``subjective``) and ``items``; each item has ``id``,
``check`` (what to verify, in words), ``points`` and optionally
``na_condition`` (when the item does not apply, in words).
``grading.pass_threshold`` is the pass mark.

Fields added here so items can be judged without an LLM (all optional):

- ``check_command``: a shell command run with ``/bin/sh -c`` in the workspace
  after the agent finished. The item passes (full points) when every
  expectation below holds, and fails (0 points) otherwise.
- ``expect_exit_code``: the command's exit code (default 0).
- ``expect_stdout``: the exact standard output, with one trailing newline
  removed before comparing.
- ``expect_stdout_contains``: a string the standard output must contain.
- ``applicable_if``: a shell command run first; when it exits non-zero the item
  is not applicable (N/A), with ``na_condition`` as the reason.
- ``timeout_seconds``: limit for each of these commands (default 60).

Items without ``check_command`` can only be judged by an LLM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import FixtureError
from .grading import DEFAULT_PASS_THRESHOLD

SCORING_TYPES = ("checklist", "subjective")
DEFAULT_CHECK_TIMEOUT = 60.0


@dataclass(frozen=True)
class RubricItem:
    id: str
    category: str
    check: str
    points: float
    na_condition: str | None = None
    check_command: str | None = None
    expect_exit_code: int = 0
    expect_stdout: str | None = None
    expect_stdout_contains: str | None = None
    applicable_if: str | None = None
    timeout_seconds: float = DEFAULT_CHECK_TIMEOUT

    @property
    def machine_checkable(self) -> bool:
        return self.check_command is not None


@dataclass(frozen=True)
class Category:
    name: str
    weight: float
    scoring_type: str
    items: tuple[RubricItem, ...]


@dataclass(frozen=True)
class Rubric:
    categories: tuple[Category, ...]
    pass_threshold: float = DEFAULT_PASS_THRESHOLD

    @property
    def items(self) -> list[RubricItem]:
        return [item for category in self.categories for item in category.items]


def parse_rubric(data: Any, source: str) -> Rubric:
    """Validate rubric data loaded from YAML; raises FixtureError naming the field."""
    if not isinstance(data, dict):
        raise FixtureError(f"{source}: expected a mapping with 'categories'")
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, dict) or not raw_categories:
        raise FixtureError(f"{source}: 'categories' must be a non-empty mapping")
    categories = []
    seen_ids: set[str] = set()
    for name, raw in raw_categories.items():
        categories.append(_parse_category(str(name), raw, source, seen_ids))
    grading = data.get("grading") or {}
    if not isinstance(grading, dict):
        raise FixtureError(f"{source}: 'grading' must be a mapping")
    threshold = _number(
        grading.get("pass_threshold", DEFAULT_PASS_THRESHOLD), f"{source}: grading.pass_threshold"
    )
    if not 0.0 <= threshold <= 1.0:
        raise FixtureError(f"{source}: grading.pass_threshold must be between 0 and 1")
    return Rubric(categories=tuple(categories), pass_threshold=threshold)


def _parse_category(name: str, raw: Any, source: str, seen_ids: set[str]) -> Category:
    where = f"{source}: category {name!r}"
    if not isinstance(raw, dict):
        raise FixtureError(f"{where} must be a mapping")
    weight = _number(raw.get("weight"), f"{where}: weight")
    if weight < 0:
        raise FixtureError(f"{where}: weight must not be negative")
    scoring_type = raw.get("scoring_type", "checklist")
    if scoring_type not in SCORING_TYPES:
        raise FixtureError(
            f"{where}: scoring_type {scoring_type!r} is not one of {', '.join(SCORING_TYPES)}"
        )
    raw_items = raw.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise FixtureError(f"{where}: 'items' must be a non-empty list")
    items = tuple(_parse_item(name, raw_item, where, seen_ids) for raw_item in raw_items)
    return Category(name=name, weight=weight, scoring_type=scoring_type, items=items)


def _parse_item(category: str, raw: Any, where: str, seen_ids: set[str]) -> RubricItem:
    if not isinstance(raw, dict):
        raise FixtureError(f"{where}: every item must be a mapping")
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise FixtureError(f"{where}: an item has no 'id'")
    if item_id in seen_ids:
        raise FixtureError(f"{where}: item id {item_id!r} is used twice")
    seen_ids.add(item_id)
    where = f"{where}, item {item_id}"
    check = raw.get("check")
    if not isinstance(check, str) or not check.strip():
        raise FixtureError(f"{where}: 'check' must be a non-empty string")
    points = _number(raw.get("points"), f"{where}: points")
    if points <= 0:
        raise FixtureError(f"{where}: points must be positive")
    command = _optional_str(raw, "check_command", where)
    expect_exit_code = raw.get("expect_exit_code", 0)
    if not isinstance(expect_exit_code, int) or isinstance(expect_exit_code, bool):
        raise FixtureError(f"{where}: expect_exit_code must be an integer")
    expectations = ("expect_stdout", "expect_stdout_contains", "applicable_if")
    if command is None and any(key in raw for key in expectations + ("expect_exit_code",)):
        raise FixtureError(f"{where}: expectations given without a check_command")
    timeout = _number(raw.get("timeout_seconds", DEFAULT_CHECK_TIMEOUT), f"{where}: timeout_seconds")
    return RubricItem(
        id=item_id,
        category=category,
        check=check.strip(),
        points=points,
        na_condition=_optional_str(raw, "na_condition", where),
        check_command=command,
        expect_exit_code=expect_exit_code,
        expect_stdout=_optional_str(raw, "expect_stdout", where),
        expect_stdout_contains=_optional_str(raw, "expect_stdout_contains", where),
        applicable_if=_optional_str(raw, "applicable_if", where),
        timeout_seconds=timeout,
    )


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FixtureError(f"{what} must be a number, got {value!r}")
    return float(value)


def _optional_str(raw: dict, key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FixtureError(f"{where}: {key} must be a string")
    return value
