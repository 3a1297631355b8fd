"""Bad input fails every playbook with a message naming the problem, and changes nothing.

Each case runs a real playbook against the deployed host with one bad
setting, typed the way an operator types it: `-e name=value` (a string) or
`-e '{"name": ...}'` (JSON, for lists, maps and values with newlines). The
play must fail, name the variable, and leave the host as it was: the same
SuperLink container still running, the same unit file, the same database
bytes, and no file outside the SuperLink's runtime created, chowned, chmodded
or rewritten.

Adding a case is one line in tests/bad_input_cases.py's CASES (input the
role refuses from the variables alone: every row runs in the unit layer,
tests/unit/test_bad_input_rules.py, and the rows in END_TO_END run here
too, a few per entry point, to prove each playbook's wiring) or in
HOST_CASES below (input that is only wrong because of what is on the host:
symlinks, someone else's directory, unit or container, a tampered record or
manifest, a full disk).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from bad_input_cases import BACKUPS, CASES, CONFIRM, END_TO_END, Extra
from conftest import Deployment, container_started, host_files, run_playbook, sha256, unchanged_files

testinfra_hosts = ["ansible://superlink"]

UNIT = "/etc/systemd/system/flower-superlink.service"
RECORD = "/etc/ansible/facts.d/flower_superlink.fact"


# (case id, shell set-up on the host, its clean-up, playbook, extra vars, text the failure must contain)
HOST_CASES: list[tuple[str, str, str, str, Extra, str]] = [
    # dockerd without its DOCKER-USER chain (iptables off): the Control
    # allow-list of this host could not be enforced, so nothing starts.
    (
        "docker-user-chain-missing",
        "iptables -w -D FORWARD -j DOCKER-USER && iptables -w -F DOCKER-USER && iptables -w -X DOCKER-USER",
        "iptables -w -N DOCKER-USER && iptables -w -A DOCKER-USER -j RETURN && iptables -w -I FORWARD -j DOCKER-USER"
        " && iptables -w -I DOCKER-USER 1 -j FLWR-flower-superlink",
        "deploy.yml",
        (),
        "no DOCKER-USER iptables chain",
    ),
    (
        "state-through-symlink",
        "mkdir -p /srv/real && ln -s /srv/real /srv/flower-link",
        "rm -rf /srv/flower-link /srv/real",
        "deploy.yml",
        "flower_superlink_state_dir=/srv/flower-link/state",
        "is a symlink",
    ),
    (
        "backup-through-symlink-to-etc",
        "ln -s /etc /srv/etc-link",
        "rm -f /srv/etc-link",
        "backup.yml",
        "flower_superlink_backup_dir=/srv/etc-link/flower-backups",
        "is a symlink",
    ),
    (
        "state-is-someone-elses",
        "mkdir -p /srv/app-data && echo keep > /srv/app-data/data",
        "rm -rf /srv/app-data",
        "deploy.yml",
        "flower_superlink_state_dir=/srv/app-data",
        "belongs to something else",
    ),
    (
        "config-is-someone-elses",
        "mkdir -p /opt/other && chmod 0755 /opt/other && echo x > /opt/other/conf",
        "rm -rf /opt/other",
        "deploy.yml",
        "flower_superlink_config_dir=/opt/other",
        "belongs to something else",
    ),
    (
        # -shm: SQLite in rollback-journal mode (Flower 1.19) ignores it, so the
        # running SuperLink is unaffected; a planted -wal would break it by itself.
        "journal-planted-as-symlink",
        "ln -s /etc/shadow /var/lib/flower-superlink/state.db-shm",
        "rm -f /var/lib/flower-superlink/state.db-shm",
        "deploy.yml",
        (),
        "not a regular file",
    ),
    (
        "unit-written-by-someone-else",
        "printf '[Service]\\nExecStart=/bin/true\\n' > /etc/systemd/system/my-app.service",
        "rm -f /etc/systemd/system/my-app.service",
        "deploy.yml",
        "flower_superlink_service_name=my-app",
        "not written by this role",
    ),
    (
        "container-of-someone-else",
        "docker run -d --name other-app --entrypoint sleep flwr/superlink:1.19.0 600",
        "docker rm --force other-app",
        "deploy.yml",
        "flower_superlink_container_name=other-app",
        "not started by this role",
    ),
    (
        # The executor's unit and container, beside the SuperLink's: the same rules.
        "executor-unit-written-by-someone-else",
        "printf '[Service]\\nExecStart=/bin/true\\n' > /etc/systemd/system/my-app-superexec.service",
        "rm -f /etc/systemd/system/my-app-superexec.service",
        "deploy.yml",
        "flower_superlink_service_name=my-app",
        "my-app-superexec.service exists and was not written by this role",
    ),
    (
        "executor-container-of-someone-else",
        "docker run -d --name other-app-superexec --entrypoint sleep flwr/superlink:1.19.0 600",
        "docker rm --force other-app-superexec",
        "deploy.yml",
        "flower_superlink_container_name=other-app",
        "other-app-superexec exists and was not started by this role",
    ),
    (
        "record-tampered",
        f'cp -p {RECORD} /root/record.orig && python3 -c "import json,sys; r=json.load(open(sys.argv[1])); '
        "r['current']['image_ref']='flwr/superlink:1.19.0 --privileged'; json.dump(r, open(sys.argv[1],'w'))\" "
        f"{RECORD} && touch -r /root/record.orig {RECORD}",
        f"cp -p /root/record.orig {RECORD} && rm /root/record.orig",
        "deploy.yml",
        (),
        "deployment record",
    ),
    (
        "manifest-tampered",
        f"install -d -m 0700 {BACKUPS} && cp /var/lib/flower-superlink/state.db {BACKUPS}/state-evil-manual.db && "
        f'printf \'{{"image_ref": "flwr/superlink:1.19.0\\\\n--privileged", "image_id": "x", "sha256": "%s"}}\' '
        f"$(sha256sum {BACKUPS}/state-evil-manual.db | cut -c1-64) > {BACKUPS}/state-evil-manual.json",
        f"rm -f {BACKUPS}/state-evil-manual.db {BACKUPS}/state-evil-manual.json",
        "rollback.yml",
        f"flower_superlink_rollback_backup={BACKUPS}/state-evil-manual.db",
        "not trustworthy",
    ),
    (
        "disk-too-full-for-the-backup",
        f"install -d -m 0700 {BACKUPS} && mount -t tmpfs -o size=64k tmpfs {BACKUPS}",
        f"umount {BACKUPS}",
        "reset.yml",
        CONFIRM,
        "MiB free",
    ),
]


def extra_args(extra: Extra) -> list[str]:
    if isinstance(extra, dict):
        return [json.dumps(extra)]
    if isinstance(extra, str):
        return [extra]
    return list(extra)


def snapshot(host: Any, deployment: Deployment) -> tuple[str, str, str]:
    return container_started(host, deployment), sha256(host, deployment.database), sha256(host, UNIT)


@pytest.fixture(scope="module")
def untouched(host: Any, deployment: Deployment) -> tuple[tuple[str, str, str], str]:
    """The host as deployed: what every refused play must leave exactly as it is."""
    return snapshot(host, deployment), host_files(host)


def refused(
    request: pytest.FixtureRequest,
    host: Any,
    deployment: Deployment,
    playbook: str,
    extra: Extra,
    message: str,
    before: tuple[tuple[str, str, str], str],
) -> None:
    result = run_playbook(request, host, playbook, *extra_args(extra))
    assert result.returncode != 0, "the play accepted bad input:\n" + result.stdout[-3000:]
    assert message in result.stdout, result.stdout[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert snapshot(host, deployment) == before[0], "the container, database or unit changed"
    diff = unchanged_files(before[1], host_files(host))
    assert not diff, "files outside the role changed although the input was refused:\n" + diff
    assert host.service(deployment.service).is_running
    # A refusal under the lock (the host checks) released it again.
    assert host.check_output("find /run/lock -maxdepth 1 -name '*.ansible-lock'") == "", "the refused play kept a lock"


WIRED = [c for c in CASES if c[0] in END_TO_END]


@pytest.mark.parametrize(("playbook", "extra", "message"), [c[1:] for c in WIRED], ids=[c[0] for c in WIRED])
def test_bad_input_is_refused_and_changes_nothing(
    request: pytest.FixtureRequest,
    host: Any,
    deployment: Deployment,
    untouched: tuple[tuple[str, str, str], str],
    playbook: str,
    extra: Extra,
    message: str,
) -> None:
    refused(request, host, deployment, playbook, extra, message, untouched)


@pytest.mark.parametrize(
    ("setup", "cleanup", "playbook", "extra", "message"), [c[1:] for c in HOST_CASES], ids=[c[0] for c in HOST_CASES]
)
def test_host_state_that_is_not_ours_is_refused_and_changes_nothing(
    request: pytest.FixtureRequest,
    host: Any,
    deployment: Deployment,
    setup: str,
    cleanup: str,
    playbook: str,
    extra: Extra,
    message: str,
) -> None:
    host.run_test(setup)
    try:
        before = snapshot(host, deployment), host_files(host)
        shadow = host.file("/etc/shadow")
        owner = (shadow.uid, shadow.gid, shadow.mode)
        refused(request, host, deployment, playbook, extra, message, before)
        assert (shadow.uid, shadow.gid, shadow.mode) == owner
        if (other := re.search(r"--name (other-app\S*)", setup)) is not None:
            assert host.docker(other[1]).is_running, "the role removed someone else's container"
    finally:
        host.run(cleanup)
