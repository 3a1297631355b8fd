"""What an app can reach where it runs: the probe a hostile app would make.

With process isolation the ServerApp and ClientApp run in containers of their
own, and none of these may be reachable there: the SuperLink's database and
TLS key, the SuperNode's private key, any key list, the Docker socket, root
or a capability. In the SuperLink's (or SuperNode's) own container they are.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

# Trees that hold the image's own files (Python, the OS's CA bundle), not state.
SKIP = ("/proc", "/sys", "/dev", "/usr", "/python", "/etc/ssl", "/var/lib/dpkg", "/var/cache")
SUFFIXES = (".db", ".db-wal", ".key", ".csv", ".sock")
NAMES = ("supernode", "supernode.pub", "server.pem")
SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock")


def exposed() -> list[str]:
    """Everything sensitive this process can read or connect to ([] when isolated)."""
    found = []
    for top, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if str(Path(top) / d) not in SKIP]
        for name in files:
            path = str(Path(top) / name)
            if (name.endswith(SUFFIXES) or name in NAMES) and os.access(path, os.R_OK):
                found.append(path)
    for path in SOCKETS:
        with socket.socket(socket.AF_UNIX) as sock:
            try:
                sock.connect(path)
            except OSError:
                continue
            found.append(f"connected to {path}")
    if os.getuid() == 0:
        found.append("runs as root")
    status = Path("/proc/self/status").read_text(encoding="ascii").splitlines()
    caps = [line.split()[1] for line in status if line.startswith("CapEff:")]
    if caps and int(caps[0], 16):
        found.append(f"capabilities {caps[0]}")
    return found
