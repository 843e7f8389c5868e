"""Hooks of a repository's ``.pre-commit-config.yaml`` run as gates (``pre-commit: HOOK_ID``).

The real pre-commit (a dependency of gatekit, imported as a library)
resolves hooks against their repositories and builds their environments into
the user's ``PRE_COMMIT_HOME``, so what ``pre-commit`` already built is reused
and never built twice. A warm hook of python, system, script or pygrep then runs
its entry directly in that environment, without starting pre-commit, in the gate's
view of the shadow; a hook of any other language runs there through pre-commit's own
implementation of the language (:mod:`gatekit.precommit.langrun`).
"""
