"""A soak: random faults against a deployed SuperLink with runs, each followed by
a check that it came back on its own, still listing every run.

    nox -s bench -- --soak N [--seed S]

The bench host (molecule/bench) gets the SuperLink (1.19.0, with its
executor) through deploy.yml, with a memory limit so that the kernel's OOM
killer can be aimed at it, and three runs submitted with the real flwr CLI.
Then N faults, each drawn at random from FAULTS, and after each the
SuperLink must answer ListRuns (the role's own probe) with the same number of
runs, its unit and the executor's active, on their own, within RECOVERY_S.
A fault after which it is not back counts as "needed an operator": the soak
starts the engine and the units by hand, says so, and goes on. The result:
time-to-healthy per fault kind (p50, p95, max), runs lost, faults that
needed an operator, in .cache/bench/soak.json and docs/benchmarks.md.

Not here, and why: a clock jump (the test host shares this machine's
kernel clock: moving it would move the whole machine's), and a full state
filesystem (the state directory is on this machine's own disk; filling it
would fill that disk).
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench import HOST, PROBE, sh, wait_gone

SERVICE = "flower-superlink"
EXECUTOR = "flower-superlink-superexec"
# What the deploy gives the SuperLink: room to run, a limit to be killed at.
MEMORY_LIMIT = "512m"
# A fault the SuperLink is not back from after this long needed an operator.
RECOVERY_S = 300.0


def target(*cmd: str, check: bool = True) -> str:
    """A command on the bench host."""
    return sh("docker", "exec", HOST, *cmd, check=check).stdout.strip()


def runs_listed() -> int | None:
    """How many runs the SuperLink lists (ListRuns on its Control API, from
    inside its container), or None while it does not answer."""
    probe = ["docker", "exec", HOST, "docker", "exec", SERVICE, "python", "-c", PROBE]
    args = ["runs", "grpc", "Exec", "127.0.0.1:9093", "", ""]
    done = sh(*probe, *args, check=False)
    if done.returncode != 0:
        return None
    try:
        return int(json.loads(done.stdout)["runs"])
    except (ValueError, KeyError, TypeError):
        return None


def active(unit: str) -> bool:
    return target("systemctl", "is-active", unit, check=False) == "active"


def healthy(runs: int) -> bool:
    return runs_listed() == runs and active(SERVICE) and active(EXECUTOR)


def main_pid(container: str) -> str:
    return target("docker", "inspect", "--format", "{{.State.Pid}}", container, check=False)


def wait_engine(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not active("docker.service") and time.monotonic() < deadline:
        time.sleep(0.2)


# --- the faults ----------------------------------------------------------------


def kill_9(pid: str) -> None:
    """kill -9 of PID on the bench host, and wait until it is gone: the fault
    has landed before time-to-healthy is measured."""
    if not pid or pid == "0":
        return
    target("sh", "-c", f"kill -9 {pid}", check=False)  # no /bin/kill in minbase
    wait_gone(pid, timeout=30)


def unit_pid(unit: str) -> str:
    return target("systemctl", "show", "--property", "MainPID", "--value", unit, check=False)


def unit_restart() -> None:
    target("systemctl", "restart", SERVICE)


def superlink_kill_9() -> None:
    kill_9(main_pid(SERVICE))


def executor_kill_9() -> None:
    kill_9(main_pid(EXECUTOR))


def engine_restart() -> None:
    target("systemctl", "restart", "docker.service")


def engine_sigkill() -> None:
    kill_9(unit_pid("docker.service"))


def engine_sigkill_4_times() -> None:
    """Four SIGKILLs of dockerd, each soon after it came back: past Debian's
    start limit (three starts in 60 s) for the engine's own unit."""
    for _ in range(4):
        wait_engine()
        engine_sigkill()
        time.sleep(3)


def containerd_sigkill() -> None:
    kill_9(unit_pid("containerd.service"))


def oom_kill() -> None:
    """The kernel's OOM killer on the SuperLink: the SuperLink made its first
    victim (oom_score_adj 1000), then a process in its container asks for
    more memory than the container's limit."""
    pid = main_pid(SERVICE)
    if not pid or pid == "0":
        return
    target("sh", "-c", f"echo 1000 > /proc/{pid}/oom_score_adj", check=False)
    hog = "b = bytearray(1200 * 2**20)"  # more than the limit, and than twice it (swap)
    target("docker", "exec", SERVICE, "python", "-c", hog, check=False)
    wait_gone(pid, timeout=30)


def host_reboot() -> None:
    sh("docker", "restart", "--time", "60", HOST)


