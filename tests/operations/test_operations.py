"""Backup, reset, upgrade and rollback, proven with the SuperLink's own runs.

The tests drive the operator playbooks (playbooks/*.yml) against the target,
in file order, and share its state: runs submitted with the real ``flwr`` CLI
are the data that must survive (or, after a reset, be gone from the SuperLink
but present in the backup).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CONFIRM,
    ROOT,
    Deployment,
    Flwr,
    as_stored,
    assert_ok,
    playbook_command,
    quiet_database,
    recap,
    record,
    run_playbook,
    running_image,
    sha256,
    sqlite_query,
    stored_runs,
    target_name,
    wait_for,
)

BACKUP_DIR = "/var/backups/flower-superlink"
UPGRADE_VERSION = "1.20.0"
UPGRADE_ARCHIVE = ROOT / ".cache" / "images" / f"flwr-superlink-{UPGRADE_VERSION}.tar"


def backups(host: Any) -> list[str]:
    """Backup files on the target, oldest first."""
    out = host.run("find %s -maxdepth 1 -name '*.db' -printf '%%T@ %%p\\n'", BACKUP_DIR).stdout
    return [line.split(" ", 1)[1] for line in sorted(out.splitlines(), key=lambda entry: float(entry.split()[0]))]


def manifest(host: Any, backup: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(host.file(backup.removesuffix(".db") + ".json").content_string)
    return data


@pytest.fixture(scope="module")
def first_run(flwr: Flwr) -> int:
    return flwr.submit_run()


def test_rollback_with_nothing_to_roll_back_to_fails_and_changes_nothing(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, first_run: int
) -> None:
    before = quiet_database(host, deployment, flwr)
    result = run_playbook(request, host, "rollback.yml")
    assert result.returncode != 0
    assert "Nothing to roll back to" in result.stdout
    assert sha256(host, deployment.database) == before
    assert host.service(deployment.service).is_running
    assert not backups(host)


def test_backup_is_consistent_checked_and_described(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, first_run: int, tmp_path: Path
) -> None:
    fetch = ["flower_superlink_backup_fetch=true", f"flower_superlink_backup_fetch_dir={tmp_path}"]
    assert_ok(run_playbook(request, host, "backup.yml", *fetch))
    backup = backups(host)[-1]
    assert sqlite_query(host, backup, "PRAGMA integrity_check") == [["ok"]]
    assert as_stored(first_run) in stored_runs(host, backup)
    f = host.file(backup)
    assert (f.user, f.mode) == ("root", 0o600)
    meta = manifest(host, backup)
    assert meta["reason"] == "manual"
    assert meta["sha256"] == sha256(host, backup)
    assert meta["integrity"] == "ok"
    assert int(meta["runs"]) >= 1
    assert meta["image_ref"] == deployment.image
    assert meta["image_id"].startswith("sha256:")
    assert meta["flwr_version"] == "1.19.0"
    assert meta["created_at"].endswith("Z")
    # A copy on the controller, identical to the one on the host.
    fetched = tmp_path / target_name(host) / Path(backup).name
    assert hashlib.sha256(fetched.read_bytes()).hexdigest() == meta["sha256"]
    assert (fetched.with_suffix(".json")).is_file()
    assert fetched.stat().st_mode & 0o777 == 0o600


def test_backup_retention_keeps_exactly_n(request: pytest.FixtureRequest, host: Any) -> None:
    # Leftovers of killed backups: an old one goes, one that may still be written stays.
    old, fresh = f"{BACKUP_DIR}/state-old.db.partial", f"{BACKUP_DIR}/state-fresh.db.partial"
    host.run_test("touch -d '2 hours ago' %s && touch %s", old, fresh)
    for _ in range(3):
        assert_ok(run_playbook(request, host, "backup.yml", "flower_superlink_backup_keep=2"))
    kept = backups(host)
    assert len(kept) == 2
    manifests = host.run("find %s -maxdepth 1 -name '*.json'", BACKUP_DIR).stdout.split()
    assert sorted(m.removesuffix(".json") for m in manifests) == sorted(k.removesuffix(".db") for k in kept)
    assert not host.file(old).exists
    assert host.file(fresh).exists
    host.run_test("rm %s", fresh)


def test_reset_without_confirmation_is_refused_and_changes_nothing(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, first_run: int
) -> None:
    before = quiet_database(host, deployment, flwr)
    backups_before = backups(host)
    result = run_playbook(request, host, "reset.yml")
    assert result.returncode != 0
    assert "Refusing to reset" in result.stdout
    assert "flower_superlink_reset_confirm=true" in result.stdout
    assert sha256(host, deployment.database) == before
    assert backups(host) == backups_before
    assert host.service(deployment.service).is_running
    assert first_run in flwr.run_ids()


def test_reset_with_confirmation_backs_up_then_empties(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, first_run: int
) -> None:
    result = run_playbook(request, host, "reset.yml", CONFIRM)
    assert_ok(result)
    backup = backups(host)[-1]
    assert "pre-reset" in backup
    assert backup in result.stdout  # the play tells the operator where the old state went
    assert sqlite_query(host, backup, "PRAGMA integrity_check") == [["ok"]]
    assert as_stored(first_run) in stored_runs(host, backup)
    assert flwr.run_ids() == set()
    assert host.service(deployment.service).is_running


def test_interrupted_reset_loses_nothing_and_rerun_finishes(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    run = flwr.submit_run()
    cmd, env = playbook_command(request, host, "reset.yml", CONFIRM)
    play = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        # Kill the whole play the moment the unit is down: mid-reset.
        wait_for(
            lambda: host.run("systemctl is-active %s", deployment.service).stdout.strip() != "active",
            120,
            "the reset to stop the unit",
            interval=0.2,
        )
        assert play.poll() is None, "the reset finished before it could be interrupted"
        os.killpg(play.pid, signal.SIGKILL)
    finally:
        play.wait()
    time.sleep(2)  # let a module already running on the target finish or die
    db = deployment.database
    db_intact = host.file(db).exists and as_stored(run) in stored_runs(host, db)
    backed_up = any(as_stored(run) in stored_runs(host, b) for b in backups(host))
    assert db_intact or backed_up, "interrupted reset lost the run: no database holding it, no backup"

    # The killed play's lock is still there: the next play says so and waits for nobody.
    stale = run_playbook(request, host, "reset.yml", CONFIRM, "flower_superlink_lock_wait=0")
    assert stale.returncode != 0
    assert "flower_superlink_lock_break=true" in stale.stdout
    assert_ok(run_playbook(request, host, "reset.yml", CONFIRM, "flower_superlink_lock_break=true"))
    assert flwr.run_ids() == set()
    assert any(as_stored(run) in stored_runs(host, b) for b in backups(host))


def test_upgrade_then_rollback_brings_back_the_old_version_and_its_runs(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    before_upgrade = {flwr.submit_run()}
    assert flwr.run_ids() == before_upgrade

    upgrade = [f"flower_superlink_version={UPGRADE_VERSION}", f"flower_superlink_image_archive={UPGRADE_ARCHIVE}"]
    assert_ok(run_playbook(request, host, "deploy.yml", *upgrade))
    assert running_image(host, deployment) == f"flwr/superlink:{UPGRADE_VERSION}"
    rec = record(host)
    assert rec["current"]["version"] == UPGRADE_VERSION
    assert rec["previous"]["version"] == "1.19.0"
    rollback_point = rec["previous"]["backup"]
    assert "pre-upgrade" in rollback_point
    assert {as_stored(r) for r in before_upgrade} <= stored_runs(host, rollback_point)

    # 1.20.0 reads the 1.19.0 database, and adds to it.
    assert flwr.run_ids() == before_upgrade
    after_upgrade = flwr.submit_run()

    result = run_playbook(request, host, "rollback.yml")
    assert_ok(result)
    assert running_image(host, deployment) == "flwr/superlink:1.19.0"
    assert host.service(deployment.service).is_running
    assert flwr.run_ids() == before_upgrade, "rollback must bring back exactly the runs from before the upgrade"

    # The state it replaced is kept, with the run made on 1.20.0.
    replaced = backups(host)[-1]
    assert "pre-rollback" in replaced
    assert as_stored(after_upgrade) in stored_runs(host, replaced)
    rec = record(host)
    assert rec["current"]["version"] == "1.19.0"
    assert rec["previous"]["version"] == UPGRADE_VERSION
    assert rec["previous"]["backup"] == replaced


def test_deploy_after_rollback_changes_nothing(request: pytest.FixtureRequest, host: Any) -> None:
    result = run_playbook(request, host, "deploy.yml")
    assert_ok(result)
    assert recap(result, host)["changed"] == 0, result.stdout[-4000:]


def test_rollback_to_a_missing_backup_fails_and_changes_nothing(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    before = quiet_database(host, deployment, flwr)
    missing = Path(BACKUP_DIR) / "state-does-not-exist.db"
    result = run_playbook(request, host, "rollback.yml", f"flower_superlink_rollback_backup={missing}")
    assert result.returncode != 0
    assert sha256(host, deployment.database) == before
    assert host.service(deployment.service).is_running
