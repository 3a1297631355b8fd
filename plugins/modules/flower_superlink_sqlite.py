#!/usr/bin/python
"""Ansible module: consistent SQLite backups, checks and restores of a SuperLink database."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flower_superlink_sqlite
short_description: Back up, check or restore a Flower SuperLink SQLite database
version_added: 0.27.0
description:
  - >-
    C(backup) copies O(src) to O(dest) with SQLite's online backup API, which is
    consistent even while the SuperLink writes (a plain file copy of a live
    database is not). A database left with a hot journal or an uncheckpointed
    WAL (SuperLink killed mid-write, then stopped) cannot be opened read-only;
    it is then copied with its journal into a private directory and recovered
    there, never in place. The copy is checked (C(PRAGMA integrity_check), and
    every table holds as many rows as in the source), converted to a single
    self-contained file (journal mode DELETE), written with its manifest
    O(dest) minus C(.db) plus C(.json), and both are renamed into place
    together: a C(.db) never appears without its manifest.
  - >-
    C(check) runs C(PRAGMA integrity_check) on O(src) and reports what it holds.
  - >-
    C(restore) installs the backup O(src) as the database O(dest): the old
    database's journal files are removed, the copy is written beside it under a
    new name without following links, checked against the backup's SHA-256,
    given to O(owner)/O(group) and renamed over O(dest).
  - >-
    C(export) writes the run history of the backup O(src) as readable JSON to
    O(dest) (every row of the C(run) table, whatever columns that Flower
    release has; binary values as hex), so that runs archived by a
    fresh-state upgrade stay readable without any Flower release.
  - >-
    Paths may hold any character, including those special in SQLite URIs.
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
author: flower-iac maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Back up the live database with its manifest
  flower_iac.federation.flower_superlink_sqlite:
    action: backup
    src: /var/lib/flower-superlink/state.db
    dest: /var/backups/flower-superlink/state-20260101T000000Z-manual.db
    manifest:
      reason: manual

- name: Check a backup before restoring it
  flower_iac.federation.flower_superlink_sqlite:
    action: check
    src: /var/backups/flower-superlink/state-20260101T000000Z-manual.db
  register: checked
  failed_when: checked.integrity != 'ok'

- name: Restore it as the database, owned by the SuperLink's user
  flower_iac.federation.flower_superlink_sqlite:
    action: restore
    src: /var/backups/flower-superlink/state-20260101T000000Z-manual.db
    dest: /var/lib/flower-superlink/state.db
    owner: 49999
    group: 49999
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

import sqlite3
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_state import (
    Refused,
    backup,
    describe,
    export,
    regular_file,
    restore,
)


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
            result = backup(src, dest, module.params["manifest"], int(module.params["mode"], 8))
        else:
            p = module.params
            result = restore(src, dest, p["owner"], p["group"], int(p["mode"], 8))
        module.exit_json(changed=True, **result)
    except Refused as err:
        module.fail_json(msg=str(err), path=str(src))
    except (sqlite3.Error, OSError) as err:
        module.fail_json(msg=f"{action} of {src} failed: {type(err).__name__}: {err}", path=str(src))


if __name__ == "__main__":
    main()
