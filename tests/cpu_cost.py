"""CPU each test costs, in a pytest summary beside ``--durations``.

The scenarios run side by side on two cores, so CI's length is the CPU all of
them use, not the time any one test waits. A test's cost here is the CPU of
this pytest process and everything it started and reaped (playbook runs,
``docker exec`` clients), plus the CPU of the scenario's own hosts (their
cgroup: systemd, the nested engine, Flower and every module) while it ran.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from container_cpu import CGROUP, cpu_since, running_containers

SHOWN = 20


def _own_cpu() -> float:
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _hosts(inventory: str) -> dict[str, str]:
    """Container ID by name, for the running containers the inventory names."""
    try:
        path = Path(inventory)
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        text = "\n".join(f.read_text(errors="replace") for f in files if f.is_file())
    except OSError:
        return {}
    return {name: cid for name, cid in running_containers().items() if name in text}


class CpuCost:
    def __init__(self, inventory: str) -> None:
        self.inventory = inventory
        self.ids: dict[str, str] = {}
        self.last: dict[str, int] = {}
        self.costs: list[tuple[float, float, float, str]] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        if not self.ids:
            self.ids = _hosts(self.inventory)
        cpu_since(self.ids.values(), self.last)
        own, started = _own_cpu(), time.monotonic()
        yield
        hosts = sum(cpu_since(self.ids.values(), self.last).values()) / 1e9
        self.costs.append((_own_cpu() - own, hosts, time.monotonic() - started, item.nodeid))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.costs:
            return
        own = sum(c[0] for c in self.costs)
        hosts = sum(c[1] for c in self.costs)
        terminalreporter.write_sep("=", f"CPU by test: {own:.0f} s here, {hosts:.0f} s on the hosts")
        for mine, theirs, wall, nodeid in sorted(self.costs, key=lambda c: -(c[0] + c[1]))[:SHOWN]:
            terminalreporter.write_line(
                f"{mine + theirs:7.1f} CPU-s ({mine:.1f} + {theirs:.1f}) {wall:6.1f} s  {nodeid}"
            )


def pytest_configure(config: pytest.Config) -> None:
    inventory = config.getoption("ansible_inventory", default=None)
    if inventory and CGROUP.is_dir():
        config.pluginmanager.register(CpuCost(str(inventory)), "cpu_cost_by_test")
