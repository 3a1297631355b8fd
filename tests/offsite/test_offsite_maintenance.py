"""Backups a taken-over host cannot delete: append-only credentials, a
repository per host, and retention run by the maintenance play where the
delete rights are.

Runs after test_offsite_backup.py, on the restored machine (the spare, still
flower-offsite-superlink by name). molecule/offsite's converge runs rclone on
the backup server: `rclone serve restic --append-only --private-repos` on
port 8000, a login per SuperLink host, and a full-rights instance on the
server's loopback (port 8001) for the maintenance timer. The SuperLink host
is redeployed onto its own repository there with append-only credentials.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest
from conftest import run_playbook, sha256
from test_offsite_backup import AGENT, CONFIG, PASSWORD, SERVICE, other_host

testinfra_hosts = ["ansible://flower-offsite-superlink"]

NAME = "flower-offsite-superlink"
SERVER = "flower-offsite-store:8000"
REST = f"rest:http://{NAME}:rest-superlink-pw@{SERVER}/{NAME}/"
MAINTENANCE_UNIT = "flower-offsite-maintenance-superlink"
MAINTAINED = json.dumps(
    {
        "flower_offsite_backup_maintained_repositories": [
            {"name": "superlink", "repository": f"rest:http://127.0.0.1:8001/{NAME}/", "password": PASSWORD}
        ]
    }
)
SPARE = "ansible_host=flower-offsite-spare"


def restic_as(host: Any, repository: str, *args: str, timeout: int = 120) -> Any:
    """restic on HOST with REPOSITORY and the test password, nothing from the
    role; interrupted (SIGINT: it removes its lock) after TIMEOUT seconds."""
    env = f"RESTIC_REPOSITORY={shlex.quote(repository)} RESTIC_PASSWORD={shlex.quote(PASSWORD)}"
    command = " ".join(map(shlex.quote, args))
    return host.run(f"{env} RESTIC_CACHE_DIR=/tmp/restic-cache timeout -s INT {timeout} restic {command}")


def listed(host: Any) -> list[dict[str, Any]]:
    """The SuperLink's snapshots, as its own agent lists them (over REST)."""
    result: list[dict[str, Any]] = json.loads(
        host.check_output(" ".join([*AGENT, "restic", CONFIG, "snapshots", "--json"]))
    )
    return result or []


