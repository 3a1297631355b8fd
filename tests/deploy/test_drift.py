"""What someone changed by hand on a managed file, the next deploy puts back.

A deploy reads every file it manages in one round trip and skips each task
whose result is already in place (lock.yml's probe). This proves the skip
never hides drift: a unit edited by hand, a state directory, an environment
file or a TLS key whose mode was loosened all come back exactly as the role
writes them, the metrics collector's edited and stopped timer is put back
and running, the SuperLink answers with every run afterwards, and the deploy
after that finds nothing to do.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Deployment, Flwr, assert_ok, recap, run_playbook, sha256

# The host with the most managed files (1.42: the proxy's unit and
# configuration, TLS key): what holds there holds for the 1.19 host's subset,
# which the same probe and tasks manage.
testinfra_hosts = ["ansible://flower-deploy-debian13"]


def test_hand_edits_to_managed_files_are_put_back(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    run = flwr.submit_run()
    unit = f"/etc/systemd/system/{deployment.service}.service"
    env_file = f"{deployment.config_dir}/superlink.env"
    loosened = [deployment.state_dir, env_file]
    if deployment.tls:
        loosened.append(f"{deployment.config_dir}/tls/server.key")
    unit_before = sha256(host, unit)
    modes_before = {path: host.file(path).mode for path in loosened}
    # The metrics collector's timer, edited and stopped.
    timer = f"/etc/systemd/system/{deployment.service}-metrics.timer"
    timer_before = sha256(host, timer)

    host.run_test(f"echo '# edited by hand' >> {unit}")
    host.run_test(f"echo '# edited by hand' >> {timer}")
    host.run_test(f"systemctl stop {deployment.service}-metrics.timer")
    for path in loosened:
        host.run_test(f"chmod 0777 {path}")

    repaired = run_playbook(request, host, "deploy.yml")
    assert_ok(repaired)
    assert recap(repaired, host)["changed"] > 0
    assert sha256(host, unit) == unit_before, "the hand-edited unit was not put back"
    assert sha256(host, timer) == timer_before, "the hand-edited timer was not put back"
    assert host.service(f"{deployment.service}-metrics.timer").is_running
    assert {path: host.file(path).mode for path in loosened} == modes_before
    assert host.service(deployment.service).is_running
    assert run in flwr.wait_run_ids()

    again = run_playbook(request, host, "deploy.yml")
    assert_ok(again)
    assert recap(again, host)["changed"] == 0, again.stdout[-3000:]
