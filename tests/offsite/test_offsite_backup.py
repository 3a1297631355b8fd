"""Off-host backups with restic, and a restore onto a new machine.

molecule/offsite: the SuperLink host (Flower 1.42, WAL database) backs up
over SFTP to the backup server flower-offsite-store; flower-offsite-spare is
a blank machine that replaces the SuperLink host when the last test destroys
it. The tests run in order and build on each other. The proof is Flower's
own data: the runs the real ``flwr`` CLI lists before and after.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import pytest
import testinfra
from conftest import (
    Deployment,
    Flwr,
    container_started,
    flwr_on,
    host_files,
    recap,
    run_playbook,
    sha256,
    unchanged_files,
    wait_for,
)

testinfra_hosts = ["ansible://flower-offsite-superlink"]

AGENT = ["/usr/bin/python3", "/usr/local/lib/flower-offsite-backup/flower_offsite_backup.py"]
CONFIG = "/etc/flower-offsite-backup/agent.json"
CONFIG_DIR = "/etc/flower-offsite-backup"
METRICS = "/var/lib/prometheus/node-exporter/flower_offsite_backup.prom"
BACKUP_DIR = "/var/backups/flower-superlink"
SERVICE = "flower-offsite-backup.service"
REPOSITORY = "sftp:restic@flower-offsite-store:/srv/restic/flower"
PASSWORD = "offsite-test-password-not-secret"
UNIT = "/etc/systemd/system/flower-superlink.service"


def other_host(request: pytest.FixtureRequest, name: str) -> Any:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=request.config.getoption("ansible_inventory"))


@pytest.fixture(scope="module")
def store(request: pytest.FixtureRequest) -> Any:
    return other_host(request, "flower-offsite-store")


def snapshots(host: Any) -> list[dict[str, Any]]:
    listed = host.check_output(" ".join([*AGENT, "restic", CONFIG, "snapshots", "--json"]))
    result: list[dict[str, Any]] = json.loads(listed) or []
    return result


def metrics(host: Any) -> dict[tuple[str, str], float]:
    """The textfile collector's samples: (metric, location) -> value."""
    samples = {}
    for line in host.file(METRICS).content_string.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        location = labels.split('location="')[1].split('"')[0] if "location=" in labels else ""
        samples[(name.removeprefix("flower_superlink_backup_"), location)] = float(value)
    return samples


def scheduled_backups(host: Any) -> list[str]:
    return sorted(host.check_output(f"ls -1 {BACKUP_DIR}").split()) if host.file(BACKUP_DIR).exists else []


# The scenario keeps the role's schedule (hourly, spread over 5 minutes; the
# check weekly): a scenario of half an hour often crosses an hour.
TIMERS = ("flower-offsite-backup", "flower-offsite-backup-check")
_DUE = (
    "now=$(date +%s); for unit in " + " ".join(TIMERS) + "; do "
    "due=$(systemctl show -p NextElapseUSecRealtime --value $unit.timer); "
    'if [ -n "$due" ]; then due=$(( $(date -d "$due" +%s) - now )); else due=86400; fi; '
    'echo "$(systemctl show -p ActiveState --value $unit.service) $due"; '
    "done"
)


def no_backup_within(host: Any, seconds: int) -> None:
    """Wait until neither service of the role runs and neither timer is due
    within ``seconds``. A test that proves a playbook changed nothing compares
    the host's files before and after; a scheduled backup in between would
    write the local copy, restic's cache and the metrics."""

    def quiet() -> bool:
        states = [line.split() for line in host.check_output(_DUE).splitlines()]
        return all(state in ("inactive", "failed") and int(due) > seconds for state, due in states)

    wait_for(quiet, seconds + 900, "a time with no scheduled backup due", interval=5)


def start_backup(host: Any) -> Any:
    """What the timer does: start the oneshot service and wait for it."""
    return host.run(f"systemctl start {SERVICE}")


