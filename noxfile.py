"""Developer and CI entry points.

    nox -s lint sanity unit molecule   # what CI runs: linters, the collection's own checks,
                                       # unit tests, then every Molecule scenario
    nox -s sandbox         # a local systemd host with a deployed SuperLink
    nox -s sandbox_down    # remove it
    nox -s bench           # time converge, restart-to-ready and reboot-to-ready

All sessions share one toolchain virtualenv (.nox/toolchain), installed from
requirements.txt and constraints.txt and reinstalled only when they change.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "tests"))
from container_cpu import cpu_since, running_containers  # noqa: E402 - found through the line above

TOOLCHAIN = ROOT / ".nox" / "toolchain"
# Scenarios `nox -s molecule` runs, in the order that finished the pool
# soonest for their last measured times in it (every order of the seven tried
# against those times: the two longest first, then the shortest, whose slot
# then takes the middle ones). sandbox and bench are
# tools, not tests. Each has its own hosts and Molecule state, and most of a
# scenario's time is round trips into its hosts and waits, so PARALLEL of them
# run side by side; the next starts as soon as one ends (no stage barrier).
# Measured on 2 cores: docs/history/benchmarks-log.md (the CI runs).
SCENARIOS = ["default", "federation", "federation_oldest", "hardening", "operations", "versions", "offsite"]
PARALLEL = 3
SANDBOX_HOST = "flower-sandbox"
# ansible-test puts this pip into each sanity test's virtualenv (ansible-core
# 2.19: ansible_test/_internal/python_requirements.py, get_venv_packages).
SANITY_PIP = "24.2"
# Every sanity test, run where the collection is and on the one Python this
# machine (and CI's) has.
ANSIBLE_TEST = ["sanity", "--local", "--python", "3.11", "--color", "no"]

nox.options.sessions = ["lint", "sanity", "unit", "molecule"]
nox.options.error_on_missing_interpreters = True


def toolchain(session: nox.Session) -> dict[str, str]:
    """Create or refresh the shared toolchain venv; return an env that uses it."""
    pins = [ROOT / "requirements.txt", ROOT / "constraints.txt"]
    stamp = hashlib.sha256(b"".join(p.read_bytes() for p in pins)).hexdigest()
    marker = TOOLCHAIN / ".stamp"
    bin_dir = TOOLCHAIN / "bin"
    TOOLCHAIN.parent.mkdir(parents=True, exist_ok=True)
    # Two nox runs at once (CI builds the images beside the checks) install
    # it once: the second waits, then finds the stamp.
    with (TOOLCHAIN.parent / "toolchain.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.is_file() or marker.read_text() != stamp:
            session.log(f"installing the toolchain into {TOOLCHAIN.relative_to(ROOT)}")
            session.run(sys.executable, "-m", "venv", "--clear", str(TOOLCHAIN), external=True)
            pip = [str(bin_dir / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
            session.run(*pip, "install", "-r", str(pins[0]), "-c", str(pins[1]), external=True)
            marker.write_text(stamp)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(TOOLCHAIN),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "FLWR_TELEMETRY_ENABLED": "0",
        "PY_COLORS": "1",
    }


def tool(name: str) -> str:
    """A program from the toolchain venv, by path: nox does not search env's PATH."""
    return str(TOOLCHAIN / "bin" / name)


