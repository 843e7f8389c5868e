"""gatekit check, as a pipeline of stages that only import downwards.

- :mod:`gatekit.check.request`: ``CheckRequest`` and ``CheckReport``, shared by every stage;
- :mod:`gatekit.check.execute`: the shadow, the hooks into the runner, the result cache;
- :mod:`gatekit.check.finish`: approvals, the guard's findings, reports, promotion, fixes;
- :mod:`gatekit.check.pipeline`: ``run_check``, which wires them.
"""
