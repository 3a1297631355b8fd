"""Every module's documentation is YAML that ansible-doc can render: a row per module.

ansible-doc reads DOCUMENTATION, EXAMPLES and RETURN as YAML; a colon followed by
a space inside an unquoted description line breaks the whole block, and
nothing else would notice.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

MODULES = sorted(ROOT.glob("plugins/modules/*.py"))


def docs(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    return {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")
        and isinstance(node.value, ast.Constant)
    }


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_documentation_is_yaml_ansible_doc_can_render(path: Path) -> None:
    blocks = docs(path)
    assert "DOCUMENTATION" in blocks and "RETURN" in blocks
    doc = yaml.safe_load(blocks["DOCUMENTATION"])
    assert doc["module"] == path.stem
    assert doc["short_description"] and doc["description"]
    for name, option in (doc.get("options") or {}).items():
        assert option.get("description"), f"option {name} has no description"
    for name in ("EXAMPLES", "RETURN"):
        if name in blocks:
            yaml.safe_load(blocks[name])


def test_the_lock_documents_preflight_with_the_preflight_modules_options() -> None:
    """flower_superlink_lock's O(preflight) takes flower_superlink_preflight's
    options (one ARGUMENT_SPEC); the doc fragment writes them out twice, as
    Ansible's checks read fragments as literal text, and the two must agree."""
    from ansible_collections.flower_iac.federation.plugins.doc_fragments.flower_superlink_preflight import (
        ModuleDocFragment,
    )
    from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_preflight import (
        ARGUMENT_SPEC,
    )

    own = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    lock = yaml.safe_load(ModuleDocFragment.LOCK)["options"]["preflight"]["suboptions"]
    assert own == lock
    assert sorted(own) == sorted(ARGUMENT_SPEC)
