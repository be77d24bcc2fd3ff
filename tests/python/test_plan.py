"""Units, sharding and experiment ids."""

import unittest
from pathlib import Path

from scylla.fixture import load_fixture
from scylla.plan import (Shard, default_experiment_id, parse_shard, plan_units, shard_units,
                         valid_experiment_id)

from .support import FIXTURE, TempDirTestCase


class ShardTest(unittest.TestCase):
    def setUp(self):
        self.fixture = load_fixture(FIXTURE)

    def test_shards_are_disjoint_and_cover_the_experiment(self):
        for tiers, runs in ((["T0"], 1), (["T0", "T3"], 3), (list(self.fixture.tiers), 9)):
            planned = [unit for unit, _ in plan_units(self.fixture, tiers, runs, None)]
            self.assertEqual(len(planned), len(tiers) * runs)
            for count in range(1, 12):
                with self.subTest(tiers=tiers, runs=runs, shards=count):
                    parts = [[u for u, _ in shard_units(
                        plan_units(self.fixture, tiers, runs, None), Shard(i, count))]
                        for i in range(count)]
                    union = [unit for part in parts for unit in part]
                    self.assertEqual(len(union), len(set(union)), "a unit is in two shards")
                    self.assertEqual(set(union), set(planned))
                    sizes = [len(part) for part in parts]
                    self.assertLessEqual(max(sizes) - min(sizes), 1)

    def test_plan_order_is_tier_then_run(self):
        planned = [unit.label for unit, _ in plan_units(self.fixture, ["T0", "T2"], 2, None)]
        self.assertEqual(planned, ["T0/run-1", "T0/run-2", "T2/run-1", "T2/run-2"])

    def test_parse_shard(self):
        self.assertEqual(parse_shard("0/1"), Shard(0, 1))
        self.assertEqual(parse_shard("3/4"), Shard(3, 4))
        for bad in ("4/4", "1/0", "-1/2", "a/2", "1", "1/2/3", ""):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                parse_shard(bad)

    def test_experiment_ids(self):
        self.assertEqual(default_experiment_id("test-001", ["T0", "T1"]), "test-001-T0-T1")
        self.assertTrue(valid_experiment_id("exp_1.a-b"))
        for bad in ("../x", "a/b", ".hidden", "", "a b"):
            self.assertFalse(valid_experiment_id(bad), bad)


class SubtestPlanTest(TempDirTestCase):
    def test_subtests_become_units_and_max_subtests_limits_them(self):
        fixture_dir = self.copy_fixture()
        for name in ("01-alpha", "02-beta", "03-gamma"):
            self.write(fixture_dir / "t2" / name / "CLAUDE.md", f"# {name}\n")
        self.write(fixture_dir / "t2" / "03-gamma" / "config.yaml", "model: haiku\n")
        fixture = load_fixture(fixture_dir)
        planned = plan_units(fixture, ["T0", "T2"], 1, None)
        self.assertEqual([u.label for u, _ in planned],
                         ["T0/run-1", "T2/01-alpha/run-1", "T2/02-beta/run-1", "T2/03-gamma/run-1"])
        self.assertEqual(planned[-1][1].model, "haiku")
        limited = plan_units(fixture, ["T0", "T2"], 1, 2)
        self.assertEqual([u.label for u, _ in limited],
                         ["T0/run-1", "T2/01-alpha/run-1", "T2/02-beta/run-1"])
        self.assertEqual(limited[1][0].relative_dir, Path("T2", "01-alpha", "run-1"))


if __name__ == "__main__":
    unittest.main()
