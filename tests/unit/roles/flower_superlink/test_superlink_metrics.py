"""The SuperLink's metrics collector (roles/flower_superlink/files/superlink_metrics.py).

The collector is installed on the host beside the control script and the
textfile writer; here it is installed the same way into a temporary
directory and run on SQLite files in both of the shapes Flower's releases
use: the run table holding the status times (up to the 1.3x releases, ""
for a time not reached), and the run table pointing at a task that holds
them (later releases, NULL). Flower's own databases at 1.19, 1.25 and 1.42
are read by tests/unit/roles/flower_superlink/test_superlink_metrics_real.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import ROOT, break_index, install, load_module

FILES = [
    ROOT / "roles/flower_superlink/files/superlink_metrics.py",
    ROOT / "roles/flower_superlink/files/superlink_control.py",
    ROOT / "plugins/module_utils/prometheus_textfile.py",
]
PROMTOOL = shutil.which("promtool")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three files, as tasks/metrics.yml installs them."""
    return install(tmp_path_factory, FILES)


@pytest.fixture(scope="module")
def collector(installed: Path) -> ModuleType:
    return load_module("superlink_metrics", installed / "superlink_metrics.py")


# (starting_at, running_at, finished_at, sub_status) per status; "" is how
# the early releases store a time not reached, NULL the later ones.
def status_rows(unset: object) -> list[tuple[object, object, object, object]]:
    t = "2026-01-01T00:00:00"
    return (
        [(unset, unset, unset, "")] * 1  # pending
        + [(t, unset, unset, "")] * 2  # starting
        + [(t, t, unset, "")] * 3  # running
        + [(t, t, t, "completed")] * 4
        + [(t, t, t, "failed")] * 5
        + [(unset, unset, t, "stopped")] * 6  # stopped while pending
    )


EXPECTED_RUNS = {
    "pending": 1,
    "starting": 2,
    "running": 3,
    "finished:completed": 4,
    "finished:failed": 5,
    "finished:stopped": 6,
}


