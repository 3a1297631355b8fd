"""The metrics collector on databases Flower itself wrote, at 1.19.0, 1.25.0
and 1.42.0 (tests/unit/data/, made by make_linkstate_databases.py through
each release's own LinkState API): it counts runs by status and SuperNodes
by status exactly as Flower's own API reported them when the file was made.
The three releases span the two run layouts (status times in the run table,
or in the task table) and the two node layouts (heartbeat only, or a status
column beside it)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, break_index, install, load_module

DATA = ROOT / "tests/unit/data"
RELEASES = ["1.19.0", "1.25.0", "1.42.0"]


@pytest.fixture(scope="module")
def collector(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    lib = install(
        tmp_path_factory,
        [
            ROOT / "roles/flower_superlink/files/superlink_metrics.py",
            ROOT / "plugins/module_utils/prometheus_textfile.py",
        ],
    )
    return load_module("superlink_metrics_real", lib / "superlink_metrics.py")


def copy_of(release: str, tmp_path: Path) -> Path:
    """A copy of RELEASE's database (SQLite may add -wal/-shm files beside a WAL database it reads)."""
    database = tmp_path / "state.db"
    shutil.copy(DATA / f"linkstate-{release}.db", database)
    return database


@pytest.mark.parametrize("release", RELEASES)
def test_runs_and_supernodes_are_counted_as_flower_reported_them(
    collector: ModuleType, tmp_path: Path, release: str
) -> None:
    said = json.loads((DATA / f"linkstate-{release}.json").read_text())
    database = copy_of(release, tmp_path)
    found = collector.read_database(str(database), now=said["generated_at_timestamp"])
    assert found["runs"] == said["runs"]["counts"]
    flower = said["nodes"]["counts"]
    assert found["nodes"] == {status: flower.get(status) or 0 for status in ("online", "offline", "registered")}


@pytest.mark.parametrize("release", RELEASES)
def test_later_a_lapsed_heartbeat_counts_as_offline(collector: ModuleType, tmp_path: Path, release: str) -> None:
    """An hour later no heartbeat is valid: every node Flower had online is
    offline, before Flower itself rewrites its status."""
    said = json.loads((DATA / f"linkstate-{release}.json").read_text())
    database = copy_of(release, tmp_path)
    found = collector.read_database(str(database), now=said["generated_at_timestamp"] + 3600)
    flower = said["nodes"]["counts"]
    assert found["nodes"] == {
        "online": 0,
        "offline": (flower.get("online") or 0) + (flower.get("offline") or 0),
        "registered": flower.get("registered") or 0,
    }


# --- PRAGMA quick_check: damage no count reads --------------------------------


def damage_an_index_no_count_reads(database: Path) -> int:
    """Break the root page of the message_ins table's index (every release
    has it; the collector's counts read only the run, task and node tables)."""
    return break_index(database, "sqlite_autoindex_message_ins_1")


@pytest.mark.parametrize("release", RELEASES)
def test_quick_check_finds_flowers_own_database_sound(collector: ModuleType, tmp_path: Path, release: str) -> None:
    database = copy_of(release, tmp_path)
    assert collector.check_database(str(database)) == "ok"


@pytest.mark.parametrize("release", RELEASES)
def test_quick_check_finds_damage_that_every_count_reads_past(
    collector: ModuleType, tmp_path: Path, release: str
) -> None:
    said = json.loads((DATA / f"linkstate-{release}.json").read_text())
    database = copy_of(release, tmp_path)
    page = damage_an_index_no_count_reads(database)
    # The counts still read as Flower said: only the check sees the damage.
    assert collector.read_database(str(database), now=said["generated_at_timestamp"])["runs"] == said["runs"]["counts"]
    found = collector.check_database(str(database))
    assert found != "ok" and f"Page {page}" in found, found


def test_a_file_that_is_no_database_is_damage_found(collector: ModuleType, tmp_path: Path) -> None:
    junk = tmp_path / "state.db"
    junk.write_bytes(b"not SQLite " * 1000)
    assert collector.check_database(str(junk)) == "file is not a database"


def test_a_database_that_cannot_be_opened_is_no_finding(collector: ModuleType, tmp_path: Path) -> None:
    """Missing (or locked): nothing was checked, so nothing is reported
    damaged, and nothing is created."""
    with pytest.raises(sqlite3.OperationalError):
        collector.check_database(str(tmp_path / "state.db"))
    assert not list(tmp_path.iterdir())
