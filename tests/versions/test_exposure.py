"""Which address answers which API, on 1.19.0 (without TLS), 1.25.0 (with TLS) and 1.42.0 (both).

Each release is deployed on the versions host with both allow-lists naming
one source (this machine, as the host sees it), then asked from two machines
that are not the SuperLink host: this machine (inside both lists) and a
container of its own on the test network (outside them). Every published
address and the two that must stay unpublished (ServerAppIo, the proxy's
backend) are asked for every API (tests/release_exposure.py). The table
"Which address answers which API, per release" in docs/security.md is this
one, as measured.

Runs before tests/versions/test_versions.py, whose first fixture puts 1.19.0
back on an empty database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import docker
import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.releases import release_facts
from conftest import ROOT, Deployment, assert_ok, run_playbook, target_name
from release_exposure import ANSWERS, APIS, CLOSED, NOT_SERVED, PROXY, SIGNED, probe, table

# In deploy order. Up to 1.39 each API has a gRPC port of its own, and TLS
# changes nothing of which port answers what (measured on 1.19.0 and 1.25.0
# both ways, and the same): one transport each. From 1.40 one HTTP port
# serves every API and the route-filtering proxy sits in front: both.
DEPLOYMENTS = [
    ("1.19.0", False),
    ("1.25.0", True),
    ("1.42.0", True),
    ("1.42.0", False),
]
FLEET, CONTROL, SERVERAPPIO, BACKEND = 9092, 9093, 9091, 9095
ADDRESSES = {FLEET: "Fleet", CONTROL: "Control", SERVERAPPIO: "ServerAppIo", BACKEND: "proxy backend"}
# The page that shows the table, and the line it follows there.
PAGE = ROOT / "docs" / "security.md"
PAGE_MARK = "<!-- exposure per release: tests/versions/test_exposure.py -->"


def expected_verdict(release: dict[str, Any], port: int, api: str, inside: bool) -> str:
    """What the role promises: each public address serves its own API only,
    to the sources its allow-list names; nothing else leaves the host."""
    http = bool(release["http_port"])
    if api == "docs" and not http:
        return "n/a"
    if port not in (FLEET, CONTROL):
        return CLOSED
    if not inside:
        # gRPC: Docker's DOCKER-USER chain drops the packets; HTTP: the proxy
        # closes the connection unanswered.
        return CLOSED
    own = "Fleet" if port == FLEET else "Control"
    if api != own:
        return PROXY if http else NOT_SERVED
    # Every release's Fleet API wants signed calls, TLS or not.
    return SIGNED if api == "Fleet" else ANSWERS


def cell(inside: str, outside: str) -> str:
    return inside if inside == outside else f"{inside} / {outside}"


def network_of(name: str) -> dict[str, Any]:
    client = docker.from_env()
    try:
        settings: dict[str, Any] = client.containers.get(name).attrs["NetworkSettings"]
    finally:
        client.close()
    return settings


def test_each_address_answers_only_its_own_api_on_every_release(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment
) -> None:
    name = target_name(host)
    settings = network_of(name)
    address, here = settings["IPAddress"], settings["Gateway"]
    tls_dir = str(Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "tls")
    measured: dict[tuple[str, ...], dict[str, str]] = {}
    expected: dict[tuple[str, ...], dict[str, str]] = {}
    for version, tls in DEPLOYMENTS:
        extra = {
            "flower_superlink_version": version,
            "flower_superlink_upgrade_fresh_state": True,
            "flower_superlink_insecure": not tls,
            "flower_superlink_tls_generate": tls,
            "flower_superlink_tls_generate_dir": tls_dir,
            "flower_superlink_fleet_allowed_sources": [here],
            "flower_superlink_control_allowed_sources": [here],
        }
        assert_ok(run_playbook(request, host, "deploy.yml", json.dumps(extra)))
        release = release_facts(version)
        ca = host.file(deployment.ca_cert).content_string if tls else ""
        image = f"flower-iac/superlink:{version}"
        ports = list(ADDRESSES)
        inside = probe(image, release, address, ports, tls, ca, name, network="host")
        outside = probe(image, release, address, ports, tls, ca, name, network="bridge")
        for port, label in ADDRESSES.items():
            key = (version, "TLS" if tls else "insecure", f"{label} {port}")
            measured[key] = {api: cell(inside[port][api], outside[port][api]) for api in APIS}
            expected[key] = {
                api: cell(
                    expected_verdict(release, port, api, inside=True),
                    expected_verdict(release, port, api, inside=False),
                )
                for api in APIS
            }
    rendered = table(measured, expected, ["Release", "Transport", "Address"])
    assert measured == expected, "\n" + rendered
    page = PAGE.read_text()
    assert PAGE_MARK in page, f"{PAGE.relative_to(ROOT)} lacks {PAGE_MARK}"
    shown = page.split(PAGE_MARK, 1)[1].split("\n\n", 1)[0].strip()
    assert shown == rendered, f"{PAGE.relative_to(ROOT)}'s table is not the measured one; it should read:\n{rendered}"
