"""The Grafana dashboard (monitoring/grafana/flower-federation.json).

Its JSON is a dashboard Grafana imports (unique panel ids, a 24-column grid
without overlaps, every variable a query uses defined), every query parses
as PromQL (promtool, through a rules file of recording rules), and every
metric a query reads is one the collectors or the backup agent write.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from metric_names import written_metrics

ROOT = Path(__file__).resolve().parents[3]
DASHBOARD = ROOT / "monitoring/grafana/flower-federation.json"
PROMTOOL = shutil.which("promtool")


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def queries() -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in dashboard()["panels"] for target in panel["targets"]]


def test_panels_have_unique_ids_and_tile_a_24_column_grid() -> None:
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        taken = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not taken & cells, f"{panel['title']} overlaps another panel"
        cells |= taken


def test_every_variable_a_query_uses_is_defined() -> None:
    defined = {var["name"] for var in dashboard()["templating"]["list"]}
    for title, expr in queries():
        assert set(re.findall(r"\$(\w+)", expr)) <= defined, title


@pytest.mark.parametrize(("title", "expr"), queries(), ids=[t for t, _ in queries()])
def test_every_metric_a_panel_reads_is_written(title: str, expr: str) -> None:
    read = set(re.findall(r"flower_super(?:link|node)_[a-z_]+", expr))
    assert read, title
    assert read <= written_metrics(), read - written_metrics()


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian's prometheus) is not installed")
def test_every_query_parses_as_promql(tmp_path: Path) -> None:
    assert PROMTOOL
    rules = [
        {"record": f"dashboard:query_{i}", "expr": re.sub(r"\$\w+", ".*", expr)}
        for i, (_, expr) in enumerate(queries())
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
