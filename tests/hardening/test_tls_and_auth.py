"""TLS and SuperNode authentication, with real Flower clients.

The flwr CLI reaches the Exec API only over TLS, verified against the deployed
CA. A SuperNode whose key is on the list joins and completes a real run under
the hardened container; one whose key is not is turned away. The state
still persists across a restart.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from conftest import Deployment, Flwr, target_name, wait_for

testinfra_hosts = ["ansible://superlink"]

KEYS = Path(__file__).parent / "keys"
TARGET_KEYS = "/root/supernode-keys"


@pytest.fixture(scope="module")
def supernode_keys(host: Any, docker_client: docker.DockerClient) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for key in sorted(KEYS.iterdir()):
            info = tar.gettarinfo(str(key), arcname=f"supernode-keys/{key.name}")
            # Read by the SuperNode container's user (uid 49999); test keys only.
            info.uid = info.gid = 0
            info.mode = 0o644
            with key.open("rb") as fh:
                tar.addfile(info, fh)
    docker_client.containers.get(target_name(host)).put_archive("/root", buf.getvalue())
    return TARGET_KEYS


def supernode(host: Any, deployment: Deployment, keys: str, name: str, port: int) -> str:
    return (
        f"docker run --name supernode-{name} --network host --pull never "
        f"--volume {keys}:/app/keys:ro --volume {deployment.ca_cert}:/app/ca.crt:ro "
        f"--entrypoint flower-supernode {deployment.image} "
        f"--superlink 127.0.0.1:{deployment.fleet_port} --root-certificates /app/ca.crt "
        f"--auth-supernode-private-key /app/keys/{name} --auth-supernode-public-key /app/keys/{name}.pub "
        f"--clientappio-api-address 127.0.0.1:{port}"
    )


@pytest.fixture
def allowed_supernode(host: Any, deployment: Deployment, supernode_keys: str) -> Iterator[None]:
    host.run_test(supernode(host, deployment, supernode_keys, "allowed", 9094).replace("docker run", "docker run -d"))
    yield
    # A connected SuperNode keeps writing heartbeats to the database.
    host.run("docker rm --force supernode-allowed")


def test_exec_api_refuses_plaintext(host: Any, deployment: Deployment, flwr: Flwr) -> None:
    plaintext = Flwr(host, Deployment(**{**deployment.__dict__, "tls": False}))
    with pytest.raises(AssertionError, match="UNAVAILABLE"):
        plaintext.run_ids()


def test_authorised_supernode_completes_a_run_over_tls(flwr: Flwr, allowed_supernode: None) -> None:
    run = flwr.submit_run()

    def status() -> str | None:
        current = {int(r["run-id"]): r["status"] for r in flwr.runs()}[run]
        return current if current.startswith("finished") else None

    assert wait_for(status, 120, "the run to finish") == "finished:completed"


def test_unknown_supernode_is_refused(host: Any, deployment: Deployment, supernode_keys: str) -> None:
    # flower-supernode exits 0 even when refused: read what it says.
    result = host.run("timeout 60 " + supernode(host, deployment, supernode_keys, "unknown", 9095))
    host.run("docker rm --force supernode-unknown")
    assert "Public key not recognized" in result.stdout + result.stderr


def test_runs_persist_across_a_restart_over_tls(host: Any, deployment: Deployment, flwr: Flwr) -> None:
    before = flwr.run_ids()
    assert before, "no run to carry across the restart"
    host.run_test("systemctl restart %s", deployment.service)
    assert flwr.wait_run_ids() == before
