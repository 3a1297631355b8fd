"""Secrets never reach the play's output or a world-readable file.

One deploy under `-v --diff` (what an operator runs when debugging) that
both rewrites the TLS key (removed on the host first) and adds a secret to
the container's environment: neither the key nor the secret appears in the
output; the secret is in the root-only env file and in the container, never
in the 0644 unit.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from conftest import Deployment, run_playbook, target_name

testinfra_hosts = ["ansible://superlink"]


def test_key_and_environment_stay_out_of_output_and_unit(
    request: pytest.FixtureRequest, host: Any, deployment: Deployment
) -> None:
    token = "s3cr3t-" + secrets.token_hex(8)
    key_file = f"{deployment.config_dir}/tls/server.key"
    key_lines = [line for line in host.file(key_file).content_string.splitlines() if line and "-----" not in line]
    host.run_test("rm %s", key_file)
    env = json.dumps({"flower_superlink_env": {"FLWR_TEST_TOKEN": token}})
    try:
        result = run_playbook(request, host, "deploy.yml", env, options=("-v", "--diff"))
        assert result.returncode == 0, result.stdout[-4000:]
        output = result.stdout + result.stderr
        assert token not in output
        assert not [line for line in key_lines if line in output], "the TLS key was printed"
        assert host.file(key_file).exists
        unit = host.file(f"/etc/systemd/system/{deployment.service}.service")
        assert token not in unit.content_string
        env_file = host.file(f"{deployment.config_dir}/superlink.env")
        assert (env_file.user, env_file.group, env_file.mode) == ("root", "root", 0o600)
        assert f"FLWR_TEST_TOKEN={token}" in env_file.content_string
        inspected = json.loads(
            host.check_output("docker inspect --format '{{json .Config.Env}}' %s", deployment.container)
        )
        assert f"FLWR_TEST_TOKEN={token}" in inspected
    finally:
        assert run_playbook(request, host, "deploy.yml").returncode == 0
    assert token not in host.file(f"{deployment.config_dir}/superlink.env").content_string


def test_fetched_backups_are_private(request: pytest.FixtureRequest, host: Any, tmp_path: Path) -> None:
    fetch = ["flower_superlink_backup_fetch=true", f"flower_superlink_backup_fetch_dir={tmp_path}"]
    result = run_playbook(request, host, "backup.yml", *fetch)
    assert result.returncode == 0, result.stdout[-3000:]
    fetched = sorted((tmp_path / target_name(host)).iterdir())
    assert [p.suffix for p in fetched] == [".db", ".json"]
    for path in fetched:
        assert path.stat().st_mode & 0o777 == 0o600, path
