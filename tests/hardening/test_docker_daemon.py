"""docker_engine_daemon_options reach dockerd and the SuperLink's container."""

from __future__ import annotations

import json
from typing import Any

from conftest import Deployment

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
