"""The deploy's health gate: a SuperLink that cannot use its database fails the play.

A directory where the database file should be makes the real SuperLink crash
right after it starts listening. The deploy must then fail, say so, and show
the SuperLink's own last words from the journal; a normal deploy afterwards
must bring the host back.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Deployment, run_playbook

BROKEN = "broken.db"


def test_unhealthy_superlink_fails_the_deploy_with_its_journal(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment
) -> None:
    broken = f"{deployment.state_dir}/{BROKEN}"
    host.run_test("install -d -o %s -g %s %s", str(deployment.uid), str(deployment.gid), broken)
    try:
        failed = run_playbook(
            request,
            host,
            "deploy.yml",
            f"flower_superlink_database_name={BROKEN}",
            "flower_superlink_health_retries=5",
            "flower_superlink_health_delay=1",
        )
        assert failed.returncode != 0, failed.stdout[-2000:]
        assert "did not become healthy" in failed.stdout
        # The journal tail is in the failure message: the SuperLink's own crash report.
        assert "An important background thread has crashed" in failed.stdout
    finally:
        restored = run_playbook(request, host, "deploy.yml")
        host.run_test("rmdir %s", broken)
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert host.service(deployment.service).is_running
