"""The docker_engine role: an engine that is installed, enabled and answering."""

from __future__ import annotations

from typing import Any


def test_engine_package_is_installed(host: Any) -> None:
    assert host.package("docker.io").is_installed


def test_docker_client_is_installed(host: Any) -> None:
    # Debian 13 moved the client into docker-cli and only recommends it.
    assert host.exists("docker")


def test_docker_service_is_enabled_and_running(host: Any) -> None:
    docker = host.service("docker")
    assert docker.is_enabled
    assert docker.is_running


def test_engine_answers(host: Any) -> None:
    version = host.check_output("docker version --format '{{.Server.Version}}'")
    assert version.strip()


def test_python_library_for_docker_modules(host: Any) -> None:
    assert host.package("python3-requests").is_installed