FAULTS: dict[str, Callable[[], None]] = {
    "unit restart": unit_restart,
    "SuperLink kill -9": superlink_kill_9,
    "executor kill -9": executor_kill_9,
    "engine restart": engine_restart,
    "engine SIGKILL": engine_sigkill,
    "engine SIGKILL x4 in 60 s": engine_sigkill_4_times,
    "containerd SIGKILL": containerd_sigkill,
    "OOM kill of the SuperLink": oom_kill,
    "host reboot": host_reboot,
}


def oom_events(since: str) -> int:
    """How many OOM events the engine reported for the SuperLink's container
    since SINCE (seconds since 1970, the host's clock): each start replaces
    the container, so its own State.OOMKilled is gone by then."""
    now = target("date", "+%s")
    events = target(
        "docker", "events", "--since", since, "--until", now,
        "--filter", "event=oom", "--filter", f"container={SERVICE}", "--format", "{{.Status}}",
        check=False,
    )  # fmt: skip
    return len(events.split())


def stays_healthy(runs: int, settle: float = 6.0) -> bool:
    """Healthy now and at each check for SETTLE seconds: a container killed a
    few seconds after each start is healthy for a moment too."""
    until = time.monotonic() + settle
    while time.monotonic() < until:
        if not healthy(runs):
            return False
        time.sleep(2)
    return healthy(runs)


def by_hand() -> None:
    """What an operator would do: start the engine and the units."""
    target("systemctl", "reset-failed", check=False)
    target("systemctl", "start", "docker.service", check=False)
    target("systemctl", "start", SERVICE, check=False)
    target("systemctl", "start", EXECUTOR, check=False)


def soak(
    results: dict[str, Any], faults: int, seed: int, deploy: Callable[[], None], submit: Callable[[], int]
) -> None:
    """DEPLOY the SuperLink, SUBMIT runs, then FAULTS random faults; RESULTS["soak"]."""
    deploy()
    runs = 0
    for _ in range(3):
        submit()
        runs += 1
    deadline = time.monotonic() + RECOVERY_S
    while not healthy(runs):
        if time.monotonic() > deadline:
            raise SystemExit(f"soak: the SuperLink on {HOST} does not list its {runs} runs before any fault")
        time.sleep(1)
    chooser = random.Random(seed)
    kinds = list(FAULTS)
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    operator: list[dict[str, Any]] = []
    lost = 0
    log = []
    for number in range(1, faults + 1):
        kind = chooser.choice(kinds)
        since = target("date", "+%s", check=False) or "0"
        started = time.monotonic()
        FAULTS[kind]()
        deadline = started + RECOVERY_S
        back = False
        took = RECOVERY_S
        while time.monotonic() < deadline:
            if healthy(runs):
                first = time.monotonic() - started
                if stays_healthy(runs):
                    back, took = True, first
                    break
            time.sleep(0.5)
        entry = {"n": number, "fault": kind, "back_s": round(took, 1), "on_its_own": back}
        if back:
            times[kind].append(took)
        else:
            listed = runs_listed()
            entry["state"] = {
                "engine": active("docker.service"),
                "superlink": active(SERVICE),
                "executor": active(EXECUTOR),
                "runs": listed,
            }
            by_hand()
            until = time.monotonic() + RECOVERY_S
            while not healthy(runs) and time.monotonic() < until:
                time.sleep(1)
            operator.append(entry)
        if kind == "OOM kill of the SuperLink":
            entry["oom_events"] = oom_events(since)
        listed = runs_listed()
        if listed is not None and listed < runs:
            lost += runs - listed
            runs = listed
        log.append(entry)
        print(json.dumps(entry), flush=True)
    results["soak"] = {
        "faults": faults,
        "seed": seed,
        "runs_in_database": runs,
        "runs_lost": lost,
        "needed_an_operator": len(operator),
        "operator": operator,
        "per_fault": {kind: percentiles(samples) for kind, samples in times.items() if samples},
        "log": log,
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_s": round(statistics.median(ordered), 1),
        "p95_s": round(p95, 1),
        "max_s": round(ordered[-1], 1),
    }


def soak_table(soak_results: dict[str, Any]) -> list[str]:
    """The generated lines of docs/benchmarks.md's soak section."""
    lines = [
        f"{soak_results['faults']} random faults (seed {soak_results['seed']}) on a SuperLink with "
        f"{soak_results['runs_in_database']} runs: **{soak_results['runs_lost']} runs lost, "
        f"{soak_results['needed_an_operator']} faults needed an operator**.",
        "",
        "| Fault | n | Back, p50 | p95 | max |",
        "|---|---|---|---|---|",
    ]
    for kind, p in soak_results["per_fault"].items():
        lines.append(f"| {kind} | {p['n']} | {p['p50_s']} s | {p['p95_s']} s | {p['max_s']} s |")
    for entry in soak_results["operator"]:
        lines.append("")
        lines.append(
            f"- Fault {entry['n']} ({entry['fault']}) was not back after {entry['back_s']} s: {entry['state']}"
        )
    return lines
