"""flower_superlink's variable rules (plugins/plugin_utils/superlink_config.py): one row per case.

Each row is a set of variables over the role's defaults and a fragment the
error must contain; an empty fragment means the input is accepted. The
Molecule scenarios prove that these errors stop every playbook before any
change (tests/hardening/test_bad_input.py); here each rule is tried on its
own, in milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.superlink_config import (
    config_errors,
    tls_dir_left_behind,
)

KEY = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQ="
V142 = {"flower_superlink_version": "1.42.0"}
V137 = {"flower_superlink_version": "1.37.0"}
V125 = {"flower_superlink_version": "1.25.0"}
TLS_OFF = {"flower_superlink_insecure": True, "flower_superlink_supernode_auth": False}

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("defaults", {}, ""),
    ("defaults-1.42", V142, ""),
    # --- managed flags, as argparse reads them --------------------------------
    ("flag-whole", {"flower_superlink_extra_args": ["--database=/tmp/x.db"]}, "which the role sets itself"),
    ("flag-prefix", {"flower_superlink_extra_args": ["--datab=/tmp/x.db"]}, "Flower reads as --database"),
    ("flag-prefix-bare", {"flower_superlink_extra_args": ["--ins"]}, "Flower reads as --insecure"),
    ("flag-prefix-ssl-key", {"flower_superlink_extra_args": ["--ssl-k=/k"]}, "Flower reads as --ssl-keyfile"),
    ("flag-prefix-ambiguous", {"flower_superlink_extra_args": ["--ssl-c=/k"]}, "Flower reads as --ssl-ca-certfile"),
    ("flag-prefix-auth-list", {"flower_superlink_extra_args": ["--auth=/k.csv"]}, "--auth-list-public-keys"),
    ("flag-prefix-enable-auth", {"flower_superlink_extra_args": ["--enable-s"]}, "--enable-supernode-auth"),
    ("flag-prefix-fleet-addr", {"flower_superlink_extra_args": ["--fleet-api-a=0.0.0.0:1"]}, "--fleet-api-address"),
    ("flag-host", {"flower_superlink_extra_args": ["--host=0.0.0.0"]}, "which the role sets itself"),
    ("flag-prefix-host", {"flower_superlink_extra_args": ["--ho=0.0.0.0"]}, "Flower reads as --host"),
    ("flag-prefix-port", {"flower_superlink_extra_args": ["--po=1"]}, "Flower reads as --port"),
    ("flag-isolation", {"flower_superlink_extra_args": ["--isolation=process"]}, "flower_superlink_isolation"),
    ("flag-prefix-isolation", {"flower_superlink_extra_args": ["--iso", "subprocess"]}, "reads as --isolation"),
    ("flag-superexec-secret", {"flower_superlink_extra_args": ["--superexec-auth-secret-file=/x"]}, "sets itself"),
    ("flag-two-dashes-only", {"flower_superlink_extra_args": ["--"]}, "has"),
    ("flag-not-managed", {"flower_superlink_extra_args": ["--log-file=/tmp/x"]}, ""),
    ("flag-not-a-prefix", {"flower_superlink_extra_args": ["--databases=/x"]}, ""),
    ("flag-value-separate", {"flower_superlink_extra_args": ["--database", "/tmp/x.db"]}, "which the role sets itself"),
    # --- where ServerApps run ---------------------------------------------------
    ("isolation-subprocess", {"flower_superlink_isolation": "subprocess"}, ""),
    ("isolation-unknown", {"flower_superlink_isolation": "container"}, "flower_superlink_isolation"),
    ("isolation-case", {"flower_superlink_isolation": "Process"}, "flower_superlink_isolation"),
    ("isolation-empty", {"flower_superlink_isolation": ""}, "flower_superlink_isolation"),
    ("isolation-bool", {"flower_superlink_isolation": True}, "flower_superlink_isolation"),
    # From 1.37 the executor verifies the Runtime API's certificate by name.
    ("isolation-tls-ip-1.42", {**V142, "flower_superlink_tls_server_name": "192.0.2.7"}, "must be a DNS name"),
    ("isolation-tls-ipv6-1.37", {**V137, "flower_superlink_tls_server_name": "2001:db8::7"}, "must be a DNS name"),
    ("isolation-tls-ip-1.25", {**V125, "flower_superlink_tls_server_name": "192.0.2.7"}, ""),
    ("isolation-insecure-ip-1.42", {**V142, **TLS_OFF, "flower_superlink_tls_server_name": "192.0.2.7"}, ""),
    (
        "subprocess-tls-ip-1.42",
        {**V142, "flower_superlink_isolation": "subprocess", "flower_superlink_tls_server_name": "192.0.2.7"},
        "",
    ),
    # A release older than the table has no executor facts: the version's own error, no crash.
    ("isolation-version-older-than-known", {"flower_superlink_version": "1.18.0"}, "outside the releases"),
    ("isolation-tls-name-1.42", {**V142, "flower_superlink_tls_server_name": "superlink.example.org"}, ""),
    # --- SuperNode authentication is explicit ---------------------------------
    ("auth-on-insecure", {"flower_superlink_insecure": True, "flower_superlink_supernode_auth": True}, "needs TLS"),
    ("auth-off-insecure", TLS_OFF, ""),
    ("auth-off-tls", {"flower_superlink_supernode_auth": False}, ""),
    (
        "auth-off-with-keys",
        {"flower_superlink_supernode_auth": False, "flower_superlink_supernode_public_keys": [KEY]},
        "would not be enforced",
    ),
    ("auth-not-bool", {"flower_superlink_supernode_auth": "flase"}, "not a boolean"),
    ("auth-string-false", {"flower_superlink_supernode_auth": "false"}, ""),
    ("auth-empty-list", {"flower_superlink_supernode_public_keys": []}, ""),
    # --- allow-lists: enforced or refused ---------------------------------------
    ("fleet-list-ipv4", {"flower_superlink_fleet_allowed_sources": ["10.0.0.0/8", "192.0.2.7"]}, ""),
    ("fleet-list-ipv6-grpc", {"flower_superlink_fleet_allowed_sources": ["2001:db8::/32"]}, "not IPv4 networks"),
    ("fleet-list-ipv6-proxied", {**V142, "flower_superlink_fleet_allowed_sources": ["2001:db8::/32"]}, ""),
    ("fleet-list-ipv6-1.37", {**V137, "flower_superlink_fleet_allowed_sources": ["2001:db8::/32"]}, "IPv4"),
    ("control-list-ipv6-1.37", {**V137, "flower_superlink_control_allowed_sources": ["2001:db8::1"]}, ""),
    ("list-name", {"flower_superlink_fleet_allowed_sources": ["example.org"]}, "not IPv4"),
    ("list-name-proxied", {**V142, "flower_superlink_fleet_allowed_sources": ["example.org"]}, "not IP networks"),
    ("list-injection", {"flower_superlink_control_allowed_sources": ["10.0.0.0/8; reboot"]}, "control_allowed"),
    ("list-injection-proxied", {**V142, "flower_superlink_control_allowed_sources": ["10.0.0.0/8 x"]}, "not IP"),
    ("list-newline-proxied", {**V142, "flower_superlink_control_allowed_sources": ["10.0.0.0/8\n"]}, "not IP"),
    (
        "ipv6-bind-with-list",
        {"flower_superlink_fleet_bind_address": "::", "flower_superlink_fleet_allowed_sources": ["10.0.0.0/8"]},
        "cannot filter",
    ),
    ("ipv6-bind-no-list", {"flower_superlink_fleet_bind_address": "::"}, ""),
    (
        "ipv6-bind-with-list-proxied",
        {**V142, "flower_superlink_fleet_bind_address": "::", "flower_superlink_fleet_allowed_sources": ["::1/128"]},
        "",
    ),
    (
        "ipv6-control-bind-with-list",
        {"flower_superlink_control_bind_address": "::1", "flower_superlink_control_allowed_sources": ["10.0.0.1"]},
        "control_bind_address",
    ),
    # --- the proxy's loopback port and the shared HTTP port ----------------------
    ("backend-port-default", V142, ""),
    ("backend-port-is-fleet", {**V142, "flower_superlink_proxy_backend_port": 9092}, "distinct ports"),
    ("backend-port-is-control", {**V142, "flower_superlink_proxy_backend_port": 9093}, "distinct ports"),
    ("backend-port-zero", {**V142, "flower_superlink_proxy_backend_port": 0}, "between 1 and 65535"),
    ("backend-port-text", {**V142, "flower_superlink_proxy_backend_port": "x"}, "not a whole number"),
    ("backend-port-unused-before-1.37", {**V125, "flower_superlink_proxy_backend_port": 9092}, ""),
    ("serverappio-publish-1.19", {"flower_superlink_serverappio_publish": True}, ""),
    ("serverappio-publish-1.42", {**V142, "flower_superlink_serverappio_publish": True}, "Fleet API"),
    ("serverappio-publish-1.37", {**V137, "flower_superlink_serverappio_publish": True}, "Control API"),
    (
        "serverappio-publish-1.35",
        {"flower_superlink_version": "1.35.0", "flower_superlink_serverappio_publish": True},
        "shares one HTTP port",
    ),
    # --- directories on the controller, used only when the role writes there -----
    # --- the lock's file: created as root, so only directly in /run/lock -------------
    ("lock-default-name", {"flower_superlink_lock_path": "/run/lock/flower-superlink.ansible-lock"}, ""),
    ("lock-own-name", {"flower_superlink_lock_path": "/run/lock/fl2.lock"}, ""),
    ("lock-in-etc", {"flower_superlink_lock_path": "/etc/cron.d/flower"}, "directly in /run/lock"),
    ("lock-dotdot", {"flower_superlink_lock_path": "/run/lock/../../etc/passwd"}, "directly in /run/lock"),
    ("lock-subdirectory", {"flower_superlink_lock_path": "/run/lock/a/b.lock"}, "directly in /run/lock"),
    ("lock-directory-itself", {"flower_superlink_lock_path": "/run/lock/"}, "directly in /run/lock"),
    ("lock-hidden", {"flower_superlink_lock_path": "/run/lock/.x"}, "directly in /run/lock"),
    ("lock-relative", {"flower_superlink_lock_path": "run/lock/x.lock"}, "directly in /run/lock"),
    ("lock-on-run", {"flower_superlink_lock_path": "/run/x.lock"}, "directly in /run/lock"),
    ("lock-var-run", {"flower_superlink_lock_path": "/var/run/lock/x.lock"}, "directly in /run/lock"),
    ("lock-space", {"flower_superlink_lock_path": "/run/lock/a b"}, "directly in /run/lock"),
    (
        "tls-dir-relative",
        {"flower_superlink_tls_generate": True, "flower_superlink_tls_generate_dir": ".tls"},
        "absolute",
    ),
    ("tls-dir-empty", {"flower_superlink_tls_generate": True, "flower_superlink_tls_generate_dir": ""}, "absolute"),
    (
        "tls-dir-in-collection",
        {
            "flower_superlink_tls_generate": True,
            "flower_superlink_tls_generate_dir": "/home/op/.ansible/collections/ansible_collections/flower_iac/"
            "federation/playbooks/../.tls",
        },
        "inside an installed Ansible collection",
    ),
    (
        "tls-dir-is-collections-root",
        {"flower_superlink_tls_generate": True, "flower_superlink_tls_generate_dir": "/srv/ansible_collections"},
        "inside an installed Ansible collection",
    ),
    (
        "tls-dir-name-only-alike",
        {"flower_superlink_tls_generate": True, "flower_superlink_tls_generate_dir": "/srv/my_ansible_collections/tls"},
        "",
    ),
    ("tls-dir-unused", {"flower_superlink_tls_generate": False, "flower_superlink_tls_generate_dir": "rel"}, ""),
    (
        "fetch-dir-relative",
        {"flower_superlink_backup_fetch": True, "flower_superlink_backup_fetch_dir": "b"},
        "absolute",
    ),
    (
        "fetch-dir-in-collection",
        {
            "flower_superlink_backup_fetch": True,
            "flower_superlink_backup_fetch_dir": "/p/collections/ansible_collections/flower_iac/federation/backups",
        },
        "inside an installed Ansible collection",
    ),
    ("fetch-dir-unused", {"flower_superlink_backup_fetch": False, "flower_superlink_backup_fetch_dir": "b"}, ""),
    ("fetch-dir-absolute", {"flower_superlink_backup_fetch": True, "flower_superlink_backup_fetch_dir": "/srv/b"}, ""),
]


@pytest.mark.parametrize(("overrides", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(config: dict[str, Any], overrides: dict[str, Any], fragment: str) -> None:
    config.update(overrides)
    errors = config_errors(config)
    if not fragment:
        assert errors == []
    else:
        assert any(fragment in e for e in errors), errors


def ca_in(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.crt").write_text("a CA")
    return directory


@pytest.mark.parametrize(
    ("layout", "left_behind"),
    [
        ("old-only", True),
        ("both", False),
        ("new-only", False),
        ("neither", False),
        ("same-dir-spelt-twice", False),
        ("old-is-dangling-link", True),
    ],
)
def test_a_staging_ca_left_where_it_was_is_never_replaced(tmp_path: Path, layout: str, left_behind: bool) -> None:
    """Before the collection, generated TLS material lived at <repository>/.tls
    (playbook_dir/..); with the new default (beside the inventory) the deploy
    would make a second CA. It refuses instead, naming both paths and the move."""
    old, new = tmp_path / "repo" / ".tls", tmp_path / "repo" / "inventories" / "prod" / ".tls"
    if layout in ("old-only", "both"):
        ca_in(old)
    if layout in ("new-only", "both"):
        ca_in(new)
    if layout == "same-dir-spelt-twice":
        ca_in(old)
        new = tmp_path / "repo" / "playbooks" / ".." / ".tls"
    if layout == "old-is-dangling-link":
        old.mkdir(parents=True)
        (old / "ca.crt").symlink_to(tmp_path / "gone")
    message = tls_dir_left_behind(str(new), str(tmp_path / "repo" / "playbooks" / ".." / ".tls"))
    if left_behind:
        assert f"mv {old} {new}" in message and "flower_superlink_tls_generate_dir" in message
    else:
        assert message == ""
