# The SuperLink's metrics for node_exporter's textfile collector, written by a
# timer (flower_superlink role, tasks/metrics.yml):
#   superlink_metrics.py collect CONFIG_JSON
#   superlink_metrics.py read-database DATABASE   (run as the database's owner)
#   superlink_metrics.py check-database DATABASE  (likewise)
#
# Flower exposes no metrics. This reads what Flower itself keeps and says:
# - the runs and SuperNodes in its SQLite database, read-only, by a child
#   process running as the database's owner (Flower's uid), so a -wal or -shm
#   file SQLite may create belongs to Flower, never to root;
# - whether it answers a real ListRuns through the Control API, asked exactly
#   as the deploy's health gate asks it (superlink_control.py beside this file);
# - the units' state from systemd, the deployment record, the state
#   filesystem's free space;
# - once an hour, SQLite's own PRAGMA quick_check of the database, read-only
#   and as its owner: damage that reads of the run table alone may never
#   touch. When it last ran is read back from the file this writes.
# Standard library only; prometheus_textfile.py beside this file renders and
# writes the file atomically.
from __future__ import annotations

import calendar
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from prometheus_textfile import Family, render, samples_of, write_atomically

RUN_STATUSES = ("pending", "starting", "running", "finished")
SUB_STATUSES = ("completed", "failed", "stopped")
PROBE_TIMEOUT = 20
READ_TIMEOUT = 30
# quick_check reads every page: hourly, with more time than a read.
INTEGRITY_EVERY = 3600
CHECK_TIMEOUT = 60


# --- the database ---------------------------------------------------------------


def unset(value: object) -> bool:
    """Flower up to 1.2x writes "" for a time not reached yet; later releases NULL."""
    return value is None or value == ""


def run_status(starting_at: object, running_at: object, finished_at: object, sub_status: object) -> str:
    """A run's status as Flower derives it from its timestamps (its
    linkstate's get_run_status): the last one reached, and for a finished run
    its sub-status."""
    if not unset(finished_at):
        return f"finished:{sub_status or ''}"
    if not unset(running_at):
        return "running"
    if not unset(starting_at):
        return "starting"
    return "pending"


def node_status(status: object, online_until: object, now: float) -> str:
    """A SuperNode's status as Flower would report it now. Up to 1.22 a node
    has no status column: online while its heartbeat is valid (online_until),
    its row gone once deleted. From 1.23 Flower keeps a status (registered,
    online, offline, unregistered) but turns "online" into "offline" only
    when something next reads the node, so an expired heartbeat counts as
    offline here already."""
    alive = isinstance(online_until, (int, float)) and online_until > now
    if status is None:
        return "online" if alive else "offline"
    if status == "online":
        return "online" if alive else "offline"
    return str(status)


def columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def read_database(database: str, now: float | None = None) -> dict[str, object]:
    """Counts of runs by status and of SuperNodes, from one consistent read.

    Two shapes across the releases: up to the 1.3x releases the run table
    holds the status timestamps; later ones keep them in the task table,
    joined through run.primary_task_id."""
    now = time.time() if now is None else now
    uri = f"file:{quote(database)}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)
    try:
        db.execute("BEGIN")
        run_columns = columns(db, "run")
        if not run_columns:
            raise ValueError(f"{database} has no run table: not a SuperLink database")
        if "finished_at" in run_columns:
            rows = db.execute("SELECT starting_at, running_at, finished_at, sub_status FROM run").fetchall()
        elif "primary_task_id" in run_columns and "finished_at" in columns(db, "task"):
            rows = db.execute(
                "SELECT t.starting_at, t.running_at, t.finished_at, t.sub_status"
                " FROM run r LEFT JOIN task t ON t.task_id = r.primary_task_id"
            ).fetchall()
        else:
            raise ValueError(f"{database}: no run status columns this collector knows")
        runs: dict[str, int] = {}
        for row in rows:
            status = run_status(*row)
            runs[status] = runs.get(status, 0) + 1
        nodes = {"online": 0, "offline": 0, "registered": 0}
        node_columns = columns(db, "node")
        if node_columns:
            has_status = "status" in node_columns
            for status, online_until in db.execute(
                f"SELECT {'status' if has_status else 'NULL'}, online_until FROM node"
            ):
                kind = node_status(status, online_until, now)
                if kind in nodes:
                    nodes[kind] += 1
        db.execute("COMMIT")
    finally:
        db.close()
    return {"runs": runs, "nodes": nodes}


def check_database(database: str) -> str:
    """SQLite's PRAGMA quick_check of the database, read-only: "ok", or the
    damage it found. A database that cannot be opened or is locked raises
    (sqlite3.OperationalError): that is no finding either way."""
    uri = f"file:{quote(database)}?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)
    try:
        return "\n".join(str(row[0]) for row in db.execute("PRAGMA quick_check(20)"))
    except sqlite3.OperationalError:
        raise
    except sqlite3.DatabaseError as err:  # "malformed", "not a database": damage found
        return str(err)
    finally:
        db.close()


