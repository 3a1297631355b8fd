"""Flower's release table as read (plugins/plugin_utils/releases.py): what
the other rules take from it, one row per release family."""

from __future__ import annotations

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.releases import (
    Version,
    proxied_apis,
    release_facts,
    releases,
    upgrade_step,
)


@pytest.mark.parametrize(
    ("version", "apis"),
    [
        ("1.19.0", []),
        ("1.35.0", []),
        ("1.36.0", []),
        ("1.37.0", ["control"]),
        ("1.39.0", ["control"]),
        ("1.40.0", ["fleet", "control"]),
        ("1.42.0", ["fleet", "control"]),
    ],
)
def test_proxied_apis_follow_the_release_table(version: str, apis: list[str]) -> None:
    assert proxied_apis(release_facts(version)) == apis


def test_every_release_has_an_executor() -> None:
    for row in releases()["rows"]:
        facts = release_facts(row["since"])
        executor = facts["executor"]
        assert set(executor) == {"command", "address_flag", "plugin_type", "tls", "app_in_process"}, row["since"]


# Which database schema each minor release writes, read from the PyPI wheels
# (linkstate's SQLite schema; Alembic from 1.26), written down here apart
# from flower_releases.yml so that the table is checked, not restated.
FAMILY = {f"1.{minor}.0": "1.19" for minor in range(19, 23)}
FAMILY |= {"1.23.0": "1.23", "1.24.0": "1.24", "1.25.0": "1.25"}
FAMILY |= {f"1.{minor}.0": "alembic" for minor in range(26, 43)}
PAIRS = [(a, b) for a in FAMILY for b in FAMILY]


def expected_step(old: str, new: str) -> str:
    """What an operator gets moving a database from ``old`` to ``new``."""
    if old == new:
        return "none"
    same = FAMILY[old] == FAMILY[new]
    if Version(new) > Version(old):
        if same:
            return "same-schema"
        # 1.26 opens a 1.25 database and migrates it; nothing older migrates.
        return "migrates" if (FAMILY[old], FAMILY[new]) == ("1.25", "alembic") else "cliff"
    # Alembic never migrates downwards; the 1.19 family shares one schema.
    return "same-schema" if same and FAMILY[old] != "alembic" else "downgrade"


@pytest.mark.parametrize(("old", "new"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_move_between_releases(old: str, new: str) -> None:
    assert upgrade_step(old, new)["kind"] == expected_step(old, new)


def test_the_matrix_covers_every_row_of_the_table() -> None:
    assert {row["since"] for row in releases()["rows"]} <= set(FAMILY)
    assert Version(max(FAMILY, key=Version)) == releases()["newest"]
