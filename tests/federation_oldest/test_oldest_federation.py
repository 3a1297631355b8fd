"""The oldest release as a whole federation: Flower 1.19.0 with process
isolation on both sides (molecule/federation_oldest).

Up to 1.20 the executors are flwr-serverapp and flwr-clientapp, which run
each app inside their own long-running process; from 1.21 flower-superexec
starts one per run (molecule/federation proves that at 1.42.0). Flower's own
answers are the proof: a run that needs both nodes reaches
finished:completed, and each node's ClientApp executor logged the work.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import testinfra
from conftest import Flwr, host_files, run_playbook, unchanged_files
from metrics import by_status, collect, value

testinfra_hosts = ["ansible://flower-old-superlink"]
NODES = ["flower-old-node-d12", "flower-old-node-d13"]


@pytest.fixture(scope="module")
def nodes(request: pytest.FixtureRequest) -> dict[str, Any]:
    inventory = request.config.getoption("ansible_inventory")
    return {name: testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory) for name in NODES}


def confined_executor(target: Any, owner: str, command: str) -> None:
    """TARGET's executor runs COMMAND confined, inside OWNER's network namespace, with no files from the host."""
    executor = json.loads(target.check_output("docker inspect %s", f"{owner}-superexec"))[0]
    owner_id = target.check_output("docker inspect --format '{{.Id}}' %s", owner)
    assert command in executor["Config"]["Cmd"], executor["Config"]["Cmd"]
    assert executor["Config"]["User"] == "49999:49999"
    assert executor["HostConfig"]["CapDrop"] == ["ALL"]
    assert executor["HostConfig"]["ReadonlyRootfs"] is True
    assert "no-new-privileges" in executor["HostConfig"]["SecurityOpt"]
    assert executor["HostConfig"]["NetworkMode"] == f"container:{owner_id}"
    assert executor["HostConfig"]["Binds"] in (None, []), "the 1.19 executor needs no file from the host"
    assert executor["Mounts"] == [] or all(m["Type"] == "tmpfs" for m in executor["Mounts"])


def test_serverapps_and_clientapps_run_in_the_releases_own_executors(host: Any, nodes: dict[str, Any]) -> None:
    confined_executor(host, "flower-superlink", "flwr-serverapp")
    for node in nodes.values():
        confined_executor(node, "flower-supernode", "flwr-clientapp")


def test_a_run_completes_on_both_supernodes_with_process_isolation(
    host: Any, flwr: Flwr, nodes: dict[str, Any]
) -> None:
    run_id = int(flwr.call("run", "--run-config", f"min-nodes={len(NODES)}")["run-id"])
    status = flwr.wait_finished({run_id}, 420)[run_id]
    assert status == "finished:completed", f"run {run_id} on {len(NODES)} SuperNodes ended {status}"
    for name, node in nodes.items():
        journal = node.check_output("journalctl --unit flower-supernode-superexec --no-pager --output cat")
        assert "Pull `ClientAppInputs`" in journal, (name, journal[-2000:])


def test_the_metrics_read_a_1_19_database_as_flower_does(host: Any, flwr: Flwr) -> None:
    """Up to the 1.3x releases the run table holds the status times ("" for
    none reached): the collector counts what `flwr ls` lists, and Prometheus
    scrapes it through node_exporter."""
    runs = by_status(flwr.runs())
    assert runs["finished:completed"] >= 1
    samples = collect(host)
    assert value(samples, "flower_superlink_up") == 1
    assert value(samples, "flower_superlink_info", release="1.19.0") == 1
    for status in ("pending", "starting", "running", "finished:completed", "finished:failed", "finished:stopped"):
        assert value(samples, "flower_superlink_runs", status=status) == runs.get(status, 0), status
    # Both nodes worked on the run; their heartbeats keep them online.
    assert value(samples, "flower_superlink_supernodes", status="online") == len(NODES)
    assert host.check_output("find %s ! -uid 49999", flwr.deployment.state_dir) == ""


def test_the_deploy_ran_the_installed_collection() -> None:
    """prepare.yml built and installed the collection into this scenario's own
    collections path, first in ANSIBLE_COLLECTIONS_PATH: Ansible resolved
    flower_iac.federation's roles and modules there, in a real directory, not
    through the repository's .collections link. Asked of Ansible's own loader
    (ansible-doc), whose search order is the one the converge used;
    `ansible-galaxy collection list` orders its paths through a set."""
    installed = Path(
        os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "collections", "ansible_collections", "flower_iac", "federation"
    )
    module = json.loads(
        subprocess.run(
            ["ansible-doc", "--json", "flower_iac.federation.flower_superlink_sqlite"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["flower_iac.federation.flower_superlink_sqlite"]["doc"]["filename"]
    role = json.loads(
        subprocess.run(
            ["ansible-doc", "-t", "role", "--json", "flower_iac.federation.flower_superlink"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )["flower_iac.federation.flower_superlink"]["path"]
    assert Path(module) == installed / "plugins" / "modules" / "flower_superlink_sqlite.py"
    assert Path(role) == installed
    assert not installed.is_symlink() and (installed / "MANIFEST.json").is_file()
    assert not (installed / "tests").exists() and not (installed / "molecule").exists()


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        pytest.param(
            {"flower_supernode_service_name": "flower-node"},
            'flower_supernode_service_name="flower-node": this machine runs the SuperNode deployed as '
            '"flower-supernode"',
            id="unit",
        ),
        pytest.param(
            {"flower_supernode_container_name": "flower-node"},
            'flower_supernode_container_name="flower-node": this machine runs the SuperNode\'s container as '
            '"flower-supernode"',
            id="container",
        ),
    ],
)
def test_a_deployed_supernode_is_never_renamed(
    request: pytest.FixtureRequest, nodes: dict[str, Any], edit: dict[str, str], says: str
) -> None:
    """Renamed, it would start beside the one that runs, with the same key:
    refused before anything on the machine changes."""
    node = nodes[NODES[0]]
    before = host_files(node)
    started = node.check_output("docker inspect --format '{{.State.StartedAt}}' flower-supernode")
    result = run_playbook(request, node, "deploy.yml", json.dumps(edit))
    assert result.returncode != 0
    output = " ".join(result.stdout.split())
    assert says in output, result.stdout[-3000:]
    assert "never renamed" in output and "nothing was changed" in output
    assert unchanged_files(before, host_files(node)) == ""
    assert not node.file("/etc/systemd/system/flower-node.service").exists
    assert node.check_output("docker inspect --format '{{.State.StartedAt}}' flower-supernode") == started
