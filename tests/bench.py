"""Timings of what operators wait for, on a fresh Debian 12 test host.

    nox -s bench [-- --repeat N]

Measures: create (the test host itself), the first deploy, a second
(no-change) deploy, time-to-ready after `systemctl restart`, `kill -9` of the
SuperLink and a host reboot, and the wall time of the operator playbooks:
backup, reset, an upgrade to 1.20.0 and the rollback from it, an upgrade to
1.42.0 that Flower refuses (exit 105) and the role rolls back by itself, and
a fresh-state upgrade to 1.42.0 with the rollback from it. With
``--offsite`` (the offsite scenario's three hosts): one scheduled off-host
backup, and the recovery time from "SuperLink host gone" to "a new machine
answers with every run" (restore.yml onto a blank host, which ends with the
health gate checking the snapshot's runs), from which the worst-case data
loss at the default schedule follows. "Ready" means the
SuperLink answers ListRuns on its Exec API (the role's own health probe,
without its settle pause). The playbooks run exactly as an operator runs
them, against an inventory naming the bench host. Results go to stdout and
.cache/bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "flower-bench"
PROBE = (ROOT / "roles/flower_superlink/files/superlink_control.py").read_text()
RESULTS = ROOT / ".cache/bench/results.json"
ARCHIVES = ROOT / ".cache/images"
DOCKER_CONNECTION = {"ansible_connection": "community.docker.docker"}


def inventory_for(connection: dict[str, str]) -> dict[str, Any]:
    return {
        "all": {
            "children": {
                "superlink": {
                    "hosts": {HOST: connection},
                    "vars": {
                        "flower_superlink_image_source": "archive",
                        "flower_superlink_image_archive": str(ARCHIVES / "flwr-superlink-1.19.0.tar"),
                        "flower_superlink_insecure": True,
                    },
                }
            }
        }
    }


def ssh_connection(key_dir: Path) -> dict[str, str]:
    """An sshd on the bench host and the inventory variables that reach it:
    the deploys are timed over SSH, as operators run them (pipelining and
    ControlPersist from ansible.cfg and Ansible's defaults)."""
    key = key_dir / "id_ed25519"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    install = (
        "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >/dev/null"
    )
    sh("docker", "exec", HOST, "sh", "-c", install)
    authorize = (
        "install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys && chmod 0600 /root/.ssh/authorized_keys"
    )
    subprocess.run(
        ["docker", "exec", "-i", HOST, "sh", "-c", authorize],
        input=key.with_suffix(".pub").read_text(),
        check=True,
        text=True,
    )
    sh("docker", "exec", HOST, "systemctl", "enable", "--now", "ssh")
    address = sh("docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", HOST)
    return {
        "ansible_connection": "ssh",
        "ansible_host": address.stdout.strip(),
        "ansible_user": "root",
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
    }


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True, text=True)
    if check and done.returncode:
        # What the command said, not only that it failed.
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        done.check_returncode()
    return done


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def molecule(step: str) -> None:
    sh("molecule", step, "-s", "bench")


def playbook(inventory: Path, name: str, *extra_vars: str, fails: bool = False, limit: str = "") -> str:
    """Run a playbook; it must succeed, or with ``fails`` fail (a refused or
    rolled-back upgrade). Returns its output."""
    cmd = ["ansible-playbook", f"playbooks/{name}", "-i", str(inventory)]
    if limit:
        cmd += ["--limit", limit]
    for var in extra_vars:
        cmd += ["-e", var]
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    result = subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True, text=True, env=env)
    if (result.returncode != 0) != fails:
        failed = RESULTS.with_name(f"failed-{name}.log")
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_text(result.stdout + result.stderr)
        raise SystemExit(f"bench: {name} {' '.join(extra_vars)} exited {result.returncode} (whole output: {failed})")
    return result.stdout


