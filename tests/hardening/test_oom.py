"""The kernel's OOM killer on the SuperLink: systemd starts it again by itself,
every run is still listed, and the engine recorded the kill.

molecule/hardening gives the container a 1 GiB memory limit. The SuperLink is
made the OOM killer's first choice (oom_score_adj 1000, as a leak in it would
make it the largest process), then a process in its container asks for more
than the limit (and than limit plus swap): the kernel kills the SuperLink.
"""

from __future__ import annotations

from typing import Any

from conftest import Deployment, Flwr, container_started, stored_runs, wait_for

testinfra_hosts = ["ansible://superlink"]

# More than the 1 GiB limit and than twice it (the default swap allowance).
HOG = "b = bytearray(2560 * 2**20)"


def test_an_oom_kill_is_restarted_with_every_run(host: Any, deployment: Deployment, flwr: Flwr) -> None:
    # The runs already there (no new one: on 1.19 a run stopped while pending
    # makes every later ServerApp start fail, and the tests after this one
    # complete runs), counted in the database too.
    runs = flwr.run_ids()
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
