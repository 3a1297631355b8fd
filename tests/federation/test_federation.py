"""A whole federation: one SuperLink, two SuperNodes on their own hosts.

playbooks/deploy.yml deployed all three in one run (molecule/federation):
each SuperNode made its own key pair, the SuperLink registered the public
keys and serves TLS with a generated CA, the nodes got that CA and joined.
The proof is Flower's own: runs submitted with the real ``flwr`` CLI reach
``finished:completed`` with a strategy that needs every node, and the
SuperLink lists the nodes online.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import testinfra
from conftest import ROOT, Flwr, assert_ok, playbook_env, sha256, wait_for
from metrics import METRICS_FILE, alert_states, by_status, collect, collect_node, scraped, value

# The tests drive the federation from its SuperLink host. Every test takes
# `host`: pytest groups tests by that parametrized fixture, so one without it
# would run out of file order (after the decommissioning at the end).
testinfra_hosts = ["ansible://flower-fed-superlink"]
NODES = ["flower-fed-node-d12", "flower-fed-node-d13"]
SERVICE = "flower-supernode"
CONTAINER = "flower-supernode"


@pytest.fixture(scope="module")
def nodes(request: pytest.FixtureRequest) -> dict[str, Any]:
    inventory = request.config.getoption("ansible_inventory")
    return {name: testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory) for name in NODES}


def completed_run(flwr: Flwr, timeout: float = 420, nodes: int = len(NODES)) -> int:
    """Submit a run that needs NODES nodes; its ID once Flower reports it completed."""
    run_id = int(flwr.call("run", "--run-config", f"min-nodes={nodes}")["run-id"])
    status = flwr.wait_finished({run_id}, timeout)[run_id]
    assert status == "finished:completed", f"run {run_id} on {nodes} SuperNodes ended {status}"
    return run_id


def online_nodes(flwr: Flwr) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = flwr.call("supernode", "ls")["nodes"]
    return [n for n in nodes if n.get("status") == "online"]


# Nodes whose last heartbeat keeps them online now (the SuperLink marks a
# silent node offline only when something reads it, so `status` alone lags).
_ONLINE_NODES = """
import json, sqlite3, sys, time, urllib.parse
con = sqlite3.connect(f"file:{urllib.parse.quote(sys.argv[1])}?mode=ro", uri=True)
rows = con.execute("SELECT count(*) FROM node WHERE status = 'online' AND online_until > ?", (time.time(),))
print(rows.fetchone()[0])
"""


def wait_online(flwr: Flwr, count: int, timeout: float) -> None:
    """Wait until COUNT SuperNodes are online: polled in the SuperLink's
    database (a `flwr` call costs seconds of CPU), then confirmed by `flwr supernode ls`."""
    database = flwr.deployment.database
    wait_for(
        lambda: int(flwr.host.check_output("python3 -c %s %s", _ONLINE_NODES, database)) == count,
        timeout,
        f"{count} SuperNode(s) online in the database",
        interval=2,
    )
    wait_for(lambda: len(online_nodes(flwr)) == count, 30, f"flwr to list {count} SuperNode(s) online", interval=3)


def test_each_supernode_runs_confined_with_its_own_key(host: Any, nodes: dict[str, Any]) -> None:
    for name, node in nodes.items():
        assert node.service(SERVICE).is_enabled, name
        assert node.service(SERVICE).is_running, name
        key = node.file("/etc/flower-supernode/keys/supernode")
        assert (key.uid, key.mode) == (49999, 0o600), name
        inspected = json.loads(node.check_output("docker inspect %s", CONTAINER))[0]
        assert inspected["Config"]["User"] == "49999:49999"
        assert inspected["HostConfig"]["CapDrop"] == ["ALL"]
        assert inspected["HostConfig"]["ReadonlyRootfs"] is True
        assert "no-new-privileges" in inspected["HostConfig"]["SecurityOpt"]
        # No credentials or daemon config left behind by an image pull.
        assert not node.file("/root/.docker/config.json").exists
        # The engine starts the SuperNode whenever it starts (systemd's own view).
        assert SERVICE + ".service" in node.check_output("systemctl show docker.service -p Wants --value").split()


def test_the_superlink_registered_both_keys_and_lists_both_nodes_online(host: Any, flwr: Flwr) -> None:
    wait_online(flwr, len(NODES), 90)


def test_a_run_completes_with_every_supernode(host: Any, flwr: Flwr) -> None:
    completed_run(flwr)


# --- metrics: Flower's own data, through node_exporter into Prometheus -------------


def test_the_metrics_say_what_flower_says_and_prometheus_scrapes_them(host: Any, flwr: Flwr) -> None:
    wait_online(flwr, len(NODES), 90)
    runs = by_status(flwr.runs())
    samples = collect(host)
    assert value(samples, "flower_superlink_up") == 1
    assert value(samples, "flower_superlink_listed_runs") == sum(runs.values())
    for status in ("pending", "starting", "running", "finished:completed", "finished:failed", "finished:stopped"):
        assert value(samples, "flower_superlink_runs", status=status) == runs.get(status, 0), status
    assert runs["finished:completed"] >= 1
    assert value(samples, "flower_superlink_runs_submitted_total") == sum(runs.values())
    assert value(samples, "flower_superlink_supernodes", status="online") == len(online_nodes(flwr)) == len(NODES)
    assert value(samples, "flower_superlink_supernodes", status="offline") == 0
    assert value(samples, "flower_superlink_supernodes", status="registered") == 0
    assert value(samples, "flower_superlink_info", release="1.42.0") == 1
    for unit in ("flower-superlink", "flower-superlink-proxy", "flower-superlink-superexec"):
        assert value(samples, "flower_superlink_unit_active", unit=f"{unit}.service") == 1, unit
    # Flower may grow the file between the two reads, never shrink it.
    assert 0 < value(samples, "flower_superlink_database_size_bytes") <= host.file(flwr.deployment.database).size
    # SQLite's quick_check of the live database, as Flower's user, beside Flower writing it.
    assert value(samples, "flower_superlink_database_integrity_ok") == 1
    # Read as Flower's user: nothing in the state directory belongs to root.
    assert host.check_output("find %s ! -uid 49999", flwr.deployment.state_dir) == ""
    written = host.file(METRICS_FILE)
    assert (written.user, written.mode) == ("root", 0o644)
    # Prometheus scraped the same through node_exporter.
    wait_for(
        lambda: (
            scraped(host, 'flower_superlink_runs{status="finished:completed"}') == runs["finished:completed"] or None
        ),
        60,
        "Prometheus to scrape the collector's runs",
    )
    assert scraped(host, 'flower_superlink_supernodes{status="online"}') == len(NODES)
    assert scraped(host, "flower_superlink_up") == 1


def test_the_superlink_down_alert_goes_pending_when_it_stops_and_clears_when_it_is_back(host: Any, flwr: Flwr) -> None:
    assert alert_states(host, "FlowerSuperLinkDown") == set()
    host.check_output("systemctl stop flower-superlink")
    try:
        samples = collect(host)
        assert value(samples, "flower_superlink_up") == 0
        assert value(samples, "flower_superlink_unit_active", unit="flower-superlink.service") == 0
        # From the database alone, while Flower is down.
        assert value(samples, "flower_superlink_runs", status="finished:completed") >= 1
        wait_for(
            lambda: alert_states(host, "FlowerSuperLinkDown") & {"pending", "firing"} or None,
            60,
            "Prometheus to raise FlowerSuperLinkDown",
        )
    finally:
        host.check_output("systemctl start flower-superlink")
    wait_for(lambda: value(collect(host), "flower_superlink_up") == 1 or None, 120, "the SuperLink to answer")
    wait_for(lambda: alert_states(host, "FlowerSuperLinkDown") == set() or None, 60, "FlowerSuperLinkDown to clear")
    wait_online(flwr, len(NODES), 120)


def test_supernode_metrics_say_up_and_connected_and_count_failed_clientapps(
    host: Any, flwr: Flwr, nodes: dict[str, Any]
) -> None:
    before = {}
    for name, node in nodes.items():
        assert node.service("flower-supernode-metrics.timer").is_enabled, name
        samples = collect_node(node)
        assert value(samples, "flower_supernode_up") == 1, name
        assert value(samples, "flower_supernode_connected") == 1, name
        for unit in ("flower-supernode", "flower-supernode-superexec"):
            assert value(samples, "flower_supernode_unit_active", unit=f"{unit}.service") == 1, (name, unit)
        before[name] = value(samples, "flower_supernode_clientapp_failures_total")
        # Prometheus on the SuperLink host scrapes each node's node_exporter.
        wait_for(
            lambda name=name: scraped(host, f'flower_supernode_connected{{instance="{name}:9100"}}') == 1 or None,
            60,
            f"Prometheus to scrape {name}'s SuperNode as connected",
        )
    run_id = int(
        flwr.call("run", "--run-config", f"min-nodes={len(NODES)}", "--run-config", "fail-clientapp=true")["run-id"]
    )
    flwr.wait_finished({run_id}, 420)
    for name, node in nodes.items():
        failed = value(collect_node(node), "flower_supernode_clientapp_failures_total")
        assert failed is not None and before[name] is not None
        assert failed >= before[name] + 1, (name, before[name], failed)
    # A node whose SuperNode is stopped says so.
    node = nodes[NODES[0]]
    node.check_output("systemctl stop flower-supernode")
    try:
        samples = collect_node(node)
        assert value(samples, "flower_supernode_up") == 0
        assert value(samples, "flower_supernode_connected") == 0
    finally:
        node.check_output("systemctl start flower-supernode")
    wait_for(lambda: value(collect_node(node), "flower_supernode_connected") == 1 or None, 120, "the node to reconnect")
    wait_online(flwr, len(NODES), 120)


# --- the operator's unit, started when a unit dies (flower_*_on_failure) -------------

ALERTS = "/var/log/flower-test-alert"


def alerts(target: Any) -> list[str]:
    """Which units the test alert unit (molecule/federation/monitoring.yml) was started for."""
    return [line.split()[0] for line in target.run("cat %s", ALERTS).stdout.splitlines() if line.strip()]


def alert_journal(target: Any, unit: str) -> str:
    """What the alert log holds and what the unit and its SuperExec did, for a failure message."""
    log = target.run("cat %s", ALERTS).stdout
    journal = target.run(
        "journalctl -u %s -u %s-superexec -u 'flower-test-alert@*' -n 60 -o short-monotonic --no-pager", unit, unit
    ).stdout
    return f"alert log:\n{log}journal:\n{journal}"


def kill_main_process(target: Any, container: str) -> None:
    """kill -9 the container's main process, once it runs (never `kill -9 0`)."""

    def running_pid() -> int | None:
        found = target.run("docker inspect --format '{{.State.Pid}}' %s", container).stdout.strip()
        return int(found) if found.isdigit() and int(found) > 1 else None

    target.check_output("kill -9 %s", str(wait_for(running_pid, 60, f"{container} to run")))


