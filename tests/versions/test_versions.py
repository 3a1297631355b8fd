"""Following Flower forward: upgrades across releases, proven with Flower's own runs.

Its own scenario (molecule/versions, one Debian 12 host, side by side with
operations); it starts from its own state: 1.19.0 with an empty database and
two runs. Every
step goes through the operator playbooks with `-e flower_superlink_version`,
as an operator upgrades, and checks the runs the real `flwr` CLI of the
running release lists.

  1.19.0 -> 1.25.0 / 1.42.0     refused before anything changes (schema cliff)
  1.19.0 -> 1.42.0, no check    Flower refuses the database (exit 105): rolled back
  1.19.0 -> 1.42.0 fresh state  old runs archived + exported; rollback brings them back
  1.19.0 -> 1.25.0 fresh state, then 1.25.0 -> 1.42.0: Flower migrates; rollback to 1.25.0
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from conftest import (
    CONFIRM,
    Deployment,
    Flwr,
    as_stored,
    assert_ok,
    proxy_running,
    published,
    quiet_database,
    recap,
    record,
    run_playbook,
    running_image,
    sha256,
    stored_runs,
)

OLD = "1.19.0"


def version(v: str) -> str:
    return f"flower_superlink_version={v}"


def refused(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0, result.stdout[-3000:]
    for needle in needles:
        assert needle in result.stdout, f"{needle!r} not in:\n{result.stdout[-4000:]}"


@pytest.fixture(scope="module")
def old_runs(request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr) -> set[int]:
    """1.19.0 on an empty database, then two runs, all finished."""
    # Whatever the tests before left (a newer release, too), 1.19.0 runs after this.
    assert_ok(run_playbook(request, host, "deploy.yml", version(OLD), "flower_superlink_upgrade_fresh_state=true"))
    # From a newer release the deploy above started 1.19.0 on an empty
    # database; from 1.19.0 itself it changed nothing.
    if flwr.run_ids():
        assert_ok(run_playbook(request, host, "reset.yml", CONFIRM))
    runs = {flwr.submit_run(), flwr.submit_run()}
    quiet_database(host, deployment, flwr)
    assert flwr.run_ids() == runs
    return runs


def test_old_variable_names_still_work_with_a_warning(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, old_runs: set[int]
) -> None:
    result = run_playbook(request, host, "deploy.yml", f"flower_superlink_exec_port={deployment.control_port}")
    assert_ok(result)
    assert "flower_superlink_exec_port is deprecated" in result.stdout
    assert recap(result, host)["changed"] == 0
    both = run_playbook(
        request, host, "deploy.yml", "flower_superlink_exec_port=9193", "flower_superlink_control_port=9194"
    )
    refused(both, "are both set")


@pytest.mark.parametrize("new", ["1.25.0", "1.42.0"])
def test_upgrade_across_a_schema_cliff_is_refused_and_changes_nothing(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, old_runs: set[int], new: str
) -> None:
    before = sha256(host, deployment.database)
    result = run_playbook(request, host, "deploy.yml", version(new))
    refused(result, f"cannot use a database written by {OLD}", "flower_superlink_upgrade_fresh_state=true")
    assert sha256(host, deployment.database) == before
    assert running_image(host, deployment).endswith(f":{OLD}")
    assert flwr.run_ids() == old_runs


def test_failed_upgrade_is_rolled_back_with_flowers_own_words(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, old_runs: set[int]
) -> None:
    """Past the schema check, Flower 1.42 refuses the 1.19 database itself."""
    # 1.42 exits at start and systemd restarts it: the gate stops on its own
    # once the unit keeps dying, however many attempts it was given (a small
    # budget ran out under load before Flower had printed why).
    result = run_playbook(
        request,
        host,
        "deploy.yml",
        version("1.42.0"),
        "flower_superlink_upgrade_schema_check=false",
        "flower_superlink_health_retries=120",
    )
    refused(result, "Exit Code: 105", "pre-Alembic", "it does not stay up", "runs again as before")
    assert running_image(host, deployment).endswith(f":{OLD}")
    # The proxy 1.42 brought is gone again with it: 1.19 publishes its own ports.
    assert not proxy_running(host, deployment)
    assert not host.file(f"/etc/systemd/system/{deployment.service}-proxy.service").exists
    assert published(host, deployment) == {"0.0.0.0:9092", "0.0.0.0:9093"}
    assert flwr.run_ids() == old_runs
    assert record(host)["current"]["version"] == OLD
    # A second deploy of the old version finds nothing to do.
    assert recap(run_playbook(request, host, "deploy.yml"), host)["changed"] == 0


def test_fresh_state_upgrade_archives_and_exports_the_old_runs(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, old_runs: set[int]
) -> None:
    result = run_playbook(request, host, "deploy.yml", version("1.42.0"), "flower_superlink_upgrade_fresh_state=true")
    assert_ok(result)
    assert running_image(host, deployment).endswith(":1.42.0")
    new = flwr.at("1.42.0")
    assert new.run_ids() == set()
    # The old database, archived and checked, with its runs readable as JSON.
    rec = record(host)
    archive = rec["previous"]["backup"]
    assert rec["previous"]["version"] == OLD and rec["current"]["version"] == "1.42.0"
    assert stored_runs(host, archive) == {as_stored(r) for r in old_runs}
    exported = json.loads(host.file(archive.removesuffix(".db") + ".runs.json").content_string)
    assert {row["run_id"] for row in exported["runs"]} == {as_stored(r) for r in old_runs}
    assert exported["sha256"] == sha256(host, archive)
    # The new release keeps what it is given, across a restart of its unit.
    run = new.submit_run()
    host.run_expect([0], "systemctl restart %s", deployment.service)
    assert run in new.wait_run_ids()
    assert recap(run_playbook(request, host, "deploy.yml", version("1.42.0")), host)["changed"] == 0


def test_rollback_after_a_fresh_state_upgrade_brings_every_old_run_back(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, old_runs: set[int]
) -> None:
    assert_ok(run_playbook(request, host, "rollback.yml"))
    assert running_image(host, deployment).endswith(f":{OLD}")
    assert flwr.run_ids() == old_runs


def test_upgrade_1_25_to_1_42_migrates_and_rolls_back_to_the_pre_upgrade_database(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, old_runs: set[int]
) -> None:
    assert_ok(run_playbook(request, host, "deploy.yml", version("1.25.0"), "flower_superlink_upgrade_fresh_state=true"))
    v125, v142 = flwr.at("1.25.0"), flwr.at("1.42.0")
    runs = {v125.submit_run()}
    quiet_database(host, deployment, v125)
    # No flag needed: 1.42 migrates a 1.25 database (Alembic baseline).
    result = run_playbook(request, host, "deploy.yml", version("1.42.0"))
    assert_ok(result)
    assert running_image(host, deployment).endswith(":1.42.0")
    assert v142.run_ids() == runs
    # 1.42's one HTTP port is on loopback only, behind the proxy.
    assert proxy_running(host, deployment)
    assert published(host, deployment) == {"127.0.0.1:9095"}
    pre_upgrade = record(host)["previous"]["backup"]
    assert stored_runs(host, pre_upgrade) == {as_stored(r) for r in runs}
    # Back: 1.25.0 cannot read what 1.42 migrated; rollback restores its own database.
    assert_ok(run_playbook(request, host, "rollback.yml"))
    assert running_image(host, deployment).endswith(":1.25.0")
    assert v125.run_ids() == runs
    assert not proxy_running(host, deployment)
    assert published(host, deployment) == {"0.0.0.0:9092", "0.0.0.0:9093"}
    assert record(host)["current"]["version"] == "1.25.0"
    # Deploying 1.19 now would be a downgrade past a schema: refused.
    refused(run_playbook(request, host, "deploy.yml", version(OLD)), "never migrates")
