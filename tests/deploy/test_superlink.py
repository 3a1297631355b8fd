"""The flower_superlink role: unit, container and database where they belong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import Deployment, Flwr, proc_status, sqlite_query, tcp_open

# Tables every SuperLink release from 1.19 (SqliteLinkState) to 1.42 (Alembic) creates.
FLOWER_TABLES = {"node", "run", "message_ins", "message_res"}


def test_unit_is_enabled_and_active(host: Any, deployment: Deployment) -> None:
    unit = host.service(deployment.service)
    assert unit.is_enabled
    assert unit.is_running


def test_unit_restarts_on_any_exit(host: Any, deployment: Deployment) -> None:
    props = host.check_output(f"systemctl show {deployment.service} --property Restart,Requires,StartLimitIntervalUSec")
    assert "Restart=always" in props
    assert "docker.service" in props
    assert "StartLimitIntervalUSec=0" in props


def test_container_runs_the_pinned_image_as_49999(container: dict[str, Any], deployment: Deployment) -> None:
    assert container["State"]["Running"]
    assert container["Config"]["Image"] == deployment.image
    assert container["Config"]["User"] == f"{deployment.uid}:{deployment.gid}"


def test_superlink_process_runs_as_49999(host: Any, container: dict[str, Any], deployment: Deployment) -> None:
    # The container's main process, seen from the target host's /proc.
    pid = container["State"]["Pid"]
    status = proc_status(host, pid)
    assert status["Uid"].split() == [str(deployment.uid)] * 4
    assert status["Gid"].split() == [str(deployment.gid)] * 4
    assert "flower-superlink" in host.file(f"/proc/{pid}/cmdline").content_string


def test_state_dir_is_mounted_at_app_state(container: dict[str, Any], deployment: Deployment) -> None:
    mounts = {m["Destination"]: m for m in container["Mounts"]}
    assert mounts["/app/state"]["Type"] == "bind"
    assert mounts["/app/state"]["Source"] == deployment.state_dir
    assert mounts["/app/state"]["RW"]


def test_database_argument_points_into_the_mount(container: dict[str, Any], deployment: Deployment) -> None:
    args = container["Args"]
    assert args[args.index("--database") + 1] == f"/app/state/{deployment.database_name}"


def test_state_dir_is_owned_by_49999(host: Any, deployment: Deployment) -> None:
    state = host.file(deployment.state_dir)
    assert state.is_directory
    assert (state.uid, state.gid) == (deployment.uid, deployment.gid)
    assert state.mode == 0o700


def test_database_file_is_in_the_state_dir_owned_by_49999(host: Any, deployment: Deployment) -> None:
    db = host.file(deployment.database)
    assert db.is_file
    assert (db.uid, db.gid) == (deployment.uid, deployment.gid)
    assert db.size > 0


def test_database_is_sqlite_with_flower_tables(host: Any, deployment: Deployment) -> None:
    assert sqlite_query(host, deployment.database, "PRAGMA integrity_check") == [["ok"]]
    tables = sqlite_query(host, deployment.database, "SELECT name FROM sqlite_master WHERE type='table'")
    assert {row[0] for row in tables} >= FLOWER_TABLES


def test_no_database_inside_the_container_layer(host: Any, deployment: Deployment) -> None:
    # `docker diff` lists what the container wrote to its own layer, which
    # vanishes with the container; bind mounts are not part of it.
    changed = host.check_output("docker diff %s", deployment.container).splitlines()
    assert changed, "docker diff lists nothing: the check would prove nothing"
    paths = [line.split(maxsplit=1)[1] for line in changed]
    leaked = [p for p in paths if p.startswith("/app/state/") or Path(p).name.startswith(deployment.database_name)]
    assert not leaked


def test_fleet_and_control_ports_are_published(host: Any, deployment: Deployment) -> None:
    assert tcp_open(host, deployment.fleet_port)
    assert tcp_open(host, deployment.control_port)


def test_serverappio_port_is_not_published(host: Any, container: dict[str, Any]) -> None:
    assert "9091/tcp" not in (container["HostConfig"]["PortBindings"] or {})
    assert not tcp_open(host, 9091)


def test_superlink_answers_the_flower_cli(flwr: Flwr) -> None:
    assert isinstance(flwr.run_ids(), set)


def test_generated_certificate_serves_every_address_clients_dial(host: Any, deployment: Deployment, flwr: Flwr) -> None:
    """A client given the host's own address (what `nox -s sandbox` prints) or
    its inventory name passes Flower's hostname check against a generated
    certificate, not only one that dials 127.0.0.1."""
    if not deployment.tls:
        pytest.skip("this host runs without TLS")
    # The address the host's default route leaves from (not a Docker bridge's).
    route = host.check_output("ip -4 -o route get 192.0.2.1").split()
    address = route[route.index("src") + 1]
    port = deployment.control_port
    for dialed in (f"{address}:{port}", f"{host.backend.get_hostname()}:{port}"):
        assert isinstance(flwr.via(dialed).runs(), list), dialed