def task_profile(output: str, top: int = 12, host: str = HOST) -> dict[str, Any]:
    """Where a play's time went: how many task results per status (of HOST),
    and the slowest tasks from the profile_tasks recap (ansible.cfg enables it)."""
    recap = next((line for line in output.splitlines() if line.startswith(f"{host} ") and "ok=" in line), "")
    counters = {k: int(v) for k, v in (item.split("=") for item in recap.split(":", 1)[-1].split())} if recap else {}
    slowest = []
    lines = output.split("TASKS RECAP", 1)[-1].splitlines()
    for line in lines:
        name, sep, took = line.rpartition(" ")
        if sep and took.endswith("s") and "---" in name:
            slowest.append(f"{name.rstrip(' -')} {took}")
    return {"results": counters, "slowest": slowest[:top]}


EMPTY_PLAY = "- hosts: superlink\n  gather_facts: true\n  tasks: []\n"


def empty_play(inventory: Path) -> None:
    """The floor a deploy is measured against: a play that only gathers facts."""
    play = inventory.with_name("empty.yml")
    play.write_text(EMPTY_PLAY)
    cmd = ["ansible-playbook", str(play), "-i", str(inventory)]
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True, env=env)


def bare_start_to_ready() -> None:
    """flower-superlink started by hand in a plain container (no unit, no
    backup, no gate): the floor for a restart. The unit is stopped meanwhile."""
    sh("docker", "exec", HOST, "systemctl", "stop", "flower-superlink")
    run = ["docker", "exec", HOST, "docker", "run", "--detach", "--rm", "--name", "flower-superlink"]
    run += ["--network", "host", "--user", "49999:49999", "--volume", "/var/lib/flower-superlink:/app/state"]
    sh(*run, "flwr/superlink:1.19.0", "--insecure", "--database", "/app/state/state.db")
    try:
        until_ready()
    finally:
        sh("docker", "exec", HOST, "docker", "rm", "--force", "flower-superlink")


def release(version: str) -> list[str]:
    return [
        f"flower_superlink_version={version}",
        f"flower_superlink_image_archive={ARCHIVES / f'flwr-superlink-{version}.tar'}",
    ]


def ready() -> bool:
    probe = ["docker", "exec", HOST, "docker", "exec", "flower-superlink", "python", "-c", PROBE]
    args = ["health", "grpc", "Exec", "127.0.0.1:9093", "", "", "/app/state/state.db", "0"]
    return sh(*probe, *args, check=False).returncode == 0


