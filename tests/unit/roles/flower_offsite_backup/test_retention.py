"""The off-host repository's retention (role flower_offsite_backup), over a simulated year.

The agent (roles/flower_offsite_backup/files/flower_offsite_backup.py) is
imported as the host runs it, beside the collection's state library. The
rows at the top need no restic: the command lines the agent builds. The rest
runs real restic (`restic` on PATH; .ci/prepare-machine installs it) on a
repository in tmp_path: snapshots of small files named as the agent names its
backups, taken with the agent's own `restic backup` arguments plus `--time`,
across thirteen months; then the agent's own retention (retention(): claim
the snapshots from before they named their SuperLink, then the forget argv of
forget_args()) for each SuperLink, through the agent's restic(), and the
check unit's command (cmd_check: prune, then check). What remains must be
exactly what the keep rules name, computed here independently per host and
set of tags, and the prune must give the removed snapshots' space back. Each
snapshot also names the machine that took it (machine:, from a machine ID
file in tmp_path: no test reads this machine's /etc/machine-id), and sl1 is
replaced in May by another machine under the same name: each machine's
snapshots, and the old ones claimed without a machine tag, age out apart.

Restore's side of the agent sits here too: which snapshot it chooses
(choose_snapshot: latest by the instant restic recorded, whatever offset it
is written in, to the nanosecond; an ID prefix only when one snapshot has it),
the listing it refuses to read, and that nothing it prints (the tasks' JSON,
the journal, the restic passthrough, the metrics) carries a password written
in the repository's address. One row per case; one test with real restic
writing snapshots in other UTC offsets.

restic's rule (forget --help, 0.14): each --keep-<period> N keeps the newest
snapshot of each of the N most recent periods that have snapshots, in each
group. Every group below has more periods than any of its counts, so the
result is the same with restic 0.16+, which also keeps a group's oldest
snapshot while a count is not used up.

The timeline costs one restic process per snapshot: a year of hourly backups
would be 8760, so it is sparse; 85 restic runs in all. Hourly for the last 27
hours, daily for the week before, a few per week and month back to 13 months;
each rule meets its boundary (the 25th hour, the 8th day, the 5th week, the
13th month are removed), periods hold an older snapshot that must go, and
months and ISO weeks are cut where they differ (a week that spans May and June).

What a restic process costs is not the backup. Opening the repository derives
the key from the password with scrypt at the strength `restic init`
calibrated (half a second of CPU; init's calibration takes seconds), and
every lock waits 200 ms before it checks for other locks (restic 0.14,
internal/restic/lock.go). So the repository is written here in restic's
documented format, with a key whose scrypt parameters cost nothing
(create_repository(); restic reads it back first), and the snapshots are
sent by a few processes at once (Repository.send). Not into one repository:
restic 0.14 retries loading a lock file that another process has just
removed, ten times over about 40 s (internal/backend/backend_retry.go),
before it ignores it. Each sender has a copy of the empty repository (same
config and key) and its files, all named by their content, are put together
afterwards: what one repository written by those processes at once holds.
restic check then reads every pack of the result back (cmd_check below).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter import flower_offsite_backup as offsite
from conftest import ROOT
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

# On the host the agent imports flower_superlink_state, prometheus_textfile and
# restic_redaction installed beside it.
sys.path.append(str(ROOT / "plugins" / "module_utils"))
sys.path.append(str(ROOT / "plugins" / "plugin_utils"))
_spec = importlib.util.spec_from_file_location(
    "flower_offsite_backup_agent", ROOT / "roles" / "flower_offsite_backup" / "files" / "flower_offsite_backup.py"
)
assert _spec and _spec.loader
agent = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(agent)

DEFAULTS = {"hourly": 24, "daily": 7, "weekly": 4, "monthly": 12}
NONE = dict.fromkeys(DEFAULTS, 0)
TAG_FILTER = "flower-superlink,superlink:"


def keep_args(keep: dict[str, int]) -> list[str]:
    """The --keep-* arguments as the role computes them (vars/main.yml: filter restic_forget_args)."""
    return offsite.forget_args({f"flower_offsite_backup_keep_{p}": n for p, n in keep.items()})


# The simulated machines' /etc/machine-id (fixed: each is a machine of the tests, never this one).
SL1_FIRST_MACHINE = "aea14e8aa67a45c7149cc3834a9cfda4"  # sl1 until it was replaced (REPLACED, below)
SL1_MACHINE = "ff2d84ad2e23b17db11727301e27b553"  # the machine that replaced it, under the same name
SL2_MACHINE = "2ed2ec85407cee21e1a973074fc681db"
SL3_MACHINE = "4fb05ec9a1901808b4abc6e746b767dd"
# No test reads this machine's own /etc/machine-id: an agent.json here names a machine ID file in
# tmp_path (write_machine_id), or this one, which does not exist (machine_tag refuses it).
NO_MACHINE_ID = "/nonexistent/flower-offsite-backup-tests/machine-id"


def write_machine_id(folder: Path, machine_id: str) -> str:
    """A machine's /etc/machine-id in FOLDER, as systemd writes it (32 hex digits, a newline); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"machine-id-{machine_id}"
    path.write_text(machine_id + "\n")
    return str(path)


def tag_of(machine_id: str) -> str:
    """The tag of the machine whose /etc/machine-id holds MACHINE_ID, computed here: machine: and
    the first 16 hex digits of its SHA-256."""
    return "machine:" + hashlib.sha256(machine_id.encode()).hexdigest()[:16]


def settings(
    host: str, superlink: str | None, keep: dict[str, int] = DEFAULTS, machine_id_file: str = NO_MACHINE_ID
) -> dict[str, Any]:
    """agent.json as the role writes it (vars/main.yml), paths as the defaults have them; the
    machine's ID from MACHINE_ID_FILE (write_machine_id) rather than /etc/machine-id."""
    config = {
        "host": host,
        "database": "/var/lib/flower-superlink/state.db",
        "backup_dir": "/var/backups/flower-superlink",
        "lock": "/run/lock/flower-superlink.ansible-lock",
        "forget": keep_args(keep),
        "machine_id_file": machine_id_file,
    }
    if superlink is not None:
        config["superlink"] = superlink
    return config


# --- the command lines (no restic) ----------------------------------------------

