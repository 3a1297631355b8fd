"""Draw the Grafana dashboard (monitoring/grafana/flower-federation.json) as a
picture, from what a real Prometheus holds: each panel's own queries, every
variable at "All", over the last MINUTES, laid out on Grafana's grid.
Grafana is not packaged for Debian; this draws what it would show, for
docs/images/dashboard.png.

    nox -s dashboard -- http://PROMETHEUS:9090 [MINUTES]
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "monitoring/grafana/flower-federation.json"
PICTURE = ROOT / "docs/images/dashboard.png"

BACKGROUND, PANEL, TEXT, GRID = "#111217", "#181b1f", "#ccccdc", "#2c3235"
COLOURS = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#705da0"]


def expand(expr: str, variables: set[str]) -> str:
    """Every dashboard variable at "All" (its allValue, .*)."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: ".*" if m.group(1) in variables else m.group(0), expr)


def legend(template: str, labels: dict[str, str]) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template or "").strip()
    return text or ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__") or "value"


def shown(value: float, unit: str | None) -> str:
    """A value as Grafana's unit would show it."""
    if math.isnan(value):
        return "-"
    if unit == "bytes":
        for size, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(value) >= size:
                return f"{value / size:.1f} {name}"
        return f"{value:.0f} B"
    if unit == "s":
        for size, name in ((86400, "day"), (3600, "h"), (60, "min")):
            if abs(value) >= size:
                return f"{value / size:.1f} {name}"
        return f"{value:.2g} s"
    if unit == "percentunit":
        return f"{value * 100:.2f} %"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def query_range(url: str, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{url.rstrip('/')}/api/v1/query_range?{params}", timeout=30) as answer:
        body = json.load(answer)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return list(body["data"]["result"])


def draw(url: str, minutes: float) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    board = json.loads(DASHBOARD.read_text())
    variables = {v["name"] for v in board["templating"]["list"]}
    end = time.time()
    start = end - minutes * 60
    step = max(15.0, minutes * 60 / 240)
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
    figure = plt.figure(figsize=(18, rows * 0.36), facecolor=BACKGROUND)
    pad = 0.004
    for panel in board["panels"]:
        grid = panel["gridPos"]
        # Room above each panel for its title, below for the time axis.
        box = [
            grid["x"] / 24 + pad,
            1 - (grid["y"] + grid["h"]) / rows + pad * 6,
            grid["w"] / 24 - 2 * pad,
            grid["h"] / rows - pad * 11,
        ]
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        series = []
        for target in panel["targets"]:
            for result in query_range(url, expand(target["expr"], variables), start, end, step):
                points = [(float(t), float(v)) for t, v in result["values"]]
                series.append((legend(target.get("legendFormat", ""), result["metric"]), points))
        if panel["type"] == "stat":
            axes = figure.add_axes(box, facecolor=PANEL)
            axes.set_xticks([])
            axes.set_yticks([])
            for spine in axes.spines.values():
                spine.set_color(GRID)
            axes.set_title(panel["title"], color=TEXT, loc="left", fontsize=11)
            lines = [(name, points[-1][1]) for name, points in series if points] or [("no data", math.nan)]
            for i, (name, last) in enumerate(lines[:4]):
                y = 0.5 + (len(lines[:4]) - 1) * 0.18 - i * 0.36
                axes.text(
                    0.5,
                    y + 0.05,
                    shown(last, unit),
                    color=COLOURS[i % len(COLOURS)],
                    fontsize=26,
                    ha="center",
                    va="center",
                    transform=axes.transAxes,
                    weight="bold",
                )
                axes.text(
                    0.5, y - 0.14, name, color=TEXT, fontsize=8, ha="center", va="center", transform=axes.transAxes
                )
            continue
        axes = figure.add_axes(box, facecolor=PANEL)
        axes.set_title(panel["title"], color=TEXT, loc="left", fontsize=11)
        for i, (name, points) in enumerate(series):
            times = [datetime.fromtimestamp(t, UTC) for t, _ in points]
            axes.plot(times, [v for _, v in points], color=COLOURS[i % len(COLOURS)], linewidth=1.6, label=name)
        axes.set_xlim(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
        axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _p, u=unit: shown(v, u)))
        axes.tick_params(colors=TEXT, labelsize=8)
        axes.grid(color=GRID, linewidth=0.6)
        for spine in axes.spines.values():
            spine.set_color(GRID)
        if series:
            axes.legend(loc="upper left", fontsize=7, facecolor=PANEL, edgecolor=GRID, labelcolor=TEXT, ncol=3)
        else:
            axes.text(0.5, 0.5, "no data", color=TEXT, ha="center", va="center", transform=axes.transAxes)
    figure.suptitle(f"{board['title']}  (last {minutes:.0f} min, UTC)", color=TEXT, x=0.01, ha="left", y=1.03)
    PICTURE.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(PICTURE, dpi=80, facecolor=BACKGROUND, bbox_inches="tight")
    return PICTURE


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: dashboard_picture.py PROMETHEUS_URL [MINUTES]")
    print(draw(sys.argv[1], float(sys.argv[2]) if len(sys.argv) == 3 else 60.0))
