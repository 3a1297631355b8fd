"""An edit of where a deployed SuperLink keeps its state, or of its names.

Runs last on the operations host (runs and backups present). Each playbook
is refused before anything changes while the inventory names another state
directory, database, unit or container than the deployment on the host;
``flower_superlink_move_state`` lets deploy.yml move the database, and every
run Flower listed before is listed after, from the new place. The inventory
is edited here with extra variables, as an operator's edit would be.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import (
    Deployment,
    Flwr,
    assert_ok,
    host_files,
    quiet_database,
    recap,
    record,
    run_playbook,
    sha256,
    unchanged_files,
)
from test_operations import BACKUP_DIR, backups

MOVED = "/srv/flower-moved"
MOVE = "flower_superlink_move_state=true"


def said(result: Any) -> str:
    """The play's output on one line: the YAML callback wraps long messages."""
    return " ".join(result.stdout.split())


def listed(flwr: Flwr) -> dict[int, str]:
    """Run ID -> status, as Flower lists them."""
    return {int(run["run-id"]): run["status"] for run in flwr.runs()}


def mounted_state(host: Any, deployment: Deployment) -> list[str]:
    """The host directories the SuperLink container has mounted."""
    inspected = json.loads(host.check_output("docker inspect %s", deployment.container))[0]
    return sorted(mount["Source"] for mount in inspected["Mounts"])


@pytest.fixture(scope="module", autouse=True)
def a_run(flwr: Flwr) -> int:
    """A run of its own: the tests before may have left an empty database."""
    return flwr.submit_run()


@pytest.fixture(scope="module")
def release(host: Any) -> str:
    """The release running now (an earlier test may have rolled back): each
    deploy here keeps it, so that only the edited value differs."""
    return f"flower_superlink_version={record(host)['current']['version']}"


@pytest.mark.parametrize(
    ("playbook", "edit", "says"),
    [
        pytest.param(
            "deploy.yml",
            {"flower_superlink_state_dir": MOVED},
            [
                'flower_superlink_state_dir: deployed "/var/lib/flower-superlink", '
                'the inventory says "/srv/flower-moved"',
                "-e flower_superlink_move_state=true",
            ],
            id="deploy-state-dir",
        ),
        pytest.param(
            "deploy.yml",
            {
                "flower_superlink_service_name": "flower-link",
                "flower_superlink_container_name": "flower-link",
                "flower_superlink_move_state": True,
            },
            [
                'flower_superlink_service_name: deployed "flower-superlink", the inventory says "flower-link"',
                'flower_superlink_container_name: deployed "flower-superlink", the inventory says "flower-link"',
                "A deployed SuperLink is never renamed",
            ],
            id="deploy-rename-even-with-move",
        ),
        pytest.param(
            "backup.yml",
            {"flower_superlink_database_name": "other.db", "flower_superlink_move_state": True},
            ['flower_superlink_database_name: deployed "state.db", the inventory says "other.db"'],
            id="backup-database-name-only-deploy-moves",
        ),
        pytest.param(
            "reset.yml",
            {"flower_superlink_state_dir": MOVED, "flower_superlink_reset_confirm": True},
            ['flower_superlink_state_dir: deployed "/var/lib/flower-superlink"'],
            id="reset-state-dir",
        ),
    ],
)
def test_an_edit_of_where_the_state_is_or_of_the_names_is_refused_and_changes_nothing(
    request: pytest.FixtureRequest,
    host: Any,
    deployment: Deployment,
    flwr: Flwr,
    release: str,
    playbook: str,
    edit: dict[str, Any],
    says: list[str],
) -> None:
    database = quiet_database(host, deployment, flwr)
    files = host_files(host)
    runs = listed(flwr)
    result = run_playbook(request, host, playbook, release, json.dumps(edit))
    assert result.returncode != 0
    output = said(result)
    assert "runs a SuperLink deployed with other values than the inventory gives, and nothing was changed" in output, (
        result.stdout[-3000:]
    )
    assert 'its runs are in "/var/lib/flower-superlink/state.db"' in output
    for line in says:
        assert line in output, result.stdout[-3000:]
    assert sha256(host, deployment.database) == database
    assert unchanged_files(files, host_files(host)) == ""
    assert not host.file(MOVED).exists
    assert host.service(deployment.service).is_running
    assert listed(flwr) == runs


