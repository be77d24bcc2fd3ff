"""The swarm task wrapper: which shards a task runs, and that it runs each in turn."""

import os
import subprocess
import sys
import unittest
from pathlib import Path

from .support import TempDirTestCase

WRAPPER = Path(__file__).resolve().parents[2] / "xtask/src/run_experiment/swarm/shard.py"

# Records its --shard and fails for shard 1.
ENTRY = """import sys
shard = sys.argv[sys.argv.index("--shard") + 1]
with open("ran.txt", "a") as f:
    f.write(shard + " " + " ".join(sys.argv[1:sys.argv.index("--shard")]) + "\\n")
sys.exit(5 if shard.startswith("1/") else 0)
"""


class TaskWrapperTest(TempDirTestCase):
    def run_task(self, slot: int, tasks: int, shards: int) -> subprocess.CompletedProcess:
        (self.tmp / "scripts").mkdir(exist_ok=True)
        (self.tmp / "scripts/run_e2e_experiment.py").write_text(ENTRY)
        env = dict(os.environ, SCYLLA_TASK_SLOT=str(slot), SCYLLA_TASK_COUNT=str(tasks),
                   SCYLLA_SHARD_COUNT=str(shards))
        return subprocess.run([sys.executable, str(WRAPPER), "--tiers", "T0"], cwd=self.tmp,
                              env=env, capture_output=True, text=True, check=False)

    def test_task_s_of_k_runs_every_kth_shard_in_turn(self):
        result = self.run_task(1, 3, 7)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((self.tmp / "ran.txt").read_text().splitlines(),
                         ["0/7 --tiers T0", "3/7 --tiers T0", "6/7 --tiers T0"])

    def test_a_failed_shard_fails_the_task_after_the_others_ran(self):
        result = self.run_task(2, 3, 5)
        self.assertEqual(result.returncode, 5)
        self.assertIn("shard 1 of 5 exited with 5", result.stderr)
        self.assertEqual((self.tmp / "ran.txt").read_text().splitlines(),
                         ["1/5 --tiers T0", "4/5 --tiers T0"])

    def test_without_the_service_variables_it_says_how_to_run_it(self):
        result = subprocess.run([sys.executable, str(WRAPPER)], cwd=self.tmp, capture_output=True,
                                text=True, check=False,
                                env={k: v for k, v in os.environ.items()
                                     if not k.startswith("SCYLLA_")})
        self.assertEqual(result.returncode, 2)
        self.assertIn("run-experiment --swarm", result.stderr)


if __name__ == "__main__":
    unittest.main()
