"""The executor's command line per release (plugins/plugin_utils/executor_command.py).

One row per release family of the executor (read from the PyPI wheels:
docs/research/process-isolation.md), with TLS on and off. The executor
shares the SuperLink container's network namespace, so it dials loopback;
by the certificate's name only where the Runtime API follows the
SuperLink's TLS (1.37+).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.executor_command import (
    executor_argv,
    executor_container_argv,
    wait_for_port_argv,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.releases import release_facts

CA = "/app/superlink-ca.crt"
NAME = "sl.example.org"

CASES = [
    # release, tls, expected argv
    ("1.19.0", True, ["flwr-serverapp", "--insecure", "--serverappio-api-address", "127.0.0.1:9091"]),
    ("1.20.0", False, ["flwr-serverapp", "--insecure", "--serverappio-api-address", "127.0.0.1:9091"]),
    (
        "1.21.0",
        True,
        ["flower-superexec", "--plugin-type", "serverapp", "--insecure", "--appio-api-address", "127.0.0.1:9091"],
    ),
    (
        "1.25.0",
        True,
        ["flower-superexec", "--plugin-type", "serverapp", "--insecure", "--appio-api-address", "127.0.0.1:9091"],
    ),
    # 1.30-1.36: the Runtime API is plaintext unless --appio-ssl-* (never set here).
    (
        "1.34.0",
        True,
        ["flower-superexec", "--plugin-type", "serverapp", "--insecure", "--appio-api-address", "127.0.0.1:9091"],
    ),
    # 1.35: the Runtime API moves to the HTTP port.
    (
        "1.35.0",
        True,
        ["flower-superexec", "--plugin-type", "serverapp", "--insecure", "--appio-api-address", "127.0.0.1:8000"],
    ),
    (
        "1.36.0",
        True,
        ["flower-superexec", "--plugin-type", "serverapp", "--insecure", "--runtime-api-address", "127.0.0.1:8000"],
    ),
    # 1.37: it follows the SuperLink's TLS.
    (
        "1.37.0",
        True,
        [
            "flower-superexec",
            "--plugin-type",
            "serverapp",
            "--root-certificates",
            CA,
            "--runtime-api-address",
            f"{NAME}:8000",
        ],
    ),
    (
        "1.37.0",
        False,
        ["flower-superexec", "--plugin-type", "serverapp", "--insecure", "--runtime-api-address", "127.0.0.1:8000"],
    ),
    # 1.38: --plugin-type is ignored (and deprecated).
    ("1.38.0", True, ["flower-superexec", "--root-certificates", CA, "--runtime-api-address", f"{NAME}:8000"]),
    ("1.42.0", True, ["flower-superexec", "--root-certificates", CA, "--runtime-api-address", f"{NAME}:8000"]),
    ("1.42.0", False, ["flower-superexec", "--insecure", "--runtime-api-address", "127.0.0.1:8000"]),
]


@pytest.mark.parametrize(
    ("version", "tls", "argv"), CASES, ids=[f"{v}-{'tls' if t else 'insecure'}" for v, t, _ in CASES]
)
def test_executor_argv(version: str, tls: bool, argv: list[str]) -> None:
    facts = release_facts(version)
    assert executor_argv(facts, "serverapp", tls, NAME, CA) == argv


# A SuperNode's Runtime API is plaintext on every release (the role gives the
# SuperNode no --ssl-*): the ClientApp executor dials it on loopback, insecure.
CLIENT_CASES = [
    ("1.19.0", ["flwr-clientapp", "--insecure", "--clientappio-api-address", "127.0.0.1:9094"]),
    ("1.20.0", ["flwr-clientapp", "--insecure", "--clientappio-api-address", "127.0.0.1:9094"]),
    (
        "1.25.0",
        ["flower-superexec", "--plugin-type", "clientapp", "--insecure", "--appio-api-address", "127.0.0.1:9094"],
    ),
    (
        "1.35.0",
        ["flower-superexec", "--plugin-type", "clientapp", "--insecure", "--appio-api-address", "127.0.0.1:9094"],
    ),
    (
        "1.37.0",
        ["flower-superexec", "--plugin-type", "clientapp", "--insecure", "--runtime-api-address", "127.0.0.1:9094"],
    ),
    ("1.42.0", ["flower-superexec", "--insecure", "--runtime-api-address", "127.0.0.1:9094"]),
]


@pytest.mark.parametrize(("version", "argv"), CLIENT_CASES, ids=[v for v, _ in CLIENT_CASES])
@pytest.mark.parametrize("tls", [True, False], ids=["tls", "insecure"])
def test_clientapp_executor_argv(version: str, argv: list[str], tls: bool) -> None:
    facts = release_facts(version)
    assert executor_argv(facts, "clientapp", tls, NAME, CA) == argv


def test_an_unknown_app_is_refused() -> None:
    with pytest.raises(ValueError, match="serverapp or clientapp"):
        executor_argv(release_facts("1.42.0"), "simulation", False, NAME, CA)


# --- how the executor container runs it (real Python, no Docker) --------------

HANGS = """
import threading, time
def main():
    threading.Thread(target=time.sleep, args=(3600,)).start()  # not a daemon
    raise RuntimeError("cannot pull a run")
