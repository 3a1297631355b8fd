"""Append-only repositories and their maintenance (role flower_offsite_backup).

With append_only in agent.json the host's repository credentials are an
append-only REST server's (rclone serve restic --append-only --private-repos):
the agent's backup sends the snapshot and never applies the keep rules
(retention(): no restic tag, no forget), and the check unit only checks (no
prune; a prune entry left in the state from before goes, with its metrics).
The keep rules are applied by `maintain` (cmd_maintain) on the machine with
the delete rights: a forget of every host's and SuperLink's snapshots
(maintenance_forget_args), then prune, then check, each step recorded in the
state and the metrics, and a failure failing the command once every step ran.

Everything test_retention.py builds is reused from it: the agent imported as
the host runs it, agent.json's settings, the keep rules computed
independently (policy()), the cheap repositories (create_repository,
Repository) and the simulated year's timeline. Three layers:

- rows without restic: the forget's argv, and which restic commands
  cmd_backup, cmd_check and cmd_maintain run and what they record, restic
  answered by a stand-in;
- real restic on a local repository: the simulated year of two hosts (a third
  still on the old agent) and two SuperLinks, never retained (the hosts are
  append-only), plus snapshots that are not the role's, then cmd_maintain; and
  an append-only check beside a forgotten snapshot's data;
- a real append-only server: rclone serve restic with two users, sl1 and sl2,
  each in a private repository. sl1's agent inits its repository there and
  backs up; the server refuses sl1's forget, every deletion and overwrite of
  its files, and each user the other's repository; the append-only check
  passes through it; and the maintenance, run on the server's directory as a
  local path, forgets and prunes what sl1 then lists.

restic 0.14 retries each deletion the server refuses for about 45 s
(internal/backend/backend_retry.go) before it fails: sl1's forget is
interrupted at its first refusal, and nothing here prunes over REST. The
repository sl1 creates with `restic init` has a key calibrated to half a
second of scrypt at every restic start; the server's admin (the test) swaps
it for one of the same master key at test_retention's CHEAP_SCRYPT.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_retention import (
    CHECK_FAILED,
    DAMAGED,
    DATA,
    KEEP_ROWS,
    LOCKED,
    MAIN_FIRST_MACHINE,
    MAIN_REPLACING_MACHINE,
    MAIN_TIMES,
    NONE,
    NOT_UPGRADED,
    OPERATOR,
    OTHER_OLD,
    OTHER_TIMES,
    PASSWORD,
    PRUNE_FAILED,
    REPLACED,
    SECOND_OLD,
    SECOND_TIMES,
    SL1_FIRST_MACHINE,
    SL1_MACHINE,
    SL2_MACHINE,
    SL3_MACHINE,
    STRAY,
    TIMED_OUT,
    UPGRADE,
    Repository,
    agent,
    at,
    create_repository,
    keep_args,
    policy,
    settings,
    tag_of,
    write_key,
    write_machine_id,
)

RESTIC_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"  # the agent's PATH for restic
FORGET_FAILED = "restic forget of the repository failed: "
ROLE_TAGS = ("flower-superlink", "scheduled")


def require(program: str, package: str) -> None:
    if not shutil.which(program, path=RESTIC_PATH):
        pytest.fail(f"{program} is not installed (Debian package {package}; .ci/prepare-machine installs it)")


def samples(metrics: str) -> dict[str, str]:
    return dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line[:1] != "#")


def stand_in(does: dict[str, str | Exception | None], calls: list[tuple[str, ...]]) -> Callable:
    """restic as the agent calls it (agent.restic), answering each command as DOES says:
    None or absent passes, a string fails with it as stderr, an exception is raised."""

    def restic(config: dict[str, Any], *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
        calls.append(args)
        done = does.get(args[0])
        if isinstance(done, Exception):
            raise done
        return subprocess.CompletedProcess(args, int(done is not None), "", done or "")

    return restic


def recording(calls: list[tuple[str, ...]]) -> Callable:
    """agent.run_restic, recording each restic process's arguments: every process the agent starts."""
    real = agent.run_restic

    def run_restic(config: dict[str, Any], *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
        calls.append(args)
        return real(config, *args, timeout=timeout)

    return run_restic


# --- the command lines and the commands' steps (no restic) -----------------------------


def maintenance_settings(keep: dict[str, int], **more: Any) -> dict[str, Any]:
    """A maintained repository's agent.json as vars/main.yml writes it (_flower_offsite_backup_maintenance_settings):
    named after the repository, the hosts' keep_* policy; no SuperLink, lock or database of its own."""
    return {"host": "offsite-main", "forget": keep_args(keep), "check_read_data": "5%", **more}


@pytest.mark.parametrize(("keep", "expected"), [r[1:] for r in KEEP_ROWS], ids=[r[0] for r in KEEP_ROWS])
def test_maintenance_forget_args_per_keep_setting(keep: dict[str, int], expected: list[str]) -> None:
    # Every host and SuperLink (no --host, no superlink: tag), grouped as each host's own
    # retention groups (forget_args); only the role's snapshots; no --prune (prune is its own step).
    head = ["forget", "--tag", "flower-superlink", "--group-by", "host,tags"]
    assert agent.maintenance_forget_args(maintenance_settings(keep)) == head + expected


MAINTENANCE_ARGS_ROWS = [
    # id, agent.json (the keep rules from its forget), the argv after the tag and grouping
    ("a-hosts-settings", {**settings("sl1", "flower-second"), "forget": ["--keep-daily", "3"]}, ["--keep-daily", "3"]),
    # A name no tag can carry fails forget_args; the maintenance names no SuperLink.
    ("unnameable-superlink", {**settings("sl1", "a,b"), "forget": ["--keep-hourly", "1"]}, ["--keep-hourly", "1"]),
    (
        "as-given",
        {"forget": ["--keep-within", "30d", "--keep-last", "2"]},
        ["--keep-within", "30d", "--keep-last", "2"],
    ),
]


@pytest.mark.parametrize(
    ("config", "expected"), [r[1:] for r in MAINTENANCE_ARGS_ROWS], ids=[r[0] for r in MAINTENANCE_ARGS_ROWS]
)
def test_maintenance_forget_names_no_host_or_superlink(config: dict[str, Any], expected: list[str]) -> None:
    head = ["forget", "--tag", "flower-superlink", "--group-by", "host,tags"]
    assert agent.maintenance_forget_args(config) == head + expected


OLD = "/var/backups/flower-superlink/state-20250101T000500.123456Z-scheduled"
BACKUP_ROWS = [
    # id, agent.json's append_only (... : absent), the restic commands after the backup
    ("append-only", True, []),
    ("not-append-only", False, ["snapshots", "tag", "forget"]),
    ("from-before-the-setting", ..., ["snapshots", "tag", "forget"]),
]


@pytest.mark.parametrize(("append_only", "after"), [r[1:] for r in BACKUP_ROWS], ids=[r[0] for r in BACKUP_ROWS])
def test_an_append_only_backup_applies_no_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, append_only: Any, after: list[str]
) -> None:
    """cmd_backup's restic commands: the backup, then retention()'s listing, claim (restic tag) and
    forget, or with append_only nothing after the backup (retention() not called at all)."""
    old = {"id": "a" * 64, "tags": list(ROLE_TAGS), "paths": [OLD + ".db", OLD + ".json"]}
    answers = {
        "backup": json.dumps({"message_type": "summary", "snapshot_id": "b" * 64}),
        "snapshots": json.dumps([old]),
    }
    calls: list[tuple[str, ...]] = []
    retained: list[str] = []
    real_retention = agent.retention

    def restic(config: dict[str, Any], *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, answers.get(args[0], ""), "")

    def retention(config: dict[str, Any], listing: list[dict[str, Any]] | None = None) -> None:
        retained.append(config["host"])
        real_retention(config, listing)

    db = "/var/backups/flower-superlink/state-20250618T102500.000000Z-scheduled.db"
    monkeypatch.setattr(agent, "restic", restic)
    monkeypatch.setattr(agent, "retention", retention)
    monkeypatch.setattr(agent, "local_backup", lambda config: {"path": db, "size": 1, "runs": 2})
    config = {
        **settings("sl1", "flower-superlink", machine_id_file=write_machine_id(tmp_path, SL1_MACHINE)),
        "cache_dir": str(tmp_path),
        "metrics_file": "",
    }
    if append_only is not ...:
        config["append_only"] = append_only
    answer = agent.cmd_backup(config)
    assert answer == {"backup": db, "runs": 2, "size": 1, "snapshot": "b" * 64}
    assert calls[0] == tuple(agent.backup_args(config, [Path(db), Path(db).with_suffix(".json")]))
    assert [args[0] for args in calls[1:]] == after
    assert retained == (["sl1"] if after else [])
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["offsite"]["last_attempt_success"] == state["local"]["last_attempt_success"] == 1


