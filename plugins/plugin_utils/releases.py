"""Flower's releases as this collection knows them: the one table, read.

roles/flower_superlink/vars/flower_releases.yml lists, per release, only what
changed in it (ports, schema, executor, flags); a release's facts are every
row at or below it, merged in order. Validation, the unit, the health gate,
upgrades and the executors all read their per-release facts from here.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from ansible_collections.flower_iac.federation.plugins.plugin_utils.role_paths import role_dir

RELEASE_TABLE = role_dir("flower_superlink") / "vars" / "flower_releases.yml"


class Version(tuple):  # type: ignore[type-arg]
    """X.Y.Z as a comparable tuple; anything after the third number is ignored."""

    def __new__(cls, text: str) -> Version:
        return super().__new__(cls, (int(p) for p in re.findall(r"[0-9]+", str(text))[:3]))

    def __str__(self) -> str:
        return ".".join(str(p) for p in self)


_RELEASES: dict[str, Any] = {}


def releases() -> dict[str, Any]:
    """vars/flower_releases.yml, with versions parsed."""
    if not _RELEASES:
        data = yaml.safe_load(RELEASE_TABLE.read_text())
        _RELEASES.update(
            tested=data["_flower_superlink_tested_releases"],
            oldest=Version(data["_flower_superlink_oldest_release"]),
            newest=Version(data["_flower_superlink_newest_release"]),
            rows=sorted(data["_flower_superlink_releases"], key=lambda row: Version(row["since"])),
        )
    return _RELEASES


def release_facts(version: str) -> dict[str, Any]:
    """Everything the role knows about one Flower release (rows merged in order)."""
    facts: dict[str, Any] = {}
    wanted = Version(version)
    for row in releases()["rows"]:
        if Version(row["since"]) <= wanted:
            facts.update(row)
    facts["version"] = str(version)
    facts["tested"] = str(version) in releases()["tested"]
    return facts


def upgrade_step(old_version: str, new_version: str) -> dict[str, Any]:
    """What moving a database written by ``old_version`` to ``new_version`` means.

    kind: none (same release), same-schema, migrates (the new release upgrades
    it at start), cliff (the new release cannot use it: fresh state or stay),
    downgrade (an older release cannot open what a newer one wrote).
    """
    old, new = release_facts(old_version), release_facts(new_version)
    if Version(old_version) == Version(new_version):
        kind = "none"
    elif Version(new_version) > Version(old_version):
        if old["schema"] == new["schema"]:
            kind = "same-schema"
        elif old["schema"] in new["opens_schemas"]:
            kind = "migrates"
        else:
            kind = "cliff"
    else:
        kind = "same-schema" if old["schema"] == new["schema"] and old["older_can_reopen"] else "downgrade"
    return {"kind": kind, "from": old, "to": new}


def proxied_apis(facts: dict[str, Any]) -> list[str]:
    """The public APIs a release serves from its one HTTP port together with
    others (so only a route-filtering proxy can publish them alone), in the
    order fleet, control; [] when each has a port of its own."""
    port = facts.get("http_port")
    if not port:
        return []
    return [api for api in ("fleet", "control") if facts.get(f"{api}_port") == port]
