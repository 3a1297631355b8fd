"""The filters flower_superlink registers (plugins/filter/flower_superlink.py).

The roles' tasks, vars and templates call them as flower_iac.federation.<name>;
a name that changed or went missing would fail only when a play reaches it.
The rules behind them are tested with their modules (tests/unit/plugins/plugin_utils/).
"""

from __future__ import annotations

from ansible_collections.flower_iac.federation.plugins.filter.flower_superlink import FilterModule

NAMES = [
    "deployment_identity_changes",
    "deployment_record_errors",
    "docker_publish",
    "executor_argv",
    "executor_container_argv",
    "flwr_connection",
    "in_place",
    "is_ip_address",
    "is_wildcard_address",
    "out_of_place",
    "proxied_apis",
    "published_supernode_keys",
    "release_facts",
    "remembered_inputs",
    "strict_bool",
    "superlink_config_errors",
    "superlink_deprecations",
    "supernode_hosts_to_read",
    "supernode_key_list",
    "tls_dir_left_behind",
    "tls_names",
    "upgrade_step",
    "wait_for_port_argv",
]


def test_registers_the_names_the_roles_call() -> None:
    filters = FilterModule().filters()
    assert sorted(filters) == NAMES
    assert all(callable(f) for f in filters.values())
