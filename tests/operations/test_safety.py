"""Faults during operator playbooks lose no data and never leave the SuperLink down.

Runs after test_operations.py on the same host (1.19.0 deployed, runs and
backups present). Every proof is the SuperLink's own data: the runs the real
``flwr`` CLI lists, and the runs stored in each backup.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
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
from test_operations import BACKUP_DIR, UPGRADE_ARCHIVE, UPGRADE_VERSION, backups, manifest

LOCK = "/run/lock/flower-superlink.ansible-lock"
UNIT = "/etc/systemd/system/flower-superlink.service"
FAST_HEALTH = ("flower_superlink_health_retries=5", "flower_superlink_health_delay=1")


def test_retention_never_removes_what_this_run_needs(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    flwr.submit_run()
    rollback_point = record(host)["previous"]["backup"]
    assert_ok(run_playbook(request, host, "backup.yml", "flower_superlink_backup_keep=1"))
    manual = backups(host)[-1]
    assert "manual" in manual
    assert host.file(rollback_point).exists, "retention removed the recorded rollback point"
    assert host.file(manual.removesuffix(".db") + ".json").exists

    # A rollback with keep=1: the backup it restores, the one it takes and
    # the rollback point recorded before it all survive.
    result = run_playbook(
        request, host, "rollback.yml", f"flower_superlink_rollback_backup={manual}", "flower_superlink_backup_keep=1"
    )
    assert_ok(result)
    taken = record(host)["previous"]["backup"]
    assert "pre-rollback" in taken
    for needed in (manual, taken, rollback_point):
        assert host.file(needed).exists, f"retention removed {needed}"
    assert host.service(deployment.service).is_running


@pytest.fixture
def readonly_backups(host: Any) -> Any:
    """The backup directory turns read-only: the backup fails after the unit stopped."""
    host.run_test("mount --bind %s %s && mount -o remount,bind,ro %s", BACKUP_DIR, BACKUP_DIR, BACKUP_DIR)
    yield
    host.run_test("umount %s", BACKUP_DIR)


def test_reset_that_fails_after_the_stop_starts_the_superlink_again(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, readonly_backups: Any
) -> None:
    before = flwr.run_ids()
    assert before
    result = run_playbook(request, host, "reset.yml", CONFIRM)
    assert result.returncode != 0
    assert "pre-reset on" in result.stdout and "failed" in result.stdout
    assert "runs again as before" in result.stdout, result.stdout[-3000:]
    assert host.service(deployment.service).is_running
    assert flwr.wait_run_ids() == before, "a failed reset lost runs"


@pytest.fixture
def broken_image(host: Any) -> Any:
    """An image whose SuperLink exits at once: a rollback target that fails its health gate."""
    host.run_test("docker create --name broken-src flwr/superlink:1.19.0")
    host.run_test("docker commit --change 'ENTRYPOINT [\"/bin/false\"]' broken-src flower-test/broken:1")
    host.run_test("docker rm broken-src")
    yield host.check_output("docker image inspect --format '{{.Id}}' flower-test/broken:1")
    host.run("docker rmi flower-test/broken:1")


def test_rollback_whose_superlink_fails_puts_database_and_unit_back(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, broken_image: str
) -> None:
    assert_ok(run_playbook(request, host, "backup.yml"))
    good = backups(host)[-1]
    # A backup of this state that names the broken image, with a valid manifest.
    target = f"{BACKUP_DIR}/state-20000101T000000.000000Z-manual.db"
    meta = {**manifest(host, good), "image_ref": "flower-test/broken:1", "image_id": broken_image, "backup": target}
    host.run_test("cp -p %s %s", good, target)
    host.run_test("printf '%%s' %s > %s", json.dumps(meta), target.removesuffix(".db") + ".json")

    flwr.stop_running()
    before = (flwr.run_ids(), sha256(host, UNIT), running_image(host, deployment), record(host))
    result = run_playbook(request, host, "rollback.yml", f"flower_superlink_rollback_backup={target}", *FAST_HEALTH)
    assert result.returncode != 0
    assert "did not become healthy" in result.stdout
    assert "runs again as before with the database from" in result.stdout, result.stdout[-3000:]
    assert host.service(deployment.service).is_running
    after = (flwr.wait_run_ids(), sha256(host, UNIT), running_image(host, deployment), record(host))
    assert after == before


def make_hot_journal(host: Any, database: str, uid: int) -> None:
    """As the SuperLink's user: start writing a transaction, then die mid-write."""
    script = (
        "import os, signal, sqlite3, sys; con = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "con.execute('PRAGMA cache_size=1'); con.execute('BEGIN'); "
        "[con.execute('CREATE TABLE hot_%d (x)' % i) for i in range(200)]; os.kill(os.getpid(), signal.SIGKILL)"
    )
    host.run(f'setpriv --reuid={uid} --regid={uid} --clear-groups python3 -c "{script}" {database}')
    assert host.file(database + "-journal").exists, "no hot journal was left behind"


