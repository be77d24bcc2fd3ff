"""scylla: run a coding task against an agent, judge the result, record it.

The package runs inside the ``scylla-runner`` container. Importing it must stay
cheap and dependency-light (the image's health probe is ``import scylla``), so
this module imports nothing; the experiment runner lives in :mod:`scylla.cli`
and :mod:`scylla.runner`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
# bench 1795449802503611236
# bench 1795449812533690560
# bench 1795449823653900017
# bench 1795449836249352369
