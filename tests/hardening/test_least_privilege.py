"""The SuperLink container runs with as little privilege as it can work with."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Deployment, proc_status, tcp_open, wait_for

testinfra_hosts = ["ansible://superlink"]


def test_runs_as_49999(container: dict[str, Any], host: Any, deployment: Deployment) -> None:
    assert container["Config"]["User"] == f"{deployment.uid}:{deployment.gid}"
    assert proc_status(host, container["State"]["Pid"])["Uid"].split() == [str(deployment.uid)] * 4


def test_has_no_capabilities(container: dict[str, Any], host: Any) -> None:
    assert container["HostConfig"]["CapDrop"] == ["ALL"]
    assert not container["HostConfig"]["CapAdd"]
    status = proc_status(host, container["State"]["Pid"])
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[field], 16) == 0, field


def test_cannot_gain_privileges(container: dict[str, Any], host: Any) -> None:
    assert "no-new-privileges" in container["HostConfig"]["SecurityOpt"]
    assert proc_status(host, container["State"]["Pid"])["NoNewPrivs"] == "1"
    assert not container["HostConfig"]["Privileged"]


def test_root_filesystem_is_read_only(container: dict[str, Any], host: Any, deployment: Deployment) -> None:
    assert container["HostConfig"]["ReadonlyRootfs"]
    assert set(container["HostConfig"]["Tmpfs"]) == {"/app/.flwr", "/tmp"}
    denied = host.run("docker exec %s touch /app/probe", deployment.container)
    assert denied.rc != 0
    assert "Read-only file system" in denied.stderr


def test_resource_limits(container: dict[str, Any]) -> None:
    # molecule/hardening sets flower_superlink_memory_limit: 1g and pids_limit: 256.
    assert container["HostConfig"]["Memory"] == 1024**3
    assert container["HostConfig"]["PidsLimit"] == 256


def test_only_fleet_and_exec_are_published(container: dict[str, Any], host: Any, deployment: Deployment) -> None:
    assert set(container["HostConfig"]["PortBindings"]) == {"9092/tcp", "9093/tcp"}
    # The test before may have restarted it; a loaded machine takes a while.
    wait_for(lambda: tcp_open(host, deployment.fleet_port), 60, "the Fleet port to accept connections")
    assert tcp_open(host, deployment.control_port)
    assert not tcp_open(host, 9091)


def test_config_is_mounted_read_only(container: dict[str, Any], deployment: Deployment) -> None:
    mounts = {m["Destination"]: m for m in container["Mounts"]}
    assert mounts["/app/config"]["Source"] == deployment.config_dir
    assert not mounts["/app/config"]["RW"]
    assert mounts["/app/state"]["RW"]


@pytest.mark.parametrize(
    ("path", "mode", "owner"),
    [
        ("{state}", 0o700, (49999, 49999)),
        ("{config}", 0o750, (0, 49999)),
        ("{config}/tls", 0o750, (0, 49999)),
        ("{config}/tls/ca.crt", 0o644, (0, 49999)),
        ("{config}/tls/server.pem", 0o644, (0, 49999)),
        ("{config}/tls/server.key", 0o640, (0, 49999)),
        ("{config}/supernode-public-keys.csv", 0o640, (0, 49999)),
    ],
)
def test_file_modes(host: Any, deployment: Deployment, path: str, mode: int, owner: tuple[int, int]) -> None:
    f = host.file(path.format(state=deployment.state_dir, config=deployment.config_dir))
    assert f.mode == mode
    assert (f.uid, f.gid) == owner


def test_private_key_is_not_world_readable_but_the_superlink_can_read_it(host: Any, deployment: Deployment) -> None:
    key = f"{deployment.config_dir}/tls/server.key"
    assert not host.file(key).mode & 0o007
    assert host.run("docker exec %s test -r /app/config/tls/server.key", deployment.container).rc == 0


def test_database_belongs_to_49999(host: Any, deployment: Deployment) -> None:
    db = host.file(deployment.database)
    assert (db.uid, db.gid) == (deployment.uid, deployment.gid)
