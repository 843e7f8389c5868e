"""Contract tests of ``gatekit report github`` and ``check --ci --statuses`` against a
local server that validates every request body against GitHub's published schemas."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from check_support import explain, gate, write_config
from conftest import Repo
from github_server import TOKEN, FakeGitHub, Script
from github_support import ci_env, commands, payload

from gatekit.github.api import ApiError, GitHubApi

LONG = "why " * 60  # a reason far over GitHub's 140-character status description


def _env(fake: FakeGitHub) -> dict[str, str]:
    return {
        "GITHUB_API_URL": fake.url,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "octo-org/widgets",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_RUN_ID": "7000001",
    }


def _recorded_run(repo: Repo, markers: int = 120) -> str:
    write_config(
        repo,
        [
            {"id": "markers", "builtin": "conflict-markers"},
            gate("unit", "print('ok')"),
            gate("style", f"import sys; print({LONG!r}); sys.exit(1)", required=False),
        ],
    )
    repo.write("bad.txt", "".join(f"<<<<<<< {i}\n" for i in range(markers)))
    sha = repo.commit("findings")
    proc = repo.gatekit("check", "--plain", "--rev", "HEAD")
    assert proc.returncode == 1, explain(proc)
    return sha


def test_statuses_and_check_run_keep_to_the_contract(repo: Repo) -> None:
    sha = _recorded_run(repo)
    with FakeGitHub() as fake:
        proc = repo.gatekit("report", "github", "--sha", sha, env=_env(fake))
    assert proc.returncode == 0, explain(proc)
    rejected = [(s.op, s.status, s.body) for s in fake.seen if s.status >= 300]
    assert rejected == []
    statuses = fake.by_op("repos/create-commit-status")
    assert {s.path for s in statuses} == {f"/repos/octo-org/widgets/statuses/{sha}"}
    got = {s.body["context"]: (s.body["state"], s.body["description"]) for s in statuses}
    assert got["gatekit/markers"][0] == "failure"
    assert got["gatekit/unit"] == ("success", "passed")
    assert got["gatekit/style"][0] == "failure"
    assert got["gatekit/style"][1].startswith("failed (advisory): ")
    # cut to GitHub's 140 characters (one fewer when the cut falls on a space, which goes)
    assert 139 <= len(got["gatekit/style"][1]) <= 140
    assert got["gatekit/style"][1].endswith("\u2026")
    assert got["gatekit"][0] == "failure"
    assert all(
        s.body["target_url"] == "https://github.com/octo-org/widgets/actions/runs/7000001"
        for s in statuses
    )
    created = fake.by_op("checks/create")
    updates = fake.by_op("checks/update")
    assert len(created) == 1
    assert created[0].body["head_sha"] == sha
    assert created[0].body["conclusion"] == "failure"
    assert [len(s.body["output"]["annotations"]) for s in created + updates] == [50, 50, 20]
    assert {s.path for s in updates} == {"/repos/octo-org/widgets/check-runs/9001"}
    lines = sorted(
        a["start_line"] for s in created + updates for a in s.body["output"]["annotations"]
    )
    assert lines == list(range(1, 121))
    assert "published checkpoint" in proc.stderr
    assert "3 status(es)" not in proc.stderr and "4 status(es)" in proc.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    assert TOKEN not in repo.git("log", "-p", "--all", "--format=%B") + repo.git(
        "notes", "--ref=gatekit", "list"
    )


def test_the_fake_rejects_what_github_rejects() -> None:
    with FakeGitHub() as fake:
        api = GitHubApi(fake.url, TOKEN)
        path = "/repos/o/r/statuses/" + "a" * 40
        with pytest.raises(ApiError) as too_long:
            api.request("POST", path, {"state": "success", "description": "x" * 141})
        assert too_long.value.status == 422
        assert "description is too long (maximum is 140 characters)" in too_long.value.message
        with pytest.raises(ApiError) as bad_state:
            api.request("POST", path, {"state": "green"})
        assert bad_state.value.status == 422
        assert "'green' is not one of" in bad_state.value.message
        ann = {
            "path": "a",
            "start_line": 1,
            "end_line": 1,
            "annotation_level": "failure",
            "message": "m",
        }
        body = {
            "name": "n",
            "head_sha": "a" * 40,
            "output": {"title": "t", "summary": "s", "annotations": [ann] * 51},
        }
        with pytest.raises(ApiError) as too_many:
            api.request("POST", "/repos/o/r/check-runs", body)
        assert too_many.value.status == 422
        assert "Only 50 annotations" in too_many.value.message
        assert TOKEN not in str(too_many.value.message)


def test_a_read_only_token_falls_back_to_annotations_and_says_so_once(repo: Repo) -> None:
    sha = _recorded_run(repo, markers=3)
    with FakeGitHub() as fake:
        fake.scripts.append(
            Script(403, body={"message": "Resource not accessible by integration"}, times=99)
        )
        proc = repo.gatekit("report", "github", "--sha", sha, env=_env(fake))
    assert proc.returncode == 0, explain(proc)
    assert len(fake.seen) == 1  # one refusal, nothing more asked
    assert proc.stderr.count("cannot set commit statuses") == 1
    assert "Resource not accessible by integration" in proc.stderr
    got = commands(proc.stdout)
    assert [c.name for c in got] == ["error"] * 3 + ["warning"]
    assert [c.props["line"] for c in got[:3]] == ["1", "2", "3"]


@pytest.mark.parametrize(
    "script",
    [
        Script(429, headers={"Retry-After": "1"}, body={"message": "rate limited"}),
        Script(
            403,
            headers={"Retry-After": "1"},
            body={"message": "You have exceeded a secondary rate limit"},
        ),
    ],
    ids=["429", "secondary-403"],
)
def test_rate_limits_honour_retry_after(repo: Repo, script: Script) -> None:
    sha = _recorded_run(repo, markers=1)
    with FakeGitHub() as fake:
        fake.scripts.append(script)
        proc = repo.gatekit("report", "github", "--sha", sha, env=_env(fake))
    assert proc.returncode == 0, explain(proc)
    first, second = fake.seen[0], fake.seen[1]
    assert first.status == script.status and second.status == 201
    assert second.body == first.body  # the same status, asked again
    assert second.at - first.at >= 1.0
    assert "rate limited: waiting 1s as GitHub asks" in proc.stderr
    assert len(fake.by_op("repos/create-commit-status")) == 5  # 4 published + 1 refused


def test_rate_limit_reset_and_its_bound() -> None:
    slept: list[float] = []
    with FakeGitHub() as fake:
        reset = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"}
        fake.scripts.append(Script(403, headers=reset, body={"message": "API rate limit exceeded"}))
        api = GitHubApi(fake.url, TOKEN, sleep=slept.append, clock=lambda: 990.0)
        api.request("POST", "/repos/o/r/statuses/" + "a" * 40, {"state": "pending"})
        assert slept == [11.0]  # until the reset, plus a second
        fake.scripts.append(Script(429, headers={"Retry-After": "600"}))
        with pytest.raises(ApiError) as exc:
            api.request("POST", "/repos/o/r/statuses/" + "a" * 40, {"state": "pending"})
    assert "asks to wait 600s more, past the 300s gatekit waits" in exc.value.message


def test_network_errors_are_retried_with_backoff() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    slept: list[float] = []
    api = GitHubApi(f"http://127.0.0.1:{port}", TOKEN, sleep=slept.append)
    with pytest.raises(ApiError) as exc:
        api.request("POST", "/repos/o/r/statuses/" + "a" * 40, {"state": "pending"})
    assert slept == [1.0, 2.0, 4.0]
    assert "cannot reach http://127.0.0.1" in exc.value.message
    assert "after 4 attempts" in exc.value.message


def test_server_errors_are_retried() -> None:
    slept: list[float] = []
    with FakeGitHub() as fake:
        fake.scripts.append(Script(502, body={"message": "Bad gateway"}, times=2))
        api = GitHubApi(fake.url, TOKEN, sleep=slept.append)
        api.request("POST", "/repos/o/r/statuses/" + "a" * 40, {"state": "pending"})
    assert slept == [1.0, 2.0]
    assert [s.status for s in fake.seen] == [502, 502, 201]


def test_check_ci_statuses_sets_pending_before_the_gates_run(repo: Repo, tmp_path: Path) -> None:
    with FakeGitHub() as fake:
        ping = (
            "import os, urllib.request; "
            "urllib.request.urlopen(os.environ['FAKE'] + '/marker/' + os.environ['GATE']).read()"
        )
        write_config(
            repo,
            [
                gate("one", ping, env={"FAKE": fake.url, "GATE": "one"}),
                gate("two", ping, env={"FAKE": fake.url, "GATE": "two"}, needs=["one"]),
            ],
        )
        before = repo.commit("config")
        repo.write("src/x.py", "x = 1\n")
        after = repo.commit("change")
        event = payload(tmp_path, "push", before=before, head=after)
        env = ci_env(tmp_path, "push", event, sha=after) | _env(fake)
        proc = repo.gatekit("check", "--statuses", env=env)
    assert proc.returncode == 0, explain(proc)
    order = [
        (s.body or {}).get("state", "") + " " + (s.body or {}).get("context", s.path)
        for s in fake.seen
        if s.op == "repos/create-commit-status" or s.path.startswith("/marker/")
    ]
    assert order == [
        "pending gatekit/one",
        "pending gatekit/two",
        " /marker/one",
        " /marker/two",
        "success gatekit/one",
        "success gatekit/two",
        "success gatekit",
    ]
    assert all(s.path.endswith(after) for s in fake.by_op("repos/create-commit-status"))
    assert len(fake.by_op("checks/create")) == 1
    assert TOKEN not in proc.stdout + proc.stderr
    assert "published 3 commit status(es)" in proc.stderr


def test_report_without_token_is_a_clear_error(repo: Repo) -> None:
    sha = _recorded_run(repo, markers=1)
    proc = repo.gatekit("report", "github", "--sha", sha, env={"GITHUB_REPOSITORY": "o/r"})
    assert proc.returncode == 2
    assert "gatekit: error: no GitHub token: set GITHUB_TOKEN" in proc.stderr


def test_a_forks_pull_request_sets_no_statuses_and_says_so_once(repo: Repo, tmp_path: Path) -> None:
    write_config(repo, [gate("unit", "import sys; sys.exit(1)")])
    base = repo.commit("config")
    repo.git("checkout", "-q", "-b", "from-fork")
    repo.write("src/x.py", "x = 1\n")
    head = repo.commit("fork change")
    repo.git("checkout", "-q", "main")
    # the recorded pull_request_target payload is a fork's; GitHub sends the same for pull_request
    event = payload(tmp_path, "pull_request_target", base=base, head=head, before=base)
    with FakeGitHub() as fake:
        env = ci_env(tmp_path, "pull_request", event, sha=base) | _env(fake)
        proc = repo.gatekit("check", "--statuses", env=env)
    assert proc.returncode == 1, explain(proc)
    assert fake.seen == []
    assert proc.stderr.count("a fork's pull request has a read-only token") == 1
    assert [c.props.get("title") for c in commands(proc.stderr) if c.name == "error"] == [
        "gatekit: unit"
    ]


def test_enterprise_server_api_path_and_a_token_without_checks_write(repo: Repo) -> None:
    sha = _recorded_run(repo, markers=2)
    with FakeGitHub(prefix="/api/v3") as fake:
        fake.scripts.append(
            Script(
                403, body={"message": "Resource not accessible by integration"}, op="checks/create"
            )
        )
        proc = repo.gatekit("report", "github", "--sha", sha, env=_env(fake))
    assert proc.returncode == 0, explain(proc)
    assert [s.status for s in fake.by_op("repos/create-commit-status")] == [201] * 4
    assert [s.status for s in fake.by_op("checks/create")] == [403]
    assert "no check run: the token may not create check runs ('checks: write')" in proc.stderr
    assert "4 status(es)" in proc.stderr and "check run" not in proc.stderr.split("published")[1]


def test_report_github_in_a_workflow_finds_the_events_checkpoint_and_head(
    repo: Repo, tmp_path: Path
) -> None:
    write_config(repo, [gate("unit", "print('ok')")])
    base = repo.commit("config")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("src/x.py", "x = 1\n")
    head = repo.commit("feature")
    repo.git("checkout", "-q", "main")
    event = payload(tmp_path, "pull_request", base=base, head=head, before=base)
    env = ci_env(tmp_path, "pull_request", event, sha="e" * 40)
    checked = repo.gatekit("check", env=env)
    assert checked.returncode == 0, explain(checked)
    with FakeGitHub() as fake:
        proc = repo.gatekit("report", "github", env=env | _env(fake))
    assert proc.returncode == 0, explain(proc)
    paths = {s.path for s in fake.by_op("repos/create-commit-status")}
    assert paths == {f"/repos/octo-org/widgets/statuses/{head}"}  # the PR head, not the merge
    assert fake.by_op("checks/create")[0].body["conclusion"] == "success"
    tip = repo.git("rev-parse", "refs/gatekit/checkpoints/pr-42").strip()
    assert f"published checkpoint {tip[:12]} (passed) on {head[:12]}" in proc.stderr
