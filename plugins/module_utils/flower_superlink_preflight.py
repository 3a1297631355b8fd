"""Host-side checks before flower_superlink changes anything.

Used by the flower_superlink_preflight module (the role on its own) and by
flower_superlink_lock, which runs them under the lock it has just taken: no
other playbook can change what was checked before this one acts on it.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_state import systemctl_show

# The module options both modules take for these checks (Ansible argument spec).
ARGUMENT_SPEC = {
    "directories": {"type": "list", "elements": "dict", "required": True},
    "database": {"type": "path", "required": True},
    "sidecars": {"type": "list", "elements": "str", "default": ["-journal", "-wal", "-shm"]},
    "unit_path": {"type": "path", "required": True},
    "unit_marker": {"type": "str", "required": True},
    "service_name": {"type": "str", "required": True},
    "container_name": {"type": "str", "required": True},
    "container_label": {"type": "str", "required": True},
    # The units and containers the role runs beside the SuperLink (proxy, executor).
    "companion_units": {"type": "list", "elements": "path", "default": []},
    "companion_containers": {"type": "list", "elements": "str", "default": []},
    "backup_dir": {"type": "path"},
    "need_backup": {"type": "bool", "default": False},
    "record": {"type": "path"},
    # Allow-lists the DOCKER-USER chain must enforce (those of APIs Docker publishes).
    "docker_user_lists": {"type": "list", "elements": "str", "default": []},
}


def symlink_in(path: str) -> str:
    """The first component of path that is a symlink, or ''."""
    current = Path("/")
    for part in Path(path).parts[1:]:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            return ""
        if stat.S_ISLNK(st.st_mode):
            return str(current)
    return ""


def check_directory(entry: dict, errors: list[str]) -> None:
    var, path = entry["var"], entry["path"]
    link = symlink_in(path)
    if link:
        errors.append(
            f"{var}={json.dumps(path)}: {link} is a symlink; give the real path (the role never follows links)"
        )
        return
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        errors.append(f"{var}={json.dumps(path)} exists and is not a directory")
        return
    if not any(os.scandir(path)):
        return
    want = (int(entry["owner"]), int(entry["group"]))
    have = (st.st_uid, st.st_gid)
    mode = entry.get("mode")
    if have != want or (mode and stat.S_IMODE(st.st_mode) != int(str(mode), 8)):
        errors.append(
            f"{var}={json.dumps(path)} already exists with files in it, owned {have[0]}:{have[1]} mode "
            f"{stat.S_IMODE(st.st_mode):04o}, not {want[0]}:{want[1]}{' mode ' + str(mode) if mode else ''} as this "
            "role leaves it: it belongs to something else. Choose a directory of its own."
        )


def read_record(path: str, errors: list[str]) -> str:
    """The deployment record's text ('' when absent); never through a symlink."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ""
    if not stat.S_ISREG(st.st_mode) or st.st_size > 1 << 20:
        errors.append(
            f"flower_superlink_record_path={json.dumps(path)} is not a regular file of at most 1 MiB; "
            "the role never follows links. Inspect and remove it."
        )
        return ""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def check_host(p: dict) -> tuple[dict[str, object], list[str]]:
    """Read-only checks of the host; (result, one message per problem)."""
    errors: list[str] = []
    for entry in p["directories"]:
        check_directory(entry, errors)

    database_bytes, database_exists = 0, False
    for suffix in ["", *p["sidecars"]]:
        path = p["database"] + suffix
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(st.st_mode):
            errors.append(
                f"flower_superlink_database_name: {path} is not a regular file (a symlink?); the role never "
                "follows links in the state directory, which the container owns. Inspect and remove it."
            )
            continue
        database_exists = database_exists or suffix == ""
        database_bytes += st.st_size

    unit = Path(p["unit_path"])
    unit_exists = os.path.lexists(unit)
    unit_ours = False
    if unit_exists:
        if unit.is_symlink() or not unit.is_file():
            errors.append(f"flower_superlink_service_name: {unit} is not a regular file; refusing to replace it")
        else:
            head = unit.read_text(errors="replace")[:4096]
            unit_ours = head.startswith(p["unit_marker"])
            if not unit_ours:
                errors.append(
                    f"flower_superlink_service_name={json.dumps(p['service_name'])}: {unit} exists and was not "
                    "written by this role; refusing to overwrite it. Choose another service name."
                )
    for companion in map(Path, p["companion_units"]):
        if not os.path.lexists(companion):
            continue
        if companion.is_symlink() or not companion.is_file():
            errors.append(f"flower_superlink_service_name: {companion} is not a regular file; refusing to replace it")
        elif not companion.read_text(errors="replace")[:4096].startswith(p["unit_marker"]):
            errors.append(
                f"flower_superlink_service_name={json.dumps(p['service_name'])}: {companion} exists and was not "
                "written by this role; refusing to overwrite it. Choose another service name."
            )
    props = systemctl_show(f"{p['service_name']}.service", ["LoadState", "FragmentPath"])
    if props:
        fragment = props.get("FragmentPath", "")
        if props.get("LoadState") == "masked" or (fragment and fragment != str(unit)):
            errors.append(
                f"flower_superlink_service_name={json.dumps(p['service_name'])}: a unit of that name already "
                f"exists ({props.get('LoadState')}, {fragment or 'masked'}); this role would shadow it. "
                "Choose another service name."
            )

    if shutil.which("docker") and os.path.exists("/var/run/docker.sock"):
        key, _sep, value = p["container_label"].partition("=")
        inspect = run(
            "docker", "inspect", "--type", "container", "--format", "{{json .Config.Labels}}", p["container_name"]
        )
        if inspect.returncode == 0:
            labels = json.loads(inspect.stdout.strip() or "null") or {}
            started_by_role = labels.get(key) == value
            # Deployments from before the label: the container our own unit names.
            named_in_our_unit = unit_ours and f"--name {p['container_name']} " in unit.read_text().replace('"', "")
            if not (started_by_role or named_in_our_unit):
                errors.append(
                    f"flower_superlink_container_name={json.dumps(p['container_name'])}: a container of that name "
                    "exists and was not started by this role; the unit would remove it. Choose another name."
                )
        for name in p["companion_containers"]:
            inspect = run("docker", "inspect", "--type", "container", "--format", "{{json .Config.Labels}}", name)
            if inspect.returncode != 0:
                continue
            labels = json.loads(inspect.stdout.strip() or "null") or {}
            if labels.get(key) != value:
                errors.append(
                    f"flower_superlink_container_name={json.dumps(p['container_name'])}: a container named {name} "
                    "exists and was not started by this role; the role's unit would remove it. Choose another name."
                )

    # An allow-list in a chain dockerd does not have would be a silent no-op:
    # the firewall script would refuse to start the SuperLink. Say so now.
    if (
        p["docker_user_lists"]
        and shutil.which("iptables")
        and os.path.exists("/var/run/docker.sock")
        and run("iptables", "-w", "-n", "-L", "DOCKER-USER").returncode != 0
    ):
        errors.append(
            f"{' and '.join(p['docker_user_lists'])}: the host's Docker has no DOCKER-USER iptables chain "
            "(dockerd runs with iptables off?), so the allow-list cannot be enforced. Turn Docker's iptables "
            "on, or empty the list and filter elsewhere; nothing was changed."
        )

    result: dict[str, object] = {
        "database_exists": database_exists,
        "database_bytes": database_bytes,
        "unit_exists": unit_exists,
    }
    if p["record"]:
        result["record"] = read_record(p["record"], errors)
    if p["need_backup"] and p["backup_dir"] and database_exists:
        probe = Path(p["backup_dir"])
        while not probe.exists():
            probe = probe.parent
        vfs = os.statvfs(probe)
        free = vfs.f_bavail * vfs.f_frsize
        # The copy, a second copy while it is checked, and some slack.
        need = 2 * database_bytes + (16 << 20)
        result["free_bytes"] = free
        if free < need:
            errors.append(
                f"flower_superlink_backup_dir={json.dumps(p['backup_dir'])}: {free >> 20} MiB free, a backup of "
                f"the database needs {need >> 20} MiB. Free space or move the backups; nothing was changed."
            )
    return result, errors
