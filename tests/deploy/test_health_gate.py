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

# The 1.42 host with TLS: its switch has the most to put back (the proxy's
# unit and configuration, TLS material); the gate and rescue are the same
# tasks for every release.
testinfra_hosts = ["ansible://flower-deploy-debian13"]


def test_unhealthy_superlink_fails_the_deploy_and_the_previous_one_runs_again(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    run = flwr.submit_run()
    unit = f"/etc/systemd/system/{deployment.service}.service"
    executor = f"{deployment.service}-superexec"
    # What the deploy writes before the switch, which the rescue must put back
    # (the executor's unit changes too: it has the same pids limit).
    inputs = [
        unit,
        f"/etc/systemd/system/{executor}.service",
        f"{deployment.config_dir}/superlink.env",
        f"{deployment.config_dir}/firewall.sh",
    ]
    # 1.40+: the route-filtering proxy's unit and configuration (the new
    # control allow-list changes the configuration).
    proxy = [f"/etc/systemd/system/{deployment.service}-proxy.service", f"{deployment.config_dir}/haproxy.cfg"]
    inputs += [path for path in proxy if host.file(path).exists]
    before = {path: sha256(host, path) for path in inputs}
    failed = run_playbook(
        request,
        host,
        "deploy.yml",
        json.dumps(
            {
                "flower_superlink_extra_args": ["--fleet-api-type=bogus"],
                "flower_superlink_pids_limit": 300,
                "flower_superlink_env": {"FLOWER_IAC_TEST": "a new value"},
                "flower_superlink_control_allowed_sources": ["192.0.2.7"],
            }
        ),
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
    # The previous units, env file and firewall script are back, running, and serve every run.
    assert {path: sha256(host, path) for path in inputs} == before
    assert host.service(deployment.service).is_running
    assert run in flwr.wait_run_ids()
    assert "--fleet-api-type" not in host.check_output(
        "docker inspect --format '{{json .Args}}' %s", deployment.container
    )
    # The executor runs again, in the namespace of the SuperLink running now.
    assert host.service(executor).is_running
    superlink_id = host.check_output("docker inspect --format '{{.Id}}' %s", deployment.container)
    assert (
        host.check_output(
            "docker inspect --format '{{.HostConfig.NetworkMode}}' %s", f"{deployment.container}-superexec"
        )
        == f"container:{superlink_id}"
    )


def test_a_switch_that_fails_on_new_tls_material_puts_the_old_back(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, flwr: Flwr
) -> None:
    """A certificate the SuperLink cannot load fails the switch; the rescue puts
    the TLS files it had back (they were written before the switch), and the
    previous SuperLink serves TLS with them again."""
    assert deployment.tls, "the scenario's 1.42 host runs with TLS"
    tls = [f"{deployment.config_dir}/tls/{name}" for name in ("ca.crt", "server.pem", "server.key")]
    before = {path: (sha256(host, path), host.file(path).mode, host.file(path).gid) for path in tls}
    broken = "-----BEGIN CERTIFICATE-----\nMIIBnotacertificate\n-----END CERTIFICATE-----\n"
    failed = run_playbook(
        request,
        host,
        "deploy.yml",
        json.dumps({"flower_superlink_tls_cert_content": broken}),
        "flower_superlink_health_retries=120",
        "flower_superlink_health_delay=1",
    )
    assert failed.returncode != 0, failed.stdout[-2000:]
    assert "runs again as before" in failed.stdout, failed.stdout[-4000:]
    assert {path: (sha256(host, path), host.file(path).mode, host.file(path).gid) for path in tls} == before
    assert host.service(deployment.service).is_running
    assert isinstance(flwr.run_ids(), set)