def executor_rejoined(target: Any, owner: str, quiet: float = 15) -> None:
    """Wait until OWNER's unit has stopped restarting (its container running,
    systemd's restart count unchanged for QUIET seconds) and its SuperExec
    runs in the network namespace of that container, not of the one before."""
    seen: dict[str, Any] = {"state": None, "since": time.monotonic()}

    def settled() -> bool | None:
        restarts = target.check_output("systemctl show --property NRestarts --value %s", owner)
        owner_id = target.run("docker inspect --format '{{.Id}}' %s", owner).stdout.strip()
        joined = target.run("docker inspect --format '{{.HostConfig.NetworkMode}}' %s-superexec", owner).stdout.strip()
        state = (restarts, owner_id)
        if state != seen["state"]:
            seen.update(state=state, since=time.monotonic())
        if not owner_id or joined != f"container:{owner_id}":
            return None
        return True if time.monotonic() - seen["since"] >= quiet else None

    wait_for(settled, 240, f"{owner} to settle and its SuperExec to join its new container", interval=2)


def test_the_operators_unit_starts_when_a_unit_dies_not_when_it_is_restarted(
    host: Any, flwr: Flwr, nodes: dict[str, Any]
) -> None:
    """On Debian 12 (systemd 252: OnFailure= would never fire for a unit
    systemd restarts) and Debian 13 (257: it would fire at every crash) alike.
    After each kill every SuperExec follows its owner into the new container;
    after the SuperLink's restart and kill every node rejoins it, and a run
    completes."""
    before = alerts(host)
    host.check_output("systemctl restart flower-superlink")
    # Settled first: a kill while the SuperExec still starts fails that start
    # too (its ExecStartPre asks the dead container), a second, true alert.
    executor_rejoined(host, "flower-superlink")
    flwr.wait_run_ids()
    assert alerts(host) == before, "a requested restart is not a failure"
    kill_main_process(host, "flower-superlink")
    wait_for(
        lambda: alerts(host)[len(before) :] == ["flower-superlink.service"] or None,
        60,
        "the alert unit to run",
        explain=lambda: alert_journal(host, "flower-superlink"),
    )
    # Restarted by systemd, the SuperLink's SuperExec follows it into the new
    # container (it stayed in the dead one's namespace before).
    executor_rejoined(host, "flower-superlink")
    flwr.wait_run_ids()
    for name, node in nodes.items():
        seen = alerts(node)
        # Its SuperExec, stopped by the restart, ends non-zero: still asked for.
        node.check_output("systemctl restart flower-supernode")
        executor_rejoined(node, "flower-supernode")
        assert alerts(node) == seen, f"a requested restart on {name} is not a failure"
        kill_main_process(node, "flower-supernode")
        wait_for(
            lambda node=node, seen=seen: alerts(node)[len(seen) :] == ["flower-supernode.service"] or None,
            60,
            f"the alert unit to run on {name}",
            explain=lambda node=node: alert_journal(node, "flower-supernode"),
        )
        executor_rejoined(node, "flower-supernode")
    wait_online(flwr, len(NODES), 180)
    # Both SuperExecs serve: a run needing both nodes completes.
    completed_run(flwr)


