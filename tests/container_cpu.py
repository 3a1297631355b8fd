"""CPU the test hosts' containers use, read from their cgroups (cgroup v1,
this machine's engine): shared by the Molecule pool's verdict lines
(noxfile.py) and the per-test costs (tests/cpu_cost.py). Standard library
only: nox imports it before any virtualenv exists."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup/cpuacct/docker")


def running_containers() -> dict[str, str]:
    """Full container ID by name, for every running container: one `docker ps`."""
    try:
        listed = subprocess.run(
            ["docker", "ps", "--no-trunc", "--format", "{{.Names}} {{.ID}}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return dict(line.split(" ", 1) for line in listed.splitlines() if " " in line)


def cpu_since(ids: Iterable[str], last: dict[str, int]) -> dict[str, int]:
    """Nanoseconds of CPU each container used since its reading in LAST
    (updated; a first reading counts nothing). A restarted container's
    counter starts again from zero, so a counter that went down counts whole."""
    used = {}
    for cid in ids:
        try:
            now = int((CGROUP / cid / "cpuacct.usage").read_text())
        except (OSError, ValueError):
            continue
        before = last.get(cid, now)
        used[cid] = now - before if now >= before else now
        last[cid] = now
    return used
