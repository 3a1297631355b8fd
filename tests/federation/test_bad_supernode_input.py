"""Bad input to flower_supernode, per class, as a careless operator types it
with -e (strings) or in the inventory: every row is refused with a line that
names the variable and the problem, and the node is left exactly as it was
(its files, its unit, its running container).

Its file name sorts before test_federation.py, whose last tests remove the
SuperNodes: pytest runs it first, on the federation as deployed.

The rows go in a few grouped runs (validation reports every problem at once;
type errors come alone, before the rules that assume types), limited to one
node as an operator changing one node would run it.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import host_files, run_playbook, sha256, unchanged_files

testinfra_hosts = ["ansible://flower-fed-node-d13"]
N = "flower_supernode_"
UNIT = "/etc/systemd/system/flower-supernode.service"

BAD_INPUT: list[tuple[int, dict[str, Any], str, str]] = [
    # Names and types (a string where a list or mapping belongs, a misspelt boolean).
    (0, {N + "auth": "flase"}, "auth", "is not a boolean"),
    (0, {N + "partition": "yes please"}, "partition", "is not a boolean"),
    (0, {N + "pids_limit": "512; rm -rf /"}, "pids_limit", "is not a whole number"),
    (0, {N + "node_config": "partition-id=0"}, "node_config", "must be a mapping"),
    (0, {N + "extra_args": "--max-retries=3"}, "extra_args", "must be a list"),
    (0, {N + "service_name": "flower\nsupernode"}, "service_name", "newline or control character"),
    (0, {N + "superlink_adress": "x:1"}, "superlink_adress", "did you mean flower_supernode_superlink_address?"),
    # What reaches the unit file and the docker/flower command line.
    (1, {N + "superlink_address": "flower-fed-superlink"}, "superlink_address", "must be host:port"),
    (1, {N + "node_config": {"partition-id": '0" --insecure "'}}, "node_config", "string without quotes"),
    (1, {N + "extra_args": ["--insecure"]}, "extra_args", "which the role sets itself"),
    (1, {N + "docker_run_extra_args": ["--privileged"]}, "docker_run_extra_args", "undo the container's isolation"),
    (1, {N + "service_name": "Flower_SuperNode"}, "service_name", "must be 1-23 characters"),
    (1, {N + "container_name": "x" * 30}, "container_name", "must be 1-23 characters"),
    (1, {N + "uid": "0"}, "uid", "must be between 1"),
    (1, {N + "memory_limit": "lots"}, "memory_limit", "is not a size"),
    (1, {N + "version": "1.42"}, "version", "is not valid"),
    (1, {N + "image_digest": "sha256:abc"}, "image_digest", "must be empty or sha256:"),
    (1, {N + "image_source": "registry"}, "image_source", "must be pull or archive"),
    (1, {N + "group": "super node"}, "group", "is not an inventory group name"),
    (1, {N + "restart_sec": "0"}, "restart_sec", "must be between 1 and 3600"),
    (2, {N + "superlink_address": "evil host:9092"}, "superlink_address", "must be host:port"),
    (2, {N + "node_config": {"a b": 1}}, "node_config", "has the key"),
    (2, {N + "extra_args": ["--max-retries 3"]}, "extra_args", "each item one --flag"),
    (2, {N + "docker_run_extra_args": ["--volume=/:/host"]}, "docker_run_extra_args", "undo the container's"),
    (2, {N + "version": "9.0.0"}, "version", "is outside the releases"),
    # ClientApp requirements reach pip inside an image build: options, files and URLs are not requirements.
    (1, {N + "app_requirements": ["-r /etc/shadow"]}, "app_requirements", "name and version specifiers only"),
    (2, {N + "app_requirements": ["numpy\n--index-url=http://evil"]}, "app_requirements", "specifiers only"),
    (0, {N + "app_requirements": "numpy==2.0.2"}, "app_requirements", "must be a list"),
    (1, {N + "app_wheels_dir": "wheels"}, "app_wheels_dir", "must be an absolute path"),
    (2, {N + "app_wheels_dir": "/nonexistent/wheels"}, "app_wheels_dir", "is not a directory on the controller"),
]


def state_of(host: Any) -> tuple[str, str]:
    started = host.check_output("docker inspect --format '{{.Id}} {{.State.StartedAt}}' flower-supernode")
    return sha256(host, UNIT), started


@pytest.fixture(scope="module")
def refused(request: pytest.FixtureRequest, host: Any) -> dict[int, Any]:
    runs: dict[int, dict[str, Any]] = {}
    for group, variables, _, _ in BAD_INPUT:
        assert not set(variables) & set(runs.get(group, {})), f"run {group} sets a variable twice"
        runs.setdefault(group, {}).update(variables)
    # A SuperLink that is not in the inventory.
    runs[3] = {N + "superlink_host": "superlink-that-is-not-there"}
    before, state = host_files(host), state_of(host)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda group: run_playbook(request, host, "deploy.yml", json.dumps(runs[group])), runs)
        refused = dict(zip(runs, results, strict=True))
    assert unchanged_files(before, host_files(host)) == ""
    assert state_of(host) == state
    return refused


def problems(stdout: str) -> list[str]:
    """The refusal's problem lines ("- name=value what is wrong (fix)"), unwrapped."""
    text = " ".join(stdout.replace("\\n", "\n").split())
    return [N + item.split(" - " + N)[0] for item in text.split(" - " + N)[1:]]


@pytest.mark.parametrize("row", range(len(BAD_INPUT)), ids=[f"{r[2]}-{r[0]}" for r in BAD_INPUT])
def test_bad_input_is_refused_with_the_reason(refused: dict[int, Any], row: int) -> None:
    group, _, name, says = BAD_INPUT[row]
    result = refused[group]
    assert result.returncode != 0
    assert "nothing was changed" in result.stdout
    lines = [line for line in problems(result.stdout) if line.startswith((N + name + "=", N + name + " "))]
    assert any(says in line for line in lines), f"{name}: {lines or problems(result.stdout)}"


def test_a_superlink_outside_the_inventory_is_refused(refused: dict[int, Any]) -> None:
    result = refused[3]
    assert result.returncode != 0
    text = " ".join(result.stdout.split())
    assert "is not a host of this inventory" in text, result.stdout[-2000:]
    assert "Nothing was changed" in text
