"""The deploy's health gate: a SuperLink that does not come up fails the play,
and the previous one runs again.

A flag value the real flower-superlink rejects at start passes the role's
validation (it is a well-formed --flag=value) but makes every start of the new
unit fail. The deploy must fail, show the SuperLink's own words from the
journal, and leave the previous unit installed and running with every run
still listed: not a broken unit that systemd restarts forever.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Deployment, Flwr, run_playbook, sha256


def test_unhealthy_superlink_fails_the_deploy_and_the_previous_one_runs_again(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    run = flwr.submit_run()
    unit = f"/etc/systemd/system/{deployment.service}.service"
    unit_before = sha256(host, unit)
    failed = run_playbook(
        request,
        host,
        "deploy.yml",
        json.dumps({"flower_superlink_extra_args": ["--isolation=bogus"]}),
        # Far more patience than the crash loop needs: the gate must stop on
        # its own once the unit keeps dying (a fixed small budget failed
        # under load before Flower had even printed its error).
        "flower_superlink_health_retries=120",
        "flower_superlink_health_delay=1",
    )
    assert failed.returncode != 0, failed.stdout[-2000:]
    tail = failed.stdout[-4000:]
    assert "did not become healthy" in failed.stdout, tail
    assert "it does not stay up" in failed.stdout, tail
    # The journal tail is in the failure message: the SuperLink's own words.
    assert "invalid choice: 'bogus'" in failed.stdout, tail
    assert "runs again as before" in failed.stdout, tail
    # The previous unit is back, running, and serves every run.
    assert sha256(host, unit) == unit_before
    assert host.service(deployment.service).is_running
    assert run in flwr.wait_run_ids()
    assert "--isolation" not in host.check_output("docker inspect --format '{{json .Args}}' %s", deployment.container)
