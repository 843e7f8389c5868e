"""The opt-in warm-start server (``gatekit daemon``): gatekit stays imported, one fork per check.

- :mod:`gatekit.daemon.protocol`: where the socket lives, framing, the package fingerprint
  (standard library only: the client imports it before anything else);
- :mod:`gatekit.daemon.client`: the fast path of ``gatekit check`` and the control requests;
- :mod:`gatekit.daemon.server`: the accept loop (forks one worker per request);
- :mod:`gatekit.daemon.worker`: what a forked worker does to become the client's process;
- :mod:`gatekit.daemon.preload`: what the server imports and builds before serving;
- :mod:`gatekit.daemon.control`: ``start``, ``stop``, ``status`` for the command.

Kept import-free: the client path must not pay for anything it does not use.
"""
