"""Bad input fails deploy.yml with a message naming the problem, and changes nothing.

Each case runs the real playbook against the deployed host with one bad
setting. The play must fail, say which variable is wrong, and leave the host
as it was: the same SuperLink container still running, the same unit file,
the same database bytes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Deployment, container_started, run_playbook, sha256

testinfra_hosts = ["ansible://superlink"]

UNIT = "/etc/systemd/system/flower-superlink.service"

# (case id, extra vars, text the failure must contain)
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("relative-state-dir", {"flower_superlink_state_dir": "var/lib/flower"}, "flower_superlink_state_dir"),
    ("root-as-state-dir", {"flower_superlink_state_dir": "/"}, "flower_superlink_state_dir"),
    ("system-state-dir", {"flower_superlink_state_dir": "/etc"}, "not a system directory"),
    ("unnormalised-state-dir", {"flower_superlink_state_dir": "/var/lib/../../etc"}, "normalised"),
    ("database-outside-mount", {"flower_superlink_database_name": "../escape.db"}, "flower_superlink_database_name"),
    ("version-not-x-y-z", {"flower_superlink_version": "latest"}, "flower_superlink_version"),
    ("short-digest", {"flower_superlink_image_digest": "sha256:abc"}, "flower_superlink_image_digest"),
    ("tag-with-spaces", {"flower_superlink_image_tag": "1.19 beta"}, "flower_superlink_image_tag"),
    ("port-out-of-range", {"flower_superlink_fleet_port": 70000}, "flower_superlink_fleet_port"),
    ("same-port-twice", {"flower_superlink_exec_port": 9092}, "must be distinct"),
    ("port-not-a-number", {"flower_superlink_fleet_port": "fleet"}, "flower_superlink_fleet_port"),
    ("unknown-image-source", {"flower_superlink_image_source": "ftp"}, "flower_superlink_image_source"),
    (
        "archive-without-file",
        {"flower_superlink_image_source": "archive", "flower_superlink_image_archive": ""},
        "flower_superlink_image_archive",
    ),
    (
        "tls-files-missing",
        {
            "flower_superlink_tls_generate": False,
            "flower_superlink_tls_ca_cert": "/nonexistent/ca.crt",
            "flower_superlink_tls_cert": "/nonexistent/server.pem",
            "flower_superlink_tls_key": "/nonexistent/server.key",
        },
        "does not exist on the controller",
    ),
    ("no-tls-and-not-insecure", {"flower_superlink_tls_generate": False}, "flower_superlink_tls_ca_cert"),
    ("auth-without-tls", {"flower_superlink_insecure": True}, "needs TLS"),
    ("auth-key-not-ecdsa", {"flower_superlink_supernode_public_keys": ["ssh-rsa AAAAB3NzaC1yc2E"]}, "ECDSA"),
    (
        "serverappio-on-exec-port",
        {"flower_superlink_serverappio_publish": True, "flower_superlink_serverappio_port": 9093},
        "flower_superlink_serverappio_port",
    ),
]


@pytest.mark.parametrize(("extra", "message"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_and_changes_nothing(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment, extra: dict[str, Any], message: str
) -> None:
    before = (container_started(host, deployment), sha256(host, deployment.database), sha256(host, UNIT))
    result = run_playbook(request, host, "deploy.yml", json.dumps(extra))
    assert result.returncode != 0, "the play accepted bad input"
    assert message in result.stdout, result.stdout[-3000:]
    after = (container_started(host, deployment), sha256(host, deployment.database), sha256(host, UNIT))
    assert after == before, "the host changed although the input was refused"
    assert host.service(deployment.service).is_running
