"""TLS and SuperNode authentication, with real Flower clients (shared checks).

The flwr CLI reaches the Control API only over TLS, verified against the
deployed CA. A SuperNode whose key is in flower_superlink_supernode_public_keys
joins and completes a real run under the hardened container; one whose key is
not is turned away. The state still persists across a restart.

Not collected by itself: tests/hardening/test_tls_and_auth.py runs these on
Flower 1.19.0 (a key list read at start), tests/deploy/test_supernode_auth.py
on 1.42.0 (keys registered through the Control API).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Deployment, Flwr, supernode, version_tuple, wait_for

# What a refused SuperNode says, per auth model.
REFUSED = {"csv": "Public key not recognized", "register": "Failed to activate SuperNode"}


@pytest.fixture
def allowed_supernode(host: Any, deployment: Deployment, supernode_keys: str) -> Iterator[None]:
    host.run_test(supernode(host, deployment, supernode_keys, "allowed", 9094).replace("docker run", "docker run -d"))
    yield
    # A connected SuperNode keeps writing heartbeats to the database.
    host.run("docker rm --force supernode-allowed")


def test_control_api_refuses_plaintext(host: Any, deployment: Deployment, flwr: Flwr) -> None:
    plaintext = Flwr(host, Deployment(**{**deployment.__dict__, "tls": False}))
    with pytest.raises(AssertionError, match=r"failed|UNAVAILABLE|no JSON"):
        plaintext.run_ids()


def test_authorised_supernode_completes_a_run_over_tls(host: Any, flwr: Flwr, allowed_supernode: None) -> None:
    # Runs left by earlier tests would run first on the one SuperNode; on a
    # loaded machine (scenarios side by side) a 1.42 run then took > 5 min.
    flwr.stop_running()
    # Its ServerApp looks for the SuperLink's database, TLS key and key list
    # and the Docker socket first (tests/flower_app/tinyapp/probe.py), and
    # fails the run if any is there: process isolation, on this release.
    run = int(flwr.call("run", "--run-config", "probe-serverapp=true")["run-id"])

    def supernode_alive() -> None:
        if host.run("docker inspect --format '{{.State.Running}}' supernode-allowed").stdout.strip() != "true":
            logs = host.run("docker logs --tail 20 supernode-allowed")
            pytest.fail(f"the SuperNode stopped: {logs.stdout[-2000:]} {logs.stderr[-2000:]}")

    # Mostly waiting: a 1.42 run starts a ServerApp process, then a ClientApp
    # process per message, each importing Flower (~1 min on an idle test
    # machine, several with three scenarios side by side).
    try:
        statuses = flwr.wait_finished({run}, 600, check=supernode_alive)
    except BaseException:
        logs = host.run("docker logs --tail 30 supernode-allowed")
        state = host.run("docker inspect --format '{{.State.Status}} {{.State.ExitCode}}' supernode-allowed")
        print(f"SuperNode {state.stdout.strip()}, its log:\n{logs.stdout[-3000:]}\n{logs.stderr[-3000:]}")
        raise
    assert statuses[run] == "finished:completed"


def test_unknown_supernode_is_refused(host: Any, deployment: Deployment, supernode_keys: str) -> None:
    # flower-supernode exits 0 even when refused: read what it says.
    result = host.run("timeout 60 " + supernode(host, deployment, supernode_keys, "unknown", 9097))
    host.run("docker rm --force supernode-unknown")
    auth = "csv" if version_tuple(deployment.version) < (1, 23) else "register"
    assert REFUSED[auth] in result.stdout + result.stderr


def test_runs_persist_across_a_restart_over_tls(host: Any, deployment: Deployment, flwr: Flwr) -> None:
    before = flwr.run_ids()
    assert before, "no run to carry across the restart"
    host.run_test("systemctl restart %s", deployment.service)
    assert flwr.wait_run_ids() == before


def test_a_run_pending_at_a_restart_starts_after_it(host: Any, deployment: Deployment, flwr: Flwr) -> None:
    """Submitted while nothing runs ServerApps, a run waits; the SuperLink
    restarts (and its SuperExec with it), and the run starts. Up to 1.28
    Flower keeps the submitted app on disk, not in the database: where that
    was the container's tmpfs, the app was gone after the restart and the run
    could never start, nor any run after it."""
    executor = f"{deployment.service}-superexec"
    host.run_test("systemctl stop %s", executor)
    try:
        run = flwr.submit_run()
        assert {int(r["run-id"]): r["status"] for r in flwr.runs()}[run] == "pending"
        host.run_test("systemctl restart %s", deployment.service)
        flwr.wait_run_ids()

        def started() -> str | None:
            status = {int(r["run-id"]): r["status"] for r in flwr.runs()}[run]
            return status if status != "pending" else None

        status = wait_for(started, 120, f"run {run} to leave 'pending'", interval=5)
        assert not status.startswith("finished:failed"), status
    finally:
        host.run("systemctl start %s", executor)
        flwr.stop_running()
