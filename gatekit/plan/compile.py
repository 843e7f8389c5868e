"""config + explicit context -> GatePlan (deterministic, nothing else read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gatekit.config.durations import is_cores, parse_cores, parse_duration
from gatekit.config.enums import Event, GateType
from gatekit.config.loader import LoadedConfig
from gatekit.config.models import Gate, Limits, Retries, ValidationConfig, When
from gatekit.config.sizes import parse_size
from gatekit.globs import first_match, match_any
from gatekit.plan.model import (
    Decision,
    GateLimits,
    GatePlan,
    KpiSpec,
    PlanContext,
    PlannedGate,
    QuarantinePolicy,
    RetryPolicy,
    Runner,
    SessionSpec,
)
from gatekit.plan.toposort import stable_toposort

DEFAULT_TIMEOUT = 600.0
# Where neither the gate nor ``defaults`` set a limit: generous, so that only a
# runaway (a fork bomb, a leak) meets them (also written out in policies/default.yaml).
DEFAULT_LIMITS = Limits(memory="8G", disk="20G", processes=1024)
TRUTHY = frozenset({"1", "true", "yes", "on"})
# Events whose verdict is complete: an auto gate runs (or is cached by a recorded pass of
# the same inputs) whatever changed; skipping on `paths` is a hook-time shortcut only.
COMPLETE_EVENTS = frozenset({Event.CI, Event.PULL_REQUEST, Event.MERGE})


def env_flag_names(config: ValidationConfig) -> tuple[str, ...]:
    """Every env flag the config names in a ``when``: the only variables a plan reads."""
    names: set[str] = set()
    for gate in config.gates:
        if gate.when is not None and gate.when.env is not None:
            names.update([gate.when.env] if isinstance(gate.when.env, str) else gate.when.env)
    return tuple(sorted(names))


def make_context(
    config: ValidationConfig,
    event: Event | str,
    branch: str | None,
    changed: Sequence[str] | None,
    environ: Mapping[str, str],
    all_paths: bool = False,
) -> PlanContext:
    flags = {name: environ[name] for name in env_flag_names(config) if name in environ}
    return PlanContext(
        event=Event(event),
        branch=branch,
        changed=None if changed is None else tuple(sorted(set(changed))),
        env=flags,
        all_paths=all_paths,
    )


def compile_plan(loaded: LoadedConfig, context: PlanContext) -> GatePlan:
    config = loaded.config
    gates = {g.id: g for g in config.gates}
    order = stable_toposort([g.id for g in config.gates], {g.id: g.needs for g in config.gates})
    planned: dict[str, PlannedGate] = {}
    for gate_id in order:
        planned[gate_id] = _plan_gate(gates[gate_id], config, context, planned)
    jobs = config.defaults.jobs
    return GatePlan.seal(
        policies=loaded.policies,
        context=context,
        order=tuple(order),
        gates=tuple(planned[g] for g in order),
        jobs=jobs if isinstance(jobs, int) else None,
        watchdog=_duration_or_none(config.defaults.watchdog),
        quarantine=QuarantinePolicy(**config.quarantine.model_dump()),
    )


def _plan_gate(
    gate: Gate, config: ValidationConfig, ctx: PlanContext, done: Mapping[str, PlannedGate]
) -> PlannedGate:
    defaults = config.defaults
    decision, reason = _decide(gate, ctx)
    if decision is not Decision.SKIP:
        for need in gate.needs:
            upstream = done[need]
            if upstream.decision is Decision.SKIP:
                decision, reason = Decision.SKIP, f"needs '{need}', which is skipped"
                break
            if upstream.decision is Decision.MANUAL:
                decision, reason = Decision.SKIP, f"needs '{need}', which waits for a manual action"
                break
    runner: Runner = (
        "manual"
        if gate.type is GateType.MANUAL
        else next(k for k in ("session", "nox", "builtin") if getattr(gate, k) is not None)
        if gate.pre_commit is None
        else "pre-commit"
    )
    timeout = gate.timeout if gate.timeout is not None else defaults.timeout
    python = defaults.python
    session = gate.session
    if session is not None and session.python is None and python is not None:
        session = session.model_copy(update={"python": python})
    junit = gate.junit
    return PlannedGate(
        id=gate.id,
        type=gate.type,
        decision=decision,
        reason=reason,
        required=True if gate.required is None else gate.required,
        needs=tuple(gate.needs),
        paths=None if gate.paths is None else tuple(gate.paths),
        runner=runner,
        session=None if session is None else SessionSpec.model_validate(session.model_dump()),
        nox=gate.nox,
        builtin=gate.builtin,
        pre_commit=gate.pre_commit,
        options=dict(gate.options),
        junit=() if junit is None else ((junit,) if isinstance(junit, str) else tuple(junit)),
        kpi=None if gate.kpi is None else KpiSpec.model_validate(gate.kpi.model_dump()),
        instructions=gate.instructions,
        env=dict(gate.env),
        pass_env=tuple(gate.pass_env),
        pool=gate.pool,
        timeout=DEFAULT_TIMEOUT if timeout is None else parse_duration(timeout),
        stall_timeout=_duration_or_none(
            gate.stall_timeout if gate.stall_timeout is not None else defaults.stall_timeout
        ),
        retries=_retry_policy(gate.retries or defaults.retries or Retries()),
        network=_first_bool(gate.network, defaults.network, True),
        fix=gate.fix,
        cache=_first_bool(gate.cache, defaults.cache, True),
        description=gate.description,
        limits=_limits(gate.limits, defaults.limits),
    )


def _limits(gate: Limits | None, defaults: Limits | None) -> GateLimits:
    """Per limit: the gate's, else the defaults', else gatekit's."""
    layers = [layer for layer in (gate, defaults, DEFAULT_LIMITS) if layer is not None]

    def first(name: str) -> object:
        return next((v for v in (getattr(x, name) for x in layers) if v is not None), None)

    memory, cpu, disk = first("memory"), first("cpu"), first("disk")
    processes, open_files = first("processes"), first("open_files")
    return GateLimits(
        memory=None if memory in (None, "unlimited") else parse_size(memory),
        cpu=None if cpu in (None, "unlimited") or is_cores(cpu) else parse_duration(cpu),
        cores=parse_cores(cpu) if is_cores(cpu) else None,
        disk=None if disk in (None, "unlimited") else parse_size(disk),
        processes=processes if isinstance(processes, int) else None,
        open_files=open_files if isinstance(open_files, int) else None,
    )


