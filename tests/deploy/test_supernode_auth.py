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
    """Keys added to the inventory are registered, keys removed are unregistered, without a restart."""
    allowed = (SUPERNODE_KEYS / "allowed.pub").read_text().strip()
    unknown = (SUPERNODE_KEYS / "unknown.pub").read_text().strip()
    both = json.dumps({"flower_superlink_supernode_public_keys": [allowed, unknown]})
    started = container_started(host, deployment)
    added = run_playbook(request, host, "deploy.yml", both)
    assert added.returncode == 0, added.stdout[-3000:]
    assert "test-supernode-unknown" in added.stdout  # the report names what it registered
    # Back to the inventory's list: the second key is unregistered and refused.
    removed = run_playbook(request, host, "deploy.yml")
    assert removed.returncode == 0, removed.stdout[-3000:]
    result = host.run("timeout 60 " + supernode(host, deployment, supernode_keys, "unknown", 9096))
    host.run("docker rm --force supernode-unknown")
    assert REFUSED["register"] in result.stdout + result.stderr
    # Flower never takes an unregistered key back: the deploy says so, and changes nothing.
    again = run_playbook(request, host, "deploy.yml", both)
    assert again.returncode != 0
    assert "does not register a key twice" in again.stdout
    assert recap(again, host)["changed"] == 0
    assert container_started(host, deployment) == started, "changing the key list restarted the SuperLink"
