"""The `flwr` CLI, imported once and forked for every command.

Runs as the main process of the tests' long-lived CLI container (see
conftest.Flwr). Importing Flower costs seconds of CPU per `flwr` process;
here the import is paid once, and each command runs in a fork of this
process: its own process, working directory, arguments and exit code, the
real CLI code (`flwr.cli.app:app`, the `flwr` entry point of every release).

    python -c <this file> serve            # the container's main process
    python -c <this file> call CWD ARGS... # one command: its stdout, stderr, exit code

The client side imports nothing from Flower: it starts in milliseconds.
"""

import json
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SOCKET = "/tmp/flwr-zygote.sock"
TIMEOUT = 600


def serve() -> None:
    from flwr.cli.app import app  # the import every command would otherwise pay

    # Anything the import printed must not reach the first command's output.
    sys.stdout.flush()
    sys.stderr.flush()
    server = socket.socket(socket.AF_UNIX)
    server.bind(SOCKET + ".new")
    Path(SOCKET + ".new").rename(SOCKET)  # clients connect only once it listens
    server.listen(4)
    while True:
        conn, _ = server.accept()
        with conn:
            request = json.loads(receive(conn))
            conn.sendall(json.dumps(run(app, request["cwd"], request["args"])).encode())


def run(app: Callable[[], object], cwd: str, args: list[str]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        out, err = f"{tmp}/out", f"{tmp}/err"
        pid = os.fork()
        if pid == 0:
            rc = 1
            try:
                os.chdir(cwd)
                os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT, 0o600), 1)
                os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT, 0o600), 2)
                sys.argv = ["flwr", *args]
                try:
                    app()
                    rc = 0
                except SystemExit as done:
                    rc = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
            except BaseException as error:  # noqa: BLE001 - reported as the command's stderr
                print(f"flwr_zygote: {error!r}", file=sys.stderr)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(rc)
        deadline = time.monotonic() + TIMEOUT
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = 124 << 8
                break
            time.sleep(0.05)
        return {
            "rc": os.waitstatus_to_exitcode(status) if status != 124 << 8 else 124,
            "stdout": read(out),
            "stderr": read(err),
        }


def read(path: str) -> str:
    file = Path(path)
    return file.read_text(errors="replace") if file.exists() else ""


def receive(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def call(cwd: str, args: list[str]) -> int:
    deadline = time.monotonic() + 120  # the server may still be importing Flower
    while True:
        try:
            conn = socket.socket(socket.AF_UNIX)
            conn.connect(SOCKET)
            break
        except OSError:
            conn.close()
            if time.monotonic() > deadline:
                print("flwr_zygote: the CLI server does not answer", file=sys.stderr)
                return 125
            time.sleep(0.2)
    with conn:
        conn.sendall(json.dumps({"cwd": cwd, "args": args}).encode())
        conn.shutdown(socket.SHUT_WR)
        answer = json.loads(receive(conn))
    sys.stdout.write(answer["stdout"])
    sys.stderr.write(answer["stderr"])
    return int(answer["rc"])


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve()
    else:
        sys.exit(call(str(Path(sys.argv[2]).resolve()), sys.argv[3:]))
