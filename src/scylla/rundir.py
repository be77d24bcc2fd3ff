"""A unit's run directory is replaced only once its new result is written.

A unit that runs again (``--fresh``, or an earlier result in error) must not
lose what it had when the new run does not finish: Ctrl-C, SIGTERM, a full
disk or an early stop abandon it, and the ``summary.json`` of an earlier run
still lists the earlier result. So the earlier directory is set aside first,
as ``.run-N.previous`` next to it, with its ``result.json`` renamed
``.result.json.previous`` so that no reader of the experiment (the summary,
``cargo xtask report``, which look for ``result.json``) takes it for a run.
The unit then runs in a new, empty directory. When its result is written the
earlier directory is removed; when it is abandoned, its directory is removed
and the earlier one is put back.

Each step is one rename, so a runner killed between two of them (SIGKILL, a
power loss) leaves a state that :func:`recover` recognizes. It runs for every
planned unit before the runner decides what is complete.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from .results import RESULT_FILE

HIDDEN_RESULT = f".{RESULT_FILE}.previous"

log = logging.getLogger("scylla")


def previous_dir(run_dir: Path) -> Path:
    """Where the earlier run directory waits while the unit runs again."""
    return run_dir.with_name(f".{run_dir.name}.previous")


def set_aside(run_dir: Path) -> Path | None:
    """Make way for a new run; returns the earlier directory when it held a result.

    A directory without a result (a unit that never finished) is removed, as before.
    """
    if not run_dir.exists():
        return None
    if not (run_dir / RESULT_FILE).is_file():
        shutil.rmtree(run_dir)
        return None
    previous = previous_dir(run_dir)
    if previous.exists():
        shutil.rmtree(previous)
    os.rename(run_dir / RESULT_FILE, run_dir / HIDDEN_RESULT)
    os.rename(run_dir, previous)
    return previous


def discard(previous: Path | None) -> None:
    """The new result is written: the earlier directory goes."""
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def put_back(run_dir: Path, previous: Path | None) -> None:
    """The unit was abandoned: its earlier directory returns, untouched."""
    if previous is None:
        return
    try:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        os.rename(previous, run_dir)
        os.rename(run_dir / HIDDEN_RESULT, run_dir / RESULT_FILE)
    except OSError as error:
        log.warning("could not put back the earlier result of %s (%s); the next run "
                    "restores it", run_dir, error)


def recover(run_dir: Path) -> None:
    """Finish what a runner killed in the middle of :func:`set_aside` or :func:`put_back` left."""
    previous = previous_dir(run_dir)
    if previous.exists():
        if (run_dir / RESULT_FILE).is_file():
            shutil.rmtree(previous)  # the new result was written; only the clean-up was missed
        else:
            if run_dir.exists():
                shutil.rmtree(run_dir)
            os.rename(previous, run_dir)
    hidden = run_dir / HIDDEN_RESULT
    if hidden.exists():
        if (run_dir / RESULT_FILE).exists():
            hidden.unlink()
        else:
            os.rename(hidden, run_dir / RESULT_FILE)
