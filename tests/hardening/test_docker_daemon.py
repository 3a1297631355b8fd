"""docker_engine_daemon_options reach dockerd and the SuperLink's container."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Deployment, container_started, run_playbook, sha256

testinfra_hosts = ["ansible://superlink"]


def test_daemon_json_holds_the_options(host: Any) -> None:
    daemon = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert daemon == {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}


def test_running_container_uses_them(host: Any, deployment: Deployment) -> None:
    # Only a dockerd restarted after daemon.json changed applies them.
    config = json.loads(
        host.check_output("docker inspect --format '{{json .HostConfig.LogConfig}}' %s", deployment.container)
    )
    assert config == {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}


def test_options_dockerd_refuses_never_reach_the_engine(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment
) -> None:
    before = (sha256(host, "/etc/docker/daemon.json"), container_started(host, deployment))
    dockerd_since = host.check_output("systemctl show --property=ActiveEnterTimestamp docker")
    bad = json.dumps({"docker_engine_daemon_options": {"log-driver": "json-file", "no-such-option": True}})
    result = run_playbook(request, host, "deploy.yml", bad)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "docker_engine_daemon_options were refused" in result.stdout
    assert "no-such-option" in result.stdout  # dockerd's own words
    assert (sha256(host, "/etc/docker/daemon.json"), container_started(host, deployment)) == before
    assert host.check_output("systemctl show --property=ActiveEnterTimestamp docker") == dockerd_since
    assert host.service("docker").is_running
    assert host.service(deployment.service).is_running
