"""The command lines of a release's executor, as its container runs them.

With ``--isolation process`` a SuperLink's ServerApps (a SuperNode's
ClientApps) run in a container of their own, beside Flower's and in its
network namespace. What that container runs differs per release (entry
point, flags, which API it dials and whether over TLS): the release table's
``executor`` facts say which; this turns them into argv lists for the units.
"""

from __future__ import annotations

from typing import Any

# How an executor container runs the release's entry point: as a console
# script, but leaving at once when the main thread dies of an exception
# (flwr-serverapp 1.19-1.20 that fails to pull a run raises, then hangs on its
# own threads, alive and doing nothing), so that systemd starts it again.
EXECUTOR_LAUNCHER = (
    "import os,sys,threading,traceback,importlib.metadata as m;"
    "die=lambda t,v,b:(traceback.print_exception(t,v,b),sys.stderr.flush(),os._exit(1));"
    "sys.excepthook=die;{threads}"
    "sys.argv=sys.argv[1:];[f]=m.entry_points(group='console_scripts',name=sys.argv[0]);"
    "r=f.load()();sys.stdout.flush();os._exit(r if isinstance(r,int) else 0)"
)
# Where the app runs inside the executor's own process (flwr-serverapp and
# flwr-clientapp up to 1.20), a thread that dies means the run is dead: a
# stopped run's heartbeat thread raises while the app waits for nodes
# forever, and no later run would start. Leave, and let systemd start anew.
THREADS_FATAL = "threading.excepthook=lambda a:die(a.exc_type,a.exc_value,a.exc_traceback);"


# Waits (up to 45 s) until something listens on a port on loopback: run in
# the SuperLink's (SuperNode's) container before its executor starts, since
# an executor that cannot connect at start may crash.
WAIT_FOR_PORT = (
    "import socket,sys,time;p=int(sys.argv[1]);t=time.time()+45;"
    "up=lambda:socket.socket().connect_ex(('127.0.0.1',p))==0;"
    "[time.sleep(0.5) for _ in iter(lambda:up() or time.time()>t,True)];"
    "sys.exit(0 if up() else 'nothing listens on port %d' % p)"
)


def executor_container_argv(argv: list[str], facts: dict[str, Any]) -> list[str]:
    """An executor's command line as the container runs it: python -c LAUNCHER ARGV."""
    threads = THREADS_FATAL if facts["executor"]["app_in_process"] else ""
    return ["python", "-c", EXECUTOR_LAUNCHER.format(threads=threads), *argv]


def wait_for_port_argv(port: Any) -> list[str]:
    return ["python", "-c", WAIT_FOR_PORT, str(int(port))]


def executor_argv(facts: dict[str, Any], app: str, tls: bool, server_name: str, ca_file: str) -> list[str]:
    """The command line (entry point first) of the process that runs a
    release's apps in their own container (--isolation process): APP is
    serverapp (beside a SuperLink) or clientapp (beside a SuperNode).

    It shares the SuperLink's (SuperNode's) network namespace, so it dials
    the API it pulls tasks from on loopback: as 127.0.0.1 where that API is
    plaintext; by SERVER_NAME, which the SuperLink's /etc/hosts points at
    loopback, where the SuperLink's Runtime API follows its TLS (1.37+) and
    the certificate must match."""
    if app not in ("serverapp", "clientapp"):
        raise ValueError(f"app must be serverapp or clientapp, not {app!r}")
    executor = facts["executor"]
    argv = [executor["command"].format(app=app)]
    if executor["plugin_type"]:
        argv += ["--plugin-type", app]
    verified = bool(app == "serverapp" and executor["tls"] and tls)
    argv += ["--root-certificates", ca_file] if verified else ["--insecure"]
    host = server_name if verified else "127.0.0.1"
    port = facts["serverappio_port"] if app == "serverapp" else facts["clientappio_port"]
    argv += [executor["address_flag"].format(app=app), f"{host}:{int(port)}"]
    return argv
