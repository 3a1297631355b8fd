"""Which API answers on which address, on each release: probed from other machines.

A SuperLink up to 1.39 serves each API over gRPC on a port of its own; from
1.40 one HTTP server serves them all, behind the role's route-filtering proxy.
A probe runs in a throwaway container of the release's own image (it has
grpcio), either on this machine's network (the source an allow-list names)
or as a machine of its own on the test network (a source outside every
allow-list). Neither is the SuperLink host.

Each API is asked once per address with a harmless call: gRPC
`/flwr.proto.<Service>/<Method>` with an empty message, or HTTP `POST
/v1/<api>/<route>`. Verdicts:

* ``answers``: Flower handled the call (any answer, errors included);
* ``answers signed calls``: Flower refused it for want of a SuperNode's
  signature (the Fleet API asks for one on every release, also without TLS,
  where any key is accepted);
* ``not served``: Flower has no such API there (gRPC UNIMPLEMENTED, HTTP 404);
* ``refused (proxy)``: the role's proxy answered instead of Flower;
* ``no connection``: no answer at all: nothing listens, a firewall rule
  dropped the connection, or the proxy's allow-list closed it unanswered
  (whether that close reaches the client before or after its handshake
  varies, so the two are one verdict).
"""

from __future__ import annotations

import json
from typing import Any

import docker
from exposure import HTTP_REQUEST

ANSWERS, SIGNED, NOT_SERVED, PROXY, CLOSED = (
    "answers",
    "answers signed calls",
    "not served",
    "refused (proxy)",
    "no connection",
)
APIS = ["Fleet", "Control", "ServerAppIo / Runtime", "docs"]

# One harmless call per API and protocol (method names read from each wheel's
# flwr/proto/*_grpc.py and flwr/superlink/routers).
GRPC_CALLS = {
    "Fleet": "/flwr.proto.Fleet/GetRun",
    "Control": "/flwr.proto.{control_api}/ListRuns",
    "ServerAppIo / Runtime": "/flwr.proto.ServerAppIo/GetNodes",
}
HTTP_CALLS = {
    "Fleet": ("POST", "/v1/fleet/get-run"),
    "Control": ("POST", "/v1/control/list-runs"),
    "ServerAppIo / Runtime": ("POST", "/v1/runtime/get-nodes"),
    "docs": ("GET", "/openapi.json"),
}

_PROBE = (
    r"""
import http.client, json, socket, ssl, sys
"""
    + HTTP_REQUEST
    + r"""
spec = json.loads(sys.argv[1])
host, tls, ca, name = spec["address"], spec["tls"], spec["ca"].encode(), spec["server_name"]

def reachable(port):
    try:
        socket.create_connection((host, port), timeout=3).close()
        return True
    except OSError:
        return False

def grpc_call(port, method):
    import grpc
    target = f"{host}:{port}"
    if tls:
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=ca),
                                      options=[("grpc.ssl_target_name_override", name)])
    else:
        channel = grpc.insecure_channel(target)
    try:
        channel.unary_unary(method, request_serializer=None, response_deserializer=None)(b"", timeout=10)
        return "OK"
    except grpc.RpcError as err:
        return f"{err.code().name} {err.details()}"
    finally:
        channel.close()

def http_call(port, method, path):
    try:
        return http_request(socket.create_connection((host, port), timeout=5), host, port, tls, name, method, path)
    except (OSError, http.client.HTTPException):
        return "cut"

# A dropped connection waits out its whole timeout: ask every port at once.
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(len(spec["ports"])) as pool:
    open_ports = dict(zip(spec["ports"], pool.map(lambda port: reachable(int(port)), spec["ports"])))
out = {}
for port, calls in spec["ports"].items():
    if not open_ports[port]:
        out[port] = "closed"
        continue
    out[port] = {api: (grpc_call(int(port), call) if isinstance(call, str) else http_call(int(port), *call))
                 for api, call in calls.items()}
print(json.dumps(out))
"""
)


def grpc_verdict(answer: str) -> str:
    code, _, details = answer.partition(" ")
    # Flower 1.19-1.39's Fleet server refuses other services' calls itself.
    if code == "UNIMPLEMENTED" or (code == "FAILED_PRECONDITION" and "sent to a different service" in details):
        return NOT_SERVED
    if code in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
        return CLOSED
    if code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        return SIGNED
    return ANSWERS


def http_verdict(answer: str) -> str:
    if answer == "cut":
        return CLOSED
    if not answer.endswith("uvicorn"):
        return PROXY
    status = int(answer.split()[0])
    if status == 404:
        return NOT_SERVED
    return SIGNED if status in (401, 403) else ANSWERS


def probe(
    image: str,
    release: dict[str, Any],
    address: str,
    ports: list[int],
    tls: bool,
    ca: str,
    server_name: str,
    network: str,
) -> dict[int, dict[str, str]]:
    """Every API's verdict on each of PORTS of ADDRESS, asked from a container
    of IMAGE on NETWORK ("host": this machine's own addresses)."""
    if release["http_port"]:
        calls: dict[str, Any] = dict(HTTP_CALLS)
    else:
        calls = {api: method.format(control_api=release["control_api"]) for api, method in GRPC_CALLS.items()}
    spec = {
        "address": address,
        "tls": tls,
        "ca": ca,
        "server_name": server_name,
        "ports": {str(port): calls for port in ports},
    }
    client = docker.from_env()
    try:
        raw = client.containers.run(
            image,
            ["-c", _PROBE, json.dumps(spec)],
            entrypoint="python",
            network=network,
            remove=True,
            environment={"FLWR_TELEMETRY_ENABLED": "0"},
        )
    finally:
        client.close()
    answers = json.loads(raw)
    verdicts: dict[int, dict[str, str]] = {}
    for port in ports:
        got = answers[str(port)]
        if got == "closed":
            verdicts[port] = {api: CLOSED if api in calls else "n/a" for api in APIS}
            continue
        verdicts[port] = {
            api: (grpc_verdict(got[api]) if isinstance(calls[api], str) else http_verdict(got[api]))
            if api in got
            else "n/a"
            for api in APIS
        }
    return verdicts


def table(
    measured: dict[tuple[str, ...], dict[str, str]], expected: dict[tuple[str, ...], dict[str, str]], heads: list[str]
) -> str:
    """Markdown: one row per key (release, TLS, address...), a column per API;
    a cell shows the expected verdict beside a measured one that differs."""
    lines = ["| " + " | ".join(heads + APIS) + " |", "|" + "---|" * (len(heads) + len(APIS))]
    for key, row in measured.items():
        cells = [
            got if got == expected[key][api] else f"**{got}** (expected {expected[key][api]})"
            for api, got in row.items()
        ]
        lines.append("| " + " | ".join(list(key) + cells) + " |")
    return "\n".join(lines)
