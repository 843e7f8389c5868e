"""The plan cache: a hit gives exactly the plan compiling would; any change is a miss."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Repo

from gatekit.config.loader import CONFIG_NAMES, load_config
from gatekit.plan import cache as plan_cache
from gatekit.plan.cache import PlanCache
from gatekit.plan.compile import compile_plan, make_context

CONFIG = """version: 1
gates:
  - id: one
    session: {run: ["true"]}
  - id: flagged
    type: conditional
    session: {run: ["true"]}
    when: {env: [RUN_FLAGGED, OTHER_FLAG]}
"""


def _compiled(root: Path, changed: tuple[str, ...], environ: dict[str, str]):  # type: ignore[no-untyped-def]
    loaded = load_config(root)
    context = make_context(loaded.config, "pre-commit", "main", changed, environ)
    return loaded, context, compile_plan(loaded, context)


def test_config_names_match_the_loader() -> None:
    assert plan_cache.CONFIG_NAMES == CONFIG_NAMES


def test_hit_is_the_compiled_plan(repo: Repo, tmp_path: Path) -> None:
    repo.write("validation.yaml", CONFIG)
    cache_dir = tmp_path / "plans"
    environ = {"RUN_FLAGGED": "yes", "UNRELATED": "x"}
    loaded, context, plan = _compiled(repo.path, ("b.py", "a.py"), environ)

    cold = PlanCache(cache_dir, repo.path, None)
    assert cold.flags is None  # nothing known yet: the caller loads the config
    cold.put(loaded, context, plan)

    warm = PlanCache(cache_dir, repo.path, None)
    assert warm.flags == ("OTHER_FLAG", "RUN_FLAGGED")
    again = warm.context("pre-commit", "main", ("b.py", "a.py"), environ)
    assert again == context
    hit = warm.get(again)
    assert hit is not None
    assert hit == plan
    assert hit.canonical_json() == plan.canonical_json()
    # another context is another plan
    other = warm.context("pre-commit", "main", ("c.py",), {})
    assert warm.get(other) is None


def test_changed_config_or_extended_file_is_a_miss(repo: Repo, tmp_path: Path) -> None:
    repo.write("base.yaml", "version: 1\ngates:\n  - id: base\n    builtin: conflict-markers\n")
    repo.write("validation.yaml", "version: 1\nextends: base.yaml\n" + CONFIG.split("\n", 1)[1])
    cache_dir = tmp_path / "plans"
    loaded, context, plan = _compiled(repo.path, (), {})
    PlanCache(cache_dir, repo.path, None).put(loaded, context, plan)
    assert PlanCache(cache_dir, repo.path, None).flags is not None

    repo.write("base.yaml", "version: 1\ngates:\n  - id: base2\n    builtin: conflict-markers\n")
    assert PlanCache(cache_dir, repo.path, None).flags is None
    loaded, context, plan = _compiled(repo.path, (), {})
    PlanCache(cache_dir, repo.path, None).put(loaded, context, plan)
    warm = PlanCache(cache_dir, repo.path, None)
    hit = warm.get(context)
    assert hit is not None and "base2" in hit.order

    repo.write("validation.yaml", CONFIG + '  - id: three\n    session: {run: ["true"]}\n')
    assert PlanCache(cache_dir, repo.path, None).flags is None


def test_damaged_plan_file_is_a_miss(repo: Repo, tmp_path: Path) -> None:
    repo.write("validation.yaml", CONFIG)
    cache_dir = tmp_path / "plans"
    loaded, context, plan = _compiled(repo.path, (), {})
    PlanCache(cache_dir, repo.path, None).put(loaded, context, plan)
    [plan_file] = cache_dir.glob("plan-*.json")
    doc = json.loads(plan_file.read_text())
    doc["gates"][0]["timeout"] = 1.0  # body no longer matches plan_id
    plan_file.write_text(json.dumps(doc))
    assert PlanCache(cache_dir, repo.path, None).get(context) is None
    plan_file.write_text("{not json")
    assert PlanCache(cache_dir, repo.path, None).get(context) is None


def test_check_uses_and_refreshes_the_cache(repo: Repo) -> None:
    repo.write("validation.yaml", CONFIG)
    repo.commit("config")
    first = repo.gatekit("check", "--staged", "--no-record", "--json")
    assert first.returncode == 0, first.stderr
    plans = Path(repo.git("rev-parse", "--git-common-dir").strip())
    plans = (repo.path / plans if not plans.is_absolute() else plans) / "gatekit" / "plans"
    assert list(plans.glob("plan-*.json"))
    second = repo.gatekit("check", "--staged", "--no-record", "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["plan_id"] == json.loads(first.stdout)["plan_id"]

    # a broken config is reported even though a plan for the old one is cached
    repo.write("validation.yaml", CONFIG.replace("version: 1", "version: 7"))
    broken = repo.gatekit("check", "--staged", "--no-record")
    assert broken.returncode != 0
    assert "version" in broken.stderr

    # a new gate shows up at once
    repo.write("validation.yaml", CONFIG + '  - id: three\n    session: {run: ["true"]}\n')
    third = repo.gatekit("check", "--staged", "--no-record", "--json")
    assert third.returncode == 0, third.stderr
    assert "three" in {g["id"] for g in json.loads(third.stdout)["gates"]}
