"""Two machines backing up as one host (role flower_offsite_backup): the machine tag.

A machine that replaces a lost host keeps its inventory name; if the machine
it replaced is not dead after all, both back up as that host. So every
snapshot also names the machine that took it (machine_tag: `machine:` and the
first 16 hex digits of the SHA-256 of /etc/machine-id), and a backup, once
stored, looks for a snapshot of its host and SuperLink that another machine
took since this machine's previous good backup (other_machines), fails
naming it and says so in the metrics (other_machine_writing) before the
keep rules run.

What test_retention.py and test_append_only.py build is imported from them:
the agent loaded as the host runs it, agent.json's settings on a machine in
tmp_path (host_settings: a SuperLink database, its lock, and a machine ID
file, so no test reads this machine's /etc/machine-id), the simulated
machines' IDs and their tags computed independently (tag_of), the cheap
repository (Repository: a key at CHEAP_SCRYPT), restic's process recorder
and the metrics reader. Three layers:

- machine_tag on machine ID files written here, one row per case;
- other_machines on hand-built listings, one row per case;
- real restic: two machines back up as sl1 through cmd_backup, in turns,
  and what each run stores, refuses, records and leaves is checked.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from test_append_only import host_settings, recording, require, samples
from test_retention import (
    SL1_FIRST_MACHINE,
    SL1_MACHINE,
    SL2_MACHINE,
    Repository,
    agent,
    settings,
    sid,
    snap,
    tag_of,
    utc,
    write_machine_id,
)

# --- machine_tag -----------------------------------------------------------------------------

# SL1_MACHINE's tag, from `printf %s ff2d84ad2e23b17db11727301e27b553 | sha256sum`.
SL1_TAG = "machine:e304c2776320fef2"
NO_ID = " holds no machine ID)"
MACHINE_TAG_ROWS = [
    # id, what the machine ID file holds (None: there is none; ...: it is a directory), the tag or
    # what the refusal says after the file's name
    ("as-systemd-writes-it", SL1_MACHINE + "\n", SL1_TAG),
    ("no-newline", SL1_MACHINE, SL1_TAG),
    ("another-machine", SL2_MACHINE + "\n", tag_of(SL2_MACHINE)),
    ("missing", None, ": No such file or directory)"),
    ("empty", "", NO_ID),
    ("uninitialized", "uninitialized\n", NO_ID),  # systemd's word before the first boot completes
    ("31-digits", SL1_MACHINE[:31] + "\n", NO_ID),
    ("33-digits", SL1_MACHINE + "0\n", NO_ID),
    ("upper-case", SL1_MACHINE.upper() + "\n", NO_ID),
    ("not-hex", "g" + SL1_MACHINE[1:] + "\n", NO_ID),
    ("two-ids", f"{SL1_MACHINE}\n{SL2_MACHINE}\n", NO_ID),
    ("a-directory", ..., ": Is a directory)"),
]


@pytest.mark.parametrize(("content", "said"), [r[1:] for r in MACHINE_TAG_ROWS], ids=[r[0] for r in MACHINE_TAG_ROWS])
def test_the_machine_tag_is_its_ids_hash_or_refused(tmp_path: Path, content: Any, said: str) -> None:
    path = tmp_path / "machine-id"
    if content is ...:
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    config = settings("sl1", "flower-superlink", machine_id_file=str(path))
    if said.startswith("machine:"):
        assert agent.machine_tag(config) == said
        assert agent.backup_args(config, [Path("/b/x.db")])[-3:] == ["--tag", said, "/b/x.db"]
    else:
        with pytest.raises(agent.Refused) as refused:
            agent.machine_tag(config)
        assert str(refused.value) == f"this machine has no ID to tag its snapshots with ({path}{said}"


def test_the_tag_helper_agrees_with_sha256sum() -> None:
    assert tag_of(SL1_MACHINE) == SL1_TAG


def test_without_a_file_named_it_is_etc_machine_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The role writes no machine_id_file: the agent reads /etc/machine-id (here, its constant
    pointed at a file in tmp_path); the tests' agent.json names one that does not exist."""
    assert agent.MACHINE_ID_FILE == "/etc/machine-id"
    monkeypatch.setattr(agent, "MACHINE_ID_FILE", write_machine_id(tmp_path, SL2_MACHINE))
    assert agent.machine_tag({}) == agent.machine_tag({"machine_id_file": ""}) == tag_of(SL2_MACHINE)
    with pytest.raises(agent.Refused, match="/nonexistent/"):
        agent.machine_tag(settings("sl1", "flower-superlink"))


# --- other_machines --------------------------------------------------------------------------

