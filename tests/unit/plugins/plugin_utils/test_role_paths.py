"""role_dir (plugins/plugin_utils/role_paths.py): the one way a plugin finds a
role's files. From a clone it is reached through .collections/ (a link back to
the repository); tests/unit/test_collection.py runs it from an installed
collection."""

from __future__ import annotations

import re

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.role_paths import COLLECTION_ROOT, role_dir
from conftest import ROOT

ROLES = sorted(p.name for p in (ROOT / "roles").iterdir())


def test_the_collection_root_is_the_repository_behind_the_link() -> None:
    assert COLLECTION_ROOT == ROOT


@pytest.mark.parametrize("name", ROLES)
def test_every_role_is_found_by_its_name(name: str) -> None:
    assert role_dir(name) == ROOT / "roles" / name
    assert (role_dir(name) / "meta" / "argument_specs.yml").is_file()


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "flower_superlink/",
        "flower_superlink/meta",
        "../roles/flower_superlink",
        "./flower_superlink",
        "/flower_superlink",
        "flower_superlink ",
        "Flower_Superlink",
        "no_such_role",
    ],
    ids=repr,
)
def test_anything_but_a_roles_own_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match=rf"^this collection has no role {re.escape(repr(name))} "):
        role_dir(name)