def state_of(host: Any, deployment: Deployment) -> dict[str, str]:
    """What a refused playbook must leave as it was."""
    return {
        "database": sha256(host, deployment.database),
        "container": container_started(host, deployment),
        "unit": sha256(host, UNIT),
        "settings": host.check_output(f"sha256sum {CONFIG_DIR}/password {CONFIG_DIR}/repository.json {CONFIG}"),
    }


# --- the scheduled backup -------------------------------------------------------


def test_timers_are_scheduled_and_secrets_stay_root_only(host: Any) -> None:
    for timer in ("flower-offsite-backup.timer", "flower-offsite-backup-check.timer"):
        assert host.service(timer).is_enabled
        assert host.service(timer).is_running
    for name, mode in [("", 0o700), ("/password", 0o600), ("/repository.json", 0o600), ("/ssh/id", 0o600)]:
        f = host.file(CONFIG_DIR + name)
        assert (f.user, f.group, f.mode) == ("root", "root", mode), name
    # The password reaches restic through a root-only file, never the units or settings.
    for path in (f"/etc/systemd/system/{SERVICE}", "/etc/systemd/system/flower-offsite-backup.timer", CONFIG):
        assert PASSWORD not in host.file(path).content_string
    assert PASSWORD not in host.check_output(f"systemctl show {SERVICE}")


def test_scheduled_backup_reaches_the_repository(host: Any, flwr: Flwr) -> None:
    runs = {flwr.submit_run() for _ in range(2)} | flwr.run_ids()
    # No SuperNode runs them; stopped, they no longer write to the database.
    flwr.stop_running()
    no_backup_within(host, 120)
    before = {s["id"] for s in snapshots(host)}
    result = start_backup(host)
    assert result.rc == 0, host.run(f"journalctl -u {SERVICE} -n 20 --no-pager").stdout
    taken = snapshots(host)
    newest = taken[-1]
    assert newest["id"] not in before
    assert newest["hostname"] == "flower-offsite-superlink"
    assert {"flower-superlink", "scheduled", "superlink:flower-superlink"} <= set(newest["tags"])
    # Retention ran: the scenario lasts less than the 24 hours kept, one snapshot per hour (the newest).
    hours = [s["time"][:13] for s in taken]
    assert len(hours) == len(set(hours)), hours
    # The snapshot holds a checked copy with its manifest, which counts the runs.
    manifest = next(p for p in newest["paths"] if p.endswith(".json"))
    # By its ID: the hourly timer may add a snapshot of its own at any moment.
    dumped = host.check_output(" ".join([*AGENT, "restic", CONFIG, "dump", newest["id"], manifest]))
    assert json.loads(dumped)["runs"] == len(runs)
    assert json.loads(dumped)["integrity"] == "ok"
    # What monitoring reads: the time, size and runs of the last good backup.
    seen = metrics(host)
    assert seen[("last_runs", "offsite")] == len(runs)
    assert seen[("last_attempt_success", "offsite")] == 1
    assert seen[("last_size_bytes", "offsite")] > 0
    assert abs(seen[("last_success_timestamp_seconds", "offsite")] - float(host.check_output("date +%s"))) < 120


def test_the_repository_check_passes_and_is_reported(host: Any) -> None:
    # The check unit prunes (the data of what the backups' forget removed), then checks; both
    # take the repository's exclusive lock, which a scheduled backup starting meanwhile would meet.
    no_backup_within(host, 120)
    result = host.run("systemctl start flower-offsite-backup-check.service")
    assert result.rc == 0, host.run("journalctl -u flower-offsite-backup-check.service -n 20 --no-pager").stdout
    seen = metrics(host)
    assert seen[("repository_prune_success", "")] == 1
    assert seen[("repository_check_success", "")] == 1
    assert seen[("repository_prune_timestamp_seconds", "")] <= seen[("repository_check_timestamp_seconds", "")]


