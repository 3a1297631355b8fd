"""The ServerApp executor's command line per release (flower_superlink_executor_argv).

One row per release family of the executor (read from the PyPI wheels:
docs/research/process-isolation.md), with TLS on and off. The executor
shares the SuperLink container's network namespace, so it dials loopback;
by the certificate's name only where the Runtime API follows the
SuperLink's TLS (1.37+).
"""

from __future__ import annotations

import pytest
from conftest import superlink

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
    facts = superlink.release_facts(version)
    assert superlink.executor_argv(facts, "serverapp", tls, NAME, CA) == argv


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
    facts = superlink.release_facts(version)
    assert superlink.executor_argv(facts, "clientapp", tls, NAME, CA) == argv


def test_an_unknown_app_is_refused() -> None:
    with pytest.raises(ValueError, match="serverapp or clientapp"):
        superlink.executor_argv(superlink.release_facts("1.42.0"), "simulation", False, NAME, CA)


def test_every_release_has_an_executor() -> None:
    for row in superlink.releases()["rows"]:
        facts = superlink.release_facts(row["since"])
        executor = facts["executor"]
        assert set(executor) == {"command", "address_flag", "plugin_type", "tls"}, row["since"]
