# Managed by Ansible (flower-superlink-iac role docker_engine); local edits are overwritten.
"""Kill what this engine, killed in the middle of a container start, left behind.

Starting a container, the engine has runc create it: a ``runc init`` process
sets up the container's namespaces and cgroup, then waits for the engine's
``start``. An engine killed between the two never sends it, and an engine
coming back does not know a container whose record it had not yet written:
that ``runc init`` waits for ever, in the container's cgroup, holding its
network namespace, and with it the address and MAC the engine hands the next
container. The next container then answers inside and nothing through its
published ports, until a reboot.

Run by docker.service before every start (ExecStartPre=), when this engine
is not running: a ``runc init`` that runc's state for this engine (its runc
root, RUNC_ROOTS) names as the init of a container whose cgroup it sits in
waits for a start that will never come, and is killed. Nothing else is
touched: not another engine's (rootless, or one inside a container), nor
another runtime's, nor a process that has meanwhile become the container's
own. Exits 0 even if a kill fails: the engine must start regardless.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys

# A process in a Docker container's own cgroup, as the cgroupfs
# ("/docker/<id>") and the systemd ("/system.slice/docker-<id>.scope")
# drivers name it: the last part of the path, not a cgroup below it.
CONTAINER_CGROUP = re.compile(r"(?:^|/)docker(?:/|-)([0-9a-f]{64})(?:\.scope)?$")
# Where this engine has runc keep each container's state (Docker 20.10+, with
# containerd's runc shim), by containerd namespace "moby".
RUNC_ROOTS = ("/run/docker/runtime-runc/moby", "/run/containerd/runc/moby")


def is_runc_init(cmdline: bytes) -> bool:
    """Whether CMDLINE (NUL-separated, as /proc/PID/cmdline holds it) is runc's init."""
    args = cmdline.split(b"\0")
    return len(args) >= 2 and os.path.basename(args[0]) in (b"runc", b"docker-runc") and args[1] == b"init"


def container_of(cgroup: str) -> str | None:
    """The Docker container ID whose own cgroup /proc/PID/cgroup's text names, or None."""
    for line in cgroup.splitlines():
        found = CONTAINER_CGROUP.search(line.split(":", 2)[-1])
        if found:
            return found.group(1)
    return None


def runc_init_pid(container: str, roots: tuple[str, ...]) -> int | None:
    """The init process runc's state for CONTAINER names, under this engine's runc roots."""
    for root in roots:
        try:
            with open(os.path.join(root, container, "state.json"), encoding="utf-8") as handle:
                return int(json.load(handle)["init_process_pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def still_runc_init(proc: str, pid: int) -> bool:
    try:
        with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
            return is_runc_init(handle.read())
    except OSError:
        return False


def interrupted_starts(proc: str = "/proc", roots: tuple[str, ...] = RUNC_ROOTS) -> list[tuple[int, str]]:
    """(pid, container ID) of every runc init that this engine's runc state names as the
    init of the container whose own cgroup it is in."""
    found = []
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "cmdline"), "rb") as handle:
                cmdline = handle.read()
            if not is_runc_init(cmdline):
                continue
            with open(os.path.join(proc, entry, "cgroup"), encoding="utf-8", errors="replace") as handle:
                container = container_of(handle.read())
        except OSError:
            continue  # gone meanwhile
        if container and runc_init_pid(container, roots) == int(entry):
            found.append((int(entry), container))
    return sorted(found)


def main(proc: str = "/proc", roots: tuple[str, ...] = RUNC_ROOTS) -> int:
    for pid, container in interrupted_starts(proc, roots):
        # Looked at again just before the kill: a process that has since
        # become the container's own is not runc init any more.
        if not still_runc_init(proc, pid):
            continue
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError as error:
            print(f"could not kill runc init {pid} of container {container[:12]}: {error}", file=sys.stderr)
            continue
        print(
            f"killed runc init {pid} of container {container[:12]}, a start interrupted when the engine died",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