@pytest.fixture
def store_down(store: Any) -> Any:
    """The backup server stops answering SSH."""
    store.run_test("systemctl stop ssh.service ssh.socket || systemctl stop ssh.service")
    yield
    store.run_test("systemctl start ssh.service")


def test_unreachable_repository_fails_visibly_and_keeps_the_local_backup(
    host: Any, flwr: Flwr, store_down: Any
) -> None:
    runs = flwr.run_ids()
    good = metrics(host)[("last_success_timestamp_seconds", "offsite")]
    newest_local = scheduled_backups(host)[-1]
    host.run("rm -f /run/offsite-test-alerts")

    result = start_backup(host)
    assert result.rc != 0
    assert host.run(f"systemctl is-failed {SERVICE}").stdout.strip() == "failed"
    assert SERVICE in host.check_output("systemctl --failed --no-legend")
    # The OnFailure= hook ran for this unit.
    alerts = wait_for(lambda: host.run("cat /run/offsite-test-alerts").stdout, 30, "the OnFailure= hook")
    assert SERVICE in alerts
    # The local copy was still taken; monitoring sees the off-host failure.
    assert scheduled_backups(host)[-1] > newest_local
    seen = metrics(host)
    assert seen[("last_attempt_success", "local")] == 1
    assert seen[("last_attempt_success", "offsite")] == 0
    assert seen[("last_success_timestamp_seconds", "offsite")] == good
    journal = host.check_output(f"journalctl -u {SERVICE} -n 20 --no-pager")
    assert "sending it to the repository failed" in journal
    # Nothing else broke.
    assert flwr.run_ids() == runs


def test_the_next_backup_recovers_by_itself(host: Any) -> None:
    host.run_test(f"systemctl reset-failed {SERVICE}")
    assert start_backup(host).rc == 0
    assert metrics(host)[("last_attempt_success", "offsite")] == 1


# --- bad input ----------------------------------------------------------------

# One row per class of mistake: (run, extra vars, the variable the error line
# names, what it must say). Validation reports every problem at once, so rows
# share a playbook run when they set different variables and none of them
# stops the checks the others need: run 0 holds type errors (checked first),
# runs 1-4 rule errors, run 5 a schedule only systemd itself can refuse.
P = "flower_offsite_backup_"
BAD_INPUT: list[tuple[int, dict[str, Any], str, str]] = [
    (0, {P + "repository": REPOSITORY + "\n"}, "repository", "newline or control character"),
    (0, {P + "password": "pass\nword"}, "password", "newline or control character"),
    (0, {P + "environment": "AWS_KEY=x"}, "environment", "must be a mapping"),
    (0, {P + "sftp_known_hosts": "flower-offsite-store ssh-ed25519 AAAA"}, "sftp_known_hosts", "must be a list"),
    (0, {P + "check_schedule": "weekly\nExecStart=/bin/sh"}, "check_schedule", "newline or control character"),
    (0, {P + "randomized_delay": "5min"}, "randomized_delay", "is not a whole number"),
    (0, {P + "restore_overwrite": "flase"}, "restore_overwrite", "is not a boolean"),
    (0, {P + "repo": REPOSITORY}, "repo", "did you mean flower_offsite_backup_repository?"),
    (1, {P + "repository": "ftp://backup/flower"}, "repository", "is not a restic repository"),
    (1, {P + "password": ""}, "password", "is required with a repository"),
    (1, {P + "environment": {"RESTIC_PASSWORD": "x"}}, "environment", 'may not set "RESTIC_PASSWORD"'),
    (1, {P + "sftp_private_key_content": "/root/.ssh/id_ed25519"}, "sftp_private_key_content", "is not a PEM"),
    (1, {P + "sftp_known_hosts": ["flower-offsite-store"]}, "sftp_known_hosts", "is not 'host keytype base64'"),
    (1, {P + "schedule": "hourly; reboot"}, "schedule", "is not a systemd calendar expression"),
    (1, {P + "randomized_delay": "-1"}, "randomized_delay", "must be between 0 and 86400"),
    (1, {P + "check_read_data": "all"}, "check_read_data", "must be empty, a percentage"),
    (1, {P + "keep_local": "0"}, "keep_local", "must be between 1 and 1000"),
    (
        1,
        {P + f"keep_{period}": 0 for period in ("hourly", "daily", "weekly", "monthly")},
        "keep_daily",
        "the repository would keep nothing",
    ),
    (1, {P + "on_failure": "alert.service reboot.target"}, "on_failure", "must be a unit name"),
    (1, {P + "metrics_dir": "/etc"}, "metrics_dir", "shared system directory"),
    (1, {P + "config_dir": "/var/lib/flower-superlink/offsite"}, "config_dir", "must be distinct"),
    (1, {P + "cache_dir": "cache"}, "cache_dir", "must be an absolute path"),
    (1, {P + "unit_name": "flower-superlink"}, "unit_name", "is the SuperLink's own unit name"),
    (1, {P + "restore_snapshot": "../../etc/passwd"}, "restore_snapshot", "must be latest or a snapshot ID"),
    (2, {P + "repository": "sftp:backup-host"}, "repository", "must be sftp:[user@]host:/path"),
    (2, {P + "environment": {"AWS_KEY": "a\nb"}}, "environment", "without control characters"),
    (2, {P + "cache_dir": "/var/cache/../../etc"}, "cache_dir", "must be normalised"),
    (2, {P + "unit_name": "backup;x"}, "unit_name", "must be lower-case letters"),
    (3, {P + "repository": "/srv/backup dir"}, "repository", "contains a space"),
    (4, {P + "repository": "/etc/ssh/backups"}, "repository", "inside /etc/ssh"),
    (5, {P + "schedule": "every hour"}, "schedule", "is not a systemd calendar expression"),
]


