"""Where this collection's roles are, for the controller-side plugins that read them.

The plugins read files the roles own (argument specs, the release table)
from the collection they were loaded from: in a clone, Ansible loads them
through .collections/ansible_collections/flower_iac/federation, a link back
to the repository; once installed, from the collection's own directory. This
module lies at plugins/plugin_utils/ in both, so the collection's root is two
directories above it, after the link is resolved.
"""

from __future__ import annotations

from pathlib import Path

COLLECTION_ROOT = Path(__file__).resolve().parents[2]


def role_dir(name: str) -> Path:
    """roles/NAME of this collection. Only a role's own name is one: not a path
    ("..", "a/b"), not a directory without meta/; anything else is a mistake in
    the plugin that asks, said at import rather than as a missing file later."""
    roles = COLLECTION_ROOT / "roles"
    if name not in {p.name for p in roles.iterdir() if (p / "meta").is_dir()}:
        raise ValueError(f"this collection has no role {name!r} (looked in {roles})")
    return roles / name
