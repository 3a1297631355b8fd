"""One public API per address on Flower 1.42.0 with TLS (molecule/federation).

Flower 1.40+ serves the Fleet, Control and Runtime APIs from one HTTP port.
The role publishes that port on the SuperLink host's loopback only and puts
HAProxy in front: the Fleet address answers Fleet routes and nothing else,
the Control address Control routes and nothing else, and the SuperLink's own
port (all APIs) is on the host's loopback only. Probed from a SuperNode host (outside) and from the SuperLink
host itself; the table is docs/security.md's "Which address answers which API".
"""

from __future__ import annotations

from typing import Any

import docker
import testinfra
from conftest import ROOT
from exposure import CLOSED, FLOWER, MISSING, PROXY, ROUTES, probe, table

testinfra_hosts = ["ansible://flower-fed-superlink"]
OUTSIDE = "flower-fed-node-d12"
FLEET, CONTROL, BACKEND = 9092, 9093, 9095


def only(api: str) -> dict[str, str]:
    """API's routes answered by Flower, everything else refused by the proxy."""
    return {path: FLOWER if kind == api else PROXY for kind, _, path in ROUTES}


def everything() -> dict[str, str]:
    """The SuperLink's own HTTP server, unfiltered (on the host's loopback only)."""
    return {path: MISSING if kind == "walk" and "?" not in path else FLOWER for kind, _, path in ROUTES}


EXPECTED = {
    f"Fleet {FLEET}, from a SuperNode host": only("fleet"),
    # The scenarios publish Control on every address (.config/molecule/config.yml),
    # so the tests' CLI can reach it: it answers, with its own API only.
    f"Control {CONTROL}, from a SuperNode host": only("control"),
    f"Backend {BACKEND}, from a SuperNode host": {path: CLOSED for _, _, path in ROUTES},
    f"Fleet {FLEET}, on the SuperLink host": only("fleet"),
    f"Control {CONTROL}, on the SuperLink host": only("control"),
    f"Backend {BACKEND}, on the SuperLink host": everything(),
}
# The page that shows the table, and the line it follows there.
PAGE = ROOT / "docs" / "security.md"
PAGE_MARK = "<!-- exposure table: tests/federation/test_exposure.py -->"


def superlink_address() -> str:
    client = docker.from_env()
    try:
        networks = client.containers.get("flower-fed-superlink").attrs["NetworkSettings"]["Networks"]
    finally:
        client.close()
    return str(networks["flower-fed"]["IPAddress"])


def test_each_address_answers_only_its_own_api(host: Any, request: Any) -> None:
    outside = testinfra.get_host(
        f"ansible://{OUTSIDE}", ansible_inventory=request.config.getoption("ansible_inventory")
    )
    ip = superlink_address()
    measured = {}
    for column in EXPECTED:
        port = int(column.split()[1].rstrip(","))
        client, address = (outside, ip) if "SuperNode host" in column else (host, "127.0.0.1")
        measured[column] = probe(client, address, port, tls=True)
    rendered = table(measured, EXPECTED)
    assert measured == EXPECTED, "\n" + rendered
    # docs/security.md shows this very table, as measured.
    page = PAGE.read_text()
    assert PAGE_MARK in page, f"{PAGE.relative_to(ROOT)} lacks {PAGE_MARK}"
    shown = page.split(PAGE_MARK, 1)[1].split("\n\n", 1)[0].strip()
    assert shown == rendered, (
        f"{PAGE.relative_to(ROOT)}'s exposure table is not the measured one; it should read:\n{rendered}"
    )


def test_the_proxy_runs_confined(host: Any) -> None:
    unit = "flower-superlink-proxy.service"
    assert host.service("flower-superlink-proxy").is_running
    props = dict(
        line.split("=", 1)
        for line in host.check_output(
            "systemctl show %s -p DynamicUser -p CapabilityBoundingSet -p NoNewPrivileges -p ProtectSystem", unit
        ).splitlines()
    )
    assert props == {
        "DynamicUser": "yes",
        "CapabilityBoundingSet": "",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
    }
    pid = host.check_output("systemctl show %s -p MainPID --value", unit)
    uid = host.check_output("stat -c %%u /proc/%s", pid)
    assert uid != "0", "the proxy runs as root"
    # Its TLS key is root's on disk: the proxy reads it as a credential only.
    key = host.file("/etc/flower-superlink/tls/server.key")
    assert (key.uid, key.mode) == (0, 0o640)
