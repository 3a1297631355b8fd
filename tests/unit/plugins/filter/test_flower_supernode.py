"""flower_supernode's filters (plugins/filter/flower_supernode.py): the names
the role calls, and its flag rule: flags for flower-supernode are refused as
Flower's argparse reads them (whole names, unambiguous prefixes, `--flag
value` and `--flag=value`), one row per case. The variable-only rows of
tests/federation/test_bad_supernode_input.py prove the same on hosts."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter.flower_supernode import FilterModule, config_errors
from conftest import supernode_defaults


@pytest.fixture
def config() -> dict[str, Any]:
    return supernode_defaults()


CASES = [
    ("defaults", [], ""),
    ("whole", ["--insecure"], "which the role sets itself"),
    ("whole-with-value", ["--superlink=evil:9092"], "which the role sets itself"),
    ("value-separate", ["--root-certificates", "/x"], "which the role sets itself"),
    ("prefix-insecure", ["--ins"], "Flower reads as --insecure"),
    ("prefix-superlink", ["--superl=evil:9092"], "Flower reads as --superlink"),
    ("prefix-node-config", ["--node-c=x"], "Flower reads as --node-config"),
    ("prefix-private-key", ["--auth-supernode-pri=/k"], "Flower reads as --auth-supernode-private-key"),
    ("prefix-isolation", ["--iso", "subprocess"], "Flower reads as --isolation"),
    # The hint names the SuperNode's own variable, never the SuperLink's.
    ("hint-isolation", ["--iso", "subprocess"], "set flower_supernode_isolation"),
    ("hint-superlink", ["--superlink=x:9092"], "set flower_supernode_superlink_host"),
    ("hint-node-config", ["--node-config=a=1"], "set flower_supernode_node_config"),
    ("not-managed", ["--max-retries=3"], ""),
    ("not-a-prefix", ["--insecurely"], ""),
]


@pytest.mark.parametrize(("args", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_flags_as_flower_reads_them(config: dict[str, Any], args: list[str], fragment: str) -> None:
    config["flower_supernode_extra_args"] = args
    errors = config_errors(config)
    if not fragment:
        assert errors == []
    else:
        assert any(fragment in e for e in errors), errors
        assert not any("flower_superlink_isolation" in e for e in errors), errors


def test_registers_the_names_the_role_calls() -> None:
    assert sorted(FilterModule().filters()) == [
        "supernode_config_errors",
        "supernode_node_config",
        "supernode_strangers",
    ]