def until_ready(timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: SuperLink on {HOST} not ready after {timeout:.0f} s")
        time.sleep(0.1)


def restart_unit() -> None:
    sh("docker", "exec", HOST, "systemctl", "restart", "flower-superlink")
    until_ready()


def stop_unit() -> None:
    sh("docker", "exec", HOST, "systemctl", "stop", "flower-superlink")


def start_unit() -> None:
    sh("docker", "exec", HOST, "systemctl", "start", "flower-superlink")
    until_ready()


def wait_gone(pid: str, timeout: float | None = None) -> None:
    """Wait (in steps of 20 ms) until process PID on the bench host is gone, or TIMEOUT s."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while sh("docker", "exec", HOST, "test", "-e", f"/proc/{pid}", check=False).returncode == 0:
        if deadline is not None and time.monotonic() > deadline:
            return
        time.sleep(0.02)


def kill_superlink() -> None:
    pid = sh("docker", "exec", HOST, "docker", "inspect", "--format", "{{.State.Pid}}", "flower-superlink").stdout
    pid = pid.strip()
    sh("docker", "exec", HOST, "sh", "-c", f"kill -9 {pid}")  # no /bin/kill in minbase
    # Probe only the new process: wait until the old one is gone.
    wait_gone(pid)
    until_ready()


def reboot_host() -> None:
    sh("docker", "restart", "--time", "60", HOST)
    until_ready()


def offsite(results: dict[str, object]) -> None:
    """RPO and RTO of off-host backups, on the offsite scenario's hosts."""
    import sys

    import docker
    import testinfra

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import Deployment, flwr_on

    def scenario(step: str) -> None:
        sh("molecule", step, "-s", "offsite")

    scenario("destroy")
    try:
        scenario("converge")
        inventory = max(Path.home().glob(".ansible/tmp/molecule.*.offsite/inventory"), key=lambda p: p.stat().st_mtime)
        superlink = testinfra.get_host("ansible://flower-offsite-superlink", ansible_inventory=str(inventory))
        deployment = Deployment(
            "/var/lib/flower-superlink", "state.db", "flower-superlink", "flower-superlink",
            "flwr/superlink:1.42.0", "1.42.0", 9093, 9092, 49999, 49999, False, "/etc/flower-superlink",
        )  # fmt: skip
        client = docker.from_env()
        cli = flwr_on(superlink, deployment, client)
        runs = {cli.submit_run() for _ in range(3)}
        cli.stop_running()
        backup = "flower-offsite-backup.service"
        results["offsite_backup_s"] = round(timed(lambda: superlink.run_test(f"systemctl start {backup}")), 2)
        # What one more hourly backup adds to the repository, after a run
        # changed the database: the growth per day at the default schedule,
        # before retention removes anything (forgotten data leaves at the
        # weekly prune).
        store = testinfra.get_host("ansible://flower-offsite-store", ansible_inventory=str(inventory))

        def repository_bytes() -> int:
            return int(store.check_output("du -sb /srv/restic/flower").split()[0])

        before = repository_bytes()
        runs.add(cli.submit_run())
        cli.stop_running()
        superlink.run_test(f"systemctl start {backup}")
        results["offsite_repository_growth_per_day_bytes"] = 24 * (repository_bytes() - before)
        client.containers.get("flower-offsite-superlink").stop(timeout=5)
        restore = [
            "ansible-playbook", "playbooks/restore.yml", "-i", str(inventory),
            "--limit", "flower-offsite-superlink", "-e", "ansible_host=flower-offsite-spare",
            # The machine it replaces is stopped above.
            "-e", "flower_offsite_backup_restore_replaces_machine=true",
        ]  # fmt: skip
        env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
        start = time.perf_counter()
        done = subprocess.run(restore, cwd=ROOT, check=False, capture_output=True, text=True, env=env)
        rto = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"bench: restore.yml failed\n{done.stdout[-3000:]}")
        spare = testinfra.get_host("ansible://flower-offsite-spare", ansible_inventory=str(inventory))
        listed = flwr_on(spare, deployment, client).run_ids()
        if not runs <= listed:
            raise SystemExit(f"bench: the restored SuperLink lists {listed}, not every run of {runs}")
        results["restore_new_host_rto_s"] = round(rto, 2)
        # Worst case at the default schedule: a host lost just before its next
        # backup finished loses one interval, the random delay and a backup.
        results["rpo_hourly_worst_s"] = round(3600 + 300 + float(results["offsite_backup_s"]), 2)
    finally:
        scenario("destroy")


FAN_SUPERLINK = "flower-fan-superlink"
FAN_NODES = [f"flower-fan-node{i}" for i in range(1, 10)]


def run_soak(results: dict[str, Any], faults: int, seed: int) -> None:
    """tests/soak.py on the bench host, deployed with deploy.yml (1.19.0 and its
    executor), runs submitted with the real flwr CLI."""
    import docker
    import soak
    import testinfra

    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import Deployment, flwr_on

    molecule("destroy")
    with tempfile.TemporaryDirectory() as tmp:
        inventory = Path(tmp) / "bench.json"
        try:
            molecule("create")
            inventory.write_text(json.dumps(inventory_for(DOCKER_CONNECTION)))
            host = testinfra.get_host(f"docker://{HOST}")
            deployment = Deployment(
                "/var/lib/flower-superlink", "state.db", "flower-superlink", "flower-superlink",
                "flwr/superlink:1.19.0", "1.19.0", 9093, 9092, 49999, 49999, False, "/etc/flower-superlink",
            )  # fmt: skip
            client = docker.from_env()

            def deploy() -> None:
                playbook(inventory, "deploy.yml", f"flower_superlink_memory_limit={soak.MEMORY_LIMIT}")

            def submit() -> int:
                # Left as they are (pending, or running without SuperNodes):
                # on 1.19 a run stopped while pending makes every later
                # ServerApp start fail, and the executor restart for ever.
                return flwr_on(host, deployment, client).submit_run()

            soak.soak(results, faults, seed, deploy, submit)
        finally:
            molecule("destroy")