# --- process isolation: apps in containers of their own ------------------------

# The executor containers' only file from the host: the CA that verifies the
# SuperLink's Runtime API (1.37+ with TLS); a SuperNode's gets none.
EXECUTORS = {
    "superlink": ("flower-superlink", ["/etc/flower-superlink/tls/ca.crt:/app/superlink-ca.crt:ro"]),
    "supernode": ("flower-supernode", []),
}


def executor_confined(target: Any, owner: str, binds: list[str]) -> None:
    inspected = json.loads(target.check_output("docker inspect %s-superexec", owner))[0]
    config, host_config = inspected["Config"], inspected["HostConfig"]
    assert config["User"] == "49999:49999"
    assert host_config["CapDrop"] == ["ALL"] and not host_config["CapAdd"]
    assert host_config["ReadonlyRootfs"] is True
    assert "no-new-privileges" in host_config["SecurityOpt"]
    # The namespace of the container running now, not of one before a restart.
    owner_inspected = json.loads(target.check_output("docker inspect %s", owner))[0]
    assert host_config["NetworkMode"] == f"container:{owner_inspected['Id']}"
    assert (host_config["Binds"] or []) == binds
    assert not [m for m in inspected["Mounts"] if m["Type"] == "volume"]
    # Flower's executor, through the launcher that exits when it dies.
    assert config["Entrypoint"] == ["python"]
    assert config["Cmd"][2:4] == [
        "flower-superexec",
        "--insecure" if owner == "flower-supernode" else "--root-certificates",
    ]
    # Flower runs apps beside itself unless told otherwise.
    owner_args = owner_inspected["Args"]
    assert "--isolation" in owner_args and owner_args[owner_args.index("--isolation") + 1] == "process"


