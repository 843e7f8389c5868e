"""Resolve the hooks of a ``.pre-commit-config.yaml`` with pre-commit, and build their envs."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gatekit.errors import UsageError
from gatekit.lazyclass import dataclass

CONFIG_FILE = ".pre-commit-config.yaml"
# Languages whose hooks gatekit runs from their entry directly; every other language
# pre-commit knows runs through pre-commit's own implementation (gatekit.precommit.langrun).
DIRECT_LANGUAGES = frozenset(
    {"python", "system", "script", "unsupported", "unsupported_script", "fail", "pygrep"}
)
PYGREP = "pre_commit.languages.pygrep"
STATE_FILE = ".install_state_v2"  # pre-commit writes it once an environment is complete
_lock = threading.Lock()  # pre-commit's store and environments: one builder at a time


@dataclass(frozen=True)
class ResolvedHook:
    """One hook as pre-commit resolves it (manifest merged with the config entry)."""

    key: str  # 'ID' or 'ID#N' (the N-th hook with this id in the file)
    id: str
    repo: str
    rev: str | None
    language: str
    entry: str
    args: tuple[str, ...]
    files: str
    exclude: str
    types: tuple[str, ...]
    types_or: tuple[str, ...]
    exclude_types: tuple[str, ...]
    always_run: bool
    pass_filenames: bool
    require_serial: bool
    stages: tuple[str, ...]
    additional_dependencies: tuple[str, ...]
    language_version: str
    prefix: str  # where pre-commit keeps the hook's repository ("": the candidate's root)
    top_files: str  # the config's own files / exclude, applied before the hook's
    top_exclude: str

    def definition(self) -> dict[str, Any]:
        """What decides the hook's result, for its cache key (no machine paths)."""
        return {
            "id": self.id,
            "repo": self.repo,
            "rev": self.rev,
            "language": self.language,
            "entry": self.entry,
            "args": list(self.args),
            "files": self.files,
            "exclude": self.exclude,
            "types": list(self.types),
            "types_or": list(self.types_or),
            "exclude_types": list(self.exclude_types),
            "always_run": self.always_run,
            "pass_filenames": self.pass_filenames,
            "require_serial": self.require_serial,
            "additional_dependencies": list(self.additional_dependencies),
            "language_version": self.language_version,
            "top_files": self.top_files,
            "top_exclude": self.top_exclude,
        }


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _import() -> Any:
    try:
        import pre_commit.repository as repository
    except ImportError:
        raise UsageError(
            "pre-commit gates need pre-commit in gatekit's environment",
            tip="reinstall gatekit: pre-commit is one of its dependencies",
        ) from None
    return repository


def resolve_hooks(root: Path) -> tuple[dict[str, ResolvedHook], dict[str, Any]]:
    """The hooks of ``root``'s config by key, resolved and as pre-commit's own objects.

    pre-commit clones hook repositories it lacks into PRE_COMMIT_HOME here (its store's
    lock guards it against a ``pre-commit`` running at the same time).
    """
    repository = _import()
    from pre_commit.clientlib import InvalidConfigError, load_config
    from pre_commit.store import Store

    config_path = root / CONFIG_FILE
    with _lock, _cwd(root):
        try:
            config = load_config(str(config_path))
        except InvalidConfigError as exc:
            raise UsageError(f"{CONFIG_FILE}: {exc}") from None
        store = Store()
        hooks = repository.all_hooks(config, store)
    out: dict[str, ResolvedHook] = {}
    raw: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for hook in hooks:
        seen[hook.id] = seen.get(hook.id, 0) + 1
        key = hook.id if seen[hook.id] == 1 else f"{hook.id}#{seen[hook.id]}"
        repo_url, rev = _source(hook.src, config)
        raw[key] = hook
        prefix = hook.prefix.prefix_dir
        out[key] = ResolvedHook(
            key=key,
            id=hook.id,
            repo=repo_url,
            rev=rev,
            language=hook.language,
            entry=hook.entry,
            args=tuple(hook.args),
            files=hook.files,
            exclude=hook.exclude,
            types=tuple(hook.types),
            types_or=tuple(hook.types_or),
            exclude_types=tuple(hook.exclude_types),
            always_run=bool(hook.always_run),
            pass_filenames=bool(hook.pass_filenames),
            require_serial=bool(hook.require_serial),
            stages=tuple(hook.stages),
            additional_dependencies=tuple(hook.additional_dependencies),
            language_version=hook.language_version,
            prefix="" if os.path.realpath(prefix) == os.path.realpath(root) else prefix,
            top_files=config.get("files", ""),
            top_exclude=config.get("exclude", "^$"),
        )
    return out, raw


