"""Validation rules for flower_superlink's input, run on the controller.

Everything an operator can type (inventory, vault, ``-e`` strings) and
everything read back from a host (the deployment record, a backup's
manifest) passes through here before it reaches a host, a unit file or a
``docker`` argument. Types come from ``meta/argument_specs.yml`` (one place);
the rules below add what a type cannot say: patterns anchored at the true end
of the string (``\\Z``, never ``$``, which also matches before a trailing
newline), ranges, paths that must not touch the rest of the system, names that
must not collide with other units or containers.

Each error names the variable, shows its value (secrets hidden) and says
what to do. The filters return lists of errors; the tasks fail on them.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import ipaddress
import json
import os
import posixpath
import re
from pathlib import Path
from typing import Any

import yaml

# roles/flower_superlink of this collection: its argument specs and release table.
ROLE = Path(__file__).resolve().parents[2] / "roles" / "flower_superlink"
PREFIX = "flower_superlink_"

# Values of booleans accepted from YAML, vault or the command line. Anything
# else (a typo such as "flase", an empty string) is refused, never coerced.
BOOL_STRINGS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}

# Variables renamed since an earlier release: old name -> new name. The old
# name is refused with the new one in the message (as MASH roles do).
RENAMED: dict[str, str] = {
    "flower_superlink_forbidden_state_dirs": "(removed: the forbidden paths are built into the role)",
}

# Host directories no role directory may be, or be inside: they belong to the
# system, to Docker, to packages or to users. The role creates, chowns and
# chmods its directories, so one of these would change the host.
FORBIDDEN_TREES = [
    "/bin",
    "/boot",
    "/dev",
    "/etc/apt",
    "/etc/cron.d",
    "/etc/default",
    "/etc/docker",
    "/etc/pam.d",
    "/etc/security",
    "/etc/ssh",
    "/etc/ssl",
    "/etc/sudoers.d",
    "/etc/systemd",
    "/home",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/lost+found",
    "/media",
    "/mnt",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/snap",
    "/sys",
    "/tmp",
    "/usr",
    "/var/cache/apt",
    "/var/lib/apt",
    "/var/lib/containerd",
    "/var/lib/docker",
    "/var/lib/dpkg",
    "/var/lib/systemd",
    "/var/lock",
    "/var/log",
    "/var/mail",
    "/var/run",
    "/var/spool",
    "/var/tmp",
]
# Shared parents: a role directory may live inside them, never be one.
FORBIDDEN_EXACT = ["/", "/etc", "/etc/ansible", "/opt", "/srv", "/var", "/var/backups", "/var/cache", "/var/lib"]
FORBIDDEN_EXACT += ["/var/local", "/var/opt", "/usr/local"]

# A host path: absolute, only these characters per component. No whitespace,
# quotes, %, $, :, commas or control characters: the path reaches a unit file
# and a `docker --volume SRC:DST` argument.
PATH_RE = re.compile(r"(/[A-Za-z0-9_.@+-]+)+\Z")
FILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}\Z")
# systemd unit and Docker container names the role may take.
NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,22}\Z")
VERSION_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+([.-]?[A-Za-z0-9.]+)?\Z")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
REPOSITORY_RE = re.compile(r"([a-z0-9.-]+(:[0-9]{1,5})?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*\Z")
DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}\Z")
IMAGE_ID_RE = DIGEST_RE
REGISTRY_RE = re.compile(r"([a-z][a-z0-9+.-]*://)?[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._/-]*)?\Z")
HOSTNAME_RE = re.compile(
    r"(?=.{1,253}\Z)([A-Za-z0-9*]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
MODE_RE = re.compile(r"0?[0-7][0-5][0-5]\Z")
MEMORY_RE = re.compile(r"[1-9][0-9]{0,14}[bkmgBKMG]?\Z")
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
_PUBKEY = r"ecdsa-sha2-nistp(256|384|521) [A-Za-z0-9+/]+={0,2}"
PUBKEY_RE = re.compile(_PUBKEY + r"( [A-Za-z0-9_.@+:=-]{1,128})?\Z")
# What flower_supernode publishes: the key as ssh-keygen writes it, no comment.
PUBLISHED_KEY_RE = re.compile(_PUBKEY + r"\Z")
ARG_RE = re.compile(r"--[a-z][a-z0-9-]*(=[^\x00-\x1f\x7f]*)?\Z")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

# Extra `docker run` options that cannot undo the role's isolation. Anything
# else (--privileged, --cap-add, --volume, --user, --network host, ...) would.
DOCKER_RUN_ALLOWED = {
    "--add-host",
    "--cpu-shares",
    "--cpus",
    "--dns",
    "--dns-option",
    "--dns-search",
    "--label",
    "--log-driver",
    "--log-opt",
    "--memory-reservation",
    "--memory-swap",
    "--shm-size",
    "--stop-signal",
    "--ulimit",
}
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
ISOLATION_MODES = ("process", "subprocess")
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
BACKUP_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,200}\.db\Z")
SECRET = "<hidden>"


def _spec(role: Path = ROLE) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    options: dict[str, dict[str, Any]] = {}
    for entry in data["argument_specs"].values():
        options.update(entry.get("options") or {})
    return options


def show(name: str, value: Any, spec: dict[str, dict[str, Any]]) -> str:
    """``name=<value as JSON>``, or hidden for secrets."""
    if spec.get(name, {}).get("no_log"):
        return f"{name}={SECRET}"
    try:
        return f"{name}={json.dumps(value)}"
    except (TypeError, ValueError):
        return f"{name}={value!r}"


def as_bool(value: Any) -> bool | None:
    """The boolean a value means, or None when it means none."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return BOOL_STRINGS.get(value.strip().lower()) if value == value.strip() else None
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value):
        return int(value)
    return None


