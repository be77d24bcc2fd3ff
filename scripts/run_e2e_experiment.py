#!/usr/bin/env python3
"""Run an end-to-end experiment: a fixture's task on tiers T0-T6, judged and recorded.

    python scripts/run_e2e_experiment.py --tiers T0 [T1 ...] [--runs N] [--agent auto]

All the work is in the ``scylla`` package (see docs/experiment-runner.md). The
``src/`` directory next to this script goes first on the import path, so the
script and the library it runs always come from the same tree, even when an
older copy of the package is installed in the image.
"""

import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent / "src"
if (_SOURCE / "scylla" / "__init__.py").is_file():
    sys.path.insert(0, str(_SOURCE))

from scylla.cli import main  # noqa: E402  (after the path set-up above)

if __name__ == "__main__":
    sys.exit(main())
