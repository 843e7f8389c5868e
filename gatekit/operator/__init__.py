"""The operator's view of runs: read a run directory, tell live from dead, stop, recover.

Standard library only (``gatekit status`` must start fast); other areas (reports,
CI) import :mod:`gatekit.operator.rundir` to read what a run wrote.
"""