def write_soak_docs(results: dict[str, Any]) -> None:
    """The soak's figures, in their own generated section of docs/benchmarks.md."""
    import soak

    env = f"Generated by `nox -s bench -- --soak N` on {results['when']}: {results['cores']} cores"
    replace_section("soak", [f"{env}, Docker {results['docker']}.", "", *soak.soak_table(results["soak"])])


def fanout(results: dict[str, Any]) -> None:
    """Fan-out: deploy.yml for one new SuperNode host, then for eight new ones at
    once (same play, forks), each with the SuperLink (1.42.0, TLS, keys
    registered through the Control API) already deployed."""
    sh("molecule", "destroy", "-s", "fanout")
    with tempfile.TemporaryDirectory() as tmp:
        inventory = Path(tmp) / "fanout.json"
        try:
            sh("molecule", "create", "-s", "fanout")
            ip = sh(
                "docker",
                "inspect",
                "--format",
                '{{(index .NetworkSettings.Networks "flower-fan").IPAddress}}',
                FAN_SUPERLINK,
            ).stdout.strip()
            docker = {"ansible_connection": "community.docker.docker"}
            inventory.write_text(
                json.dumps(
                    {
                        "all": {
                            "children": {
                                "superlink": {
                                    "hosts": {FAN_SUPERLINK: docker},
                                    "vars": {
                                        "flower_superlink_version": "1.42.0",
                                        "flower_superlink_image_source": "archive",
                                        "flower_superlink_image_archive": str(ARCHIVES / "flwr-superlink-1.42.0.tar"),
                                        "flower_superlink_insecure": False,
                                        "flower_superlink_tls_generate": True,
                                        "flower_superlink_tls_generate_dir": str(Path(tmp) / "tls"),
                                    },
                                },
                                "supernode": {
                                    "hosts": dict.fromkeys(FAN_NODES, docker),
                                    "vars": {
                                        "flower_supernode_image_source": "archive",
                                        "flower_supernode_image_archive": str(ARCHIVES / "flwr-supernode-1.42.0.tar"),
                                        "flower_supernode_docker_run_extra_args": [f"--add-host={FAN_SUPERLINK}:{ip}"],
                                    },
                                },
                            }
                        }
                    }
                )
            )
            playbook(inventory, "deploy.yml", limit=FAN_SUPERLINK)
            one = timed(lambda: playbook(inventory, "deploy.yml", limit=f"{FAN_SUPERLINK},{FAN_NODES[0]}"))
            outputs: list[str] = []
            limit = ",".join([FAN_SUPERLINK, *FAN_NODES[1:]])
            eight = timed(lambda: outputs.append(playbook(inventory, "deploy.yml", limit=limit)))
            # Where the eight-node play's time goes (the slowest tasks of the whole play).
            results["fanout_profile"] = task_profile(outputs[-1], host=FAN_NODES[1])
            # The same two plays once every node is deployed: what the
            # controller does per host, without eight image loads sharing
            # this machine's cores. The eight first (it gives the new
            # SuperNodes time to settle: their start-up imports would load
            # the one-node play), each twice, the second timed.
            playbook(inventory, "deploy.yml", limit=limit)
            eight_again = timed(lambda: playbook(inventory, "deploy.yml", limit=limit))
            playbook(inventory, "deploy.yml", limit=f"{FAN_SUPERLINK},{FAN_NODES[0]}")
            one_again = timed(lambda: playbook(inventory, "deploy.yml", limit=f"{FAN_SUPERLINK},{FAN_NODES[0]}"))
            results["fanout"] = {
                "deploy_1_new_node_s": round(one, 2),
                "deploy_8_new_nodes_s": round(eight, 2),
                "deploy_1_node_no_change_s": round(one_again, 2),
                "deploy_8_nodes_no_change_s": round(eight_again, 2),
            }
        finally:
            sh("molecule", "destroy", "-s", "fanout")


