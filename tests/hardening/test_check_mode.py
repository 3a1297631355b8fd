"""`deploy.yml --check --diff` previews and changes nothing, on a deployed host and a fresh one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml
from conftest import Deployment, container_started, recap, run_playbook, sha256

testinfra_hosts = ["ansible://superlink"]

FRESH = "flower-fresh-debian12"
UNIT = "/etc/systemd/system/flower-superlink.service"


def test_check_mode_on_the_deployed_host_changes_nothing(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment
) -> None:
    before = (sha256(host, deployment.database), sha256(host, UNIT))
    started = container_started(host, deployment)
    result = run_playbook(request, host, "deploy.yml", options=("--check", "--diff"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert recap(result, host)["changed"] == 0
    assert (sha256(host, deployment.database), sha256(host, UNIT)) == before
    assert container_started(host, deployment) == started


def test_check_mode_on_a_fresh_host_previews_and_touches_nothing(
    request: pytest.FixtureRequest, host: Any, tmp_path: Path
) -> None:
    fresh_vars = {
        **{k: v for k, v in host.ansible.get_variables().items() if k.startswith("flower_superlink_")},
        "ansible_connection": "community.docker.docker",
        # A CA that does not exist yet: check mode must not create it either.
        "flower_superlink_tls_generate_dir": str(tmp_path / "tls"),
    }
    inventory = tmp_path / "fresh.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"superlink": {"hosts": {FRESH: fresh_vars}}}}}))
    fresh = testinfra.get_host(f"docker://{FRESH}")

    result = run_playbook(request, fresh, "deploy.yml", options=("--check", "--diff"), inventory=str(inventory))
    assert result.returncode == 0, result.stdout[-4000:]
    assert recap(result, fresh)["failed"] == 0
    # The diff shows what a real run would create...
    assert "/var/lib/flower-superlink" in result.stdout
    assert "ExecStart=/usr/bin/docker run" in result.stdout
    # ...and nothing was created.
    assert not fresh.package("docker.io").is_installed
    for path in ("/var/lib/flower-superlink", UNIT, "/etc/flower-superlink", "/etc/ansible/facts.d"):
        assert not fresh.file(path).exists, path
    assert not (tmp_path / "tls").exists()