def as_owner(command: str, database: str, timeout: float) -> dict[str, object]:
    """This script's COMMAND on DATABASE in a child process running as the
    owner of the state directory (Flower's uid), with no supplementary groups."""
    owner = os.stat(os.path.dirname(database) or ".")
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), command, database],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        user=owner.st_uid,
        group=owner.st_gid,
        extra_groups=[],
    )
    if result.returncode:
        raise RuntimeError((result.stderr or result.stdout).strip()[-500:])
    found = json.loads(result.stdout)
    if found.pop("reader_uid", None) != owner.st_uid:
        raise RuntimeError(f"the database was not read as its owner (uid {owner.st_uid})")
    return found


def read_database_as_owner(database: str) -> dict[str, object]:
    """read_database() as the database's owner."""
    return as_owner("read-database", database, READ_TIMEOUT)


def last_integrity_check(metrics_file: str) -> tuple[float, int] | None:
    """When the last quick_check ran and whether it found the database sound,
    from the metrics this collector wrote last time; None when never."""
    try:
        samples = samples_of(Path(metrics_file).read_text(encoding="utf-8"))
        when = float(samples["flower_superlink_database_integrity_check_timestamp_seconds"][0][1])
        sound = int(float(samples["flower_superlink_database_integrity_ok"][0][1]))
    except (OSError, ValueError, KeyError, IndexError):
        return None
    return (when, sound) if sound in (0, 1) else None


def integrity(config: dict, now: float) -> tuple[float, int] | None:
    """The database's last integrity finding, checking again when the last
    one is INTEGRITY_EVERY old (or from the future: the clock went back)."""
    last = last_integrity_check(config["metrics_file"])
    if last is not None and 0 <= now - last[0] < INTEGRITY_EVERY:
        return last
    try:
        found = str(as_owner("check-database", config["database"], CHECK_TIMEOUT)["quick_check"])
    except (OSError, RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired) as err:
        print(f"database not checked: {err}", file=sys.stderr)
        return last
    if found != "ok":
        print(f"database damaged, PRAGMA quick_check says: {found}", file=sys.stderr)
    return (round(now, 3), int(found == "ok"))


# --- systemd, the probe, the record ---------------------------------------------


def unit_state(unit: str) -> dict[str, str]:
    """systemd's view of the unit; {} when systemd cannot be asked."""
    try:
        out = subprocess.run(
            ["systemctl", "show", "--property", "NRestarts,ActiveState,LoadState", unit],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def probe(config: dict) -> tuple[bool, float, int | None]:
    """The health gate's question, once: does ListRuns answer?"""
    script = Path(config["control_script"]).read_text()
    argv = ["runs", *config["control_connection"]]
    if config.get("probe_on_host"):
        command = [sys.executable, config["control_script"], *argv]
    else:
        command = ["docker", "exec", config["container"], "python", "-c", script, *argv]
    started = time.monotonic()
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=PROBE_TIMEOUT)
    except (subprocess.TimeoutExpired, OSError):
        return False, time.monotonic() - started, None
    elapsed = time.monotonic() - started
    if result.returncode:
        return False, elapsed, None
    try:
        return True, elapsed, int(json.loads(result.stdout)["runs"])
    except (ValueError, KeyError, TypeError):
        return False, elapsed, None


def read_record(path: str) -> dict:
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    current = record.get("current") if isinstance(record, dict) else None
    return current if isinstance(current, dict) else {}


