"""Tests of the scylla package and scripts/run_e2e_experiment.py.

Run from the repository root: ``python3 -m unittest discover -s tests/python -t .``
Importing this package puts ``src/`` first on the path, as the script does.
"""

import sys
from pathlib import Path

_SOURCE = Path(__file__).resolve().parents[2] / "src"
if str(_SOURCE) not in sys.path:
    sys.path.insert(0, str(_SOURCE))
