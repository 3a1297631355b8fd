"""TLS and SuperNode authentication on Flower 1.19.0: the key list is a file
the SuperLink reads at start (--auth-list-public-keys). The checks are shared
with the 1.42.0 host of the default scenario: tests/auth_checks.py."""

import json
from typing import Any

import pytest
from auth_checks import *  # noqa: F403 - the shared tests and their fixture
from auth_checks import REFUSED
from conftest import Deployment, assert_ok, run_playbook, supernode

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
