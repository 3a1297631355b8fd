"""Filters of the docker_engine role, run on the controller."""

from __future__ import annotations

import json
import re
import tarfile
from typing import Any


def archive_image_id(path: str) -> str:
    """The image ID inside a `docker save` archive on the controller, read from
    its manifest.json without unpacking the layers (tar headers are skipped
    over, not read); "" when the file is not such an archive. Both layouts:
    Config "<hex>.json" (classic) and "blobs/sha256/<hex>" (OCI, Docker 25+)."""
    try:
        with tarfile.open(path) as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.load(member) if member else []
    except (OSError, KeyError, tarfile.TarError, ValueError):
        return ""
    if not isinstance(manifest, list) or len(manifest) != 1 or not isinstance(manifest[0], dict):
        return ""
    config = str(manifest[0].get("Config", ""))
    digest = config.rsplit("/", 1)[-1].removesuffix(".json")
    return f"sha256:{digest}" if re.fullmatch(r"[0-9a-f]{64}", digest) else ""


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"docker_archive_image_id": archive_image_id}
