"""The Flower CLI's connection to a deployed SuperLink
(plugins/plugin_utils/flwr_connection.py, the filter
flower_iac.federation.flwr_connection). One row per case; every file is
parsed as TOML, as the CLI reads it."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter.flower_superlink import FilterModule
from ansible_collections.flower_iac.federation.plugins.plugin_utils.flwr_connection import flwr_connection

DIR = "/srv/ops/flwr"
CA = f"{DIR}/sl/ca.crt"


def test_the_filter_is_this_function() -> None:
    assert FilterModule().filters()["flwr_connection"] is flwr_connection


CASES: list[tuple[str, tuple[Any, ...], str, str, dict[str, Any], str]] = [
    # id, (host, version, bind, port, reach, ca), file, connection name, its table, a line the comments hold
    (
        "1.42-wildcard-tls",
        ("sl", "1.42.0", "0.0.0.0", 9093, "10.0.0.5", CA),
        "config.toml",
        "sl",
        {"address": "10.0.0.5:9093", "root-certificates": CA},
        f"FLWR_HOME={DIR}/sl flwr ls sl",
    ),
    (
        "1.26-is-the-first-with-config-toml",
        ("sl", "1.26.0", "0.0.0.0", 9093, "sl.example.org", ""),
        "config.toml",
        "sl",
        {"address": "sl.example.org:9093", "insecure": True},
        "flwr ls sl",
    ),
    (
        "1.25-is-the-last-with-pyproject",
        ("sl", "1.25.0", "0.0.0.0", 9093, "sl.example.org", ""),
        "federation.toml",
        "sl",
        {"address": "sl.example.org:9093", "insecure": True},
        "flwr ls . sl",
    ),
    (
        "1.19-tls",
        ("sl", "1.19.0", "0.0.0.0", 9093, "10.0.0.5", CA),
        "federation.toml",
        "sl",
        {"address": "10.0.0.5:9093", "root-certificates": CA},
        "Add it to your app's pyproject.toml",
    ),
    (
        "loopback-bind-needs-a-tunnel",
        ("sl", "1.42.0", "127.0.0.1", 9093, "10.0.0.5", CA),
        "config.toml",
        "sl",
        {"address": "127.0.0.1:9093", "root-certificates": CA},
        "ssh -N -L 9093:127.0.0.1:9093 10.0.0.5",
    ),
    (
        "ipv6-loopback",
        ("sl", "1.42.0", "::1", 9093, "sl", CA),
        "config.toml",
        "sl",
        {"address": "[::1]:9093", "root-certificates": CA},
        "ssh -N -L 9093:::1:9093 sl",
    ),
    (
        "a-specific-bind-address",
        ("sl", "1.42.0", "192.0.2.7", 9443, "10.0.0.5", CA),
        "config.toml",
        "sl",
        {"address": "192.0.2.7:9443", "root-certificates": CA},
        "flwr ls sl",
    ),
    (
        "ipv6-wildcard-reached-by-ipv6",
        ("sl", "1.42.0", "::", 9093, "2001:db8::5", CA),
        "config.toml",
        "sl",
        {"address": "[2001:db8::5]:9093", "root-certificates": CA},
        "flwr ls sl",
    ),
    (
        "an-ipv6-bind-address",
        ("sl", "1.42.0", "2001:db8::7", 9093, "x", CA),
        "config.toml",
        "sl",
        {"address": "[2001:db8::7]:9093", "root-certificates": CA},
        "flwr ls sl",
    ),
    (
        "a-dotted-inventory-name",
        ("sl-1.example.org", "1.42.0", "0.0.0.0", 9093, "sl-1.example.org", ""),
        "config.toml",
        "sl-1-example-org",
        {"address": "sl-1.example.org:9093", "insecure": True},
        "flwr ls sl-1-example-org",
    ),
    (
        "a-name-of-symbols-only",
        ("...", "1.42.0", "0.0.0.0", 9093, "h", ""),
        "config.toml",
        "superlink",
        {"address": "h:9093", "insecure": True},
        "flwr ls superlink",
    ),
    (
        "a-quote-in-the-ca-path-stays-toml",
        ("sl", "1.42.0", "0.0.0.0", 9093, "h", '/srv/o"ps/ca.crt'),
        "config.toml",
        "sl",
        {"address": "h:9093", "root-certificates": '/srv/o"ps/ca.crt'},
        "flwr ls sl",
    ),
]


@pytest.mark.parametrize(("args", "file", "name", "table", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_flwr_connection(args: tuple[Any, ...], file: str, name: str, table: dict[str, Any], says: str) -> None:
    written = flwr_connection(*args, DIR)
    assert written["file"] == file
    parsed = tomllib.loads(written["content"])
    if file == "config.toml":
        assert parsed["superlink"]["default"] == name
        assert parsed["superlink"][name] == table
        assert set(parsed) == {"superlink"}
    else:
        assert parsed == {"tool": {"flwr": {"federations": {name: table}}}}
    assert says in written["content"], written["content"]
