"""Unit tests: the collection's Python, imported by name, no host, no Docker.

pytest's pythonpath (pyproject.toml) holds .collections/, so the plugins are
imported as Ansible imports them: ansible_collections.flower_iac.federation.plugins.…
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import shutil
import sqlite3
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# What the test modules import from here.
__all__ = ["ROOT", "install", "load_module", "superlink_defaults", "supernode_defaults"]

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


def supernode_defaults() -> dict[str, Any]:
    """flower_supernode's defaults as validate.yml hands them over: the release
    and tag resolved to the SuperLink's."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "roles/flower_supernode/defaults/main.yml").read_text())
    data.update(
        flower_supernode_superlink_host="sl1", flower_supernode_version="1.42.0", flower_supernode_image_tag="1.42.0"
    )
    return data


def install(tmp_path_factory: pytest.TempPathFactory, files: list[Path]) -> Path:
    """FILES copied side by side into a new temporary directory, as a role's
    tasks install a collector beside the modules it imports."""
    lib = tmp_path_factory.mktemp("lib")
    for path in files:
        shutil.copy(path, lib / path.name)
    return lib


def load_module(name: str, path: Path) -> ModuleType:
    """The Python file PATH imported as module NAME (the collectors are scripts, not packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def break_index(database: Path, index: str) -> int:
    """Zero the page type byte of INDEX's root page in DATABASE, as a torn or
    zeroed write would leave it; the page's number."""
    db = sqlite3.connect(database)
    try:
        page = int(db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0])
        size = int(db.execute("PRAGMA page_size").fetchone()[0])
    finally:
        db.close()
    with database.open("r+b") as handle:
        handle.seek((page - 1) * size)
        handle.write(b"\x00")
    return page