MINE, OLD, THIRD = tag_of(SL1_MACHINE), tag_of(SL1_FIRST_MACHINE), tag_of(SL2_MACHINE)
SINCE = utc("2025-06-18 10:00:00")  # this machine's previous good backup
NANOS = utc("2025-06-18 10:00:00", 123456789)
OTHER_ROWS = [
    # id, the listing (label, time (...: none), machine tags), since, the labels found, newest first
    ("none", [], SINCE, ""),
    ("only-mine", [("a", "2025-06-18T10:30:00Z", MINE), ("b", "2025-06-18T09:00:00Z", MINE)], SINCE, ""),
    ("other-before-since", [("a", "2025-06-18T09:59:59Z", OLD)], SINCE, ""),
    ("other-after-since", [("a", "2025-06-18T10:00:01Z", OLD), ("b", "2025-06-18T10:30:00Z", MINE)], SINCE, "a"),
    ("other-equal-to-since", [("a", "2025-06-18T10:00:00Z", OLD)], SINCE, ""),
    (
        "several-newest-first",
        [
            ("a", "2025-06-18T10:10:00Z", OLD),
            ("b", "2025-06-18T10:30:00Z", THIRD),
            ("c", "2025-06-18T09:00:00Z", OLD),
            ("d", "2025-06-18T10:20:00Z", OLD),
            ("e", "2025-06-18T10:40:00Z", MINE),
        ],
        SINCE,
        "bda",
    ),
    # Taken before snapshots named their machine: not another machine's.
    ("untagged-legacy", [("a", "2025-06-18T10:30:00Z")], SINCE, ""),
    ("two-tags-one-mine", [("a", "2025-06-18T10:30:00Z", OLD, MINE)], SINCE, ""),
    ("two-tags-neither-mine", [("a", "2025-06-18T10:30:00Z", OLD, THIRD)], SINCE, "a"),
    # By instant, not as text: 11:30+02:00 is 09:30 UTC, 05:30-05:00 is 10:30 UTC.
    ("east-offset-before", [("a", "2025-06-18T11:30:00+02:00", OLD)], SINCE, ""),
    ("west-offset-after", [("a", "2025-06-18T05:30:00-05:00", OLD)], SINCE, "a"),
    (
        "offsets-newest-first",
        [("a", "2025-06-18T12:40:00+02:00", OLD), ("b", "2025-06-18T10:50:00Z", OLD)],
        SINCE,
        "ba",
    ),
    # A time that is no time cannot be placed before this machine's backup: it counts.
    ("unparseable-time", [("a", "yesterday", OLD)], SINCE, "a"),
    ("no-time", [("a", ..., OLD)], SINCE, "a"),
    (
        "nanosecond-boundary",
        [
            ("a", "2025-06-18T10:00:00.123456788Z", OLD),
            ("b", "2025-06-18T10:00:00.123456789Z", OLD),
            ("c", "2025-06-18T10:00:00.12345679Z", OLD),  # one nanosecond after
        ],
        NANOS,
        "c",
    ),
]


def taken(label: str, when: Any, *machines: str) -> dict[str, Any]:
    """A snapshot of sl1's SuperLink as restic lists it, tagged with MACHINES."""
    snapshot = snap(label, when)
    snapshot["tags"] += machines
    return snapshot


@pytest.mark.parametrize(("listing", "since", "found"), [r[1:] for r in OTHER_ROWS], ids=[r[0] for r in OTHER_ROWS])
def test_other_machines_since_the_previous_backup(listing: list[tuple], since: int, found: str) -> None:
    snapshots = [taken(*entry) for entry in listing]
    assert [s["id"] for s in agent.other_machines(snapshots, MINE, since)] == [sid(label) for label in found]