@pytest.fixture(scope="module")
def refused(request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr) -> dict[int, Any]:
    """The bad-input runs through deploy.yml, side by side (validation comes
    before the lock, so they cannot interfere); the host must not change."""
    flwr.stop_running()  # running runs write to the database by themselves
    runs: dict[int, dict[str, Any]] = {}
    for group, variables, _, _ in BAD_INPUT:
        assert not set(variables) & set(runs.get(group, {})), f"run {group} sets a variable twice"
        runs.setdefault(group, {}).update(variables)
    no_backup_within(host, 300)
    before, state = host_files(host), state_of(host, deployment)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = pool.map(lambda group: run_playbook(request, host, "deploy.yml", json.dumps(runs[group])), runs)
        refused = dict(zip(runs, results, strict=True))
    assert unchanged_files(before, host_files(host)) == ""
    assert state_of(host, deployment) == state
    return refused


def problems(stdout: str) -> list[str]:
    """The refusal's problem lines ("- name=value what is wrong (fix)"), unwrapped."""
    # The message is printed as YAML, where its newlines may show as "\\n".
    text = " ".join(stdout.replace("\\n", "\n").split())
    return [P + item.split(" - " + P)[0] for item in text.split(" - " + P)[1:]]


@pytest.mark.parametrize("row", range(len(BAD_INPUT)), ids=[f"{r[2]}-{r[0]}" for r in BAD_INPUT])
def test_bad_input_is_refused_with_the_reason(refused: dict[int, Any], row: int) -> None:
    group, _, name, says = BAD_INPUT[row]
    result = refused[group]
    assert result.returncode != 0
    assert "Nothing was changed" in result.stdout or "nothing was changed" in result.stdout
    if group == 5:  # refused by systemd on the host, after the controller's checks passed
        assert says in " ".join(result.stdout.split()), result.stdout[-2500:]
        return
    lines = [line for line in problems(result.stdout) if line.startswith((P + name + "=", P + name + " "))]
    assert any(says in line for line in lines), f"{name}: {lines or problems(result.stdout)}"


