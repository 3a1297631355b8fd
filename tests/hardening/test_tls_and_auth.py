"""TLS and SuperNode authentication on Flower 1.19.0: the key list is a file
the SuperLink reads at start (--auth-list-public-keys). The checks are shared
with the 1.42.0 host of the default scenario: tests/auth_checks.py."""

import json
from typing import Any

import pytest
from auth_checks import *  # noqa: F403 - the shared tests and their fixture
from auth_checks import REFUSED
from conftest import SUPERNODE_KEYS, Deployment, assert_ok, run_playbook, sha256, supernode

testinfra_hosts = ["ansible://superlink"]


def test_an_empty_key_list_admits_no_supernode(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, supernode_keys: str
) -> None:
    """With authentication on and no key listed (the last SuperNode
    decommissioned, or no node's key readable), Flower 1.19 reads a key file
    that holds only a key nobody has (it exits at start on an empty one): the
    key it admitted before and an unknown one are both refused, where dropping
    the flag would have admitted any SuperNode."""
    try:
        assert_ok(run_playbook(request, host, "deploy.yml", json.dumps({"flower_superlink_supernode_public_keys": []})))
        listed = host.file(f"{deployment.config_dir}/supernode-public-keys.csv").content_string.splitlines()
        assert [line.split(" ")[2] for line in listed] == ["flower-iac-admits-no-supernode"]
        args = json.loads(host.check_output("docker inspect --format '{{json .Args}}' %s", deployment.container))
        assert "--auth-list-public-keys" in args
        for name, port in (("allowed", 9098), ("unknown", 9099)):
            result = host.run("timeout 60 " + supernode(host, deployment, supernode_keys, name, port))
            host.run("docker rm --force supernode-%s", name)
            assert REFUSED["csv"] in result.stdout + result.stderr, (name, result.stdout[-1500:])
    finally:
        assert_ok(run_playbook(request, host, "deploy.yml"))


def test_a_switch_that_fails_puts_the_previous_key_list_back(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, supernode_keys: str
) -> None:
    """On 1.19 the key list is a file the switch writes before the restart. A
    new list with a flag Flower refuses fails the switch: the rescue puts the
    list back as it was, and the previous SuperLink admits exactly the keys
    it admitted before (the new key stays out)."""
    keys = f"{deployment.config_dir}/supernode-public-keys.csv"
    before = (sha256(host, keys), host.file(keys).mode, host.file(keys).gid)
    allowed = (SUPERNODE_KEYS / "allowed.pub").read_text().strip()
    unknown = (SUPERNODE_KEYS / "unknown.pub").read_text().strip()
    failed = run_playbook(
        request,
        host,
        "deploy.yml",
        json.dumps(
            {
                "flower_superlink_supernode_public_keys": [allowed, unknown],
                "flower_superlink_extra_args": ["--fleet-api-type=bogus"],
            }
        ),
        "flower_superlink_health_retries=120",
        "flower_superlink_health_delay=1",
    )
    assert failed.returncode != 0, failed.stdout[-2000:]
    assert "runs again as before" in failed.stdout, failed.stdout[-4000:]
    assert (sha256(host, keys), host.file(keys).mode, host.file(keys).gid) == before
    assert host.service(deployment.service).is_running
    result = host.run("timeout 60 " + supernode(host, deployment, supernode_keys, "unknown", 9099))
    host.run("docker rm --force supernode-unknown")
    assert REFUSED["csv"] in result.stdout + result.stderr, result.stdout[-1500:]
