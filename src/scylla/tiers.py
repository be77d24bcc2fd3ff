"""Tier ids and the per-tier settings a fixture may carry.

Tiers are T0..T6. A fixture may hold a directory per tier, named in lower case
(``t0/`` .. ``t6/``). Everything in it except ``config.yaml`` is copied over the
run's workspace before the agent starts (a ``CLAUDE.md``, a ``.claude/`` tree
with agents, skills or ``settings.json``): that is how Claude Code picks the
tier's configuration up. ``config.yaml`` may set:

- ``name``, ``description``: shown in logs;
- ``model``: the agent model for this tier (overrides the fixture's);
- ``extra_args``: a list of extra ``claude`` arguments for this tier.

Sub-directories named ``NN-something`` (two digits, a dash) are sub-tests of
the tier: each is laid over the tier's own files and runs as its own unit.
A fixture without a tier directory runs that tier with the tool's defaults,
which is what T0 ("vanilla") means upstream.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

TIER_IDS = ("T0", "T1", "T2", "T3", "T4", "T5", "T6")

_SUBTEST_NAME = re.compile(r"^[0-9]{2}-[A-Za-z0-9._-]+$")


def valid_tiers_text() -> str:
    return ", ".join(TIER_IDS)


def canonical_tiers(tiers: list[str]) -> list[str]:
    """Tiers in T0..T6 order without duplicates; raises ValueError on an unknown id."""
    unknown = [tier for tier in tiers if tier not in TIER_IDS]
    if unknown:
        raise ValueError(
            f"unknown tier {unknown[0]!r}: valid tiers are {valid_tiers_text()}"
        )
    return [tier for tier in TIER_IDS if tier in tiers]


@dataclass(frozen=True)
class TierSettings:
    """What a tier (or one of its sub-tests) changes for the agent."""

    tier: str
    subtest: str | None = None
    name: str = ""
    description: str = ""
    model: str | None = None
    extra_args: tuple[str, ...] = ()
    # Directories whose contents are copied over the workspace, in order.
    overlay_dirs: tuple[Path, ...] = field(default_factory=tuple)

    def apply(self, workspace: Path) -> list[str]:
        """Copy the overlay files into the workspace; returns the relative paths."""
        copied: list[str] = []
        for overlay in self.overlay_dirs:
            for source in sorted(overlay.rglob("*")):
                relative = source.relative_to(overlay)
                if _is_settings_path(relative):
                    continue
                target = workspace / relative
                if source.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                elif source.is_file():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target)
                    copied.append(relative.as_posix())
        return copied


def _is_settings_path(relative: Path) -> bool:
    parts = relative.parts
    if parts == ("config.yaml",):
        return True
    # A sub-test's directory is laid over separately, never as part of its tier.
    return bool(parts) and _SUBTEST_NAME.match(parts[0]) is not None


def is_subtest_dir(path: Path) -> bool:
    return path.is_dir() and _SUBTEST_NAME.match(path.name) is not None
