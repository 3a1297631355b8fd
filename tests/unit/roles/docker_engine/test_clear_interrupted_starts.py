"""The engine's cleaner of interrupted container starts
(roles/docker_engine/files/clear_interrupted_starts.py), run before every
start of docker.service.

Which processes it takes, one row per case, on a /proc tree written by the
test (what the kernel shows for each cgroup driver and version), and a real
process killed through it. On a host, tests/deploy/test_persistence.py
leaves a real runc init behind and kills the engine.
"""

from __future__ import annotations

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
]


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
    proc = proc_tree(tmp_path, {"4242": (cmdline, cgroup)})
    assert cleaner.interrupted_starts(str(proc)) == ([(4242, ID)] if taken else [])


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
    assert cleaner.interrupted_starts(str(proc)) == [(9, "b" * 64), (18, ID)]


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
    assert cleaner.main(str(proc)) == 0
    assert runc_init_lookalike.wait(timeout=10) == -9
    assert f"killed runc init {pid} of container {ID[:12]}" in capsys.readouterr().err


def test_main_leaves_a_runc_init_outside_docker_running(
    tmp_path: Path, runc_init_lookalike: subprocess.Popen[bytes]
) -> None:
    proc = proc_tree(tmp_path, {str(runc_init_lookalike.pid): (RUNC_INIT, "0::/user.slice/session-1.scope\n")})
    assert cleaner.main(str(proc)) == 0
    with pytest.raises(subprocess.TimeoutExpired):
        runc_init_lookalike.wait(timeout=0.5)


def test_main_exits_0_when_a_kill_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The engine must start regardless: a process gone before the kill is reported, not fatal."""
    # A pid above the kernel's limit: no process has it, nor can one be given it meanwhile.
    gone = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    proc = proc_tree(tmp_path, {str(gone): (RUNC_INIT, f"0::/docker/{ID}\n")})
    assert cleaner.main(str(proc)) == 0
    assert f"could not kill runc init {gone}" in capsys.readouterr().err