def old_shape(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE run(run_id INTEGER UNIQUE, pending_at TEXT, starting_at TEXT, running_at TEXT,"
        " finished_at TEXT, sub_status TEXT, details TEXT);"
        "CREATE TABLE node(node_id INTEGER UNIQUE, online_until REAL, heartbeat_interval REAL, public_key BLOB);"
    )
    for i, row in enumerate(status_rows("")):
        db.execute("INSERT INTO run VALUES (?, '2026-01-01', ?, ?, ?, ?, '')", (i, *row))
    now = time.time()
    db.executemany(
        "INSERT INTO node VALUES (?, ?, 30, NULL)", [(1, now + 600), (2, now + 600), (3, now - 600), (4, 0.0)]
    )
    db.commit()
    db.close()
    return path


def new_shape(path: Path, wal: bool = False) -> Path:
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.executescript(
        "CREATE TABLE run(run_id INTEGER UNIQUE, primary_task_id INTEGER NOT NULL);"
        "CREATE TABLE task(task_id INTEGER UNIQUE, run_id INTEGER, pending_at TEXT, starting_at TEXT,"
        " running_at TEXT, finished_at TEXT, sub_status TEXT, details TEXT);"
        "CREATE TABLE node(node_id INTEGER UNIQUE, status TEXT, online_until REAL);"
    )
    for i, row in enumerate(status_rows(None)):
        db.execute("INSERT INTO run VALUES (?, ?)", (i, 100 + i))
        db.execute("INSERT INTO task VALUES (?, ?, '2026-01-01', ?, ?, ?, ?, '')", (100 + i, i, *row))
    now = time.time()
    db.executemany(
        "INSERT INTO node VALUES (?, ?, ?)",
        [
            (1, "online", now + 600),
            (2, "online", now - 600),  # heartbeat lapsed, not yet marked
            (3, "offline", now + 600),
            (4, "registered", None),
            (5, "unregistered", None),
        ],
    )
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize(
    ("shape", "nodes"),
    [
        (old_shape, {"online": 2, "offline": 2, "registered": 0}),
        # The lapsed "online" one counts as offline; "unregistered" not at all.
        (new_shape, {"online": 1, "offline": 2, "registered": 1}),
    ],
    ids=["run-table-times", "task-table-times"],
)
def test_runs_and_supernodes_are_counted_as_flower_derives_them(
    collector: ModuleType, tmp_path: Path, shape: Any, nodes: dict[str, int]
) -> None:
    found = collector.read_database(str(shape(tmp_path / "state.db")))
    assert found == {"runs": EXPECTED_RUNS, "nodes": nodes}


@pytest.mark.parametrize(
    ("times", "status"),
    [
        ((None, None, None, None), "pending"),
        (("", "", "", ""), "pending"),
        (("t", None, None, None), "starting"),
        (("t", "t", None, None), "running"),
        (("t", "t", "t", "completed"), "finished:completed"),
        ((None, None, "t", "stopped"), "finished:stopped"),
        (("t", "t", "t", None), "finished:"),
        (("t", "t", "t", "a-new-one"), "finished:a-new-one"),
    ],
)
def test_run_status_is_the_last_time_reached(collector: ModuleType, times: tuple, status: str) -> None:
    assert collector.run_status(*times) == status


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("status", "online_until", "expected"),
    [
        (None, NOW + 1, "online"),  # 1.19-1.22: no status column
        (None, NOW - 1, "offline"),
        (None, NOW, "offline"),
        (None, None, "offline"),
        (None, "1800000001", "offline"),  # not a number: never online
        ("online", NOW + 1, "online"),
        ("online", NOW - 1, "offline"),  # Flower has not noticed yet
        ("online", None, "offline"),
        ("offline", NOW + 1, "offline"),
        ("registered", None, "registered"),
        ("unregistered", NOW - 1, "unregistered"),
    ],
)
def test_supernode_status_is_what_flower_would_report_now(
    collector: ModuleType, status: object, online_until: object, expected: str
) -> None:
    assert collector.node_status(status, online_until, NOW) == expected


def test_an_empty_database_has_no_runs_and_no_nodes(collector: ModuleType, tmp_path: Path) -> None:
    path = old_shape(tmp_path / "state.db")
    db = sqlite3.connect(path)
    db.executescript("DELETE FROM run; DELETE FROM node;")
    db.commit()
    db.close()
    assert collector.read_database(str(path)) == {
        "runs": {},
        "nodes": {"online": 0, "offline": 0, "registered": 0},
    }


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("CREATE TABLE other(x);", "no run table"),
        ("CREATE TABLE run(run_id INTEGER);", "no run status columns"),
        ("CREATE TABLE run(run_id INTEGER, primary_task_id INTEGER);", "no run status columns"),
    ],
)
def test_a_database_that_is_not_a_superlinks_is_refused(
    collector: ModuleType, tmp_path: Path, setup: str, error: str
) -> None:
    path = tmp_path / "state.db"
    sqlite3.connect(path).executescript(setup)
    with pytest.raises(ValueError, match=error):
        collector.read_database(str(path))


def test_a_missing_database_is_an_error_and_is_not_created(collector: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError):
        collector.read_database(str(tmp_path / "state.db"))
    assert list(tmp_path.iterdir()) == []


