"""The committed SuperLink linkstate fixtures (tests/unit/data/) are what their JSON says.

Each linkstate-<release>.db was written by Flower's own LinkState API
(tests/unit/data/make_linkstate_databases.py); its JSON records the schema and
what Flower reported. A regenerated fixture whose schema drifts from its JSON
fails here.

The databases are opened read-only, as the collector opens a SuperLink's. A
read-only connection to a WAL-mode file still creates -wal and -shm beside it
(and leaves them) when the directory is writable, so each test opens a copy in
tmp_path, never the committed file.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parent / "data"
RELEASES = ("1.19.0", "1.25.0", "1.42.0")


def _record(release: str) -> dict[str, Any]:
    return json.loads((DATA / f"linkstate-{release}.json").read_text())


@pytest.fixture(params=RELEASES)
def fixture_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, sqlite3.Connection]:
    release: str = request.param
    copy = tmp_path / f"linkstate-{release}.db"
    shutil.copyfile(DATA / copy.name, copy)
    con = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    request.addfinalizer(con.close)
    return release, con


def test_committed_file_is_self_contained() -> None:
    leftovers = sorted(p.name for p in DATA.glob("linkstate-*.db-*"))
    assert not leftovers, f"WAL/SHM/journal files beside the fixtures: {leftovers}"
    assert sorted(p.name for p in DATA.glob("linkstate-*.db")) == [f"linkstate-{r}.db" for r in RELEASES]


def test_opens_read_only_and_is_intact(fixture_db: tuple[str, sqlite3.Connection]) -> None:
    release, con = fixture_db
    record = _record(release)
    assert record["flwr_version"] == release
    assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == record["sqlite"]["journal_mode"]
    assert con.execute("PRAGMA user_version").fetchone()[0] == record["sqlite"]["user_version"]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        con.execute("DELETE FROM run")


def test_schema_matches_record(fixture_db: tuple[str, sqlite3.Connection]) -> None:
    release, con = fixture_db
    keys = ("cid", "name", "type", "notnull", "dflt_value", "pk")
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
    tables = {
        name: [dict(zip(keys, row, strict=True)) for row in con.execute(f'PRAGMA table_info("{name}")')]
        for name in names
    }
    assert tables == _record(release)["tables"]


def test_rows_match_record(fixture_db: tuple[str, sqlite3.Connection]) -> None:
    release, con = fixture_db
    record = _record(release)
    run_ids = {r[0] for r in con.execute("SELECT run_id FROM run")}
    assert run_ids == {r["run_id_sqlite"] for r in record["runs"]["list"]}
    node_ids = {r[0] for r in con.execute("SELECT node_id FROM node")}
    assert node_ids == {n["node_id_sqlite"] for n in record["nodes"]["list"]}
