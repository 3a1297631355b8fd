"""The pieces of the dashboard's picture (tests/dashboard_picture.py) that
decide what it shows: every variable at "All", Grafana's legends and units.
The picture itself is drawn from a real Prometheus (nox -s dashboard)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from types import ModuleType

import pytest
from conftest import ROOT, load_module


@pytest.fixture(scope="module")
def picture() -> ModuleType:
    return load_module("dashboard_picture", ROOT / "tests/dashboard_picture.py")


BOARD = json.loads((ROOT / "monitoring/grafana/flower-federation.json").read_text())
VARIABLES = {v["name"] for v in BOARD["templating"]["list"]}


@pytest.mark.parametrize(
    ("expr", "expanded"),
    [
        ('up{instance=~"$instance"}', 'up{instance=~".*"}'),
        ('up{instance=~"${instance}", service=~"$service"}', 'up{instance=~".*", service=~".*"}'),
        # Not a variable of the dashboard: left alone, so promtool would say so.
        ('up{x=~"$unknown"}', 'up{x=~"$unknown"}'),
        ("rate(x[5m])", "rate(x[5m])"),
    ],
)
def test_every_variable_is_all(picture: ModuleType, expr: str, expanded: str) -> None:
    assert picture.expand(expr, VARIABLES) == expanded


def test_every_query_of_the_dashboard_expands_to_plain_promql(picture: ModuleType) -> None:
    for panel in BOARD["panels"]:
        for target in panel["targets"]:
            assert not re.search(r"\$\w", picture.expand(target["expr"], VARIABLES)), target["expr"]


@pytest.mark.parametrize(
    ("template", "labels", "text"),
    [
        ("{{status}}", {"status": "finished:failed"}, "finished:failed"),
        ("{{ instance }} {{service}}", {"instance": "a:9100", "service": "s"}, "a:9100 s"),
        ("", {"__name__": "up", "job": "node"}, "job=node"),
        ("{{missing}}", {}, "value"),
    ],
)
def test_legends_follow_grafanas_templates(picture: ModuleType, template: str, labels: dict, text: str) -> None:
    assert picture.legend(template, labels) == text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (393216, "bytes", "384.0 KiB"),
        (4 * 2**20, "bytes", "4.0 MiB"),
        (512, "bytes", "512 B"),
        (5400, "s", "1.5 h"),
        (0.25, "s", "0.25 s"),
        (0.2371, "percentunit", "23.71 %"),
        (3.0, None, "3"),
        (0.5, None, "0.50"),
        (math.nan, None, "-"),
    ],
)
def test_values_are_shown_in_the_panels_unit(picture: ModuleType, value: float, unit: str | None, text: str) -> None:
    assert picture.shown(value, unit) == text


def test_without_a_prometheus_it_says_how_to_run_it() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tests/dashboard_picture.py")], capture_output=True, text=True)
    assert done.returncode == 1 and "usage" in done.stderr
