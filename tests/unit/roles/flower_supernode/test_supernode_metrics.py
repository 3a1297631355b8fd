"""The SuperNode's metrics collector (roles/flower_supernode/files/supernode_metrics.py)
and its variables' rules.

Installed beside the textfile writer as the role installs it. Its two
readers of the host's own text: the kernel's TCP tables (is the node
connected to the SuperLink's Fleet port?) and journalctl's output (how many
ClientApps failed since the last cursor?), one row per case. A collection
on a machine without the SuperNode writes a file promtool accepts, with the
node down and unconnected.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter.flower_supernode import config_errors
from ansible_collections.flower_iac.federation.plugins.module_utils.prometheus_textfile import samples_of
from conftest import ROOT, install, load_module, supernode_defaults

FILES = [
    ROOT / "roles/flower_supernode/files/supernode_metrics.py",
    ROOT / "plugins/module_utils/prometheus_textfile.py",
]
PROMTOOL = shutil.which("promtool")
HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install(tmp_path_factory, FILES)


@pytest.fixture(scope="module")
def collector(installed: Path) -> ModuleType:
    return load_module("supernode_metrics", installed / "supernode_metrics.py")


def tcp_line(remote: str, state: str) -> str:
    return f"   0: 0100007F:A2B4 {remote} {state} 00000000:00000000 00:00000000 00000000 49999 0 12345 1\n"


# 9092 is 0x2384; 9093 is 0x2385.
@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ([HEADER], 0),
        ([HEADER + tcp_line("0A000002:2384", "01")], 1),
        ([HEADER + tcp_line("0A000002:2384", "01") + tcp_line("0A000003:2384", "01")], 2),
        ([HEADER + tcp_line("0A000002:2384", "02")], 0),  # SYN_SENT: still trying
        ([HEADER + tcp_line("0A000002:2384", "06")], 0),  # TIME_WAIT: gone
        ([HEADER + tcp_line("0A000002:2385", "01")], 0),  # another port
        ([HEADER + tcp_line("00000000:0000", "0A")], 0),  # a listening socket
        ([HEADER, HEADER + tcp_line("0000000000000000FFFF00000A000002:2384", "01")], 1),  # IPv6 (mapped)
        ([HEADER + "garbage\n" + tcp_line("0A000002:zz", "01") + tcp_line("0A000002:2384", "01")], 1),
        ([""], 0),
    ],
    ids=["none", "one", "two", "connecting", "time-wait", "other-port", "listening", "ipv6", "garbage", "empty"],
)
def test_connected_means_an_established_connection_to_the_fleet_port(
    collector: ModuleType, tables: list[str], expected: int
) -> None:
    assert collector.established_to(tables, 9092) == expected


FAILED = "ERROR :     ClientApp raised an exception"


@pytest.mark.parametrize(
    ("output", "cursor", "expected"),
    [
        ("", "", (0, "")),
        ("-- cursor: s=1;i=5\n", "", (0, "s=1;i=5")),
        (f"INFO : start\n{FAILED}\nTraceback ...\n-- cursor: s=1;i=9\n", "s=1;i=5", (1, "s=1;i=9")),
        (f"{FAILED}\n{FAILED}\n{FAILED}\n-- cursor: c\n", "b", (3, "c")),
        # ServerApp failures and Flower's other errors are not ClientApp failures.
        ("ERROR : ServerApp raised an exception\nERROR : Failed to push reply message\n-- cursor: c\n", "b", (0, "c")),
        # No cursor printed (no new entries): keep the old one.
        (f"{FAILED}\n", "b", (1, "b")),
    ],
    ids=["nothing", "cursor-only", "one-failure", "three", "other-errors", "no-new-cursor"],
)
def test_clientapp_failures_are_counted_from_the_journal(
    collector: ModuleType, output: str, cursor: str, expected: tuple[int, str]
) -> None:
    assert collector.count_failures(output, cursor) == expected


def test_a_collection_without_a_supernode_says_down_and_keeps_its_count(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "metrics").mkdir()
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"cursor": "", "clientapp_failures": 4}))
    config = tmp_path / "metrics.json"
    config.write_text(
        json.dumps(
            {
                "service": "flower-supernode",
                "container": "flower-supernode-test-absent",
                "superlink_port": 9092,
                "metrics_file": str(tmp_path / "metrics" / "flower-supernode.prom"),
                "state_file": str(state),
                "units": ["flower-supernode-test-absent.service"],
                "clientapp_units": ["flower-supernode-test-absent.service"],
            }
        )
    )
    done = subprocess.run(
        [sys.executable, str(installed / "supernode_metrics.py"), "collect", str(config)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "metrics" / "flower-supernode.prom").read_text()
    samples = samples_of(text)
    service = {"service": "flower-supernode"}
    assert samples["flower_supernode_up"] == [(service, "0")]
    assert samples["flower_supernode_connected"] == [(service, "0")]
    # Whatever the journal holds for a unit that never ran: nothing new.
    assert samples["flower_supernode_clientapp_failures_total"] == [(service, "4")]
    assert json.loads(state.read_text())["clientapp_failures"] == 4
    if PROMTOOL:
        checked = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
def config() -> dict[str, Any]:
    return supernode_defaults()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"flower_supernode_metrics_dir": "metrics"}, "flower_supernode_metrics_dir"),
        ({"flower_supernode_metrics_dir": "/var/lib/../etc"}, "flower_supernode_metrics_dir"),
        ({"flower_supernode_metrics_dir": "/var/lib/node/"}, "flower_supernode_metrics_dir"),
        ({"flower_supernode_metrics_dir": "/var/lib/node exporter"}, "flower_supernode_metrics_dir"),
        ({"flower_supernode_metrics_dir": "/var/lib/node%h"}, "flower_supernode_metrics_dir"),
        ({"flower_supernode_metrics_dir": "/var/lib/node\nUser=x"}, "flower_supernode_metrics_dir"),
        ({"flower_supernode_metrics_dir": "/etc"}, "flower_supernode_metrics_dir"),
        ({"flower_supernode_metrics_dir": "/etc/flower-supernode/m"}, "keys and CA"),
        ({"flower_supernode_metrics_dir": ["/var/lib/node"]}, "flower_supernode_metrics_dir"),
        ({"flower_supernode_metrics_interval": 0}, "flower_supernode_metrics_interval"),
        ({"flower_supernode_metrics_interval": 5}, "flower_supernode_metrics_interval"),
        ({"flower_supernode_metrics_interval": "60s"}, "flower_supernode_metrics_interval"),
        ({"flower_supernode_metrics_interval": 86400}, "flower_supernode_metrics_interval"),
        ({"flower_supernode_on_failure": "a.service b.service"}, "flower_supernode_on_failure"),
        ({"flower_supernode_on_failure": "a.service; rm -rf /"}, "flower_supernode_on_failure"),
        ({"flower_supernode_on_failure": "alert@%H.service"}, "flower_supernode_on_failure"),
        ({"flower_supernode_on_failure": "a.service\nUser=root"}, "flower_supernode_on_failure"),
        ({"flower_supernode_on_failure": "alert"}, "flower_supernode_on_failure"),
    ],
    ids=[
        "relative",
        "climbs",
        "trailing-slash",
        "space",
        "specifier",
        "newline",
        "etc",
        "in-keys",
        "list",
        "interval-zero",
        "interval-too-often",
        "interval-unit",
        "interval-a-day",
        "on-failure-two-words",
        "on-failure-command",
        "on-failure-host-specifier",
        "on-failure-newline",
        "on-failure-not-a-unit",
    ],
)
def test_bad_metrics_variables_are_refused(config: dict[str, Any], values: dict[str, Any], message: str) -> None:
    config.update(values)
    errors = config_errors(config)
    assert any(message in error for error in errors), errors


@pytest.mark.parametrize(
    "values", [{}, {"flower_supernode_metrics_dir": ""}, {"flower_supernode_metrics_interval": 15}]
)
def test_good_metrics_variables_are_accepted(config: dict[str, Any], values: dict[str, Any]) -> None:
    config.update(values)
    assert config_errors(config) == []


README = ROOT / "roles/flower_supernode/README.md"
MARK = "<!-- metrics: tests/unit/roles/flower_supernode/test_supernode_metrics.py checks this table -->"


def test_the_readme_documents_every_metric_the_collector_writes(collector: ModuleType) -> None:
    """Every family the collector declares is in the README's table, with its type."""
    source = Path(collector.__file__).read_text()
    written = {
        f"flower_supernode_{name}": kind for name, kind in re.findall(r'family\(\s*"([a-z_]+)",\s*"([a-z]+)"', source)
    }
    table = README.read_text().split(MARK, 1)[1].split("\n\n", 1)[0]
    documented = {
        row[0].strip("` "): row[1].strip()
        for row in (line.strip("|").split("|") for line in table.splitlines() if line.startswith("| `"))
    }
    assert documented == written