def stopped():
    def heartbeat():
        raise RuntimeError("Heartbeat failed unexpectedly")
    threading.Thread(target=heartbeat).start()
    time.sleep(3600)  # the app, waiting for nodes of a run that was stopped
"""


# How long a process may take to end once it has reported the exception that
# should end it: the launcher's hook exits right after printing it.
GRACE = 1.0


def ends_once_reported(argv: list[str], env: dict[str, str], reported: str) -> subprocess.CompletedProcess | None:
    """Run python ARGV until its stderr reports REPORTED (the exception that
    should end it), then give it GRACE seconds: the finished process, or None
    when it still runs then (it is killed). Timed from the report rather than
    from the start, so that a slow start on a busy machine passes for nothing."""
    with subprocess.Popen(
        [sys.executable, *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        watchdog = threading.Timer(30, process.kill)  # a report that never comes
        watchdog.start()
        try:
            stderr = ""
            for line in process.stderr:
                stderr += line
                if reported in line:
                    break
            try:
                process.wait(GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                return None
            return subprocess.CompletedProcess(argv, process.returncode, "", stderr + process.stderr.read())
        finally:
            watchdog.cancel()


@pytest.fixture
def hanging_script(tmp_path: Path) -> Path:
    """A console script that dies of an exception and leaves a thread behind,
    as flwr-serverapp 1.19 does when it cannot start a run."""
    (tmp_path / "hangmod.py").write_text(HANGS)
    dist = tmp_path / "hang-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hang\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[console_scripts]\nhang = hangmod:main\nstopped = hangmod:stopped\n")
    return tmp_path


def test_the_launcher_exits_when_the_executor_dies_leaving_threads(hanging_script: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(hanging_script)}
    argv = executor_container_argv(["hang", "--some-flag"], release_facts("1.42.0"))
    assert argv[:2] == ["python", "-c"] and argv[3:] == ["hang", "--some-flag"]
    done = subprocess.run([sys.executable, *argv[1:]], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert "cannot pull a run" in done.stderr
    # Without it, the same script never ends.
    assert ends_once_reported(["-c", "import hangmod; hangmod.main()"], env, "cannot pull a run") is None


@pytest.mark.parametrize(
    ("version", "exits"), [("1.19.0", True), ("1.20.0", True), ("1.21.0", False), ("1.42.0", False)]
)
def test_a_dead_thread_ends_the_executor_where_the_app_runs_in_it(
    hanging_script: Path, version: str, exits: bool
) -> None:
    """flwr-serverapp up to 1.20 runs the app in its own process: when a run
    is stopped, its heartbeat thread dies while the app waits on; the
    launcher then ends it. flower-superexec (1.21+) runs apps in children,
    which a thread of its own must not take down."""
    env = {**os.environ, "PYTHONPATH": str(hanging_script)}
    argv = executor_container_argv(["stopped"], release_facts(version))
    done = ends_once_reported(argv[1:], env, "Heartbeat failed")
    if done is None:
        assert not exits, f"the {version} executor went on after its thread died"
    else:
        assert exits and done.returncode == 1 and "Heartbeat failed" in done.stderr, done


def test_wait_for_port_returns_once_something_listens() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        argv = wait_for_port_argv(server.getsockname()[1])
        done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
