"""Every bad-input row of tests/bad_input_cases.py that the role's variables
decide, through flower_superlink's validation (config_errors), as the play
receives it: one row per case, each asserting its own message.

The real playbooks run the END_TO_END rows on a deployed host
(tests/hardening/test_bad_input.py); the rows in NEEDS_A_HOST are decided by
the host or another role and run only there.
"""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.superlink_config import config_errors
from bad_input_cases import CASES, END_TO_END, NEEDS_A_HOST, Extra, as_variables

VARIABLE_ROWS = [c for c in CASES if c[0] not in NEEDS_A_HOST]


@pytest.mark.parametrize(("extra", "message"), [(c[2], c[3]) for c in VARIABLE_ROWS], ids=[c[0] for c in VARIABLE_ROWS])
def test_refused_by_the_variables(config: dict[str, Any], extra: Extra, message: str) -> None:
    config.update(as_variables(extra))
    errors = config_errors(config)
    assert any(message in error for error in errors), errors


def test_every_row_runs_somewhere() -> None:
    """A row the variables cannot decide must run on a host; ids are unique."""
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
    assert set(NEEDS_A_HOST) <= END_TO_END
    assert not END_TO_END - set(ids), END_TO_END - set(ids)
    playbooks = {c[1] for c in CASES if c[0] in END_TO_END}
    assert playbooks == {c[1] for c in CASES}, "an entry point has no end-to-end row"


@pytest.mark.parametrize(
    ("extra", "variables"),
    [
        ("flower_superlink_insecure=flase", {"flower_superlink_insecure": "flase"}),
        ("flower_superlink_read_only=", {"flower_superlink_read_only": ""}),
        ("flower_superlink_x=a=b", {"flower_superlink_x": "a=b"}),
        ({"flower_superlink_uid": 0}, {"flower_superlink_uid": 0}),
        ('{"flower_superlink_uid": 0}', {"flower_superlink_uid": 0}),
        (("a=1", '{"b": [2]}'), {"a": "1", "b": [2]}),
    ],
    ids=["string", "empty", "equals-in-value", "dict", "json-string", "several"],
)
def test_extra_vars_as_ansible_reads_them(extra: Extra, variables: dict[str, Any]) -> None:
    assert as_variables(extra) == variables