def timestamp(text: object) -> float | None:
    """The record's UTC time (…Z) as seconds since the epoch."""
    try:
        return float(calendar.timegm(time.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ")))
    except (ValueError, OverflowError):
        return None


def file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# --- the metrics ----------------------------------------------------------------


def families(
    config: dict,
    database: dict | None,
    answered: tuple[bool, float, int | None],
    units: dict,
    checked: tuple[float, int] | None = None,
) -> list:
    up, probe_seconds, listed = answered
    fams = []

    def family(name: str, kind: str, help_text: str) -> Family:
        fams.append(Family(f"flower_superlink_{name}", kind, help_text))
        return fams[-1]

    family("up", "gauge", "1 when the SuperLink answered a ListRuns through its Control API.").add(int(up))
    family("probe_duration_seconds", "gauge", "How long the ListRuns probe took.").add(round(probe_seconds, 3))
    listed_family = family("listed_runs", "gauge", "Runs the SuperLink listed in the last probe.")
    if listed is not None:
        listed_family.add(listed)
    record = read_record(config["record"])
    family("info", "gauge", "The deployed release and image (always 1).").add(
        1,
        release=str(record.get("version", config.get("release", ""))),
        image_id=str(record.get("image_id", "")),
    )
    deployed = family("last_deploy_timestamp_seconds", "gauge", "When the running deployment was recorded.")
    if timestamp(record.get("deployed_at")) is not None:
        deployed.add(timestamp(record.get("deployed_at")))

    runs = family("runs", "gauge", "Runs in the database by status (finished ones by sub-status).")
    submitted = family("runs_submitted_total", "counter", "Runs in the database, whatever their status.")
    finished = family("runs_finished_total", "counter", "Runs that finished, by sub-status.")
    supernodes = family(
        "supernodes",
        "gauge",
        "SuperNodes by status: online (heartbeat valid), offline, registered (1.23+: never connected yet).",
    )
    if database is not None:
        counts = dict(database["runs"])
        for status in RUN_STATUSES[:3]:
            runs.add(counts.pop(status, 0), status=status)
        for sub in SUB_STATUSES:
            runs.add(counts.pop(f"finished:{sub}", 0), status=f"finished:{sub}")
        for other, count in sorted(counts.items()):  # a sub-status Flower adds later
            runs.add(count, status=other)
        all_finished = {k: v for k, v in database["runs"].items() if k.startswith("finished:")}
        submitted.add(sum(database["runs"].values()))
        for sub in SUB_STATUSES:
            finished.add(all_finished.get(f"finished:{sub}", 0), sub_status=sub)
        for status, count in sorted(all_finished.items()):
            if status.split(":", 1)[1] not in SUB_STATUSES:
                finished.add(count, sub_status=status.split(":", 1)[1])
        for status, count in database["nodes"].items():
            supernodes.add(count, status=status)

    db_path = config["database"]
    family("database_size_bytes", "gauge", "Size of the SQLite database file.").add(file_size(db_path))
    family("database_wal_size_bytes", "gauge", "Size of its write-ahead log (0 when none).").add(
        file_size(db_path + "-wal")
    )
    try:
        usage = shutil.disk_usage(config["state_dir"])
        family("state_filesystem_avail_bytes", "gauge", "Free space for Flower on the state filesystem.").add(
            usage.free
        )
        family("state_filesystem_size_bytes", "gauge", "Size of the state filesystem.").add(usage.total)
    except OSError:
        pass

    restarts = family(
        "unit_restarts_total", "counter", "Automatic restarts of the unit by systemd since its last start."
    )
    active = family("unit_active", "gauge", "1 when the unit is active.")
    for unit, state in units.items():
        if state.get("LoadState") != "loaded":
            continue
        with contextlib.suppress(ValueError):
            restarts.add(int(state.get("NRestarts") or 0), unit=unit)
        active.add(int(state.get("ActiveState") == "active"), unit=unit)

    sound = family("database_integrity_ok", "gauge", "1 when SQLite's quick_check (hourly) found the database sound.")
    checked_at = family(
        "database_integrity_check_timestamp_seconds", "gauge", "When quick_check last ran on the database."
    )
    if checked is not None:
        checked_at.add(checked[0])
        sound.add(checked[1])

    family("metrics_database_read_success", "gauge", "1 when this collection read the database.").add(
        int(database is not None)
    )
    family("metrics_collected_timestamp_seconds", "gauge", "When these metrics were collected.").add(
        round(time.time(), 3)
    )
    return fams


def collect(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    # First the probe: answering ListRuns, Flower marks runs whose heartbeat
    # expired as failed (it does so only when asked), so the database read
    # next sees the statuses `flwr ls` would show.
    answered = probe(config)
    try:
        database = read_database_as_owner(config["database"])
        failure = ""
    except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as err:
        database, failure = None, str(err)
    checked = integrity(config, time.time())
    units = {unit: unit_state(unit) for unit in config["units"]}
    text = render(families(config, database, answered, units, checked), {"service": config["service"]})
    write_atomically(config["metrics_file"], text)
    if failure:
        # The journal says why the database metrics are missing.
        print(f"database not read: {failure}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["read-database"] and len(sys.argv) == 3:
        try:
            print(json.dumps({**read_database(sys.argv[2]), "reader_uid": os.geteuid()}))
        except (sqlite3.Error, ValueError) as err:
            sys.exit(f"{sys.argv[2]}: {err}")
    elif sys.argv[1:2] == ["check-database"] and len(sys.argv) == 3:
        try:
            print(json.dumps({"quick_check": check_database(sys.argv[2]), "reader_uid": os.geteuid()}))
        except sqlite3.Error as err:
            sys.exit(f"{sys.argv[2]}: {err}")
    elif sys.argv[1:2] == ["collect"] and len(sys.argv) == 3:
        sys.exit(collect(sys.argv[2]))
    else:
        sys.exit("usage: superlink_metrics.py collect CONFIG_JSON | read-database DATABASE | check-database DATABASE")
