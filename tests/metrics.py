"""The SuperLink's metrics on a test host: its collector's file, and what
Prometheus (installed beside it by molecule/federation/monitoring.yml) scraped
from node_exporter and made of the alert rules."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from ansible_collections.flower_iac.federation.plugins.module_utils.prometheus_textfile import samples_of

METRICS_FILE = "/var/lib/prometheus/node-exporter/flower-superlink.prom"
COLLECTOR = "flower-superlink-metrics.service"
NODE_METRICS_FILE = "/var/lib/prometheus/node-exporter/flower-supernode.prom"
NODE_COLLECTOR = "flower-supernode-metrics.service"

_QUERY = """
import json, sys, urllib.parse, urllib.request
path = sys.argv[1] + ("?" + urllib.parse.urlencode({"query": sys.argv[2]}) if len(sys.argv) > 2 else "")
with urllib.request.urlopen("http://127.0.0.1:9090/api/v1/" + path, timeout=10) as answer:
    print(json.dumps(json.load(answer)["data"]))
"""


def collect(host: Any) -> dict[str, list[tuple[dict[str, str], str]]]:
    """Run the collector now (its timer would, within the interval) and read
    what it wrote."""
    host.check_output("systemctl start %s", COLLECTOR)
    return samples_of(host.file(METRICS_FILE).content_string)


def collect_node(node: Any) -> dict[str, list[tuple[dict[str, str], str]]]:
    """The same on a SuperNode's host."""
    node.check_output("systemctl start %s", NODE_COLLECTOR)
    return samples_of(node.file(NODE_METRICS_FILE).content_string)


def value(samples: dict[str, list[tuple[dict[str, str], str]]], name: str, **labels: str) -> float | None:
    """The one sample of NAME whose labels include LABELS, or None."""
    found = [float(v) for got, v in samples.get(name, []) if labels.items() <= got.items()]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else None


def by_status(runs: list[dict[str, Any]]) -> Counter[str]:
    """`flwr ls` runs counted by the status Flower shows."""
    return Counter(str(run["status"]) for run in runs)


def prometheus(host: Any, endpoint: str, query: str | None = None) -> Any:
    args = [endpoint] + ([query] if query is not None else [])
    return json.loads(host.check_output("python3 -c %s " + " ".join(["%s"] * len(args)), _QUERY, *args))


def scraped(host: Any, query: str) -> float | None:
    """The value Prometheus has now for a query with one result, or None."""
    result = prometheus(host, "query", query)["result"]
    assert len(result) <= 1, (query, result)
    return float(result[0]["value"][1]) if result else None


def alert_states(host: Any, name: str) -> set[str]:
    """The states (pending, firing) of the alert NAME in Prometheus now."""
    return {alert["state"] for alert in prometheus(host, "alerts")["alerts"] if alert["labels"]["alertname"] == name}
