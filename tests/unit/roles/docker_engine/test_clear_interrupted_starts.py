"""The engine's cleaner of interrupted container starts
(roles/docker_engine/files/clear_interrupted_starts.py), run before every
start of docker.service.

Which processes it takes, one row per case, on a /proc tree and a runc
state directory written by the test (what the kernel shows for each cgroup
driver and version, what runc keeps for a created container), and a real
process killed through it. On a host, tests/deploy/test_persistence.py
leaves a real runc init behind and kills the engine.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, load_module

cleaner = load_module("clear_interrupted_starts", ROOT / "roles/docker_engine/files/clear_interrupted_starts.py")

ID = "4b942f21c531ca4a1b99e4a3de87445fcfc41f5e3f01dff186edcbd7dd45c191"
V1 = (
    "".join(f"{n}:{c}:/docker/{ID}\n" for n, c in [(13, "perf_event"), (4, "memory"), (9, "name=systemd"), (1, "cpu")])
    + f"0::/docker/{ID}\n"
)
RUNC_INIT = b"runc\0init\0"

ROWS = [
    # (id, cmdline, cgroup, taken)
    ("cgroupfs-v2", RUNC_INIT, f"0::/docker/{ID}\n", True),
    ("cgroupfs-v1", RUNC_INIT, V1, True),
    ("systemd-driver", RUNC_INIT, f"0::/system.slice/docker-{ID}.scope\n", True),
    ("systemd-driver-v1", RUNC_INIT, f"1:name=systemd:/system.slice/docker-{ID}.scope\n", True),
    ("nested-under-a-container", RUNC_INIT, f"0::/docker/{'a' * 64}/docker/{ID}\n", True),
    ("full-path-runc", b"/usr/sbin/runc\0init\0", f"0::/docker/{ID}\n", True),
    ("docker-runc", b"docker-runc\0init\0", f"0::/docker/{ID}\n", True),
    ("no-trailing-nul", b"runc\0init", f"0::/docker/{ID}\n", True),
    # Not a runc init: the container's own processes, runc's other commands.
    ("container-process", b"flower-superlink\0--insecure\0", f"0::/docker/{ID}\n", False),
    ("runc-create", b"runc\0--root\0/run/docker/runtime-runc/moby\0create\0", f"0::/docker/{ID}\n", False),
    ("runc-alone", b"runc\0", f"0::/docker/{ID}\n", False),
    ("init-of-another-program", b"notrunc\0init\0", f"0::/docker/{ID}\n", False),
    ("empty-cmdline-kernel-thread", b"", f"0::/docker/{ID}\n", False),
    ("argv0-runc-in-name", b"/opt/runcx\0init\0", f"0::/docker/{ID}\n", False),
    # A runc init outside Docker's containers: another runtime's, left alone.
    ("host-service", RUNC_INIT, "0::/system.slice/containerd.service\n", False),
    ("podman", RUNC_INIT, f"0::/machine.slice/libpod-{ID}.scope\n", False),
    ("kubernetes", RUNC_INIT, f"0::/kubepods/besteffort/pod1/{ID}\n", False),
    ("short-id", RUNC_INIT, f"0::/docker/{ID[:63]}\n", False),
    ("long-id", RUNC_INIT, f"0::/docker/{ID}0\n", False),
    ("uppercase-id", RUNC_INIT, f"0::/docker/{ID.upper()}\n", False),
    ("docker-prefix-in-a-name", RUNC_INIT, f"0::/mydocker/{ID}\n", False),
    ("docker-service-itself", RUNC_INIT, "0::/system.slice/docker.service\n", False),
    ("no-cgroup", RUNC_INIT, "", False),
    # Below a container's cgroup: another engine's or runtime's, inside a container.
    ("kind-pod-inside-a-container", RUNC_INIT, f"0::/system.slice/docker-{ID}.scope/kubelet.slice/pod1\n", False),
    ("service-of-a-host-in-a-container", RUNC_INIT, f"0::/docker/{ID}/system.slice/containerd.service\n", False),
]


def runc_root(tmp_path: Path, inits: dict[str, object], name: str = "runc") -> Path:
    """A runc root as runc keeps it: <container>/state.json naming the container's init process."""
    root = tmp_path / name
    for container, pid in inits.items():
        (root / container).mkdir(parents=True)
        (root / container / "state.json").write_text(json.dumps({"id": container, "init_process_pid": pid}))
    return root


def proc_tree(tmp_path: Path, processes: dict[str, tuple[bytes, str | None]]) -> Path:
    """A /proc with one directory per pid: its cmdline, and its cgroup unless None."""
    proc = tmp_path / "proc"
    proc.mkdir()
    for pid, (cmdline, cgroup) in processes.items():
        (proc / pid).mkdir()
        (proc / pid / "cmdline").write_bytes(cmdline)
        if cgroup is not None:
            (proc / pid / "cgroup").write_text(cgroup)
    return proc