def test_serverapps_and_clientapps_run_in_confined_executors(host: Any, nodes: dict[str, Any]) -> None:
    owner, binds = EXECUTORS["superlink"]
    assert host.service(f"{owner}-superexec").is_enabled
    executor_confined(host, owner, binds)
    for name, node in nodes.items():
        owner, binds = EXECUTORS["supernode"]
        assert node.service(f"{owner}-superexec").is_enabled, name
        executor_confined(node, owner, binds)


def test_an_app_reaches_no_state_key_or_socket_and_the_state_is_unchanged(
    host: Any, flwr: Flwr, nodes: dict[str, Any]
) -> None:
    """The ServerApp and each ClientApp look for the SuperLink's database and
    TLS key, the nodes' private keys, key lists and the Docker socket
    (tests/flower_app/tinyapp/probe.py); the run fails, naming what they
    found, if any is there. In the SuperLink's own container (subprocess
    isolation) the ServerApp finds the database and key."""
    key = "/etc/flower-superlink/tls/server.key"
    key_before = sha256(host, key)
    runs_before = {int(r["run-id"]): r["status"] for r in flwr.runs() if r["status"].startswith("finished")}
    run_id = int(
        flwr.call(
            "run",
            "--run-config",
            f"min-nodes={len(NODES)}",
            "--run-config",
            "probe-serverapp=true",
            "--run-config",
            "probe-clientapp=true",
        )["run-id"]
    )
    status = flwr.wait_finished({run_id}, 420)[run_id]
    assert status == "finished:completed", f"run {run_id} with the isolation probe ended {status}"
    assert sha256(host, key) == key_before
    runs_after = {int(r["run-id"]): r["status"] for r in flwr.runs()}
    assert {run: runs_after.get(run) for run in runs_before} == runs_before


