"""Loading and validating a test fixture (upstream's format plus offline parts).

A fixture directory holds:

- ``test.yaml``: ``id``, ``name``, ``description``, ``language``,
  ``source`` (``repo`` and ``hash`` for provenance, ``path``: the directory,
  inside the fixture, copied fresh into every run's workspace),
  ``task`` (``prompt_file``, ``timeout_seconds``), ``validation``
  (``criteria_file``, ``rubric_file``), ``tiers`` (the tiers it offers) and
  ``reference_solution`` (a directory copied over the workspace by the oracle
  agent).
- ``config.yaml``: ``timeout_seconds`` and ``max_cost_usd`` (upstream), and
  optionally ``model`` / ``judge_model`` for Claude Code.
- ``prompt.md``, ``expected/criteria.md``, ``expected/rubric.yaml``.
- optionally ``t0/`` .. ``t6/``: tier settings (see :mod:`scylla.tiers`).

Every problem is reported as one :class:`FixtureError` naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import FixtureError
from .rubric import Rubric, parse_rubric
from .tiers import TIER_IDS, TierSettings, is_subtest_dir, valid_tiers_text

DEFAULT_TIMEOUT_SECONDS = 1800.0
_FIXTURE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Fixture:
    root: Path
    id: str
    name: str
    language: str | None
    source_repo: str | None
    source_hash: str | None
    workspace_source: Path
    reference_solution: Path | None
    prompt: str
    criteria: str
    rubric: Rubric
    tiers: tuple[str, ...]
    timeout_seconds: float
    max_cost_usd: float | None
    model: str | None
    judge_model: str | None

    def tier_settings(self, tier: str) -> list[TierSettings]:
        """The tier's settings, one entry per sub-test (one entry when it has none)."""
        tier_dir = self.root / tier.lower()
        if not tier_dir.is_dir():
            return [TierSettings(tier=tier, name=tier)]
        base = _settings_config(tier_dir / "config.yaml")
        subtests = sorted(path for path in tier_dir.iterdir() if is_subtest_dir(path))
        if not subtests:
            return [_settings(tier, None, base, (tier_dir,))]
        settings = []
        for subtest_dir in subtests:
            merged = dict(base)
            merged.update(_settings_config(subtest_dir / "config.yaml"))
            settings.append(_settings(tier, subtest_dir.name, merged, (tier_dir, subtest_dir)))
        return settings


