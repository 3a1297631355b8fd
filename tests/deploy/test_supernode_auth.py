"""TLS and SuperNode authentication on Flower 1.42.0: the keys are registered
through the Control API (the RPCs behind `flwr supernode register`), and a
SuperNode whose key is not registered cannot activate. The checks are shared
with the 1.19.0 hardening host: tests/auth_checks.py."""

import json
from typing import Any

import pytest
from auth_checks import *  # noqa: F403 - the shared tests and their fixture
from auth_checks import REFUSED
from conftest import SUPERNODE_KEYS, Deployment, container_started, recap, run_playbook, supernode

# The default scenario's host with TLS and keys (molecule/default/molecule.yml).
testinfra_hosts = ["ansible://flower-deploy-debian13"]


def test_registered_keys_follow_the_inventory(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, supernode_keys: str
) -> None:
    """A deploy with another key list registers it and unregisters the rest, without a restart."""
    unknown = (SUPERNODE_KEYS / "unknown.pub").read_text().strip()
    started = container_started(host, deployment)
    swapped = run_playbook(
        request, host, "deploy.yml", json.dumps({"flower_superlink_supernode_public_keys": [unknown]})
    )
    assert swapped.returncode == 0, swapped.stdout[-3000:]
    assert "test-supernode-unknown" in swapped.stdout  # the report names what it registered
    result = host.run("timeout 60 " + supernode(host, deployment, supernode_keys, "allowed", 9096))
    host.run("docker rm --force supernode-allowed")
    assert REFUSED["register"] in result.stdout + result.stderr
    back = run_playbook(request, host, "deploy.yml")
    assert back.returncode == 0, back.stdout[-3000:]
    assert "test-supernode-allowed" in back.stdout
    assert recap(run_playbook(request, host, "deploy.yml"), host)["changed"] == 0
    assert container_started(host, deployment) == started, "changing the key list restarted the SuperLink"
