"""gatekit: Git-native gates that check exactly what will land.

Kept import-free on purpose: ``gatekit --version`` must not pay for pygit2,
pydantic or nox.
"""

__version__ = "0.1.0"