STEP = {"prune_timestamp_seconds": 1750000000, "prune_success": 0}
APPEND_ONLY_CHECK_ROWS = [
    # id, the state the check unit finds (an earlier backup's and check's), what restic check answers
    ("first-check", {}, None),
    ("after-a-backup", {"offsite": {"last_attempt_success": 1}}, None),
    # The host's check pruned before it was made append-only: that entry and its metrics go.
    ("after-a-prune", {"offsite": {"last_attempt_success": 1}, "prune": {**STEP, "prune_success": 1}}, None),
    ("after-a-failed-prune", {"prune": STEP, "check": {"check_success": 0, "check_timestamp_seconds": 1}}, None),
    ("check-fails", {"offsite": {"last_attempt_success": 1}, "prune": STEP}, DAMAGED),
    # A backup found another machine writing as this host: the check keeps that (and its alert).
    (
        "another-machine-writing",
        {"offsite": {"last_attempt_success": 1}, "other_machine": {"other_machine_writing": 1}},
        None,
    ),
]


@pytest.mark.parametrize(
    ("before", "answer"), [r[1:] for r in APPEND_ONLY_CHECK_ROWS], ids=[r[0] for r in APPEND_ONLY_CHECK_ROWS]
)
def test_the_append_only_check_only_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: dict[str, Any], answer: str | None
) -> None:
    """cmd_check with append_only: restic check alone, recorded; no prune in the state or the metrics."""
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(agent, "restic", stand_in({"prune": "the server refuses deletions", "check": answer}, calls))
    metrics_file = tmp_path / "flower_offsite_backup.prom"
    config = {**settings("sl1", "flower-superlink"), "cache_dir": str(tmp_path), "metrics_file": str(metrics_file)}
    config |= {"check_read_data": "5%", "append_only": True}
    (tmp_path / "state.json").write_text(json.dumps(before))
    if answer is None:
        assert agent.cmd_check(config) == {"check": "ok"}
    else:
        with pytest.raises(agent.Refused, match="^" + CHECK_FAILED + "Fatal: repository contains errors$"):
            agent.cmd_check(config)
    assert calls == [("check", "--read-data-subset=5%")]
    state = json.loads((tmp_path / "state.json").read_text())
    assert sorted(state) == sorted({"check", *({"local", "offsite", "other_machine"} & set(before))})
    assert state.get("offsite") == before.get("offsite")  # the backup's results are kept
    assert state["check"]["check_success"] == int(answer is None)
    metrics = metrics_file.read_text()
    assert "prune" not in metrics
    said = samples(metrics)
    assert said['flower_superlink_backup_repository_check_success{host="sl1"}'] == str(int(answer is None))
    if "other_machine" in before:
        assert said['flower_superlink_backup_other_machine_writing{host="sl1"}'] == "1"
    assert said['flower_superlink_backup_repository_check_timestamp_seconds{host="sl1"}'] == str(
        state["check"]["check_timestamp_seconds"]
    )