def is_ip(value: Any) -> bool:
    if not isinstance(value, str) or value != value.strip():
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_network(value: Any) -> bool:
    if not isinstance(value, str) or CONTROL_RE.search(value) or " " in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def path_problem(path: Any) -> str:
    """Why a host directory is unfit for the role, or ''."""
    if not isinstance(path, str) or not path:
        return "must be an absolute path"
    if not path.startswith("/"):
        return "must be an absolute path"
    if posixpath.normpath(path) != path or "/./" in path + "/" or "/../" in path + "/":
        return f"must be normalised (no '.', '..', '//' or trailing '/'; did you mean {posixpath.normpath(path)}?)"
    if not PATH_RE.match(path):
        return "may only contain letters, digits and . _ @ + - between slashes (no spaces, quotes, %, $, :)"
    if path in FORBIDDEN_EXACT:
        return "is a shared system directory; give the role a directory of its own inside it"
    for tree in FORBIDDEN_TREES:
        if path == tree or path.startswith(tree + "/"):
            return f"is inside {tree}, which belongs to the system or another program"
    return ""


def managed_prefix(flag: str, managed: set[str]) -> str:
    """The managed flag argparse would take FLAG for, or ''.

    argparse (allow_abbrev, the default, which every Flower release keeps)
    reads any prefix of a long option as that option, so ``--datab=x`` sets
    ``--database``. A prefix of several flags is ambiguous to argparse too
    (Flower then refuses to start), but it may become unambiguous in the next
    release: refused as well, naming the first."""
    hits = sorted(m for m in managed if m.startswith(flag) and len(flag) > 2)
    return hits[0] if hits else ""


