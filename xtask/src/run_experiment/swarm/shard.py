"""One shard of a swarm run: turn the task's slot into ``--shard i/N`` and run the experiment.

Staged next to the project's ``scripts/`` by ``cargo xtask run-experiment --swarm``
and run as the service's command. The service sets SCYLLA_TASK_SLOT from the
``{{.Task.Slot}}`` template and SCYLLA_SHARD_COUNT to the number of shards.
For slot 0 of a replicated job the engine renders the template as the node's
ID instead of ``0`` (seen on Docker 20.10), so anything that is not a number is
slot 0. A retried task keeps its slot, so a retry reruns the same shard.
"""

import os
import sys

ENTRY_SCRIPT = "scripts/run_e2e_experiment.py"


def shard_index(slot: str) -> str:
    slot = slot.strip()
    return slot if slot.isdigit() else "0"


def main() -> None:
    count = os.environ.get("SCYLLA_SHARD_COUNT", "")
    if not count.isdigit():
        print("SCYLLA_SHARD_COUNT is not set: run this through run-experiment --swarm",
              file=sys.stderr)
        sys.exit(2)
    index = shard_index(os.environ.get("SCYLLA_TASK_SLOT", ""))
    argv = [sys.executable, ENTRY_SCRIPT, *sys.argv[1:], "--shard", f"{index}/{count}"]
    sys.stdout.flush()
    os.execv(sys.executable, argv)


if __name__ == "__main__":
    main()
