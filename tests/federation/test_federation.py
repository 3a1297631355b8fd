"""A whole federation: one SuperLink, two SuperNodes on their own hosts.

playbooks/deploy.yml deployed all three in one run (molecule/federation):
each SuperNode made its own key pair, the SuperLink registered the public
keys and serves TLS with a generated CA, the nodes got that CA and joined.
The proof is Flower's own: runs submitted with the real ``flwr`` CLI reach
``finished:completed`` with a strategy that needs every node, and the
SuperLink lists the nodes online.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
import testinfra
from conftest import ROOT, Flwr, assert_ok, wait_for

# The tests drive the federation from its SuperLink host.
testinfra_hosts = ["ansible://flower-fed-superlink"]
NODES = ["flower-fed-node-d12", "flower-fed-node-d13"]
SERVICE = "flower-supernode"
CONTAINER = "flower-supernode"


@pytest.fixture(scope="module")
def nodes(request: pytest.FixtureRequest) -> dict[str, Any]:
    inventory = request.config.getoption("ansible_inventory")
    return {name: testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory) for name in NODES}


def completed_run(flwr: Flwr, timeout: float = 240) -> int:
    """Submit a run that needs every node; its ID once Flower reports it completed."""
    run_id = int(flwr.call("run", "--run-config", f"min-nodes={len(NODES)}")["run-id"])

    def status() -> str | None:
        found = [r["status"] for r in flwr.runs() if int(r["run-id"]) == run_id]
        if found and found[0].startswith("finished") and found[0] != "finished:completed":
            pytest.fail(f"run {run_id} ended {found[0]}")
        return found[0] if found and found[0] == "finished:completed" else None

    wait_for(status, timeout, f"run {run_id} to complete on {len(NODES)} SuperNodes", interval=3)
    return run_id


def online_nodes(flwr: Flwr) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = flwr.call("supernode", "ls")["nodes"]
    return [n for n in nodes if n.get("status") == "online"]


def test_each_supernode_runs_confined_with_its_own_key(nodes: dict[str, Any]) -> None:
    for name, node in nodes.items():
        assert node.service(SERVICE).is_enabled, name
        assert node.service(SERVICE).is_running, name
        key = node.file("/etc/flower-supernode/keys/supernode")
        assert (key.uid, key.mode) == (49999, 0o600), name
        inspected = json.loads(node.check_output("docker inspect %s", CONTAINER))[0]
        assert inspected["Config"]["User"] == "49999:49999"
        assert inspected["HostConfig"]["CapDrop"] == ["ALL"]
        assert inspected["HostConfig"]["ReadonlyRootfs"] is True
        assert "no-new-privileges" in inspected["HostConfig"]["SecurityOpt"]
        # No credentials or daemon config left behind by an image pull.
        assert not node.file("/root/.docker/config.json").exists


def test_the_superlink_registered_both_keys_and_lists_both_nodes_online(host: Any, flwr: Flwr) -> None:
    wait_for(lambda: len(online_nodes(flwr)) == len(NODES), 90, "both SuperNodes to be online", interval=3)


def test_a_run_completes_with_every_supernode(flwr: Flwr) -> None:
    completed_run(flwr)


def test_supernode_restarted_during_a_run_rejoins_and_the_next_run_completes(flwr: Flwr, nodes: dict[str, Any]) -> None:
    flwr.call("run", "--run-config", f"min-nodes={len(NODES)}")
    assert nodes[NODES[0]].run("systemctl restart %s", SERVICE).rc == 0
    flwr.stop_running()
    completed_run(flwr)


def test_restarted_superlink_is_rejoined_by_every_node(host: Any, flwr: Flwr) -> None:
    host.run("systemctl restart flower-superlink")
    flwr.wait_run_ids()
    wait_for(lambda: len(online_nodes(flwr)) == len(NODES), 120, "both SuperNodes to reconnect", interval=3)
    completed_run(flwr)


def test_check_mode_on_the_whole_federation_changes_nothing(request: pytest.FixtureRequest) -> None:
    cmd = ["ansible-playbook", "playbooks/deploy.yml", "--check", "--diff"]
    cmd += ["-i", request.config.getoption("ansible_inventory")]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    assert_ok(result)
    recaps = [line for line in result.stdout.splitlines() if " : ok=" in line]
    assert len(recaps) == 1 + len(NODES), recaps
    assert all("changed=0" in line for line in recaps), recaps
