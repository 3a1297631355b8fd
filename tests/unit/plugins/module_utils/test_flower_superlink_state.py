"""The SuperLink's state core (plugins/module_utils/flower_superlink_state.py) on real SQLite files.

flower_superlink_sqlite (backup.yml, switch.yml, rollback.yml) and the
scheduled flower-offsite-backup both call these functions; the host-level
proof is tests/operations/test_safety.py. Here every case is a real database
file in a temporary directory, one row per case, in seconds: a WAL with rows
only in the -wal file, a hot journal left by a writer killed for real, paths
with any character, inputs that must be refused, restores over a live
database, and the lock every playbook takes.

What each case asserts is what an operator relies on: the runs in a backup
are the runs committed in the source, the backup passes integrity_check and
is one self-contained file, the source is never changed, and a refusal or a
failure leaves no file behind.

"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.module_utils import flower_superlink_state as state

# The tables of Flower 1.19.0's SQLite LinkState (flwr/server/superlink/linkstate/
# sqlite_linkstate.py), as the SuperLink creates them; idx_online_until is the
# index the integrity cases damage.
FLOWER_1_19_SCHEMA = """
CREATE TABLE IF NOT EXISTS node(
    node_id         INTEGER UNIQUE,
    online_until    REAL,
    heartbeat_interval   REAL,
    public_key      BLOB
);
CREATE INDEX IF NOT EXISTS idx_online_until ON node (online_until);
CREATE TABLE IF NOT EXISTS public_key(
    public_key      BLOB PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS run(
    run_id                INTEGER UNIQUE,
    active_until          REAL,
    heartbeat_interval    REAL,
    fab_id                TEXT,
    fab_version           TEXT,
    fab_hash              TEXT,
    override_config       TEXT,
    pending_at            TEXT,
    starting_at           TEXT,
    running_at            TEXT,
    finished_at           TEXT,
    sub_status            TEXT,
    details               TEXT,
    federation_options    BLOB,
    flwr_aid              TEXT
);
CREATE TABLE IF NOT EXISTS logs (
    timestamp             REAL,
    run_id                INTEGER,
    node_id               INTEGER,
    log                   TEXT,
    PRIMARY KEY (timestamp, run_id, node_id),
    FOREIGN KEY (run_id) REFERENCES run(run_id)
);
"""
RUN_COLUMNS = [
    "run_id",
    "active_until",
    "heartbeat_interval",
    "fab_id",
    "fab_version",
    "fab_hash",
    "override_config",
    "pending_at",
    "starting_at",
    "running_at",
    "finished_at",
    "sub_status",
    "details",
    "federation_options",
    "flwr_aid",
]


def as_stored(run_id: int) -> int:
    """Flower keeps run IDs as signed 64-bit integers in SQLite (tests/conftest.py)."""
    return run_id - 2**64 if run_id >= 2**63 else run_id


# Run IDs as the CLI shows them, stored as Flower stores them (two are negative).
RUNS = {as_stored(r) for r in (1, 4242424242, 2**63 + 7, 2**64 - 1)}
NODES = 12
HOT_JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")


def run_row(run_id: int) -> tuple[Any, ...]:
    return (
        run_id,
        0.0,
        30.0,
        "flwrlabs/tinyapp",
        "1.0.0",
        "ab" * 32,
        json.dumps({"num-server-rounds": 3}),
        "2025-01-01 00:00:00.000000+00:00",
        "2025-01-01 00:00:01.000000+00:00",
        "2025-01-01 00:00:02.000000+00:00",
        "2025-01-01 00:01:00.000000+00:00",
        "completed:success",
        "",
        bytes([0, 1, 2, 255]),
        "",
    )


def make_db(path: Path, runs: set[int] = RUNS, wal: bool = False) -> Path:
    """A SuperLink database with Flower 1.19.0's tables, the given runs and a few nodes."""
    con = sqlite3.connect(path)
    try:
        if wal:
            con.execute("PRAGMA journal_mode=WAL")
        con.executescript(FLOWER_1_19_SCHEMA)
        con.executemany(f"INSERT INTO run VALUES ({', '.join('?' * len(RUN_COLUMNS))})", map(run_row, sorted(runs)))
        con.executemany(
            "INSERT INTO node VALUES (?, ?, ?, ?)", [(n, 1000.0 + n, 30.0, os.urandom(8)) for n in range(NODES)]
        )
        con.commit()
    finally:
        con.close()
    return path


def run_ids(path: Path) -> set[int]:
    """The run IDs in a database in rollback-journal mode (a backup, a restored database)."""
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT run_id FROM run")}
    finally:
        con.close()


def integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return "\n".join(r[0] for r in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()


def journal_mode_bytes(path: Path) -> bytes:
    """Header bytes 18-19: b'\\x01\\x01' for a rollback journal, b'\\x02\\x02' for WAL."""
    return path.read_bytes()[18:20]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(root: Path) -> dict[str, str]:
    """Every entry under root, never following a link: what a test compares before and after."""
    found: dict[str, str] = {}
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(top) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                found[rel] = f"link->{path.readlink()}"
            elif stat.S_ISREG(st.st_mode):
                found[rel] = f"file {sha256(path)}"
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = "dir"
            else:
                found[rel] = f"other {stat.S_IFMT(st.st_mode):o}"
    return found


def crash(script: str, database: Path, *args: str) -> None:
    """Run a writer in a child process that dies without cleaning up (os._exit, as SIGKILL would)."""
    command = [sys.executable, "-c", script, str(database), *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 9, done.stderr


def with_suffix_added(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def tamper_index(path: Path) -> None:
    """idx_online_until now claims another column: every table still counts right, integrity_check fails."""
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA writable_schema=ON")
        con.execute(
            "UPDATE sqlite_master SET sql='CREATE INDEX idx_online_until ON node (heartbeat_interval)' "
            "WHERE name='idx_online_until'"
        )
        con.commit()
    finally:
        con.close()


def written(content: str | bytes) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    return make


def touched(path: Path) -> Path:
    path.touch()
    return path


def directory(path: Path) -> Path:
    path.mkdir()
    return path


def symlink(target: str) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        path.symlink_to(target)
        return path

    return make


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


# --- backup: a WAL holding committed rows not yet in the database file ---------------


def main_file_alone(src: Path, scratch: Path) -> set[int]:
    """The runs an operator would get from copying only the database file (cp state.db)."""
    scratch.mkdir()
    alone = scratch / "alone.db"
    shutil.copyfile(src, alone)
    con = sqlite3.connect(alone)
    try:
        return {r[0] for r in con.execute("SELECT run_id FROM run")}
    finally:
        con.close()


WAL_WRITER = """
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("PRAGMA wal_autocheckpoint=0")
con.execute("INSERT INTO run (run_id, sub_status) VALUES (7007, 'completed:success')")
con.execute("INSERT INTO run (run_id, sub_status) VALUES (-7008, 'completed:success')")
if sys.argv[-1] == "mid-transaction":
    con.execute("PRAGMA cache_size=1")
    con.execute("BEGIN")
    for i in range(300):
        con.execute("INSERT INTO run (run_id, details) VALUES (?, ?)", (90000 + i, "x" * 400))
os._exit(9)
"""
WAL_COMMITTED = {7007, -7008}
WAL_UNCOMMITTED = {90000 + i for i in range(300)}


def wal_case(kind: str, src: Path, keep: list[sqlite3.Connection]) -> None:
    """Leave committed rows (WAL_COMMITTED) only in src's -wal file, as `kind` says."""
    make_db(src, wal=True)
    if kind == "writer-open":
        con = sqlite3.connect(src, isolation_level=None)
        con.execute("PRAGMA wal_autocheckpoint=0")
        for run_id in WAL_COMMITTED:
            con.execute("INSERT INTO run (run_id, sub_status) VALUES (?, 'completed:success')", (run_id,))
        keep.append(con)  # the SuperLink is still running
        return
    crash(WAL_WRITER, src, "mid-transaction" if kind == "writer-killed-mid-transaction" else "commit")
    if kind == "wal-without-shm":
        with_suffix_added(src, "-shm").unlink()


@pytest.mark.parametrize("kind", ["writer-open", "writer-killed", "writer-killed-mid-transaction", "wal-without-shm"])
def test_backup_of_a_wal_database_holds_the_rows_only_in_the_wal(kind: str, tmp_path: Path) -> None:
    src, dest = tmp_path / "state.db", tmp_path / "state-backup.db"
    keep: list[sqlite3.Connection] = []
    try:
        wal_case(kind, src, keep)
        wal = with_suffix_added(src, "-wal")
        assert wal.stat().st_size > 0
        if kind == "writer-killed-mid-transaction":  # uncommitted pages spilled into the WAL
            assert wal.stat().st_size > 300 * 400
        # The case is real: the database file alone lacks the committed rows.
        assert main_file_alone(src, tmp_path / "scratch") == RUNS
        before = {p.name: sha256(p) for p in (src, wal)}

        result = state.backup(src, dest, {"reason": "manual"})

        assert run_ids(dest) == RUNS | WAL_COMMITTED
        assert not run_ids(dest) & WAL_UNCOMMITTED
        assert integrity(dest) == "ok"
        assert result["integrity"] == "ok"
        assert result["runs"] == len(RUNS | WAL_COMMITTED)
        assert result["recovered"] is False
        assert result["manifest"]["tables"]["run"] == len(RUNS | WAL_COMMITTED)
        # One self-contained file: rollback-journal mode, no -wal or -shm beside it.
        assert journal_mode_bytes(dest) == b"\x01\x01"
        assert sorted(p.name for p in tmp_path.glob("state-backup*")) == ["state-backup.db", "state-backup.json"]
        # The source and its WAL are untouched (nothing checkpointed into them).
        assert {p.name: sha256(p) for p in (src, wal)} == before
        if keep:  # and the running writer goes on writing
            keep[0].execute("INSERT INTO run (run_id) VALUES (8008)")
            assert {r[0] for r in keep[0].execute("SELECT run_id FROM run")} == RUNS | WAL_COMMITTED | {8008}
    finally:
        for con in keep:
            con.close()


# --- backup: a hot rollback journal left by a writer killed mid-transaction --------

HOT_WRITER = """
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA journal_mode=DELETE")
con.execute("PRAGMA cache_size=1")  # spill: uncommitted pages reach the database file
con.execute("BEGIN")
if sys.argv[-1] == "tables":  # as tests/operations/test_safety.py does on the host
    for i in range(200):
        con.execute("CREATE TABLE hot_%d (x)" % i)
else:
    for i in range(300):
        con.execute("INSERT INTO run (run_id, details) VALUES (?, ?)", (50000 + i, "x" * 400))
    con.execute("UPDATE run SET sub_status = 'uncommitted'")
    con.execute("DELETE FROM node")
os._exit(9)
"""


@pytest.mark.parametrize("writes", ["rows", "tables"])
def test_backup_of_a_hot_journal_is_recovered_in_a_copy(writes: str, tmp_path: Path) -> None:
    src, dest = make_db(tmp_path / "state.db"), tmp_path / "state-backup.db"
    size_before = src.stat().st_size
    crash(HOT_WRITER, src, writes)
    journal = with_suffix_added(src, "-journal")
    # The case is real: a hot journal, the database file already holds uncommitted
    # pages, and a read-only connection cannot roll it back.
    assert journal.read_bytes()[:8] == HOT_JOURNAL_MAGIC
    assert src.stat().st_size > size_before
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        con = sqlite3.connect(state.uri(src, "ro"), uri=True)
        try:
            con.execute("SELECT COUNT(*) FROM run").fetchone()
        finally:
            con.close()
    before = tree(tmp_path)

    result = state.backup(src, dest, {})

    assert result["recovered"] is True
    assert run_ids(dest) == RUNS
    assert integrity(dest) == "ok"
    con = sqlite3.connect(dest)
    try:
        assert {r[0] for r in con.execute("SELECT sub_status FROM run")} == {"completed:success"}
        assert con.execute("SELECT COUNT(*) FROM node").fetchone()[0] == NODES
        assert not con.execute("SELECT name FROM sqlite_master WHERE name LIKE 'hot_%'").fetchall()
    finally:
        con.close()
    assert result["manifest"]["tables"] == {"logs": 0, "node": NODES, "public_key": 0, "run": len(RUNS)}
    assert journal_mode_bytes(dest) == b"\x01\x01"
    # Recovered privately: the database and its hot journal are as the crash left
    # them, and nothing but the backup and its manifest was added.
    after = tree(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {"state-backup.db", "state-backup.json"}


# --- backup: the manifest, the mode, leftovers of a killed backup --------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400])
def test_backup_writes_the_copy_and_its_manifest(mode: int, tmp_path: Path, umask_022: None) -> None:
    src, dest = make_db(tmp_path / "state.db"), tmp_path / "state-20250101T000000.000000Z-manual.db"
    before = sha256(src)
    fields = {"reason": "manual", "image_ref": "flwr/superlink:1.19.0", "flwr_version": "1.19.0"}

    result = state.backup(src, dest, fields, mode)

    manifest_path = dest.with_suffix(".json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest == result["manifest"]
    assert manifest["reason"] == "manual" and manifest["flwr_version"] == "1.19.0"
    assert manifest["backup"] == manifest["path"] == result["path"] == str(dest)
    assert manifest["sha256"] == sha256(dest) == result["sha256"]
    assert manifest["size"] == dest.stat().st_size
    assert manifest["runs"] == len(RUNS)
    assert manifest["integrity"] == "ok"
    assert manifest["tables"] == {"logs": 0, "node": NODES, "public_key": 0, "run": len(RUNS)}
    assert run_ids(dest) == RUNS
    assert stat.S_IMODE(dest.stat().st_mode) == mode
    assert stat.S_IMODE(manifest_path.stat().st_mode) == 0o600
    assert sha256(src) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["state.db", dest.name, manifest_path.name])


def test_backup_clears_what_a_killed_backup_left(tmp_path: Path) -> None:
    src, dest = make_db(tmp_path / "state.db"), tmp_path / "copy.db"
    for name in ("copy.db.partial", "copy.json.partial", "copy.db.partial-journal"):
        (tmp_path / name).write_bytes(b"left by a killed backup")

    state.backup(src, dest, {})

    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "copy.json", "state.db"]
    assert run_ids(dest) == RUNS


def test_backup_copies_again_when_the_source_changed_during_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows counted in the source differ from the copy's once (a run submitted meanwhile): copied again."""
    src, dest = make_db(tmp_path / "state.db"), tmp_path / "copy.db"
    real = state.copy_online
    calls: list[int] = []

    def copy_online(source: Path, tmp: Path) -> dict[str, int]:
        counts = real(source, tmp)
        calls.append(1)
        return {**counts, "run": counts["run"] + 1} if len(calls) == 1 else counts

    monkeypatch.setattr(state, "copy_online", copy_online)
    result = state.backup(src, dest, {})
    assert len(calls) == 2
    assert result["manifest"]["tables"]["run"] == len(RUNS) == len(run_ids(dest))


def test_backup_refuses_a_copy_that_never_holds_what_the_source_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, dest = make_db(tmp_path / "state.db"), tmp_path / "copy.db"
    real = state.copy_online
    calls: list[int] = []

    def lossy_copy(source: Path, tmp: Path) -> dict[str, int]:
        counts = real(source, tmp)
        calls.append(1)
        con = sqlite3.connect(tmp)
        con.execute("DELETE FROM run WHERE rowid = (SELECT MIN(rowid) FROM run)")
        con.commit()
        con.close()
        return counts

    monkeypatch.setattr(state, "copy_online", lossy_copy)
    before = tree(tmp_path)
    with pytest.raises(state.Refused, match="does not hold what the source holds"):
        state.backup(src, dest, {})
    assert len(calls) == 3
    assert tree(tmp_path) == before


# --- backup: paths with any character -------------------------------------------------

ODD_NAMES = [
    "with space",
    "question?mode=memory",
    "hash#fragment",
    "percent%20encoded",
    "percent%",
    "ünïcødé-数据-🌼",
    "-leading-dash",
    "colon:in:name",
    "file:looks-like-a-uri",
    "amp&cache=shared",
    'quote\'s "double"',
    "back\\slash",
    "new\nline",
    "tab\there",
]


@pytest.mark.parametrize("name", ODD_NAMES, ids=[repr(n)[1:-1] for n in ODD_NAMES])
def test_backup_restore_and_export_with_any_character_in_the_path(name: str, tmp_path: Path) -> None:
    folder = tmp_path / f"dir:{name}"  # a directory with ':' and the odd name too
    folder.mkdir()
    src = make_db(folder / f"{name}.db")
    before = sha256(src)
    dest = folder / f"{name}-backup.db"

    result = state.backup(src, dest, {})
    assert result["runs"] == len(RUNS)
    assert run_ids(dest) == RUNS
    assert integrity(dest) == "ok"
    assert json.loads(dest.with_suffix(".json").read_text())["backup"] == str(dest)
    assert sha256(src) == before
    assert state.describe(src)["runs"] == len(RUNS)

    exported = state.export(dest, folder / f"{name}.runs.json", 0o600)
    assert exported["runs"] == len(RUNS)

    target = folder / f"{name}-restored.db"
    restored = state.restore(dest, target, os.getuid(), os.getgid())
    assert restored["sha256"] == sha256(dest)
    assert run_ids(target) == RUNS
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{name}{s}" for s in (".db", "-backup.db", "-backup.json", ".runs.json", "-restored.db")
    )


@pytest.mark.parametrize(
    ("length", "error"),
    [
        (200, None),
        (239, None),  # the longest: its copy's journal (+ ".partial-journal") is named in 255 bytes
        (240, "File name too long"),
        (255, "File name too long"),
    ],
)
def test_backup_name_length(length: int, error: str | None, tmp_path: Path) -> None:
    src = make_db(tmp_path / "state.db")
    dest = tmp_path / ("b" * (length - 3) + ".db")
    before = tree(tmp_path)
    if error is None:
        state.backup(src, dest, {})
        assert run_ids(dest) == RUNS
        return
    with pytest.raises(OSError, match=error) as raised:
        state.backup(src, dest, {})
    assert raised.value.errno == errno.ENAMETOOLONG
    assert tree(tmp_path) == before


@pytest.mark.parametrize("length", [300, 480, 600, 2000])
def test_backup_path_length(length: int, tmp_path: Path) -> None:
    """Long paths work up to SQLite's limit: its unix VFS takes 512 bytes (the copy's -journal's name
    included). Past it, as SQLite is built, the backup may fail, but then with nothing left behind."""
    src = make_db(tmp_path / "state.db")
    folder = tmp_path
    while len(str(folder)) < length - 120:
        folder = folder / ("d" * 100)
    folder = folder / ("e" * (length - len(str(folder)) - len("/") - len("/backup-x.db")))
    folder.mkdir(parents=True)
    dest = folder / "backup-x.db"
    assert len(str(dest)) == length
    try:
        state.backup(src, dest, {})
    except sqlite3.OperationalError as err:
        assert length > 512 - len(".partial-journal"), err
        assert str(err) == "unable to open database file"
        assert list(folder.iterdir()) == []
        return
    assert run_ids(dest) == RUNS
    assert sorted(p.name for p in folder.iterdir()) == ["backup-x.db", "backup-x.json"]


# --- backup: inputs it must refuse, leaving nothing behind ----------------------------


def text_file(path: Path) -> Path:
    path.write_text("SQLite format 2\n" + "not a database\n" * 400)
    return path


def truncated(path: Path) -> Path:
    full = make_db(path.with_name("full.db"), runs=set(range(3000)))
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    full.unlink()
    return path


def overwritten(offset: int) -> Callable[[Path], Path]:
    def damage(path: Path) -> Path:
        make_db(path, runs=set(range(3000)))
        data = bytearray(path.read_bytes())
        data[offset : offset + 4096] = bytes(range(256)) * 16
        path.write_bytes(bytes(data))
        return path

    return damage


def index_damaged(path: Path) -> Path:
    make_db(path)
    tamper_index(path)
    return path


def linked(path: Path) -> Path:
    real = make_db(path.with_name("real.db"))
    path.symlink_to(real.name)
    return path


def with_sidecar(suffix: str, kind: str) -> Callable[[Path], Path]:
    def make(path: Path) -> Path:
        make_db(path)
        side = with_suffix_added(path, suffix)
        if kind == "link":
            elsewhere = make_db(path.with_name("elsewhere.db"))
            side.symlink_to(elsewhere.name)
        else:
            os.mkfifo(side)
        return path

    return make


# (id, make the source at a path, the exception, a fragment of its message)
SOURCE_REFUSALS: list[tuple[str, Callable[[Path], Any], type[BaseException], str]] = [
    ("absent", lambda p: None, state.Refused, "no database at"),
    ("symlink", linked, state.Refused, "is not a regular file (a symlink?)"),
    ("dangling-symlink", symlink("nowhere.db"), state.Refused, "is not a regular file"),
    ("fifo", fifo, state.Refused, "is not a regular file"),
    ("directory", directory, state.Refused, "is not a regular file"),
    ("wal-is-a-symlink", with_sidecar("-wal", "link"), state.Refused, "database journal"),
    ("journal-is-a-symlink", with_sidecar("-journal", "link"), state.Refused, "database journal"),
    ("shm-is-a-fifo", with_sidecar("-shm", "fifo"), state.Refused, "database journal"),
    ("empty-file", touched, state.Refused, "holds no tables: not a SuperLink database"),
    ("schema-only-no-tables", lambda p: sqlite3.connect(p).close(), state.Refused, "holds no tables"),
    ("not-sqlite", text_file, sqlite3.DatabaseError, "file is not a database"),
    ("header-overwritten", overwritten(0), sqlite3.DatabaseError, "file is not a database"),
    ("truncated", truncated, sqlite3.DatabaseError, "malformed"),
    ("pages-overwritten", overwritten(8192), sqlite3.DatabaseError, "malformed"),
    ("index-damaged", index_damaged, state.Refused, "failed integrity_check: row 1 missing from index"),
]


@pytest.mark.parametrize(
    ("make", "error", "fragment"), [c[1:] for c in SOURCE_REFUSALS], ids=[c[0] for c in SOURCE_REFUSALS]
)
def test_backup_refuses_a_bad_source_and_writes_nothing(
    make: Callable[[Path], Any], error: type[BaseException], fragment: str, tmp_path: Path
) -> None:
    src = tmp_path / "state.db"
    make(src)
    before = tree(tmp_path)
    with pytest.raises(error, match=re.escape(fragment)):
        state.backup(src, tmp_path / "backup.db", {})
    assert tree(tmp_path) == before


def existing(name: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        (folder / name).write_text("an earlier backup")
        return folder / "backup.db"

    return make


def dest_linked(target: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        (folder / "backup.db").symlink_to(target)
        return folder / "backup.db"

    return make


DEST_REFUSALS: list[tuple[str, Callable[[Path], Path], type[BaseException], str]] = [
    ("exists", existing("backup.db"), state.Refused, "refusing to overwrite existing backup"),
    ("its-manifest-exists", existing("backup.json"), state.Refused, "refusing to overwrite existing backup"),
    ("symlink-to-a-file", dest_linked("state.db"), state.Refused, "refusing to overwrite existing backup"),
    ("dangling-symlink", dest_linked("/nonexistent/x.db"), state.Refused, "refusing to overwrite existing backup"),
    ("directory", lambda f: directory(f / "backup.db"), state.Refused, "refusing to overwrite"),
    ("not-.db", lambda f: f / "backup.sqlite", state.Refused, "must end in .db"),
    ("no-suffix", lambda f: f / "backup", state.Refused, "must end in .db"),
    ("folder-absent", lambda f: f / "absent" / "backup.db", FileNotFoundError, "absent"),
]


@pytest.mark.parametrize(
    ("make", "error", "fragment"), [c[1:] for c in DEST_REFUSALS], ids=[c[0] for c in DEST_REFUSALS]
)
def test_backup_refuses_a_bad_destination_and_writes_nothing(
    make: Callable[[Path], Path], error: type[BaseException], fragment: str, tmp_path: Path
) -> None:
    make_db(tmp_path / "state.db")
    dest = make(tmp_path)
    before = tree(tmp_path)
    with pytest.raises(error, match=fragment):
        state.backup(tmp_path / "state.db", dest, {})
    assert tree(tmp_path) == before


# --- restore -------------------------------------------------------------------------


def live_database(path: Path) -> None:
    """A database in WAL mode, rows in its -wal and its -shm, as a killed SuperLink leaves it."""
    crash(WAL_WRITER, make_db(path, runs={111, 222}, wal=True))
    assert with_suffix_added(path, "-wal").exists() and with_suffix_added(path, "-shm").exists()


@pytest.mark.parametrize(
    ("owner", "group", "mode"),
    [(0, 0, 0o600), (49999, 49999, 0o600), (12345, 54321, 0o640), (os.getuid(), os.getgid(), 0o644)],
    ids=["root-0600", "superlink-user-0600", "other-ids-0640", "own-ids-0644"],
)
def test_restore_replaces_a_live_database_and_its_journal_files(
    owner: int, group: int, mode: int, tmp_path: Path
) -> None:
    if os.geteuid() != 0 and (owner, group) != (os.getuid(), os.getgid()):
        pytest.skip("giving files to another user needs root")
    backup = tmp_path / "backup.db"
    state.backup(make_db(tmp_path / "source.db"), backup, {})
    backup_sha = sha256(backup)
    dest = tmp_path / "state.db"
    live_database(dest)
    with_suffix_added(dest, "-journal").write_bytes(b"a stale journal")

    result = state.restore(backup, dest, owner, group, mode)

    assert sha256(dest) == backup_sha == result["sha256"]
    assert result["path"] == str(dest)
    assert result["integrity"] == "ok"
    assert result["runs"] == len(RUNS)
    # No journal file of the old database survives to be replayed onto the new one.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.db", "backup.json", "source.db", "state.db"]
    assert run_ids(dest) == RUNS
    st = dest.lstat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (owner, group, mode)
    assert sha256(backup) == backup_sha


def test_restore_into_an_empty_directory(tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    state.backup(make_db(tmp_path / "source.db"), backup, {})
    (tmp_path / "state").mkdir()
    dest = tmp_path / "state" / "state.db"
    state.restore(backup, dest, os.getuid(), os.getgid())
    assert run_ids(dest) == RUNS
    assert [p.name for p in dest.parent.iterdir()] == ["state.db"]


@pytest.mark.parametrize("leftover", ["file", "symlink"])
def test_restore_clears_what_a_killed_restore_left_without_following_it(leftover: str, tmp_path: Path) -> None:
    backup = tmp_path / "backup.db"
    state.backup(make_db(tmp_path / "source.db"), backup, {})
    outside = tmp_path / "outside"
    outside.write_text("not to be touched")
    tmp = tmp_path / ".state.db.restore"
    if leftover == "file":
        tmp.write_text("half a database")
    else:
        tmp.symlink_to(outside)
    state.restore(backup, tmp_path / "state.db", os.getuid(), os.getgid())
    assert not tmp.exists() and not tmp.is_symlink()
    assert outside.read_text() == "not to be touched"
    assert run_ids(tmp_path / "state.db") == RUNS


RESTORE_REFUSALS: list[tuple[str, Callable[[Path], tuple[Path, Path]], str]] = [
    ("backup-absent", lambda f: (f / "absent.db", f / "state.db"), "no backup at"),
    ("backup-symlink", lambda f: (symlink("backup.db")(f / "link.db"), f / "state.db"), "symlink"),
    ("backup-fifo", lambda f: (fifo(f / "fifo.db"), f / "state.db"), "is not a regular file"),
    ("backup-directory", lambda f: (directory(f / "d.db"), f / "state.db"), "is not a regular file"),
    (
        "database-symlink",
        lambda f: (f / "backup.db", symlink("state.db")(f / "link.db")),
        "database .*link.db is not a regular file",
    ),
    (
        "database-directory",
        lambda f: (f / "backup.db", directory(f / "dir.db")),
        "is not a regular file",
    ),
]


@pytest.mark.parametrize(("make", "fragment"), [c[1:] for c in RESTORE_REFUSALS], ids=[c[0] for c in RESTORE_REFUSALS])
def test_restore_refuses_and_touches_nothing(
    make: Callable[[Path], tuple[Path, Path]], fragment: str, tmp_path: Path
) -> None:
    state.backup(make_db(tmp_path / "source.db"), tmp_path / "backup.db", {})
    live_database(tmp_path / "state.db")
    src, dest = make(tmp_path)
    before = tree(tmp_path)
    with pytest.raises(state.Refused, match=fragment):
        state.restore(src, dest, os.getuid(), os.getgid())
    assert tree(tmp_path) == before  # the live database keeps its -wal and -shm


def test_restore_refuses_a_damaged_backup_before_replacing_anything(tmp_path: Path) -> None:
    """restore checks the backup itself (integrity_check) before it touches the
    database: a damaged backup is refused and the live database keeps its files."""
    backup = tmp_path / "backup.db"
    state.backup(make_db(tmp_path / "source.db"), backup, {})
    tamper_index(backup)
    dest = tmp_path / "state.db"
    live_database(dest)
    before = tree(tmp_path)
    with pytest.raises(state.Refused, match="row 1 missing from index idx_online_until"):
        state.restore(backup, dest, os.getuid(), os.getgid())
    assert tree(tmp_path) == before


def failing_copy(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """The copy of the backup fails half way (a full disk) or comes out different (bad memory)."""
    real = shutil.copyfileobj

    def copyfileobj(fsrc: Any, fdst: Any, length: int = 0) -> None:
        if how == "disk-full":
            fdst.write(fsrc.read(4096))
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fsrc, fdst, length)
        fdst.write(b"\0")

    monkeypatch.setattr(state.shutil, "copyfileobj", copyfileobj)


@pytest.mark.parametrize(("how", "error"), [("disk-full", "No space left"), ("bit-flip", "does not match its SHA-256")])
def test_a_failed_restore_leaves_no_partial_database(
    how: str, error: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "backup.db"
    state.backup(make_db(tmp_path / "source.db"), backup, {})
    dest = make_db(tmp_path / "state.db", runs={111, 222})
    before = sha256(dest)
    failing_copy(monkeypatch, how)
    with pytest.raises((OSError, state.Refused), match=error):
        state.restore(backup, dest, os.getuid(), os.getgid())
    assert sha256(dest) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.db", "backup.json", "source.db", "state.db"]


@pytest.mark.parametrize("how", ["disk-full", "bit-flip"])
def test_a_failed_restore_keeps_the_old_databases_wal(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backup = tmp_path / "backup.db"
    state.backup(make_db(tmp_path / "source.db"), backup, {})
    dest = tmp_path / "state.db"
    live_database(dest)
    before = tree(tmp_path)
    failing_copy(monkeypatch, how)
    with pytest.raises((OSError, state.Refused)):
        state.restore(backup, dest, os.getuid(), os.getgid())
    assert with_suffix_added(dest, "-wal").exists(), "the failed restore removed the old database's WAL"
    assert tree(tmp_path) == before


def test_restore_of_a_file_that_is_no_database_fails_before_replacing_the_database(tmp_path: Path) -> None:
    src = text_file(tmp_path / "backup.db")
    dest = make_db(tmp_path / "state.db")
    before = tree(tmp_path)
    with pytest.raises((state.Refused, sqlite3.DatabaseError)):
        state.restore(src, dest, os.getuid(), os.getgid())
    assert sha256(dest) == before["state.db"].removeprefix("file "), "the failed restore replaced the database"
    assert tree(tmp_path) == before


# --- describe, export, regular_file, uri ----------------------------------------------


def no_run_table(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE something (x)")
    con.commit()
    con.close()
    return path


def wal_with_rows_in_the_wal(path: Path) -> Path:
    crash(WAL_WRITER, make_db(path, wal=True))
    return path


DESCRIBE_CASES: list[tuple[str, Callable[[Path], Path], str, int]] = [
    ("superlink-database", make_db, "ok", len(RUNS)),
    ("no-runs-yet", lambda p: make_db(p, runs=set()), "ok", 0),
    ("no-run-table", no_run_table, "ok", -1),
    ("empty-file", touched, "ok", -1),
    ("wal-rows-counted", wal_with_rows_in_the_wal, "ok", len(RUNS | WAL_COMMITTED)),
    ("index-damaged", index_damaged, "row 1 missing from index idx_online_until", len(RUNS)),
]


@pytest.mark.parametrize(
    ("make", "integrity_start", "runs"), [c[1:] for c in DESCRIBE_CASES], ids=[c[0] for c in DESCRIBE_CASES]
)
def test_describe(make: Callable[[Path], Path], integrity_start: str, runs: int, tmp_path: Path) -> None:
    path = tmp_path / "state?#%.db"
    make(path)
    facts = state.describe(path)
    assert set(facts) == {"path", "sha256", "size", "integrity", "runs"}
    assert facts["path"] == str(path)
    assert facts["sha256"] == sha256(path)
    assert facts["size"] == path.stat().st_size
    assert str(facts["integrity"]).startswith(integrity_start)
    assert facts["runs"] == runs


@pytest.mark.parametrize("make", [text_file, truncated], ids=["not-sqlite", "truncated"])
def test_describe_raises_on_what_is_no_database(make: Callable[[Path], Path], tmp_path: Path) -> None:
    with pytest.raises(sqlite3.DatabaseError):
        state.describe(make(tmp_path / "x.db"))


def test_export_writes_every_run_with_every_column(tmp_path: Path, umask_022: None) -> None:
    backup = tmp_path / "backup.db"
    state.backup(make_db(tmp_path / "state.db"), backup, {})
    dest = tmp_path / "backup.runs.json"

    result = state.export(backup, dest, 0o640)

    data = json.loads(dest.read_text())
    assert data["source"] == str(backup)
    assert data["sha256"] == sha256(backup)
    assert [r["run_id"] for r in data["runs"]] == sorted(RUNS)  # inserted in this order: rowid order
    assert all(list(r) == RUN_COLUMNS for r in data["runs"])
    assert data["runs"][0]["federation_options"] == bytes([0, 1, 2, 255]).hex() == "000102ff"  # BLOB as hex
    assert data["runs"][0]["override_config"] == json.dumps({"num-server-rounds": 3})
    assert result == {"path": str(dest), "runs": len(RUNS), "sha256": sha256(dest)}
    assert stat.S_IMODE(dest.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.db", "backup.json", "backup.runs.json", "state.db"]


@pytest.mark.parametrize(
    ("make_src", "make_dest", "error", "fragment"),
    [
        (make_db, written("earlier export"), state.Refused, "exists already"),
        (make_db, symlink("nowhere"), state.Refused, "exists already"),
        (no_run_table, lambda p: p, sqlite3.OperationalError, "no such table: run"),
        (text_file, lambda p: p, sqlite3.DatabaseError, "file is not a database"),
    ],
    ids=["dest-exists", "dest-dangling-symlink", "no-run-table", "not-sqlite"],
)
def test_export_refuses_and_writes_nothing(
    make_src: Callable[[Path], Path],
    make_dest: Callable[[Path], Path],
    error: type[BaseException],
    fragment: str,
    tmp_path: Path,
) -> None:
    src = make_src(tmp_path / "backup.db")
    dest = make_dest(tmp_path / "backup.runs.json")
    before = tree(tmp_path)
    with pytest.raises(error, match=fragment):
        state.export(src, dest, 0o600)
    assert tree(tmp_path) == before


def test_export_clears_what_a_killed_export_left(tmp_path: Path) -> None:
    src = make_db(tmp_path / "backup.db")
    (tmp_path / ".backup.runs.json.partial").write_text("{")
    assert state.export(src, tmp_path / "backup.runs.json", 0o600)["runs"] == len(RUNS)


def unix_socket(path: Path) -> Path:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


REGULAR_FILE_CASES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("regular-file", written("x"), ""),
    ("empty-file", touched, ""),
    ("absent", lambda p: p, "no backup at"),
    ("under-an-absent-directory", lambda p: p / "absent" / "x", "no backup at"),
    ("symlink-to-a-file", lambda p: symlink(written("x")(p.with_name("real")).name)(p), "a symlink?"),
    ("dangling-symlink", symlink("nowhere"), "is not a regular file"),
    ("directory", directory, "is not a regular file"),
    ("fifo", fifo, "is not a regular file"),
    ("unix-socket", unix_socket, "is not a regular file"),
    ("character-device", lambda p: Path("/dev/null"), "/dev/null is not a regular file"),
]


@pytest.mark.parametrize(
    ("make", "fragment"), [c[1:] for c in REGULAR_FILE_CASES], ids=[c[0] for c in REGULAR_FILE_CASES]
)
def test_regular_file(make: Callable[[Path], Path], fragment: str, tmp_path: Path) -> None:
    path = make(tmp_path / "f")
    if not fragment:
        assert state.regular_file(path, "backup").st_ino == path.lstat().st_ino
        return
    with pytest.raises(state.Refused, match=fragment.replace("?", r"\?")):
        state.regular_file(path, "backup")


@pytest.mark.parametrize(
    "name", [*ODD_NAMES, "plain", "a" * 200], ids=[*[repr(n)[1:-1] for n in ODD_NAMES], "plain", "long"]
)
def test_uri_opens_exactly_that_file_read_only(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE marker (name TEXT)")
    con.execute("INSERT INTO marker VALUES (?)", (name,))
    con.commit()
    con.close()
    before = tree(tmp_path)
    con = sqlite3.connect(state.uri(path, "ro"), uri=True)
    try:
        assert con.execute("SELECT name FROM marker").fetchone() == (name,)
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            con.execute("INSERT INTO marker VALUES ('written')")
    finally:
        con.close()
    assert tree(tmp_path) == before  # no other file was created by a misread URI


def test_uri_of_a_path_starting_with_two_slashes(tmp_path: Path) -> None:
    make_db(tmp_path / "state.db")
    path = Path("/" + str(tmp_path / "state.db"))
    assert str(path).startswith("//")
    assert state.describe(path)["runs"] == len(RUNS)


# --- the lock every playbook and the scheduled backup take ---------------------------

HOLDER = {"playbook": "Reset the SuperLink state", "user": "alice", "controller": "laptop"}
OTHER = {"playbook": "Back up the SuperLink", "user": "bob", "controller": "ci"}


class FakeClock:
    """The module's clock: sleeping advances it at once; on_sleep runs at each sleep."""

    def __init__(self, on_sleep: Callable[[int], None] | None = None) -> None:
        self.now = 1000.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(self.sleeps)

    strftime = staticmethod(time.strftime)
    gmtime = staticmethod(time.gmtime)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(state, "time", fake)
    return fake


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    return tmp_path / "lock" / "flower-superlink.ansible-lock"


def test_lock_taken_when_free(lock: Path, clock: FakeClock) -> None:
    assert state.acquire_lock(lock, "t1", HOLDER, wait=60) == {"changed": True, "waited": False, "broke": None}
    held = json.loads(lock.read_text())
    assert held == {**HOLDER, "token": "t1", "since": held["since"]}
    assert time.strptime(held["since"], "%Y-%m-%dT%H:%M:%SZ")
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    assert clock.sleeps == 0


def test_lock_reentered_by_its_holder(lock: Path, clock: FakeClock) -> None:
    state.acquire_lock(lock, "t1", HOLDER, wait=0)
    before = lock.read_text()
    assert state.acquire_lock(lock, "t1", HOLDER, wait=0) == {"changed": False, "waited": False}
    assert lock.read_text() == before


@pytest.mark.parametrize(("wait", "sleeps"), [(0, 0), (-5, 0), (1, 1), (3, 3)])
def test_lock_held_by_another_fails_after_the_wait_naming_the_holder(
    wait: int, sleeps: int, lock: Path, clock: FakeClock
) -> None:
    state.acquire_lock(lock, "first", HOLDER, wait=0)
    before = lock.read_text()
    with pytest.raises(state.LockHeld) as raised:
        state.acquire_lock(lock, "second", OTHER, wait=wait)
    message = str(raised.value)
    assert message.startswith("playbook=Reset the SuperLink state, user=alice, controller=laptop, since=")
    assert raised.value.held["token"] == "first"
    assert clock.sleeps == sleeps
    assert lock.read_text() == before


def test_lock_taken_once_its_holder_releases_it_during_the_wait(lock: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state.acquire_lock(lock, "first", HOLDER, wait=0)
    fake = FakeClock(on_sleep=lambda n: n == 2 and state.release_lock(lock, "first"))
    monkeypatch.setattr(state, "time", fake)
    assert state.acquire_lock(lock, "second", OTHER, wait=60) == {"changed": True, "waited": True, "broke": None}
    assert fake.sleeps == 2
    assert json.loads(lock.read_text())["token"] == "second"


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (json.dumps({**HOLDER, "token": "killed", "since": "2025-01-01T00:00:00Z"}), "playbook=Reset"),
        ("", "holder unknown"),
        ("{half", "holder unknown"),
        ("[1, 2]", "holder unknown"),
    ],
    ids=["left-by-a-killed-playbook", "empty", "not-json", "not-an-object"],
)
def test_a_stale_lock_holds_until_broken_with_force(content: str, named: str, lock: Path, clock: FakeClock) -> None:
    lock.parent.mkdir()
    lock.write_text(content)
    with pytest.raises(state.LockHeld, match=named):
        state.acquire_lock(lock, "mine", OTHER, wait=0)
    assert lock.read_text() == content
    result = state.acquire_lock(lock, "mine", OTHER, wait=0, force=True)
    assert result["changed"] is True
    assert result["broke"] == (json.loads(content) if named != "holder unknown" else {})
    assert json.loads(lock.read_text())["token"] == "mine"


def test_lock_dry_run_changes_nothing(lock: Path, clock: FakeClock) -> None:
    assert state.acquire_lock(lock, "t1", HOLDER, wait=0, dry_run=True) == {"changed": True, "waited": False}
    assert not lock.exists() and not lock.parent.exists()
    state.acquire_lock(lock, "t1", HOLDER, wait=0)
    before = lock.read_text()
    assert state.acquire_lock(lock, "t2", OTHER, wait=0, force=True, dry_run=True)["changed"] is False
    assert state.release_lock(lock, "t1", dry_run=True) is False
    assert lock.read_text() == before


@pytest.mark.parametrize(
    ("token", "released"), [("owner", True), ("another", False), ("", False)], ids=["owner", "another", "empty"]
)
def test_lock_released_only_by_its_token(token: str, released: bool, lock: Path, clock: FakeClock) -> None:
    state.acquire_lock(lock, "owner", HOLDER, wait=0)
    before = lock.read_text()
    assert state.release_lock(lock, token) is released
    assert lock.exists() is not released
    if not released:
        assert lock.read_text() == before


def test_releasing_a_lock_nobody_holds(lock: Path) -> None:
    assert state.release_lock(lock, "t1") is False
    assert not lock.exists()


def test_default_holder_names_this_host() -> None:
    assert state.default_holder("scheduled backup") == {
        "playbook": "scheduled backup",
        "user": "root",
        "controller": socket.gethostname(),
    }


def test_a_symlink_at_the_lock_path_is_refused_not_spun_on(
    lock: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock.parent.mkdir()
    lock.symlink_to("/nonexistent/planted")
    real_open = os.open
    opened: list[str] = []

    def guarded_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        opened.append(str(path))
        if len(opened) > 50:
            raise AssertionError("acquire_lock tried to create the lock 50 times without waiting or giving up")
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    with pytest.raises((state.LockHeld, state.Refused)):
        state.acquire_lock(lock, "mine", OTHER, wait=0)


# --- describe_path: what the role's probes see ----------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (written("hello"), {"type": "file", "size": 5, "sha1": hashlib.sha1(b"hello").hexdigest()}),
        (symlink("/etc/passwd"), {"type": "link"}),
        (directory, {"type": "directory"}),
        (fifo, {"type": "other"}),
        (written(b"\0" * (2 << 20)), {"type": "file", "size": 2 << 20}),
    ],
    ids=["file", "symlink-not-followed", "directory", "fifo", "large-file-not-hashed"],
)
def test_describe_path(make: Callable[[Path], Path], expected: dict[str, Any], tmp_path: Path) -> None:
    path = make(tmp_path / "entry")
    if not path.is_symlink():
        path.chmod(0o640)
    found = state.describe_path(str(path))
    assert found == {
        "exists": True,
        "uid": os.getuid(),
        "gid": os.getgid(),
        "owner": found["owner"],
        "group": found["group"],
        "mode": found["mode"],
        "size": path.lstat().st_size,
        **expected,
    }
    if not path.is_symlink():
        assert found["mode"] == "0640"
    if os.geteuid() == 0:
        assert found["owner"] == "root"


@pytest.mark.parametrize("where", ["absent", "absent/child", "file/child"])
def test_describe_path_of_nothing(where: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert state.describe_path(str(tmp_path / where)) == {"exists": False}
