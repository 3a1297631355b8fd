"""Scheduled, off-host backups of a Flower SuperLink's state, with restic.

Installed by the flower_offsite_backup role and run by its systemd units and
tasks; there is no Ansible on the host when the timer fires. Commands:

    backup  CONFIG         take the same checked backup as backup.yml (under the
                           SuperLink's lock), keep the newest few scheduled ones
                           locally, send it to the repository, forget the
                           snapshots the retention policy no longer names,
                           write the metrics file
    check   CONFIG         restic prune of the repository (the forgotten
                           snapshots' data), then restic check (and a share
                           of its data)
    maintain CONFIG        on a trusted machine, with the repository's delete
                           rights: forget every host's snapshots the policy
                           no longer names, prune, check
    restic  CONFIG ARGS..  any restic command with the repository's settings
    probe                  can the repository be opened (ok, wrong-password,
                           absent, unreachable)?
    snapshots HOST [WHICH] this SuperLink's snapshots on HOST, oldest first, and
                           with WHICH (latest or an ID prefix) the one restore
                           installs, or why there is none (choose_snapshot)
    fetch   ID             download snapshot ID, check it against its manifest
                           and install it as a local backup; prints what it holds

With append_only in CONFIG (credentials of an append-only server, which
refuses every deletion), backup and check never forget or prune: that is
maintain's, run by the maintenance play where the delete rights are.

CONFIG is the role's agent.json (no secrets); the password, the repository's
address and credentials and the SSH key are root-only files beside it.
probe, snapshots and fetch read all of that from stdin instead (JSON: the
agent's settings plus repository, password, environment, ssh_private_key,
known_hosts), so that a repository is checked and read before any of its
settings is written to the host.
Output is one JSON object per command on stdout; exit 1 on failure. Credentials
written in the repository's address never reach that output, the journal or an
error (restic_redaction.redact, beside this file).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flower_superlink_state import LockHeld, Refused, acquire_lock, backup, default_holder, describe, release_lock
from prometheus_textfile import Family, render, write_atomically
from restic_redaction import redact

TAG = "flower-superlink"
# Every snapshot also names its SuperLink, by unit name (superlink:NAME): one
# host may run several, and retention and restore keep them apart.
SUPERLINK_TAG = "superlink:"
# And the machine that took it (machine:<16 hex digits of the SHA-256 of
# /etc/machine-id>): a machine that replaced a lost host keeps its inventory
# name, so the host name alone cannot tell the old machine, still running,
# from the new one (other_machines).
MACHINE_TAG = "machine:"
MACHINE_ID_FILE = "/etc/machine-id"
SFTP_SHORT = re.compile(r"sftp:(?:(?P<user>[^@/:]+)@)?(?P<host>[^@/:]+):(?P<path>.+)\Z")


def load(config_path: str) -> dict:
    config = json.loads(Path(config_path).read_text())
    secrets_dir = Path(config["secrets_dir"])
    config["password_file"] = str(secrets_dir / "password")
    config["ssh_key"] = str(secrets_dir / "ssh" / "id")
    config["known_hosts"] = str(secrets_dir / "ssh" / "known_hosts")
    repo = json.loads((secrets_dir / "repository.json").read_text())
    config["repository"] = repo["repository"]
    config["environment"] = repo.get("environment", {})
    return config


def superlink_name(config: dict) -> str:
    """The SuperLink this agent backs up: its unit name (flower_superlink_service_name).

    An agent.json written before the name was (a new agent installed, the play
    stopped before it wrote the settings) has the lock, named after the unit:
    /run/lock/<name>.ansible-lock.
    """
    name = config.get("superlink") or Path(config["lock"]).name.removesuffix(".ansible-lock")
    if not name or "," in name or not name.isprintable():
        raise Refused(f"{name!r} cannot name the SuperLink in a restic tag (a comma or control character)")
    return name


def of_superlink(snapshot: dict, name: str) -> bool:
    """Is it this SuperLink's snapshot? Those taken before snapshots named their SuperLink count as anyone's."""
    named = [tag for tag in snapshot.get("tags") or [] if tag.startswith(SUPERLINK_TAG)]
    return not named or SUPERLINK_TAG + name in named


def machine_tag(config: dict) -> str:
    """machine:<id> of this machine; refused when it has no machine ID (systemd writes one at
    the first boot), as a snapshot without one could not be told from another machine's."""
    path = Path(config.get("machine_id_file") or MACHINE_ID_FILE)
    try:
        machine = path.read_text().strip()
    except OSError as err:
        raise Refused(f"this machine has no ID to tag its snapshots with ({path}: {err.strerror})") from None
    if not re.fullmatch(r"[0-9a-f]{32}", machine):
        raise Refused(f"this machine has no ID to tag its snapshots with ({path} holds no machine ID)")
    return MACHINE_TAG + hashlib.sha256(machine.encode()).hexdigest()[:16]


def other_machines(snapshots: list[dict], mine: str, since_ns: int) -> list[dict]:
    """The snapshots of this host and SuperLink another machine took after SINCE_NS (this
    machine's previous good backup), newest first: two machines back up under one name (the
    old host still running beside the one that replaced it). Those without a machine tag were
    taken before snapshots carried one; a time that is no time cannot be placed, so it counts."""
    found = []
    for snapshot in snapshots:
        machines = machines_of(snapshot)
        if not machines or mine in machines:
            continue
        try:
            when = snapshot_instant(snapshot.get("time"))
        except ValueError:
            when = since_ns + 1
        if when > since_ns:
            found.append((when, snapshot))
    return [snapshot for _when, snapshot in sorted(found, key=lambda pair: pair[0], reverse=True)]