def nested(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


class Checker:
    """The rules shared by this role's and the flower_offsite_backup role's validation."""

    prefix = PREFIX
    readme = "roles/flower_superlink/README.md"

    def __init__(self, config: dict[str, Any], spec: dict[str, dict[str, Any]] | None = None) -> None:
        self.config = config
        self.spec = spec if spec is not None else _spec()
        self.errors: list[str] = []

    def v(self, name: str) -> Any:
        return self.config.get(self.prefix + name)

    def err(self, name: str, problem: str, fix: str = "") -> None:
        full = self.prefix + name
        msg = f"{show(full, self.config.get(full), self.spec)} {problem}"
        self.errors.append(msg + (f" ({fix})" if fix else ""))

    # --- per kind ------------------------------------------------------

    def names(self) -> None:
        for name in sorted(self.config):
            if name in DEPRECATED:
                continue
            if name in RENAMED:
                self.errors.append(f"{name} is no longer used: {RENAMED[name]}. Remove or rename it.")
            elif name not in self.spec:
                close = difflib.get_close_matches(name, list(self.spec), n=1)
                hint = f"did you mean {close[0]}?" if close else f"see {self.readme}"
                self.errors.append(f"{name} is not a variable of this role ({hint}); a typo would be silently ignored.")

    def types(self) -> None:
        for full, spec in self.spec.items():
            if full not in self.config:
                continue
            name, value, kind = full[len(self.prefix) :], self.config[full], spec.get("type", "str")
            if kind == "bool" and as_bool(value) is None:
                self.err(name, "is not a boolean", "use true/false, yes/no, on/off or 1/0")
            elif kind == "int" and as_int(value) is None:
                self.err(name, "is not a whole number")
            elif kind in ("str", "path") and not isinstance(value, str):
                self.err(name, "must be a string")
            elif kind == "list" and not isinstance(value, list):
                self.err(name, "must be a list", "in YAML, or with -e '{\"name\": [...]}' as JSON")
            elif kind == "dict" and not isinstance(value, dict):
                self.err(name, "must be a mapping")
            elif kind == "list" and spec.get("elements") == "str" and not all(isinstance(i, str) for i in value):
                self.err(name, "must be a list of strings")
            elif isinstance(value, str) and CONTROL_RE.search(value) and not full.endswith("_content"):
                # PEM content has newlines; nothing else may (a trailing newline included).
                self.err(name, "contains a newline or control character")

    def int_in(self, name: str, low: int, high: int, what: str = "") -> int | None:
        value = as_int(self.v(name))
        if value is None:
            return None
        if not low <= value <= high:
            self.err(name, f"must be between {low} and {high}{what}")
            return None
        return value

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
        db = self.v("database_name")
        if isinstance(db, str) and (not FILE_NAME_RE.match(db) or db.endswith((".json", "-journal", "-wal", "-shm"))):
            self.err("database_name", "must be a plain file name such as state.db (no '/', no leading dot)")
        mode = self.v("state_dir_mode")
        if isinstance(mode, str) and not MODE_RE.match(mode):
            self.err("state_dir_mode", "must be an octal mode without group or world write, such as 0700 or 0750")
        if self.as_flag("image_source_archive") and self.as_flag("image_archive_remote_src"):
            archive = self.v("image_archive")
            if path_problem(posixpath.dirname(archive or "/x")) or not PATH_RE.match(archive or ""):
                self.err(
                    "image_archive", "must be an absolute, plain path on the host when image_archive_remote_src is true"
                )
        elif self.as_flag("image_source_archive"):
            archive = self.v("image_archive")
            if isinstance(archive, str) and archive and not FILE_NAME_RE.match(posixpath.basename(archive)):
                self.err("image_archive", "must end in a plain file name (letters, digits, . _ + -)")

    def flags(self, name: str, allowed: set[str] | None, managed: set[str] | None) -> None:
        """Extra flags for `docker run` (only ``allowed`` ones) or for Flower (none of ``managed``)."""
        args = self.v(name)
        if not isinstance(args, list):
            return
        for arg in args:
            if not isinstance(arg, str) or not ARG_RE.match(arg):
                self.err(name, f"has {json.dumps(arg)}", "each item one --flag or --flag=value, no spaces around =")
                continue
            flag = arg.split("=", 1)[0]
            if managed is not None and flag not in managed and (taken := managed_prefix(flag, managed)):
                # Flower's parsers are argparse's: an unambiguous prefix is the flag.
                self.err(
                    name,
                    f"has {flag}, which Flower reads as {taken}, a flag the role sets itself",
                    FLAG_VARIABLES.get(taken, "use the role's variable for it"),
                )
                continue
            if allowed is not None and flag not in allowed:
                self.err(
                    name,
                    f"has {flag}, which could undo the container's isolation",
                    f"allowed: {', '.join(sorted(allowed))}",
                )
            if managed is not None and flag in managed:
                self.err(
                    name,
                    f"has {flag}, which the role sets itself",
                    FLAG_VARIABLES.get(flag, "use the role's variable for it"),
                )

    def as_flag(self, name: str) -> bool:
        if name == "image_source_archive":
            return self.v("image_source") == "archive"
        return bool(as_bool(self.v(name)))

    def image(self) -> None:
        checks = [
            ("version", VERSION_RE, "want X.Y.Z, such as 1.19.0"),
            ("image_tag", TAG_RE, "a Docker tag: letters, digits, _ . -, at most 128"),
            ("image_repository", REPOSITORY_RE, "such as flwr/superlink or registry.example.org:5000/flwr/superlink"),
        ]
        for name, regex, fix in checks:
            value = self.v(name)
            if isinstance(value, str) and not regex.match(value):
                self.err(name, "is not valid", fix)
        version = self.v("version")
        if isinstance(version, str) and VERSION_RE.match(version) and not self.as_flag("allow_untested_version"):
            table = releases()
            if not table["oldest"] <= Version(version) <= table["newest"]:
                self.err(
                    "version",
                    f"is outside the releases this role knows ({table['oldest']} to {table['newest']}; "
                    f"tested: {', '.join(table['tested'])})",
                    f"pick one of those, or set {self.prefix}allow_untested_version=true to try it "
                    "(the health gate still decides, and a failed upgrade is rolled back)",
                )
        digest = self.v("image_digest")
        if isinstance(digest, str) and digest and not DIGEST_RE.match(digest):
            self.err("image_digest", "must be empty or sha256:<64 lowercase hex digits>")
        if self.v("image_source") not in ("pull", "archive"):
            self.err("image_source", "must be pull or archive")
        if self.v("image_source") == "archive":
            if not self.v("image_archive"):
                self.err("image_archive", f"is required with {self.prefix}image_source=archive (a `docker save` file)")
            if digest:
                self.err("image_digest", "cannot be combined with the archive source (loaded images carry no digest)")
        url = self.v("registry_url")
        if isinstance(url, str) and url and not REGISTRY_RE.match(url):
            self.err("registry_url", "is not a registry address", "such as registry.example.org:5000")
        user = self.v("registry_username")
        if isinstance(user, str) and (CONTROL_RE.search(user) or " " in user):
            self.err("registry_username", "may not contain spaces or control characters")

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

    def controller_dirs(self) -> None:
        """The directories the role writes on the controller, when it writes them."""
        for name, used in (("tls_generate_dir", "tls_generate"), ("backup_fetch_dir", "backup_fetch")):
            path = self.v(name)
            if not self.as_flag(used):
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


class Version(tuple):  # type: ignore[type-arg]
    """X.Y.Z as a comparable tuple; anything after the third number is ignored."""

    def __new__(cls, text: str) -> Version:
        return super().__new__(cls, (int(p) for p in re.findall(r"[0-9]+", str(text))[:3]))

    def __str__(self) -> str:
        return ".".join(str(p) for p in self)


_RELEASES: dict[str, Any] = {}


def releases() -> dict[str, Any]:
    """vars/flower_releases.yml, with versions parsed."""
    if not _RELEASES:
        data = yaml.safe_load((ROLE / "vars" / "flower_releases.yml").read_text())
        _RELEASES.update(
            tested=data["_flower_superlink_tested_releases"],
            oldest=Version(data["_flower_superlink_oldest_release"]),
            newest=Version(data["_flower_superlink_newest_release"]),
            rows=sorted(data["_flower_superlink_releases"], key=lambda row: Version(row["since"])),
        )
    return _RELEASES


def release_facts(version: str) -> dict[str, Any]:
    """Everything the role knows about one Flower release (rows merged in order)."""
    facts: dict[str, Any] = {}
    wanted = Version(version)
    for row in releases()["rows"]:
        if Version(row["since"]) <= wanted:
            facts.update(row)
    facts["version"] = str(version)
    facts["tested"] = str(version) in releases()["tested"]
    return facts


def upgrade_step(old_version: str, new_version: str) -> dict[str, Any]:
    """What moving a database written by ``old_version`` to ``new_version`` means.

    kind: none (same release), same-schema, migrates (the new release upgrades
    it at start), cliff (the new release cannot use it: fresh state or stay),
    downgrade (an older release cannot open what a newer one wrote).
    """
    old, new = release_facts(old_version), release_facts(new_version)
    if Version(old_version) == Version(new_version):
        kind = "none"
    elif Version(new_version) > Version(old_version):
        if old["schema"] == new["schema"]:
            kind = "same-schema"
        elif old["schema"] in new["opens_schemas"]:
            kind = "migrates"
        else:
            kind = "cliff"
    else:
        kind = "same-schema" if old["schema"] == new["schema"] and old["older_can_reopen"] else "downgrade"
    return {"kind": kind, "from": old, "to": new}


def proxied_apis(facts: dict[str, Any]) -> list[str]:
    """The public APIs a release serves from its one HTTP port together with
    others (so only a route-filtering proxy can publish them alone), in the
    order fleet, control; [] when each has a port of its own."""
    port = facts.get("http_port")
    if not port:
        return []
    return [api for api in ("fleet", "control") if facts.get(f"{api}_port") == port]


# How an executor container runs the release's entry point: as a console
# script, but leaving at once when the main thread dies of an exception
# (flwr-serverapp 1.19-1.20 that fails to pull a run raises, then hangs on its
# own threads, alive and doing nothing), so that systemd starts it again.
EXECUTOR_LAUNCHER = (
    "import os,sys,threading,traceback,importlib.metadata as m;"
    "die=lambda t,v,b:(traceback.print_exception(t,v,b),sys.stderr.flush(),os._exit(1));"
    "sys.excepthook=die;{threads}"
    "sys.argv=sys.argv[1:];[f]=m.entry_points(group='console_scripts',name=sys.argv[0]);"
    "r=f.load()();sys.stdout.flush();os._exit(r if isinstance(r,int) else 0)"
)
# Where the app runs inside the executor's own process (flwr-serverapp and
# flwr-clientapp up to 1.20), a thread that dies means the run is dead: a
# stopped run's heartbeat thread raises while the app waits for nodes
# forever, and no later run would start. Leave, and let systemd start anew.
THREADS_FATAL = "threading.excepthook=lambda a:die(a.exc_type,a.exc_value,a.exc_traceback);"


# Waits (up to 45 s) until something listens on a port on loopback: run in
# the SuperLink's (SuperNode's) container before its executor starts, since
# an executor that cannot connect at start may crash.
WAIT_FOR_PORT = (
    "import socket,sys,time;p=int(sys.argv[1]);t=time.time()+45;"
    "up=lambda:socket.socket().connect_ex(('127.0.0.1',p))==0;"
    "[time.sleep(0.5) for _ in iter(lambda:up() or time.time()>t,True)];"
    "sys.exit(0 if up() else 'nothing listens on port %d' % p)"
)


def executor_container_argv(argv: list[str], facts: dict[str, Any]) -> list[str]:
    """An executor's command line as the container runs it: python -c LAUNCHER ARGV."""
    threads = THREADS_FATAL if facts["executor"]["app_in_process"] else ""
    return ["python", "-c", EXECUTOR_LAUNCHER.format(threads=threads), *argv]


def wait_for_port_argv(port: Any) -> list[str]:
    return ["python", "-c", WAIT_FOR_PORT, str(int(port))]


def executor_argv(facts: dict[str, Any], app: str, tls: bool, server_name: str, ca_file: str) -> list[str]:
    """The command line (entry point first) of the process that runs a
    release's apps in their own container (--isolation process): APP is
    serverapp (beside a SuperLink) or clientapp (beside a SuperNode).

    It shares the SuperLink's (SuperNode's) network namespace, so it dials
    the API it pulls tasks from on loopback: as 127.0.0.1 where that API is
    plaintext; by SERVER_NAME, which the SuperLink's /etc/hosts points at
    loopback, where the SuperLink's Runtime API follows its TLS (1.37+) and
    the certificate must match."""
    if app not in ("serverapp", "clientapp"):
        raise ValueError(f"app must be serverapp or clientapp, not {app!r}")
    executor = facts["executor"]
    argv = [executor["command"].format(app=app)]
    if executor["plugin_type"]:
        argv += ["--plugin-type", app]
    verified = bool(app == "serverapp" and executor["tls"] and tls)
    argv += ["--root-certificates", ca_file] if verified else ["--insecure"]
    host = server_name if verified else "127.0.0.1"
    port = facts["serverappio_port"] if app == "serverapp" else facts["clientappio_port"]
    argv += [executor["address_flag"].format(app=app), f"{host}:{int(port)}"]
    return argv


def config_errors(config: dict[str, Any]) -> list[str]:
    """Every problem with the role's variables, as messages; [] when valid."""
    checker = Checker({k: v for k, v in config.items() if k.startswith(PREFIX)})
    checker.names()
    checker.errors.extend(deprecations(checker.config)["errors"])
    checker.types()
    if checker.errors:
        # Rules below assume the types are right.
        return checker.errors
    for part in (
        checker.paths,
        checker.image,
        checker.network,
        checker.tls,
        checker.isolation,
        checker.process,
        checker.backups,
        checker.controller_dirs,
    ):
        part()
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


def deployment_errors(entry: Any, what: str, backup_dir: str = "") -> list[str]:
    """Problems with a deployment read back from the host (record or manifest).

    These values reach the unit file (image reference, version) and file
    operations (backup path), so they are checked like inventory values.
    """
    if not isinstance(entry, dict):
        return [f"{what} is not a JSON object"]
    errors = []
    ref = entry.get("image_ref", "")
    repo, _, rest = str(ref).partition("@") if "@" in str(ref) else str(ref).rpartition(":")
    if "@" in str(ref):
        ok = REPOSITORY_RE.match(repo) and DIGEST_RE.match(rest)
    else:
        ok = bool(repo) and REPOSITORY_RE.match(repo) and TAG_RE.match(rest)
    if not ok:
        errors.append(f"{what}: image_ref={json.dumps(ref)} is not an image reference")
    if not IMAGE_ID_RE.match(str(entry.get("image_id", ""))):
        errors.append(f"{what}: image_id={json.dumps(entry.get('image_id'))} is not sha256:<64 hex>")
    if not VERSION_RE.match(str(entry.get("version", entry.get("flwr_version", "")))):
        errors.append(f"{what}: version={json.dumps(entry.get('version', entry.get('flwr_version')))} is not X.Y.Z")
    backup = entry.get("backup", "")
    if backup and (
        not isinstance(backup, str)
        or (backup_dir and posixpath.dirname(backup) != backup_dir)
        or not BACKUP_NAME_RE.match(posixpath.basename(backup))
    ):
        errors.append(f"{what}: backup={json.dumps(backup)} is not a backup file in {backup_dir}")
    return errors


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


def to_bool(value: Any) -> bool:
    """A validated boolean value as a real boolean (no deprecated coercion)."""
    result = as_bool(value)
    if result is None:
        raise ValueError(f"not a boolean: {value!r}")
    return result


def docker_publish(address: str, host_port: Any, container_port: Any) -> str:
    """A --publish value; IPv6 addresses in brackets."""
    ip = ipaddress.ip_address(address)
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"{host}:{int(host_port)}:{int(container_port)}"


def is_wildcard(address: str) -> bool:
    return ipaddress.ip_address(address).is_unspecified


def tls_names(names: list[Any], addresses: list[Any], extra: list[str]) -> list[str]:
    """Subject alternative names for a generated server certificate: every
    name and address a client of this host may dial (an address as IP:, a name
    as DNS:; link-local addresses are not dialable without a zone, so left
    out), then the operator's extras; without repeats. The host's addresses
    are sorted: the order they are reported in changes between boots, and a
    reordered list would make a new certificate (and a restart) each time."""
    sans: list[str] = []
    ordered = sorted(
        (a for a in addresses if is_ip(a)), key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a))
    )
    for value in [*names, *ordered]:
        if not isinstance(value, str) or not value:
            continue
        if is_ip(value):
            ip = ipaddress.ip_address(value)
            if ip.is_link_local:
                continue
            sans.append(f"IP:{ip}")
        elif HOSTNAME_RE.match(value):
            sans.append(f"DNS:{value.lower()}")
    sans.extend(extra)
    return list(dict.fromkeys(sans))


