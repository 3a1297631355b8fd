"""The shared value rules (plugins/plugin_utils/validation.py): one row per case."""

from __future__ import annotations

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.superlink_config import SUPERLINK_MANAGED
from ansible_collections.flower_iac.federation.plugins.plugin_utils.validation import managed_prefix


@pytest.mark.parametrize(
    ("flag", "taken"),
    [
        ("--database", "--database"),
        ("--d", "--database"),
        ("--", ""),
        ("--x", ""),
        ("--ssl", "--ssl-ca-certfile"),
        ("--data-base", ""),
        ("--databasex", ""),
    ],
)
def test_managed_prefix(flag: str, taken: str) -> None:
    assert managed_prefix(flag, SUPERLINK_MANAGED) == taken
