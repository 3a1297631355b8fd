"""Validation of flower_offsite_backup's input, run on the controller.

The shared rules (types from meta/argument_specs.yml, booleans, paths that
must not touch the rest of the system, unknown or misspelt variable names)
are plugin_utils/validation.py's Checker; this adds what is particular to
restic repositories, schedules and the units this role writes, and the
redaction of a repository's credentials in the role's messages
(module_utils/restic_redaction.py, which the backup agent uses on the host).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ansible_collections.flower_iac.federation.plugins.module_utils.restic_redaction import redact
from ansible_collections.flower_iac.federation.plugins.plugin_utils.validation import (
    CONTROL_RE,
    ENV_NAME_RE,
    NAME_RE,
    UNIT_RE,
    Checker,
    as_bool,
    nested,
    path_problem,
)

PREFIX = "flower_offsite_backup_"
SCHEMES = ("sftp:", "rest:http://", "rest:https://", "s3:", "b2:", "azure:", "gs:", "swift:")
SFTP_SHORT_RE = re.compile(r"sftp:([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:/[^\s]*\Z")
SFTP_URL_RE = re.compile(r"sftp://([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+(:[0-9]{1,5})?/[^\s]*\Z")
CALENDAR_RE = re.compile(r"[A-Za-z0-9*:/,.~ -]{1,100}\Z")
READ_DATA_RE = re.compile(r"([0-9]{1,2}(\.[0-9]{1,3})?%|100%|[1-9][0-9]{0,3}/[1-9][0-9]{0,3})\Z")
SNAPSHOT_RE = re.compile(r"(latest|[0-9a-f]{8,64})\Z")
HOST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}\Z")
KNOWN_HOSTS_RE = re.compile(r"[^\s#]+ (ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}\Z")
# Set by the role itself: an operator value would redirect or unlock the repository.
RESERVED_ENV = {"RESTIC_REPOSITORY", "RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND"}
RESERVED_ENV |= {"RESTIC_CACHE_DIR", "PATH", "HOME"}


# Where filesystems are mounted: a repository (unlike a directory the roles
# own) may live on one, in a directory of its own. The backup unit may write
# only there (ReadWritePaths).
MOUNT_TREES = ("/mnt", "/media")


def repository_path_problem(path: str) -> str:
    """Why a local path cannot hold the repository, or ''."""
    return path_problem(path, inside=MOUNT_TREES)


class OffsiteBackupChecker(Checker):
    role = "flower_offsite_backup"

    def err(self, name: str, problem: str, fix: str = "") -> None:
        """Checker.err, but the repository is shown with its credentials hidden (redact)."""
        if name != "repository":
            super().err(name, problem, fix)
            return
        value = self.v(name)
        shown = json.dumps(redact(value)) if isinstance(value, str) else redact(json.dumps(value, default=str), "")
        self.errors.append(f"{PREFIX}{name}={shown} {problem}" + (f" ({fix})" if fix else ""))

    def repository(self) -> None:
        repo = self.v("repository")
        if not repo:
            return
        if CONTROL_RE.search(repo) or " " in repo:
            self.err("repository", "contains a space or control character")
            return
        if repo.startswith("/"):
            if problem := repository_path_problem(repo):
                self.err("repository", problem)
        elif not repo.startswith(SCHEMES):
            self.err("repository", "is not a restic repository", "sftp:, rest:https://, s3:, b2:, azure:, gs:, /path")
        elif repo.startswith("sftp:"):
            if not (SFTP_SHORT_RE.match(repo) or SFTP_URL_RE.match(repo)):
                self.err("repository", "must be sftp:[user@]host:/path or sftp://[user@]host[:port]//path")
            if not self.v("sftp_private_key_content"):
                self.err("sftp_private_key_content", "is required for an sftp: repository (the host's login key)")
            if not self.v("sftp_known_hosts"):
                self.err("sftp_known_hosts", "is required for an sftp: repository (the server's host keys, pinned)")
        if problem := password_problem(self.v("password")):
            self.err(
                "password",
                "is required with a repository (keep it in ansible-vault)" if problem == REQUIRED else problem,
            )
        key = self.v("sftp_private_key_content")
        if key and not re.match(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\n", key):
            self.err("sftp_private_key_content", "is not a PEM/OpenSSH private key (the key itself, not a path)")
        for line in self.v("sftp_known_hosts") or []:
            if not isinstance(line, str) or not KNOWN_HOSTS_RE.match(line):
                self.err("sftp_known_hosts", f"has a line that is not 'host keytype base64': {json.dumps(line)[:80]}")
        for problem in environment_problems(self.v("environment") or {}):
            self.err("environment", problem)

    def append_only(self) -> None:
        """Only a REST server can refuse a deletion from the host: on a local path or SFTP the
        host's credentials delete as well as they write, and the promise would be a silent no-op."""
        repo = self.v("repository")
        if as_bool(self.v("append_only")) and repo and not repo.startswith("rest:"):
            self.err(
                "append_only",
                "needs a rest: repository served append-only; a local path, SFTP or object store "
                "lets this host's credentials delete what they wrote",
                "rclone serve restic --append-only --private-repos, or rest-server --append-only",
            )

    def maintained(self) -> None:
        """flower_offsite_backup_maintained_repositories: each a name, a repository the maintenance
        machine may delete from, its password; names unique (they name units)."""
        items = self.v("maintained_repositories") or []
        seen: set[str] = set()
        for index, item in enumerate(items):
            where = f"maintained_repositories[{index}]"
            if not isinstance(item, dict):
                self.err("maintained_repositories", f"item {index} is not a dict of name, repository, password")
                continue
            unknown = sorted(set(item) - {"name", "repository", "password", "environment"})
            if unknown:
                self.err("maintained_repositories", f"item {index} has unknown keys {unknown}")
            name = item.get("name")
            if not isinstance(name, str) or not NAME_RE.match(name):
                self.errors.append(
                    f"{PREFIX}{where}.name={json.dumps(name, default=str)} must be lower-case letters, digits "
                    "and -, starting with a letter, at most 23 (it names the units)"
                )
            elif name in seen:
                self.errors.append(f"{PREFIX}{where}.name={json.dumps(name)} is given twice")
            else:
                seen.add(name)
            self.errors.extend(f"{PREFIX}{where}.{e}" for e in maintained_repository_errors(item))

    def schedule(self) -> None:
        for name in ("schedule", "check_schedule", "maintenance_schedule"):
            value = self.v(name)
            if isinstance(value, str) and not CALENDAR_RE.match(value):
                self.err(name, "is not a systemd calendar expression", "such as hourly, daily or *-*-* 02:30:00")
        self.int_in("randomized_delay", 0, 86400, " seconds")
        read_data = self.v("check_read_data")
        if isinstance(read_data, str) and read_data and not READ_DATA_RE.match(read_data):
            self.err("check_read_data", "must be empty, a percentage such as 5%, or n/m such as 1/7")
        self.int_in("keep_local", 1, 1000, " (the newest is always kept)")
        keeps = [self.int_in(f"keep_{p}", 0, 100000) for p in ("hourly", "daily", "weekly", "monthly")]
        if all(k == 0 for k in keeps):
            self.err("keep_daily", "and the other keep_* are all 0: the repository would keep nothing")
        self.int_in("lock_wait", 0, 86400, " seconds")
        failure = self.v("on_failure")
        if isinstance(failure, str) and failure and not UNIT_RE.match(failure):
            self.err("on_failure", "must be a unit name such as alert@%n.service")

    def places(self, superlink: dict[str, Any]) -> None:
        theirs = {k: v for k, v in superlink.items() if isinstance(v, str)}
        repo = self.v("repository")
        if isinstance(repo, str) and repo.startswith("/") and not repository_path_problem(repo):
            # Not inside what it backs up, nor where the roles write.
            ours = {f"{PREFIX}{n}": self.v(n) for n in ("config_dir", "cache_dir", "metrics_dir")}
            for other, their_path in {**theirs, **ours}.items():
                if isinstance(their_path, str) and their_path.startswith("/") and nested(repo, their_path):
                    self.err(
                        "repository", f"and {other}={json.dumps(their_path)} must be distinct, neither inside the other"
                    )
        for name in ("config_dir", "cache_dir", "metrics_dir"):
            path = self.v(name)
            if name == "metrics_dir" and path == "":
                continue
            if problem := path_problem(path):
                self.err(name, problem)
                continue
            for other, their_path in theirs.items():
                if nested(path, their_path):
                    self.err(name, f"and {other}={json.dumps(their_path)} must be distinct, neither inside the other")
        if self.v("config_dir") == self.v("cache_dir"):
            self.err("cache_dir", "and flower_offsite_backup_config_dir must be distinct")
        unit = self.v("unit_name")
        if isinstance(unit, str) and not NAME_RE.match(unit):
            self.err("unit_name", "must be lower-case letters, digits and -, starting with a letter, at most 23")
        elif unit == superlink.get("flower_superlink_service_name"):
            self.err("unit_name", "is the SuperLink's own unit name")
        if not SNAPSHOT_RE.match(str(self.v("restore_snapshot"))):
            self.err("restore_snapshot", "must be latest or a snapshot ID (8 to 64 hex digits)")
        if not HOST_RE.match(str(self.v("restore_from"))):
            self.err("restore_from", "must be a host name as snapshots record it")