def in_place(
    probe: Any,
    path: str,
    kind: str = "file",
    owner: Any = None,
    group: Any = None,
    mode: Any = None,
    content: Any = None,
) -> bool:
    """Whether PATH, as flower_superlink_lock read it (PROBE is its ``paths``),
    already is what a file/copy task would make it: the type (KIND file,
    directory, or absent: nothing to do when it does not exist), the owner and
    group (a name or a number), the mode and, for a file, the content (its
    SHA-1, as Ansible's own checksum). Anything unknown counts as "not in
    place", so the task runs: an unread path, a probe that did not run."""
    entry = (probe or {}).get(path) if isinstance(probe, dict) else None
    if kind == "absent":  # nothing to do for a path that does not exist
        return not entry or not entry.get("exists")
    if not entry or not entry.get("exists") or entry.get("type") != kind:
        return False
    for want, number, name in ((owner, "uid", "owner"), (group, "gid", "group")):
        if want is not None and str(want) not in (str(entry.get(number)), entry.get(name)):
            return False
    try:
        if mode is not None and int(str(mode), 8) != int(str(entry.get("mode", "-1")), 8):
            return False
    except ValueError:  # not an octal string: let the task decide (and say so)
        return False
    if content is not None:
        data = content.encode() if isinstance(content, str) else bytes(content)
        if hashlib.sha1(data).hexdigest() != entry.get("sha1"):
            return False
    return True


