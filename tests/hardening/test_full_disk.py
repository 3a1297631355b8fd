"""A full state filesystem: the database is never damaged, the runs already
there stay listed, and once space is freed the SuperLink takes new runs
without an operator.

The state directory is moved, for this test, onto a filesystem of its own
that can be filled without filling this machine's disk (a 16 MiB tmpfs
mounted over it, the SuperLink stopped meanwhile), then filled to the last
byte. What Flower does then is measured: a run submitted on a full disk is
refused ("database or disk is full", or "No space left on device" from
the store the app is written to), while backup.yml, which writes to another
filesystem, still takes a backup holding every run. Afterwards the state
goes back onto the host's disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Deployment, Flwr, as_stored, assert_ok, run_playbook, sqlite_query, stored_runs, wait_for

testinfra_hosts = ["ansible://superlink"]

SAVED = "/root/state-before-full-disk"


def move_state(host: Any, deployment: Deployment, mount: bool) -> None:
    """Stop, copy the state directory aside, mount (or unmount) the small
    filesystem over it, copy the state back in, start, and wait until it answers."""
    d = deployment.state_dir
    owner = host.check_output("stat -c '%%u:%%g %%a' %s", d)
    ids, mode = owner.split()
    uid, gid = ids.split(":")
    host.run_test("systemctl stop %s", deployment.service)
    host.run_test("rm -rf %s && mkdir -p %s && cp -a %s/. %s/", SAVED, SAVED, d, SAVED)
    if mount:
        host.run_test("mount -t tmpfs -o size=16m,uid=%s,gid=%s,mode=%s flower-full %s", uid, gid, mode, d)
    elif host.run("mountpoint -q %s", d).rc == 0:
        # Lazily: a container that had it bind-mounted may still hold it.
        host.run_test("umount --lazy %s", d)
    host.run_test("cp -a %s/. %s/ && rm -rf %s", SAVED, d, SAVED)
    host.run_test("systemctl start %s", deployment.service)


@pytest.fixture
def small_state(host: Any, deployment: Deployment, flwr: Flwr) -> Iterator[str]:
    try:
        # Inside the try: the tests after this one need the state back on the host's disk.
        move_state(host, deployment, mount=True)
        flwr.wait_run_ids()
        yield deployment.state_dir
    finally:
        host.run("rm -f %s/filler", deployment.state_dir)
        move_state(host, deployment, mount=False)
        flwr.wait_run_ids()


def test_a_full_state_filesystem_damages_nothing_and_runs_resume_once_freed(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, small_state: str
) -> None:
    runs = flwr.run_ids() | {started_then_stopped(flwr, flwr.submit_run())}
    # Every byte taken (dd stops at ENOSPC).
    host.run("dd if=/dev/zero of=%s/filler bs=64k", small_state)
    assert host.check_output("df --output=avail -B1 %s | tail -1", small_state).strip() == "0"

    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    with pytest.raises(AssertionError, match="Failed to start run"):
        flwr.submit_run()
    # The CLI is told only that; the SuperLink's journal says why, in SQLite's
    # words or the FAB store's (the app is written beside the database).
    said = host.check_output("journalctl -u %s --since %s -o cat", deployment.service, since)
    assert "database or disk is full" in said or "No space left on device" in said, said[-1500:]
    # Reading still works, and the database is whole.
    assert flwr.run_ids() == runs
    assert sqlite_query(host, deployment.database, "PRAGMA integrity_check") == [["ok"]]
    # The operator's first move: a backup, which needs no space where the database is.
    backup = run_playbook(request, host, "backup.yml")
    assert_ok(backup)
    taken = host.check_output("ls -t /var/backups/flower-superlink/*.db | head -n 1")
    assert {as_stored(r) for r in runs} <= stored_runs(host, taken)

    host.run_test("rm -f %s/filler", small_state)
    # The SuperLink, restarted by systemd or never down, takes runs again.
    new = wait_for(lambda: submitted(flwr), 120, "the SuperLink to take a run on the freed filesystem", interval=3)
    started_then_stopped(flwr, new)
    assert flwr.wait_run_ids() == runs | {new}
    assert sqlite_query(host, deployment.database, "PRAGMA integrity_check") == [["ok"]]


def submitted(flwr: Flwr) -> int | None:
    try:
        return flwr.submit_run()
    except AssertionError:
        return None


def started_then_stopped(flwr: Flwr, run: int) -> int:
    """RUN stopped once its ServerApp has taken it: its heartbeats would write to the full
    filesystem, and on Flower 1.19 a run stopped while still pending makes every later
    ServerApp start fail (the runs of the tests after this one)."""

    def status() -> str | None:
        found = {int(r["run-id"]): r["status"] for r in flwr.runs()}[run]
        return found if found not in {"pending", "starting"} else None

    wait_for(status, 120, f"run {run} to leave 'pending'", interval=2)
    flwr.stop_running()
    return run