def install(hook: Any, root: Path) -> None:
    """Build the hook's environment with pre-commit, unless pre-commit already has it."""
    repository = _import()
    from pre_commit.store import Store

    with _lock, _cwd(root):
        repository.install_hook_envs([hook], Store())


def _source(src: str, config: Mapping[str, Any]) -> tuple[str, str | None]:
    for repo in config.get("repos", ()):
        if repo.get("repo") == src:
            rev = repo.get("rev")
            return src, rev if isinstance(rev, str) else None
    return src, None


def env_dir(hook: ResolvedHook) -> Path | None:
    """The environment pre-commit builds for the hook (None: the language has none)."""
    if hook.language == "python":
        return Path(hook.prefix) / f"py_env-{hook.language_version}"
    if hook.language in DIRECT_LANGUAGES:
        return None
    name = _environment_dirs().get(hook.language)
    return None if name is None else Path(hook.prefix) / f"{name}-{hook.language_version}"


def _environment_dirs() -> dict[str, str | None]:
    """language -> the directory name pre-commit gives its environments (None: none)."""
    from pre_commit.all_languages import languages

    return {name: lang.ENVIRONMENT_DIR for name, lang in languages.items()}


def known_language(language: str) -> bool:
    return language in DIRECT_LANGUAGES or language in _environment_dirs()


def is_built(hook: ResolvedHook) -> bool:
    """Whether pre-commit finished building the hook's environment (its state file)."""
    envdir = env_dir(hook)
    return envdir is None or (envdir / STATE_FILE).is_file()


def hook_env(hook: ResolvedHook, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with the hook's environment on it, as pre-commit's ``in_env`` sets it."""
    out = dict(env)
    envdir = env_dir(hook)
    if envdir is None:
        return out
    out.pop("PYTHONHOME", None)
    out["VIRTUAL_ENV"] = str(envdir)
    out["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    out["PATH"] = f"{envdir / 'bin'}{os.pathsep}{out.get('PATH', '')}"
    return out


def to_json(hooks: Mapping[str, ResolvedHook]) -> list[dict[str, Any]]:
    import dataclasses

    return [dataclasses.asdict(h) for h in hooks.values()]


def from_json(items: Any) -> dict[str, ResolvedHook] | None:
    """Hooks stored by :func:`to_json`, or None when they do not read back."""
    try:
        fields: list[dict[str, Any]] = [
            {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()} for item in items
        ]
        hooks = [ResolvedHook(**f) for f in fields]
    except (TypeError, AttributeError):
        return None
    return {h.key: h for h in hooks}


def hook_argv(hook: ResolvedHook) -> list[str]:
    """The hook's command before its file names."""
    import shlex
    import sys

    if hook.language == "pygrep":  # pre-commit's grep: the pattern is the entry
        # -I: gatekit's own pre-commit, never a package of that name in the candidate
        return [sys.executable, "-I", "-m", PYGREP, *hook.args, hook.entry]
    cmd = [*shlex.split(hook.entry), *hook.args]
    if hook.language in ("script", "unsupported_script") and hook.prefix:
        cmd[0] = str(Path(hook.prefix) / cmd[0])
    return cmd
