"""Filters of flower_superlink: its validation rules, release table and derived values.

Thin: each filter lives in the plugin_utils module of its concern, where the
other roles' filters share it.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.flower_iac.federation.plugins.plugin_utils.deployment_record import (
    deployment_errors,
    identity_changes,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.derived_values import (
    docker_publish,
    is_wildcard,
    tls_names,
    to_bool,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.executor_command import (
    executor_argv,
    executor_container_argv,
    wait_for_port_argv,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.flwr_connection import flwr_connection
from ansible_collections.flower_iac.federation.plugins.plugin_utils.probed_paths import (
    in_place,
    out_of_place,
    remembered,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.releases import (
    proxied_apis,
    release_facts,
    upgrade_step,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.superlink_config import (
    config_errors,
    deprecations,
    tls_dir_left_behind,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.supernode_keys import (
    key_list_content,
    nodes_to_read,
    published_keys,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.validation import is_ip


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "superlink_config_errors": config_errors,
            "deployment_record_errors": deployment_errors,
            "flwr_connection": flwr_connection,
            "deployment_identity_changes": identity_changes,
            "strict_bool": to_bool,
            "docker_publish": docker_publish,
            "is_wildcard_address": is_wildcard,
            "is_ip_address": is_ip,
            "tls_names": tls_names,
            "tls_dir_left_behind": tls_dir_left_behind,
            "release_facts": release_facts,
            "upgrade_step": upgrade_step,
            "superlink_deprecations": deprecations,
            "in_place": in_place,
            "out_of_place": out_of_place,
            "published_supernode_keys": published_keys,
            "supernode_key_list": key_list_content,
            "supernode_hosts_to_read": nodes_to_read,
            "remembered_inputs": remembered,
            "proxied_apis": proxied_apis,
            "executor_argv": executor_argv,
            "executor_container_argv": executor_container_argv,
            "wait_for_port_argv": wait_for_port_argv,
        }
