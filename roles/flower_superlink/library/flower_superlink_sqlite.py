#!/usr/bin/python3
"""Ansible module: consistent SQLite backups, checks and restores of a SuperLink database."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flower_superlink_sqlite
short_description: Back up, check or restore a Flower SuperLink SQLite database
description:
  - C(backup) copies O(src) to O(dest) with SQLite's online backup API, which is
    consistent even while the SuperLink writes (a plain file copy of a live
    database is not). A database left with a hot journal or an uncheckpointed
    WAL (SuperLink killed mid-write, then stopped) cannot be opened read-only;
    it is then copied with its journal into a private directory and recovered
    there, never in place. The copy is checked (C(PRAGMA integrity_check), and
    every table holds as many rows as in the source), converted to a single
    self-contained file (journal mode DELETE), written with its manifest
    O(dest) minus C(.db) plus C(.json), and both are renamed into place
    together: a C(.db) never appears without its manifest.
  - C(check) runs C(PRAGMA integrity_check) on O(src) and reports what it holds.
  - C(restore) installs the backup O(src) as the database O(dest): the old
    database's journal files are removed, the copy is written beside it under a
    new name without following links, checked against the backup's SHA-256,
    given to O(owner)/O(group) and renamed over O(dest).
  - C(export) writes the run history of the backup O(src) as readable JSON to
    O(dest) (every row of the C(run) table, whatever columns that Flower
    release has; binary values as hex), so that runs archived by a
    fresh-state upgrade stay readable without any Flower release.
  - Paths may hold any character, including those special in SQLite URIs.
    Every failure is reported with a message, never a traceback.
options:
  action:
    description: What to do.
    type: str
    choices: [backup, check, restore, export]
    default: check
  src:
    description: The database (backup, check) or backup (restore) to read.
    type: path
    required: true
  dest:
    description: >-
      The backup to create (backup; must not exist), the database to replace
      (restore) or the JSON file to write (export; must not exist).
    type: path
  manifest:
    description: Fields for the backup's manifest (backup); the module adds what it measured.
    type: dict
    default: {}
  owner:
    description: uid of the restored database (restore).
    type: int
  group:
    description: gid of the restored database (restore).
    type: int
  mode:
    description: Mode of the file written.
    type: str
    default: "0600"
author: flower-superlink-iac maintainers
"""

RETURN = r"""
path: {description: The file checked or written., type: str, returned: always}
sha256: {description: SHA-256 of that file., type: str, returned: success}
size: {description: Size in bytes., type: int, returned: success}
integrity: {description: Result of PRAGMA integrity_check ("ok" when sound)., type: str, returned: success}
runs: {description: Number of rows in the run table (-1 when there is none)., type: int, returned: success}
recovered: {description: The source was recovered (hot journal or WAL) in a copy., type: bool, returned: backup}
manifest: {description: The manifest written beside the backup., type: dict, returned: backup}
"""

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import urllib.parse
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule

SIDECARS = ("-journal", "-wal", "-shm")


class Refused(Exception):
    """A failure to report with fail_json."""


def uri(path: Path, mode: str) -> str:
    # Any legal path: '?', '#', '%' and spaces are quoted, not read as URI syntax.
    return f"file:{urllib.parse.quote(str(path))}?mode={mode}"


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


def backup(module: AnsibleModule, src: Path, dest: Path) -> dict[str, object]:
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
        os.chmod(tmp, int(module.params["mode"], 8))
        facts = describe(tmp)
        if facts["integrity"] != "ok":
            raise Refused(f"backup of {src} failed integrity_check: {facts['integrity']}")
        fsync(tmp)
        facts["path"] = str(dest)
        manifest = {**module.params["manifest"], **facts, "backup": str(dest), "tables": counts}
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


def restore(module: AnsibleModule, src: Path, dest: Path) -> dict[str, object]:
    regular_file(src, "backup")
    want = sha256_of(src)
    if os.path.lexists(dest):
        regular_file(dest, "database")
    for suffix in SIDECARS:
        side = Path(str(dest) + suffix)
        if os.path.lexists(side):
            os.unlink(side)  # unlink never follows a link
    tmp = dest.with_name(f".{dest.name}.restore")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with src.open("rb") as fh, os.fdopen(fd, "wb") as out:
            fd = -1
            shutil.copyfileobj(fh, out, 1 << 20)
            out.flush()
            os.fchown(out.fileno(), module.params["owner"], module.params["group"])
            os.fchmod(out.fileno(), int(module.params["mode"], 8))
            os.fsync(out.fileno())
        if sha256_of(tmp) != want:
            raise Refused(f"the restored copy of {src} does not match its SHA-256")
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
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, dest)
    return {"path": str(dest), "runs": len(rows), "sha256": sha256_of(dest)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "action": {"type": "str", "choices": ["backup", "check", "restore", "export"], "default": "check"},
            "src": {"type": "path", "required": True},
            "dest": {"type": "path"},
            "manifest": {"type": "dict", "default": {}},
            "owner": {"type": "int"},
            "group": {"type": "int"},
            "mode": {"type": "str", "default": "0600"},
        },
        required_if=[
            ("action", "backup", ["dest"]),
            ("action", "export", ["dest"]),
            ("action", "restore", ["dest", "owner", "group"]),
        ],
        supports_check_mode=True,
    )
    action = module.params["action"]
    src = Path(module.params["src"])
    try:
        if action == "check":
            regular_file(src, "database")
            module.exit_json(changed=False, **describe(src))
        dest = Path(module.params["dest"])
        if module.check_mode:
            regular_file(src, "database" if action == "backup" else "backup")
            module.exit_json(changed=True, path=str(dest))
        if action == "export":
            regular_file(src, "backup")
            result = export(src, dest, int(module.params["mode"], 8))
        elif action == "backup":
            result = backup(module, src, dest)
        else:
            result = restore(module, src, dest)
        module.exit_json(changed=True, **result)
    except Refused as err:
        module.fail_json(msg=str(err), path=str(src))
    except (sqlite3.Error, OSError) as err:
        module.fail_json(msg=f"{action} of {src} failed: {type(err).__name__}: {err}", path=str(src))


if __name__ == "__main__":
    main()
