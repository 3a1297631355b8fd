"""The release table is the one place for Flower's per-release facts: the
tables of docs/flower-releases.md are generated from it, and every release a
test deploys, the images are built for, or the role defaults to is one of its
tested releases."""

from __future__ import annotations

import re

import pytest
import release_table
import yaml
from conftest import ROOT

TABLE = release_table.data()
TESTED = TABLE["_flower_superlink_tested_releases"]


def test_the_release_page_shows_the_release_table_as_generated() -> None:
    """Regenerate with: python tests/release_table.py --write"""
    assert release_table.in_page(release_table.PAGE.read_text()) == release_table.render()


def test_the_release_page_shows_the_upgrade_steps_as_generated() -> None:
    """Regenerate with: python tests/release_table.py --write"""
    text = release_table.PAGE.read_text()
    shown = release_table.in_page(text, release_table.STEPS_BEGIN, release_table.STEPS_END)
    assert shown == release_table.render_steps()


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("1.19.0", "1.20.0", "same-schema"),
        ("1.20.0", "1.19.0", "same-schema"),
        ("1.19.0", "1.23.0", "cliff"),
        ("1.23.0", "1.24.0", "cliff"),
        ("1.24.0", "1.25.0", "cliff"),
        ("1.24.0", "1.26.0", "cliff"),
        ("1.25.0", "1.26.0", "migrates"),
        ("1.25.0", "1.42.0", "migrates"),
        ("1.26.0", "1.42.0", "same-schema"),
        ("1.42.0", "1.25.0", "downgrade"),
        ("1.42.0", "1.26.0", "downgrade"),
    ],
)
def test_upgrade_steps_the_page_names(old: str, new: str, kind: str) -> None:
    """Spot checks of the rules the generated table applies (the page's words for them)."""
    assert release_table.upgrade_step(old, new)["kind"] == kind


def test_tested_releases_lie_within_the_table() -> None:
    oldest, newest = TABLE["_flower_superlink_oldest_release"], TABLE["_flower_superlink_newest_release"]
    v = release_table.version
    assert sorted(TESTED, key=v) == TESTED
    assert TESTED[0] == oldest and TESTED[-1] == newest
    assert v(TABLE["_flower_superlink_releases"][0]["since"]) == v(oldest)
    assert all(v(row["since"]) <= v(newest) for row in TABLE["_flower_superlink_releases"])


def test_the_role_defaults_to_a_tested_release() -> None:
    defaults = yaml.safe_load((ROOT / "roles/flower_superlink/defaults/main.yml").read_text())
    assert defaults["flower_superlink_version"] in TESTED


def scenario_releases() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "molecule").glob("*/molecule.yml")):
        for match in re.finditer(r"(flower_superlink_version|federation_release): \"([0-9.]+)\"", path.read_text()):
            found.append((path.parent.name, match.group(2)))
    return found


@pytest.mark.parametrize(("scenario", "release"), scenario_releases())
def test_every_scenario_deploys_a_tested_release(scenario: str, release: str) -> None:
    assert release in TESTED, f"molecule/{scenario} deploys {release}, which the release table does not list as tested"


def test_the_exposure_table_covers_tested_releases_only() -> None:
    text = (ROOT / "tests/versions/test_exposure.py").read_text()
    deployed = set(re.findall(r'\("([0-9]+\.[0-9]+\.[0-9]+)", (?:True|False)\)', text))
    assert deployed and deployed <= set(TESTED)
