"""Bad input every playbook must refuse, one row per case: (id, playbook, extra
vars as an operator types them, text the failure must contain).

One table, two layers: tests/unit/test_bad_input_rules.py runs every row
whose rule needs no host through the role's validation (milliseconds);
tests/hardening/test_bad_input.py runs the rows in END_TO_END through the
real playbooks on a deployed host, proving the wiring of each entry point
and that a refusal changes nothing. Rows in NEEDS_A_HOST are decided by
what is on the host (or by another role) and only run there.
"""

from __future__ import annotations

import json
from typing import Any

BACKUPS = "/var/backups/flower-superlink"
KEY = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQ="
DIGEST = "sha256:" + "a" * 64
CONFIRM = "flower_superlink_reset_confirm=true"

# (case id, playbook, extra vars: "name=value" strings or a JSON-able dict, text the failure must contain)
Extra = str | dict[str, Any] | tuple[str, ...]
CASES: list[tuple[str, str, Extra, str]] = [
    # --- booleans: only true/false, yes/no, on/off, 1/0 ---------------------
    ("bool-typo", "deploy.yml", "flower_superlink_insecure=flase", "flower_superlink_insecure"),
    ("bool-empty", "deploy.yml", "flower_superlink_read_only=", "flower_superlink_read_only"),
    ("bool-word", "deploy.yml", "flower_superlink_tls_generate=maybe", "flower_superlink_tls_generate"),
    ("bool-number", "backup.yml", "flower_superlink_backup_fetch=2", "flower_superlink_backup_fetch"),
    ("bool-confirm-sentence", "reset.yml", {"flower_superlink_reset_confirm": "yes please"}, "reset_confirm"),
    ("bool-undo-sentence", "rollback.yml", {"flower_superlink_rollback_undo": "yes, go forward"}, "rollback_undo"),
    ("typo-in-undo", "rollback.yml", "flower_superlink_rollback_undu=1", "did you mean flower_superlink_rollback_undo"),
    # --- values that would reach the unit file or a docker argument ---------
    ("name-adds-flag", "deploy.yml", {"flower_superlink_container_name": "fl --privileged"}, "container_name"),
    ("name-trailing-newline", "deploy.yml", {"flower_superlink_service_name": "flower-superlink\n"}, "service_name"),
    ("path-with-space", "deploy.yml", {"flower_superlink_state_dir": "/srv/flower state"}, "state_dir"),
    ("path-specifier", "deploy.yml", "flower_superlink_state_dir=/srv/flower%h", "state_dir"),
    ("path-dollar", "deploy.yml", "flower_superlink_state_dir=/srv/flower$HOME", "state_dir"),
    ("path-quote", "deploy.yml", {"flower_superlink_state_dir": '/srv/fl"ower'}, "state_dir"),
    ("path-volume-syntax", "deploy.yml", "flower_superlink_state_dir=/srv/flower:/etc", "state_dir"),
    (
        "path-newline",
        "deploy.yml",
        {"flower_superlink_config_dir": "/etc/flower-superlink\nExecStartPre=/bin/true"},
        "config_dir",
    ),
    ("address-with-port", "deploy.yml", "flower_superlink_fleet_bind_address=0.0.0.0:1234", "fleet_bind_address"),
    ("address-name", "deploy.yml", "flower_superlink_control_bind_address=localhost", "control_bind_address"),
    ("address-newline", "deploy.yml", {"flower_superlink_control_bind_address": "127.0.0.1\n"}, "control_bind_address"),
    ("memory-adds-flag", "deploy.yml", {"flower_superlink_memory_limit": "1g --privileged"}, "memory_limit"),
    ("memory-newline", "deploy.yml", {"flower_superlink_memory_limit": "1g\n"}, "memory_limit"),
    ("memory-not-a-size", "deploy.yml", "flower_superlink_memory_limit=lots", "memory_limit"),
    ("pids-adds-flag", "deploy.yml", {"flower_superlink_pids_limit": "512 --privileged"}, "pids_limit"),
    ("env-name-space", "deploy.yml", {"flower_superlink_env": {"A B": "x"}}, "flower_superlink_env"),
    ("env-value-newline", "deploy.yml", {"flower_superlink_env": {"T": "x\nExecStartPre=/bin/rm -rf /"}}, "env"),
    ("extra-arg-managed", "deploy.yml", {"flower_superlink_extra_args": ["--database=/tmp/x.db"]}, "extra_args"),
    ("extra-arg-trailing-newline", "deploy.yml", {"flower_superlink_extra_args": ["--isolation\n"]}, "extra_args"),
    ("extra-arg-two-in-one", "deploy.yml", {"flower_superlink_extra_args": ["--isolation process"]}, "extra_args"),
    # argparse reads an unambiguous prefix as the whole flag.
    ("extra-arg-prefix", "deploy.yml", {"flower_superlink_extra_args": ["--datab=/tmp/x.db"]}, "reads as --database"),
    ("docker-privileged", "deploy.yml", {"flower_superlink_docker_run_extra_args": ["--privileged"]}, "docker_run"),
    ("docker-volume", "deploy.yml", {"flower_superlink_docker_run_extra_args": ["--volume=/:/host"]}, "docker_run"),
    ("docker-cap-add", "deploy.yml", {"flower_superlink_docker_run_extra_args": ["--cap-add=ALL"]}, "docker_run"),
    ("version-newline", "deploy.yml", {"flower_superlink_version": "1.19.0\n"}, "flower_superlink_version"),
    ("version-latest", "deploy.yml", "flower_superlink_version=latest", "flower_superlink_version"),
    # --- Flower releases (vars/flower_releases.yml) -----------------------------
    ("version-newer-than-known", "deploy.yml", "flower_superlink_version=1.43.0", "outside the releases"),
    ("version-older-than-known", "deploy.yml", "flower_superlink_version=1.18.0", "outside the releases"),
    (
        "version-schema-cliff",
        "deploy.yml",
        {"flower_superlink_version": "1.25.0", "flower_superlink_supernode_public_keys": []},
        "cannot use a database written by",
    ),
    ("fresh-state-typo", "deploy.yml", "flower_superlink_upgrade_fresh_state=flase", "upgrade_fresh_state"),
    (
        "old-and-new-port-name",
        "deploy.yml",
        ("flower_superlink_exec_port=9193", "flower_superlink_control_port=9194"),
        "are both set",
    ),
    ("tag-adds-flag", "deploy.yml", {"flower_superlink_image_tag": "1.19.0 --privileged"}, "image_tag"),
    ("repository-adds-flag", "deploy.yml", {"flower_superlink_image_repository": "flwr/superlink -v /:/h"}, "repo"),
    ("digest-newline", "deploy.yml", {"flower_superlink_image_digest": DIGEST + "\n"}, "image_digest"),
    ("digest-short", "deploy.yml", "flower_superlink_image_digest=sha256:abc", "image_digest"),
    ("server-name-space", "deploy.yml", {"flower_superlink_tls_server_name": "super link"}, "tls_server_name"),
    ("san-injection", "deploy.yml", {"flower_superlink_tls_san": ["DNS:a,IP:1.2.3.4"]}, "tls_san"),
    ("key-two-lines", "deploy.yml", {"flower_superlink_supernode_public_keys": [KEY + "\nssh-rsa AAAA"]}, "keys"),
    ("key-not-ecdsa", "deploy.yml", {"flower_superlink_supernode_public_keys": ["ssh-rsa AAAAB3NzaC1yc2E"]}, "ECDSA"),
    # The pattern matches, the blob is no key: Flower 1.19-1.22 would exit at start.
    ("key-not-a-point", "deploy.yml", {"flower_superlink_supernode_public_keys": [KEY]}, "does not hold exactly"),
    (
        "allow-list-injection",
        "deploy.yml",
        {"flower_superlink_control_allowed_sources": ["10.0.0.0/8; reboot"]},
        "control_all",
    ),
    ("allow-list-name", "deploy.yml", {"flower_superlink_fleet_allowed_sources": ["example.org"]}, "fleet_allowed"),
    # This host's Control allow-list lives in DOCKER-USER, which dockerd makes only with iptables on.
    (
        "allow-list-iptables-off",
        "deploy.yml",
        {"docker_engine_daemon_options": {"iptables": False}},
        "cannot be enforced",
    ),
    # A registry address becomes a directory under /etc/docker/certs.d.
    (
        "registry-ca-path-escape",
        "deploy.yml",
        {"docker_engine_registry_ca_certificates": {"../../systemd/system/x": "-----BEGIN CERTIFICATE-----"}},
        '["../../systemd/system/x"]',
    ),
    (
        "registry-ca-not-pem",
        "deploy.yml",
        {"docker_engine_registry_ca_certificates": {"registry.example.org:5000": "/etc/ssl/ca.pem"}},
        "to a PEM certificate",
    ),
    # --- paths ---------------------------------------------------------------
    ("state-relative", "deploy.yml", "flower_superlink_state_dir=var/lib/flower", "state_dir"),
    ("state-root", "deploy.yml", "flower_superlink_state_dir=/", "state_dir"),
    ("state-etc", "deploy.yml", "flower_superlink_state_dir=/etc", "shared system directory"),
    ("state-in-docker", "deploy.yml", "flower_superlink_state_dir=/var/lib/docker/volumes/x", "/var/lib/docker"),
    ("state-in-tmp", "deploy.yml", "flower_superlink_state_dir=/tmp/flower", "/tmp"),
    ("state-in-root-home", "deploy.yml", "flower_superlink_state_dir=/root/flower", "/root"),
    ("state-in-usr", "deploy.yml", "flower_superlink_state_dir=/usr/local/flower", "/usr"),
    ("state-unnormalised", "deploy.yml", "flower_superlink_state_dir=/var/lib/../../etc", "normalised"),
    ("state-trailing-slash", "deploy.yml", "flower_superlink_state_dir=/var/lib/flower-superlink/", "normalised"),
    ("config-in-ssh", "deploy.yml", "flower_superlink_config_dir=/etc/ssh/flower", "/etc/ssh"),
    ("config-is-systemd", "deploy.yml", "flower_superlink_config_dir=/etc/systemd/system", "/etc/systemd"),
    ("backup-in-state", "deploy.yml", "flower_superlink_backup_dir=/var/lib/flower-superlink/b", "distinct"),
    ("config-is-state", "deploy.yml", "flower_superlink_config_dir=/var/lib/flower-superlink", "distinct"),
    ("archive-dir-in-var-log", "deploy.yml", "flower_superlink_image_archive_dir=/var/log/flower", "/var/log"),
    ("record-not-a-fact", "deploy.yml", "flower_superlink_record_path=/etc/ansible/facts.d/x.json", "record_path"),
    ("record-in-tmp", "deploy.yml", "flower_superlink_record_path=/tmp/flower.fact", "record_path"),
    ("database-escapes", "deploy.yml", "flower_superlink_database_name=../escape.db", "database_name"),
    ("database-hidden", "deploy.yml", "flower_superlink_database_name=.state.db", "database_name"),
    ("database-in-subdir", "deploy.yml", "flower_superlink_database_name=sub/state.db", "database_name"),
    ("state-mode-world-writable", "deploy.yml", "flower_superlink_state_dir_mode=0777", "state_dir_mode"),
    # --- names ---------------------------------------------------------------
    ("service-template-unit", "deploy.yml", "flower_superlink_service_name=flower@x", "service_name"),
    ("service-upper-case", "deploy.yml", "flower_superlink_service_name=Flower", "service_name"),
    ("service-is-docker", "deploy.yml", "flower_superlink_service_name=docker", "already exists"),
    ("service-is-journald", "deploy.yml", "flower_superlink_service_name=systemd-journald", "already exists"),
    ("container-path", "deploy.yml", "flower_superlink_container_name=../flower", "container_name"),
    # --- numbers -------------------------------------------------------------
    ("keep-zero", "backup.yml", "flower_superlink_backup_keep=0", "backup_keep"),
    ("keep-negative", "backup.yml", "flower_superlink_backup_keep=-1", "backup_keep"),
    ("port-zero", "deploy.yml", "flower_superlink_fleet_port=0", "fleet_port"),
    ("port-out-of-range", "deploy.yml", "flower_superlink_fleet_port=70000", "fleet_port"),
    ("port-not-a-number", "deploy.yml", "flower_superlink_fleet_port=fleet", "fleet_port"),
    ("same-port-twice", "deploy.yml", "flower_superlink_control_port=9092", "distinct"),
    (
        "serverappio-on-exec-port",
        "deploy.yml",
        ("flower_superlink_serverappio_publish=true", "flower_superlink_serverappio_port=9093"),
        "serverappio_port",
    ),
    ("uid-root", "deploy.yml", "flower_superlink_uid=0", "flower_superlink_uid"),
    ("stop-timeout-zero", "deploy.yml", "flower_superlink_stop_timeout=0", "stop_timeout"),
    # RestartSec=0 would spin a crash loop at full speed; a unit suffix is not a number.
    ("restart-sec-zero", "deploy.yml", "flower_superlink_restart_sec=0", "restart_sec"),
    ("restart-sec-with-unit", "deploy.yml", "flower_superlink_restart_sec=1s", "restart_sec"),
    ("restart-sec-a-day", "deploy.yml", "flower_superlink_restart_sec=86400", "restart_sec"),
    ("health-retries-zero", "deploy.yml", "flower_superlink_health_retries=0", "health_retries"),
    # --- the metrics collector: a root-written file and a timer -------------
    ("metrics-dir-relative", "deploy.yml", "flower_superlink_metrics_dir=metrics", "metrics_dir"),
    ("metrics-dir-climbs", "deploy.yml", "flower_superlink_metrics_dir=/var/lib/../../etc", "metrics_dir"),
    ("metrics-dir-trailing-slash", "deploy.yml", "flower_superlink_metrics_dir=/var/lib/node/", "metrics_dir"),
    ("metrics-dir-space", "deploy.yml", {"flower_superlink_metrics_dir": "/var/lib/node exporter"}, "metrics_dir"),
    ("metrics-dir-specifier", "deploy.yml", "flower_superlink_metrics_dir=/var/lib/node%h", "metrics_dir"),
    ("metrics-dir-newline", "deploy.yml", {"flower_superlink_metrics_dir": "/var/lib/node\nUser=x"}, "metrics_dir"),
    ("metrics-dir-etc", "deploy.yml", "flower_superlink_metrics_dir=/etc", "metrics_dir"),
    ("metrics-dir-in-state", "deploy.yml", "flower_superlink_metrics_dir=/var/lib/flower-superlink/m", "distinct"),
    ("metrics-dir-is-config", "deploy.yml", "flower_superlink_metrics_dir=/etc/flower-superlink", "distinct"),
    (
        "metrics-dir-in-backups",
        "deploy.yml",
        "flower_superlink_metrics_dir=/var/backups/flower-superlink/m",
        "distinct",
    ),
    ("metrics-dir-list", "deploy.yml", {"flower_superlink_metrics_dir": ["/var/lib/node"]}, "metrics_dir"),
    ("metrics-interval-zero", "deploy.yml", "flower_superlink_metrics_interval=0", "metrics_interval"),
    ("metrics-interval-too-often", "deploy.yml", "flower_superlink_metrics_interval=5", "metrics_interval"),
    ("metrics-interval-unit", "deploy.yml", "flower_superlink_metrics_interval=60s", "metrics_interval"),
    ("metrics-interval-a-day", "deploy.yml", "flower_superlink_metrics_interval=86400", "metrics_interval"),
    # --- the unit started when the SuperLink dies: one unit name, systemd's
    # specifiers only (%n, %N, %p, %P, %i) ---------------------------------
    ("on-failure-two-words", "deploy.yml", {"flower_superlink_on_failure": "a.service b.service"}, "on_failure"),
    ("on-failure-command", "deploy.yml", {"flower_superlink_on_failure": "a.service; rm -rf /"}, "on_failure"),
    ("on-failure-quote", "deploy.yml", {"flower_superlink_on_failure": 'a".service'}, "on_failure"),
    ("on-failure-dollar", "deploy.yml", {"flower_superlink_on_failure": "a$HOME.service"}, "on_failure"),
    ("on-failure-host-specifier", "deploy.yml", "flower_superlink_on_failure=alert@%H.service", "on_failure"),
    ("on-failure-newline", "deploy.yml", {"flower_superlink_on_failure": "a.service\nUser=root"}, "on_failure"),
    ("on-failure-not-a-unit", "deploy.yml", "flower_superlink_on_failure=alert", "on_failure"),
    ("on-failure-a-socket", "deploy.yml", "flower_superlink_on_failure=alert.socket", "on_failure"),
    ("on-failure-path", "deploy.yml", "flower_superlink_on_failure=/etc/systemd/system/a.service", "on_failure"),
    # --- every entry point validates the same -------------------------------
    ("backup-state-etc", "backup.yml", "flower_superlink_state_dir=/etc", "state_dir"),
    ("reset-state-etc", "reset.yml", (CONFIRM, "flower_superlink_state_dir=/etc"), "state_dir"),
    ("rollback-backup-dir-tmp", "rollback.yml", "flower_superlink_backup_dir=/tmp/b", "backup_dir"),
    ("rollback-outside-backups", "rollback.yml", "flower_superlink_rollback_backup=/etc/shadow", "rollback_backup"),
    (
        "rollback-climbs-out",
        "rollback.yml",
        f"flower_superlink_rollback_backup={BACKUPS}/../../x.db",
        "rollback_backup",
    ),
    # --- unknown and renamed variables ---------------------------------------
    ("typo-in-name", "reset.yml", "flower_superlink_reset_confrim=true", "did you mean flower_superlink_reset_confirm"),
    ("removed-variable", "deploy.yml", {"flower_superlink_forbidden_state_dirs": []}, "no longer used"),
    # --- incomplete combinations ----------------------------------------------
    (
        "archive-without-file",
        "deploy.yml",
        ("flower_superlink_image_source=archive", "flower_superlink_image_archive="),
        "image_archive",
    ),
    ("unknown-image-source", "deploy.yml", "flower_superlink_image_source=ftp", "image_source"),
    ("no-tls-and-not-insecure", "deploy.yml", "flower_superlink_tls_generate=false", "flower_superlink_tls_ca_cert"),
    ("auth-without-tls", "deploy.yml", "flower_superlink_insecure=true", "needs TLS"),
    (
        "auth-on-without-tls",
        "deploy.yml",
        {
            "flower_superlink_insecure": True,
            "flower_superlink_supernode_auth": True,
            "flower_superlink_supernode_public_keys": [],
        },
        "flower_superlink_supernode_auth=true needs TLS",
    ),
]