REQUIRED = "is required"


def password_problem(password: Any) -> str:
    """Why a repository's password cannot be used, or ''."""
    if not isinstance(password, str) or not password:
        return REQUIRED
    if CONTROL_RE.search(password):
        return "contains a newline or control character"
    return ""


def environment_problems(environment: dict[Any, Any]) -> list[str]:
    """What is wrong with the environment restic gets for a repository, one problem per variable."""
    problems = []
    for name, value in environment.items():
        if not isinstance(name, str) or not ENV_NAME_RE.match(name) or name in RESERVED_ENV:
            problems.append(f"may not set {json.dumps(name)} (set by the role, or not a variable name)")
        elif not isinstance(value, str) or CONTROL_RE.search(value):
            problems.append(f"value of {name} must be a string without control characters")
    return problems


def maintained_repository_errors(item: dict[str, Any]) -> list[str]:
    """What is wrong with one maintained repository's repository, password and environment,
    each message starting with the key."""
    errors = []
    repo, password, environment = item.get("repository"), item.get("password"), item.get("environment", {})
    shown = json.dumps(redact(repo)) if isinstance(repo, str) else json.dumps(repo, default=str)
    if not isinstance(repo, str) or not repo or CONTROL_RE.search(repo) or " " in repo:
        errors.append(f"repository={shown} must be a restic repository without spaces or control characters")
    elif repo.startswith("/"):
        if problem := repository_path_problem(repo):
            errors.append(f"repository={shown} {problem}")
    elif repo.startswith("sftp:"):
        errors.append(
            f"repository={shown} over SFTP is not maintained from here (no key is installed for it): "
            "run the maintenance on the server, with the repository's local path"
        )
    elif not repo.startswith(SCHEMES):
        errors.append(f"repository={shown} is not a restic repository (/path, rest:https://, s3:, b2:, ...)")
    if problem := password_problem(password):
        errors.append("password " + ("is required (keep it in ansible-vault)" if problem == REQUIRED else problem))
    if not isinstance(environment, dict):
        errors.append("environment must be a dict of variable names to strings")
    else:
        errors.extend(f"environment {problem}" for problem in environment_problems(environment))
    return errors


def config_errors(config: dict[str, Any], superlink: dict[str, Any] | None = None) -> list[str]:
    """Every problem with the role's variables ([] when valid). ``superlink``: the
    SuperLink role's paths and unit name, which this role's must not collide with."""
    checker = OffsiteBackupChecker(config)
    if checker.names_and_types_are_right():
        checker.repository()
        checker.append_only()
        checker.maintained()
        checker.schedule()
        checker.places(superlink or {})
    return checker.errors


def forget_args(config: dict[str, Any]) -> list[str]:
    """restic forget's --keep-* arguments; 0 leaves a period out."""
    args = []
    for period in ("hourly", "daily", "weekly", "monthly"):
        count = int(config[f"{PREFIX}keep_{period}"])
        if count:
            args += [f"--keep-{period}", str(count)]
    return args


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "offsite_backup_config_errors": config_errors,
            "restic_forget_args": forget_args,
            "restic_redact": redact,
        }
