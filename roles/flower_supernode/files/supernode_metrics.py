# The SuperNode's metrics for node_exporter's textfile collector, written by a
# timer (flower_supernode role, tasks/metrics.yml):
#   supernode_metrics.py collect CONFIG_JSON
#
# - up: the unit is active and its container runs;
# - connected: the container holds an established TCP connection to the
#   SuperLink's Fleet port (read from the container's own network namespace,
#   /proc/<pid>/net/tcp{,6}: no tool runs inside it);
# - ClientApp failures: Flower logs "ClientApp raised an exception" (every
#   release from 1.19) in the journal of whichever unit runs ClientApps; the
#   collector counts new ones since the journal cursor it saved last time;
# - the units' state from systemd.
# Standard library only; prometheus_textfile.py beside this file renders and
# writes the file atomically.
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prometheus_textfile import Family, render, write_atomically

CLIENTAPP_FAILED = "ClientApp raised an exception"
TCP_ESTABLISHED = "01"


def run(*argv: str, timeout: float = 20) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None


def unit_state(unit: str) -> dict[str, str]:
    """systemd's view of the unit; {} when systemd cannot be asked."""
    done = run("systemctl", "show", "--property", "NRestarts,ActiveState,LoadState", unit, timeout=10)
    if done is None:
        return {}
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)


def container_pid(container: str) -> int:
    """The PID of the container's main process; 0 when it does not run."""
    done = run("docker", "inspect", "--type", "container", "--format", "{{.State.Running}} {{.State.Pid}}", container)
    if done is None or done.returncode:
        return 0
    words = done.stdout.split()
    return int(words[1]) if len(words) == 2 and words[0] == "true" and words[1].isdigit() else 0


def established_to(tables: list[str], port: int) -> int:
    """Connections in state ESTABLISHED to a remote PORT, from the text of
    /proc/net/tcp and /proc/net/tcp6 (remote address "HEXIP:HEXPORT")."""
    count = 0
    for table in tables:
        for line in table.splitlines()[1:]:
            fields = line.split()
            if len(fields) < 4:
                continue
            remote, state = fields[2], fields[3]
            try:
                if state == TCP_ESTABLISHED and int(remote.rsplit(":", 1)[1], 16) == port:
                    count += 1
            except (IndexError, ValueError):
                continue
    return count


def connections(pid: int, port: int) -> int | None:
    """Established connections from the container (PID's network namespace)
    to PORT; None when they cannot be read."""
    tables = []
    for name in ("tcp", "tcp6"):
        try:
            tables.append(Path(f"/proc/{pid}/net/{name}").read_text())
        except OSError:
            if name == "tcp":
                return None
    return established_to(tables, port)


def new_failures(units: list[str], cursor: str) -> tuple[int, str]:
    """ClientApp failures the journal of UNITS holds after CURSOR (from the
    start of the journal without one), and the cursor to start from next."""
    argv = ["journalctl", "--no-pager", "--output", "cat", "--show-cursor", "--quiet"]
    for unit in units:
        argv += ["--unit", unit]
    argv += ["--after-cursor", cursor] if cursor else []
    done = run(*argv, timeout=60)
    if done is not None and done.returncode and cursor:
        # The entry the cursor names was rotated away: start again from the
        # journal's end, counting nothing twice.
        done = run(*argv[: argv.index("--after-cursor")], "--lines", "0", timeout=60)
    if done is None or done.returncode:
        return 0, cursor
    return count_failures(done.stdout, cursor)


def count_failures(output: str, cursor: str) -> tuple[int, str]:
    """ClientApp failures in journalctl's OUTPUT (--output cat --show-cursor),
    and the cursor it ended at (CURSOR when it printed none)."""
    count, next_cursor = 0, cursor
    for line in output.splitlines():
        if line.startswith("-- cursor: "):
            next_cursor = line[len("-- cursor: ") :].strip()
        elif CLIENTAPP_FAILED in line:
            count += 1
    return count, next_cursor


def load_state(path: str) -> dict:
    try:
        state = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save_state(path: str, state: dict) -> None:
    tmp = Path(path).with_name(f".{Path(path).name}.{os.getpid()}")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)


def collect(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    fams: list[Family] = []

    def family(name: str, kind: str, help_text: str) -> Family:
        fams.append(Family(f"flower_supernode_{name}", kind, help_text))
        return fams[-1]

    units = {unit: unit_state(unit) for unit in config["units"]}
    main = units.get(f"{config['service']}.service", {})
    pid = container_pid(config["container"])
    family("up", "gauge", "1 when the SuperNode's unit is active and its container runs.").add(
        int(main.get("ActiveState") == "active" and pid > 0)
    )
    connected = connections(pid, int(config["superlink_port"])) if pid else 0
    family("connected", "gauge", "1 when the SuperNode holds a connection to the SuperLink's Fleet port.").add(
        int(bool(connected))
    )
    state = load_state(config["state_file"])
    count, cursor = new_failures(config["clientapp_units"], str(state.get("cursor", "")))
    failures = int(state.get("clientapp_failures", 0)) + count
    save_state(config["state_file"], {"cursor": cursor, "clientapp_failures": failures})
    family("clientapp_failures_total", "counter", 'ClientApps that failed ("ClientApp raised an exception").').add(
        failures
    )
    restarts = family(
        "unit_restarts_total", "counter", "Automatic restarts of the unit by systemd since its last start."
    )
    active = family("unit_active", "gauge", "1 when the unit is active.")
    for unit, unit_props in units.items():
        if unit_props.get("LoadState") != "loaded":
            continue
        count = unit_props.get("NRestarts") or "0"
        restarts.add(int(count) if count.isdigit() else 0, unit=unit)
        active.add(int(unit_props.get("ActiveState") == "active"), unit=unit)
    family("metrics_collected_timestamp_seconds", "gauge", "When these metrics were collected.").add(
        round(time.time(), 3)
    )
    write_atomically(config["metrics_file"], render(fams, {"service": config["service"]}))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["collect"] and len(sys.argv) == 3:
        sys.exit(collect(sys.argv[2]))
    sys.exit("usage: supernode_metrics.py collect CONFIG_JSON")
