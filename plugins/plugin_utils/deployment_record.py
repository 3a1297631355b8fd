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
    backup = entry.get("backup", "")
    if backup and (
        not isinstance(backup, str)
        or (backup_dir and posixpath.dirname(backup) != backup_dir)
        or not BACKUP_NAME_RE.match(posixpath.basename(backup))
    ):
        errors.append(f"{what}: backup={json.dumps(backup)} is not a backup file in {backup_dir}")
    return errors
