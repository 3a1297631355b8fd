"""Validation and derived values of flower_supernode, run on the controller.

The shared rules are plugin_utils': types from meta/argument_specs.yml,
string booleans and unknown or misspelt variable names (validation.py), the
image, its release and the docker run options (container_config.py, with
Flower's per-release facts from roles/flower_superlink/vars/flower_releases.yml).
This adds what is particular to a SuperNode: the address it dials, its
--node-config and its extra flags.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from ansible_collections.flower_iac.federation.plugins.plugin_utils.container_config import (
    DOCKER_RUN_ALLOWED,
    ISOLATION_MODES,
    ContainerChecker,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.deployed_names import supernode_strangers
from ansible_collections.flower_iac.federation.plugins.plugin_utils.validation import (
    HOSTNAME_RE,
    MEMORY_RE,
    NAME_RE,
    is_ip,
)

NODE_KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")
# A --node-config string value: Flower splits the flag on spaces outside
# quotes and reads each value as TOML; no quotes or backslashes inside.
NODE_STRING_RE = re.compile(r"[^\"'\\\x00-\x1f\x7f]{0,256}\Z")
# flower-supernode flags the role sets itself.
SUPERNODE_MANAGED = {
    "--superlink",
    "--insecure",
    "--root-certificates",
    "--auth-supernode-private-key",
    "--auth-supernode-public-key",
    "--node-config",
    "--flwr-dir",
    "--isolation",
    "--clientappio-api-address",
    "--host",
    "--port",
    "--ssl-certfile",
    "--ssl-keyfile",
    "--ssl-ca-certfile",
    "--trusted-entities",
    "--superexec-auth-secret-file",
    "--allow-runtime-dependency-installation",
}


# A pip requirement as the ClientApp's list may hold it: a name, extras and
# version specifiers. No options (-r, -e, --index-url), URLs, paths or markers.
REQUIREMENT_RE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?"  # name[extras]
    r"( ?(==|!=|<=|>=|~=|<|>)[A-Za-z0-9.*+!-]+,?)*\Z"  # version specifiers
)


class SuperNodeChecker(ContainerChecker):
    role = "flower_supernode"
    # Where to set what a managed flag would: the SuperLink's table, whose
    # hints name flower_superlink_* variables (the SuperNode has no table).
    flag_variables: ClassVar[dict[str, str]] = {
        "--isolation": "set flower_supernode_isolation",
        "--superlink": "set flower_supernode_superlink_host (or flower_supernode_superlink_address)",
        "--node-config": "set flower_supernode_node_config",
        "--insecure": "TLS follows the SuperLink's (flower_superlink_insecure)",
        "--root-certificates": "the CA comes from the SuperLink's deploy",
    }

    def node(self) -> None:
        address = self.v("superlink_address")
        if address:
            host, _sep, port = address.rpartition(":")
            if not (HOSTNAME_RE.match(host) or is_ip(host)) or not port.isdigit() or not 0 < int(port) < 65536:
                self.err("superlink_address", "must be host:port", "such as superlink.example.org:9092")
        for key, value in (self.v("node_config") or {}).items():
            if not isinstance(key, str) or not NODE_KEY_RE.match(key):
                self.err("node_config", f"has the key {json.dumps(key)[:80]}", "letters, digits, _ and -")
            elif isinstance(value, (bool, int, float)):
                continue
            elif not isinstance(value, str) or not NODE_STRING_RE.match(value):
                self.err(
                    "node_config",
                    f"value of {key} must be a number, a boolean or a string without quotes, "
                    "backslashes or control characters",
                )
        group = self.v("group")
        if isinstance(group, str) and not re.match(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z", group):
            self.err("group", "is not an inventory group name")

    def process(self) -> None:
        for name in ("service_name", "container_name"):
            value = self.v(name)
            if isinstance(value, str) and not NAME_RE.match(value):
                self.err(name, "must be 1-23 characters of a-z, 0-9 and -, starting with a letter")
        self.int_in("uid", 1, 2**31 - 2, " (not root)")
        self.int_in("gid", 1, 2**31 - 2, " (not root)")
        self.int_in("pids_limit", 0, 4194304)
        self.int_in("stop_timeout", 1, 3600, " seconds")
        self.int_in("restart_sec", 1, 3600, " seconds")
        memory = self.v("memory_limit")
        if isinstance(memory, str) and memory and not MEMORY_RE.match(memory):
            self.err("memory_limit", "is not a size", "such as 512m or 2g")
        self.flags("docker_run_extra_args", DOCKER_RUN_ALLOWED, None)
        self.flags("extra_args", None, SUPERNODE_MANAGED)
        if self.v("isolation") not in ISOLATION_MODES:
            self.err("isolation", "must be process or subprocess", "process: ClientApps in their own container")

    def monitoring(self) -> None:
        self.metrics_rules(outside=(("/etc/flower-supernode", "the node's keys and CA"),))

    def app(self) -> None:
        bad = [r for r in self.v("app_requirements") or [] if not isinstance(r, str) or not REQUIREMENT_RE.match(r)]
        if bad:
            self.err(
                "app_requirements",
                f"holds {json.dumps(bad)[:120]}",
                "one requirement per item, name and version specifiers only, such as numpy==2.0.2",
            )
        wheels = self.v("app_wheels_dir")
        if wheels:
            if not isinstance(wheels, str) or not wheels.startswith("/") or "\n" in wheels:
                self.err("app_wheels_dir", "must be an absolute path on the controller")
            elif not Path(wheels).is_dir():
                self.err("app_wheels_dir", "is not a directory on the controller")
            elif not self.v("app_requirements"):
                self.err("app_wheels_dir", "is set but flower_supernode_app_requirements is empty")


def config_errors(config: dict[str, Any]) -> list[str]:
    """Every problem with the role's variables ([] when valid); ``config`` has
    the version and tag already resolved (they default to the SuperLink's)."""
    checker = SuperNodeChecker(config)
    if checker.names_and_types_are_right():
        checker.image()
        checker.node()
        checker.process()
        checker.monitoring()
        checker.app()
    return checker.errors


def node_config(config: dict[str, Any], partition: bool, index: int, count: int) -> str:
    """The --node-config value: the operator's pairs, then the partition (unless given)."""
    pairs = dict(config)
    if partition:
        pairs.setdefault("partition-id", index)
        pairs.setdefault("num-partitions", count)
    out = []
    for key, value in pairs.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = str(value)
        else:
            text = json.dumps(value)
        out.append(f"{key}={text}")
    return " ".join(out)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "supernode_config_errors": config_errors,
            "supernode_node_config": node_config,
            "supernode_strangers": supernode_strangers,
        }