@pytest.fixture(scope="module")
def append_only(request: pytest.FixtureRequest, host: Any) -> Any:
    """The SuperLink host redeployed onto its own append-only repository, with
    three scheduled backups there; back to the SFTP repository afterwards."""
    spare = other_host(request, "flower-offsite-spare")
    result = run_playbook(
        request,
        host,
        "deploy.yml",
        f"flower_offsite_backup_repository={REST}",
        "flower_offsite_backup_append_only=true",
        SPARE,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    for _ in range(3):
        started = spare.run("systemctl start %s", SERVICE)
        assert started.rc == 0, spare.run("journalctl -u %s -n 30 --no-pager", SERVICE).stdout
    yield spare
    run_playbook(request, host, "deploy.yml", SPARE)


def test_the_host_backs_up_and_checks_but_cannot_delete(append_only: Any) -> None:
    """Its snapshots arrive; its check unit checks without pruning; a forget
    with its own login is refused by the server (403), and every snapshot
    stays. (restic retries a refused deletion for most of a minute: it is
    interrupted once the server has said no, and leaves no lock.)"""
    spare = append_only
    taken = listed(spare)
    assert len(taken) == 3, taken
    checked = spare.run("systemctl start flower-offsite-backup-check.service")
    assert checked.rc == 0, spare.run("journalctl -u flower-offsite-backup-check -n 30 --no-pager").stdout
    prom = spare.file("/var/lib/prometheus/node-exporter/flower_offsite_backup.prom").content_string
    assert 'flower_superlink_backup_repository_check_success{host="flower-offsite-superlink"} 1' in prom
    assert "prune" not in prom
    refused = restic_as(spare, REST, "forget", "--group-by", "host", "--keep-last", "1", timeout=30)
    assert refused.rc != 0
    assert "403" in refused.stdout + refused.stderr, refused.stderr[-2000:]
    assert sorted(s["id"] for s in listed(spare)) == sorted(s["id"] for s in taken)


def test_another_hosts_login_cannot_see_or_touch_it(append_only: Any) -> None:
    """--private-repos: a login only opens the repository under its own name."""
    spare = append_only
    foreign = f"rest:http://other-superlink:rest-other-pw@{SERVER}/{NAME}/"
    assert restic_as(spare, foreign, "snapshots").rc != 0
    assert restic_as(spare, foreign, "init").rc != 0
    own_login_elsewhere = f"rest:http://{NAME}:rest-superlink-pw@{SERVER}/other-superlink/"
    assert restic_as(spare, own_login_elsewhere, "init").rc != 0
    assert len(listed(spare)) == 3


def test_the_maintenance_timer_applies_the_policy(request: pytest.FixtureRequest, append_only: Any) -> None:
    """The maintenance play on the backup server installs a timer whose run
    forgets what the keep_* policy no longer names (of three backups within
    seconds, the one in between), prunes and checks, and records it; the
    host still lists what remains and backs up again. The play changes
    nothing the second time."""
    spare = append_only
    store = other_host(request, "flower-offsite-store")
    before = listed(spare)
    result = run_playbook(request, store, "offsite_maintenance.yml", MAINTAINED)
    assert result.returncode == 0, result.stdout[-4000:]
    again = run_playbook(request, store, "offsite_maintenance.yml", MAINTAINED)
    assert again.returncode == 0, again.stdout[-4000:]
    assert "changed=0" in " ".join(
        line for line in again.stdout.splitlines() if line.startswith("flower-offsite-store")
    )
    assert store.service(f"{MAINTENANCE_UNIT}.timer").is_enabled
    ran = store.run("systemctl start %s.service", MAINTENANCE_UNIT)
    assert ran.rc == 0, store.run("journalctl -u %s -n 40 --no-pager", MAINTENANCE_UNIT).stdout
    # Three backups within seconds, in one group (host and tags): the keep
    # rules keep the newest; restic 0.16+ (the server's Debian 13 has 0.18)
    # also keeps a group's oldest while a count is not used up. The one in
    # between goes either way.
    oldest, middle, newest = sorted(before, key=lambda snapshot: snapshot["time"])
    kept = {snapshot["id"] for snapshot in listed(spare)}
    assert newest["id"] in kept and middle["id"] not in kept, (before, kept)
    assert kept <= {oldest["id"], newest["id"]}, (before, kept)
    prom = store.file("/var/lib/prometheus/node-exporter/flower-offsite-maintenance-superlink.prom").content_string
    for step in ("forget", "prune", "check"):
        assert f'flower_superlink_backup_repository_{step}_success{{host="superlink"}} 1' in prom, prom
    # The files the maintenance wrote are the server's user's: the host's
    # next backup still goes in.
    assert spare.run("systemctl start %s", SERVICE).rc == 0
    assert len(listed(spare)) == len(kept) + 1


def test_a_second_machine_backing_up_as_this_host_fails_the_backup(append_only: Any) -> None:
    """The machine this one replaced, still running, backs up under the same
    inventory name (here: a snapshot as its agent takes one, tagged with
    another machine). This machine's next backup is stored, then fails its
    unit naming the other machine, and the metrics say so."""
    spare = append_only
    spare.run_test("mkdir -p /tmp/old-host && echo old > /tmp/old-host/state.db")
    tags = ["--tag", "flower-superlink", "--tag", "scheduled", "--tag", "superlink:flower-superlink"]
    forged = restic_as(
        spare, REST, "backup", "--host", NAME, *tags, "--tag", "machine:0123456789abcdef", "/tmp/old-host"
    )
    assert forged.rc == 0, forged.stderr
    before = len(listed(spare))
    started = spare.run("systemctl start %s", SERVICE)
    journal = " ".join(spare.run("journalctl -u %s -n 20 --no-pager", SERVICE).stdout.split())
    assert started.rc != 0, journal
    assert "another machine (machine:0123456789abcdef) also backs up as flower-offsite-superlink" in journal, journal
    assert len(listed(spare)) == before + 1
    prom = spare.file("/var/lib/prometheus/node-exporter/flower_offsite_backup.prom").content_string
    assert 'flower_superlink_backup_other_machine_writing{host="flower-offsite-superlink"} 1' in prom, prom


def test_a_maintained_repository_that_does_not_open_is_refused(request: pytest.FixtureRequest) -> None:
    """A wrong password: refused naming the repository, nothing written."""
    store = other_host(request, "flower-offsite-store")
    units = "/etc/systemd/system/flower-offsite-maintenance-superlink.service"
    before = sha256(store, units)
    wrong = json.loads(MAINTAINED)
    wrong["flower_offsite_backup_maintained_repositories"][0]["password"] = "not-the-password"
    result = run_playbook(request, store, "offsite_maintenance.yml", json.dumps(wrong))
    said = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert "Refusing to maintain superlink on flower-offsite-store" in said, said[-2000:]
    assert "wrong-password" in said
    assert sha256(store, units) == before
    assert store.file("/etc/flower-offsite-backup/maintenance/superlink/password").content_string.strip() == PASSWORD