def backup_args(config: dict, paths: list[Path]) -> list[str]:
    """restic backup of one local backup (database copy and manifest): the host's name, the
    SuperLink's tag and the machine's."""
    names = (TAG, "scheduled", SUPERLINK_TAG + superlink_name(config), machine_tag(config))
    tags = [arg for tag in names for arg in ("--tag", tag)]
    return ["backup", "--json", "--host", config["host"], *tags, *map(str, paths)]


def forget_args(config: dict) -> list[str]:
    """restic forget of this SuperLink's snapshots, the keep_* policy applied per host and set of tags.

    Not restic's default grouping, by host and paths: every backup's file names
    carry its time, so each snapshot was a group of its own that every rule kept.
    No --prune: forget only deletes snapshot files, quickly; the data that only
    forgotten snapshots used is removed by prune() at the check schedule. Both
    take the repository's exclusive lock and restic 0.14 does not wait for a
    lock: a prune after every hourly backup of every host would hold it for as
    long as the prune runs and fail the other hosts' backups that start meanwhile.
    """
    only = ["--host", config["host"], "--tag", f"{TAG},{SUPERLINK_TAG}{superlink_name(config)}"]
    return ["forget", *only, "--group-by", "host,tags", *config["forget"]]


def unclaimed(config: dict, snapshots: list[dict]) -> list[str]:
    """IDs of this SuperLink's snapshots from before they named it (no superlink: tag), known by
    their paths: its own scheduled backups, <backup_dir>/<database stem>-<time>-scheduled.db/.json."""
    folder = Path(config["backup_dir"])
    stem = re.escape(Path(config["database"]).stem)
    name = re.compile(stem + r"-[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-scheduled\.(db|json)\Z")
    return [
        snapshot["id"]
        for snapshot in snapshots
        if {TAG, "scheduled"} <= set(snapshot.get("tags") or [])
        and not any(tag.startswith(SUPERLINK_TAG) for tag in snapshot["tags"])
        and snapshot.get("paths")
        and all(Path(p).parent == folder and name.match(Path(p).name) for p in snapshot["paths"])
    ]


