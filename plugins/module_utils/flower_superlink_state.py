"""The SuperLink's host-side state operations, in one place.

Used by the role's modules (flower_superlink_sqlite, flower_superlink_lock),
which Ansible ships to the host with this file, and installed on the host by
the flower_offsite_backup role for its scheduled backups, which run without
Ansible: both take the same checked backups and honour the same lock.
Standard library only; every expected failure raises Refused with a message.
"""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd
import shutil
import socket
import sqlite3
import stat
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

SIDECARS = ("-journal", "-wal", "-shm")


class Refused(Exception):
    """An expected failure, reported with its message (never a traceback)."""


class LockHeld(Exception):
    """Another holder kept the lock past the wait."""

    def __init__(self, held: dict) -> None:
        super().__init__(describe_holder(held) or "holder unknown")
        self.held = held


def uri(path: Path, mode: str) -> str:
    # Any legal path: '?', '#', '%' and spaces are quoted, not read as URI syntax.
    # "file://" + an empty authority: a path starting with "//" (the same file
    # as "/") is never read as a host name.
    return f"file://{urllib.parse.quote(str(path))}?mode={mode}"


def regular_file(path: Path, what: str) -> os.stat_result:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise Refused(f"no {what} at {path}") from None
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"{what} {path} is not a regular file (a symlink?); refusing to follow it")
    return st


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def table_counts(con: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
    ]
    return {name: con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}


def describe(path: Path) -> dict[str, object]:
    con = sqlite3.connect(uri(path, "ro"), uri=True, timeout=30)
    try:
        integrity = "\n".join(str(r[0]) for r in con.execute("PRAGMA integrity_check"))
        try:
            runs = con.execute("SELECT COUNT(*) FROM run").fetchone()[0]
        except sqlite3.DatabaseError:
            runs = -1
    finally:
        con.close()
    return {
        "path": str(path),
        "sha256": sha256_of(path),
        "size": path.stat().st_size,
        "integrity": integrity,
        "runs": runs,
    }


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_online(src: Path, tmp: Path) -> dict[str, int]:
    """Back up through SQLite; return the source's row counts at the time."""
    source = sqlite3.connect(uri(src, "ro"), uri=True, timeout=30)
    target = sqlite3.connect(tmp)
    try:
        source.backup(target)
        counts = table_counts(source)
        # One self-contained file, whatever journal mode the source uses (WAL
        # from Flower 1.23): no -wal or -shm belongs to a backup.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()
    return counts


def copy_recovered(src: Path, tmp: Path) -> dict[str, int]:
    """Copy the database with its journal files privately and let SQLite recover the copy."""
    with tempfile.TemporaryDirectory(dir=tmp.parent, prefix=".recover-") as work:
        copy = Path(work) / "db"
        shutil.copyfile(src, copy, follow_symlinks=False)
        for suffix in ("-journal", "-wal"):
            side = Path(str(src) + suffix)
            if os.path.lexists(side):
                regular_file(side, "database journal")
                shutil.copyfile(side, Path(str(copy) + suffix), follow_symlinks=False)
        # Opening read-write rolls back a hot journal or replays the WAL: on the copy.
        con = sqlite3.connect(copy)
        try:
            con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
        return copy_online(copy, tmp)


