#!/usr/bin/python3
"""Ansible module: consistent SQLite backups and checks of a SuperLink database."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flower_superlink_sqlite
short_description: Back up, check or describe a Flower SuperLink SQLite database
description:
  - C(backup) copies O(src) to O(dest) with SQLite's online backup API, which is
    consistent even while the SuperLink writes (a plain file copy of a live
    database is not). The copy is written under a temporary name, checked with
    C(PRAGMA integrity_check), then renamed into place, so O(dest) either does
    not exist or is a complete, checked database.
  - C(check) runs C(PRAGMA integrity_check) on O(src) and reports what it holds.
options:
  action:
    description: What to do.
    type: str
    choices: [backup, check]
    default: check
  src:
    description: The database to read.
    type: path
    required: true
  dest:
    description: The backup file to create (action=backup). Must not exist.
    type: path
  mode:
    description: Mode of the backup file.
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
"""

import hashlib
import os
import sqlite3
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule


def describe(path: Path) -> dict[str, object]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
        try:
            runs = con.execute("SELECT COUNT(*) FROM run").fetchone()[0]
        except sqlite3.OperationalError:
            runs = -1
    finally:
        con.close()
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    size = path.stat().st_size
    return {"path": str(path), "sha256": digest.hexdigest(), "size": size, "integrity": integrity, "runs": runs}


def backup(module: AnsibleModule, src: Path, dest: Path) -> dict[str, object]:
    tmp = dest.with_name(dest.name + ".partial")
    tmp.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(tmp)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    tmp.chmod(int(module.params["mode"], 8))
    facts = describe(tmp)
    if facts["integrity"] != "ok":
        tmp.unlink()
        module.fail_json(msg=f"backup of {src} failed integrity_check: {facts['integrity']}", **facts)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    tmp.rename(dest)
    facts["path"] = str(dest)
    return facts


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "action": {"type": "str", "choices": ["backup", "check"], "default": "check"},
            "src": {"type": "path", "required": True},
            "dest": {"type": "path"},
            "mode": {"type": "str", "default": "0600"},
        },
        required_if=[("action", "backup", ["dest"])],
        supports_check_mode=True,
    )
    src = Path(module.params["src"])
    if not src.is_file():
        module.fail_json(msg=f"no database at {src}", path=str(src))
    if module.params["action"] == "check":
        module.exit_json(changed=False, **describe(src))
    dest = Path(module.params["dest"])
    if dest.exists():
        module.fail_json(msg=f"refusing to overwrite existing backup {dest}", path=str(dest))
    if module.check_mode:
        module.exit_json(changed=True, path=str(dest))
    module.exit_json(changed=True, **backup(module, src, dest))


if __name__ == "__main__":
    main()