def test_hot_journal_can_be_backed_up_reset_and_rolled_back(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    runs = flwr.run_ids()
    host.run_test("systemctl stop %s", deployment.service)
    make_hot_journal(host, deployment.database, deployment.uid)

    result = run_playbook(request, host, "backup.yml")
    assert_ok(result)
    assert "recovered from a hot journal" in result.stdout
    backup = backups(host)[-1]
    assert {as_stored(r) for r in runs} == stored_runs(host, backup)
    assert not sqlite_query(host, backup, "SELECT name FROM sqlite_master WHERE name LIKE 'hot_%'")

    reset = run_playbook(request, host, "reset.yml", CONFIRM)
    assert_ok(reset)
    assert flwr.run_ids() == set()
    pre_reset = backups(host)[-1]
    assert "pre-reset" in pre_reset
    assert_ok(run_playbook(request, host, "rollback.yml", f"flower_superlink_rollback_backup={pre_reset}"))
    assert flwr.run_ids() == runs


def test_two_playbooks_never_interleave(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    # A long settle keeps the reset holding the lock well past the moment the
    # second playbook reaches it, however loaded the machine is.
    cmd, env = playbook_command(request, host, "reset.yml", CONFIRM, "flower_superlink_health_settle_seconds=20")
    reset = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: host.file(LOCK).exists, 120, "the reset to take the lock", interval=0.2)
        # A second playbook that will not wait: refused, nothing done.
        refused = run_playbook(request, host, "rollback.yml", "flower_superlink_lock_wait=0")
        assert refused.returncode != 0
        assert "Another playbook is working on this SuperLink" in refused.stdout
        assert "Reset the SuperLink state" in refused.stdout  # who holds it
        assert recap(refused, host)["changed"] == 0
        # One that waits runs after the reset, on its result.
        waited = run_playbook(request, host, "backup.yml", "flower_superlink_lock_wait=300")
    finally:
        out, _ = reset.communicate(timeout=600)
    assert reset.returncode == 0, out[-3000:]
    assert_ok(waited)
    assert stored_runs(host, backups(host)[-1]) == set(), "the waiting backup ran before the reset finished"
    assert not host.file(LOCK).exists


KILLER = "flower-test-killer"


@contextlib.contextmanager
def superlink_killed_every_2_s(host: Any, deployment: Deployment) -> Iterator[None]:
    """kill -9 of the SuperLink's main process every 2 s, from a transient unit on the host (at
    most 5 minutes), until the block ends; then the SuperLink is left to come back."""
    loop = (
        "for i in $(seq 150); do "
        f"p=$(docker inspect --format '{{{{.State.Pid}}}}' {deployment.container} 2>/dev/null); "
        '[ "${p:-0}" -gt 1 ] && kill -9 "$p" && echo killed; sleep 2; done'
    )
    host.run("systemctl reset-failed %s.service", KILLER)
    host.check_output("systemd-run --unit %s --collect sh -c %s", KILLER, loop)
    try:
        wait_for(
            lambda: "killed" in host.run("journalctl -u %s.service -o cat", KILLER).stdout or None,
            60,
            "the first kill",
        )
        yield
    finally:
        host.run("systemctl stop %s.service", KILLER)


def test_a_backup_while_the_superlink_is_killed_again_and_again_holds_every_run(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    """backup.yml reads the database on the host, not through Flower: with the SuperLink killed
    every 2 s while it runs, it completes and its backup holds every run; systemd brings the
    SuperLink back, listing every run."""
    # A run of its own: the reset of the test before left the database empty.
    flwr.submit_run()
    runs = flwr.run_ids()
    assert runs
    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    with superlink_killed_every_2_s(host, deployment):
        result = run_playbook(request, host, "backup.yml")
    # Counted where systemd saw the SuperLink die, not by the kill loop (a dead container's PID
    # may be killed again before the engine has reaped it).
    died = "journalctl -u %s --since %s -o cat | grep -c 'status=137' || true"
    kills = host.check_output(died, deployment.service, since)
    assert int(kills) >= 2, f"the SuperLink died {kills} times while the backup ran"
    assert_ok(result)
    taken = backups(host)[-1]
    assert "manual" in taken
    assert {as_stored(r) for r in runs} <= stored_runs(host, taken)
    assert int(manifest(host, taken)["runs"]) >= len(runs)
    wait_for(lambda: host.service(deployment.service).is_running or None, 120, "the SuperLink to run again")
    assert flwr.wait_run_ids() >= runs


UPGRADE = (f"flower_superlink_version={UPGRADE_VERSION}", f"flower_superlink_image_archive={UPGRADE_ARCHIVE}")


def runs_image(host: Any, deployment: Deployment, version: str) -> bool:
    """Whether the SuperLink's container (running or starting) is VERSION's."""
    found = host.run("docker inspect --format '{{.Config.Image}}' %s", deployment.container).stdout
    return found.strip() == f"flwr/superlink:{version}"


def play_interrupted(
    request: pytest.FixtureRequest,
    host: Any,
    playbook: str,
    extra_vars: tuple[str, ...],
    when: Callable[[], bool],
    what: str,
    interrupt: Callable[[subprocess.Popen[str]], None],
) -> subprocess.CompletedProcess[str]:
    """PLAYBOOK started as an operator would, and INTERRUPT called the moment WHEN holds."""
    cmd, env = playbook_command(request, host, playbook, *extra_vars)
    play = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for(when, 300, what, interval=0.1)
        assert play.poll() is None, f"{playbook} finished before {what}"
        interrupt(play)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(play.pid, signal.SIGKILL)  # a failed test leaves no play holding the lock
        raise
    finally:
        out = play.communicate(timeout=600)[0]
    return subprocess.CompletedProcess(cmd, play.returncode, out, "")


def test_an_upgrade_and_its_rollback_survive_the_engine_killed_as_each_new_superlink_starts(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    """dockerd SIGKILLed the moment the switch has started the new release's container (the
    SuperLink dies with it): the engine and the unit come back, the play's health gate waits for
    them, and the upgrade and then the rollback each succeed with every run."""
    flwr.submit_run()
    runs = flwr.run_ids()

    def kill_engine(_: subprocess.Popen[str]) -> None:
        host.run_test("systemctl kill --kill-whom=main --signal=KILL docker.service")

    since = host.check_output("date '+%Y-%m-%d %H:%M:%S'")
    upgrade = play_interrupted(
        request,
        host,
        "deploy.yml",
        UPGRADE,
        lambda: runs_image(host, deployment, UPGRADE_VERSION),
        "the upgrade to start its new SuperLink",
        kill_engine,
    )
    assert_ok(upgrade)
    assert record(host)["current"]["version"] == UPGRADE_VERSION
    assert flwr.wait_run_ids() == runs

    rollback = play_interrupted(
        request,
        host,
        "rollback.yml",
        (),
        lambda: runs_image(host, deployment, "1.19.0"),
        "the rollback to start the old SuperLink",
        kill_engine,
    )
    assert_ok(rollback)
    died = "journalctl -u docker.service --since %s -o cat | grep -c 'status=9/KILL' || true"
    assert int(host.check_output(died, since)) == 2, "the engine was not killed once in each play"
    assert record(host)["current"]["version"] == "1.19.0"
    assert running_image(host, deployment) == "flwr/superlink:1.19.0"
    assert flwr.wait_run_ids() == runs


def test_an_upgrade_and_its_rollback_killed_mid_switch_finish_on_the_command_the_lock_names(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    """The controller's play killed mid-switch (the SuperLink stopped, for the upgrade its backup
    taken and the new release recorded): the SuperLink stays down, the next play names the one
    command to run, and that command finishes the switch with every run. Once the rollback has
    finished, the same command again is refused rather than going forward."""
    flwr.submit_run()
    runs = flwr.run_ids()

    def kill_play(play: subprocess.Popen[str]) -> None:
        os.killpg(play.pid, signal.SIGKILL)

    play_interrupted(
        request,
        host,
        "deploy.yml",
        UPGRADE,
        lambda: record(host)["current"]["version"] == UPGRADE_VERSION,
        "the upgrade to record the new release",
        kill_play,
    )
    # Killed where the SuperLink is stopped (a module already on the host may still have started it).
    assert {as_stored(r) for r in runs} <= stored_runs(host, record(host)["previous"]["backup"])
    refused = run_playbook(request, host, "deploy.yml", *UPGRADE, "flower_superlink_lock_wait=0")
    assert refused.returncode != 0
    assert "-e flower_superlink_lock_break=true" in refused.stdout
    assert_ok(run_playbook(request, host, "deploy.yml", *UPGRADE, "flower_superlink_lock_break=true"))
    assert running_image(host, deployment) == f"flwr/superlink:{UPGRADE_VERSION}"
    assert flwr.wait_run_ids() == runs

    play_interrupted(
        request,
        host,
        "rollback.yml",
        (),
        lambda: not host.service(deployment.service).is_running,
        "the rollback to stop the SuperLink",
        kill_play,
    )
    assert record(host)["current"]["version"] == UPGRADE_VERSION, "the rollback was killed after it finished"
    assert_ok(run_playbook(request, host, "rollback.yml", "flower_superlink_lock_break=true"))
    assert running_image(host, deployment) == "flwr/superlink:1.19.0"
    assert flwr.wait_run_ids() == runs

    # Had the kill come after the rollback's record, it would have finished: run once more, the
    # same command would go forward again to 1.20.0. Refused, with the way to check instead.
    before = (record(host), backups(host))
    again = run_playbook(request, host, "rollback.yml")
    assert again.returncode != 0
    assert "The last change on" in again.stdout and "flower_superlink_rollback_undo=true" in again.stdout
    assert (record(host), backups(host)) == before, "the refused rollback changed the record or took a backup"
    assert running_image(host, deployment) == "flwr/superlink:1.19.0"


MODULE_PLAY = """
- hosts: {host}
  gather_facts: false
  tasks:
    - flower_iac.federation.flower_superlink_sqlite: {args}
      register: result
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{{{ result | to_json }}}}"
        dest: {out}
        mode: "0600"
      delegate_to: localhost
"""


def run_module(request: pytest.FixtureRequest, host: Any, tmp_path: Path, args: dict[str, Any]) -> dict[str, Any]:
    """The backup module on the host, as the role runs it, with its JSON result."""
    play = tmp_path / "module.yml"
    out = tmp_path / "result.json"
    out.unlink(missing_ok=True)
    play.write_text(MODULE_PLAY.format(host=target_name(host), args=json.dumps(args), out=out))
    inventory = request.config.getoption("ansible_inventory")
    cmd, env = playbook_command(request, host, "backup.yml", inventory=inventory)
    cmd[1] = str(play)
    printed = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert "Traceback" not in printed.stdout + printed.stderr
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def test_backup_module_handles_any_path_wal_and_corruption(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, tmp_path: Path
) -> None:
    weird = "/root/we?ird #%dir"
    host.run_test("rm -rf %s && mkdir -p %s", weird, weird)
    source = backups(host)[-1]
    expect = stored_runs(host, source)

    # WAL (Flower 1.23+): rows only in an uncheckpointed -wal file.
    db = f"{weird}/state.db"
    host.run_test("cp %s %s", source, db)
    wal = (
        "import os, signal, sqlite3, sys; con = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "con.execute('PRAGMA journal_mode=WAL'); con.execute('PRAGMA wal_autocheckpoint=0'); "
        "con.execute('CREATE TABLE only_in_wal (x)'); os.kill(os.getpid(), signal.SIGKILL)"
    )
    host.run(f'python3 -c "{wal}" "{db}"')
    assert host.file(db + "-wal").exists
    ok = run_module(request, host, tmp_path, {"action": "backup", "src": db, "dest": f"{weird}/copy.db"})
    assert not ok.get("failed"), ok
    assert ok["integrity"] == "ok"
    assert ok["manifest"]["tables"]["only_in_wal"] == 0
    assert stored_runs(host, f"{weird}/copy.db") == expect
    assert sqlite_query(host, f"{weird}/copy.db", "PRAGMA journal_mode") == [["delete"]]
    assert host.file(f"{weird}/copy.json").exists
    assert not host.file(f"{weird}/copy.db-wal").exists

    # A corrupted database: a message, not a traceback, and no backup at all.
    bad = f"{weird}/bad.db"
    host.run_test("cp %s %s && dd if=/dev/urandom of=%s bs=1024 seek=2 count=4 conv=notrunc", source, bad, bad)
    failed = run_module(request, host, tmp_path, {"action": "backup", "src": bad, "dest": f"{weird}/bad-copy.db"})
    assert failed.get("failed"), failed
    assert failed["msg"]
    leftovers = host.run("ls -a %s", weird).stdout.split()
    assert not [name for name in leftovers if name.startswith("bad-copy")], leftovers
    host.run_test("rm -rf %s", weird)