MAINTAIN_ROWS = [
    # id, what forget, prune and check do (absent: pass; str: fail with that stderr; an exception:
    # raised), the error (a regular expression; None: none), forget_, prune_ and check_success
    ("all-pass", {}, None, (1, 1, 1)),
    ("forget-locked", {"forget": LOCKED}, "^" + FORGET_FAILED + "unable to create lock in backend: .*", (0, 1, 1)),
    ("prune-times-out", {"prune": TIMED_OUT}, "^" + PRUNE_FAILED + "it did not finish within 3600 s$", (1, 0, 1)),
    ("check-fails", {"check": DAMAGED}, "^" + CHECK_FAILED + "Fatal: repository contains errors$", (1, 1, 0)),
    (
        "all-fail",
        {"forget": LOCKED, "prune": LOCKED, "check": DAMAGED},
        f"^{FORGET_FAILED}unable to create lock .*; {PRUNE_FAILED}unable to create lock .*; {CHECK_FAILED}Fatal: rep",
        (0, 0, 0),
    ),
]


@pytest.mark.parametrize(("does", "error", "ok"), [r[1:] for r in MAINTAIN_ROWS], ids=[r[0] for r in MAINTAIN_ROWS])
def test_maintenance_forgets_prunes_and_checks(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    does: dict[str, str | Exception],
    error: str | None,
    ok: tuple[int, int, int],
) -> None:
    """cmd_maintain: forget every host's snapshots, prune, check, in that order, each step even
    when one before it failed; each failure in its own words, each result in the state and the
    metrics (labelled with the maintained repository's name)."""
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(agent, "restic", stand_in(does, calls))
    metrics_file = tmp_path / "maintenance.prom"
    config = maintenance_settings(NONE | {"daily": 7}, cache_dir=str(tmp_path), metrics_file=str(metrics_file))
    if error is None:
        assert agent.cmd_maintain(config) == {"forget": "ok", "prune": "ok", "check": "ok"}
    else:
        with pytest.raises(agent.Refused, match=error):
            agent.cmd_maintain(config)
    assert calls == [tuple(agent.maintenance_forget_args(config)), ("prune",), ("check", "--read-data-subset=5%")]
    state = json.loads((tmp_path / "state.json").read_text())
    steps = ("forget", "prune", "check")
    assert sorted(state) == sorted(steps)
    assert tuple(state[step][f"{step}_success"] for step in steps) == ok
    stamps = [state[step][f"{step}_timestamp_seconds"] for step in steps]
    assert stamps == sorted(stamps)
    said = samples(metrics_file.read_text())
    for step, success in zip(steps, ok, strict=True):
        family = f'flower_superlink_backup_repository_{step}_{{}}{{{{host="offsite-main"}}}}'
        assert said[family.format("success")] == str(success)
        assert said[family.format("timestamp_seconds")] == str(state[step][f"{step}_timestamp_seconds"])


# --- the simulated year, maintained (real restic) ---------------------------------------------

# One policy for the whole repository (the maintenance machine's keep_*), strict enough that
# every group of the role's snapshots with more than one loses some: a forget that skipped a
# host or a SuperLink would leave too many.
MAINTENANCE_KEEP = {"hourly": 1, "daily": 1, "weekly": 2, "monthly": 6}
# Not the role's (no flower-superlink tag): the maintenance machine's own backup of sl1's /etc.
# Two in one hour: any forget that reached them would keep one at most.
FOREIGN = [at("2024-02-01 12:00"), at("2024-02-01 12:30")]
NAMED = (*ROLE_TAGS, "superlink:flower-superlink")
SECOND_NAMED = (*ROLE_TAGS, "superlink:flower-second")
OPERATOR_TAGS = ("flower-superlink", "superlink:flower-superlink", "before-upgrade")


