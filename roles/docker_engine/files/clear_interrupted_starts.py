# Managed by Ansible (flower-superlink-iac role docker_engine); local edits are overwritten.
"""Kill what an engine killed in the middle of a container start left behind.

Starting a container, the engine has runc create it: a ``runc init`` process
sets up the container's namespaces and cgroup, then waits for the engine's
``start``. An engine killed between the two never sends it, and an engine
coming back does not know a container whose record it had not yet written:
that ``runc init`` waits for ever, in the container's cgroup, holding its
network namespace, and with it the address and MAC the engine hands the next
container. The next container then answers inside and nothing through its
published ports, until a reboot.

Run by docker.service before every start (ExecStartPre=): no engine is
running then, so every ``runc init`` in a Docker container's cgroup waits
for a start that will never come, and is killed. Anything else is left
alone. Exits 0 even if a kill fails: the engine must start regardless.
"""

from __future__ import annotations

import os
import re
import signal
import sys

# A Docker container's cgroup, as the cgroupfs ("/docker/<id>") and the
# systemd ("/system.slice/docker-<id>.scope") drivers name it; the innermost
# one when an engine runs inside another's container.
CONTAINER_CGROUP = re.compile(r"(?<![^/])docker(?:/|-)([0-9a-f]{64})(?:\.scope)?(?=/|$)")


def is_runc_init(cmdline: bytes) -> bool:
    """Whether CMDLINE (NUL-separated, as /proc/PID/cmdline holds it) is runc's init."""
    args = cmdline.split(b"\0")
    return len(args) >= 2 and os.path.basename(args[0]) in (b"runc", b"docker-runc") and args[1] == b"init"


def container_of(cgroup: str) -> str | None:
    """The Docker container ID in /proc/PID/cgroup's text, or None."""
    for line in cgroup.splitlines():
        path = line.split(":", 2)[-1]
        found = CONTAINER_CGROUP.findall(path)
        if found:
            return str(found[-1])
    return None


def interrupted_starts(proc: str = "/proc") -> list[tuple[int, str]]:
    """(pid, container ID) of every runc init in a Docker container's cgroup."""
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
        if container:
            found.append((int(entry), container))
    return sorted(found)


def main(proc: str = "/proc") -> int:
    for pid, container in interrupted_starts(proc):
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