@pytest.mark.parametrize(("cmdline", "cgroup", "taken"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_which_processes_are_interrupted_starts(tmp_path: Path, cmdline: bytes, cgroup: str, taken: bool) -> None:
    """Each row with runc's state naming the process as the init of every container the row names."""
    proc = proc_tree(tmp_path, {"4242": (cmdline, cgroup)})
    root = runc_root(tmp_path, {ID: 4242, ID.upper(): 4242, "a" * 64: 4242, "b" * 64: 4242})
    assert cleaner.interrupted_starts(str(proc), (str(root),)) == ([(4242, ID)] if taken else [])


STATES = [
    # (id, state.json's init_process_pid per root, taken)
    ("state-names-it", [4242], True),
    ("state-in-the-second-root", [None, 4242], True),
    ("no-state-for-this-engine", [], False),  # rootless, or an engine inside a container
    ("state-names-another-process", [4243], False),
    ("state-garbled", ["x"], False),
    ("state-without-the-pid", [{}], False),
]


@pytest.mark.parametrize(("pids", "taken"), [r[1:] for r in STATES], ids=[r[0] for r in STATES])
def test_only_what_this_engines_runc_state_names_is_taken(tmp_path: Path, pids: list[object], taken: bool) -> None:
    proc = proc_tree(tmp_path, {"4242": (RUNC_INIT, f"0::/docker/{ID}\n")})
    roots = []
    for number, pid in enumerate(pids):
        root = tmp_path / f"root{number}"
        root.mkdir()
        if pid is None:
            continue
        (root / ID).mkdir()
        state = {"init_process_pid": pid} if not isinstance(pid, dict) else pid
        (root / ID / "state.json").write_text(json.dumps(state))
        roots.append(str(root))
    roots += [str(tmp_path / "root-missing")]
    assert cleaner.interrupted_starts(str(proc), tuple(roots)) == ([(4242, ID)] if taken else [])


def test_the_scan_skips_what_is_not_a_process_and_what_vanished(tmp_path: Path) -> None:
    proc = proc_tree(
        tmp_path,
        {
            "self": (RUNC_INIT, f"0::/docker/{ID}\n"),  # /proc/self and other names
            "17": (RUNC_INIT, None),  # exited between its cmdline and its cgroup
            "18": (RUNC_INIT, f"0::/docker/{ID}\n"),
            "9": (RUNC_INIT, f"0::/system.slice/docker-{'b' * 64}.scope\n"),
        },
    )
    (proc / "19").mkdir()  # exited before its cmdline was read
    root = runc_root(tmp_path, {ID: 18, "b" * 64: 9})
    assert cleaner.interrupted_starts(str(proc), (str(root),)) == [(9, "b" * 64), (18, ID)]


@pytest.fixture
def runc_init_lookalike(tmp_path: Path) -> subprocess.Popen[bytes]:
    """A real process whose command line is "runc init" (a shell running ./init)."""
    (tmp_path / "init").write_text("sleep 60\n")
    process = subprocess.Popen(["runc", "init"], executable="/bin/sh", cwd=tmp_path)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{process.pid}/cmdline").read_bytes() != RUNC_INIT:
        assert time.monotonic() < deadline, "the look-alike did not start"
        time.sleep(0.01)
    yield process
    process.kill()
    process.wait()


def test_main_kills_each_interrupted_start_and_says_so(
    tmp_path: Path, runc_init_lookalike: subprocess.Popen[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    pid = runc_init_lookalike.pid
    proc = proc_tree(tmp_path, {str(pid): (RUNC_INIT, f"0::/docker/{ID}\n")})
    assert cleaner.main(str(proc), (str(runc_root(tmp_path, {ID: pid})),)) == 0
    assert runc_init_lookalike.wait(timeout=10) == -9
    assert f"killed runc init {pid} of container {ID[:12]}" in capsys.readouterr().err


def test_main_leaves_a_runc_init_outside_docker_running(
    tmp_path: Path, runc_init_lookalike: subprocess.Popen[bytes]
) -> None:
    pid = runc_init_lookalike.pid
    proc = proc_tree(tmp_path, {str(pid): (RUNC_INIT, "0::/user.slice/session-1.scope\n")})
    assert cleaner.main(str(proc), (str(runc_root(tmp_path, {ID: pid})),)) == 0
    with pytest.raises(subprocess.TimeoutExpired):
        runc_init_lookalike.wait(timeout=0.5)


def test_main_exits_0_when_a_kill_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The engine must start regardless: a process gone before the kill is reported, not fatal."""
    # A pid above the kernel's limit: no process has it, nor can one be given it meanwhile.
    gone = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    proc = proc_tree(tmp_path, {str(gone): (RUNC_INIT, f"0::/docker/{ID}\n")})
    root = runc_root(tmp_path, {ID: gone})
    # What the cleaner reads just before its kill is the test's tree, which still says runc init.
    assert cleaner.main(str(proc), (str(root),)) == 0
    assert f"could not kill runc init {gone}" in capsys.readouterr().err


def test_main_spares_a_process_that_became_the_containers_own(
    tmp_path: Path, runc_init_lookalike: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the scan and the kill runc init may exec the container's process: looked at again, spared."""
    pid = runc_init_lookalike.pid
    proc = proc_tree(tmp_path, {str(pid): (RUNC_INIT, f"0::/docker/{ID}\n")})
    root = runc_root(tmp_path, {ID: pid})
    scan = cleaner.interrupted_starts

    def scan_then_exec(*args: object) -> list[tuple[int, str]]:
        found = scan(*args)
        (proc / str(pid) / "cmdline").write_bytes(b"flower-superlink\0--insecure\0")
        return found

    monkeypatch.setattr(cleaner, "interrupted_starts", scan_then_exec)
    assert cleaner.main(str(proc), (str(root),)) == 0
    with pytest.raises(subprocess.TimeoutExpired):
        runc_init_lookalike.wait(timeout=0.5)
