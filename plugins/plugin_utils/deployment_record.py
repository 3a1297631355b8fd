"""What a deployment read back from a host must be before the play uses it.

The deployment record (a local fact on the SuperLink's host) and a backup's
manifest say which image, release and backup a deployment used. Upgrades
and rollbacks put those values into the unit file (image reference, version)
and file operations (backup path), so they are checked like inventory
values: a record altered on the host must not steer the play.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from ansible_collections.flower_iac.federation.plugins.plugin_utils.container_config import (
    DIGEST_RE,
    IMAGE_ID_RE,
    REPOSITORY_RE,
    TAG_RE,
    VERSION_RE,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.validation import (
    FILE_NAME_RE,
    NAME_RE,
    path_problem,
)

# Endings a database file name may not have: its journals', and the manifest's.
DATABASE_NAME_NOT = (".json", "-journal", "-wal", "-shm")
# A backup the role wrote: a plain file name ending in .db.
BACKUP_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,200}\.db\Z")


def deployment_errors(entry: Any, what: str, backup_dir: str = "") -> list[str]:
    """Problems with a deployment read back from the host (record or manifest).

    These values reach the unit file (image reference, version) and file
    operations (backup path), so they are checked like inventory values.
    """
    if not isinstance(entry, dict):
        return [f"{what} is not a JSON object"]
    errors = []
    ref = entry.get("image_ref", "")
    repo, _sep, rest = str(ref).partition("@") if "@" in str(ref) else str(ref).rpartition(":")
    if "@" in str(ref):
        ok = REPOSITORY_RE.match(repo) and DIGEST_RE.match(rest)
    else:
        ok = bool(repo) and REPOSITORY_RE.match(repo) and TAG_RE.match(rest)
    if not ok:
        errors.append(f"{what}: image_ref={json.dumps(ref)} is not an image reference")
    if not IMAGE_ID_RE.match(str(entry.get("image_id", ""))):
        errors.append(f"{what}: image_id={json.dumps(entry.get('image_id'))} is not sha256:<64 hex>")
    if not VERSION_RE.match(str(entry.get("version", entry.get("flwr_version", "")))):
        errors.append(f"{what}: version={json.dumps(entry.get('version', entry.get('flwr_version')))} is not X.Y.Z")
    errors += identity_errors(entry, what)
    backup = entry.get("backup", "")
    if backup and (
        not isinstance(backup, str)
        or (backup_dir and posixpath.dirname(backup) != backup_dir)
        or not BACKUP_NAME_RE.match(posixpath.basename(backup))
    ):
        errors.append(f"{what}: backup={json.dumps(backup)} is not a backup file in {backup_dir}")
    return errors


# What a deployed SuperLink is called and where it keeps its state, as the
# record holds it (record_write.yml), with the variable that sets each.
# Changing one on a host that runs a SuperLink would leave the old unit (or
# the runs) behind, so the play compares them first (identity_changes).
IDENTITY = {
    "service_name": "flower_superlink_service_name",
    "container_name": "flower_superlink_container_name",
    "state_dir": "flower_superlink_state_dir",
    "database": "flower_superlink_database_name",
}
# Of those, what a deploy can move by itself on request
# (flower_superlink_move_state): the database, into the new place.
MOVABLE = ("flower_superlink_state_dir", "flower_superlink_database_name")


def identity_errors(entry: dict[str, Any], what: str) -> list[str]:
    """Problems with the identity a record's entry holds (absent keys are fine:
    records written before the role kept them, and manifests, have none).

    The recorded state directory and database are where a move reads the runs
    from, so they are held to the rules the inventory's values were."""
    errors = []
    for key in ("service_name", "container_name"):
        if key in entry and not (isinstance(entry[key], str) and NAME_RE.match(entry[key])):
            errors.append(f"{what}: {key}={json.dumps(entry[key])} is not a unit or container name")
    state_dir = entry.get("state_dir")
    if "state_dir" in entry and (not isinstance(state_dir, str) or path_problem(state_dir)):
        errors.append(f"{what}: state_dir={json.dumps(state_dir)} is not a state directory")
        state_dir = None
    if "database" in entry:
        database = entry["database"]
        name = posixpath.basename(database) if isinstance(database, str) else ""
        # The inventory's rule for flower_superlink_database_name: never a
        # journal's name (a move renames the database and its journals).
        ok = (
            FILE_NAME_RE.match(name)
            and database == posixpath.join(posixpath.dirname(database), name)
            and not name.endswith(DATABASE_NAME_NOT)
            and (
                posixpath.dirname(database) == state_dir
                if "state_dir" in entry
                else not path_problem(posixpath.dirname(database))
            )
        )
        if not ok:
            errors.append(f"{what}: database={json.dumps(database)} is not a database file in its state_dir")
    return errors


def identity_changes(recorded: Any, wanted: dict[str, str]) -> list[dict[str, str]]:
    """Each identity value the inventory changes from the deployment recorded
    on the host: ``{"variable", "deployed", "wanted"}``, in IDENTITY's order.

    WANTED holds the inventory's service_name, container_name, state_dir and
    database (the database's full path). A value the record does not hold is
    not compared: nothing says what it was. A moved state directory is one
    change, not two (the database's path moves with it); the database's file
    name is compared on its own."""
    if not isinstance(recorded, dict):
        return []
    changes = []
    for key, variable in IDENTITY.items():
        if not isinstance(recorded.get(key), str):
            continue
        deployed, new = recorded[key], wanted[key]
        if key == "database":
            deployed, new = posixpath.basename(deployed), posixpath.basename(new)
        if deployed != new:
            changes.append({"variable": variable, "deployed": deployed, "wanted": new})
    return changes