def test_wrong_password_is_refused_and_changes_nothing(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment
) -> None:
    no_backup_within(host, 240)
    before, state = host_files(host), state_of(host, deployment)
    result = run_playbook(request, host, "deploy.yml", "flower_offsite_backup_password=not-the-password")
    assert result.returncode != 0
    assert "does not open with flower_offsite_backup_password" in result.stdout
    assert "wrong password" in result.stdout
    assert "not-the-password" not in result.stdout
    assert unchanged_files(before, host_files(host)) == ""
    assert state_of(host, deployment) == state
    # The timer still uses the right password.
    assert start_backup(host).rc == 0


def test_check_mode_changes_nothing_on_the_deployed_host(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    flwr.stop_running()
    no_backup_within(host, 240)
    before = host_files(host)
    result = run_playbook(request, host, "deploy.yml", options=("--check", "--diff"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result, host)["changed"] == 0
    assert unchanged_files(before, host_files(host)) == ""


def test_check_mode_previews_a_new_machine_and_writes_nothing(request: pytest.FixtureRequest, host: Any) -> None:
    """The spare, still blank, previewed under the SuperLink's name: the
    timers and settings show as changes, nothing is written."""
    spare = other_host(request, "flower-offsite-spare")
    before = host_files(spare)
    result = run_playbook(
        request, host, "deploy.yml", "ansible_host=flower-offsite-spare", options=("--check", "--diff")
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "flower_offsite_backup : Install the backup and check units" in result.stdout
    assert unchanged_files(before, host_files(spare)) == ""
    assert not spare.file(CONFIG_DIR).exists


# --- restore.yml ---------------------------------------------------------------------


def test_restore_refuses_to_replace_a_database_with_runs(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    runs = flwr.run_ids()
    state = state_of(host, deployment)
    result = run_playbook(request, host, "restore.yml")
    assert result.returncode != 0
    assert f"its database holds {len(runs)} runs" in result.stdout, result.stdout[-3000:]
    assert "flower_offsite_backup_restore_overwrite=true" in result.stdout
    assert state_of(host, deployment) == state
    assert flwr.run_ids() == runs


@pytest.fixture
def damaged_repository(store: Any) -> Any:
    """A copy of the repository whose stored data was overwritten in places."""
    store.run_test("cp -a /srv/restic/flower /srv/restic/damaged")
    store.run_test(
        "find /srv/restic/damaged/data -type f -exec sh -c "
        "'printf XXXXXXXXXXXXXXXX | dd of=\"$1\" bs=1 seek=64 conv=notrunc status=none' _ {} \\;"
    )
    yield "sftp:restic@flower-offsite-store:/srv/restic/damaged"
    store.run_test("rm -rf /srv/restic/damaged")


def test_restore_refuses_a_damaged_snapshot_and_says_which(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, damaged_repository: str
) -> None:
    runs = flwr.run_ids()
    newest = snapshots(host)[-1]["short_id"]
    state = state_of(host, deployment)
    result = run_playbook(
        request,
        host,
        "restore.yml",
        f"flower_offsite_backup_repository={damaged_repository}",
        "flower_offsite_backup_restore_overwrite=true",
    )
    assert result.returncode != 0
    assert f"snapshot {newest}" in result.stdout, result.stdout[-3000:]
    assert "cannot be read back" in result.stdout or "is damaged" in result.stdout
    # The database, the SuperLink and the backup settings are as they were.
    assert state_of(host, deployment) == state
    assert flwr.run_ids() == runs


def machine_of(host: Any) -> str:
    """The machine tag the agent gives a host's snapshots (machine_tag)."""
    return "machine:" + host.check_output('printf %s "$(cat /etc/machine-id)" | sha256sum')[:16]


def test_restore_onto_a_new_machine_is_refused_while_the_old_one_backs_up(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment
) -> None:
    """The old machine still runs and has just backed up: restoring its snapshot on the spare
    under its name is refused, naming both machines and the flag; the spare gets no SuperLink
    and no backup settings, and the old machine's backups go on."""
    assert start_backup(host).rc == 0
    spare = other_host(request, "flower-offsite-spare")
    result = run_playbook(request, host, "restore.yml", "ansible_host=flower-offsite-spare")
    said = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert f"was taken by {machine_of(host)}, not this one ({machine_of(spare)})" in said, said[-3000:]
    assert "-e flower_offsite_backup_restore_replaces_machine=true. Nothing was changed." in said
    assert not spare.file(UNIT).exists
    assert not spare.file(deployment.database).exists
    assert not spare.file(f"{CONFIG_DIR}/repository.json").exists
    assert not spare.file(CONFIG).exists
    assert start_backup(host).rc == 0


def test_restore_onto_a_new_machine_brings_every_run_back(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr, docker_client: docker.DockerClient
) -> None:
    flwr.submit_run()
    flwr.stop_running()
    runs = flwr.run_ids()
    assert start_backup(host).rc == 0
    # The host is lost: its container stops for good (molecule destroy removes it).
    docker_client.containers.get("flower-offsite-superlink").stop(timeout=5)

    # The replacement machine takes over the inventory name; restore.yml deploys and
    # restores it, told that the machine it replaces no longer backs up.
    spare = other_host(request, "flower-offsite-spare")
    result = run_playbook(
        request,
        host,
        "restore.yml",
        "ansible_host=flower-offsite-spare",
        "flower_offsite_backup_restore_replaces_machine=true",
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert recap(result, host)["failed"] == 0
    assert f"{len(runs)} runs, checked" in result.stdout

    # Flower on the new machine lists every run the lost one had.
    assert flwr_on(spare, deployment, docker_client).wait_run_ids() == runs
    assert spare.service("flower-offsite-backup.timer").is_enabled
    # And it backs up again, under the same name.
    assert spare.run(f"systemctl start {SERVICE}").rc == 0
    assert snapshots(spare)[-1]["hostname"] == "flower-offsite-superlink"


def test_restore_is_idempotent_on_the_restored_machine(request: pytest.FixtureRequest, host: Any) -> None:
    """Run again, restore.yml refuses (the database holds runs) and changes nothing."""
    result = run_playbook(request, host, "restore.yml", "ansible_host=flower-offsite-spare")
    assert result.returncode != 0
    assert "its database holds" in result.stdout
    assert recap(result, host)["changed"] == 0


def test_a_repository_on_a_mounted_disk_is_backed_up_by_the_timers_units(
    request: pytest.FixtureRequest, host: Any
) -> None:
    """On the restored machine, the repository moved to a filesystem mounted
    under /mnt (a tmpfs here): the deploy creates it, and the units the
    timers start back up, prune and check it in their sandbox
    (ProtectSystem=strict leaves everything read-only but what they list)."""
    spare = other_host(request, "flower-offsite-spare")
    disk = "/mnt/flower-restic"
    spare.run_test("mkdir -p %s && mount -t tmpfs -o size=256m flower-restic %s", disk, disk)
    try:
        local = [f"flower_offsite_backup_repository={disk}", "ansible_host=flower-offsite-spare"]
        result = run_playbook(request, host, "deploy.yml", *local)
        assert result.returncode == 0, result.stdout[-4000:]
        for unit in (SERVICE, "flower-offsite-backup-check.service"):
            started = spare.run("systemctl start %s", unit)
            journal = spare.run("journalctl -u %s -n 30 --no-pager", unit).stdout
            assert started.rc == 0, journal
        taken = json.loads(spare.check_output(" ".join([*AGENT, "restic", CONFIG, "snapshots", "--json"])))
        assert [s["hostname"] for s in taken] == ["flower-offsite-superlink"], taken
        assert spare.file(f"{disk}/config").exists
    finally:
        # Back to the SFTP repository, and the disk away.
        run_playbook(request, host, "deploy.yml", "ansible_host=flower-offsite-spare")
        spare.run("umount %s", disk)
