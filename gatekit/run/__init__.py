"""The runner: scheduler, sandbox, Nox environments, process groups, run directory.

Entry point: ``gatekit.run.execute.execute_plan``.
"""