def build_images(session: nox.Session, env: dict[str, str], *args: str) -> None:
    session.run(tool("python"), "tests/images/build.py", *args, env=env, external=True)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ansible-lint (production profile), yamllint and ruff."""
    env = toolchain(session)
    session.run(tool("yamllint"), "--strict", ".", env=env, external=True)
    session.run(tool("ansible-lint"), "--profile", "production", env=env, external=True)
    session.run(tool("ruff"), "check", ".", env=env, external=True)
    session.run(tool("ruff"), "format", "--check", ".", env=env, external=True)


@nox.session(venv_backend="none")
def sanity(session: nox.Session) -> None:
    """The collection as it ships, through the ecosystem's own checks: ansible-test
    sanity, antsibull-docs (plugin and role docs) and antsibull-changelog."""
    env = toolchain(session)
    # The checks find the built collection by its path, never through our
    # ansible.cfg (whose .collections/ is the clone, not what ships).
    del env["ANSIBLE_CONFIG"]
    work = ROOT / ".cache" / "sanity"
    work.mkdir(parents=True, exist_ok=True)
    # Exactly what ships: the built tarball (galaxy.yml's build_ignore), and the
    # ignore file, which does not ship (tests/ stays in the repository). Outside
    # the clone: inside a git work tree ansible-test tests only what git tracks.
    out = Path(tempfile.mkdtemp(prefix="flower-iac-sanity-"))
    collection = out / "ansible_collections" / "flower_iac" / "federation"
    session.run(tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), env=env, external=True)
    (tarball,) = out.glob("*.tar.gz")
    with tarfile.open(tarball) as tar:
        tar.extractall(collection, filter="data")
    (collection / "tests" / "sanity").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "sanity" / "ignore-2.19.txt", collection / "tests" / "sanity")

    # ansible-test creates a virtualenv per sanity test, even with --local, and
    # bootstraps pip into it with a get-pip script from a host CI cannot reach,
    # unless it is cached in ~/.ansible/test/cache. Our stand-in does the same
    # from pip's wheel (PyPI); a HOME of its own keeps that cache and the
    # virtualenvs inside .cache/. The virtualenvs get ansible-test's own pinned
    # requirements (ansible_test/_data/requirements/sanity.*.txt) from PyPI.
    home = work / "home"
    cache = home / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    if not list(cache.glob(f"pip-{SANITY_PIP}-*.whl")):
        pip = [tool("python"), "-m", "pip", "download", "--disable-pip-version-check", "-q", "--no-deps"]
        session.run(*pip, "--only-binary", ":all:", "-d", str(cache), f"pip=={SANITY_PIP}", env=env, external=True)
    shutil.copy(ROOT / "tests" / "sanity" / "get_pip.py", cache / f"get_pip_{SANITY_PIP.replace('.', '_')}.py")
    try:
        with session.chdir(collection):
            sanity_env = {**env, "HOME": str(home)}
            session.run(tool("ansible-test"), *ANSIBLE_TEST, env=sanity_env, external=True)
            # Every plugin's and role entry point's docs as the docsite renders
            # them: schema, markup, references, and rstcheck of the generated RST.
            session.run(tool("antsibull-docs"), "lint-collection-docs", "--plugin-docs", ".", env=env, external=True)
        # The changelog: its fragments, changelog.yaml, and CHANGELOG.md is
        # what they generate (a release writes it: changelogs/config.yaml).
        changelog, generated = tool("antsibull-changelog"), out / "CHANGELOG.md"
        session.run(changelog, "lint", env=env, external=True)
        session.run(changelog, "lint-changelog-yaml", "changelogs/changelog.yaml", env=env, external=True)
        session.run(changelog, "generate", "--output", str(generated), "--output-format", "md", env=env, external=True)
        if generated.read_text() != (ROOT / "CHANGELOG.md").read_text():
            session.error("CHANGELOG.md is not what changelogs/ generates: run antsibull-changelog generate")
    finally:
        shutil.rmtree(out)


@nox.session(venv_backend="none")
def unit(session: nox.Session) -> None:
    """Unit tests (tests/unit): the roles' rules and encoders, restic retention, no host, no Docker."""
    env = toolchain(session)
    # One worker per core; a module's tests stay on one worker, so a module's
    # fixtures (a year of real restic snapshots, a REST server) are made once.
    pytest = [tool("pytest"), "-q", "-p", "no:cacheprovider", "-n", "auto", "--dist", "loadscope"]
    session.run(*pytest, "tests/unit", *session.posargs, env=env, external=True)


@nox.session(venv_backend="none")
def images(session: nox.Session) -> None:
    """Build (or reuse) the offline test images."""
    build_images(session, toolchain(session), *session.posargs)