def load_yaml(path: Path) -> Any:
    """Parse a YAML file; a missing or malformed file is a FixtureError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FixtureError(f"missing file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise FixtureError(f"cannot read {path}: {error}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise FixtureError(f"malformed YAML in {path}{where}: {problem}") from None


def load_fixture(root: Path) -> Fixture:
    if not root.is_dir():
        raise FixtureError(f"fixture directory not found: {root}")
    test = _mapping(load_yaml(root / "test.yaml"), root / "test.yaml")
    config_path = root / "config.yaml"
    config = _mapping(load_yaml(config_path), config_path) if config_path.exists() else {}

    fixture_id = test.get("id")
    if not isinstance(fixture_id, str) or not _FIXTURE_ID.match(fixture_id):
        raise FixtureError(
            f"{root / 'test.yaml'}: 'id' must be a name of letters, digits, '.', '_' or '-'"
        )
    task = _mapping(test.get("task") or {}, root / "test.yaml", "task")
    validation = _mapping(test.get("validation") or {}, root / "test.yaml", "validation")
    source = _mapping(test.get("source") or {}, root / "test.yaml", "source")

    prompt = _read_text(root, task.get("prompt_file", "prompt.md"), "prompt")
    criteria = _read_text(root, validation.get("criteria_file", "expected/criteria.md"), "criteria")
    rubric_path = _inside(root, validation.get("rubric_file", "expected/rubric.yaml"), "rubric")
    rubric = parse_rubric(load_yaml(rubric_path), str(rubric_path))

    workspace_source = _inside(root, source.get("path", "workspace"), "workspace source")
    if not workspace_source.is_dir():
        raise FixtureError(
            f"{root / 'test.yaml'}: source.path {workspace_source} is not a directory "
            "(the runner copies it into every run's workspace; no network is used)"
        )
    reference = test.get("reference_solution")
    reference_path = _inside(root, reference, "reference solution") if reference else None

    return Fixture(
        root=root,
        id=fixture_id,
        name=str(test.get("name", fixture_id)),
        language=test.get("language"),
        source_repo=source.get("repo"),
        source_hash=source.get("hash"),
        workspace_source=workspace_source,
        reference_solution=reference_path,
        prompt=prompt,
        criteria=criteria,
        rubric=rubric,
        tiers=_fixture_tiers(root, test.get("tiers")),
        timeout_seconds=_timeout(config, task, root),
        max_cost_usd=_optional_number(config.get("max_cost_usd"), config_path, "max_cost_usd"),
        model=_optional_string(config.get("model"), config_path, "model"),
        judge_model=_optional_string(config.get("judge_model"), config_path, "judge_model"),
    )


def _fixture_tiers(root: Path, raw: Any) -> tuple[str, ...]:
    if raw is None:
        declared = list(TIER_IDS)
    elif isinstance(raw, list) and all(isinstance(tier, str) for tier in raw):
        declared = raw
    else:
        raise FixtureError(f"{root / 'test.yaml'}: 'tiers' must be a list such as [T0, T1]")
    for tier in declared:
        if tier not in TIER_IDS:
            raise FixtureError(
                f"{root / 'test.yaml'}: unknown tier {tier!r} (valid tiers: {valid_tiers_text()})"
            )
    for path in root.iterdir():
        if path.is_dir() and re.fullmatch(r"t[0-9]+", path.name) and path.name.upper() not in TIER_IDS:
            raise FixtureError(
                f"{path}: unknown tier directory (valid tiers: {valid_tiers_text()})"
            )
    return tuple(tier for tier in TIER_IDS if tier in declared)


def _timeout(config: dict, task: dict, root: Path) -> float:
    # config.yaml holds the test's overrides upstream, so it wins over test.yaml.
    raw = config.get("timeout_seconds", task.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
    value = _optional_number(raw, root / "config.yaml", "timeout_seconds")
    if value is None or value <= 0:
        raise FixtureError(f"{root}: timeout_seconds must be a positive number")
    return value


def _settings_config(path: Path) -> dict:
    if not path.exists():
        return {}
    return _mapping(load_yaml(path), path)


def _settings(tier: str, subtest: str | None, config: dict, overlays: tuple[Path, ...]) -> TierSettings:
    where = overlays[-1] / "config.yaml"
    extra_args = config.get("extra_args", [])
    if not isinstance(extra_args, list) or not all(isinstance(arg, str) for arg in extra_args):
        raise FixtureError(f"{where}: extra_args must be a list of strings")
    return TierSettings(
        tier=tier,
        subtest=subtest,
        name=str(config.get("name", subtest or tier)),
        description=str(config.get("description", "")),
        model=_optional_string(config.get("model"), where, "model"),
        extra_args=tuple(extra_args),
        overlay_dirs=overlays,
    )


def _read_text(root: Path, relative: Any, what: str) -> str:
    path = _inside(root, relative, what)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FixtureError(f"missing {what} file: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise FixtureError(f"cannot read {what} file {path}: {error}") from None
    if not text.strip():
        raise FixtureError(f"{what} file is empty: {path}")
    return text


def _inside(root: Path, relative: Any, what: str) -> Path:
    if not isinstance(relative, str) or not relative:
        raise FixtureError(f"{root / 'test.yaml'}: the {what} path must be a non-empty string")
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise FixtureError(f"{root / 'test.yaml'}: the {what} path {relative!r} leaves the fixture")
    return path


def _mapping(value: Any, path: Path, key: str | None = None) -> dict:
    if not isinstance(value, dict):
        what = f"'{key}' in {path}" if key else str(path)
        raise FixtureError(f"{what} must be a YAML mapping")
    return value


def _optional_number(value: Any, path: Path, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FixtureError(f"{path}: {key} must be a number, got {value!r}")
    return float(value)


def _optional_string(value: Any, path: Path, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise FixtureError(f"{path}: {key} must be a non-empty string")
    return value