def test_supernode_restarted_during_a_run_rejoins_and_the_next_run_completes(
    host: Any, flwr: Flwr, nodes: dict[str, Any]
) -> None:
    flwr.call("run", "--run-config", f"min-nodes={len(NODES)}")
    assert nodes[NODES[0]].run("systemctl restart %s", SERVICE).rc == 0
    flwr.stop_running()
    completed_run(flwr)


# --- images from the registry (molecule/federation/registry.yml) ------------------

REGISTRY = "flower-fed-registry:5000"


@pytest.fixture(scope="module")
def registry(request: pytest.FixtureRequest) -> Any:
    inventory = request.config.getoption("ansible_inventory")
    return testinfra.get_host("ansible://flower-fed-registry", ansible_inventory=inventory)


def pulled_digest() -> str:
    """The SuperNode image's digest, as prepare.yml read it back after the push."""
    return (Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "registry" / "supernode.digest").read_text().strip()


def running_image(target: Any, container: str) -> tuple[str, str, str]:
    """What a container runs: the reference its unit names, the image ID, its start time."""
    inspected = json.loads(target.check_output("docker inspect %s", container))[0]
    return inspected["Config"]["Image"], inspected["Image"], inspected["State"]["StartedAt"]


def test_every_image_was_pulled_from_the_registry_by_tag_or_digest(host: Any, nodes: dict[str, Any]) -> None:
    assert running_image(host, "flower-superlink")[0] == f"{REGISTRY}/flwr/superlink:1.42.0"
    digest = pulled_digest()
    assert digest.startswith("sha256:")
    assert running_image(nodes[NODES[0]], CONTAINER)[0] == f"{REGISTRY}/flwr/supernode@{digest}"
    unit = nodes[NODES[0]].file("/etc/systemd/system/flower-supernode.service").content_string
    assert f"{REGISTRY}/flwr/supernode@{digest}" in unit
    # The Debian 13 node runs the ClientApp image it built FROM the registry's image.
    app = running_image(nodes[NODES[1]], CONTAINER)[0]
    assert app.startswith("flower-supernode-app:"), app
    labels = nodes[NODES[1]].check_output("docker image inspect --format '{{json .Config.Labels}}' %s", app)
    assert json.loads(labels)["org.flower-iac.supernode-base"] == f"{REGISTRY}/flwr/supernode:1.42.0"


def test_clientapp_dependencies_were_built_into_the_node_image_offline(host: Any, nodes: dict[str, Any]) -> None:
    node = nodes[NODES[1]]
    found = node.run("docker exec %s python -c 'import iniconfig; print(iniconfig.__file__)'", CONTAINER)
    assert found.rc == 0, found.stderr
    assert "/python/venv/" in found.stdout
    # The build context held the wheel; the node's own engine built it with --no-index.
    assert node.file("/var/cache/flower-supernode/app/wheels").listdir() == ["iniconfig-2.0.0-py3-none-any.whl"]
    assert "--no-index" in node.file("/var/cache/flower-supernode/app/Dockerfile").content_string


def test_no_registry_credentials_are_left_on_any_host(host: Any, nodes: dict[str, Any]) -> None:
    variables = host.ansible.get_variables()
    password = variables["registry_password"]
    # The password in any form a login leaves: plain, or base64 of user:password.
    auth = base64.b64encode(f"{variables['registry_username']}:{password}".encode()).decode()
    for target in (host, *nodes.values()):
        assert not target.file("/root/.docker/config.json").exists
        assert target.run("ls -d /tmp/docker-login.* /root/.ansible/tmp/docker-login.*").rc != 0
        for secret in (password, auth):
            found = target.run("grep -rlF -e %s /etc /root /tmp /var/tmp", secret)
            assert found.stdout == "", found.stdout


