"""The validation framework every role's controller-side checks are built on.

Everything an operator can type (inventory, vault, ``-e`` strings) and
everything read back from a host passes through a role's rules before it
reaches a host, a unit file or a ``docker`` argument. Types come from each
role's ``meta/argument_specs.yml`` (one place); the rules add what a type
cannot say: patterns anchored at the true end of the string (``\\Z``, never
``$``, which also matches before a trailing newline), ranges, paths that must
not touch the rest of the system, names that must not collide with other
units or containers.

This module holds what every role's rules share: the value rules (booleans,
numbers, addresses, host paths, names, flags as argparse reads them) and
``Checker``, which reads a role's variables by prefix against its argument
spec and collects one message per problem. Each message names the variable,
shows its value (secrets hidden) and says what to do. The filters return
lists of messages; the tasks fail on them.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import posixpath
import re
from typing import Any, ClassVar

import yaml
from ansible_collections.flower_iac.federation.plugins.plugin_utils.role_paths import role_dir

# Values of booleans accepted from YAML, vault or the command line. Anything
# else (a typo such as "flase", an empty string) is refused, never coerced.
BOOL_STRINGS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}

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
# A plain file name (a database, a lock file, an archive).
FILE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}\Z")
# systemd unit and Docker container names the role may take.
NAME_RE = re.compile(r"[a-z][a-z0-9-]{0,22}\Z")
HOSTNAME_RE = re.compile(
    r"(?=.{1,253}\Z)([A-Za-z0-9*]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
MEMORY_RE = re.compile(r"[1-9][0-9]{0,14}[bkmgBKMG]?\Z")
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\Z")
ARG_RE = re.compile(r"--[a-z][a-z0-9-]*(=[^\x00-\x1f\x7f]*)?\Z")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# A systemd unit name for OnFailure=, with the specifiers systemd fills in
# (%n the failed unit, %N, %p, %P, %i); no other % and nothing a unit file
# would read as more than one word.
UNIT_RE = re.compile(r"([A-Za-z0-9:_.\\-]|@|%[nNpPi]){1,200}\.(service|target)\Z")
SECRET = "<hidden>"


# Read once per process: the spec does not change while Ansible runs, and each
# host's validation would otherwise parse it again. Callers only read it.
@functools.cache
def argument_spec(role: str) -> dict[str, dict[str, Any]]:
    """Every option of every entry point in roles/ROLE/meta/argument_specs.yml, by name."""
    data = yaml.safe_load((role_dir(role) / "meta" / "argument_specs.yml").read_text())
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


def path_problem(path: Any, inside: tuple[str, ...] = ()) -> str:
    """Why a host directory is unfit for the role, or ''. INSIDE: trees of
    FORBIDDEN_TREES a path may be inside (never be)."""
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
        if path == tree or (path.startswith(tree + "/") and tree not in inside):
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
    """One role's variables (those named ``<role>_…``) against its argument
    spec, collecting one message per problem in ``errors``.

    A role's rules subclass it: ``role`` names the role, ``renamed`` the names
    it refuses with a hint, ``deprecated`` the old names it still reads (its
    own rules warn about them), ``flag_variables`` where an operator sets what
    a managed flag would. A role's check is then::

        checker = TheRolesChecker(variables)
        if checker.names_and_types_are_right():
            checker.a_rule()  # ... each rule of the role's
        return checker.errors
    """

    role = ""
    renamed: ClassVar[dict[str, str]] = {}
    deprecated: ClassVar[dict[str, str]] = {}
    flag_variables: ClassVar[dict[str, str]] = {}

    def __init__(self, variables: dict[str, Any]) -> None:
        """VARIABLES: all a host has; the role's own are kept."""
        self.prefix = f"{self.role}_"
        self.config = {k: v for k, v in variables.items() if k.startswith(self.prefix)}
        self.spec = argument_spec(self.role)
        self.errors: list[str] = []

    def names_and_types_are_right(self) -> bool:
        """names() then types(); whether they found nothing. A role's own rules
        assume the types are right, so they run only then."""
        self.names()
        self.types()
        return not self.errors

    def v(self, name: str) -> Any:
        return self.config.get(self.prefix + name)

    def err(self, name: str, problem: str, fix: str = "") -> None:
        full = self.prefix + name
        msg = f"{show(full, self.config.get(full), self.spec)} {problem}"
        self.errors.append(msg + (f" ({fix})" if fix else ""))

    # --- per kind ------------------------------------------------------
    def names(self) -> None:
        for name in sorted(self.config):
            if name in self.deprecated:
                continue
            if name in self.renamed:
                self.errors.append(f"{name} is no longer used: {self.renamed[name]}. Remove or rename it.")
            elif name not in self.spec:
                close = difflib.get_close_matches(name, list(self.spec), n=1)
                hint = f"did you mean {close[0]}?" if close else f"see roles/{self.role}/README.md"
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
                    self.flag_variables.get(taken, "use the role's variable for it"),
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
                    self.flag_variables.get(flag, "use the role's variable for it"),
                )

    def as_flag(self, name: str) -> bool:
        return bool(as_bool(self.v(name)))

    def metrics_rules(self, apart_from: tuple[str, ...] = (), outside: tuple[tuple[str, str], ...] = ()) -> None:
        """The metrics timer's variables (``metrics_interval``, ``on_failure``,
        ``metrics_dir``), as every role with a collector has them.

        The metrics are world-readable and written by root, so the metrics
        directory must not touch what the role protects: APART_FROM names the
        role's directory variables it must be distinct from (neither inside
        the other); OUTSIDE holds (directory, what it holds) pairs of fixed
        host directories it must stay out of."""
        self.int_in("metrics_interval", 15, 3600, " seconds")
        failure = self.v("on_failure")
        if isinstance(failure, str) and failure and not UNIT_RE.match(failure):
            self.err("on_failure", "must be a unit name such as alert@%n.service")
        metrics = self.v("metrics_dir")
        if not isinstance(metrics, str) or metrics == "":
            return
        if problem := path_problem(metrics):
            self.err("metrics_dir", problem, 'such as /var/lib/prometheus/node-exporter, or "" for no metrics')
            return
        for other in apart_from:
            theirs = self.v(other)
            if isinstance(theirs, str) and nested(metrics, theirs):
                self.err(
                    "metrics_dir",
                    f"and {self.prefix}{other}={json.dumps(theirs)} must be distinct directories, "
                    "neither inside the other",
                )
        for tree, holds in outside:
            if nested(metrics, tree):
                self.err("metrics_dir", f"must be outside {tree} ({holds})")
