"""The deploy's health gate: a SuperLink that cannot use its database fails the play.

A directory where the database file should be makes the real SuperLink crash
right after it starts listening. The deploy must then fail, say so, and show
the SuperLink's own last words from the journal; a normal deploy afterwards
must bring the host back.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import Deployment, target_name

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "broken.db"


def deploy(request: pytest.FixtureRequest, host: Any, *extra: str) -> subprocess.CompletedProcess[str]:
    inventory = request.config.getoption("ansible_inventory")
    cmd = ["ansible-playbook", "playbooks/deploy.yml", "-i", inventory, "--limit", target_name(host), *extra]
    env = {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **env}, check=False)


def test_unhealthy_superlink_fails_the_deploy_with_its_journal(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment
) -> None:
    broken = f"{deployment.state_dir}/{BROKEN}"
    host.run_test("install -d -o %s -g %s %s", str(deployment.uid), str(deployment.gid), broken)
    try:
        failed = deploy(
            request,
            host,
            "-e",
            f"flower_superlink_database_name={BROKEN}",
            "-e",
            "flower_superlink_health_retries=5",
            "-e",
            "flower_superlink_health_delay=1",
        )
        assert failed.returncode != 0, failed.stdout[-2000:]
        assert "did not become healthy" in failed.stdout
        # The journal tail is in the failure message: the SuperLink's own crash report.
        assert "An important background thread has crashed" in failed.stdout
    finally:
        restored = deploy(request, host)
        host.run_test("rmdir %s", broken)
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert host.service(deployment.service).is_running
