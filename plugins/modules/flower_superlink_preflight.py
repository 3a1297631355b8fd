#!/usr/bin/python3
"""Ansible module: host-side checks before flower_superlink changes anything."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flower_superlink_preflight
short_description: Refuse host state the flower_superlink role must not touch
description:
  - >-
    Read-only checks, in one round trip, of everything on the host the role is
    about to create, chown, chmod, overwrite or remove. The playbooks run the
    same checks under the SuperLink's lock (flower_superlink_lock, option
    preflight); this module serves the role run on its own. Fails with one message
    per problem, each naming the variable to fix.
  - >-
    Directories: no path component may be a symlink; an existing directory that
    holds files must already have the owner, group (and mode) the role gives it,
    or it belongs to something else.
  - >-
    The database and its journal files must be regular files (the container owns
    the state directory and could plant symlinks to files outside it).
  - >-
    The unit file may only be replaced when this role wrote it; no other unit of
    the same name may exist elsewhere; a container of the same name must be one
    the role started.
  - >-
    Optionally, free space for a backup of the database.
  - >-
    Allow-lists Docker's DOCKER-USER chain must enforce (O(docker_user_lists)):
    refused when dockerd runs but has no such chain (iptables off).
options:
  directories:
    description: Directories with var, path, owner, group and optional mode.
    type: list
    elements: dict
    required: true
  database:
    description: Path of the database.
    type: path
    required: true
  sidecars:
    description: Suffixes of SQLite's files beside the database.
    type: list
    elements: str
    default: ["-journal", "-wal", "-shm"]
  unit_path:
    description: Unit file the role writes.
    type: path
    required: true
  unit_marker:
    description: Text the first line of the role's unit files starts with.
    type: str
    required: true
  service_name:
    description: systemd service name (without .service).
    type: str
    required: true
  container_name:
    description: Name of the container the unit runs.
    type: str
    required: true
  container_label:
    description: key=value label the role puts on its container.
    type: str
    required: true
  companion_units:
    description: Unit files the role writes beside the SuperLink's (its proxy, its executor); each must be the role's.
    type: list
    elements: path
    default: []
  companion_containers:
    description: Containers the role runs beside the SuperLink's; each must carry the role's label.
    type: list
    elements: str
    default: []
  backup_dir:
    description: Where a backup would be written; with need_backup, free space there is checked.
    type: path
  need_backup:
    description: Check that a backup of the database fits in backup_dir.
    type: bool
    default: false
  record:
    description: >-
      The deployment record (a small JSON file the role writes); its text is
      returned, so the role does not read it in another round trip.
    type: path
  docker_user_lists:
    description: >-
      Names of the allow-list variables that the DOCKER-USER chain must enforce;
      empty when none (or when the proxy enforces them).
    type: list
    elements: str
    default: []
author: flower-superlink-iac maintainers
"""

RETURN = r"""
database_exists: {description: Whether the database file exists., type: bool, returned: always}
database_bytes: {description: Size of the database and its journal files., type: int, returned: always}
unit_exists: {description: Whether the role's unit file exists., type: bool, returned: always}
free_bytes: {description: Free space where backups go (need_backup only)., type: int, returned: when checked}
record: {description: "The record's text, '' when there is none.", type: str, returned: when record is given}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_preflight import (
    ARGUMENT_SPEC,
    check_host,
)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result, errors = check_host(module.params)
    except Exception as err:  # noqa: BLE001 - a module reports, never tracebacks
        module.fail_json(msg=f"preflight checks could not run: {type(err).__name__}: {err}")
    if errors:
        module.fail_json(msg="\n".join(errors), errors=errors)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
