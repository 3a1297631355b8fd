"""Flower's release table as read (plugins/plugin_utils/releases.py): what
the other rules take from it, one row per release family."""

from __future__ import annotations

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.releases import (
    proxied_apis,
    release_facts,
    releases,
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
