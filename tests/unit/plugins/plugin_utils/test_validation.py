"""The shared value rules (plugins/plugin_utils/validation.py): one row per case."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter.flower_offsite_backup import OffsiteBackupChecker
from ansible_collections.flower_iac.federation.plugins.filter.flower_supernode import SuperNodeChecker
from ansible_collections.flower_iac.federation.plugins.plugin_utils.superlink_config import (
    SUPERLINK_MANAGED,
    SuperLinkChecker,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.validation import (
    Checker,
    argument_spec,
    managed_prefix,
)


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


# --- Checker: what every role's check does first ------------------------------

CHECKERS = [SuperLinkChecker, SuperNodeChecker, OffsiteBackupChecker]


def a_bool_option(role: str) -> str:
    return next(name for name, spec in argument_spec(role).items() if spec.get("type") == "bool")


@pytest.mark.parametrize("checker", CHECKERS, ids=[c.role for c in CHECKERS])
@pytest.mark.parametrize(
    ("variables", "right", "errors"),
    [
        ({}, True, []),
        # Only the role's own variables are its business.
        ({"ansible_host": "sl1", "flower_other_role_x": 1, "{role}": 1}, True, []),
        (
            {"{role}_" + "x" * 40: 1},
            False,
            [
                "{role}_" + "x" * 40 + " is not a variable of this role (see roles/{role}/README.md); "
                "a typo would be silently ignored."
            ],
        ),
        (
            {"{bool}": "flase"},
            False,
            ['{bool}="flase" is not a boolean (use true/false, yes/no, on/off or 1/0)'],
        ),
    ],
    ids=["none", "not-the-roles", "unknown-name", "wrong-type"],
)
def test_a_roles_names_and_types_come_first(
    checker: type[Checker], variables: dict[str, Any], right: bool, errors: list[str]
) -> None:
    def fill(text: str) -> str:
        return text.replace("{role}", checker.role).replace("{bool}", a_bool_option(checker.role))

    checked = checker({fill(k): v for k, v in variables.items()})
    assert checked.names_and_types_are_right() is right
    assert checked.errors == [fill(e) for e in errors]


def test_the_superlinks_old_and_new_names_disagreeing_is_said_before_the_types() -> None:
    checked = SuperLinkChecker(
        {"flower_superlink_exec_port": 1, "flower_superlink_control_port": 2, "flower_superlink_read_only": "flase"}
    )
    assert checked.names_and_types_are_right() is False
    assert checked.errors == [
        "flower_superlink_exec_port=1 and flower_superlink_control_port=2 are both set: flower_superlink_exec_port "
        "is the old name of flower_superlink_control_port; keep only flower_superlink_control_port",
        'flower_superlink_read_only="flase" is not a boolean (use true/false, yes/no, on/off or 1/0)',
    ]
