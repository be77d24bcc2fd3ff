"""One task of a swarm run: run the shards of the experiment that belong to the task's slot.

Staged next to the project's ``scripts/`` by ``cargo xtask run-experiment --swarm``
and run as the service's command. The service sets SCYLLA_TASK_SLOT from the
``{{.Task.Slot}}`` template (1 to SCYLLA_TASK_COUNT), SCYLLA_TASK_COUNT to the
number of tasks and SCYLLA_SHARD_COUNT to the number of shards. Task ``s`` runs
shards ``s-1``, ``s-1+T``, ``s-1+2T``... one after the other as ``--shard i/N``.
A restarted task keeps its slot, so it reruns its own shards, and the runner
keeps every unit that already has a complete result.
"""

import os
import signal
import subprocess
import sys

ENTRY_SCRIPT = "scripts/run_e2e_experiment.py"


def number(name: str) -> int:
    value = os.environ.get(name, "").strip()
    if not value.isdigit() or int(value) < 1:
        print(f"{name} is not set: run this through run-experiment --swarm", file=sys.stderr)
        sys.exit(2)
    return int(value)


def shards_of(slot: int, tasks: int, shards: int) -> list:
    return list(range(slot - 1, shards, tasks))


def main() -> None:
    shards = number("SCYLLA_SHARD_COUNT")
    tasks = number("SCYLLA_TASK_COUNT")
    slot = number("SCYLLA_TASK_SLOT")
    child = None

    def stop(signum, _frame):
        if child is not None and child.poll() is None:
            child.send_signal(signum)
            child.wait()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failed = 0
    for index in shards_of(slot, tasks, shards):
        argv = [sys.executable, ENTRY_SCRIPT, *sys.argv[1:], "--shard", f"{index}/{shards}"]
        sys.stdout.flush()
        child = subprocess.Popen(argv)
        code = child.wait()
        child = None
        if code != 0:
            print(f"shard {index} of {shards} exited with {code}", file=sys.stderr, flush=True)
            failed = failed or code
    sys.exit(failed)


if __name__ == "__main__":
    main()
