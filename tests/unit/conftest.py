"""Unit tests: the roles' Python, loaded as Ansible loads it, no host, no Docker.

The filter plugins are plain Python files under roles/*/filter_plugins; they
are loaded here by path, as Ansible's plugin loader does.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


superlink = load("flower_superlink_filters", ROOT / "roles/flower_superlink/filter_plugins/flower_superlink.py")
supernode = load("flower_supernode_filters", ROOT / "roles/flower_supernode/filter_plugins/flower_supernode.py")

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
}


def superlink_defaults() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "roles/flower_superlink/defaults/main.yml").read_text())
    data.update(RENDERED)
    assert not [k for k, v in data.items() if isinstance(v, str) and "{{" in v], "a templated default is not rendered"
    return data


@pytest.fixture
def config() -> dict[str, Any]:
    return superlink_defaults()
