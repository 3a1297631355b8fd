"""Shared testinfra fixtures: what is deployed where, and a real Flower CLI.

Molecule runs these tests against its inventory; every target is a systemd
container reached with ``docker exec`` (testinfra's docker backend).
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import docker
import pytest

# What each test costs in CPU, printed after the run (tests/cpu_cost.py).
pytest_plugins = ["cpu_cost"]

ROOT = Path(__file__).resolve().parent.parent
APP_DIR = Path(__file__).parent / "flower_app"
# The CLI container's main process: the `flwr` CLI imported once, forked per command.
ZYGOTE = (Path(__file__).parent / "flwr_zygote.py").read_text()
# Where the test app is copied on a target. Not /tmp: systemd cleans it at boot.
TARGET_APP_DIR = "/root/flower-app"
# Role defaults (roles/flower_superlink/defaults/main.yml); inventory overrides win.
DEFAULTS: dict[str, Any] = {
    "flower_superlink_state_dir": "/var/lib/flower-superlink",
    "flower_superlink_database_name": "state.db",
    "flower_superlink_service_name": "flower-superlink",
    "flower_superlink_container_name": "flower-superlink",
    "flower_superlink_image_repository": "flwr/superlink",
    "flower_superlink_version": "1.19.0",
    "flower_superlink_control_port": 9093,
    "flower_superlink_fleet_port": 9092,
    "flower_superlink_uid": 49999,
    "flower_superlink_gid": 49999,
    "flower_superlink_insecure": False,
    "flower_superlink_config_dir": "/etc/flower-superlink",
}

T = TypeVar("T")


@dataclass(frozen=True)
class Deployment:
    """What the role deployed on one target, from its inventory variables."""

    state_dir: str
    database_name: str
    service: str
    container: str
    image: str
    version: str
    control_port: int
    fleet_port: int
    uid: int
    gid: int
    tls: bool
    config_dir: str

    @property
    def database(self) -> str:
        return f"{self.state_dir}/{self.database_name}"

    @property
    def ca_cert(self) -> str:
        return f"{self.config_dir}/tls/ca.crt"


def wait_for(
    probe: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 1.0,
    explain: Callable[[], str] | None = None,
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` s,
    with what ``explain`` returns then (the journal, say): CI keeps only the
    failure's message."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except Exception as err:  # noqa: BLE001 - any failure means "not yet"
            last = err
        time.sleep(interval)
    detail = ""
    if explain is not None:
        try:
            detail = "\n" + explain()
        except Exception as err:  # noqa: BLE001 - the timeout is the failure to report
            detail = f"\n(could not explain: {err})"
    pytest.fail(
        f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last})" if last else "") + detail
    )


def target_name(host: Any) -> str:
    """The target's inventory name, which is also its container's name."""
    backend = host.backend
    if backend.NAME == "docker":
        return str(backend.name)
    name: str = host.ansible.get_variables()["inventory_hostname"]
    return name


@pytest.fixture(scope="module")
def deployment(host: Any) -> Deployment:
    variables = {**DEFAULTS, **host.ansible.get_variables()}
    tag = variables.get("flower_superlink_image_tag", variables["flower_superlink_version"])
    return Deployment(
        state_dir=variables["flower_superlink_state_dir"],
        database_name=variables["flower_superlink_database_name"],
        service=variables["flower_superlink_service_name"],
        container=variables["flower_superlink_container_name"],
        image=f"{variables['flower_superlink_image_repository']}:{tag}",
        version=variables["flower_superlink_version"],
        control_port=int(variables["flower_superlink_control_port"]),
        fleet_port=int(variables["flower_superlink_fleet_port"]),
        uid=int(variables["flower_superlink_uid"]),
        gid=int(variables["flower_superlink_gid"]),
        tls=not _as_bool(variables["flower_superlink_insecure"]),
        config_dir=variables["flower_superlink_config_dir"],
    )


@pytest.fixture(scope="module")
def container(host: Any, deployment: Deployment) -> dict[str, Any]:
    """`docker inspect` of the SuperLink container on the target, once it runs.

    A test before may have restarted the unit: `systemctl restart` returns
    once `docker run` has started, before the engine has made the container."""

    def running() -> dict[str, Any] | None:
        res = host.run("docker inspect %s", deployment.container)
        inspected: list[dict[str, Any]] = json.loads(res.stdout or "[]") if res.rc == 0 else []
        return inspected[0] if inspected and inspected[0]["State"]["Running"] else None

    return wait_for(running, 60, f"container {deployment.container} running")


def _as_bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """The engine on this machine, which runs the target hosts themselves."""
    client = docker.from_env()
    yield client
    client.close()


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:3])


class Flwr:
    """The real ``flwr`` CLI, run on the target from the deployed image.

    It runs in a container on the target's network (one per release, kept
    running between calls), as an operator's CLI would, and talks to the
    SuperLink's published Control (Exec) API. Its
    exit code means nothing (it exits 0 on failure), so every call parses the
    JSON answer and checks ``success``.

    Two generations of the CLI: up to Flower 1.25 a federation in the app's
    pyproject.toml names the SuperLink (`flwr ls . FEDERATION`); from 1.26 a
    connection in ~/.flwr/config.toml does (`flwr ls CONNECTION`), and the CLI
    rewrites an app's pyproject.toml that still has federations, so it gets
    a throwaway copy of the app.
    """

    def __init__(self, host: Any, deployment: Deployment, version: str | None = None, address: str = "") -> None:
        self.host = host
        self.deployment = deployment
        self.version = version or deployment.version
        self.address = address or f"127.0.0.1:{deployment.control_port}"

    def at(self, version: str) -> Flwr:
        """The CLI of another release (after an upgrade or rollback)."""
        return Flwr(self.host, self.deployment, version, self.address)

    def via(self, address: str) -> Flwr:
        """The same CLI dialing the SuperLink at another name or address."""
        return Flwr(self.host, self.deployment, self.version, address)

    @property
    def image(self) -> str:
        return f"{self.deployment.image.rsplit(':', 1)[0]}:{self.version}"

    @property
    def container(self) -> str:
        """The long-lived CLI container on the target, one per release (and TLS or not)."""
        return f"flwr-cli-{self.version}" + ("-tls" if self.deployment.tls else "")

    def _start_container(self) -> None:
        d = self.deployment
        # Over TLS the CLI verifies the SuperLink against the deployed CA (the
        # directory, so a replaced certificate is seen).
        tls = f"--volume {d.config_dir}/tls:/app/tls:ro " if d.tls else ""
        self.host.run("docker rm --force %s", self.container)
        # Its main process is the CLI, imported once (tests/flwr_zygote.py).
        started = self.host.run(
            f"docker run --detach --init --name {self.container} --network host --pull never {tls}"
            f"--volume {TARGET_APP_DIR}:/app/flower-app:ro --entrypoint python {self.image} "
            f"-c {shlex.quote(ZYGOTE)} serve"
        )
        assert started.rc == 0, f"cannot start the flwr CLI container: {started.stderr}"

    def call(self, *args: str) -> dict[str, Any]:
        """One ``flwr`` command in the CLI container (started on first use, and
        again after a reboot or engine restart took it away): a `docker exec`
        costs a fraction of a `docker run --rm` per call."""
        d = self.deployment
        name = "superlink-tls" if d.tls else "superlink"
        address = self.address
        # The CLI writes into the app directory (FABs, and from 1.26 a rewritten
        # pyproject.toml): each call works on a throwaway copy of the read-only app.
        prepare = 'd=$(mktemp -d) && cp -r /app/flower-app/. "$d" && cd "$d"'
        if version_tuple(self.version) < (1, 26):
            federation = 'address="' + address + '"'
            config = f"--federation-config {shlex.quote(federation)}"
            flwr = f"flwr {' '.join(args)} . {name} {config} --format json"
        else:
            security = 'root-certificates = "/app/tls/ca.crt"' if d.tls else "insecure = true"
            toml = f'[superlink]\ndefault = "{name}"\n\n[superlink.{name}]\naddress = "{address}"\n{security}\n'
            prepare += f" && mkdir -p ~/.flwr && printf %s {shlex.quote(toml)} > ~/.flwr/config.toml"
            app = ". " if args[0] == "run" else ""
            flwr = f"flwr {' '.join(args)} {app}{name} --format json"
        flwr = flwr.replace("flwr ", f'python -c {shlex.quote(ZYGOTE)} call "$d" ', 1)
        script = f'{prepare} && {flwr}; rc=$?; cd / && rm -rf "$d"; exit $rc'
        cmd = f"docker exec {self.container} sh -c {shlex.quote(script)}"
        res = self.host.run(cmd)
        if res.rc != 0 and ("No such container" in res.stderr or "Error response from daemon" in res.stderr):
            self._start_container()
            res = self.host.run(cmd)
        try:
            answer: dict[str, Any] = json.loads(res.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"flwr {args[0]} gave no JSON: rc={res.rc} {res.stdout!r} {res.stderr!r}") from None
        if not answer.get("success"):
            raise AssertionError(f"flwr {args[0]} failed: {answer}")
        return answer

    def submit_run(self) -> int:
        return int(self.call("run")["run-id"])

    def runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.call("ls")["runs"]
        return runs

    def run_ids(self) -> set[int]:
        return {int(run["run-id"]) for run in self.runs()}

    def stop_running(self) -> int:
        """Stop every run still running: their heartbeats write to the database.

        Returns how many runs were stopped."""
        stopped = 0
        for run in self.runs():
            if run["status"] in {"pending", "starting", "running"}:
                try:
                    self.call("stop", str(run["run-id"]))
                except AssertionError as err:
                    # It may finish between `ls` and `stop`.
                    if "already finished" not in str(err):
                        raise
                stopped += 1
        return stopped

    def wait_run_ids(self, timeout: float = 90) -> set[int]:
        """Run IDs once the SuperLink answers again (after a restart); an
        empty set is an answer too."""

        def answer() -> tuple[set[int]] | None:
            ids = self.run_ids_or_none()
            return None if ids is None else (ids,)

        return wait_for(answer, timeout, f"the SuperLink on {target_name(self.host)} to answer", interval=2)[0]

    def run_ids_or_none(self) -> set[int] | None:
        # A `flwr` call costs seconds of CPU (it imports Flower); while the
        # port is closed a socket probe answers for a fraction of that.
        if not port_open(self.host, self.address):
            return None
        try:
            return self.run_ids()
        except AssertionError:
            return None

    def wait_finished(
        self, run_ids: set[int], timeout: float, check: Callable[[], None] | None = None
    ) -> dict[int, str]:
        """Wait until every run in RUN_IDS has a finished status; return the
        statuses `flwr ls` then shows for them. CHECK, called on every poll,
        may fail the test early (a SuperNode that died).

        The polling reads the SuperLink's database (each poll a few ms); the
        final answer comes from the CLI. Polling with `flwr ls` kept a core
        busy on a loaded machine and slowed the runs it waited for. The CLI
        is still asked every 20 s: the SuperLink marks a run whose ServerApp
        died as failed only when someone lists the runs."""
        database = self.deployment.database
        asked = time.monotonic()

        def finished() -> dict[int, str] | None:
            nonlocal asked
            if check:
                check()
            if time.monotonic() - asked > 20:
                asked = time.monotonic()
                known = {int(run["run-id"]): str(run["status"]) for run in self.runs()}
            else:
                known = stored_statuses(self.host, database)
            done = {run: known.get(run, "") for run in run_ids}
            return done if all(status.startswith("finished") for status in done.values()) else None

        wait_for(finished, timeout, f"runs {sorted(run_ids)} to finish", interval=2)
        listed = {int(run["run-id"]): str(run["status"]) for run in self.runs()}
        return {run: listed.get(run, "(not listed)") for run in run_ids}


@pytest.fixture(scope="module")
def flwr(host: Any, deployment: Deployment, docker_client: docker.DockerClient) -> Flwr:
    """A Flower CLI for the target, with the test app copied onto it."""
    return flwr_on(host, deployment, docker_client)


def flwr_on(host: Any, deployment: Deployment, docker_client: docker.DockerClient) -> Flwr:
    """A Flower CLI on any target (also one that is not the test's own host)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(APP_DIR, arcname=Path(TARGET_APP_DIR).name, filter=_world_readable)
    target = docker_client.containers.get(target_name(host))
    target.put_archive(str(Path(TARGET_APP_DIR).parent), buf.getvalue())
    return Flwr(host, deployment)


SUPERNODE_KEYS = Path(__file__).parent / "hardening" / "keys"
TARGET_KEYS = "/root/supernode-keys"


@pytest.fixture(scope="module")
def supernode_keys(host: Any, docker_client: docker.DockerClient) -> str:
    """The test SuperNode key pairs (allowed, unknown), copied onto the target."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for key in sorted(SUPERNODE_KEYS.iterdir()):
            info = tar.gettarinfo(str(key), arcname=f"supernode-keys/{key.name}")
            # Read by the SuperNode container's user (uid 49999); test keys only.
            info.uid = info.gid = 0
            info.mode = 0o644
            with key.open("rb") as fh:
                tar.addfile(info, fh)
    docker_client.containers.get(target_name(host)).put_archive("/root", buf.getvalue())
    return TARGET_KEYS


def supernode(host: Any, deployment: Deployment, keys: str, name: str, port: int) -> str:
    """`docker run` of a real SuperNode of the deployed release, authenticating with key NAME."""
    # Its own local API: --clientappio-api-address up to 1.34, --port from 1.35.
    local_api = (
        f"--port {port}"
        if version_tuple(deployment.version) >= (1, 35)
        else f"--clientappio-api-address 127.0.0.1:{port}"
    )
    return (
        f"docker run --init --name supernode-{name} --network host --pull never "
        f"--volume {keys}:/app/keys:ro --volume {deployment.ca_cert}:/app/ca.crt:ro "
        f"--entrypoint flower-supernode {deployment.image} "
        f"--superlink 127.0.0.1:{deployment.fleet_port} --root-certificates /app/ca.crt "
        f"--auth-supernode-private-key /app/keys/{name} --auth-supernode-public-key /app/keys/{name}.pub "
        f"{local_api}"
    )


def _world_readable(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if "__pycache__" in info.name:
        return None
    # The CLI container runs as uid 49999 and reads the app through a bind mount.
    info.uid = info.gid = 0
    info.mode = 0o755 if info.isdir() else 0o644
    return info


def tcp_open(host: Any, port: int) -> bool:
    """Whether something accepts TCP connections on the target's own address."""
    own = host.check_output("python3 -c %s", "import socket; print(socket.gethostbyname(socket.gethostname()))")
    return port_open(host, f"{own}:{port}")


_SQLITE_QUERY = """
import json, sqlite3, sys, urllib.parse
con = sqlite3.connect(f"file:{urllib.parse.quote(sys.argv[1])}?mode=ro", uri=True)
print(json.dumps([list(row) for row in con.execute(sys.argv[2])]))
"""


# Each run's status as the CLI shows it ("pending", "starting", "running",
# "finished:<sub-status>"), from the database of any tested release: up to
# 1.25 the `run` table holds the timestamps, from 1.26 the run's primary task does.
_RUN_STATUSES = """
import json, sqlite3, sys, urllib.parse
con = sqlite3.connect(f"file:{urllib.parse.quote(sys.argv[1])}?mode=ro", uri=True)
columns = {row[1] for row in con.execute("PRAGMA table_info(run)")}
sql = (
    "SELECT run_id, starting_at, running_at, finished_at, sub_status FROM run"
    if "finished_at" in columns
    else "SELECT r.run_id, t.starting_at, t.running_at, t.finished_at, t.sub_status"
    " FROM run r JOIN task t ON t.task_id = r.primary_task_id"
)
status = {}
for run_id, starting, running, finished, sub in con.execute(sql):
    phase = "running" if running else "starting" if starting else "pending"
    status[run_id % 2**64] = f"finished:{sub}" if finished else phase
print(json.dumps(status))
"""


def stored_statuses(host: Any, database: str) -> dict[int, str]:
    """Run ID (as the CLI shows it) -> status, read from a SuperLink database."""
    statuses: dict[str, str] = json.loads(host.check_output("python3 -c %s %s", _RUN_STATUSES, database))
    return {int(run): status for run, status in statuses.items()}


def port_open(host: Any, address: str) -> bool:
    """Whether something on the target accepts TCP connections at HOST:PORT (3 s at most)."""
    name, _, port = address.rpartition(":")
    script = (
        "import socket, sys; s = socket.socket(); s.settimeout(3); "
        "sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))))"
    )
    return bool(host.run("timeout 5 python3 -c %s %s %s", script, name.strip("[]"), port).rc == 0)


def sqlite_query(host: Any, database: str, sql: str) -> list[list[Any]]:
    """Rows of a read-only query, run with the target's own python3."""
    rows: list[list[Any]] = json.loads(host.check_output("python3 -c %s %s %s", _SQLITE_QUERY, database, sql))
    return rows


def playbook_command(
    request: pytest.FixtureRequest,
    host: Any,
    playbook: str,
    *extra_vars: str,
    options: tuple[str, ...] = (),
    inventory: str | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run one of playbooks/ against this target only."""
    cmd = [
        "ansible-playbook",
        f"playbooks/{playbook}",
        "-i",
        inventory or request.config.getoption("ansible_inventory"),
    ]
    cmd += ["--limit", target_name(host), *options]
    for var in extra_vars:
        cmd += ["-e", var]
    return cmd, playbook_env()


def playbook_env() -> dict[str, str]:
    """The environment an operator's ansible-playbook runs with, in plain text."""
    # Molecule exports ANSIBLE_FORCE_COLOR; the tests read plain text.
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }


def run_playbook(
    request: pytest.FixtureRequest,
    host: Any,
    playbook: str,
    *extra_vars: str,
    options: tuple[str, ...] = (),
    inventory: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one of playbooks/ against this target only, as an operator would."""
    cmd, env = playbook_command(request, host, playbook, *extra_vars, options=options, inventory=inventory)
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, check=False)


def recap(result: subprocess.CompletedProcess[str], host: Any) -> dict[str, int]:
    """The PLAY RECAP counters of one host, e.g. {"ok": 30, "changed": 0, ...}."""
    for line in result.stdout.splitlines():
        name, _, counters = line.partition(" : ")
        if name.strip() == target_name(host) and "ok=" in counters:
            return {k: int(v) for k, v in (item.split("=") for item in counters.split())}
    raise AssertionError(f"no PLAY RECAP line for {target_name(host)}:\n{result.stdout[-3000:]}")


def sha256(host: Any, path: str) -> str:
    digest: str = host.check_output("sha256sum %s", path).split()[0]
    return digest


def as_stored(run_id: int) -> int:
    """Flower keeps run IDs as signed 64-bit integers in SQLite; the CLI shows them unsigned."""
    return run_id - 2**64 if run_id >= 2**63 else run_id


def stored_runs(host: Any, database: str) -> set[int]:
    """Run IDs in a SuperLink database file (live or a backup), as stored."""
    return {row[0] for row in sqlite_query(host, database, "SELECT run_id FROM run")}


def container_started(host: Any, deployment: Deployment) -> str:
    """ID and start time of the SuperLink container; "" when there is none."""
    res = host.run("docker inspect --format '{{.Id}} {{.State.StartedAt}}' %s", deployment.container)
    return str(res.stdout.strip()) if res.rc == 0 else ""


def proc_status(host: Any, pid: int) -> dict[str, str]:
    """/proc/<pid>/status of a process on the target, as a dict."""
    text = host.file(f"/proc/{pid}/status").content_string
    return {k: v.strip() for k, v in (line.split(":", 1) for line in text.splitlines() if ":" in line)}


# Everything outside the SuperLink's runtime that a playbook could change:
# owners, modes, sizes and times of every file under these trees. Volatile
# system state (journals, apt lists, systemd's own state, the nested engine's
# storage, a separate filesystem) is left out, and so are the metrics the
# collectors' timers rewrite every minute (node_exporter's textfile
# directory, a collector's state).
_FINGERPRINT = (
    "find /etc /srv /opt /usr/local /var/lib /var/backups /var/cache /var/spool -xdev "
    r"\( -path /var/lib/docker -o -path /var/lib/systemd -o -path /var/lib/apt -o -path /var/cache/apt "
    r"-o -path /var/lib/dpkg -o -path /var/cache/ldconfig -o -path /var/lib/containerd "
    r"-o -path /var/lib/prometheus/node-exporter -o -path '/var/lib/flower-*-metrics' \) -prune "
    r"-o -printf '%p %U:%G %m %s %T@\n' 2>/dev/null | sort"
)


def host_files(host: Any) -> str:
    """A listing of the host's files outside volatile state, to compare before/after."""
    listing: str = host.check_output(_FINGERPRINT)
    return listing


def unchanged_files(before: str, after: str) -> str:
    """'' when the listings match, else the lines that differ (for the failure message)."""
    if before == after:
        return ""
    old, new = set(before.splitlines()), set(after.splitlines())
    return "\n".join([f"- {line}" for line in sorted(old - new)] + [f"+ {line}" for line in sorted(new - old)])[:3000]


# --- operator playbooks and their records (shared by the operations,
# versions and offsite tests) ---------------------------------------------------

RECORD = "/etc/ansible/facts.d/flower_superlink.fact"
CONFIRM = "flower_superlink_reset_confirm=true"


def record(host: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(host.file(RECORD).content_string)
    return data


# Seconds after a stop by which a stopped run's ServerApp has sent its last
# (refused) heartbeat: 0.8 x 30 s x 1.1 + 5 s call timeout, rounded up.
HEARTBEAT_REFUSED_WITHIN = 32.0


def quiet_database(host: Any, deployment: Deployment, flwr: Flwr) -> str:
    """Stop running runs, then wait until the database file stops changing.

    A running run's heartbeat rewrites the database every ~20 s; a byte-for-byte
    comparison needs a database nobody writes to. A stopped run's ServerApp
    process lives on: its next heartbeat (Flower sends one every 0.8 x 30 s
    +- 10 %, with a 5 s call timeout) is refused and it pushes that error into
    the `logs` table, once, up to ~32 s after the stop (measured with 1.19:
    18 s). So after stopping a run, stability only counts from then on.
    """
    stopped_at = time.monotonic() if flwr.stop_running() else None
    # A stopped run writes its final status when its ServerApp process has
    # ended, which takes longer on a loaded machine: wait for that first.
    stored = set(stored_statuses(host, deployment.database))
    if stored:
        flwr.wait_finished(stored, 120)
    if stopped_at is not None:
        time.sleep(max(0.0, stopped_at + HEARTBEAT_REFUSED_WITHIN - time.monotonic()))
    samples: list[str] = []

    def stable() -> str | None:
        samples.append(sha256(host, deployment.database))
        return samples[-1] if len(samples) >= 3 and len(set(samples[-3:])) == 1 else None

    return wait_for(stable, 90, "the database to stop changing", interval=4)


def running_image(host: Any, deployment: Deployment) -> str:
    return host.check_output("docker inspect --format '{{.Config.Image}}' %s", deployment.container)


def published(host: Any, deployment: Deployment) -> set[str]:
    """The SuperLink container's published ports, as "address:host port"."""
    bindings = (
        json.loads(
            host.check_output("docker inspect --format '{{json .HostConfig.PortBindings}}' %s", deployment.container)
        )
        or {}
    )
    return {f"{b['HostIp'] or '0.0.0.0'}:{b['HostPort']}" for ports in bindings.values() for b in ports or []}


def proxy_running(host: Any, deployment: Deployment) -> bool:
    """Whether the route-filtering proxy unit is installed and running (Flower 1.37+ only)."""
    unit = f"/etc/systemd/system/{deployment.service}-proxy.service"
    return bool(host.file(unit).exists and host.service(f"{deployment.service}-proxy").is_running)


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
