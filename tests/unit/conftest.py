"""Unit tests: the collection's Python, imported by name, no host, no Docker.

pytest's pythonpath (pyproject.toml) holds .collections/, so the plugins are
imported as Ansible imports them: ansible_collections.flower_iac.federation.plugins.…
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# What the test modules import from here.
__all__ = ["ROOT", "superlink_defaults"]

# Defaults that are templates, as Ansible renders them for a host named "sl1"
# with nothing else set.
RENDERED = {
    "flower_superlink_image_tag": "1.19.0",
    "flower_superlink_control_port": 9093,
    "flower_superlink_control_bind_address": "127.0.0.1",
    "flower_superlink_control_allowed_sources": [],
    "flower_superlink_tls_generate_dir": "/srv/ansible/.tls",
    "flower_superlink_tls_server_name": "sl1",
    "flower_superlink_supernode_auth": True,
    "flower_superlink_backup_fetch_dir": "/srv/ansible/backups",
    "flower_superlink_lock_path": "/run/lock/flower-superlink.ansible-lock",
}


@functools.cache
def _rendered_superlink_defaults() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "roles/flower_superlink/defaults/main.yml").read_text())
    data.update(RENDERED)
    assert not [k for k, v in data.items() if isinstance(v, str) and "{{" in v], "a templated default is not rendered"
    return data


def superlink_defaults() -> dict[str, Any]:
    """A copy each test may change: the file is parsed once (pure-Python YAML is most of a rule's test)."""
    return copy.deepcopy(_rendered_superlink_defaults())


@pytest.fixture
def config() -> dict[str, Any]:
    return superlink_defaults()
