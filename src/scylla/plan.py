"""The units of an experiment and how shards split them.

A unit is one (tier, sub-test, run). Units are ordered by tier (T0..T6),
sub-test name and run number; that order depends only on the fixture and the
flags, so every process that is given the same flags computes the same list.

``--shard i/N`` (0-based ``i``, ``0 <= i < N``) takes the units whose
position in that list is ``i`` modulo ``N``: the N shards are disjoint, their
union is the whole experiment, and consecutive units (often the runs of one
tier) spread over different shards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .fixture import Fixture
from .tiers import TIER_IDS, TierSettings

_EXPERIMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SHARD = re.compile(r"^([0-9]+)/([0-9]+)$")


@dataclass(frozen=True)
class Unit:
    tier: str
    subtest: str | None
    run: int

    @property
    def relative_dir(self) -> Path:
        parts = [self.tier] + ([self.subtest] if self.subtest else []) + [f"run-{self.run}"]
        return Path(*parts)

    @property
    def label(self) -> str:
        return self.relative_dir.as_posix()

    def sort_key(self) -> tuple:
        return (TIER_IDS.index(self.tier), self.subtest or "", self.run)


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """Parse ``i/N``; raises ValueError with a message fit for the user."""
    match = _SHARD.match(text.strip())
    if not match:
        raise ValueError(f"invalid shard {text!r}: expected i/N, e.g. 0/4 (i counts from 0)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or index >= count:
        raise ValueError(f"invalid shard {text!r}: need 0 <= i < N and N >= 1")
    return Shard(index, count)


def valid_experiment_id(text: str) -> bool:
    return bool(_EXPERIMENT_ID.match(text))


def default_experiment_id(fixture_id: str, tiers: list[str]) -> str:
    """Stable across re-runs of the same fixture and tiers, so a re-run resumes."""
    return "-".join([fixture_id, *tiers])


def plan_units(
    fixture: Fixture, tiers: list[str], runs: int, max_subtests: int | None
) -> list[tuple[Unit, TierSettings]]:
    planned = []
    for tier in tiers:
        settings = fixture.tier_settings(tier)
        if max_subtests is not None:
            settings = settings[:max_subtests]
        for setting in settings:
            for run in range(1, runs + 1):
                planned.append((Unit(tier, setting.subtest, run), setting))
    planned.sort(key=lambda pair: pair[0].sort_key())
    return planned


def shard_units(planned: list, shard: Shard | None) -> list:
    if shard is None:
        return list(planned)
    return [unit for position, unit in enumerate(planned) if position % shard.count == shard.index]
