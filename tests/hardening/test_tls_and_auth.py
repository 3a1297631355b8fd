"""TLS and SuperNode authentication on Flower 1.19.0: the key list is a file
the SuperLink reads at start (--auth-list-public-keys). The checks are shared
with the 1.42.0 host of the default scenario: tests/auth_checks.py. Last,
the OOM killer on the SuperLink, with the runs those checks left."""

import json
from typing import Any

import pytest
from auth_checks import *  # noqa: F403 - the shared tests and their fixture
from auth_checks import REFUSED
from conftest import (
    SUPERNODE_KEYS,
    Deployment,
    Flwr,
    assert_ok,
    container_started,
    run_playbook,
    sha256,
    stored_runs,
    supernode,
    wait_for,
)

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


# More than the 1 GiB limit and than twice it (the default swap allowance).
HOG = "b = bytearray(2560 * 2**20)"


def test_an_oom_kill_is_restarted_with_every_run(host: Any, deployment: Deployment, flwr: Flwr) -> None:
    """The kernel's OOM killer on the SuperLink: systemd starts it again by
    itself, every run is still listed, and the engine recorded the kill.

    molecule/hardening gives the container a 1 GiB memory limit. The SuperLink
    is made the OOM killer's first choice (oom_score_adj 1000, as a leak in it
    would make it the largest process), then a process in its container asks
    for more than the limit (and than limit plus swap): the kernel kills it.
    Last in this module: the run the SuperNode test above completed is what
    there is to lose (a SuperNode of its own here would leave its key "in
    use" for the SuperNode test)."""
    runs = flwr.run_ids()
    assert runs, "no run to carry across the OOM kill"
    stored = len(stored_runs(host, deployment.database))
    since = host.check_output("date +%s")  # no argument: no %-formatting
    before = container_started(host, deployment)
    pid = host.check_output("docker inspect --format '{{.State.Pid}}' %s", deployment.container)
    host.run_test("echo 1000 > /proc/%s/oom_score_adj", pid)
    host.run("docker exec %s python -c %s", deployment.container, HOG)

    wait_for(lambda: (now := container_started(host, deployment)) and now != before, 120, "a new SuperLink container")
    assert wait_for(lambda: host.service(deployment.service).is_running, 60, "the unit to be active")
    listed = flwr.wait_run_ids()
    assert runs <= listed, f"runs lost across the OOM kill: {sorted(runs - listed)}"
    assert len(stored_runs(host, deployment.database)) == stored
    # It was the OOM killer: the engine saw the container's OOM event.
    events = host.check_output(
        'docker events --since %s --until "$(date +%%s)" --filter event=oom --filter container=%s'
        " --format '{{.Status}}'",
        since,
        deployment.container,
    )
    # (One per process the kernel ended in the container: the SuperLink, and
    # the process that asked for the memory when it went down with it.)
    assert "oom" in events.split(), events
    # And the journal says how the SuperLink ended: killed (exit 137), then started again.
    journal = host.check_output("journalctl -u %s --since @%s -o cat --no-pager", deployment.service, since)
    assert "status=137" in journal, journal[-2000:]
