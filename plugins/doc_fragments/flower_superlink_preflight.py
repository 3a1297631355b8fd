"""The options of module flower_superlink_preflight, documented for both modules that take them.

flower_superlink_lock takes the same options as its O(preflight):
module_utils/flower_superlink_preflight.py's ARGUMENT_SPEC serves both. The
two texts below are the same options, at the two places they sit; they are
literal strings because Ansible's checks read a fragment without running it
(tests/unit/plugins/modules/test_module_docs.py checks that they agree).
"""

from __future__ import annotations


class ModuleDocFragment:
    # flower_superlink_preflight's own options.
    DOCUMENTATION = r"""
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
    description: >-
      Unit files the role writes beside the SuperLink's (its proxy, its executor);
      each must be the role's.
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
"""

    # The same, as the suboptions of flower_superlink_lock's option preflight.
    LOCK = r"""
options:
  preflight:
    suboptions:
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
        description: >-
          Unit files the role writes beside the SuperLink's (its proxy, its executor);
          each must be the role's.
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
"""