# Decided by the host or by another role, not by flower_superlink's variables.
NEEDS_A_HOST = {
    "version-schema-cliff": "the database's schema is read from the host's deployment record",
    "allow-list-iptables-off": "docker_engine's daemon options decide whether Docker filters",
    "registry-ca-path-escape": "docker_engine validates its registry CA paths",
    "registry-ca-not-pem": "docker_engine validates its registry CAs",
    "service-is-docker": "the unit name is taken on the host",
    "service-is-journald": "the unit name is taken on the host",
    "no-tls-and-not-insecure": "TLS material is looked for on the controller",
}

# The rows the real playbooks run: every host-decided row, and a few per
# entry point and class of input, to prove each playbook validates before it
# changes anything.
END_TO_END = set(NEEDS_A_HOST) | {
    "bool-typo",
    "name-adds-flag",
    "path-newline",
    "address-with-port",
    "removed-variable",
    "bool-number",
    "backup-state-etc",
    "bool-confirm-sentence",
    "reset-state-etc",
    "typo-in-name",
    "rollback-outside-backups",
    "rollback-climbs-out",
}


def as_variables(extra: Extra) -> dict[str, Any]:
    """The extra vars as Ansible hands them to the play: `-e name=value`
    gives a string, `-e '{...}'` JSON's types."""
    items = [extra] if isinstance(extra, (str, dict)) else list(extra)
    variables: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict):
            variables.update(item)
        elif item.startswith("{"):
            variables.update(json.loads(item))
        else:
            name, _, value = item.partition("=")
            variables[name] = value
    return variables