def test_a_move_onto_an_existing_database_is_refused_and_changes_nothing(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, release: str
) -> None:
    taken = "/srv/flower-taken"
    host.run_test("install -d -o %s -g %s -m 0700 %s", str(deployment.uid), str(deployment.gid), taken)
    host.run_test("install -o %s -g %s -m 0600 /dev/null %s/state.db", str(deployment.uid), str(deployment.gid), taken)
    database = quiet_database(host, deployment, flwr)
    result = run_playbook(request, host, "deploy.yml", release, MOVE, f"flower_superlink_state_dir={taken}")
    host.run_test("rm -rf %s", taken)
    assert result.returncode != 0
    assert "/srv/flower-taken/state.db (or its journal) exists already; a move never overwrites" in said(result), (
        result.stdout[-3000:]
    )
    assert sha256(host, deployment.database) == database
    assert mounted_state(host, deployment) == [deployment.state_dir]


def test_a_move_that_fails_leaves_the_superlink_on_its_old_database(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, release: str
) -> None:
    """Flower refuses an unknown flag: the new SuperLink never answers, the
    switch puts the old unit back on the database it never touched."""
    database = quiet_database(host, deployment, flwr)
    runs = listed(flwr)
    before = record(host)
    result = run_playbook(
        request,
        host,
        "deploy.yml",
        release,
        MOVE,
        f"flower_superlink_state_dir={MOVED}",
        '{"flower_superlink_extra_args": ["--no-such-flag"]}',
        "flower_superlink_health_retries=5",
    )
    assert result.returncode != 0
    assert "pre-move on" in said(result) and "The SuperLink runs again as before" in said(result), result.stdout[-3000:]
    assert sha256(host, deployment.database) == database
    assert not host.file(f"{MOVED}/state.db").exists, "the failed move's copy stayed in the new place"
    assert record(host) == before
    assert mounted_state(host, deployment) == [deployment.state_dir]
    flwr.wait_run_ids()
    assert listed(flwr) == runs


def test_deploy_moves_the_database_on_request_and_back(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, release: str
) -> None:
    quiet_database(host, deployment, flwr)
    runs = listed(flwr)
    assert runs, "no runs to move"
    taken = set(backups(host))

    assert_ok(run_playbook(request, host, "deploy.yml", release, MOVE, f"flower_superlink_state_dir={MOVED}"))
    assert mounted_state(host, deployment) == [MOVED]
    assert listed(flwr) == runs
    assert record(host)["current"]["state_dir"] == MOVED
    assert record(host)["current"]["database"] == f"{MOVED}/state.db"
    # The old file is kept under another name, and the checked backup the move restored.
    assert not host.file(deployment.database).exists
    kept = [name for name in host.check_output("ls %s", deployment.state_dir).split() if name.startswith("state.db")]
    assert len(kept) == 1 and kept[0].startswith("state.db.moved-"), kept
    new = sorted(set(backups(host)) - taken)
    assert len(new) == 1 and new[0].endswith("-pre-move.db"), new
    assert host.file(new[0]).exists and new[0].startswith(BACKUP_DIR)
    # The inventory now names the new place: nothing left to do.
    again = run_playbook(request, host, "deploy.yml", release, f"flower_superlink_state_dir={MOVED}")
    assert_ok(again)
    assert recap(again, host)["changed"] == 0, again.stdout[-3000:]

    # And back, past the renamed file in the old place.
    assert_ok(run_playbook(request, host, "deploy.yml", release, MOVE))
    assert mounted_state(host, deployment) == [deployment.state_dir]
    assert listed(flwr) == runs
    assert record(host)["current"]["state_dir"] == deployment.state_dir
    assert not host.file(f"{MOVED}/state.db").exists
    again = run_playbook(request, host, "deploy.yml", release)
    assert_ok(again)
    assert recap(again, host)["changed"] == 0, again.stdout[-3000:]