@nox.session(venv_backend="none")
def molecule(session: nox.Session) -> None:
    """Every Molecule scenario, each from create to destroy (STAGES: side by side within a stage).

    Extra arguments select scenarios: `nox -s molecule -- default`.
    """
    env = toolchain(session)
    build_images(session, env)
    # Named scenarios run one after another, as given.
    if session.posargs:
        for scenario in session.posargs:
            session.run(tool("molecule"), "test", "-s", scenario, env=env, external=True)
        return
    side_by_side(session, env, SCENARIOS, PARALLEL)


def side_by_side(session: nox.Session, env: dict[str, str], scenarios: list[str], parallel: int) -> None:
    """`molecule test` for up to ``parallel`` scenarios at once, in order, each
    logging to its own file, each log shown as it finishes; fails if any failed.

    Each scenario's verdict says the CPU it used: the pool shares two cores, so
    that, not its time, is what it adds to the run."""
    logs = ROOT / ".cache" / "molecule-logs"
    logs.mkdir(parents=True, exist_ok=True)
    waiting, running, failed = list(scenarios), {}, []
    # Per scenario: nanoseconds used by each host container, and its last reading.
    hosts_cpu: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    hosts: dict[str, list[str]] = {}
    while waiting or running:
        while waiting and len(running) < parallel:
            scenario = waiting.pop(0)
            log = (logs / f"{scenario}.log").open("w")
            cmd = [tool("molecule"), "test", "-s", scenario]
            proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
            running[scenario] = (proc, log, time.monotonic())
            hosts_cpu[scenario] = ({}, {})
            molecule_yml = (ROOT / "molecule" / scenario / "molecule.yml").read_text()
            hosts[scenario] = re.findall(r"^  - name: (\S+)$", molecule_yml, re.MULTILINE)
            session.log(f"molecule test -s {scenario} started (log: {log.name})")
        time.sleep(5)
        ids = running_containers()
        for scenario in running:
            _sample_hosts_cpu(hosts[scenario], ids, *hosts_cpu[scenario])
        for scenario, (proc, log, started) in list(running.items()):
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid == 0:
                continue
            proc.returncode = os.waitstatus_to_exitcode(status)
            log.close()
            del running[scenario]
            print(Path(log.name).read_text(), flush=True)
            verdict = "passed" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
            here = usage.ru_utime + usage.ru_stime
            there = sum(hosts_cpu[scenario][0].values()) / 1e9
            session.log(
                f"scenario {scenario} {verdict} in {time.monotonic() - started:.0f} s "
                f"(CPU: {here:.0f} s in Molecule, Ansible and pytest, {there:.0f} s on its hosts)"
            )
            if proc.returncode:
                failed.append(scenario)
    if failed:
        # The logs above are long; CI keeps only the end of its output. Repeat
        # what failed where it is read.
        for scenario in failed:
            session.log(f"--- what failed in {scenario} ---")
            print(failure_summary((logs / f"{scenario}.log").read_text()), flush=True)
        session.error(f"failed scenarios: {', '.join(failed)}")


def _sample_hosts_cpu(names: list[str], ids: dict[str, str], used: dict[str, int], last: dict[str, int]) -> None:
    """Add what the scenario's host containers used since the last sample."""
    for cid, ns in cpu_since((ids[name] for name in names if name in ids), last).items():
        used[cid] = used.get(cid, 0) + ns


def failure_summary(log: str, limit: int = 60) -> str:
    """The lines of a Molecule log that say what failed: pytest's short summary,
    failed tasks and Molecule's own errors (ANSI colours removed)."""
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in log.splitlines()]
    marks = ("FAILED ", "ERROR ", "fatal: [", "failed: [", "CRITICAL", "Error:", "short test summary")
    # pytest's "E   ..." lines carry the assertion's values: without them a
    # failure reads only "AssertionError: assert".
    explained = re.compile(r"│ E\s")
    picked = [
        line for line in plain if (any(m in line for m in marks) or explained.search(line)) and "RETRYING" not in line
    ]
    return "\n".join(picked[-limit:] or plain[-limit:])