def out_of_place(probe: Any, specs: list[dict[str, Any]]) -> list[str]:
    """The paths of SPECS (dicts of in_place's arguments: path, kind, owner,
    group, mode, content) that are not what their task would make them."""
    return [
        spec["path"]
        for spec in specs
        if not in_place(
            probe,
            spec["path"],
            spec.get("kind", "file"),
            spec.get("owner"),
            spec.get("group"),
            spec.get("mode"),
            spec.get("content"),
        )
    ]


# NIST curves as OpenSSH names them: field prime p and coefficient b of
# y^2 = x^3 - 3x + b (mod p), and the coordinate size in bytes.
CURVES = {
    "nistp256": (
        2**256 - 2**224 + 2**192 + 2**96 - 1,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        32,
    ),
    "nistp384": (
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
        48,
    ),
    "nistp521": (
        2**521 - 1,
        0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
        66,
    ),
}


def ssh_key_problem(key: Any) -> str:
    """Why KEY is not one OpenSSH ECDSA public key Flower can load, or ''.

    The pattern alone lets through blobs that are not keys, and Flower
    1.19-1.22 then exit at start on the key list. This reads the blob as
    OpenSSH writes it (RFC 5656): the algorithm name, the curve name matching
    it, and an uncompressed point that lies on that curve."""
    if not isinstance(key, str) or not PUBKEY_RE.match(key):
        return "is not one OpenSSH ECDSA public key (ecdsa-sha2-nistp256/384/521 AAAA..., an optional comment)"
    algorithm, blob = key.split(" ")[:2]
    try:
        data = base64.b64decode(blob, validate=True)
    except ValueError:
        return "is not valid base64"
    fields, pos = [], 0
    while pos < len(data) and len(fields) < 4:
        if pos + 4 > len(data):
            return "is truncated"
        size = int.from_bytes(data[pos : pos + 4], "big")
        fields.append(data[pos + 4 : pos + 4 + size])
        if len(fields[-1]) != size:
            return "is truncated"
        pos += 4 + size
    if len(fields) != 3 or pos != len(data):
        return "does not hold exactly an algorithm, a curve and a point"
    name, curve, point = fields
    if name.decode("ascii", "replace") != algorithm:
        return f"says {algorithm} outside and {name.decode('ascii', 'replace')!r} inside"
    if curve.decode("ascii", "replace") != algorithm.rsplit("-", 1)[1]:
        return f"names the curve {curve.decode('ascii', 'replace')!r} for {algorithm}"
    p, b, size = CURVES[algorithm.rsplit("-", 1)[1]]
    if len(point) != 1 + 2 * size or point[0] != 4:
        return "does not hold an uncompressed curve point of the right size"
    x, y = int.from_bytes(point[1 : 1 + size], "big"), int.from_bytes(point[1 + size :], "big")
    if x >= p or y >= p or (y * y - (x * x * x - 3 * x + b)) % p:
        return "holds a point that is not on its curve"
    return ""