# Run on the bench host: the whole machine's busy CPU time (the host's
# /proc/stat is the machine's) while the collector runs N times back to back,
# less what the machine burns idle over the same time, measured just before.
_COLLECTOR_CPU = r"""
import json, os, subprocess, sys, time
def busy():
    with open("/proc/stat") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
n, unit = int(sys.argv[1]), sys.argv[2]
subprocess.run(["systemctl", "start", unit], check=True)
start, began = busy(), time.monotonic()
time.sleep(20)
idle = (busy() - start) / (time.monotonic() - began)
start, began = busy(), time.monotonic()
for _ in range(n):
    subprocess.run(["systemctl", "start", unit], check=True)
elapsed = time.monotonic() - began
print(json.dumps({"cpu_s": (busy() - start - idle * elapsed) / n, "wall_s": elapsed / n, "idle_cores": idle}))
"""


def collector_cpu(runs: int = 30, interval: float = 60) -> dict[str, float]:
    """CPU-seconds one collection of the SuperLink's metrics costs, and the
    share of one core that is at the default interval."""
    measured = json.loads(
        sh(
            "docker", "exec", HOST, "python3", "-c", _COLLECTOR_CPU, str(runs), "flower-superlink-metrics.service"
        ).stdout
    )
    return {
        "cpu_s": round(measured["cpu_s"], 3),
        "wall_s": round(measured["wall_s"], 3),
        "share_of_a_core_pct": round(100 * measured["cpu_s"] / interval, 2),
        "n": runs,
    }


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(samples), 2),
        "min_s": round(min(samples), 2),
        "max_s": round(max(samples), 2),
        "n": len(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5, help="samples per restart kind")
    parser.add_argument("--offsite", action="store_true", help="also time off-host backup and restore (RPO/RTO)")
    parser.add_argument("--offsite-only", action="store_true", help="only time off-host backup and restore")
    parser.add_argument("--fanout-only", action="store_true", help="only the fan-out: deploy to 8 new SuperNodes vs 1")
    parser.add_argument(
        "--metrics-only", action="store_true", help="only the metrics collector's CPU, on 1.19.0 and 1.42.0"
    )
    parser.add_argument(
        "--connection", choices=["ssh", "docker"], default="ssh", help="how the timed playbooks reach the bench host"
    )
    parser.add_argument(
        "--soak", type=int, default=0, metavar="N", help="only the soak: N random faults (tests/soak.py)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the soak's random seed (default: from the clock)")
    opts = parser.parse_args()
    results: dict[str, Any] = {
        "machine": platform.node(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cores": os.cpu_count(),
        "connection": "ssh (pipelining, ControlPersist)" if opts.connection == "ssh" else "community.docker.docker",
        "ansible": sh("ansible", "--version").stdout.splitlines()[0],
        "docker": sh("docker", "version", "--format", "{{.Server.Version}}").stdout.strip(),
    }
    if opts.fanout_only:
        # The fan-out hosts are reached with `docker exec` (no sshd on ten hosts).
        results["connection"] = "community.docker.docker"
        fanout(results)
        fan = results["fanout"]
        one, eight = fan["deploy_1_new_node_s"], fan["deploy_8_new_nodes_s"]
        again_one, again_eight = fan["deploy_1_node_no_change_s"], fan["deploy_8_nodes_no_change_s"]
        fan["ratio"] = (
            f"8 new nodes / 1 new node: {eight} s / {one} s = {eight / one:.2f}x (target <= 1.5x) "
            f"{_met(eight <= 1.5 * one)}\n"
            f"- 8 nodes / 1 node, nothing to change: {again_eight} s / {again_one} s = "
            f"{again_eight / again_one:.2f}x (target <= 1.5x) {_met(again_eight <= 1.5 * again_one)}"
        )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.with_name("fanout.json").write_text(json.dumps(results, indent=2) + "\n")
        write_docs("fanout", results)
        print(json.dumps(results, indent=2))
        return
    if opts.soak:
        results["connection"] = "community.docker.docker"
        run_soak(results, opts.soak, opts.seed or int(time.time()))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.with_name("soak.json").write_text(json.dumps(results, indent=2) + "\n")
        write_soak_docs(results)
        print(json.dumps({k: v for k, v in results["soak"].items() if k != "log"}, indent=2))
        return
    if opts.offsite_only:
        # The offsite scenario's hosts are reached with `docker exec`.
        results["connection"] = "community.docker.docker"
        offsite(results)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.with_name("offsite.json").write_text(json.dumps(results, indent=2) + "\n")
        write_docs("offsite", results)
        print(json.dumps(results, indent=2))
        return
    if opts.metrics_only:
        molecule("destroy")
        try:
            molecule("create")
            with tempfile.TemporaryDirectory() as tmp:
                inventory = Path(tmp) / "bench.json"
                inventory.write_text(json.dumps(inventory_for(DOCKER_CONNECTION)))
                playbook(inventory, "deploy.yml")
                results["metrics_collector_1_19"] = collector_cpu()
                playbook(inventory, "deploy.yml", *release("1.42.0"), "flower_superlink_upgrade_fresh_state=true")
                results["metrics_collector_1_42"] = collector_cpu()
        finally:
            molecule("destroy")
        results["connection"] = "community.docker.docker"
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.with_name("metrics.json").write_text(json.dumps(results, indent=2) + "\n")
        write_metrics_docs(results)
        print(json.dumps(results, indent=2))
        return
    molecule("destroy")
    with tempfile.TemporaryDirectory() as tmp:
        inventory = Path(tmp) / "bench.json"
        try:
            results["create_s"] = round(timed(lambda: molecule("create")), 2)
            connection = ssh_connection(Path(tmp)) if opts.connection == "ssh" else DOCKER_CONNECTION
            inventory.write_text(json.dumps(inventory_for(connection)))
            results["deploy_first_s"] = round(timed(lambda: playbook(inventory, "deploy.yml")), 2)
            # Medians of three: one sample of a 10 s play varies by a second.
            outputs: list[str] = []
            results["deploy_second_s"] = summary(
                [timed(lambda: outputs.append(playbook(inventory, "deploy.yml"))) for _ in range(3)]
            )
            results["no_change_profile"] = task_profile(outputs[-1])
            results["empty_play_s"] = summary([timed(lambda: empty_play(inventory)) for _ in range(3)])
            bare = [timed(bare_start_to_ready) for _ in range(opts.repeat)]
            sh("docker", "exec", HOST, "systemctl", "start", "flower-superlink")
            until_ready()
            results["bare_start_to_ready"] = summary(bare)
            for name, action in [
                ("restart_to_ready", restart_unit),
                ("kill9_to_ready", kill_superlink),
                ("reboot_to_ready", reboot_host),
            ]:
                results[name] = summary([timed(action) for _ in range(opts.repeat)])
            # Where a restart's time goes: the stop (docker stop, the unit's
            # ExecStop) and the start (ExecStartPre, docker run, Flower's own start).
            stops, starts = [], []
            for _ in range(opts.repeat):
                stops.append(timed(stop_unit))
                starts.append(timed(start_unit))
            results["stop_s"] = summary(stops)
            results["start_to_ready"] = summary(starts)
            results["backup_s"] = round(timed(lambda: playbook(inventory, "backup.yml")), 2)
            confirm = "flower_superlink_reset_confirm=true"
            results["reset_s"] = round(timed(lambda: playbook(inventory, "reset.yml", confirm)), 2)
            upgrade = release("1.20.0")
            results["upgrade_s"] = round(timed(lambda: playbook(inventory, "deploy.yml", *upgrade)), 2)
            results["rollback_s"] = round(timed(lambda: playbook(inventory, "rollback.yml")), 2)
            # Past the schema check 1.42.0 exits 105 on the 1.19 database: the
            # deploy fails its gate and puts 1.19.0 back by itself.
            refused = [*release("1.42.0"), "flower_superlink_upgrade_schema_check=false"]
            results["upgrade_auto_rollback_s"] = round(
                timed(lambda: playbook(inventory, "deploy.yml", *refused, fails=True)), 2
            )
            fresh = [*release("1.42.0"), "flower_superlink_upgrade_fresh_state=true"]
            results["upgrade_fresh_state_s"] = round(timed(lambda: playbook(inventory, "deploy.yml", *fresh)), 2)
            results["rollback_from_fresh_state_s"] = round(timed(lambda: playbook(inventory, "rollback.yml")), 2)
        finally:
            molecule("destroy")
    if opts.offsite:
        offsite(results)
    results["ratios"] = ratios(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    write_docs("main", results)
    print(json.dumps(results, indent=2))
    for line in results["ratios"]:
        print(line)


def ratios(results: dict[str, Any]) -> list[str]:
    """Issue 11's targets, each with the two figures it divides."""
    lines = []
    deploy, empty = results["deploy_second_s"]["median_s"], results["empty_play_s"]["median_s"]
    ok = deploy <= 3 * empty
    lines.append(
        f"no-change deploy / empty play: {deploy} s / {empty} s = {deploy / empty:.1f}x (target <= 3x) {_met(ok)}"
    )
    bare = results["bare_start_to_ready"]["median_s"]
    for name in ("restart_to_ready", "kill9_to_ready"):
        took = results[name]["median_s"]
        limit = 1.5 * bare + 1
        lines.append(
            f"{name}: {took} s vs 1.5 x bare start-to-ready ({bare} s) + 1 s = {limit:.2f} s {_met(took <= limit)}"
        )
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


DOCS = ROOT / "docs/benchmarks.md"
LABELS = {
    "create_s": "Create the test host",
    "deploy_first_s": "First deploy (Docker from the Debian mirror, image from the archive)",
    "deploy_second_s": "No-change deploy",
    "empty_play_s": "Empty play that gathers facts (the floor)",
    "bare_start_to_ready": "Bare `flower-superlink` start → ready (the floor)",
    "restart_to_ready": "`systemctl restart` → ready",
    "kill9_to_ready": "`kill -9` → ready (includes `RestartSec=1`)",
    "stop_s": "`systemctl stop` (part of a restart)",
    "start_to_ready": "`systemctl start` → ready (part of a restart)",
    "reboot_to_ready": "Host reboot → ready",
    "backup_s": "`backup.yml`",
    "reset_s": "`reset.yml` (confirmed)",
    "upgrade_s": "Upgrade to 1.20.0 (`deploy.yml`, pre-upgrade backup)",
    "rollback_s": "`rollback.yml`",
    "upgrade_auto_rollback_s": "Upgrade to 1.42.0 refused by Flower (exit 105), rolled back by the role",
    "upgrade_fresh_state_s": "Fresh-state upgrade to 1.42.0",
    "rollback_from_fresh_state_s": "`rollback.yml` back to 1.19.0",
    "offsite_backup_s": "One scheduled off-host backup (SFTP, restic)",
    "restore_new_host_rto_s": "RTO: host gone → `restore.yml` on the spare → every run listed",
    "rpo_hourly_worst_s": "RPO, worst case at the default schedule",
    "offsite_repository_growth_per_day_bytes": "Repository growth per day, hourly (24 backups, each after a new run)",
    "deploy_1_new_node_s": "`deploy.yml`: SuperLink + one new SuperNode host",
    "deploy_8_new_nodes_s": "`deploy.yml`: SuperLink + eight new SuperNode hosts",
    "deploy_1_node_no_change_s": "`deploy.yml`: SuperLink + one deployed SuperNode, nothing to change",
    "deploy_8_nodes_no_change_s": "`deploy.yml`: SuperLink + eight deployed SuperNodes, nothing to change",
}


def _cell(value: Any, key: str = "") -> str:
    if isinstance(value, dict):
        return f"{value['median_s']} s median ({value['min_s']} to {value['max_s']}, n={value['n']})"
    if key.endswith("_bytes"):
        return f"{value / 1e6:.2f} MB"
    return f"{value} s"


def write_docs(section: str, results: dict[str, Any]) -> None:
    """Replace the generated SECTION of docs/benchmarks.md with RESULTS: the
    tables there come from this script, never from an editor."""
    flat = {**results, **results.get("fanout", {})}
    env = (
        f"Generated by `nox -s bench` on {results['when']}: {results['cores']} cores, "
        f"connection {results['connection']}, {results['ansible']}, Docker {results['docker']}."
    )
    rows = [f"| {label} | {_cell(flat[key], key)} |" for key, label in LABELS.items() if key in flat]
    ratios = [f"- {line}" for line in results.get("ratios", [])]
    if "ratio" in flat:
        ratios.append(f"- {flat['ratio']}")
    body = [env, "", "| What | Time |", "|---|---|", *rows, "", *ratios]
    for key, what in (("no_change_profile", "The last no-change deploy"), ("fanout_profile", "The eight-node deploy")):
        profile = results.get(key)
        if profile:
            counts = ", ".join(f"{k} {v}" for k, v in profile["results"].items() if v)
            body += ["", f"{what}'s task results (one host): {counts}. Its slowest tasks:", ""]
            body += [f"- {line}" for line in profile["slowest"]]
    replace_section(section, body)


def replace_section(section: str, lines: list[str]) -> None:
    """Put LINES between docs/benchmarks.md's markers of SECTION: its tables
    come from this script, never from an editor."""
    begin, end = f"<!-- bench:{section}:begin -->", f"<!-- bench:{section}:end -->"
    text = DOCS.read_text()
    if begin not in text or end not in text:
        print(f"bench: {DOCS} has no {begin} ... {end} section; not updated")
        return
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    DOCS.write_text(head + begin + "\n" + "\n".join(lines).rstrip() + "\n" + end + tail)


def write_metrics_docs(results: dict[str, Any]) -> None:
    """The collector's cost, in its own generated section of docs/benchmarks.md."""
    rows = []
    for key, what in (
        ("metrics_collector_1_19", "1.19.0 (probe inside the container)"),
        ("metrics_collector_1_42", "1.42.0 (probe through the proxy, from the host)"),
    ):
        m = results[key]
        met = "met" if m["share_of_a_core_pct"] < 1 else "NOT met"
        rows.append(f"| {what} | {m['cpu_s']} | {m['wall_s']} | {m['share_of_a_core_pct']} % ({met}) |")
    body = [
        f"Generated by `nox -s bench -- --metrics-only` on {results['when']}: {results['cores']} cores, "
        f"Docker {results['docker']}. Machine-wide CPU while the collector ran "
        f"{results['metrics_collector_1_19']['n']} times back to back, less the idle machine's over the same time.",
        "",
        "| Release | CPU-seconds per collection | Wall seconds | Share of a core every 60 s (target < 1 %) |",
        "|---|---|---|---|",
        *rows,
    ]
    replace_section("metrics", body)


if __name__ == "__main__":
    main()