def test_a_tag_moved_in_the_registry_changes_nothing_that_runs(
    request: pytest.FixtureRequest, host: Any, nodes: dict[str, Any], registry: Any
) -> None:
    """Someone pushes another image under the node's tag: neither a restart nor
    the operator's next deploy runs it; a new tag or a digest would."""
    tag = f"{REGISTRY}/flwr/supernode:1.42.0"
    dockerfile = f"FROM {tag}\\nLABEL moved=yes\\n"
    build = f"DOCKER_BUILDKIT=0 docker build -q -t {tag} -"
    moved = registry.run(f"printf '{dockerfile}' | {build} && docker push -q {tag}")
    assert moved.rc == 0, moved.stderr
    node = nodes[NODES[1]]
    before = running_image(node, CONTAINER)
    node.run_test("systemctl restart %s", SERVICE)
    wait_for(lambda: running_image(node, CONTAINER)[2] != before[2], 60, "the SuperNode to restart")
    assert running_image(node, CONTAINER)[1] == before[1], "a restart ran the moved tag"
    cmd = ["ansible-playbook", "playbooks/deploy.yml", "-i", request.config.getoption("ansible_inventory")]
    cmd += ["--limit", NODES[1]]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=playbook_env(), check=False)
    assert_ok(result)
    password = host.ansible.get_variables()["registry_password"]
    assert password not in result.stdout + result.stderr
    recaps = [line for line in result.stdout.splitlines() if line.startswith(NODES[1]) and " : ok=" in line]
    assert len(recaps) == 1 and "changed=0" in recaps[0], recaps
    assert running_image(node, CONTAINER)[1] == before[1], "the deploy ran the moved tag"
    assert "moved" not in node.check_output("docker inspect --format '{{json .Config.Labels}}' %s", CONTAINER)


def test_check_mode_on_the_whole_federation_changes_nothing(request: pytest.FixtureRequest, host: Any) -> None:
    cmd = ["ansible-playbook", "playbooks/deploy.yml", "--check", "--diff"]
    cmd += ["-i", request.config.getoption("ansible_inventory")]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=playbook_env(), check=False)
    assert_ok(result)
    recaps = [line for line in result.stdout.splitlines() if " : ok=" in line]
    assert len(recaps) == 1 + len(NODES), recaps
    assert all("changed=0" in line for line in recaps), recaps


# --- decommissioning (last: it removes the nodes; test_bad_supernode_input.py runs
# before this file, on the federation as deployed) --------------------------------

KEY = "/etc/flower-supernode/keys/supernode"
CA = "/etc/flower-supernode/tls/ca.crt"
UNIT = "/etc/systemd/system/flower-supernode.service"


def decommission(
    request: pytest.FixtureRequest, *extra: str, names: str = NODES[0], limit: str = "", also: str = ""
) -> subprocess.CompletedProcess[str]:
    """playbooks/decommission.yml for NAMES; ALSO: one more inventory source,
    whose host variables win over the scenario's."""
    cmd = ["ansible-playbook", "playbooks/decommission.yml", "-i", request.config.getoption("ansible_inventory")]
    cmd += ["-i", also] if also else []
    for var in (f"flower_supernode_decommission={names}", *extra):
        cmd += ["-e", var]
    cmd += ["--limit", limit] if limit else []
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=playbook_env(), check=False)


def test_decommission_limited_to_the_node_is_refused(
    request: pytest.FixtureRequest, host: Any, nodes: dict[str, Any]
) -> None:
    """--limit NODE would skip the play that revokes its key on the SuperLink:
    the node is not wiped while its key still gets in."""
    node = nodes[NODES[0]]
    before = (sha256(node, UNIT), sha256(node, KEY))
    result = decommission(request, "flower_supernode_decommission_confirm=true", limit=NODES[0])
    assert result.returncode != 0
    assert "was not revoked on its SuperLink flower-fed-superlink" in " ".join(result.stdout.split()), result.stdout
    assert (sha256(node, UNIT), sha256(node, KEY)) == before
    assert node.service(SERVICE).is_running


def test_decommission_without_confirmation_is_refused(
    request: pytest.FixtureRequest, host: Any, nodes: dict[str, Any]
) -> None:
    node = nodes[NODES[0]]
    before = (sha256(node, UNIT), sha256(node, KEY))
    result = decommission(request)
    assert result.returncode != 0
    assert "Nothing was changed" in " ".join(result.stdout.split())
    assert (sha256(node, UNIT), sha256(node, KEY)) == before
    assert node.service(SERVICE).is_running