def key_blob(key: str) -> str:
    """The part of an OpenSSH public key that is the key (not the comment)."""
    return key.split(" ")[1] if isinstance(key, str) and " " in key else str(key)


UNHELD_KEY_SEED = b"flower-iac: a SuperNode public key whose private key nobody holds"


def unheld_key() -> str:
    """A valid P-256 public key whose private key nobody knows.

    Flower 1.19-1.22 exit at start on an empty key list, and dropping the list
    would admit every SuperNode; this key keeps the list non-empty and admits
    no one. The point is hashed from a fixed seed (the first x that lies on
    the curve, even y), so no private key was ever generated for it: finding
    one means solving a discrete logarithm on P-256."""
    p, b, size = CURVES["nistp256"]
    counter = 0
    while True:
        x = int.from_bytes(hashlib.sha256(UNHELD_KEY_SEED + counter.to_bytes(4, "big")).digest(), "big") % p
        rhs = (x * x * x - 3 * x + b) % p
        y = pow(rhs, (p + 1) // 4, p)  # a square root, as p = 3 (mod 4)
        if y * y % p == rhs:
            break
        counter += 1
    y = y if y % 2 == 0 else p - y
    point = b"\x04" + x.to_bytes(size, "big") + y.to_bytes(size, "big")
    blob = b"".join(len(f).to_bytes(4, "big") + f for f in (b"ecdsa-sha2-nistp256", b"nistp256", point))
    return "ecdsa-sha2-nistp256 " + base64.b64encode(blob).decode("ascii") + " flower-iac-admits-no-supernode"


def key_list_content(keys: Any) -> str:
    """The key list file Flower 1.19-1.22 read (--auth-list-public-keys): one
    key per line, or the key nobody holds when no SuperNode may join."""
    return "\n".join(list(keys) or [unheld_key()]) + "\n"


def nodes_to_read(nodes: Any, superlink: str, default_superlink: str = "") -> list[str]:
    """The SuperNodes of NODES (hostvars) whose published keys SUPERLINK must
    read from their hosts: those the inventory assigns to it that did not
    publish in this run already. A node assigned to another SuperLink is
    never visited (its host being down cannot stop this one)."""
    return [
        node.get("inventory_hostname", "?")
        for node in nodes
        if (node.get("flower_supernode_superlink_host") or default_superlink) == superlink
        and "_flower_supernode_published" not in node
    ]


def published_keys(
    nodes: Any, superlink: str, default_superlink: str = "", unreachable: Any = None, seen: Any = None
) -> dict[str, Any]:
    """The public keys the SuperNodes NODES (their hostvars, in inventory
    order, which the allow-list keeps) published for SUPERLINK, and what is
    wrong with them.

    A node counts for the SuperLink the inventory assigns it to
    (flower_supernode_superlink_host, by default DEFAULT_SUPERLINK, the first
    of the superlink group), never for one its own published fact names. A
    node that deploy.yml's first play prepared in this run carries what it
    published as _flower_supernode_published; any other node's is its local
    fact, as supernode_keys.yml read it. A node of this SuperLink whose fact
    is missing, names another SuperLink or holds no valid key is an error
    naming the node (dropping it silently would unregister its key, which
    Flower never accepts again), and so is one key on two nodes.

    A node in UNREACHABLE (its host did not answer) keeps the key SEEN says
    it published when it was last read (the SuperLink's own memory,
    supernode-keys-seen.json), so one node being down never blocks a deploy
    or the revocation of another; a node never read before is an error.
    Returns the keys, the errors, the names kept from memory, and the memory
    to write back: each counted node's key, by name."""
    keys: list[str] = []
    errors: list[str] = []
    kept: list[str] = []
    remember: dict[str, str] = {}
    owners: dict[str, str] = {}
    down = set(unreachable or [])
    if isinstance(seen, str):
        # The file as read back from the host: input like any other.
        try:
            seen = json.loads(seen) if seen.strip() else {}
        except ValueError:
            seen = {}
    seen = seen if isinstance(seen, dict) else {}
    for node in nodes:
        name = node.get("inventory_hostname", "?")
        assigned = node.get("flower_supernode_superlink_host") or default_superlink
        if assigned != superlink:
            continue
        redeploy = f"run playbooks/deploy.yml for {name}, or remove it with playbooks/decommission.yml"
        if name in down:
            key = seen.get(name)
            if not (isinstance(key, str) and PUBLISHED_KEY_RE.match(key) and not ssh_key_problem(key)):
                errors.append(
                    f"SuperNode {name} is unreachable and this SuperLink has never read its key: bring it back, "
                    f"or remove it with playbooks/decommission.yml"
                )
                continue
            fact = {"public_key": key, "superlink": superlink}
            kept.append(name)
        elif "_flower_supernode_published" in node:
            fact = node["_flower_supernode_published"]
        else:
            fact = (node.get("ansible_local") or {}).get("flower_supernode")
        if not isinstance(fact, dict):
            errors.append(f"SuperNode {name} has published no key (ansible_local.flower_supernode): {redeploy}")
            continue
        if fact.get("superlink") != superlink:
            errors.append(
                f"SuperNode {name} published its key for {json.dumps(fact.get('superlink'))}, but the inventory "
                f"assigns it to {superlink}: {redeploy}"
            )
            continue
        key = fact.get("public_key")
        problem = (
            ssh_key_problem(key)
            if isinstance(key, str) and PUBLISHED_KEY_RE.match(key)
            else ("is not an OpenSSH ECDSA public key as flower_supernode writes it")
        )
        if problem:
            errors.append(f"SuperNode {name} published a key that {problem}: {redeploy}")
            continue
        blob = key_blob(key)
        if blob in owners:
            errors.append(
                f"SuperNodes {owners[blob]} and {name} published the same key: a key must identify one node; "
                f"give {name} its own key pair (delete its keys/supernode* in the SuperNode's configuration "
                "directory and run playbooks/deploy.yml for it)"
            )
            continue
        owners[blob] = name
        keys.append(key)
        remember[name] = key
    return {"keys": keys, "errors": errors, "kept": kept, "seen": remember}


def remembered(results: Any, probe: Any) -> list[dict[str, Any]]:
    """What remember.yml read (its slurp loop's RESULTS), as the rescue puts it
    back: path, content (base64) and the owner, group and mode the lock's
    probe saw; a path the probe found absent has no content (the rescue
    removes it). A path that could not be read and was not seen absent is
    left out: the rescue never removes what it cannot put back."""
    out = []
    for result in results or []:
        path = result.get("item")
        entry = (probe or {}).get(path) or {}
        if result.get("content") is None:
            if entry.get("exists") is False:
                out.append({"path": path})
            continue
        out.append(
            {
                "path": path,
                "content": result["content"],
                "owner": entry.get("uid", 0),
                "group": entry.get("gid", 0),
                "mode": entry.get("mode", "0600"),
            }
        )
    return out
