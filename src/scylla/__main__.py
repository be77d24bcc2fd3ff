"""``python -m scylla``: the experiment runner's command line."""

import sys

from .cli import main

sys.exit(main())