@nox.session(venv_backend="none")
def sandbox(session: nox.Session) -> None:
    """Create a local systemd host and deploy a SuperLink into it with deploy.yml.

    `nox -s sandbox -- tls` deploys it with TLS: a staging CA and a server
    certificate generated into inventories/sandbox/.tls/ (beside the
    inventory, naming the host's address), and prints the federation snippet
    that uses them."""
    env = toolchain(session)
    tls = "tls" in session.posargs
    build_images(session, env, "--hosts", "debian12")
    session.run(tool("molecule"), "create", "-s", "sandbox", env=env, external=True)
    extra = ["-e", "flower_superlink_insecure=false", "-e", "flower_superlink_tls_generate=true"] if tls else []
    session.run(
        tool("ansible-playbook"), "playbooks/deploy.yml", "-i", "inventories/sandbox", *extra, env=env, external=True
    )
    ip = _docker("inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", SANDBOX_HOST)
    listing = _docker("exec", SANDBOX_HOST, "ls", "-ln", "/var/lib/flower-superlink")
    # flower_superlink_tls_generate_dir: beside the inventory.
    ca = ROOT / "inventories" / "sandbox" / ".tls" / "ca.crt"
    security = [f'    root-certificates = "{ca}"'] if tls else ["    insecure = true"]
    supernode = f"--root-certificates {ca}" if tls else "--insecure"
    session.log(
        "\n".join(
            [
                f"Sandbox host {SANDBOX_HOST} is up (a systemd container on this machine).",
                "State on the host: /var/lib/flower-superlink (inside the sandbox host):",
                *("    " + line for line in listing.splitlines()),
                f"Shell on the host:      docker exec -it {SANDBOX_HOST} bash",
                f"SuperLink journal:      docker exec {SANDBOX_HOST} journalctl -u flower-superlink -f",
                f"Fleet API (SuperNodes): {ip}:9092 ({'TLS' if tls else 'insecure'}), e.g.",
                f"    flower-supernode --superlink {ip}:9092 {supernode}",
                f"Exec API (flwr CLI):    {ip}:9093, e.g. in your app's pyproject.toml:",
                "    [tool.flwr.federations.sandbox]",
                f'    address = "{ip}:9093"',
                *security,
                "Tear it down with:      nox -s sandbox_down",
            ]
        )
    )


@nox.session(venv_backend="none")
def sandbox_down(session: nox.Session) -> None:
    """Remove the sandbox host and everything in it."""
    session.run(tool("molecule"), "destroy", "-s", "sandbox", env=toolchain(session), external=True)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Time deploys, restart/kill/reboot-to-ready, backup, reset, upgrade and rollback."""
    env = toolchain(session)
    build_images(session, env, "--hosts", "debian12")
    session.run(tool("python"), "tests/bench.py", *session.posargs, env=env, external=True)


# matplotlib and everything it pulls in, pinned (pip freeze in a fresh venv).
DASHBOARD_PINS = [
    "contourpy==1.3.3",
    "cycler==0.12.1",
    "fonttools==4.69.1",
    "kiwisolver==1.5.1",
    "matplotlib==3.9.2",
    "numpy==2.1.2",
    "packaging==26.4",
    "pillow==11.0.0",
    "pyparsing==3.3.3",
    "python-dateutil==4.0.0",
    "tzdata==2026.6",
]


@nox.session(venv_backend="venv")
def dashboard(session: nox.Session) -> None:
    """Draw docs/images/dashboard.png from a real Prometheus: -- URL [MINUTES].

    Its own venv: matplotlib is for this picture only, not the toolchain."""
    if not session.posargs:
        session.error("usage: nox -s dashboard -- http://PROMETHEUS:9090 [MINUTES]")
    session.install(*DASHBOARD_PINS)
    session.run("python", "tests/dashboard_picture.py", *session.posargs)


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()