def test_the_read_changes_nothing_in_the_database(collector: ModuleType, tmp_path: Path) -> None:
    path = new_shape(tmp_path / "state.db")
    before = path.read_bytes()
    collector.read_database(str(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]


SYSTEM_PYTHON = Path("/usr/bin/python3")


@pytest.mark.skipif(
    os.geteuid() != 0 or not SYSTEM_PYTHON.exists(), reason="needs root and the system's python3, as the unit has"
)
def test_the_database_is_read_as_its_owner_so_sqlite_files_belong_to_flower() -> None:
    """A WAL database read by root would leave a root-owned -shm beside it,
    which Flower (uid 49999) could then not open. The child drops to the
    state directory's owner first. Run as the unit runs it: root, the
    system's python3, files any user can reach."""
    top = Path(tempfile.mkdtemp(prefix="metrics-owner-", dir="/tmp"))
    try:
        top.chmod(0o755)
        lib = top / "lib"
        lib.mkdir(mode=0o755)
        for path in FILES:
            shutil.copy(path, lib / path.name)
        state = top / "state"
        state.mkdir(mode=0o700)
        database = new_shape(state / "state.db", wal=True)
        for path in [state, *state.iterdir()]:
            os.chown(path, 49999, 49999)
        config = config_for(top, lib, database)
        result = subprocess.run(
            [str(SYSTEM_PYTHON), str(lib / "superlink_metrics.py"), "collect", str(config)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        # The collector refuses a read by anyone but the owner ("not read as
        # its owner" on stderr, no run metrics).
        assert result.returncode == 0 and not result.stderr, result.stderr
        metrics = read_metrics(top)
        assert metrics["flower_superlink_metrics_database_read_success"] == [({"service": "flower-superlink"}, "1")]
        runs = {labels["status"]: int(value) for labels, value in metrics["flower_superlink_runs"]}
        assert runs == EXPECTED_RUNS
        owners = {path.name: (path.stat().st_uid, path.stat().st_gid) for path in state.iterdir()}
        assert set(owners.values()) == {(49999, 49999)}, owners
    finally:
        shutil.rmtree(top)


def test_a_child_that_cannot_read_reports_why(collector: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "state.db").write_text("not sqlite")
    with pytest.raises(RuntimeError, match="not a database"):
        collector.read_database_as_owner(str(tmp_path / "state.db"))


def config_for(tmp_path: Path, installed: Path, database: Path) -> Path:
    (tmp_path / "metrics").mkdir()
    record = tmp_path / "flower_superlink.fact"
    record.write_text(
        json.dumps(
            {
                "current": {
                    "version": "1.42.0",
                    "image_id": "sha256:" + "a" * 64,
                    "deployed_at": "2026-12-01T10:00:00Z",
                }
            }
        )
    )
    config = {
        "service": "flower-superlink",
        "container": "flower-superlink",
        "release": "1.42.0",
        "database": str(database),
        "state_dir": str(database.parent),
        "record": str(record),
        "metrics_file": str(tmp_path / "metrics" / "flower-superlink.prom"),
        "control_script": str(installed / "superlink_control.py"),
        "probe_on_host": True,
        # Nothing listens there: the SuperLink is down.
        "control_connection": ["grpc", "Control", "127.0.0.1:9", "", ""],
        "units": ["flower-superlink-test-none.service"],
    }
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(config))
    return path


def run_collector(installed: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(installed / "superlink_metrics.py"), "collect", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def read_metrics(tmp_path: Path) -> dict[str, list[tuple[dict[str, str], str]]]:
    from ansible_collections.flower_iac.federation.plugins.module_utils.prometheus_textfile import samples_of

    return samples_of((tmp_path / "metrics" / "flower-superlink.prom").read_text())


def test_a_collection_writes_every_metric_from_flowers_data(installed: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    database = old_shape(state / "state.db")
    result = run_collector(installed, config_for(tmp_path, installed, database))
    assert result.returncode == 0, result.stderr
    metrics = read_metrics(tmp_path)
    service = {"service": "flower-superlink"}
    assert metrics["flower_superlink_up"] == [(service, "0")]
    assert "flower_superlink_listed_runs" not in metrics  # no answer, no count
    runs = {labels["status"]: int(value) for labels, value in metrics["flower_superlink_runs"]}
    assert runs == EXPECTED_RUNS
    assert metrics["flower_superlink_runs_submitted_total"] == [(service, str(sum(EXPECTED_RUNS.values())))]
    finished = {labels["sub_status"]: value for labels, value in metrics["flower_superlink_runs_finished_total"]}
    assert finished == {"completed": "4", "failed": "5", "stopped": "6"}
    nodes = {labels["status"]: value for labels, value in metrics["flower_superlink_supernodes"]}
    assert nodes == {"online": "2", "offline": "2", "registered": "0"}
    assert metrics["flower_superlink_database_size_bytes"] == [(service, str(database.stat().st_size))]
    assert metrics["flower_superlink_database_wal_size_bytes"] == [(service, "0")]
    assert int(metrics["flower_superlink_state_filesystem_avail_bytes"][0][1]) > 0
    assert metrics["flower_superlink_info"] == [
        ({**service, "release": "1.42.0", "image_id": "sha256:" + "a" * 64}, "1")
    ]
    assert metrics["flower_superlink_last_deploy_timestamp_seconds"] == [(service, "1796119200.0")]
    assert metrics["flower_superlink_metrics_database_read_success"] == [(service, "1")]
    # A unit systemd does not know is not reported as down.
    assert "flower_superlink_unit_active" not in metrics


def damaged(path: Path) -> Path:
    """A database whose counts read fine but whose index of the node table is broken."""
    break_index(path, "sqlite_autoindex_node_1")
    return path


def integrity_samples(tmp_path: Path) -> tuple[str | None, float | None]:
    metrics = read_metrics(tmp_path)
    ok = metrics.get("flower_superlink_database_integrity_ok")
    when = metrics.get("flower_superlink_database_integrity_check_timestamp_seconds")
    return (ok[0][1] if ok else None), (float(when[0][1]) if when else None)


def test_a_damaged_database_is_reported_and_the_journal_says_what_was_found(installed: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    database = damaged(old_shape(state / "state.db"))
    before = time.time()
    result = run_collector(installed, config_for(tmp_path, installed, database))
    assert result.returncode == 0, result.stderr
    ok, when = integrity_samples(tmp_path)
    assert ok == "0" and when is not None and when >= before - 1
    assert "database damaged, PRAGMA quick_check says:" in result.stderr and "btreeInitPage" in result.stderr
    # The counts were still read: the damage is where no count looks.
    assert read_metrics(tmp_path)["flower_superlink_metrics_database_read_success"][0][1] == "1"


# How long ago the last check ran (None: no earlier file), what it found,
# and whether this collection checks again (the database is now damaged).
SCHEDULE = [
    (None, "1", True),
    (10, "1", False),
    (3500, "1", False),
    (3700, "1", True),
    # A check from the future: the clock went back; check rather than wait.
    (-600, "1", True),
    # A finding of damage stands until the next check.
    (10, "0", False),
]


@pytest.mark.parametrize(("age", "last", "checks"), SCHEDULE)
def test_quick_check_runs_hourly(installed: Path, tmp_path: Path, age: int | None, last: str, checks: bool) -> None:
    state = tmp_path / "state"
    state.mkdir()
    database = damaged(old_shape(state / "state.db"))
    config = config_for(tmp_path, installed, database)
    then = time.time() - (age or 0)
    if age is not None:
        (tmp_path / "metrics" / "flower-superlink.prom").write_text(
            f'flower_superlink_database_integrity_ok{{service="flower-superlink"}} {last}\n'
            f'flower_superlink_database_integrity_check_timestamp_seconds{{service="flower-superlink"}} {then:.3f}\n'
        )
    assert run_collector(installed, config).returncode == 0
    ok, when = integrity_samples(tmp_path)
    if checks:
        assert ok == "0" and when is not None and abs(when - time.time()) < 60
    else:
        assert (ok, when) == (last, round(then, 3))


@pytest.mark.parametrize(
    "earlier",
    ["", "garbage\n", 'flower_superlink_database_integrity_ok{service="flower-superlink"} 7\n'],
    ids=["empty", "not-metrics", "no-time"],
)
def test_an_unreadable_earlier_file_means_check_now(installed: Path, tmp_path: Path, earlier: str) -> None:
    state = tmp_path / "state"
    state.mkdir()
    config = config_for(tmp_path, installed, damaged(old_shape(state / "state.db")))
    (tmp_path / "metrics" / "flower-superlink.prom").write_text(earlier)
    assert run_collector(installed, config).returncode == 0
    assert integrity_samples(tmp_path)[0] == "0"


def test_a_database_that_cannot_be_read_is_said_and_the_rest_still_written(installed: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    result = run_collector(installed, config_for(tmp_path, installed, state / "state.db"))
    assert result.returncode == 0
    assert "database not read" in result.stderr
    metrics = read_metrics(tmp_path)
    assert metrics["flower_superlink_metrics_database_read_success"] == [({"service": "flower-superlink"}, "0")]
    assert "flower_superlink_runs" not in metrics
    assert metrics["flower_superlink_up"] == [({"service": "flower-superlink"}, "0")]
    # Nothing to check: no finding either way, and the journal says why.
    assert "flower_superlink_database_integrity_ok" not in metrics
    assert "database not checked" in result.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian's prometheus) is not installed")
@pytest.mark.parametrize("shape", [old_shape, new_shape], ids=["run-table-times", "task-table-times"])
def test_promtool_accepts_the_collectors_file(installed: Path, tmp_path: Path, shape: Any) -> None:
    state = tmp_path / "state"
    state.mkdir()
    database = shape(state / "state.db")
    assert run_collector(installed, config_for(tmp_path, installed, database)).returncode == 0
    text = (tmp_path / "metrics" / "flower-superlink.prom").read_text()
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-12-01T10:00:00Z", 1796119200.0),
        ("1970-01-01T00:00:00Z", 0.0),
        ("2026-12-01T10:00:00", None),
        ("2026-12-01 10:00:00Z", None),
        ("", None),
        (None, None),
        (12345, None),
    ],
)
def test_the_records_time_is_read_as_utc_or_not_at_all(collector: ModuleType, text: object, seconds: object) -> None:
    assert collector.timestamp(text) == seconds


@pytest.mark.parametrize(
    ("content", "current"),
    [
        ('{"current": {"version": "1.42.0"}}', {"version": "1.42.0"}),
        ("{}", {}),
        ("[]", {}),
        ('{"current": "x"}', {}),
        ("not json", {}),
        (None, {}),
    ],
)
def test_a_bad_or_missing_record_reads_as_empty(
    collector: ModuleType, tmp_path: Path, content: str | None, current: dict
) -> None:
    path = tmp_path / "record.fact"
    if content is not None:
        path.write_text(content)
    assert collector.read_record(str(path)) == current


README = ROOT / "roles/flower_superlink/README.md"
MARK = "<!-- metrics: tests/unit/roles/flower_superlink/test_superlink_metrics.py checks this table -->"


def test_the_readme_documents_every_metric_the_collector_writes(installed: Path, tmp_path: Path) -> None:
    """Name, type and labels of each metric in the role README's table are
    those of a real collection's file; nothing written is undocumented."""
    state = tmp_path / "state"
    state.mkdir()
    database = new_shape(state / "state.db")
    config = config_for(tmp_path, installed, database)
    assert run_collector(installed, config).returncode == 0
    text = (tmp_path / "metrics" / "flower-superlink.prom").read_text()
    written = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    labels: dict[str, set[str]] = {}
    for name, samples in read_metrics(tmp_path).items():
        for sample_labels, _ in samples:
            labels.setdefault(name, set()).update(set(sample_labels) - {"service"})
    table = README.read_text().split(MARK, 1)[1].split("\n\n", 1)[0]
    documented = {
        row[0].strip("` "): (row[1].strip(), {lab.strip("` ") for lab in row[2].split(",") if lab.strip()})
        for row in (line.strip("|").split("|") for line in table.splitlines() if line.startswith("| `"))
    }
    assert set(documented) == set(written), set(documented) ^ set(written)
    for name, (kind, doc_labels) in documented.items():
        assert kind == written[name], name
        # unit metrics need systemd to answer; checked where it does (Molecule).
        if name in labels:
            assert labels[name] == doc_labels, name