KEEP_ROWS = [
    ("defaults", DEFAULTS, ["--keep-hourly", "24", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "12"]),
    ("no-hourly", {**DEFAULTS, "hourly": 0}, ["--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "12"]),
    ("no-weekly", {**DEFAULTS, "weekly": 0}, ["--keep-hourly", "24", "--keep-daily", "7", "--keep-monthly", "12"]),
    ("daily-monthly", {**NONE, "daily": 2, "monthly": 1}, ["--keep-daily", "2", "--keep-monthly", "1"]),
    ("hourly-only", {**NONE, "hourly": 1}, ["--keep-hourly", "1"]),
    ("weekly-only", {**NONE, "weekly": 5}, ["--keep-weekly", "5"]),
    ("monthly-only", {**NONE, "monthly": 120}, ["--keep-monthly", "120"]),
]


@pytest.mark.parametrize(("keep", "expected"), [r[1:] for r in KEEP_ROWS], ids=[r[0] for r in KEEP_ROWS])
def test_forget_args_per_keep_setting(keep: dict[str, int], expected: list[str]) -> None:
    # No --prune: the hourly forget is quick; the check unit prunes (cmd_check).
    head = ["forget", "--host", "sl1", "--tag", TAG_FILTER + "flower-superlink", "--group-by", "host,tags"]
    assert agent.forget_args(settings("sl1", "flower-superlink", keep)) == head + expected


NAME_ROWS = [
    # id, host, superlink (None: an agent.json from before the name), the tag filter
    ("defaults", "sl1", "flower-superlink", TAG_FILTER + "flower-superlink"),
    ("fqdn", "sl1.example.org", "flower-prod-2", TAG_FILTER + "flower-prod-2"),
    ("spaces", "host with spaces", "a b", TAG_FILTER + "a b"),
    ("dashes", "-starts-with-a-dash", "--group-by=paths", TAG_FILTER + "--group-by=paths"),
    ("shell", "h;rm -rf /", "$(reboot)", TAG_FILTER + "$(reboot)"),
    ("non-ascii", "höst", "sûperlink", TAG_FILTER + "sûperlink"),
    ("name-from-the-lock", "sl1", None, TAG_FILTER + "flower-superlink"),  # /run/lock/<unit>.ansible-lock
]


@pytest.mark.parametrize(("host", "superlink", "tags"), [r[1:] for r in NAME_ROWS], ids=[r[0] for r in NAME_ROWS])
def test_names_are_argv_elements(tmp_path: Path, host: str, superlink: str | None, tags: str) -> None:
    config = settings(host, superlink, machine_id_file=write_machine_id(tmp_path, SL1_MACHINE))
    # The forget names no machine: --group-by host,tags keeps each machine's snapshots apart.
    argv = agent.forget_args(config)
    assert argv[:7] == ["forget", "--host", host, "--tag", tags, "--group-by", "host,tags"]
    assert argv[7:] == keep_args(DEFAULTS)
    sent = agent.backup_args(config, [Path("/b/state-x-scheduled.db"), Path("/b/x y.json")])
    name = tags.removeprefix(TAG_FILTER)
    tagged = ["--tag", "flower-superlink", "--tag", "scheduled", "--tag", f"superlink:{name}"]
    tagged += ["--tag", tag_of(SL1_MACHINE)]
    assert sent == ["backup", "--json", "--host", host, *tagged, "/b/state-x-scheduled.db", "/b/x y.json"]


@pytest.mark.parametrize("name", ["a,b", "line\nbreak", "tab\there"])
def test_a_name_no_tag_can_carry_is_refused(name: str) -> None:
    with pytest.raises(agent.Refused, match="cannot name the SuperLink"):
        agent.forget_args(settings("sl1", name))


OLD = "/var/backups/flower-superlink/state-20250101T000500.123456Z-scheduled"
CLAIM_ROWS = [
    ("own-old-snapshot", ["flower-superlink", "scheduled"], [OLD + ".db", OLD + ".json"], True),
    ("already-named", ["flower-superlink", "scheduled", "superlink:flower-superlink"], [OLD + ".db"], False),
    ("another-superlinks", ["flower-superlink", "scheduled", "superlink:other"], [OLD + ".db"], False),
    ("another-directory", ["flower-superlink", "scheduled"], ["/srv/old/" + Path(OLD).name + ".db"], False),
    ("another-database", ["flower-superlink", "scheduled"], [OLD.replace("/state-", "/other-") + ".db"], False),
    ("not-scheduled", ["flower-superlink", "scheduled"], [OLD.replace("scheduled", "pre-upgrade") + ".db"], False),
    ("one-foreign-path", ["flower-superlink", "scheduled"], [OLD + ".db", "/etc/passwd"], False),
    ("operators-tags", ["flower-superlink"], [OLD + ".db"], False),
    ("no-paths", ["flower-superlink", "scheduled"], [], False),
]


@pytest.mark.parametrize(("tags", "paths", "claimed"), [r[1:] for r in CLAIM_ROWS], ids=[r[0] for r in CLAIM_ROWS])
def test_which_old_snapshots_are_claimed(tags: list[str], paths: list[str], claimed: bool) -> None:
    snapshot = {"id": "f" * 64, "tags": tags, "paths": paths}
    assert agent.unclaimed(settings("sl1", "flower-superlink"), [snapshot]) == (["f" * 64] if claimed else [])


def test_a_backup_is_sent_then_retention_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cmd_backup's calls to restic, in order: the backup, the listing for old snapshots to claim, their
    tag, the forget (and no prune); a failing forget fails the backup with the snapshot named."""
    old = {"id": "a" * 64, "tags": ["flower-superlink", "scheduled"], "paths": [OLD + ".db", OLD + ".json"]}
    answers = {
        "backup": json.dumps({"message_type": "summary", "snapshot_id": "b" * 64}),
        "snapshots": json.dumps([old]),
        "tag": "",
        "forget": "",
    }
    calls: list[tuple[str, ...]] = []

    def restic(config: dict[str, Any], *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
        calls.append(args)
        failed = args[0] == "forget" and config.get("fail_forget")
        return subprocess.CompletedProcess(args, int(bool(failed)), answers[args[0]], "forget broke" * bool(failed))

    db = "/var/backups/flower-superlink/state-20250618T102500.000000Z-scheduled.db"
    monkeypatch.setattr(agent, "restic", restic)
    monkeypatch.setattr(agent, "local_backup", lambda config: {"path": db, "size": 1, "runs": 2})
    config = {
        **settings("sl1", "flower-superlink", machine_id_file=write_machine_id(tmp_path, SL1_MACHINE)),
        "cache_dir": str(tmp_path),
        "metrics_file": "",
    }
    assert agent.cmd_backup(config)["snapshot"] == "b" * 64
    assert calls == [
        tuple(agent.backup_args(config, [Path(db), Path(db).with_suffix(".json")])),
        ("snapshots", "--json", "--host", "sl1", "--tag", "flower-superlink"),
        ("tag", "--add", "superlink:flower-superlink", "a" * 64),
        tuple(agent.forget_args(config)),
    ]
    with pytest.raises(agent.Refused, match=r"backup bbbbbbbb stored, but the repository's retention failed: forget"):
        agent.cmd_backup({**config, "fail_forget": True})


# restic 0.14's words when another host's backup holds the repository (it does not wait for a lock).
LOCKED = (
    "unable to create lock in backend: repository is already locked by PID 6535 on sl-2 by root (UID 0, GID 0)\n"
    "lock was created at 2025-06-18 10:02:11 (1.9s ago)\nstorage ID 5445deb0\n"
    "the `unlock` command can be used to remove stale locks\n"
)
LOCKED_SAID = "repository is already locked by PID 6535 on sl-2 by root (UID 0, GID 0) / lock was created at"
DAMAGED = "Fatal: repository contains errors\n"
TIMED_OUT = subprocess.TimeoutExpired(["restic", "prune"], 3600)
PRUNE_FAILED, CHECK_FAILED = "restic prune of the repository failed: ", "restic check of the repository failed: "
CHECK_ROWS = [
    # id, what prune and check do (None: pass; str: fail with that stderr; an exception: raised),
    # the error (a regular expression; None: none), prune_success, check_success
    ("both-pass", None, None, None, 1, 1),
    ("prune-locked", LOCKED, None, PRUNE_FAILED + "unable to create lock in backend: ", 0, 1),
    ("prune-times-out", TIMED_OUT, None, PRUNE_FAILED + "it did not finish within 3600 s", 0, 1),
    ("check-fails", None, DAMAGED, CHECK_FAILED + "Fatal: repository contains errors", 1, 0),
    ("both-fail", LOCKED, DAMAGED, PRUNE_FAILED + "unable to create lock .*; " + CHECK_FAILED + "Fatal: rep", 0, 0),
]


@pytest.mark.parametrize(
    ("prune", "check", "error", "prune_ok", "check_ok"), [r[1:] for r in CHECK_ROWS], ids=[r[0] for r in CHECK_ROWS]
)
def test_the_check_prunes_then_checks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    prune: str | Exception | None,
    check: str | None,
    error: str | None,
    prune_ok: int,
    check_ok: int,
) -> None:
    """cmd_check (the check unit): restic prune, then restic check, the check even when the prune
    failed; each failure in its own words, and each result in the state and the metrics."""
    calls: list[tuple[str, ...]] = []
    does = {"prune": prune, "check": check}

    def restic(config: dict[str, Any], *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
        calls.append(args)
        done = does[args[0]]
        if isinstance(done, Exception):
            raise done
        return subprocess.CompletedProcess(args, int(done is not None), "", done or "")

    monkeypatch.setattr(agent, "restic", restic)
    metrics_file = tmp_path / "flower_offsite_backup.prom"
    config = {**settings("sl1", "flower-superlink"), "cache_dir": str(tmp_path), "metrics_file": str(metrics_file)}
    config["check_read_data"] = "5%"
    (tmp_path / "state.json").write_text(json.dumps({"offsite": {"last_attempt_success": 1}}))
    if error is None:
        assert agent.cmd_check(config) == {"prune": "ok", "check": "ok"}
    else:
        with pytest.raises(agent.Refused, match=error) as refused:
            agent.cmd_check(config)
        if prune == LOCKED:
            assert LOCKED_SAID in str(refused.value)  # restic's own words, the last lines
    assert calls == [("prune",), ("check", "--read-data-subset=5%")]
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["offsite"] == {"last_attempt_success": 1}  # the backup's results are kept
    assert state["prune"]["prune_success"] == prune_ok
    assert state["check"]["check_success"] == check_ok
    assert state["prune"]["prune_timestamp_seconds"] <= state["check"]["check_timestamp_seconds"]
    samples = dict(line.rsplit(" ", 1) for line in metrics_file.read_text().splitlines() if line[:1] != "#")
    repository = 'flower_superlink_backup_repository_{}{{host="sl1"}}'
    assert samples[repository.format("prune_success")] == str(prune_ok)
    assert samples[repository.format("check_success")] == str(check_ok)
    assert samples[repository.format("prune_timestamp_seconds")] == str(state["prune"]["prune_timestamp_seconds"])
    assert samples['flower_superlink_backup_last_attempt_success{host="sl1",location="offsite"}'] == "1"


@pytest.mark.parametrize(
    ("answers", "runs", "ok"),
    [
        ([None], 1, True),
        ([LOCKED, None], 2, True),
        ([LOCKED] * 29 + [None], 30, True),
        ([LOCKED] * 30, 30, False),
        ([DAMAGED, None], 1, False),  # any other failure is reported at once
    ],
    ids=["free", "locked-once", "locked-until-the-last-try", "locked-throughout", "other-failure"],
)
def test_a_locked_repository_is_tried_again(
    monkeypatch: pytest.MonkeyPatch, answers: list[str | None], runs: int, ok: bool
) -> None:
    """Another host's backup or prune holds the lock: wait and try again, up to
    LOCK_TRIES times LOCK_PAUSE seconds; then fail with restic's words."""
    calls: list[tuple[str, ...]] = []
    pauses: list[float] = []

    def run_restic(config: dict[str, Any], *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
        answer = answers[len(calls)]
        calls.append(args)
        return subprocess.CompletedProcess(args, int(answer is not None), "", answer or "")

    monkeypatch.setattr(agent, "run_restic", run_restic)
    monkeypatch.setattr(agent.time, "sleep", pauses.append)
    done = agent.restic(settings("sl1", "flower-superlink"), "forget", "--host", "sl1")
    assert (done.returncode == 0) is ok
    assert len(calls) == runs and all(c == ("forget", "--host", "sl1") for c in calls)
    assert pauses == [agent.LOCK_PAUSE] * (runs - 1)
    assert agent.LOCK_TRIES * agent.LOCK_PAUSE == 300
    if not ok and answers[0] == LOCKED:
        assert "repository is already locked" in done.stderr


def test_the_check_reads_no_data_when_told_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []

    def restic(config: dict[str, Any], *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(agent, "restic", restic)
    config = {**settings("sl1", "flower-superlink"), "cache_dir": str(tmp_path), "metrics_file": ""}
    agent.cmd_check({**config, "check_read_data": ""})
    assert calls == [("prune",), ("check",)]


# --- restore's choice of snapshot (no restic) ---------------------------------------


def utc(text: str, nanos: int = 0) -> int:
    """The instant of a UTC time written "YYYY-MM-DD HH:MM:SS", in nanoseconds, plus NANOS."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()) * 10**9 + nanos


TIME_ROWS = [
    # id, restic's time, the instant (None: refused)
    ("utc-z", "2026-03-29T01:00:02Z", utc("2026-03-29 01:00:02")),
    ("lower-case-t-and-z", "2026-03-29t01:00:02z", utc("2026-03-29 01:00:02")),
    ("cet-nanoseconds", "2026-03-29T01:59:59.123456789+01:00", utc("2026-03-29 00:59:59", 123456789)),
    ("cest-one-digit", "2026-03-29T03:00:01.5+02:00", utc("2026-03-29 01:00:01", 500000000)),
    ("seven-digits", "2025-06-18T10:25:00.1234567Z", utc("2025-06-18 10:25:00", 123456700)),
    ("eight-digits", "2025-06-18T10:25:00.12345678Z", utc("2025-06-18 10:25:00", 123456780)),
    ("six-digits", "2025-06-18T10:25:00.000001Z", utc("2025-06-18 10:25:00", 1000)),
    ("one-nanosecond", "2025-06-18T10:25:00.000000001Z", utc("2025-06-18 10:25:00", 1)),
    ("negative-offset", "2025-11-02T01:30:00-05:00", utc("2025-11-02 06:30:00")),
    ("half-hour-offset", "2025-06-18T16:00:00+05:30", utc("2025-06-18 10:30:00")),
    ("quarter-hour-offset", "2025-06-18T16:15:00+05:45", utc("2025-06-18 10:30:00")),
    ("offset-crosses-the-year", "2025-12-31T23:30:00-01:00", utc("2026-01-01 00:30:00")),
    ("largest-offset", "2025-06-18T23:59:00+23:59", utc("2025-06-18 00:00:00")),
    ("minus-zero", "2025-06-18T10:00:00-00:00", utc("2025-06-18 10:00:00")),
    ("leap-day", "2024-02-29T12:00:00Z", utc("2024-02-29 12:00:00")),
    ("before-1970", "1969-12-31T23:59:59.999999999Z", -1),
    ("ten-digits", "2025-06-18T10:25:00.1234567890Z", None),
    ("empty-fraction", "2025-06-18T10:25:00.Z", None),
    ("no-offset", "2025-06-18T10:25:00", None),
    ("offset-without-colon", "2025-06-18T10:25:00+0100", None),
    ("offset-24-hours", "2025-06-18T10:00:00+24:00", None),
    ("offset-60-minutes", "2025-06-18T10:00:00+01:60", None),
    ("space-for-t", "2025-06-18 10:25:00Z", None),
    ("month-13", "2025-13-01T00:00:00Z", None),
    ("february-30", "2025-02-30T00:00:00Z", None),
    ("leap-second", "2016-12-31T23:59:60Z", None),
    ("year-zero", "0000-01-01T00:00:00Z", None),
    ("five-digit-year", "10000-01-01T00:00:00Z", None),
    ("other-digits", "\uff12\uff10\uff12\uff15-06-18T10:25:00Z", None),  # fullwidth 2025
    ("trailing-newline", "2025-06-18T10:25:00Z\n", None),
    ("words", "yesterday", None),
    ("empty", "", None),
    ("none", None, None),
    ("a-number", 1750242300, None),
]


@pytest.mark.parametrize(("text", "instant"), [r[1:] for r in TIME_ROWS], ids=[r[0] for r in TIME_ROWS])
def test_snapshot_times_are_read_to_the_nanosecond_whatever_their_offset(text: Any, instant: int | None) -> None:
    if instant is None:
        with pytest.raises(ValueError, match=r"not a time|no valid UTC offset|out of range|must be in"):
            agent.snapshot_instant(text)
    else:
        assert agent.snapshot_instant(text) == instant


def sid(label: str) -> str:
    """A snapshot ID: 64 hex digits, the label's first character repeated (or the label padded with 0)."""
    return (label * 64)[:64] if len(label) == 1 else label.ljust(64, "0")


def snap(label: str, when: Any, superlink: str = "flower-superlink") -> dict[str, Any]:
    snapshot = {"id": sid(label), "short_id": sid(label)[:8], "hostname": "sl1"}
    snapshot["tags"] = ["flower-superlink", "scheduled", f"superlink:{superlink}"]
    if when is not ...:
        snapshot["time"] = when
    return snapshot


REPOSITORY = "rest:https://backup:secret@store.example.org:8000/flower"
LATEST_ROWS = [
    # id, this SuperLink's snapshots (label, time), its other SuperLinks', the newest (label) or the refusal
    # Daylight saving ends: 02:30 CEST (00:30 UTC) is older than 02:10 CET (01:10 UTC).
    ("dst-ends", [("a", "2025-10-26T02:30:00+02:00"), ("b", "2025-10-26T02:10:00+01:00")], [], "b"),
    # Daylight saving starts: the hour 02:00-03:00 does not exist; 01:59:59.9 CET is before 03:00:01 CEST.
    ("dst-starts", [("b", "2026-03-29T03:00:01.5+02:00"), ("a", "2026-03-29T01:59:59.123456789+01:00")], [], "b"),
    ("zones-apart", [("a", "2025-06-18T12:00:00+02:00"), ("b", "2025-06-18T11:00:00Z")], [], "b"),
    ("west-of-utc", [("a", "2025-06-18T05:30:00-05:00"), ("b", "2025-06-18T10:00:00Z")], [], "a"),
    # As text "Z" sorts after ".": the whole second would be the newest.
    ("fraction-after-whole-second", [("a", "2025-06-18T10:00:00Z"), ("b", "2025-06-18T10:00:00.1Z")], [], "b"),
    # 100 ns and 150 ns past the second (finer than datetime); as text the shorter fraction sorts last.
    ("nanoseconds-apart", [("b", "2025-06-18T10:00:00.00000015Z"), ("a", "2025-06-18T10:00:00.0000001Z")], [], "b"),
    # The same instant in two offsets: the higher ID, whatever the listing's order.
    ("tie-by-id", [("b", "2025-06-18T10:00:00Z"), ("a", "2025-06-18T12:00:00+02:00")], [], "b"),
    ("tie-by-id-reversed", [("a", "2025-06-18T12:00:00+02:00"), ("b", "2025-06-18T10:00:00Z")], [], "b"),
    ("one-snapshot", [("c", "2025-06-18T10:00:00Z")], [], "c"),
    # Another SuperLink's newer snapshot is not this one's latest, even with a time that is no time.
    ("others-not-counted", [("a", "2025-06-18T10:00:00Z")], [("f", "2025-06-19T10:00:00Z"), ("e", "never")], "a"),
    (
        "time-is-words",
        [("a", "2025-06-18T10:00:00Z"), ("b", "yesterday")],
        [],
        r'snapshot bbbbbbbb \("yesterday"\) is not a time',
    ),
    ("time-missing", [("a", "2025-06-18T10:00:00Z"), ("b", ...)], [], r"snapshot bbbbbbbb \(null\) is not a time"),
    (
        "time-too-fine",
        [("c", "2025-06-18T10:00:00.1234567891Z")],
        [],
        r'cccccccc \("2025-06-18T10:00:00\.1234567891Z"\)',
    ),
    ("time-a-number", [("d", 1750242300), ("a", "2025-06-18T10:00:00Z")], [], r"snapshot dddddddd \(1750242300\)"),
    (
        "none",
        [],
        [("f", "2025-06-19T10:00:00Z")],
        r"holds no snapshot of host sl1 \(0 of SuperLink flower-superlink, 1 of",
    ),
]


def listed(mine: list[tuple[str, Any]], others: list[tuple[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {"snapshots": [snap(*s) for s in mine], "others": [snap(*s, superlink="flower-second") for s in others]}


@pytest.mark.parametrize(("mine", "others", "expected"), [r[1:] for r in LATEST_ROWS], ids=[r[0] for r in LATEST_ROWS])
def test_latest_is_the_newest_instant_and_never_a_guess(
    mine: list[tuple[str, Any]], others: list[tuple[str, Any]], expected: str
) -> None:
    chosen, why = agent.choose_snapshot(listed(mine, others), "latest", "sl1", "flower-superlink", REPOSITORY)
    if len(expected) == 1:
        assert why == "" and chosen is not None
        assert chosen["id"] == sid(expected) and chosen["short_id"] == sid(expected)[:8]
    else:
        assert chosen is None
        assert re.search(expected, why), why
        assert "secret" not in why


A, B = "abcd1234" + "0" * 56, "abcd1234" + "1" * 56
LATE = "abcd1234" + "1" * 55 + "2"  # B's first 63 digits
C, OTHER = "abcd5678" + "0" * 56, "ef" * 32
TIMES = {A: "2025-06-18T10:00:00Z", B: "2025-06-18T09:00:00+02:00", LATE: "2025-06-17T10:00:00Z", C: "bad"}
PREFIX_ROWS = [
    # id, this SuperLink's IDs, the others' IDs, WHICH, the ID chosen or the refusal (text in it)
    ("unique-prefix", [A, C], [OTHER], "abcd5678", C),
    ("full-id", [A, B], [], A, A),
    ("another-superlinks", [A], [OTHER], "efefefef", OTHER),
    ("listed-twice-is-one", [A, A], [], "abcd1234", A),
    ("time-that-is-no-time-named-by-id", [C], [], "abcd5678", C),
    (
        "ambiguous",
        [A, B],
        [],
        "abcd1234",
        "snapshot ID abcd1234 is ambiguous: 2 snapshots of host sl1 start with it: abcd12341 (taken "
        "2025-06-18T09:00:00+02:00), abcd12340 (taken 2025-06-18T10:00:00Z). Give more of its digits",
    ),
    ("ambiguous-across-superlinks", [A], [B], "abcd1234", "abcd12341 (taken 2025-06-18T09:00:00+02:00), abcd12340"),
    ("ambiguous-to-the-last-digit", [B, LATE], [], "abcd12341111", f"{LATE} (taken 2025-06-17T10:00:00Z), {B} (taken"),
    ("ambiguous-three", [A, B, LATE], [], "abcd1234", "3 snapshots of host sl1 start with it"),
    ("no-such", [A], [OTHER], "deadbeef", "holds no snapshot deadbeef of host sl1 (1 of SuperLink flower-superlink"),
    ("upper-case", [A], [], "ABCD1234", "'ABCD1234' is neither latest nor a snapshot ID"),
    ("too-short", [A], [], "abcd123", "'abcd123' is neither latest nor a snapshot ID"),
    ("too-long", [A], [], A + "0", "is neither latest nor a snapshot ID"),
    ("not-a-string", [A], [], 12345678, "12345678 is neither latest nor a snapshot ID"),
]


@pytest.mark.parametrize(
    ("mine", "others", "which", "expected"), [r[1:] for r in PREFIX_ROWS], ids=[r[0] for r in PREFIX_ROWS]
)
def test_an_id_prefix_names_one_snapshot_or_is_refused(
    mine: list[str], others: list[str], which: Any, expected: str
) -> None:
    listing = {
        "snapshots": [{"id": i, "time": TIMES.get(i, "2025-06-18T10:00:00Z")} for i in mine],
        "others": [{"id": i, "time": TIMES.get(i, "2025-06-18T10:00:00Z")} for i in others],
    }
    chosen, why = agent.choose_snapshot(listing, which, "sl1", "flower-superlink", REPOSITORY)
    if re.fullmatch(r"[0-9a-f]{64}", expected):
        assert (chosen or {}).get("id") == expected and why == ""
    else:
        assert chosen is None and expected in why, why
        assert "secret" not in why
    if expected.startswith("holds no snapshot"):
        assert f"The repository {REPOSITORY.replace('secret', '***')} {expected}" in why


def test_the_refusal_for_no_snapshot_keeps_its_words() -> None:
    _, why = agent.choose_snapshot({"snapshots": [], "others": []}, "latest", "sl1", "flower-superlink", REPOSITORY)
    assert why == (
        "The repository rest:https://backup:***@store.example.org:8000/flower holds no snapshot of host sl1 "
        "(0 of SuperLink flower-superlink, 0 of its other SuperLinks). Set flower_offsite_backup_restore_from to "
        "the host whose state to restore, or name a snapshot with flower_offsite_backup_restore_snapshot"
    )


LISTING_ROWS = [
    # id, restic snapshots --json as it answered, the refusal (None: read)
    ("empty", "", None),
    ("null", "null", None),
    ("none", "[]", None),
    ("one", json.dumps([snap("a", "2025-06-18T10:00:00Z")]), None),
    ("no-tags", json.dumps([{"id": sid("a"), "time": "2025-06-18T10:00:00Z", "tags": None}]), None),
    ("an-object", json.dumps({"id": sid("a")}), "restic listed dict where a list of snapshots belongs"),
    ("a-string-entry", json.dumps(["x"]), 'not a snapshot: "x"'),
    ("no-id", json.dumps([{"time": "2025-06-18T10:00:00Z"}]), "not a snapshot"),
    ("short-id", json.dumps([{"id": "abcd1234"}]), 'not a snapshot: {"id": "abcd1234"}'),
    ("upper-case-id", json.dumps([{"id": sid("A")}]), "not a snapshot"),
    ("id-a-number", json.dumps([{"id": 7}]), "not a snapshot"),
    ("tags-a-string", json.dumps([{"id": sid("a"), "tags": "superlink:x"}]), "not a snapshot"),
    ("a-tag-a-number", json.dumps([{"id": sid("a"), "tags": [1]}]), "not a snapshot"),
]


@pytest.mark.parametrize(("stdout", "refusal"), [r[1:] for r in LISTING_ROWS], ids=[r[0] for r in LISTING_ROWS])
def test_the_listing_is_checked_before_it_is_read(stdout: str, refusal: str | None) -> None:
    if refusal is None:
        assert isinstance(agent.read_listing(stdout), list)
    else:
        with pytest.raises(agent.Refused, match=re.escape(refusal)):
            agent.read_listing(stdout)


def test_snapshots_are_listed_oldest_first_and_the_choice_is_the_agents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cmd_snapshots: oldest first by instant (not by text), each SuperLink's apart; with WHICH,
    the chosen one, or refused in choose_snapshot's words. (Whose machine took it: test_machines.)"""
    listing = [
        snap("a", "2025-10-26T02:30:00+02:00"),  # 00:30 UTC
        snap("b", "2025-10-26T02:10:00+01:00"),  # 01:10 UTC
        snap("c", "2025-10-26T00:50:00Z"),
        snap("e", "2025-10-26T09:00:00Z", superlink="flower-second"),
    ]
    monkeypatch.setattr(
        agent,
        "restic",
        lambda config, *args, timeout=3600: subprocess.CompletedProcess(args, 0, json.dumps(listing), ""),
    )
    machine_id = write_machine_id(tmp_path, SL1_MACHINE)
    config = {**settings("sl1", "flower-superlink", machine_id_file=machine_id), "repository": REPOSITORY}
    answer = agent.cmd_snapshots(config, "sl1")
    assert [s["id"][0] for s in answer["snapshots"]] == ["a", "c", "b"]
    assert [s["id"][0] for s in answer["others"]] == ["e"]
    assert "chosen" not in answer
    assert agent.cmd_snapshots(config, "sl1", "latest")["chosen"]["id"] == sid("b")
    assert agent.cmd_snapshots(config, "sl1", "eeeeeeee")["chosen"]["id"] == sid("e")
    with pytest.raises(agent.Refused, match=r"holds no snapshot 12345678 of host sl1 \(3 of SuperLink"):
        agent.cmd_snapshots(config, "sl1", "12345678")


# --- the agent's output never carries the repository's credentials ---------------------

SECRET = "s3cr%40t"  # percent-escaped in the address; restic may write it either way
SECRET_REPOSITORY = f"rest:https://backup:{SECRET}@store.example.org:8000/flower"
ECHO = (
    "Fatal: unable to open config file: client.Head: connection refused\n"
    f"Is there a repository at the following location?\n{SECRET_REPOSITORY}\n"
    "user s3cr@t, https://backup:s3cr@t@store.example.org:8000/flower/config"
)
OUTPUT_ROWS = [
    # id, argv after the program, restic's answer to each command (rc, stdout, stderr), what the output shows
    ("probe", ["probe"], {"cat": (1, "", ECHO)}, "rest:https://backup:***@store.example.org:8000/flower"),
    ("snapshots-cannot-list", ["snapshots", "sl1", "latest"], {"snapshots": (1, "", ECHO)}, "cannot list the"),
    ("snapshots-none", ["snapshots", "sl1", "latest"], {"snapshots": (0, "[]", "")}, "backup:***@store"),
    ("fetch-cannot-read", ["fetch", sid("a")], {"ls": (1, "", ECHO)}, "cannot be read back from the repository"),
    (
        "restic-passthrough",
        ["restic", "agent.json", "init"],
        {"init": (1, f"created at {SECRET_REPOSITORY}", ECHO)},
        "created at rest:https://backup:***@",
    ),
    ("backup-upload-fails", ["backup", "agent.json"], {"backup": (1, "", ECHO)}, "sending it to the repository failed"),
    ("check-fails", ["check", "agent.json"], {"prune": (1, "", ECHO), "check": (1, "", ECHO)}, "restic check of"),
    # sftp: an address the agent cannot read is named in its error, redacted.
    ("sftp-address", ["probe"], {}, "cannot read the SFTP repository address 'sftp:us/er:***@host'"),
]


@pytest.mark.parametrize(("argv", "answers", "shown"), [r[1:] for r in OUTPUT_ROWS], ids=[r[0] for r in OUTPUT_ROWS])
def test_no_output_of_the_agent_carries_the_password(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    answers: dict[str, tuple[int, str, str]],
    shown: str,
) -> None:
    """What the tasks read (stdout's JSON), the journal (stderr), the passthrough's output and the
    metrics file: the password appears in none of them, in any spelling, and the address does, redacted."""
    repository = "sftp:us/er:s3cr@t@host" if not answers else SECRET_REPOSITORY
    metrics_file = tmp_path / "flower_offsite_backup.prom"
    config = {
        **settings("sl1", "flower-superlink", machine_id_file=write_machine_id(tmp_path, SL1_MACHINE)),
        "repository": repository,
        "environment": {},
        "cache_dir": str(tmp_path),
        "staging_dir": str(tmp_path),
        "metrics_file": str(metrics_file),
        "password_file": str(tmp_path / "password"),
        "ssh_key": str(tmp_path / "id"),
        "known_hosts": str(tmp_path / "known_hosts"),
    }

    def restic(config_: dict[str, Any], *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
        rc, out, err = answers[args[0]]
        return subprocess.CompletedProcess(args, rc, out, err)

    @contextlib.contextmanager
    def given_repository() -> Iterator[dict[str, Any]]:
        yield config

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"no process may run here: {args}")

    monkeypatch.setattr(agent.subprocess, "run", never)
    if answers:
        monkeypatch.setattr(agent, "restic", restic)
    monkeypatch.setattr(agent, "given_repository", given_repository)
    monkeypatch.setattr(agent, "load", lambda path: config)
    db = tmp_path / "state-20250618T102500.000000Z-scheduled.db"
    monkeypatch.setattr(agent, "local_backup", lambda config_: {"path": str(db), "size": 1, "runs": 2})
    umask = os.umask(0o022)
    try:  # main() sets the agent's umask (0077): not for the tests that run after this one
        code = agent.main(["flower_offsite_backup.py", *argv])
    finally:
        os.umask(umask)
    out, err = capsys.readouterr()
    written = out + err + (metrics_file.read_text() if metrics_file.exists() else "")
    for spelling in ("s3cr%40t", "s3cr@t", "s3cr%2540t", "s3cr"):
        assert spelling not in written
    assert shown in written
    assert code == (0 if argv[0] == "probe" and answers else 1)
    if argv[0] in ("backup", "check"):
        assert "store.example.org" not in metrics_file.read_text()  # labels: host and location only


# --- a simulated year, real restic ------------------------------------------------

PERIODS: dict[str, Callable[[datetime], tuple[int, ...]]] = {
    "hourly": lambda t: (t.year, t.month, t.day, t.hour),
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: tuple(t.isocalendar())[:2],  # ISO year and week, as restic's
    "monthly": lambda t: (t.year, t.month),
}


def policy(times: list[datetime], keep: dict[str, int]) -> set[datetime]:
    """The newest time of each of the N most recent periods that have any, per rule; their union."""
    kept = set()
    for rule, count in keep.items():
        newest: dict[tuple[int, ...], datetime] = {}
        for t in times:
            period = PERIODS[rule](t)
            newest[period] = max(newest.get(period, t), t)
        kept |= {newest[p] for p in sorted(newest, reverse=True)[:count]}
    return kept


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


# The agent's upgrade on sl1: its snapshots before this carry no superlink: tag (nor machine:).
UPGRADE = at("2025-05-01 00:00")
# sl1 was replaced: its first machine took the snapshots before this, the machine that replaced it
# (same inventory name, another machine ID) the ones after.
REPLACED = at("2025-05-20 00:00")
MAIN_TIMES = [
    # the last 27 hours; two in the newest hour
    at("2025-06-18 10:25"),
    at("2025-06-18 10:05"),
    *[at(f"2025-06-18 {h:02d}:05") for h in range(10)],
    *[at(f"2025-06-17 {h:02d}:05") for h in range(9, 24)],
    # the week before: two on the 16th, the 8th day (11th) goes
    at("2025-06-16 21:00"),
    at("2025-06-16 03:00"),
    at("2025-06-15 23:30"),  # Sunday: the newest of ISO week 24
    at("2025-06-14 12:00"),
    at("2025-06-13 12:00"),
    at("2025-06-12 12:00"),
    at("2025-06-11 18:00"),
    # weeks: 23 (two), 22 (Mon 26 May - Sun 1 June, two months), 21 (the fifth week)
    at("2025-06-08 12:00"),
    at("2025-06-04 12:00"),
    at("2025-06-01 09:00"),
    at("2025-05-31 20:00"),  # the newest of May
    at("2025-05-25 12:00"),
    at("2025-05-01 00:05"),
    # months, from before the upgrade: two in April and January, the 13th and 14th months go
    at("2025-04-30 23:55"),
    at("2025-04-10 12:00"),
    at("2025-03-15 12:00"),
    at("2025-02-15 12:00"),
    at("2025-01-15 12:00"),
    at("2025-01-01 00:30"),
    at("2024-12-31 23:30"),
    *[at(f"2024-{m:02d}-15 12:00") for m in range(11, 6, -1)],
    at("2024-06-20 12:00"),
    at("2024-05-10 12:00"),
]
# What the rules remove from it, by hand: the boundaries named above.
MAIN_REMOVED = {
    at("2025-06-18 10:05"),  # not the newest of its hour
    at("2025-06-17 10:05"),  # the 25th and 26th hours, not the newest of their day
    at("2025-06-17 09:05"),
    at("2025-06-16 03:00"),  # not the newest of its day
    at("2025-06-11 18:00"),  # the 8th day, not the newest of its week
    at("2025-06-04 12:00"),  # not the newest of its week
    at("2025-05-25 12:00"),  # the 5th week, not the newest of May
    at("2025-05-01 00:05"),  # not the newest of May
    at("2025-04-10 12:00"),  # not the newest of April (an old snapshot)
    at("2025-01-01 00:30"),
    at("2024-06-20 12:00"),  # the 13th and 14th months
    at("2024-05-10 12:00"),
}
SECOND_KEEP = {"hourly": 0, "daily": 2, "weekly": 0, "monthly": 1}
SECOND_TIMES = [at("2025-06-18 10:10"), at("2025-06-18 09:10"), at("2025-06-17 12:00"), at("2025-06-16 12:00")]
SECOND_OLD = [at("2025-04-20 12:00")]
OTHER_KEEP = {"hourly": 2, "daily": 1, "weekly": 1, "monthly": 1}
OTHER_TIMES = [at("2025-06-18 10:20"), at("2025-06-18 08:20"), at("2025-06-18 07:20"), at("2025-06-10 12:00")]
OTHER_OLD = [at("2025-04-15 12:00")]
NOT_UPGRADED = [at("2025-06-18 09:45"), at("2025-06-17 09:45")]  # sl3, still on the old agent
STRAY = at("2024-03-01 12:00")  # sl1, an old backup directory: nobody's by its paths
OPERATOR = at("2024-09-03 12:00")  # sl1, tagged by hand: a series of its own
DATA = 32 * 1024  # bytes of incompressible data per backup
OLD_TAGS = ["--tag", "flower-superlink", "--tag", "scheduled"]
MAIN_BEFORE_UPGRADE = [t for t in MAIN_TIMES if t < UPGRADE]
MAIN_FIRST_MACHINE = [t for t in MAIN_TIMES if UPGRADE <= t < REPLACED]
MAIN_REPLACING_MACHINE = [t for t in MAIN_TIMES if t >= REPLACED]
NAMED_MAIN, NAMED_SECOND = "superlink:flower-superlink", "superlink:flower-second"
# The series the retention runs on, by group (host; superlink: tag and the others, as group() writes
# them): times and policy. The snapshots from before the upgrade are claimed (superlink: added) but
# carry no machine tag: a group of their own, as is each machine's.
SERIES = {
    ("sl1", NAMED_MAIN): (MAIN_BEFORE_UPGRADE, DEFAULTS),
    ("sl1", f"{NAMED_MAIN},{tag_of(SL1_FIRST_MACHINE)}"): (MAIN_FIRST_MACHINE, DEFAULTS),
    ("sl1", f"{NAMED_MAIN},{tag_of(SL1_MACHINE)}"): (MAIN_REPLACING_MACHINE, DEFAULTS),
    ("sl1", NAMED_SECOND): (SECOND_OLD, SECOND_KEEP),
    ("sl1", f"{NAMED_SECOND},{tag_of(SL1_MACHINE)}"): (SECOND_TIMES, SECOND_KEEP),
    ("sl-2.example.org", NAMED_MAIN): (OTHER_OLD, OTHER_KEEP),
    ("sl-2.example.org", f"{NAMED_MAIN},{tag_of(SL2_MACHINE)}"): (OTHER_TIMES, OTHER_KEEP),
}
REMOVED = sum(len(series) - len(policy(series, keep)) for series, keep in SERIES.values())


# scrypt at about a millisecond, where `restic init` calibrates it to half a second.
CHEAP_SCRYPT = {"N": 1024, "r": 8, "p": 1}
# The design document's example repository's (restic checks that it is irreducible).
CHUNKER_POLYNOMIAL = "25b468838dcb75"
PASSWORD = "retention-test"
# How many restic processes send snapshots at once: most of a backup's time is its lock's wait, not CPU.
SENDERS = 8


def seal(keys: tuple[bytes, bytes, bytes], plaintext: bytes) -> bytes:
    """PLAINTEXT encrypted as restic stores everything (doc/design.rst, "Keys, Encryption
    and MAC"): IV || AES-256-CTR || Poly1305-AES MAC of the ciphertext. KEYS: the AES-256
    key, then the MAC's k (AES-128) and r."""
    aes_key, mac_k, mac_r = keys
    iv = os.urandom(16)
    encryptor = Cipher(algorithms.AES(aes_key), modes.CTR(iv)).encryptor()
    sealed = encryptor.update(plaintext) + encryptor.finalize()
    # Poly1305-AES: s is AES-128 of the nonce with k (one block, hence ECB).
    mac_s = Cipher(algorithms.AES(mac_k), modes.ECB()).encryptor().update(iv)
    return iv + sealed + Poly1305.generate_tag(mac_r + mac_s, sealed)


def create_repository(path: Path, password: str) -> str:
    """An empty repository as `restic init` writes one (doc/design.rst: "Repository Format",
    "Keys, Encryption and MAC"), but with a key that opens with CHEAP_SCRYPT; its id.

    The config file is the JSON of version, id and chunker polynomial, sealed with the
    master keys; the key file holds the scrypt parameters and salt, and the master keys'
    JSON sealed with the 64 bytes scrypt derives from the password (the AES-256 key, then
    k and r); it is named by its SHA-256."""
    master = (os.urandom(32), os.urandom(16), os.urandom(16))
    for kind in ("index", "keys", "locks", "snapshots"):
        (path / kind).mkdir(parents=True)
    for prefix in range(256):
        (path / "data" / f"{prefix:02x}").mkdir(parents=True)
    repository_id = os.urandom(32).hex()
    config = {"version": 2, "id": repository_id, "chunker_polynomial": CHUNKER_POLYNOMIAL}
    (path / "config").write_bytes(seal(master, json.dumps(config).encode()))
    write_key(path, password, master)
    return repository_id


def write_key(path: Path, password: str, master: tuple[bytes, bytes, bytes]) -> Path:
    """A key file in repository PATH that opens MASTER (the AES-256 key, then the MAC's k and r)
    with PASSWORD at CHEAP_SCRYPT (doc/design.rst, "Keys, Encryption and MAC"); its path."""
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    salt = os.urandom(64)
    scrypt = {"n": CHEAP_SCRYPT["N"], "r": CHEAP_SCRYPT["r"], "p": CHEAP_SCRYPT["p"]}
    user = hashlib.scrypt(password.encode(), salt=salt, dklen=64, **scrypt)
    master_keys = {"mac": {"k": b64(master[1]), "r": b64(master[2])}, "encrypt": b64(master[0])}
    key = {
        "created": datetime.now(UTC).isoformat(),
        "username": "retention-test",
        "hostname": "retention-test",
        "kdf": "scrypt",
        **CHEAP_SCRYPT,
        "salt": b64(salt),
        "data": b64(seal((user[:32], user[32:48], user[48:]), json.dumps(master_keys).encode())),
    }
    text = json.dumps(key).encode()
    written = path / "keys" / hashlib.sha256(text).hexdigest()
    written.write_bytes(text)
    return written


class Repository:
    def __init__(self, base: Path) -> None:
        self.base = base
        (base / "password").write_text(PASSWORD + "\n")
        self.access = {
            "repository": str(base / "repo"),
            "password_file": str(base / "password"),
            "cache_dir": str(base / "cache"),
            # Snapshot times in UTC, as the expected periods are computed.
            "environment": {"TZ": "UTC"},
        }
        (base / "cache").mkdir()

    def init(self) -> None:
        """create_repository(), and restic reads it back: its key opens, its config is the one written."""
        written = create_repository(self.base / "repo", PASSWORD)
        read = json.loads(self.restic(self.access, "cat", "config", "--no-cache").stdout)
        assert read == {"version": 2, "id": written, "chunker_polynomial": CHUNKER_POLYNOMIAL}

    def config(self, settings_: dict[str, Any], backup_dir: Path | None = None) -> dict[str, Any]:
        config = {**settings_, **self.access}
        config["backup_dir"] = str(backup_dir or self.base / "backups")
        return config

    def restic(self, config: dict[str, Any], *args: str) -> subprocess.CompletedProcess:
        result = agent.restic(config, *args)
        assert result.returncode == 0, f"restic {' '.join(args[:3])}: {agent.restic_error(result)}"
        return result

    def snapshot(self, config: dict[str, Any], when: datetime, old: bool = False, tags: tuple = ()) -> None:
        """One backup as the agent takes it: <stem>-<UTC time>-scheduled.db and .json, sent with the
        agent's arguments (the old agent's for old=True), at the simulated time."""
        folder = Path(config["backup_dir"])
        folder.mkdir(parents=True, exist_ok=True)
        stamp = when.strftime("%Y%m%dT%H%M%S") + f".{when.microsecond:06d}Z"
        db = folder / f"{Path(config['database']).stem}-{stamp}-scheduled.db"
        db.write_bytes(os.urandom(DATA))
        db.with_suffix(".json").write_text(json.dumps({"created_at": when.isoformat(), "host": config["host"]}))
        argv = agent.backup_args(config, [db, db.with_suffix(".json")])
        if old:  # before this change: the host and two tags
            argv = [*argv[:4], *OLD_TAGS, *argv[-2:]]
        if tags:
            argv = [*argv[:4], *[a for t in tags for a in ("--tag", t)], *argv[-2:]]
        # --no-cache: the simulated backups need no cache of their own.
        self.restic(config, argv[0], "--no-cache", "--time", when.strftime("%Y-%m-%d %H:%M:%S"), *argv[1:])
        db.unlink()
        db.with_suffix(".json").unlink()

    def send(self, backups: list[tuple[dict[str, Any], datetime, bool, tuple]]) -> None:
        """snapshot() each (config, time, old, tags), by SENDERS processes at once, each
        into its own copy of this repository; then every copy's data, index and
        snapshot files into this one (a copy holds no other kind: no keys or config of its own)."""
        # Sent at once, each backup's files must have names of their own: their folder and time.
        assert len({(c["backup_dir"], c["database"], when) for c, when, _, _ in backups}) == len(backups)

        def send_lane(lane: int) -> Path:
            copy = self.base / f"sender-{lane}"
            shutil.copytree(self.base / "repo", copy)
            for config, when, old, tags in backups[lane::SENDERS]:
                self.snapshot({**config, "repository": str(copy)}, when, old=old, tags=tags)
            return copy

        with ThreadPoolExecutor(SENDERS) as senders:
            copies = list(senders.map(send_lane, range(SENDERS)))
        for copy in copies:
            for kind in ("data", "index", "snapshots"):
                shutil.copytree(copy / kind, self.base / "repo" / kind, dirs_exist_ok=True)

    def snapshots(self) -> list[dict[str, Any]]:
        return json.loads(self.restic(self.access, "snapshots", "--json").stdout)

    def data(self) -> tuple[int, int]:
        packs = [p for p in (self.base / "repo" / "data").rglob("*") if p.is_file()]
        return len(packs), sum(p.stat().st_size for p in packs)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The repository after the simulated year and each SuperLink's retention, and what was seen on the way."""
    if not shutil.which("restic", path="/usr/sbin:/usr/bin:/sbin:/bin"):
        pytest.fail("restic is not installed (Debian package restic; .ci/prepare-machine installs it)")
    repo = Repository(tmp_path_factory.mktemp("restic"))
    ids = (SL1_FIRST_MACHINE, SL1_MACHINE, SL2_MACHINE, SL3_MACHINE)
    machines = {machine: write_machine_id(repo.base / "machines", machine) for machine in ids}
    main = repo.config(settings("sl1", "flower-superlink", machine_id_file=machines[SL1_MACHINE]))
    first = {**main, "machine_id_file": machines[SL1_FIRST_MACHINE]}  # sl1 before it was replaced
    second = repo.config(settings("sl1", "flower-second", SECOND_KEEP, machines[SL1_MACHINE]), repo.base / "second")
    second["database"] = "/var/lib/flower-second/state.db"
    # Another host, with the same paths as sl1's.
    other = repo.config(settings("sl-2.example.org", "flower-superlink", OTHER_KEEP, machines[SL2_MACHINE]))
    old_agent = repo.config(settings("sl3", "flower-superlink", machine_id_file=machines[SL3_MACHINE]))
    repo.init()
    backups = [
        *[(main if when >= REPLACED else first, when, when < UPGRADE, ()) for when in MAIN_TIMES],
        *[(second, when, when in SECOND_OLD, ()) for when in SECOND_TIMES + SECOND_OLD],
        *[(other, when, when in OTHER_OLD, ()) for when in OTHER_TIMES + OTHER_OLD],
        *[(old_agent, when, True, ()) for when in NOT_UPGRADED],
        (repo.config(first, repo.base / "old-backups"), STRAY, True, ()),
        (main, OPERATOR, False, ("flower-superlink", "superlink:flower-superlink", "before-upgrade")),
    ]
    repo.send(backups)
    seen: dict[str, Any] = {"taken": len(repo.snapshots())}
    # Restore's listing before any retention: sl1's SuperLink and the old snapshots, a host not yet upgraded.
    seen["listed_main"] = agent.cmd_snapshots(main, "sl1")
    seen["listed_sl3"] = agent.cmd_snapshots(old_agent, "sl3")
    seen["before"] = repo.data()
    for config in (main, second, other):  # sl1's first machine is gone: the one that replaced it retains
        agent.retention(config)
    seen["forgotten"] = repo.data()
    # The check unit's command, on sl1: prune (every host's forgotten data), then check, reading all data back.
    metrics_file = repo.base / "flower_offsite_backup.prom"
    seen["checked"] = agent.cmd_check({**main, "metrics_file": str(metrics_file), "check_read_data": "100%"})
    seen["after"] = repo.data()
    seen["metrics"] = metrics_file.read_text()
    seen["listed_main_after"] = agent.cmd_snapshots(main, "sl1")
    seen["left"] = repo.snapshots()
    return seen


def group(snapshot: dict[str, Any]) -> tuple[str, str]:
    tags = snapshot.get("tags") or []
    named = [t for t in tags if t.startswith("superlink:")]
    extra = sorted(set(tags) - {"flower-superlink", "scheduled", *named})
    return snapshot["hostname"], ",".join(named + extra)


def times(snapshots: list[dict[str, Any]]) -> list[datetime]:
    return sorted(datetime.fromisoformat(s["time"]) for s in snapshots)


def test_exactly_what_the_keep_rules_name_remains(year: dict[str, Any]) -> None:
    taken = sum(len(series) for series, _ in SERIES.values())
    assert year["taken"] == taken + len(NOT_UPGRADED) + len([STRAY, OPERATOR])
    left: dict[tuple[str, str], list[datetime]] = {}
    for snapshot in year["left"]:
        left.setdefault(group(snapshot), []).append(datetime.fromisoformat(snapshot["time"]))
    expected = {
        # The keep rules per host and set of tags: each SuperLink's, and within it each machine's
        # and the claimed old snapshots' (no machine tag), apart.
        **{key: policy(series, keep) for key, (series, keep) in SERIES.items()},
        ("sl1", "superlink:flower-superlink,before-upgrade"): {OPERATOR},
        # Nobody's (another directory) and a host whose agent is not upgraded: untouched.
        ("sl1", ""): {STRAY},
        ("sl3", ""): set(NOT_UPGRADED),
    }
    assert {k: sorted(v) for k, v in left.items()} == {k: sorted(v) for k, v in expected.items()}
    # policy() agrees with the boundaries worked out by hand: 24 hourly + 5 daily + 2 weekly + 11 monthly.
    assert set(MAIN_TIMES) - policy(MAIN_TIMES, DEFAULTS) == MAIN_REMOVED
    assert len(policy(MAIN_TIMES, DEFAULTS)) == 42
    # The machine that replaced sl1 meets the hourly, daily and weekly boundaries and May's in its
    # own group; its retention leaves the first machine's snapshot of May, which it would forget in
    # one series with its own (not the newest of May), and the claimed old ones (their newest 24
    # hours: all of them), where one series would forget the 13th and 14th months.
    replacing = {t for t in MAIN_REPLACING_MACHINE if t not in policy(MAIN_REPLACING_MACHINE, DEFAULTS)}
    assert replacing == {t for t in MAIN_REMOVED if t >= REPLACED}
    kept = {datetime.fromisoformat(s["time"]) for s in year["left"] if s["hostname"] == "sl1"}
    assert MAIN_REMOVED - replacing <= kept


def test_forget_then_the_checks_prune_gives_the_space_back(year: dict[str, Any]) -> None:
    (packs_before, bytes_before), (packs_after, bytes_after) = year["before"], year["after"]
    # The backups' forget deletes snapshots only: not one pack goes (no --prune after every backup).
    assert year["forgotten"] == year["before"]
    # The check unit's prune: each backup's data went into packs of its own, so a removed one's are
    # wholly unused: gone. Then restic check passed, reading every pack back.
    assert REMOVED == 11
    assert packs_after <= packs_before - REMOVED, (packs_before, packs_after)
    assert bytes_before - bytes_after >= REMOVED * DATA, (bytes_before, bytes_after)
    assert year["checked"] == {"prune": "ok", "check": "ok"}
    for name in ("prune_success", "check_success"):
        assert f'flower_superlink_backup_repository_{name}{{host="sl1"}} 1' in year["metrics"].splitlines()


def test_restore_lists_this_superlinks_snapshots(year: dict[str, Any]) -> None:
    listed = year["listed_main"]
    # Before retention: its own (old ones included) and every other old one of sl1, none of flower-second's.
    assert times(listed["snapshots"]) == sorted([*MAIN_TIMES, OPERATOR, STRAY, *SECOND_OLD])
    assert times(listed["others"]) == sorted(SECOND_TIMES)
    assert listed["snapshots"][-1]["time"].startswith("2025-06-18T10:25:00")  # what restore.yml's latest takes
    # A host still on the old agent: all its snapshots, the newest last.
    assert times(year["listed_sl3"]["snapshots"]) == sorted(NOT_UPGRADED)
    assert year["listed_sl3"]["others"] == []
    after = year["listed_main_after"]
    mains = [series for (host, tags), (series, _) in SERIES.items() if host == "sl1" and NAMED_MAIN in tags]
    assert len(mains) == 3  # before the upgrade, sl1's first machine, the one that replaced it
    assert times(after["snapshots"]) == sorted(set().union(*(policy(s, DEFAULTS) for s in mains)) | {OPERATOR, STRAY})
    assert after["snapshots"][-1]["time"].startswith("2025-06-18T10:25:00")


def fixed_zone(path: Path, offset: int, name: str) -> str:
    """A zoneinfo file (TZif version 1, RFC 8536) of one fixed UTC offset, for restic's TZ: no
    tzdata needed. OFFSET in seconds east of UTC."""
    chars = name.encode() + b"\0"
    counts = struct.pack(">6l", 0, 0, 0, 0, 1, len(chars))  # isut, isstd, leap, transitions, types, chars
    path.write_bytes(b"TZif" + b"\0" * 16 + counts + struct.pack(">lBB", offset, 0, 0) + chars)
    return str(path)


def test_latest_is_the_newest_of_snapshots_written_in_other_zones(tmp_path: Path) -> None:
    """Real restic writes each snapshot's time in its writer's UTC offset; the agent's latest is
    the newest instant (as text, the east's would be), then one sent now (nanoseconds)."""
    repo = Repository(tmp_path)
    repo.init()
    config = repo.config(settings("sl1", "flower-superlink", machine_id_file=write_machine_id(tmp_path, SL1_MACHINE)))
    zones = {
        "west": (fixed_zone(tmp_path / "west", -5 * 3600, "-05"), datetime(2025, 6, 18, 5, 30)),  # 10:30 UTC
        "utc": ("UTC", datetime(2025, 6, 18, 10, 15)),
        "east": (fixed_zone(tmp_path / "east", 2 * 3600, "+02"), datetime(2025, 6, 18, 12, 0)),  # 10:00 UTC
    }
    for zone, when in zones.values():
        repo.snapshot({**config, "environment": {"TZ": zone}}, when)
    listed = agent.cmd_snapshots(config, "sl1", "latest")
    written = sorted(s["time"] for s in listed["snapshots"])
    assert written == ["2025-06-18T05:30:00-05:00", "2025-06-18T10:15:00Z", "2025-06-18T12:00:00+02:00"]
    assert [s["time"] for s in listed["snapshots"]] == [written[2], written[1], written[0]]  # oldest first
    assert listed["chosen"]["time"] == "2025-06-18T05:30:00-05:00"
    # Sent now, in the east: restic's own time, to the nanosecond.
    db = tmp_path / "backups" / "state-now-scheduled.db"
    db.write_bytes(b"now")
    east = {**config, "environment": {"TZ": zones["east"][0]}}
    repo.restic(east, *agent.backup_args(east, [db]))
    chosen = agent.cmd_snapshots(config, "sl1", "latest")["chosen"]
    assert chosen["time"].endswith("+02:00") and "." in chosen["time"], chosen["time"]
    assert chosen["paths"] == [str(db)]
