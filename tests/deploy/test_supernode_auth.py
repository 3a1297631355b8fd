"""TLS and SuperNode authentication on Flower 1.42.0: the keys are registered
through the Control API (the RPCs behind `flwr supernode register`), and a
SuperNode whose key is not registered cannot activate. The checks are shared
with the 1.19.0 hardening host: tests/auth_checks.py."""

import json
from typing import Any

import pytest
from auth_checks import *  # noqa: F403 - the shared tests and their fixture
from auth_checks import REFUSED
from conftest import (
    SUPERNODE_KEYS,
    Deployment,
    assert_ok,
    container_started,
    recap,
    run_playbook,
    sqlite_query,
    supernode,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

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


def spki(key: bytes) -> bytes:
    """One public key in one form, whichever form Flower stored it in."""
    text = key.strip()
    loaded = (
        serialization.load_pem_public_key(text)
        if text.startswith(b"-----")
        else serialization.load_ssh_public_key(text)
    )
    return loaded.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def registered(host: Any, deployment: Deployment) -> set[bytes]:
    """The keys of the SuperNodes Flower's database holds as registered."""
    rows = sqlite_query(
        host, deployment.database, "SELECT hex(public_key), status FROM node WHERE public_key IS NOT NULL"
    )
    return {spki(bytes.fromhex(key)) for key, status in rows if status not in ("unregistered", "deleted")}


def new_key(comment: str) -> str:
    private = ec.generate_private_key(ec.SECP384R1())
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return f"{public.decode()} {comment}"


def test_rollback_ends_with_the_registrations_the_inventory_says(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment
) -> None:
    """A backup holds the registrations of its day. Rolled back to it, the
    SuperLink ends with the inventory's keys: the one added since is
    registered, the one removed since is unregistered again."""
    allowed = (SUPERNODE_KEYS / "allowed.pub").read_text().strip()
    added = new_key("test-supernode-added-after-the-backup")
    assert registered(host, deployment) == {spki(allowed.encode())}
    assert_ok(run_playbook(request, host, "backup.yml"))
    backup = host.check_output("ls -t /var/backups/flower-superlink/*.db | head -1")
    only_added = json.dumps({"flower_superlink_supernode_public_keys": [added]})
    try:
        assert_ok(run_playbook(request, host, "deploy.yml", only_added))
        assert registered(host, deployment) == {spki(added.encode())}
        rolled = run_playbook(request, host, "rollback.yml", only_added, f"flower_superlink_rollback_backup={backup}")
        assert_ok(rolled)
        # The backup registered only `allowed`; the inventory now says `added`.
        assert registered(host, deployment) == {spki(added.encode())}
        assert "test-supernode-added-after-the-backup" in rolled.stdout
    finally:
        # The same backup with the scenario's own inventory: `allowed` again.
        assert_ok(run_playbook(request, host, "rollback.yml", f"flower_superlink_rollback_backup={backup}"))
    assert registered(host, deployment) == {spki(allowed.encode())}