def on(tags: tuple[str, ...], machine_id: str) -> tuple[str, ...]:
    """TAGS and the tag of the machine whose ID is MACHINE_ID, sorted as group_of() sorts them."""
    return tuple(sorted((*tags, tag_of(machine_id))))


# What the maintenance must leave, group by group as restic forms them (--group-by host,tags):
# each machine's apart (sl1 was replaced in May: its first machine's snapshots, then the new one's).
MAINTAINED = {
    ("sl1", on(NAMED, SL1_FIRST_MACHINE)): policy(MAIN_FIRST_MACHINE, MAINTENANCE_KEEP),
    ("sl1", on(NAMED, SL1_MACHINE)): policy(MAIN_REPLACING_MACHINE, MAINTENANCE_KEEP),
    ("sl1", on(SECOND_NAMED, SL1_MACHINE)): policy(SECOND_TIMES, MAINTENANCE_KEEP),
    # Snapshots from before they named their SuperLink: claimed by nobody (claiming rewrites
    # a snapshot, which an append-only host cannot), one group for all of the host's
    # SuperLinks and backup directories.
    ("sl1", ROLE_TAGS): policy([t for t in MAIN_TIMES if t < UPGRADE] + SECOND_OLD + [STRAY], MAINTENANCE_KEEP),
    ("sl-2.example.org", on(NAMED, SL2_MACHINE)): policy(OTHER_TIMES, MAINTENANCE_KEEP),
    ("sl-2.example.org", ROLE_TAGS): policy(OTHER_OLD, MAINTENANCE_KEEP),
    ("sl3", ROLE_TAGS): policy(NOT_UPGRADED, MAINTENANCE_KEEP),  # still on the old agent
    ("sl1", tuple(sorted(OPERATOR_TAGS))): {OPERATOR},  # tagged by hand: a group of its own
    ("sl1", ("etc-backup",)): set(FOREIGN),  # not the role's: untouched
}