def _decide(gate: Gate, ctx: PlanContext) -> tuple[Decision, str]:
    if not gate.enabled:
        return Decision.SKIP, "disabled in the configuration (enabled: false)"
    if gate.type is GateType.MANUAL:
        if gate.when is not None:
            holds, why = when_holds(gate.when, ctx)
            if not holds:
                return Decision.SKIP, f"no manual action needed: {why}"
        return Decision.MANUAL, f"manual action required: {gate.instructions}"
    if gate.type is GateType.CONDITIONAL:
        if gate.required:
            return Decision.RUN, "required: true"
        assert gate.when is not None  # the loader guarantees it
        holds, why = when_holds(gate.when, ctx)
        return (Decision.RUN if holds else Decision.SKIP), why
    if gate.paths is not None and ctx.all_paths:
        return Decision.RUN, "auto: --all plans every path as changed"
    if gate.paths is not None and ctx.changed is not None:
        hit = first_match(ctx.changed, gate.paths)
        if hit is not None:
            return Decision.RUN, f"auto: changed path '{hit[0]}' matches '{hit[1]}'"
        if ctx.event in COMPLETE_EVENTS:
            return Decision.RUN, (
                f"auto: complete verdict for event '{ctx.event}': runs, or is cached by a"
                f" recorded pass of the same inputs (no changed path matches paths"
                f" {list(gate.paths)})"
            )
        return Decision.SKIP, (
            f"no changed path matches paths {list(gate.paths)}"
            f" (a hook-time shortcut of event '{ctx.event}'; --all runs it)"
        )
    return Decision.RUN, "auto: runs on every check"


def when_holds(when: When, ctx: PlanContext) -> tuple[bool, str]:
    """Filters (event, branch) must match; of the triggers (changed, env), one must fire."""
    if when.event is not None and ctx.event not in when.event:
        return False, f"event '{ctx.event}' is not one of {[str(e) for e in when.event]}"
    if when.branch is not None and (ctx.branch is None or not match_any(ctx.branch, when.branch)):
        return False, f"branch '{ctx.branch or '(detached)'}' matches none of {when.branch}"
    fired: list[str] = []
    triggers = 0
    if when.env is not None:
        triggers += 1
        names = [when.env] if isinstance(when.env, str) else when.env
        for name in names:
            if ctx.env.get(name, "").strip().lower() in TRUTHY:
                fired.append(f"env flag {name}={ctx.env[name]}")
                break
    if when.changed is not None:
        triggers += 1
        if ctx.all_paths:
            fired.append("--all: every path counts as changed")
        elif ctx.changed is None:
            fired.append("changed paths unknown (every path may have changed)")
        else:
            hit = first_match(ctx.changed, when.changed)
            if hit is not None:
                fired.append(f"changed path '{hit[0]}' matches '{hit[1]}'")
    if triggers and not fired:
        parts = []
        if when.env is not None:
            names = [when.env] if isinstance(when.env, str) else when.env
            parts.append(f"env flag {' / '.join(names)} not set")
        if when.changed is not None:
            parts.append(f"no changed path matches {when.changed}")
        return False, "when does not hold: " + " and ".join(parts)
    filters = []
    if when.event is not None:
        filters.append(f"event '{ctx.event}'")
    if when.branch is not None:
        filters.append(f"branch '{ctx.branch}'")
    return True, "when holds: " + ", ".join(fired + filters)


def _retry_policy(r: Retries) -> RetryPolicy:
    return RetryPolicy(
        transient=r.transient,
        flaky=r.flaky,
        exit_codes=tuple(r.exit_codes),
        patterns=tuple(r.patterns),
        backoff=float(r.backoff),
    )


def _first_bool(*values: bool | None) -> bool:
    for value in values:
        if value is not None:
            return value
    return False


def _duration_or_none(value: object) -> float | None:
    return None if value is None else parse_duration(value)
