"""Filters of flower_superlink: its validation rules, release table and derived values.

Thin: the rules live in plugin_utils/flower_superlink_rules.py, shared with
the other roles' filters.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.flower_iac.federation.plugins.plugin_utils.flower_superlink_rules import (
    config_errors,
    deployment_errors,
    deprecations,
    docker_publish,
    executor_argv,
    executor_container_argv,
    in_place,
    is_ip,
    is_wildcard,
    key_list_content,
    nodes_to_read,
    out_of_place,
    proxied_apis,
    published_keys,
    release_facts,
    remembered,
    tls_dir_left_behind,
    tls_names,
    to_bool,
    upgrade_step,
    wait_for_port_argv,
)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "superlink_config_errors": config_errors,
            "deployment_record_errors": deployment_errors,
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