def group_of(snapshot: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    return snapshot["hostname"], tuple(sorted(snapshot.get("tags") or []))


def grouped(snapshots: list[dict[str, Any]]) -> dict[tuple[str, tuple[str, ...]], list[Any]]:
    groups: dict[tuple[str, tuple[str, ...]], list[Any]] = {}
    for snapshot in snapshots:
        groups.setdefault(group_of(snapshot), []).append(at(snapshot["time"][:16].replace("T", " ")))
    return {key: sorted(value) for key, value in groups.items()}


@pytest.fixture(scope="module")
def maintained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The simulated year's snapshots of every host, never retained (append-only hosts), and the
    maintenance's cmd_maintain on the repository; what was seen before and after."""
    require("restic", "restic")
    repo = Repository(tmp_path_factory.mktemp("maintained"))
    ids = (SL1_FIRST_MACHINE, SL1_MACHINE, SL2_MACHINE, SL3_MACHINE)
    machine = {machine_id: write_machine_id(repo.base / "machines", machine_id) for machine_id in ids}
    main = repo.config(settings("sl1", "flower-superlink", machine_id_file=machine[SL1_MACHINE]))
    first = {**main, "machine_id_file": machine[SL1_FIRST_MACHINE]}  # sl1 before it was replaced
    second = repo.config(settings("sl1", "flower-second", machine_id_file=machine[SL1_MACHINE]), repo.base / "second")
    second["database"] = "/var/lib/flower-second/state.db"
    other = repo.config(settings("sl-2.example.org", "flower-superlink", machine_id_file=machine[SL2_MACHINE]))
    old_agent = repo.config(settings("sl3", "flower-superlink", machine_id_file=machine[SL3_MACHINE]))
    foreign = repo.config(main, repo.base / "etc")
    repo.init()
    repo.send(
        [
            *[(main if when >= REPLACED else first, when, when < UPGRADE, ()) for when in MAIN_TIMES],
            *[(second, when, when in SECOND_OLD, ()) for when in SECOND_TIMES + SECOND_OLD],
            *[(other, when, when in OTHER_OLD, ()) for when in OTHER_TIMES + OTHER_OLD],
            *[(old_agent, when, True, ()) for when in NOT_UPGRADED],
            (repo.config(first, repo.base / "old-backups"), STRAY, True, ()),
            (main, OPERATOR, False, OPERATOR_TAGS),
            *[(foreign, when, False, ("etc-backup",)) for when in FOREIGN],
        ]
    )
    seen: dict[str, Any] = {"before": repo.snapshots(), "data_before": repo.data()}
    metrics_file = repo.base / "flower-offsite-maintenance-offsite-main.prom"
    config = maintenance_settings(MAINTENANCE_KEEP, check_read_data="100%", metrics_file=str(metrics_file))
    config |= repo.access
    calls: list[tuple[str, ...]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(agent, "run_restic", recording(calls))
        seen["answer"] = agent.cmd_maintain(config)
    seen |= {"calls": calls, "config": config, "data_after": repo.data(), "left": repo.snapshots()}
    seen["metrics"] = metrics_file.read_text()
    seen["state"] = json.loads((Path(config["cache_dir"]) / "state.json").read_text())
    return seen


def test_the_year_holds_every_group_before_the_maintenance(maintained: dict[str, Any]) -> None:
    """The timeline as sent (nothing retained it), and the policy is one that removes from each
    group of the role's with more than one snapshot (three hosts, two SuperLinks, unnamed ones)."""
    taken = grouped(maintained["before"])
    assert set(taken) == set(MAINTAINED)
    for key, kept in MAINTAINED.items():
        assert kept <= set(taken[key]), key
        if len(taken[key]) > 1 and "flower-superlink" in key[1]:
            assert len(kept) < len(taken[key]), f"{key}: the policy removes nothing from it"


def test_the_maintenance_leaves_exactly_what_the_keep_rules_name(maintained: dict[str, Any]) -> None:
    assert grouped(maintained["left"]) == {key: sorted(kept) for key, kept in MAINTAINED.items()}
    # policy() by hand at a few points: the newest of all stays; the stray directory's snapshot
    # goes (a host's own retention leaves it: nobody's by its paths), as does sl3's older one.
    assert at("2025-06-18 10:25") in MAINTAINED[("sl1", on(NAMED, SL1_MACHINE))]
    # The first machine's snapshot of May stays: the newest of its own group (one series with the
    # machine that replaced it would keep 31 May's instead).
    assert MAINTAINED[("sl1", on(NAMED, SL1_FIRST_MACHINE))] == set(MAIN_FIRST_MACHINE) == {at("2025-05-01 00:05")}
    assert STRAY not in MAINTAINED[("sl1", ROLE_TAGS)]
    assert MAINTAINED[("sl3", ROLE_TAGS)] == {max(NOT_UPGRADED)}


def test_the_maintenance_removes_nothing_without_the_role_tag(maintained: dict[str, Any]) -> None:
    foreign = {s["id"] for s in maintained["before"] if "flower-superlink" not in (s.get("tags") or [])}
    assert len(foreign) == len(FOREIGN)
    assert foreign <= {s["id"] for s in maintained["left"]}


def test_the_maintenance_prunes_the_space_back_and_checks(maintained: dict[str, Any]) -> None:
    removed = len(maintained["before"]) - len(maintained["left"])
    assert removed == sum(len(set(t)) - len(MAINTAINED[k]) for k, t in grouped(maintained["before"]).items())
    assert removed > 40
    (packs_before, bytes_before), (packs_after, bytes_after) = maintained["data_before"], maintained["data_after"]
    # Each backup's data went into packs of its own: a removed one's are wholly unused, and gone.
    assert packs_after <= packs_before - removed, (packs_before, packs_after)
    assert bytes_before - bytes_after >= removed * DATA, (bytes_before, bytes_after)
    assert maintained["answer"] == {"forget": "ok", "prune": "ok", "check": "ok"}
    config = maintained["config"]
    assert maintained["calls"] == [
        tuple(agent.maintenance_forget_args(config)),
        ("prune",),
        ("check", "--read-data-subset=100%"),
    ]
    state = maintained["state"]
    assert {step: state[step][f"{step}_success"] for step in state} == {"forget": 1, "prune": 1, "check": 1}
    said = samples(maintained["metrics"])
    for step in ("forget", "prune", "check"):
        family = f'flower_superlink_backup_repository_{step}_{{}}{{{{host="offsite-main"}}}}'
        assert said[family.format("success")] == "1"
        assert said[family.format("timestamp_seconds")] == str(state[step][f"{step}_timestamp_seconds"])


def test_the_append_only_check_leaves_the_forgotten_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real restic: a snapshot forgotten (by the maintenance, say) leaves its data until a prune;
    the append-only check unit reads the repository back and leaves that data where it is, and
    drops the prune entry an earlier check left. The same repository's ordinary check prunes it."""
    require("restic", "restic")
    repo = Repository(tmp_path)
    repo.init()
    config = repo.config(settings("sl1", "flower-superlink", machine_id_file=write_machine_id(tmp_path, SL1_MACHINE)))
    for when in (at("2025-06-18 09:05"), at("2025-06-18 10:05")):
        repo.snapshot(config, when)
    older = min(repo.snapshots(), key=lambda s: s["time"])["id"]
    repo.restic(config, "forget", older)
    packs = sorted((repo.base / "repo" / "data").rglob("*/*"))
    metrics_file = tmp_path / "flower_offsite_backup.prom"
    (Path(config["cache_dir"]) / "state.json").write_text(json.dumps({"prune": STEP, "offsite": {"last_runs": 2}}))
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(agent, "run_restic", recording(calls))
    checking = {**config, "metrics_file": str(metrics_file), "check_read_data": "100%"}
    assert agent.cmd_check({**checking, "append_only": True}) == {"check": "ok"}
    assert calls == [("check", "--read-data-subset=100%")]
    assert sorted((repo.base / "repo" / "data").rglob("*/*")) == packs
    state = json.loads((Path(config["cache_dir"]) / "state.json").read_text())
    assert sorted(state) == ["check", "offsite"]
    assert "prune" not in metrics_file.read_text()
    assert samples(metrics_file.read_text())['flower_superlink_backup_repository_check_success{host="sl1"}'] == "1"
    # The data was there for a prune to take: the ordinary check unit's takes it.
    assert agent.cmd_check(checking) == {"prune": "ok", "check": "ok"}
    assert len(sorted((repo.base / "repo" / "data").rglob("*/*"))) < len(packs)
    said = samples(metrics_file.read_text())
    assert said['flower_superlink_backup_repository_prune_success{host="sl1"}'] == "1"


# --- a real append-only server --------------------------------------------------------------

PASSWORDS = {"sl1": "sl1-secret", "sl2": "sl2-secret"}
LISTING = "application/vnd.x.restic.rest.v2"  # the REST API version restic speaks


@dataclass
class Server:
    data: Path
    port: int

    def repository(self, user: str) -> str:
        return f"rest:http://{user}:{PASSWORDS[user]}@127.0.0.1:{self.port}/{user}/"

    def request(
        self, method: str, path: str, user: str | None, password: str | None = None, body: bytes | None = None
    ) -> tuple[int, bytes]:
        """One HTTP request as restic makes them (the v2 API), as USER (None: no credentials)."""
        headers = {"Accept": LISTING}
        if user is not None:
            pair = f"{user}:{PASSWORDS[user] if password is None else password}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def files(self, user: str) -> dict[str, bytes]:
        """The repository's files on the server, but its locks (every restic process writes and removes one)."""
        root = self.data / user
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and p.parent.name != "locks"
        }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """rclone serve restic --append-only --private-repos on a free port of 127.0.0.1: users sl1
    and sl2 (htpasswd, SHA-1 entries: rclone reads apache's MD5, SHA-1 and bcrypt ones), each
    only under /<user>/. sl2's repository is there already (written by the server's admin)."""
    require("rclone", "rclone")
    base = tmp_path_factory.mktemp("rest-server")
    (base / "data").mkdir()
    (base / "rclone.conf").touch()  # nothing of ~/.config/rclone
    sha1 = {user: base64.b64encode(hashlib.sha1(pw.encode()).digest()).decode() for user, pw in PASSWORDS.items()}
    (base / "htpasswd").write_text("".join(f"{user}:{{SHA}}{digest}\n" for user, digest in sha1.items()))
    argv = ["rclone", "serve", "restic", "--append-only", "--private-repos", "--htpasswd", str(base / "htpasswd")]
    # Port 0: the kernel's free port, which rclone names in its log (no race for a port chosen here).
    argv += ["--addr", "127.0.0.1:0", "--config", str(base / "rclone.conf"), str(base / "data")]
    log = base / "rclone.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={"PATH": RESTIC_PATH, "HOME": str(base)}
        )
    try:
        deadline = time.monotonic() + 15
        while not (found := re.search(r"http://127\.0\.0\.1:([0-9]+)/", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, f"rclone did not serve: {log.read_text()}"
            time.sleep(0.05)
        served = Server(base / "data", int(found[1]))
        while served.request("GET", "/sl1/config", None)[0] != 401:  # it answers (and asks who)
            assert time.monotonic() < deadline, f"rclone does not answer: {log.read_text()}"
            time.sleep(0.05)
        create_repository(served.data / "sl2", "sl2's repository password")
        yield served
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def host_settings(base: Path, repository: str, machine_id: str = SL1_MACHINE, **more: Any) -> dict[str, Any]:
    """sl1's agent.json on a machine in BASE (its SuperLink database of two runs, lock, backup and
    cache directories, deployment record, metrics file and /etc/machine-id holding MACHINE_ID),
    backing up to REPOSITORY with PASSWORD; MORE on top."""
    base.mkdir(parents=True, exist_ok=True)
    database = base / "state.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE run (run_id INTEGER PRIMARY KEY, status TEXT)")
        db.executemany("INSERT INTO run (status) VALUES (?)", [("finished",), ("running",)])
    db.close()
    (base / "password").write_text(PASSWORD + "\n")
    (base / "cache").mkdir()
    return {
        **settings("sl1", "flower-superlink", machine_id_file=write_machine_id(base, machine_id)),
        "database": str(database),
        "backup_dir": str(base / "backups"),
        "lock": str(base / "flower-superlink.ansible-lock"),
        "lock_wait": 5,
        "keep_local": 3,
        "record": str(base / "deployed.json"),
        "repository": repository,
        "password_file": str(base / "password"),
        "cache_dir": str(base / "cache"),
        "environment": {"TZ": "UTC"},
        "metrics_file": str(base / "flower_offsite_backup.prom"),
        "check_read_data": "100%",
        **more,
    }


@pytest.fixture(scope="module")
def host(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """sl1's agent on its append-only credentials: restic init of its repository through the
    server, then two scheduled backups (cmd_backup: the local backup of a SuperLink database
    under its lock, sent), every restic process it starts recorded."""
    require("restic", "restic")
    config = host_settings(tmp_path_factory.mktemp("sl1"), server.repository("sl1"), append_only=True)
    seen: dict[str, Any] = {"config": config}
    calls: list[tuple[str, ...]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(agent, "run_restic", recording(calls))
        seen["init"] = agent.restic(config, "init")
        assert seen["init"].returncode == 0, agent.restic_error(seen["init"])
        # The server's admin swaps the calibrated key for a cheap one of the same master key.
        master = json.loads(agent.restic(config, "cat", "masterkey").stdout)
        keys = list((server.data / "sl1" / "keys").iterdir())
        cheap = write_key(server.data / "sl1", PASSWORD, tuple(base64.b64decode(k) for k in _master(master)))
        for key in keys:
            key.unlink()
        seen["keys"] = [cheap.name]
        seen["backups"] = []
        for _ in range(2):
            calls.clear()
            seen["backups"].append((agent.cmd_backup(config), list(calls)))
    seen["listed"] = listing(config)
    return seen


def _master(master: dict[str, Any]) -> tuple[str, str, str]:
    """`restic cat masterkey`'s JSON: the AES-256 key, then the MAC's k and r (base64)."""
    return master["encrypt"], master["mac"]["k"], master["mac"]["r"]


def listing(config: dict[str, Any]) -> list[dict[str, Any]]:
    done = agent.restic(config, "snapshots", "--json")
    assert done.returncode == 0, agent.restic_error(done)
    return sorted(json.loads(done.stdout), key=agent.listing_order)


def test_the_host_inits_and_backs_up_through_the_server(server: Server, host: dict[str, Any]) -> None:
    assert "created restic repository" in host["init"].stdout
    assert sorted(p.name for p in (server.data / "sl1" / "keys").iterdir()) == host["keys"]
    # The second backup also lists this host's snapshots, for another machine's (it reads nothing
    # the append-only credentials cannot); neither applies the keep rules (no tag, no forget).
    looks = ("snapshots", "--json", "--host", "sl1", "--tag", "flower-superlink")
    for (answer, calls), after in zip(host["backups"], [[], [looks]], strict=True):
        db = Path(answer["backup"])
        assert calls == [tuple(agent.backup_args(host["config"], [db, db.with_suffix(".json")])), *after]
        assert answer["runs"] == 2
    listed = host["listed"]
    assert [s["id"][:8] for s in listed] == [answer["snapshot"][:8] for answer, _ in host["backups"]]
    for snapshot in listed:
        assert (snapshot["hostname"], sorted(snapshot["tags"])) == ("sl1", sorted(on(NAMED, SL1_MACHINE)))
        assert (server.data / "sl1" / "snapshots" / snapshot["id"]).is_file()
    said = samples(Path(host["config"]["metrics_file"]).read_text())
    assert said['flower_superlink_backup_last_attempt_success{host="sl1",location="offsite"}'] == "1"
    assert said['flower_superlink_backup_other_machine_writing{host="sl1"}'] == "0"


def test_the_server_refuses_the_hosts_forget(
    server: Server, host: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forget the host's retention would run (forget_args), with its credentials: the server
    refuses to delete the snapshot file (403). restic retries that for about 45 s, so it is
    interrupted at the first refusal (SIGINT: restic removes its lock, which the server allows)."""
    before = server.files("sl1")

    def interrupted(argv: list[str], env: dict[str, str], **_: Any) -> subprocess.CompletedProcess:
        with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            timer = threading.Timer(30, process.kill)
            timer.start()
            said = []
            assert process.stderr is not None
            for line in process.stderr:
                said.append(line)
                if "403" in line:
                    process.send_signal(signal.SIGINT)
                    break
            out, err = process.communicate(timeout=30)
            timer.cancel()
        return subprocess.CompletedProcess(argv, process.returncode, out, "".join(said) + err)

    monkeypatch.setattr(agent.subprocess, "run", interrupted)
    done = agent.run_restic(host["config"], *agent.forget_args({**host["config"], "forget": ["--keep-last", "1"]}))
    monkeypatch.undo()
    assert done.returncode != 0
    older = host["listed"][0]["id"]
    assert f"Remove(<snapshot/{older[:10]}>) returned error" in done.stderr
    assert "403 Forbidden" in done.stderr
    assert server.files("sl1") == before
    assert list((server.data / "sl1" / "locks").iterdir()) == []
    assert [s["id"] for s in listing(host["config"])] == [s["id"] for s in host["listed"]]


def one_file(root: Path, kind: str) -> tuple[str, Path]:
    """A file of KIND in the repository at ROOT: its path in the REST API, and on the server."""
    if kind == "config":
        return "config", root / "config"
    found = sorted(p for p in (root / kind).rglob("*") if p.is_file())
    assert found, f"no {kind} file in {root}"
    return f"{kind}/{found[0].name}", found[0]  # data/<name>: the API names no subdirectory


REFUSED_ROWS = [
    # id, method, the kind of file sl1 tries to delete or overwrite in its own repository
    *[(f"delete-{kind}", "DELETE", kind) for kind in ("config", "keys", "snapshots", "index", "data")],
    *[(f"overwrite-{kind}", "POST", kind) for kind in ("config", "keys", "snapshots", "index", "data")],
]


@pytest.mark.parametrize(("method", "kind"), [r[1:] for r in REFUSED_ROWS], ids=[r[0] for r in REFUSED_ROWS])
def test_the_server_refuses_every_deletion_and_overwrite(
    server: Server, host: dict[str, Any], method: str, kind: str
) -> None:
    path, file = one_file(server.data / "sl1", kind)
    content = file.read_bytes()
    assert server.request("GET", f"/sl1/{path}", "sl1") == (200, content)  # the API path names that file
    status, _ = server.request(method, f"/sl1/{path}", "sl1", body=b"not restic's" if method == "POST" else None)
    assert status == 403
    assert file.read_bytes() == content


ISOLATION_ROWS = [
    # id, user (None: no credentials), password (None: the user's), method, path, the status
    ("own-config", "sl1", None, "GET", "/sl1/config", 200),
    ("own-listing", "sl1", None, "GET", "/sl1/snapshots/", 200),
    ("sl2-own-config", "sl2", None, "GET", "/sl2/config", 200),
    ("sl2-reads-sl1-config", "sl2", None, "GET", "/sl1/config", 403),
    ("sl2-probes-sl1-config", "sl2", None, "HEAD", "/sl1/config", 403),
    ("sl2-lists-sl1-snapshots", "sl2", None, "GET", "/sl1/snapshots/", 403),
    ("sl2-lists-sl1-keys", "sl2", None, "GET", "/sl1/keys/", 403),
    ("sl2-reads-sl1-snapshot", "sl2", None, "GET", "/sl1/snapshots/{snapshot}", 403),
    ("sl2-writes-into-sl1", "sl2", None, "POST", "/sl1/snapshots/" + "0" * 64, 403),
    ("sl1-reads-sl2-config", "sl1", None, "GET", "/sl2/config", 403),
    ("sl1-lists-sl2-keys", "sl1", None, "GET", "/sl2/keys/", 403),
    ("sl1-writes-into-sl2", "sl1", None, "POST", "/sl2/snapshots/" + "0" * 64, 403),
    ("sl1-lists-the-server", "sl1", None, "GET", "/", 403),
    ("sl2-with-sl1s-password", "sl2", PASSWORDS["sl1"], "GET", "/sl1/config", 401),
    ("no-credentials", None, None, "GET", "/sl1/config", 401),
]


@pytest.mark.parametrize(
    ("user", "password", "method", "path", "status"),
    [r[1:] for r in ISOLATION_ROWS],
    ids=[r[0] for r in ISOLATION_ROWS],
)
def test_each_user_reaches_its_own_repository_only(
    server: Server, host: dict[str, Any], user: str | None, password: str | None, method: str, path: str, status: int
) -> None:
    path = path.format(snapshot=host["listed"][0]["id"])
    before = {name: server.files(name) for name in ("sl1", "sl2")}
    got, body = server.request(method, path, user, password, body=b"{}" if method == "POST" else None)
    assert got == status, body
    if status == 200 and path.endswith("/"):
        assert isinstance(json.loads(body), list)
    if status == 200 and path.endswith("config"):
        assert body == (server.data / path.lstrip("/")).read_bytes()
    assert {name: server.files(name) for name in ("sl1", "sl2")} == before


def test_the_append_only_check_passes_through_the_server(
    server: Server, host: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = server.files("sl1")
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(agent, "run_restic", recording(calls))
    assert agent.cmd_check(host["config"]) == {"check": "ok"}
    assert calls == [("check", "--read-data-subset=100%")]
    assert server.files("sl1") == before
    metrics = Path(host["config"]["metrics_file"]).read_text()
    assert samples(metrics)['flower_superlink_backup_repository_check_success{host="sl1"}'] == "1"
    assert "prune" not in metrics


def test_the_maintenance_on_the_servers_directory_then_the_host_lists_what_is_kept(
    server: Server, host: dict[str, Any], tmp_path: Path
) -> None:
    """The maintenance on the backup server, with the repository as its local path (the delete
    rights): forget, prune and check; sl1's credentials then list the snapshot the rules keep (the
    newest, keep-hourly 1), and sl1's append-only check still passes."""
    (tmp_path / "password").write_text(PASSWORD + "\n")
    config = maintenance_settings(
        NONE | {"hourly": 1},
        check_read_data="100%",
        metrics_file=str(tmp_path / "maintenance.prom"),
        repository=str(server.data / "sl1"),
        password_file=str(tmp_path / "password"),
        cache_dir=str(tmp_path),
        environment={"TZ": "UTC"},
    )
    packs_before = {name for name in server.files("sl1") if name.startswith("data/")}
    assert agent.cmd_maintain(config) == {"forget": "ok", "prune": "ok", "check": "ok"}
    newest = host["listed"][-1]["id"]
    assert [s["id"] for s in listing(host["config"])] == [newest]
    assert sorted(p.name for p in (server.data / "sl1" / "snapshots").iterdir()) == [newest]
    packs_after = {name for name in server.files("sl1") if name.startswith("data/")}
    assert packs_after != packs_before  # pruned: the forgotten snapshot's data rewritten or gone
    assert agent.cmd_check(host["config"]) == {"check": "ok"}