def test_the_refusal_names_the_newest_other_machines_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """cmd_backup, restic answered by a stand-in: this machine's previous good backup at SINCE, and
    two other machines' snapshots after it. The backup is sent, the host's snapshots listed, and
    the refusal names the newest of them, its machine and its time; nothing runs after."""
    listing = [
        taken("a", "2025-06-18T10:10:00Z", OLD),
        taken("b", "2025-06-18T12:30:00+02:00", THIRD),  # 10:30 UTC
        taken("c", "2025-06-18T10:20:00Z", OLD),
        taken("d", "2025-06-18T10:40:00Z", MINE),
    ]
    answers = {
        "backup": json.dumps({"message_type": "summary", "snapshot_id": "e" * 8}),
        "snapshots": json.dumps(listing),
    }
    calls: list[tuple[str, ...]] = []

    def restic(config: dict[str, Any], *args: str, timeout: int = 3600) -> subprocess.CompletedProcess:
        calls.append(args)
        return subprocess.CompletedProcess(args, 0, answers[args[0]], "")

    db = str(tmp_path / "state-20250618T104500.000000Z-scheduled.db")
    monkeypatch.setattr(agent, "restic", restic)
    monkeypatch.setattr(agent, "local_backup", lambda config: {"path": db, "size": 1, "runs": 2})
    (tmp_path / "state.json").write_text(json.dumps({"offsite": {"last_success_timestamp_seconds": SINCE // 10**9}}))
    config = {
        **settings("sl1", "flower-superlink", machine_id_file=write_machine_id(tmp_path, SL1_MACHINE)),
        "cache_dir": str(tmp_path),
        "metrics_file": str(tmp_path / "flower_offsite_backup.prom"),
    }
    with pytest.raises(agent.Refused) as refused:
        agent.cmd_backup(config)
    assert str(refused.value).startswith(
        f"backup eeeeeeee stored, but another machine ({THIRD}) also backs up as sl1 (SuperLink flower-superlink): "
        f"its snapshot {sid('b')[:8]} of 2025-06-18T12:30:00+02:00 is newer than this machine's previous backup."
    )
    assert calls[1:] == [LOOKS]
    said = samples((tmp_path / "flower_offsite_backup.prom").read_text())
    assert said['flower_superlink_backup_other_machine_writing{host="sl1"}'] == "1"


# --- two machines as sl1, real restic ----------------------------------------------------------------


def backup(repo: Repository, config: dict[str, Any]) -> dict[str, Any]:
    """cmd_backup on CONFIG's machine: its answer or refusal, the restic commands it ran, and the
    repository's snapshots, the state and the metrics it left."""
    calls: list[tuple[str, ...]] = []
    seen: dict[str, Any] = {"answer": None, "refused": None, "calls": calls}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(agent, "run_restic", recording(calls))
        try:
            seen["answer"] = agent.cmd_backup(config)
        except agent.Refused as err:
            seen["refused"] = str(err)
    seen["snapshots"] = repo.snapshots()
    seen["state"] = json.loads((Path(config["cache_dir"]) / "state.json").read_text())
    seen["metrics"] = samples(Path(config["metrics_file"]).read_text())
    return seen


@pytest.fixture(scope="module")
def turns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """sl1 is replaced by machine A (SL1_MACHINE), but the machine it replaced, B
    (SL1_FIRST_MACHINE), still runs: each backs up as sl1 in turns, B first (B0), then A's very
    first backup (A1), B again (B1), A (A2), and A once more (A3). Between B1 and A2 the clock
    passes a whole second: A3's previous good backup (A2's start, in seconds) is after B1."""
    require("restic", "restic")
    base = tmp_path_factory.mktemp("two-machines")
    repo = Repository(base)
    repo.init()
    # keep-last 1: a retention that runs leaves only the newest snapshot of each group.
    a, b = (
        host_settings(base / name, repo.access["repository"], machine, forget=["--keep-last", "1"])
        for name, machine in (("a", SL1_MACHINE), ("b", SL1_FIRST_MACHINE))
    )
    seen = {"a": a, "b": b, "B0": backup(repo, b), "A1": backup(repo, a), "B1": backup(repo, b)}
    b1 = agent.snapshot_instant(max(seen["B1"]["snapshots"], key=agent.listing_order)["time"])
    while time.time_ns() // 10**9 * 10**9 <= b1:
        time.sleep(0.01)
    seen |= {"A2": backup(repo, a), "A3": backup(repo, a)}
    return seen


def of(seen: dict[str, Any], machine: str) -> list[str]:
    """The IDs of MACHINE's snapshots in what SEEN listed, oldest first."""
    ordered = sorted(seen["snapshots"], key=agent.listing_order)
    return [s["id"] for s in ordered if tag_of(machine) in s["tags"]]


# A backup's one listing of its host's snapshots, for both another machine's and retention.
LOOKS = ("snapshots", "--json", "--host", "sl1", "--tag", "flower-superlink")


def test_a_first_backup_never_reports_another_machine(turns: dict[str, Any]) -> None:
    """B0 and A1 are each machine's first: no previous good backup, nothing to look for, though
    B's snapshot is there when A backs up; each retention runs."""
    for name, machine in (("B0", SL1_FIRST_MACHINE), ("A1", SL1_MACHINE)):
        run = turns[name]
        assert run["refused"] is None, run["refused"]
        assert of(run, machine)[-1].startswith(run["answer"]["snapshot"])  # restic 0.14 names it by 8 digits
        assert "other_machine" not in run["state"]
        assert not [key for key in run["metrics"] if "other_machine" in key]
        # Listed once, for retention only.
        assert [c[0] for c in run["calls"]] == ["backup", "snapshots", "forget"] and run["calls"][1] == LOOKS
    assert len(of(turns["A1"], SL1_FIRST_MACHINE)) == 1  # B's was there


def test_the_next_backup_is_stored_then_fails_naming_the_other_machine(turns: dict[str, Any]) -> None:
    """A2: stored (one snapshot more), then refused naming B's tag and newest snapshot, the
    keep rules not applied (A1 is still there: keep-last 1 would have forgotten it)."""
    before, run = turns["B1"], turns["A2"]
    assert len(run["snapshots"]) == len(before["snapshots"]) + 1
    stored, b1 = of(run, SL1_MACHINE)[-1], of(before, SL1_FIRST_MACHINE)[-1]
    assert of(run, SL1_MACHINE) == [*of(before, SL1_MACHINE), stored]
    b1_time = next(s["time"] for s in run["snapshots"] if s["id"] == b1)
    assert run["refused"] == (
        f"backup {stored[:8]} stored, but another machine ({tag_of(SL1_FIRST_MACHINE)}) also backs up as sl1 "
        f"(SuperLink flower-superlink): its snapshot {b1[:8]} of {b1_time} is newer than this machine's previous "
        "backup. Is the machine this one replaced still running? Stop its flower-offsite-backup.timer, or give "
        "one of them another inventory name. Nothing was forgotten."
    )
    assert [c[0] for c in run["calls"]] == ["backup", "snapshots"] and run["calls"][1] == LOOKS
    assert of(run, SL1_FIRST_MACHINE) == of(before, SL1_FIRST_MACHINE)
    # B, likewise, found A1 when it backed up again.
    assert tag_of(SL1_MACHINE) in before["refused"] and "Nothing was forgotten." in before["refused"]


def test_the_metrics_say_another_machine_writes(turns: dict[str, Any]) -> None:
    run = turns["A2"]
    assert run["state"]["other_machine"] == {"other_machine_writing": 1}
    assert run["metrics"]['flower_superlink_backup_other_machine_writing{host="sl1"}'] == "1"
    # The backup itself is in the repository: the off-host one succeeded.
    assert run["metrics"]['flower_superlink_backup_last_attempt_success{host="sl1",location="offsite"}'] == "1"


def test_a_backup_after_the_other_machines_newest_passes(turns: dict[str, Any]) -> None:
    """A3: B's newest (B1) is older than A's previous good backup (A2): it passes, the metric
    back at 0, and the keep rules run, on each machine's snapshots apart (keep-last 1 leaves each
    machine its newest; one group would leave A3 alone)."""
    before, run = turns["A2"], turns["A3"]
    assert run["refused"] is None, run["refused"]
    assert run["state"]["other_machine"] == {"other_machine_writing": 0}
    assert run["metrics"]['flower_superlink_backup_other_machine_writing{host="sl1"}'] == "0"
    # One listing served the look for another machine and retention.
    assert [c[0] for c in run["calls"]] == ["backup", "snapshots", "forget"] and run["calls"][1] == LOOKS
    assert [s[:8] for s in of(run, SL1_MACHINE)] == [run["answer"]["snapshot"][:8]]
    assert len(of(before, SL1_FIRST_MACHINE)) == 2
    assert of(run, SL1_FIRST_MACHINE) == of(before, SL1_FIRST_MACHINE)[-1:]
    assert len(run["snapshots"]) == 2


# --- restore: the snapshot another machine took under this host's name ---------------------------

TAKEN_ELSEWHERE_ROWS = [
    # id, the listing (label, time, machine tags), the label chosen, what taken_elsewhere says ("": nothing)
    ("mine-and-newest", [("a", "2025-06-18T10:00:00Z", MINE), ("b", "2025-06-18T11:00:00Z", MINE)], "b", ""),
    ("mine-older-than-my-newest", [("a", "2025-06-18T10:00:00Z", MINE), ("b", "2025-06-18T11:00:00Z", MINE)], "a", ""),
    ("mine-others-before-it", [("a", "2025-06-18T09:00:00Z", OLD), ("b", "2025-06-18T11:00:00Z", MINE)], "b", ""),
    ("mine-among-two-tags", [("a", "2025-06-18T10:00:00Z", OLD, MINE)], "a", ""),
    ("another-machines", [("a", "2025-06-18T10:00:00Z", OLD)], "a", f"was taken by {OLD}, not this one ({MINE})"),
    ("two-tags-neither-mine", [("a", "2025-06-18T10:00:00Z", THIRD, OLD)], "a", f"was taken by {THIRD}"),
    ("untagged-legacy", [("a", "2025-06-18T10:00:00Z")], "a", "was taken by a machine it does not name"),
    (
        "mine-but-another-wrote-after",
        [("a", "2025-06-18T10:00:00Z", MINE), ("b", "2025-06-18T10:30:00Z", OLD)],
        "a",
        f"{OLD} backed up under the same name after it (snapshot {sid('b')[:8]}, 2025-06-18T10:30:00Z)",
    ),
    (
        "the-newest-after-it-named",
        [
            ("a", "2025-06-18T10:00:00Z", MINE),
            ("b", "2025-06-18T10:30:00Z", OLD),
            ("c", "2025-06-18T10:40:00Z", THIRD),
        ],
        "a",
        f"{THIRD} backed up under the same name after it (snapshot {sid('c')[:8]}",
    ),
    # By instant: 11:30+02:00 is 09:30 UTC, before the chosen one.
    (
        "offset-written-before-it",
        [("a", "2025-06-18T10:00:00Z", MINE), ("b", "2025-06-18T11:30:00+02:00", OLD)],
        "a",
        "",
    ),
    (
        "another-machines-and-a-third-after-it",
        [("a", "2025-06-18T10:00:00Z", OLD), ("b", "2025-06-18T10:30:00Z", THIRD)],
        "a",
        f"was taken by {OLD}, not this one ({MINE}); {THIRD} backed up under the same name after it",
    ),
    # Another machine's, then the same machine again: the snapshot itself names it; nothing newer.
    (
        "another-machines-newest",
        [("a", "2025-06-18T10:00:00Z", OLD), ("b", "2025-06-18T10:30:00Z", OLD)],
        "b",
        f"snapshot {sid('b')[:8]} (2025-06-18T10:30:00Z) was taken by {OLD}, not this one ({MINE})",
    ),
    # A time that is no time cannot be placed before the chosen one: it counts.
    (
        "unplaceable-after-it",
        [("a", "2025-06-18T10:00:00Z", MINE), ("b", "yesterday", OLD)],
        "a",
        f"{OLD} backed up under the same name after it",
    ),
]


@pytest.mark.parametrize(
    ("listing", "chosen", "said"), [r[1:] for r in TAKEN_ELSEWHERE_ROWS], ids=[r[0] for r in TAKEN_ELSEWHERE_ROWS]
)
def test_what_restoring_a_snapshot_would_take_over(listing: list[tuple], chosen: str, said: str) -> None:
    snapshots = [taken(*entry) for entry in listing]
    picked = next(s for s in snapshots if s["id"] == sid(chosen))
    found = agent.taken_elsewhere(picked, snapshots, MINE)
    if not said:
        assert found == ""
    else:
        assert said in found, found
        # One problem, or both (the snapshot another's, and another machine after it).
        assert found.count("; ") == said.count("; "), found


def test_the_restore_listing_says_whose_the_latest_is(turns: dict[str, Any]) -> None:
    """Real restic, after the turns (each machine's newest kept: B1, A3). Restoring on A, latest
    is A3, its own: nothing to say. On B, latest is A3, A's. On A, B1 named by ID: B's, nothing
    after it by B. On B, B1 by ID: B's own, but A backed up after it (A3)."""
    a, b = turns["a"], turns["b"]
    b1 = of(turns["A3"], SL1_FIRST_MACHINE)[-1]
    a3 = of(turns["A3"], SL1_MACHINE)[-1]
    on_a = agent.cmd_snapshots(a, "sl1", "latest")
    assert (on_a["chosen"]["id"], on_a["taken_elsewhere"]) == (a3, "")
    on_b = agent.cmd_snapshots(b, "sl1", "latest")
    assert on_b["chosen"]["id"] == a3
    assert on_b["taken_elsewhere"].startswith(f"snapshot {a3[:8]} (")
    assert f"was taken by {tag_of(SL1_MACHINE)}, not this one ({tag_of(SL1_FIRST_MACHINE)})" in on_b["taken_elsewhere"]
    by_id = agent.cmd_snapshots(a, "sl1", b1[:12])
    assert by_id["chosen"]["id"] == b1
    theirs, mine = tag_of(SL1_FIRST_MACHINE), tag_of(SL1_MACHINE)
    assert by_id["taken_elsewhere"].endswith(f"was taken by {theirs}, not this one ({mine})")
    own_b1 = agent.cmd_snapshots(b, "sl1", b1[:12])
    assert own_b1["taken_elsewhere"].startswith(f"{mine} backed up under the same name after it (snapshot {a3[:8]}, ")
