"""What the switch's rescue puts back (plugins/plugin_utils/probed_paths.py ``remembered``):
one row per case of what remember.yml read before the play wrote a file."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.probed_paths import remembered

PROBE = {
    "/etc/f/superlink.env": {"exists": True, "uid": 0, "gid": 0, "mode": "0600"},
    "/etc/f/tls/server.key": {"exists": True, "uid": 0, "gid": 49999, "mode": "0640"},
    "/etc/f/new.csv": {"exists": False},
}

CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    ("nothing-read", [], []),
    (
        "existing-file",
        [{"item": "/etc/f/superlink.env", "content": "QT0x"}],
        [{"path": "/etc/f/superlink.env", "content": "QT0x", "owner": 0, "group": 0, "mode": "0600"}],
    ),
    (
        "key-keeps-its-group-and-mode",
        [{"item": "/etc/f/tls/server.key", "content": "a2V5"}],
        [{"path": "/etc/f/tls/server.key", "content": "a2V5", "owner": 0, "group": 49999, "mode": "0640"}],
    ),
    ("absent-before-is-removed", [{"item": "/etc/f/new.csv", "failed": True}], [{"path": "/etc/f/new.csv"}]),
    # Unreadable, and the probe never saw it absent: never removed.
    ("unreadable-is-left-alone", [{"item": "/etc/f/superlink.env", "failed": True}], []),
    ("unknown-to-the-probe", [{"item": "/etc/f/other", "failed": True}], []),
]


@pytest.mark.parametrize(("results", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_remembered(results: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert remembered(results, PROBE) == expected