def test_decommissioned_node_is_gone_and_its_old_key_refused(
    request: pytest.FixtureRequest, flwr: Flwr, nodes: dict[str, Any], docker_client: Any, tmp_path: Path
) -> None:
    node = nodes[NODES[0]]
    # What a stolen or forgotten copy of the node's identity would be.
    node.run("mkdir -p /root/old && cp %s %s.pub %s /root/old/ && chown -R 49999 /root/old", KEY, KEY, CA)
    # The other node's machine cannot be reached meanwhile (as over SSH to a
    # machine that is gone): it blocks neither the revocation nor loses its
    # own key (the SuperLink keeps the key it read before), so it stays in.
    gone = tmp_path / "gone.yml"
    gone.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        NODES[1]: {
                            "ansible_connection": "ssh",
                            "ansible_host": "192.0.2.1",
                            "ansible_ssh_common_args": "-o ConnectTimeout=3 -o BatchMode=yes",
                        }
                    }
                }
            }
        )
    )
    result = decommission(request, "flower_supernode_decommission_confirm=true", also=str(gone))
    assert_ok(result)
    assert f"SuperNode(s) {NODES[1]} could not be reached" in " ".join(result.stdout.split()), result.stdout[-3000:]
    assert not node.file(UNIT).exists
    assert not node.file(KEY).exists
    assert not node.file(f"/etc/systemd/system/docker.service.d/{SERVICE}.conf").exists
    assert not node.service(SERVICE).is_running
    assert node.run("docker inspect %s", CONTAINER).rc != 0
    wait_online(flwr, 1, 90)
    # The old key no longer gets in: a SuperNode started by hand with it never comes online.
    address = docker_client.containers.get("flower-fed-superlink").attrs["NetworkSettings"]["Networks"]
    ip = address["flower-fed"]["IPAddress"]
    # The image the node pulled by digest (decommissioning leaves images alone).
    image = f"{REGISTRY}/flwr/supernode@{pulled_digest()}"
    node.check_output(
        "docker run -d --init --name revoked --pull never --add-host flower-fed-superlink:%s "
        "--volume /root/old:/app/old:ro %s --superlink flower-fed-superlink:9092 "
        "--root-certificates /app/old/ca.crt --auth-supernode-private-key /app/old/supernode",
        ip,
        image,
    )
    time.sleep(20)
    assert len(online_nodes(flwr)) == 1
    logs = node.run("docker logs revoked").stderr + node.run("docker logs revoked").stdout
    node.run("docker rm -f revoked")
    assert "SuperNode ID" not in logs, logs[-2000:]
    # The federation goes on with the node that is left.
    completed_run(flwr, nodes=1)


def start_by_hand(node: Any, name: str, keys: str, superlink_ip: str) -> None:
    """A SuperNode started outside the role with the key pair in KEYS (a directory on NODE)."""
    node.check_output(
        "docker run -d --init --name %s --pull never --add-host flower-fed-superlink:%s "
        "--volume %s:/app/keys:ro %s --superlink flower-fed-superlink:9092 "
        "--root-certificates /app/keys/ca.crt --auth-supernode-private-key /app/keys/supernode",
        name,
        superlink_ip,
        keys,
        f"{REGISTRY}/flwr/supernode@{pulled_digest()}",
    )


def test_without_supernodes_the_superlink_admits_none(
    request: pytest.FixtureRequest, host: Any, flwr: Flwr, nodes: dict[str, Any], docker_client: Any
) -> None:
    """Decommissioning the last SuperNode leaves an empty allow-list, which
    admits nobody: neither the removed node's key nor a key never seen."""
    node = nodes[NODES[1]]
    node.run("rm -rf /root/old /root/new && mkdir -p /root/old /root/new")
    node.run_test("cp %s %s.pub %s /root/old/ && cp %s /root/new/", KEY, KEY, CA, CA)
    node.run_test("ssh-keygen -q -t ecdsa -b 384 -N '' -C never-seen -f /root/new/supernode")
    node.run_test("chown -R 49999 /root/old /root/new")
    assert_ok(decommission(request, "flower_supernode_decommission_confirm=true", names=",".join(NODES)))
    wait_online(flwr, 0, 90)
    ip = docker_client.containers.get("flower-fed-superlink").attrs["NetworkSettings"]["Networks"]["flower-fed"]
    for name in ("old", "new"):
        start_by_hand(node, f"key-{name}", f"/root/{name}", ip["IPAddress"])
    time.sleep(20)
    assert online_nodes(flwr) == []
    for name in ("old", "new"):
        logs = node.run("docker logs key-%s", name)
        node.run("docker rm -f key-%s", name)
        assert "SuperNode ID" not in logs.stdout + logs.stderr, (name, logs.stderr[-2000:])