def sftp_command(repository: str, key: str, known_hosts: str) -> list[str]:
    """restic's -o sftp.command: ssh with the role's key and pinned host keys, nothing from ~/.ssh."""
    if repository.startswith("sftp://"):
        url = urllib.parse.urlsplit(repository)
        user, host, port = url.username, url.hostname, url.port
    else:
        match = SFTP_SHORT.match(repository)
        if not match:
            raise Refused(f"cannot read the SFTP repository address {redact(repository)!r}")
        user, host, port = match["user"], match["host"], None
    ssh = ["ssh", "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={known_hosts}"]
    ssh += ["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    ssh += ["-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
    if port:
        ssh += ["-p", str(port)]
    ssh += [f"{user}@{host}" if user else str(host), "-s", "sftp"]
    return ["-o", "sftp.command=" + " ".join(ssh)]


# restic 0.14 does not wait for a lock: every host's hourly backup, forget and
# weekly prune and check share one repository, so a command that finds it
# locked tries again, LOCK_TRIES times LOCK_PAUSE seconds (five minutes).
LOCK_TRIES = 30
LOCK_PAUSE = 10
LOCKED_RE = re.compile(r"repository is already locked")


def restic(config: dict, *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
    """run_restic, again while another restic process holds the repository's lock."""
    for _attempt in range(LOCK_TRIES - 1):
        done = run_restic(config, *args, timeout=timeout)
        if done.returncode == 0 or not LOCKED_RE.search(done.stderr or ""):
            return done
        time.sleep(LOCK_PAUSE)
    return run_restic(config, *args, timeout=timeout)


def restic_command(config: dict, *args: str) -> tuple[dict, list[str]]:
    """(environment, argv) of a restic command against the configured repository; secrets only
    from files and the environment."""
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": config["cache_dir"],
        "RESTIC_REPOSITORY": config["repository"],
        "RESTIC_PASSWORD_FILE": config["password_file"],
        "RESTIC_CACHE_DIR": str(Path(config["cache_dir"]) / "restic"),
        **config["environment"],
    }
    options = []
    if config["repository"].startswith("sftp:"):
        options = sftp_command(config["repository"], config["ssh_key"], config["known_hosts"])
    return env, ["restic", *options, *args]


def run_restic(config: dict, *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
    """Run restic against the configured repository (restic_command)."""
    env, argv = restic_command(config, *args)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def restic_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return " / ".join(lines[-4:]) or f"restic exited {result.returncode}"


def classify(result: subprocess.CompletedProcess) -> str:
    """ok, wrong-password, absent or unreachable, from `restic cat config`."""
    if result.returncode == 0:
        return "ok"
    text = result.stderr + result.stdout
    if "wrong password" in text:
        return "wrong-password"
    if "unable to open config file" in text or "Is there a repository at the following location" in text:
        return "absent"
    return "unreachable"


# --- metrics ------------------------------------------------------------------

MACHINE_METRICS = [
    ("other_machine_writing", "1 when another machine backed up as this host since its previous backup."),
]

METRICS = [
    ("last_success_timestamp_seconds", "Time of the last good backup (local: on the host; offsite: in the repo)."),
    ("last_size_bytes", "Size of the database copy in the last good backup."),
    ("last_runs", "Runs (Flower's run table) in the last good backup."),
    ("last_attempt_timestamp_seconds", "Time of the last attempt."),
    ("last_attempt_success", "1 when the last attempt succeeded, 0 when it failed."),
]


REPOSITORY_METRICS = [
    ("forget_timestamp_seconds", "Time of the last forget of every host's snapshots (maintenance)."),
    ("forget_success", "1 when the last forget of every host's snapshots succeeded (maintenance)."),
    ("prune_timestamp_seconds", "Time of the last repository prune (restic prune, before the check)."),
    ("prune_success", "1 when the last repository prune succeeded."),
    ("check_timestamp_seconds", "Time of the last repository check (restic check)."),
    ("check_success", "1 when the last repository check passed."),
]


def write_metrics(config: dict, state: dict) -> None:
    """node_exporter textfile collector format, replaced atomically and never
    through a link (prometheus_textfile, beside this file)."""
    target = config.get("metrics_file")
    if not target:
        return
    families = []
    for name, help_text in METRICS:
        family = Family(f"flower_superlink_backup_{name}", "gauge", help_text)
        for location in ("local", "offsite"):
            value = state.get(location, {}).get(name)
            if value is not None:
                family.add(value, host=config["host"], location=location)
        families.append(family)
    for name, help_text in MACHINE_METRICS:
        value = state.get("other_machine", {}).get(name)
        if value is not None:
            families.append(
                Family(f"flower_superlink_backup_{name}", "gauge", help_text).add(value, host=config["host"])
            )
    for name, help_text in REPOSITORY_METRICS:
        value = state.get(name.split("_", maxsplit=1)[0], {}).get(name)  # state["prune"], state["check"]
        if value is not None:
            families.append(
                Family(f"flower_superlink_backup_repository_{name}", "gauge", help_text).add(value, host=config["host"])
            )
    write_atomically(target, render(families))


def load_state(config: dict) -> dict:
    try:
        return json.loads((Path(config["cache_dir"]) / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def save_state(config: dict, state: dict) -> None:
    path = Path(config["cache_dir"]) / "state.json"
    tmp = path.with_name(".state.json.tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
    tmp.rename(path)
    write_metrics(config, state)


# --- commands -----------------------------------------------------------------


def record(config: dict) -> dict:
    try:
        data = json.loads(Path(config["record"]).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def local_backup(config: dict) -> dict:
    """The same checked backup as backup.yml, under the SuperLink's lock; then local retention."""
    token = secrets.token_hex(10)
    lock = Path(config["lock"])
    try:
        holder = default_holder("scheduled backup (flower-offsite-backup.service)")
        acquire_lock(lock, token, holder, config["lock_wait"])
    except LockHeld as held:
        raise Refused(f"a playbook holds the SuperLink's lock ({held}); waited {config['lock_wait']} s") from None
    try:
        deployed = record(config)
        current = deployed.get("current", {})
        backup_dir = Path(config["backup_dir"])
        backup_dir.mkdir(mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f".{int(time.time() * 1e6) % 1000000:06d}Z"
        dest = backup_dir / f"{Path(config['database']).stem}-{stamp}-scheduled.db"
        result = backup(
            Path(config["database"]),
            dest,
            {
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "host": config["host"],
                "reason": "scheduled",
                "database": config["database"],
                "image_ref": current.get("image_ref", ""),
                "image_id": current.get("image_id", ""),
                "repo_digests": current.get("repo_digests", []),
                "flwr_version": current.get("version", ""),
            },
        )
        # Only scheduled backups are this job's to remove; the rollback point never.
        keep = {deployed.get("previous", {}).get("backup", ""), str(dest)}
        scheduled = sorted(backup_dir.glob("*-scheduled.db"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in scheduled[config["keep_local"] :]:
            if str(old) not in keep:
                for suffix in (".db", ".json"):
                    old.with_suffix(suffix).unlink(missing_ok=True)
        return result
    finally:
        release_lock(lock, token)


def cmd_backup(config: dict) -> dict:
    superlink_name(config)  # a name no tag can carry fails before anything is taken
    mine = machine_tag(config)
    state = load_state(config)
    now = int(time.time())
    previous = state.get("offsite", {}).get("last_success_timestamp_seconds")
    for location in ("local", "offsite"):
        state.setdefault(location, {})["last_attempt_timestamp_seconds"] = now
    try:
        result = local_backup(config)
    except (Refused, OSError, ValueError) as err:
        state["local"]["last_attempt_success"] = state["offsite"]["last_attempt_success"] = 0
        save_state(config, state)
        raise Refused(f"the local backup failed: {err}") from None
    good = {"last_success_timestamp_seconds": now, "last_size_bytes": result["size"], "last_runs": result["runs"]}
    state["local"].update(good, last_attempt_success=1)
    save_state(config, state)
    db, manifest = Path(result["path"]), Path(result["path"]).with_suffix(".json")
    sent = restic(config, *backup_args(config, [db, manifest]))
    snapshot = ""
    for line in sent.stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("message_type") == "summary":
            snapshot = message.get("snapshot_id", "")
    if sent.returncode != 0 or not snapshot:
        state["offsite"]["last_attempt_success"] = 0
        save_state(config, state)
        raise Refused(
            f"local backup {db} taken ({result['runs']} runs), but sending it to the repository failed: "
            f"{restic_error(sent)}"
        )
    state["offsite"].update(good, last_attempt_success=1)
    save_state(config, state)
    # One listing of this host's snapshots serves both the look for another machine and retention.
    listing = host_snapshots(config, snapshot) if previous is not None or not config.get("append_only") else []
    if previous is not None:
        # This machine backed up before: any other machine writing as this host since is alive.
        others = writing_beside(config, mine, int(previous) * 10**9, listing)
        state["other_machine"] = {"other_machine_writing": 1 if others else 0}
        save_state(config, state)
        if others:
            newest = others[0]
            machine = machines_of(newest)[0]
            raise Refused(
                f"backup {snapshot[:8]} stored, but another machine ({machine}) also backs up as "
                f"{config['host']} (SuperLink {superlink_name(config)}): its snapshot {newest['id'][:8]} of "
                f"{newest.get('time')} is newer than this machine's previous backup. Is the machine this one "
                "replaced still running? Stop its flower-offsite-backup.timer, or give one of them another "
                "inventory name. Nothing was forgotten."
            )
    if config.get("append_only"):
        # The server refuses deletions; the maintenance play applies the policy.
        return {"backup": str(db), "runs": result["runs"], "size": result["size"], "snapshot": snapshot}
    try:
        retention(config, listing)
    except Refused as err:
        raise Refused(f"backup {snapshot[:8]} stored, but the repository's retention failed: {err}") from None
    return {"backup": str(db), "runs": result["runs"], "size": result["size"], "snapshot": snapshot}


def host_snapshots(config: dict, stored: str = "") -> list[dict]:
    """Every snapshot of this host the role took (tag flower-superlink), checked (read_listing)."""
    listed = restic(config, "snapshots", "--json", "--host", config["host"], "--tag", TAG, timeout=600)
    if listed.returncode != 0:
        done = f"backup {stored[:8]} stored, but " if stored else ""
        raise Refused(f"{done}cannot list this host's snapshots: {restic_error(listed)}")
    return read_listing(listed.stdout)


def writing_beside(config: dict, mine: str, since_ns: int, listing: list[dict]) -> list[dict]:
    """other_machines() of this SuperLink's snapshots in LISTING (host_snapshots())."""
    superlink = SUPERLINK_TAG + superlink_name(config)
    return other_machines([s for s in listing if superlink in (s.get("tags") or [])], mine, since_ns)


def retention(config: dict, listing: list[dict] | None = None) -> None:
    """The keep_* policy on this SuperLink's snapshots (forget_args), after it claims the ones it
    took before snapshots named their SuperLink (tags them superlink:NAME, which gives them new
    IDs): from then on they age out in a group of their own (they carry no machine tag, which
    snapshots taken since do), whose newest few the keep rules hold for good. Snapshots of this
    host that are nobody's by their paths (another backup directory) are left as they are."""
    ids = unclaimed(config, host_snapshots(config) if listing is None else listing)
    for start in range(0, len(ids), 100):
        tagged = restic(config, "tag", "--add", SUPERLINK_TAG + superlink_name(config), *ids[start : start + 100])
        if tagged.returncode != 0:
            raise Refused(restic_error(tagged))
    forgot = restic(config, *forget_args(config))
    if forgot.returncode != 0:
        raise Refused(restic_error(forgot))


def repository_step(config: dict, *args: str) -> None:
    """One restic command on the whole repository (prune, check); a failure in restic's words."""
    try:
        done = restic(config, *args)
    except subprocess.TimeoutExpired as err:
        raise Refused(f"it did not finish within {err.timeout:.0f} s") from None
    if done.returncode != 0:
        raise Refused(restic_error(done))


def prune(config: dict) -> None:
    """restic prune: the data that only forgotten snapshots used leaves the repository (every
    host's: backups only forget). It holds the repository's exclusive lock while it runs, so it
    runs at the check schedule, not after every backup."""
    repository_step(config, "prune")


def check(config: dict) -> None:
    """restic check, reading back check_read_data of the stored data."""
    read = config.get("check_read_data")
    repository_step(config, "check", *([f"--read-data-subset={read}"] if read else []))


def maintenance_forget_args(config: dict) -> list[str]:
    """restic forget of every host's and SuperLink's snapshots in the repository, the keep_*
    policy applied per host and set of tags, as each host's own retention applies it
    (forget_args); snapshots that are not the role's (no flower-superlink tag) stay."""
    return ["forget", "--tag", TAG, "--group-by", "host,tags", *config["forget"]]


def forget_all(config: dict) -> None:
    repository_step(config, *maintenance_forget_args(config))


def cmd_check(config: dict) -> dict:
    """prune(), then check(). Each result is recorded (state, metrics); a failure of either fails
    the command, and the check runs even when the prune failed. With append-only credentials,
    check() only: the server refuses a prune's deletions (the maintenance play prunes)."""
    steps = [("check", check)] if config.get("append_only") else [("prune", prune), ("check", check)]
    return repository_steps(config, steps)


def cmd_maintain(config: dict) -> dict:
    """forget_all(), prune(), check(), on a repository this machine may delete from, recorded
    like the check unit's steps."""
    return repository_steps(config, [("forget", forget_all), ("prune", prune), ("check", check)])


def repository_steps(config: dict, steps: list) -> dict:
    """Run STEPS ((name, function) pairs) in order, each recorded (state, metrics); a failure
    fails the command after every step ran (a prune after a failed forget only reclaims less).
    A step not run any more (the check unit once append-only) leaves no stale metric behind."""
    kept = ("local", "offsite", "other_machine", *dict(steps))
    state = {key: value for key, value in load_state(config).items() if key in kept}
    failed = []
    for step, run in steps:
        try:
            run(config)
            ok = 1
        except Refused as err:
            failed.append(f"restic {step} of the repository failed: {err}")
            ok = 0
        state[step] = {f"{step}_timestamp_seconds": int(time.time()), f"{step}_success": ok}
        save_state(config, state)
    if failed:
        raise Refused("; ".join(failed))
    return {step: "ok" for step, _run in steps}


@contextlib.contextmanager
def given_repository() -> Iterator[dict]:
    """The settings and repository given on stdin (JSON), with the secrets in a
    private directory on /run (memory, not disk) for as long as the command runs.

    restore.yml and the deploy's first check use this: a repository is opened,
    listed and read before any of its settings is written to the host.
    """
    given = json.load(sys.stdin)
    with tempfile.TemporaryDirectory(dir="/run", prefix="flower-offsite-backup-") as work:
        base = Path(work)
        (base / "ssh").mkdir(mode=0o700)
        files = {"password": given["password"], "ssh/id": given.get("ssh_private_key", "")}
        files["ssh/known_hosts"] = "".join(line + "\n" for line in given.get("known_hosts", []))
        for name, content in files.items():
            fd = os.open(base / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(content if not content or content.endswith("\n") else content + "\n")
        yield {
            **given,
            "environment": given.get("environment", {}),
            # A repository that is only looked at leaves no cache behind;
            # downloads are staged on disk, in the role's cache directory.
            "cache_dir": work,
            "staging_dir": given.get("cache_dir") or work,
            "password_file": str(base / "password"),
            "ssh_key": str(base / "ssh/id"),
            "known_hosts": str(base / "ssh/known_hosts"),
        }


def cmd_probe(config: dict) -> dict:
    """ok, wrong-password, absent or unreachable: can the repository be opened?"""
    result = restic(config, "cat", "config", timeout=120)
    message = redact(restic_error(result), config["repository"]) if result.returncode else ""
    return {"status": classify(result), "message": message}


# --- choosing the snapshot to restore ------------------------------------------

# restic writes a snapshot's time as Go's RFC 3339 with nanoseconds, in the UTC
# offset of the host that wrote it: "2026-03-29T01:59:59.123456789+01:00",
# "2026-03-29T03:00:01.5+02:00", "2026-03-29T01:00:02Z". As text they do not sort
# in time (a host whose offset changed with daylight saving, hosts in different
# zones), and Python 3.11's datetime.fromisoformat reads at most six fractional
# digits: parsed here, to the nanosecond.
TIME_RE = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<offset_hours>[0-9]{2}):(?P<offset_minutes>[0-9]{2}))\Z"
)
EPOCH = datetime(1970, 1, 1)
SNAPSHOT_ID_RE = re.compile(r"[0-9a-f]{64}\Z")
WHICH_RE = re.compile(r"(latest|[0-9a-f]{8,64})\Z")


def snapshot_instant(text: Any) -> int:
    """The instant a restic snapshot time names, in nanoseconds since 1970-01-01 UTC.

    ValueError when it is not such a time: another layout, a field out of range
    (month 13, second 60, an offset of 24 h or more), or not a string at all.
    """
    match = TIME_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a time as restic writes one (RFC 3339)")
    fields = {k: int(v) for k, v in match.groupdict().items() if v and k not in ("sign", "fraction")}
    offset = timedelta()
    if match["sign"]:
        if fields["offset_hours"] > 23 or fields["offset_minutes"] > 59:
            raise ValueError(f"{text!r} has no valid UTC offset")
        offset = timedelta(hours=fields["offset_hours"], minutes=fields["offset_minutes"])
        offset = -offset if match["sign"] == "-" else offset
    # datetime refuses a field out of range; naive arithmetic cannot leave its range.
    when = datetime(*(fields[k] for k in ("year", "month", "day", "hour", "minute", "second"))) - offset - EPOCH
    return (when.days * 86400 + when.seconds) * 10**9 + int((match["fraction"] or "").ljust(9, "0"))


def listing_order(snapshot: dict) -> tuple:
    """Oldest first by the instant restic recorded, whatever offset it is written in. Equal
    instants: by ID, so a listing gives the same order (and the same latest) whatever order
    restic lists it in. A time that is no time sorts first; choose_snapshot refuses it."""
    try:
        return (1, snapshot_instant(snapshot.get("time")), snapshot["id"])
    except ValueError:
        return (0, 0, snapshot["id"])


def read_listing(text: str) -> list[dict]:
    """restic snapshots --json, checked: a list of snapshots, each with a snapshot ID (64 hex
    digits) and tags that are strings. Anything else is refused, naming it."""
    listing = json.loads(text or "[]") or []
    if not isinstance(listing, list):
        raise Refused(f"restic listed {type(listing).__name__} where a list of snapshots belongs")
    for entry in listing:
        tags = entry.get("tags") if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("id"), str)
            or not SNAPSHOT_ID_RE.match(entry["id"])
            or not (tags is None or (isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)))
        ):
            raise Refused(f"restic listed something that is not a snapshot: {json.dumps(entry)[:200]}")
    return listing


def shown_time(snapshot: dict) -> str:
    """A snapshot's time for a message: as restic wrote it, or quoted and cut short when it is no time."""
    time_text = snapshot.get("time")
    return time_text if listing_order(snapshot)[0] else json.dumps(time_text)[:80]


def distinct_length(ids: list[str]) -> int:
    """How many leading digits tell these IDs apart: restic's short ID (8), or more."""
    length = 8
    while length < 64 and len({snapshot_id[:length] for snapshot_id in ids}) < len(set(ids)):
        length += 1
    return length


def choose_snapshot(listed: dict, which: str, host: str, superlink: str, repository: str) -> tuple[dict | None, str]:
    """The snapshot restore installs, and "" ; or None and why there is none.

    LISTED is cmd_snapshots' answer (this SuperLink's snapshots, its other SuperLinks'), WHICH
    latest or an ID prefix (8 to 64 hex digits). latest: the newest of this SuperLink's by the
    instant restic recorded (listing_order: ties by ID), refused when any of their times is no
    time (it might be the newest). An ID prefix: the one snapshot of the host whose ID starts
    with it, of any SuperLink; refused when it names several, listing them with their times.
    """
    mine, others = listed["snapshots"], listed["others"]
    if not isinstance(which, str) or not WHICH_RE.match(which):
        return None, f"{which!r} is neither latest nor a snapshot ID (8 to 64 hex digits)"
    if which == "latest":
        candidates = mine
    else:
        # One entry per ID: two listed with one ID are one snapshot (restic names them by their content).
        candidates = list({s["id"]: s for s in mine + others if s["id"].startswith(which)}.values())
    if not candidates:
        named = "" if which == "latest" else which + " "
        return None, (
            f"The repository {redact(repository)} holds no snapshot {named}of host {host} "
            f"({len(mine)} of SuperLink {superlink}, {len(others)} of its other SuperLinks). "
            "Set flower_offsite_backup_restore_from to the host whose state to restore, "
            "or name a snapshot with flower_offsite_backup_restore_snapshot"
        )
    ordered = sorted(candidates, key=listing_order)
    if which == "latest":
        untimed = [s for s in ordered if listing_order(s)[0] == 0]
        if untimed:
            said = ", ".join(f"{s['id'][:8]} ({shown_time(s)})" for s in untimed)
            return None, (
                f"cannot tell which snapshot of SuperLink {superlink} of host {host} is the newest: the time "
                f"restic lists for snapshot {said} is not a time (RFC 3339). Name the snapshot to restore "
                "with flower_offsite_backup_restore_snapshot (restic snapshots lists them)"
            )
    elif len(ordered) > 1:
        length = distinct_length([s["id"] for s in ordered])
        said = ", ".join(f"{s['id'][:length]} (taken {shown_time(s)})" for s in ordered)
        return None, (
            f"snapshot ID {which} is ambiguous: {len(ordered)} snapshots of host {host} start with it: "
            f"{said}. Give more of its digits in flower_offsite_backup_restore_snapshot"
        )
    chosen = ordered[-1]
    return {**chosen, "short_id": chosen["id"][:8]}, ""


def machines_of(snapshot: dict) -> list[str]:
    """The machine tags a snapshot carries (none: taken before snapshots named their machine)."""
    return [t for t in snapshot.get("tags") or [] if isinstance(t, str) and t.startswith(MACHINE_TAG)]


def taken_elsewhere(chosen: dict, snapshots: list[dict], mine: str) -> str:
    """Why installing CHOSEN (one of SNAPSHOTS, this SuperLink's under the host's name) would
    make this machine back up in another's place, or "": the snapshot was taken by another
    machine, or by one it cannot name (before snapshots carried their machine), or another
    machine backed up under the name after it. Once restored, this machine backs up under that
    name too; a machine that still does is told apart only by its tag (other_machines)."""
    problems = []
    machines = machines_of(chosen)
    if mine not in machines:
        who = machines[0] if machines else "a machine it does not name (taken before snapshots carried one)"
        problems.append(f"snapshot {chosen['id'][:8]} ({shown_time(chosen)}) was taken by {who}, not this one ({mine})")
    after = other_machines(snapshots, mine, listing_order(chosen)[1])
    newer = [s for s in after if s["id"] != chosen["id"]]
    if newer:
        newest = newer[0]
        problems.append(
            f"{machines_of(newest)[0]} backed up under the same name after it "
            f"(snapshot {newest['id'][:8]}, {shown_time(newest)})"
        )
    return "; ".join(problems)


def cmd_snapshots(config: dict, host: str, which: str | None = None) -> dict:
    """The host's snapshots of this SuperLink (by name; those from before snapshots named their
    SuperLink too), and of its others, each oldest first (listing_order); with WHICH, also the
    one restore installs (choose_snapshot), or refused saying why there is none."""
    name = superlink_name(config)
    listed = restic(config, "snapshots", "--json", "--host", host, "--tag", TAG, timeout=600)
    if listed.returncode != 0:
        raise Refused(f"cannot list the snapshots of {host}: {restic_error(listed)}")
    every = sorted(read_listing(listed.stdout), key=listing_order)
    answer: dict[str, Any] = {
        "snapshots": [s for s in every if of_superlink(s, name)],
        "others": [s for s in every if not of_superlink(s, name)],
    }
    if which is not None:
        chosen, why = choose_snapshot(answer, which, host, name, config["repository"])
        if chosen is None:
            raise Refused(why)
        answer["chosen"] = chosen
        answer["taken_elsewhere"] = taken_elsewhere(chosen, answer["snapshots"], machine_tag(config))
    return answer


# What a snapshot of ours holds: one database copy and its manifest, in the
# backup directory it was taken from, and the directories above them.
MANIFEST_MAX_BYTES = 1 << 20
BACKUP_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,200}\.db\Z")
# Room left on the staging filesystem after a download.
STAGING_SPARE_BYTES = 64 << 20


def fetch_plan(listing: str, snapshot: str) -> tuple[dict, dict]:
    """The database copy and manifest to download, from `restic ls --json SNAPSHOT`:
    ({path, size} of the .db, of the .json). Refused, naming the entry, unless the snapshot
    holds exactly those two regular files side by side (same stem, a manifest under
    MANIFEST_MAX_BYTES) and directories: never a link, FIFO, device or anything else."""
    files, other = [], []
    # "\n" only: Go's JSON leaves U+0085 and U+2028 in a name unescaped, which splitlines() splits at.
    for line in listing.split("\n"):
        if not line.strip():
            continue
        try:
            node = json.loads(line)
        except ValueError:
            raise Refused(f"snapshot {snapshot[:8]}: restic ls gave a line that is not JSON") from None
        if isinstance(node, dict) and node.get("struct_type") == "snapshot":
            continue
        if not isinstance(node, dict) or not isinstance(node.get("path"), str):
            raise Refused(f"snapshot {snapshot[:8]}: restic ls gave an entry without a path: {line[:120]}")
        kind, path = node.get("type"), node["path"]
        if kind == "file":
            files.append(node)
        elif kind != "dir":
            other.append(f"{path} ({kind})")
    if other:
        raise Refused(f"snapshot {snapshot[:8]} holds what a backup never does: {', '.join(sorted(other)[:5])}")
    dbs = [f for f in files if f["path"].endswith(".db")]
    if len(dbs) != 1:
        raise Refused(f"snapshot {snapshot[:8]} holds {len(dbs)} database copies, not one")
    db = dbs[0]
    if not BACKUP_NAME_RE.match(Path(db["path"]).name):
        raise Refused(f"snapshot {snapshot[:8]}: {json.dumps(Path(db['path']).name)} is not a backup's name")
    want = str(Path(db["path"]).with_suffix(".json"))
    manifests = [f for f in files if f["path"] == want]
    extra = sorted(f["path"] for f in files if f is not db and f["path"] != want)
    if extra:
        raise Refused(f"snapshot {snapshot[:8]} holds files besides its backup: {', '.join(extra[:5])}")
    if not manifests:
        raise Refused(f"snapshot {snapshot[:8]} has no manifest beside {Path(db['path']).name}")
    manifest = manifests[0]
    for node in (db, manifest):
        size = node.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise Refused(f"snapshot {snapshot[:8]}: {node['path']} has no size")
    if manifest["size"] > MANIFEST_MAX_BYTES:
        raise Refused(f"snapshot {snapshot[:8]}: its manifest is {manifest['size']} bytes, not a manifest")
    return {"path": db["path"], "size": db["size"]}, {"path": manifest["path"], "size": manifest["size"]}


def dump_to(config: dict, snapshot: str, node: dict, dest: Path) -> None:
    """restic dump of one file of SNAPSHOT into DEST (created, never through a link), refused
    when restic sends more than the listing said it holds."""
    env, argv = restic_command(config, "dump", snapshot, node["path"])
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with (
        os.fdopen(fd, "wb") as out,
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc,
    ):
        written = 0
        while chunk := proc.stdout.read(1 << 20):  # type: ignore[union-attr]
            written += len(chunk)
            if written > node["size"]:
                proc.kill()
                raise Refused(f"snapshot {snapshot[:8]}: {node['path']} is larger than its listing says")
            out.write(chunk)
        error = proc.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
        if proc.wait(timeout=3600) != 0:
            said = restic_error(subprocess.CompletedProcess(argv, proc.returncode, "", error))
            raise Refused(f"snapshot {snapshot[:8]} cannot be read back from the repository: {said}")
    if written != node["size"]:
        raise Refused(f"snapshot {snapshot[:8]}: {node['path']} came back with {written} bytes, not {node['size']}")


def install_backup(db: Path, backup_dir: Path) -> None:
    """Copy DB and its manifest into BACKUP_DIR, manifest first, as backups are written: each
    into a new file (never through a link), 0600, then renamed into place. A failure (a full
    disk) removes what it wrote, so no half backup is left behind."""
    written: list[Path] = []
    try:
        for source in (db.with_suffix(".json"), db):
            tmp = backup_dir / f".{source.name}.partial"
            tmp.unlink(missing_ok=True)
            written.append(tmp)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
            tmp.rename(backup_dir / source.name)
            written[-1] = backup_dir / source.name
    except OSError as err:
        for path in written:
            path.unlink(missing_ok=True)
        raise Refused(f"cannot install the backup into {backup_dir}: {err}; nothing was left there") from None


def cmd_fetch(config: dict, snapshot: str) -> dict:
    """Download a snapshot's backup (only its database copy and manifest, regular files of the
    sizes listed, into a private staging directory), check it and install it as a local backup
    (never over another file)."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", snapshot):
        raise Refused(f"{snapshot!r} is not a snapshot ID")
    staging = Path(config["staging_dir"]) / "restore"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    try:
        listed = restic(config, "ls", "--json", snapshot, timeout=600)
        if listed.returncode != 0:
            raise Refused(f"snapshot {snapshot[:8]} cannot be read back from the repository: {restic_error(listed)}")
        db_node, manifest_node = fetch_plan(listed.stdout, snapshot)
        free = shutil.disk_usage(staging).free
        if db_node["size"] + manifest_node["size"] + STAGING_SPARE_BYTES > free:
            raise Refused(
                f"snapshot {snapshot[:8]}'s database copy is {db_node['size']} bytes; {staging} has {free} free"
            )
        db = staging / Path(db_node["path"]).name
        dump_to(config, snapshot, manifest_node, db.with_suffix(".json"))
        dump_to(config, snapshot, db_node, db)
        try:
            manifest = json.loads(db.with_suffix(".json").read_text())
            if not isinstance(manifest, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as err:
            raise Refused(f"snapshot {snapshot[:8]} has no readable manifest beside {db.name}: {err}") from None
        try:
            facts = describe(db)
        except sqlite3.Error as err:
            raise Refused(f"snapshot {snapshot[:8]}: {db.name} is not a SQLite database ({err})") from None
        problems = []
        if facts["sha256"] != manifest.get("sha256"):
            want = str(manifest.get("sha256"))[:16]
            problems.append(f"SHA-256 {facts['sha256'][:16]}... is not the manifest's {want}...")
        if facts["integrity"] != "ok":
            problems.append(f"integrity_check: {facts['integrity'][:300]}")
        if facts["runs"] != manifest.get("runs"):
            problems.append(f"it holds {facts['runs']} runs, its manifest says {manifest.get('runs')}")
        if problems:
            raise Refused(f"snapshot {snapshot[:8]} is damaged: " + "; ".join(problems))
        backup_dir = Path(config["backup_dir"])
        backup_dir.mkdir(mode=0o700, exist_ok=True)
        local = backup_dir / db.name
        installed = not local.exists()
        if local.exists():
            try:
                same = describe(local)["sha256"] == facts["sha256"]
            except sqlite3.Error:
                same = False
            if not same:
                raise Refused(f"{local} exists and is another backup than snapshot {snapshot[:8]}'s; move it away")
        elif local.with_suffix(".json").exists() or local.with_suffix(".json").is_symlink():
            raise Refused(f"{local.with_suffix('.json')} exists without its backup; move it away")
        else:
            install_backup(db, backup_dir)
        # What it would replace: restore.yml refuses a database with runs unless told.
        try:
            current = describe(Path(config["database"]))["runs"]
        except (OSError, sqlite3.Error):
            current = -1
        return {
            "backup": str(local),
            "manifest": manifest,
            "runs": facts["runs"],
            "sha256": facts["sha256"],
            "snapshot": snapshot,
            "current_runs": current,
            "installed": installed,
        }
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str]) -> int:
    # command: (arguments, reads the repository from stdin)
    commands = {"backup": (1, False), "check": (1, False), "maintain": (1, False), "restic": (1, False)}
    commands |= {"probe": (0, True), "snapshots": (1, True), "fetch": (1, True)}
    if len(argv) < 2 or argv[1] not in commands or len(argv) < 2 + commands[argv[1]][0]:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[1], argv[2:]
    os.umask(0o077)
    # Every message leaves through here: restic's words and ours, with the
    # repository's credentials hidden (redact) once its address is known.
    repository = ""
    try:
        if command == "restic":
            config = load(args[0])
            repository = config["repository"]
            result = restic(config, *args[1:])
            sys.stdout.write(redact(result.stdout, repository))
            sys.stderr.write(redact(result.stderr, repository))
            return result.returncode
        if commands[command][1]:
            with given_repository() as config:
                repository = config.get("repository") or ""
                answer = {"probe": cmd_probe, "snapshots": cmd_snapshots, "fetch": cmd_fetch}[command](config, *args)
        else:
            config = load(args[0])
            repository = config["repository"]
            answer = {"backup": cmd_backup, "check": cmd_check, "maintain": cmd_maintain}[command](config)
    except (Refused, OSError, ValueError, KeyError, sqlite3.Error, subprocess.TimeoutExpired) as err:
        said = redact(str(err), repository)
        print(json.dumps({"failed": True, "msg": said}))
        print(f"flower-offsite-backup {command}: {said}", file=sys.stderr)
        return 1
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