def backup(src: Path, dest: Path, manifest_fields: dict[str, object], mode: int = 0o600) -> dict[str, object]:
    """A checked copy of the database ``src`` at ``dest`` with its manifest (see the module's documentation)."""
    regular_file(src, "database")
    for suffix in SIDECARS:
        side = Path(str(src) + suffix)
        if os.path.lexists(side):
            regular_file(side, "database journal")
    if dest.suffix != ".db":
        raise Refused(f"backup name {dest} must end in .db")
    manifest_path = dest.with_suffix(".json")
    if os.path.lexists(dest) or os.path.lexists(manifest_path):
        raise Refused(f"refusing to overwrite existing backup {dest}")
    tmp = dest.with_name(dest.name + ".partial")
    tmp_manifest = manifest_path.with_name(manifest_path.name + ".partial")
    for leftover in (tmp, tmp_manifest, Path(str(tmp) + "-journal")):
        leftover.unlink(missing_ok=True)
    try:
        recovered = False
        for _attempt in range(3):
            tmp.unlink(missing_ok=True)
            try:
                counts = copy_online(src, tmp)
            except sqlite3.DatabaseError:
                # Typically a hot journal: a read-only connection may not roll it back.
                tmp.unlink(missing_ok=True)
                counts = copy_recovered(src, tmp)
                recovered = True
            check = sqlite3.connect(uri(tmp, "ro"), uri=True)
            try:
                copied = table_counts(check)
            finally:
                check.close()
            if copied == counts:
                break
        else:
            raise Refused(f"the copy of {src} does not hold what the source holds: {copied} != {counts}")
        if not counts:
            raise Refused(f"{src} holds no tables: not a SuperLink database")
        os.chmod(tmp, mode)
        facts = describe(tmp)
        if facts["integrity"] != "ok":
            raise Refused(f"backup of {src} failed integrity_check: {facts['integrity']}")
        fsync(tmp)
        facts["path"] = str(dest)
        manifest = {**manifest_fields, **facts, "backup": str(dest), "tables": counts}
        with os.fdopen(os.open(tmp_manifest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        # Manifest first: a crash in between leaves a manifest without a
        # database, which is never taken for a backup; never the reverse.
        os.rename(tmp_manifest, manifest_path)
        os.rename(tmp, dest)
        fsync(dest.parent)
    except BaseException:
        for leftover in (tmp, tmp_manifest):
            leftover.unlink(missing_ok=True)
        raise
    return {**facts, "recovered": recovered, "manifest": manifest}


def restore(src: Path, dest: Path, owner: int, group: int, mode: int = 0o600) -> dict[str, object]:
    """Install the backup ``src`` as the database ``dest``, checked against its SHA-256."""
    regular_file(src, "backup")
    want = sha256_of(src)
    if os.path.lexists(dest):
        regular_file(dest, "database")
    # A file SQLite cannot open as a database is refused before anything changes.
    try:
        facts = describe(src)
    except sqlite3.DatabaseError as err:
        raise Refused(f"{src} is not a SQLite database: {err}") from None
    if facts["integrity"] != "ok":
        raise Refused(f"{src} is not a sound SQLite database: {facts['integrity']}")
    tmp = dest.with_name(f".{dest.name}.restore")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with src.open("rb") as fh, os.fdopen(fd, "wb") as out:
            fd = -1
            shutil.copyfileobj(fh, out, 1 << 20)
            out.flush()
            os.fchown(out.fileno(), owner, group)
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        if sha256_of(tmp) != want:
            raise Refused(f"the restored copy of {src} does not match its SHA-256")
        # Only now, with the copy written and checked, do the old database's
        # journal files go: until here a failure leaves it as it was, the
        # committed rows of its WAL included.
        for suffix in SIDECARS:
            side = Path(str(dest) + suffix)
            if os.path.lexists(side):
                os.unlink(side)  # unlink never follows a link
        os.rename(tmp, dest)
        fsync(dest.parent)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return {**describe(dest), "path": str(dest)}


def export(src: Path, dest: Path, mode: int) -> dict[str, object]:
    """The run table of a backup as JSON, written beside it under a new name."""
    con = sqlite3.connect(uri(src, "ro"), uri=True, timeout=30)
    try:
        cur = con.execute("SELECT * FROM run ORDER BY rowid")
        columns = [c[0] for c in cur.description]
        rows = [
            {k: (v.hex() if isinstance(v, bytes) else v) for k, v in zip(columns, row, strict=True)}
            for row in cur.fetchall()
        ]
    finally:
        con.close()
    if os.path.lexists(dest):
        raise Refused(f"{dest} exists already")
    text = json.dumps({"source": str(src), "sha256": sha256_of(src), "runs": rows}, indent=2, default=str)
    tmp = dest.with_name(f".{dest.name}.partial")
    if os.path.lexists(tmp):
        os.unlink(tmp)  # left by a killed export
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, dest)
    return {"path": str(dest), "runs": len(rows), "sha256": sha256_of(dest)}


# --- The lock every playbook (and the scheduled backup) takes --------------


def read_lock(path: Path) -> dict:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe_holder(held: dict) -> str:
    return ", ".join(f"{k}={held.get(k)}" for k in ("playbook", "user", "controller", "since") if k in held)


def acquire_lock(path: Path, token: str, holder: dict, wait: int, force: bool = False, dry_run: bool = False) -> dict:
    """Take the lock (O_EXCL file holding who took it), waiting up to ``wait`` seconds.

    Returns {changed, waited, broke}; raises LockHeld naming the holder.
    The holder's own token re-enters.
    """
    mine = {**holder, "token": token, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    deadline = time.monotonic() + max(wait, 0)
    waited = False
    while True:
        try:
            kind = stat.S_IFMT(os.lstat(path).st_mode)
        except FileNotFoundError:
            kind = None
        if kind is not None and kind != stat.S_IFREG:
            # /run/lock is writable by every local user: a link or anything
            # else planted there is neither followed nor waited on.
            raise Refused(
                f"{path} is not a lock file (a {KINDS.get(kind, 'special file')}); it was not made by a "
                "playbook. Remove it once you know who put it there."
            )
        held = read_lock(path) if kind is not None else None
        if held is not None and held.get("token") == token:
            return {"changed": False, "waited": waited}
        if held is None or force:
            if dry_run:
                return {"changed": held is None, "waited": waited}
            if force and held is not None:
                path.unlink(missing_ok=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            except FileExistsError:
                if time.monotonic() >= deadline:
                    raise LockHeld(read_lock(path)) from None
                continue  # someone else was quicker: look again
            with os.fdopen(fd, "w") as fh:
                json.dump(mine, fh)
            return {"changed": True, "waited": waited, "broke": held if force else None}
        if time.monotonic() >= deadline:
            raise LockHeld(held)
        waited = True
        time.sleep(1)


def release_lock(path: Path, token: str, dry_run: bool = False) -> bool:
    """Remove the lock if ``token`` holds it; whether it did."""
    if read_lock(path).get("token") == token and not dry_run:
        path.unlink(missing_ok=True)
        return True
    return False


def default_holder(what: str) -> dict:
    return {"playbook": what, "user": "root", "controller": socket.gethostname()}


# --- what the role manages, read in one pass ------------------------------------

MAX_HASHED = 1 << 20
KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "directory", stat.S_IFLNK: "link"}


def _name(lookup: object, ident: int) -> str:
    try:
        return lookup(ident)[0]  # type: ignore[operator]
    except KeyError:
        return ""


def describe_path(path: str) -> dict:
    """What a file/copy/template task would look at: type, owner, group, mode
    and, for a regular file up to 1 MiB, the SHA-1 of its content (Ansible's own
    checksum). Never follows a symlink."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return {"exists": False}
    kind = KINDS.get(stat.S_IFMT(st.st_mode), "other")
    entry: dict = {
        "exists": True,
        "type": kind,
        "uid": st.st_uid,
        "gid": st.st_gid,
        "owner": _name(pwd.getpwuid, st.st_uid),
        "group": _name(grp.getgrgid, st.st_gid),
        "mode": f"{stat.S_IMODE(st.st_mode):04o}",
        "size": st.st_size,
    }
    if kind == "file" and st.st_size <= MAX_HASHED:
        # O_NOFOLLOW: a symlink swapped in since the lstat is not followed.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            entry["sha1"] = hashlib.sha1(handle.read()).hexdigest()
    return entry


def systemctl_show(unit: str, properties: list) -> dict:
    """PROPERTIES of a systemd UNIT as `systemctl show` reports them ({} without
    systemctl). The one place the role's modules ask systemd about a unit."""
    if not shutil.which("systemctl"):
        return {}
    show = subprocess.run(
        ["systemctl", "show", f"--property={','.join(properties)}", "--", unit],
        capture_output=True,
        text=True,
        check=False,
    )
    return dict(line.split("=", 1) for line in show.stdout.splitlines() if "=" in line)


def unit_states(names: list) -> dict:
    """ActiveState (active), UnitFileState (enabled) and LoadState (load) of
    each systemd unit; empty without systemctl."""
    found: dict = {}
    for name in names:
        props = systemctl_show(name, ["ActiveState", "UnitFileState", "LoadState"])
        found[name] = (
            {
                "active": props.get("ActiveState", ""),
                "enabled": props.get("UnitFileState", ""),
                "load": props.get("LoadState", ""),
            }
            if props
            else {}
        )
    return found
