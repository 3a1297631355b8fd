"""The Exec API's source allow-list holds where Docker-published ports are filtered.

flower_superlink_control_allowed_sources names only the fresh test host. The
rule lives in Docker's DOCKER-USER chain (published ports are DNAT-ed and
forwarded; INPUT never sees them), so: the fresh host connects, this machine
(also on the test network, outside the list) does not, and the Fleet port,
which has no list, stays open to both.
"""

from __future__ import annotations

import socket
from typing import Any

import docker
import testinfra
from conftest import Deployment, target_name

testinfra_hosts = ["ansible://superlink"]

FRESH = "flower-fresh-debian12"
CONNECT = (
    "import socket, sys; s = socket.socket(); s.settimeout(3); sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))))"
)


def address(host: Any) -> str:
    """The target's address on the test network (not its nested engine's bridge)."""
    client = docker.from_env()
    try:
        ip: str = client.containers.get(target_name(host)).attrs["NetworkSettings"]["IPAddress"]
    finally:
        client.close()
    return ip


def reaches_from_here(ip: str, port: int) -> bool:
    try:
        socket.create_connection((ip, port), timeout=3).close()
    except OSError:
        return False
    return True


def reaches_from(other: Any, ip: str, port: int) -> bool:
    return bool(other.run(f'python3 -c "{CONNECT}" {ip} {port}').rc == 0)


def test_exec_api_is_reachable_only_from_the_allow_list(host: Any, deployment: Deployment) -> None:
    ip = address(host)
    fresh = testinfra.get_host(f"docker://{FRESH}")
    assert reaches_from(fresh, ip, deployment.control_port), "a source on the allow-list cannot connect"
    assert not reaches_from_here(ip, deployment.control_port), "a source outside the allow-list connected"
    # No list on Fleet: both reach it, so the filter is specific to the Exec port.
    assert reaches_from(fresh, ip, deployment.fleet_port)
    assert reaches_from_here(ip, deployment.fleet_port)


def test_the_filter_is_in_docker_user_and_survives_a_restart(host: Any, deployment: Deployment) -> None:
    chain = f"FLWR-{deployment.service}"
    host.run_test("iptables -w -C DOCKER-USER -j %s", chain)
    host.run_test("systemctl restart %s", deployment.service)
    rules = host.check_output("iptables -w -S %s", chain)
    assert f"--ctorigdstport {deployment.control_port}" in rules
    assert "-j DROP" in rules
    assert host.check_output("iptables -w -S DOCKER-USER").count(f"-j {chain}") == 1
    assert not reaches_from_here(address(host), deployment.control_port)
