"""flower_offsite_backup's filters (plugins/filter/flower_offsite_backup.py):
the names the role calls, and restic forget's arguments, one row per case."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter.flower_offsite_backup import FilterModule, forget_args


def test_registers_the_names_the_role_calls() -> None:
    assert sorted(FilterModule().filters()) == ["offsite_backup_config_errors", "restic_forget_args"]


def keep(hourly: Any, daily: Any, weekly: Any, monthly: Any) -> dict[str, Any]:
    periods = {"hourly": hourly, "daily": daily, "weekly": weekly, "monthly": monthly}
    return {f"flower_offsite_backup_keep_{period}": count for period, count in periods.items()}


@pytest.mark.parametrize(
    ("config", "args"),
    [
        (
            keep(24, 7, 4, 12),
            ["--keep-hourly", "24", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "12"],
        ),
        (keep(0, 7, 0, "6"), ["--keep-daily", "7", "--keep-monthly", "6"]),
    ],
    ids=["every-period", "zero-leaves-a-period-out"],
)
def test_forget_args(config: dict[str, Any], args: list[str]) -> None:
    assert forget_args(config) == args
