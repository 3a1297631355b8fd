"""flower_superlink's own variable rules, run on the controller.

Every ``flower_superlink_*`` variable passes these before any host is
touched (tasks/validate.yml): the role's directories, its image and release,
the ports and allow-lists (which differ per release: some APIs share one
HTTP port behind a proxy), TLS and SuperNode authentication, where
ServerApps run, the process's limits, backups and the directories it writes
on the controller. Variable names that were renamed or deprecated are
refused or warned about here too.
"""

from __future__ import annotations

import ipaddress
import json
import os
import posixpath
import re
from typing import Any, ClassVar

from ansible_collections.flower_iac.federation.plugins.plugin_utils.container_config import (
    DOCKER_RUN_ALLOWED,
    ISOLATION_MODES,
    VERSION_RE,
    ContainerChecker,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.deployment_record import (
    BACKUP_NAME_RE,
    DATABASE_NAME_NOT,
)
from ansible_collections.flower_iac.federation.plugins.plugin_utils.releases import proxied_apis, release_facts
from ansible_collections.flower_iac.federation.plugins.plugin_utils.supernode_keys import ssh_key_problem
from ansible_collections.flower_iac.federation.plugins.plugin_utils.validation import (
    CONTROL_RE,
    ENV_NAME_RE,
    FILE_NAME_RE,
    HOSTNAME_RE,
    MEMORY_RE,
    NAME_RE,
    PATH_RE,
    as_bool,
    is_ip,
    is_network,
    nested,
    path_problem,
)

# Variables renamed since an earlier release: old name -> new name. The old
# name is refused with the new one in the message (as MASH roles do).
RENAMED: dict[str, str] = {
    "flower_superlink_forbidden_state_dirs": "(removed: the forbidden paths are built into the role)",
}

# The database's file name, and the state directory's mode (no group or world write).
MODE_RE = re.compile(r"0?[0-7][0-5][0-5]\Z")

# flower-superlink flags the role sets itself; an extra one would override
# where the database lives, TLS or authentication.
SUPERLINK_MANAGED = {
    "--database",
    "--enable-supernode-auth",
    "--host",
    "--port",
    "--insecure",
    "--ssl-ca-certfile",
    "--ssl-certfile",
    "--ssl-keyfile",
    "--auth-list-public-keys",
    "--fleet-api-address",
    "--exec-api-address",
    "--serverappio-api-address",
    "--control-api-address",
    "--isolation",
    "--superexec-auth-secret-file",
    "--storage-dir",
}
# Where an operator sets what a managed flag would.
FLAG_VARIABLES = {
    "--isolation": "set flower_superlink_isolation",
    "--insecure": "set flower_superlink_insecure",
    "--database": "set flower_superlink_state_dir and flower_superlink_database_name",
    "--enable-supernode-auth": "set flower_superlink_supernode_auth",
    "--auth-list-public-keys": "list the keys in flower_superlink_supernode_public_keys",
}
# Variables named after the Exec API (renamed Control API in Flower 1.21).
# The old name still works for one release, with a warning; setting both is
# an error. validate.yml warns, defaults/main.yml reads the old name.
DEPRECATED: dict[str, str] = {
    "flower_superlink_exec_port": "flower_superlink_control_port",
    "flower_superlink_exec_bind_address": "flower_superlink_control_bind_address",
    "flower_superlink_exec_allowed_sources": "flower_superlink_control_allowed_sources",
}


class SuperLinkChecker(ContainerChecker):
    """The rules of flower_superlink's variables, by kind."""

    role = "flower_superlink"
    renamed: ClassVar[dict[str, str]] = RENAMED
    deprecated: ClassVar[dict[str, str]] = DEPRECATED
    flag_variables: ClassVar[dict[str, str]] = FLAG_VARIABLES

    def names(self) -> None:
        super().names()
        # An old name and its new one set to different values: which one is meant?
        self.errors.extend(deprecations(self.config)["errors"])

    def paths(self) -> None:
        dirs = {
            "state_dir": self.v("state_dir"),
            "config_dir": self.v("config_dir"),
            "backup_dir": self.v("backup_dir"),
            "image_archive_dir": self.v("image_archive_dir"),
        }
        record = self.v("record_path")
        if isinstance(record, str):
            problem = path_problem(record)
            if problem:
                self.err("record_path", problem)
            elif not record.endswith(".fact"):
                self.err("record_path", "must name a .fact file (an Ansible local fact)")
            else:
                dirs["record_path"] = posixpath.dirname(record)
                if problem := path_problem(dirs["record_path"]):
                    self.err("record_path", f"has a directory that {problem}")
                    dirs.pop("record_path")
        good = {}
        for name, path in dirs.items():
            if name == "record_path":
                good[name] = path
                continue
            problem = path_problem(path)
            if problem:
                self.err(name, problem, "for example /var/lib/flower-superlink" if name == "state_dir" else "")
            else:
                good[name] = path
        names = list(good)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if nested(good[a], good[b]):
                    self.err(
                        a,
                        f"and {self.prefix}{b}={json.dumps(good[b])} must be distinct directories, "
                        "neither inside the other",
                        "the container owns the state directory; backups and configuration must stay out of its reach",
                    )
        lock = self.v("lock_path")
        if isinstance(lock, str) and (
            posixpath.dirname(lock) != "/run/lock" or not FILE_NAME_RE.match(posixpath.basename(lock))
        ):
            # The lock module creates this file as root: anywhere else it
            # could be a file of the system's, and off a tmpfs a lock would
            # outlive a reboot.
            self.err(
                "lock_path", "must name a plain file directly in /run/lock", "such as /run/lock/flower-superlink.lock"
            )
        db = self.v("database_name")
        if isinstance(db, str) and (not FILE_NAME_RE.match(db) or db.endswith(DATABASE_NAME_NOT)):
            self.err("database_name", "must be a plain file name such as state.db (no '/', no leading dot)")
        mode = self.v("state_dir_mode")
        if isinstance(mode, str) and not MODE_RE.match(mode):
            self.err("state_dir_mode", "must be an octal mode without group or world write, such as 0700 or 0750")
        from_archive = self.v("image_source") == "archive"
        if from_archive and self.as_flag("image_archive_remote_src"):
            archive = self.v("image_archive")
            if path_problem(posixpath.dirname(archive or "/x")) or not PATH_RE.match(archive or ""):
                self.err(
                    "image_archive", "must be an absolute, plain path on the host when image_archive_remote_src is true"
                )
        elif from_archive:
            archive = self.v("image_archive")
            if isinstance(archive, str) and archive and not FILE_NAME_RE.match(posixpath.basename(archive)):
                self.err("image_archive", "must end in a plain file name (letters, digits, . _ + -)")

    def release(self) -> dict[str, Any]:
        """What the role knows about the release to deploy ({} for a version it cannot read)."""
        version = self.v("version")
        return release_facts(version) if isinstance(version, str) and VERSION_RE.match(version) else {}

    def network(self) -> None:
        facts = self.release()
        proxied = proxied_apis(facts)
        ports = {}
        for name in (
            ("fleet_port", "control_port")
            + (("serverappio_port",) if self.as_flag("serverappio_publish") else ())
            + (("proxy_backend_port",) if proxied else ())
        ):
            port = self.int_in(name, 1, 65535)
            if port is not None:
                ports[name] = port
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                self.err(name, f"and {self.prefix}{seen[port]} must be distinct ports in 1-65535")
            seen[port] = name
        for name in ("fleet_bind_address", "control_bind_address", "serverappio_bind_address"):
            if not is_ip(self.v(name)):
                self.err(name, "must be an IP address", "such as 10.0.0.5, 127.0.0.1 or 0.0.0.0; not a name")
        for api in ("fleet", "control"):
            name, sources = f"{api}_allowed_sources", self.v(f"{api}_allowed_sources")
            if not isinstance(sources, list):
                continue
            if api in proxied:
                # The proxy filters by source itself, for IPv4 and IPv6 alike.
                bad = [s for s in sources if not is_network(s)]
                if bad:
                    self.err(name, f"holds {json.dumps(bad)}, which are not IP networks", "such as 10.0.0.0/8")
                continue
            bad = [s for s in sources if not is_network(s) or ipaddress.ip_network(s, strict=False).version != 4]
            if bad:
                self.err(
                    name,
                    f"holds {json.dumps(bad)}, which are not IPv4 networks (the DOCKER-USER rules are iptables, "
                    "IPv4 only)",
                    "such as 10.0.0.0/8 or 192.0.2.7",
                )
            address = self.v(f"{api}_bind_address")
            if sources and is_ip(address) and ipaddress.ip_address(address).version == 6:
                # The IPv4 rules would never see this traffic: refused, not silently open.
                self.err(
                    f"{api}_bind_address",
                    f"is an IPv6 address, which {self.prefix}{name} (IPv4 iptables rules) cannot filter",
                    "publish on an IPv4 address, or leave the allow-list empty and filter elsewhere",
                )
        if facts and self.as_flag("serverappio_publish") and facts["serverappio_port"] == facts["http_port"]:
            self.err(
                "serverappio_publish",
                f"cannot be true for Flower {facts['version']}: its ServerAppIo (Runtime) API shares one HTTP "
                "port with the Control API"
                + (" and the Fleet API" if facts["fleet_port"] == facts["http_port"] else "")
                + ", so publishing it would publish them all without a filter",
                "leave it false",
            )

    def isolation(self) -> None:
        mode = self.v("isolation")
        if mode not in ISOLATION_MODES:
            self.err("isolation", "must be process or subprocess", "process: ServerApps in their own container")
            return
        facts = self.release()
        server_name = self.v("tls_server_name")
        if (
            mode == "process"
            and facts.get("executor", {}).get("tls")
            and as_bool(self.v("insecure")) is False
            and isinstance(server_name, str)
            and is_ip(server_name)
        ):
            # The executor shares the SuperLink's network namespace and dials
            # the Runtime API on loopback by this name, which the certificate
            # must hold; an address literal cannot be pointed at loopback.
            self.err(
                "tls_server_name",
                f"must be a DNS name in the certificate for process isolation on Flower {facts['version']}, "
                f"not the address {server_name}: the SuperExec verifies the SuperLink's Runtime API by that name",
                "name the SuperLink (and add DNS:<name> to its certificate), or set "
                "flower_superlink_isolation: subprocess",
            )

    def tls(self) -> None:
        insecure = as_bool(self.v("insecure"))
        server_name = self.v("tls_server_name")
        if isinstance(server_name, str) and not (HOSTNAME_RE.match(server_name) or is_ip(server_name)):
            self.err("tls_server_name", "is not a host name or IP address")
        sans = self.v("tls_san")
        if isinstance(sans, list):
            bad = [
                s
                for s in sans
                if not isinstance(s, str)
                or not ((s.startswith("DNS:") and HOSTNAME_RE.match(s[4:])) or (s.startswith("IP:") and is_ip(s[3:])))
            ]
            if bad:
                self.err("tls_san", f"holds {json.dumps(bad)}", "each item DNS:<name> or IP:<address>")
        auth = as_bool(self.v("supernode_auth"))
        if auth and insecure:
            self.err(
                "supernode_auth",
                "needs TLS (flower_superlink_insecure: false): SuperNodes cannot authenticate over an unencrypted "
                "channel (Flower 1.23+ refuse to start)",
                "turn TLS on, or set it false and accept that any SuperNode that reaches the Fleet port may join",
            )
        keys = self.v("supernode_public_keys")
        if isinstance(keys, list) and keys and auth is False and not insecure:
            self.err(
                "supernode_public_keys",
                "is given with flower_superlink_supernode_auth: false, which admits every SuperNode: the keys "
                "would not be enforced",
                "set flower_superlink_supernode_auth: true",
            )
        if isinstance(keys, list) and keys:
            bad = [(i, problem) for i, k in enumerate(keys) if (problem := ssh_key_problem(k))]
            if bad:
                self.err(
                    "supernode_public_keys",
                    f"holds {len(bad)} item(s) that are not one OpenSSH ECDSA public key each: "
                    + "; ".join(f"item {i} {problem}" for i, problem in bad),
                    '"ecdsa-sha2-nistp384 AAAA... comment", comment without spaces or commas',
                )
            if insecure:
                self.err(
                    "supernode_public_keys",
                    "needs TLS (flower_superlink_insecure: false): this role does not authenticate SuperNodes "
                    "over an unencrypted channel (Flower 1.19-1.22 do not enforce that; 1.23+ refuse to start)",
                )

    def process(self) -> None:
        for name in ("service_name", "container_name"):
            value = self.v(name)
            if isinstance(value, str) and not NAME_RE.match(value):
                self.err(name, "must be 1-23 characters of a-z, 0-9 and -, starting with a letter")
        env = self.v("env")
        if isinstance(env, dict):
            for key, value in env.items():
                if not isinstance(key, str) or not ENV_NAME_RE.match(key):
                    self.err(
                        "env", f"has the variable name {json.dumps(key)}", "letters, digits and _, not first a digit"
                    )
                elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
                    self.err("env", f"has a non-scalar value for {key}", "quote it as a string")
                elif CONTROL_RE.search(str(value)):
                    self.err("env", f"has a newline or control character in the value of {key}")
        self.flags("docker_run_extra_args", DOCKER_RUN_ALLOWED, None)
        self.flags("extra_args", None, SUPERLINK_MANAGED)
        memory = self.v("memory_limit")
        if isinstance(memory, str) and memory and not MEMORY_RE.match(memory):
            self.err("memory_limit", "is not a Docker memory size", 'such as "512m" or "4g", or "" for none')
        self.int_in("pids_limit", 0, 4194304, " (0 for no limit)")
        self.int_in("uid", 1, 2147483646, " (never 0: the container must not run as root)")
        self.int_in("gid", 1, 2147483646, " (never 0)")
        self.int_in("stop_timeout", 1, 3600, " seconds")
        # 0 would restart a crash-looping SuperLink with no pause at all: a
        # core busy with its imports, for as long as nobody notices.
        self.int_in("restart_sec", 1, 3600, " seconds")
        self.int_in("health_retries", 1, 1000)
        self.int_in("health_delay", 0, 3600, " seconds")
        self.int_in("health_settle_seconds", 0, 600, " seconds")
        self.int_in("lock_wait", 0, 86400, " seconds")

    def monitoring(self) -> None:
        # Never inside what the container or the backups own.
        self.metrics_rules(apart_from=("state_dir", "config_dir", "backup_dir"))

    def controller_dirs(self) -> None:
        """The directories the role writes on the controller, when it writes them."""
        for name, used in (
            ("tls_generate_dir", "tls_generate"),
            ("backup_fetch_dir", "backup_fetch"),
            ("flwr_dir", "flwr_dir"),
        ):
            path = self.v(name)
            if not (self.v(used) if used == name else self.as_flag(used)):
                continue
            if isinstance(path, str) and CONTROL_RE.search(path):
                self.err(name, "contains a newline or control character")
                continue
            if not isinstance(path, str) or not path.startswith("/"):
                self.err(name, "must be an absolute path on the controller")
            elif "/ansible_collections/" in path + "/":
                # ansible-galaxy replaces an installed collection's directory
                # on every install or upgrade: a CA key kept there is lost.
                self.err(
                    name,
                    "is inside an installed Ansible collection, which the next `ansible-galaxy collection install` "
                    "replaces",
                    "keep it in your own project, for example beside your inventory",
                )

    def backups(self) -> None:
        self.int_in("backup_keep", 1, 100000, " (the newest backup is always kept)")
        rollback = self.v("rollback_backup")
        if isinstance(rollback, str) and rollback:
            backup_dir = self.v("backup_dir")
            if posixpath.dirname(rollback) != backup_dir or not BACKUP_NAME_RE.match(posixpath.basename(rollback)):
                self.err(
                    "rollback_backup",
                    f"must name a .db file directly in flower_superlink_backup_dir ({backup_dir})",
                    f"such as {backup_dir}/state-20260101T000000.000000Z-manual.db",
                )


def config_errors(config: dict[str, Any]) -> list[str]:
    """Every problem with the role's variables, as messages; [] when valid."""
    checker = SuperLinkChecker(config)
    if checker.names_and_types_are_right():
        checker.paths()
        checker.image()
        checker.network()
        checker.tls()
        checker.isolation()
        checker.process()
        checker.backups()
        checker.monitoring()
        checker.controller_dirs()
    return checker.errors


def tls_dir_left_behind(tls_dir: str, legacy_dir: str) -> str:
    """Why generating TLS material in ``tls_dir`` would replace a staging CA
    that only ``legacy_dir`` holds; "" when it would not.

    Before the role was a collection its generated CA lived beside the
    playbooks (<repository>/.tls); it now lives beside the inventory. A new CA
    would make every SuperNode and flwr client that trusts the old one refuse
    the SuperLink, so the old one is moved by the operator, never replaced."""
    new, old = posixpath.normpath(tls_dir), posixpath.normpath(legacy_dir)
    if new == old or os.path.lexists(f"{new}/ca.crt") or not os.path.lexists(f"{old}/ca.crt"):
        return ""
    return (
        f"the staging CA is in {old} (where releases before 0.27 kept it), not in "
        f"flower_superlink_tls_generate_dir={new}; a new CA would make every SuperNode and flwr client "
        f"refuse this SuperLink. Move it (mv {old} {new}) or set flower_superlink_tls_generate_dir: {old}"
    )


def deprecations(config: dict[str, Any]) -> dict[str, list[str]]:
    """Old variable names in use: warnings, and errors when the new name disagrees."""
    warnings, errors = [], []
    for old, new in DEPRECATED.items():
        if old not in config:
            continue
        if new in config and str(config[new]) != str(config[old]):
            errors.append(
                f"{old}={json.dumps(config[old])} and {new}={json.dumps(config[new])} are both set: "
                f"{old} is the old name of {new}; keep only {new}"
            )
        else:
            warnings.append(f"{old} is deprecated (the Exec API is the Control API since Flower 1.21): rename it {new}")
    return {"warnings": warnings, "errors": errors}
