# Run inside the SuperLink container, by any Flower release:
#   python -c <this> PROTOCOL API ADDRESS DATABASE SETTLE [CA_CERT SERVER_NAME]
# PROTOCOL grpc calls /flwr.proto.<API>/ListRuns (API: Exec up to Flower 1.20,
# Control from 1.21); http POSTs to /v1/control/list-runs (Flower 1.37+).
# With CA_CERT the call goes over TLS, checking that the server certificate is
# valid for SERVER_NAME.
#
# Healthy means: ListRuns answers twice, SETTLE seconds apart, and the
# database file exists. A liveness probe is not enough (1.23-1.25 on an old
# database stay up and fail every call), nor is one answer (a SuperLink that
# cannot write its database serves requests for about a second, then dies).
#
# Nothing from Flower is imported: its modules move between releases (the gate
# once broke on flwr.proto.exec_pb2). The request is an empty ListRunsRequest
# and the answer is read at the protobuf wire level: field 1 of
# ListRunsResponse is map<uint64, Run> run_dict, one entry per run.
import http.client
import json
import socket
import ssl
import sys
import time
from pathlib import Path

protocol, api, address, database, settle = sys.argv[1:6]
ca_cert, server_name = (sys.argv[6], sys.argv[7]) if len(sys.argv) > 7 else ("", "")


def varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def count_runs(buf: bytes) -> int:
    """Entries of field 1 in a ListRunsResponse."""
    runs = pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = varint(buf, pos)
            pos += length
            runs += field == 1
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    if pos != len(buf):
        raise ValueError("truncated ListRunsResponse")
    return runs


def list_runs_grpc() -> bytes:
    import grpc  # every SuperLink image has it; nothing from flwr

    if ca_cert:
        credentials = grpc.ssl_channel_credentials(root_certificates=Path(ca_cert).read_bytes())
        channel = grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", server_name)])
    else:
        channel = grpc.insecure_channel(address)
    with channel:
        call = channel.unary_unary(f"/flwr.proto.{api}/ListRuns")
        try:
            return bytes(call(b"", timeout=5))
        except grpc.RpcError as err:
            kind = RuntimeError if err.code() == grpc.StatusCode.UNAVAILABLE else Answered
            raise kind(f"{api} API (gRPC) at {address}: {err.code().name} {err.details()}") from None


def list_runs_http() -> bytes:
    host, port = address.rsplit(":", 1)
    try:
        if ca_cert:
            # Dial the local address, verify the certificate for SERVER_NAME.
            context = ssl.create_default_context(cafile=ca_cert)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                server_name, int(port), context=context, timeout=5
            )
            conn.sock = context.wrap_socket(
                socket.create_connection((host, int(port)), timeout=5), server_hostname=server_name
            )
        else:
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("POST", "/v1/control/list-runs", body=b"", headers={"Content-Type": "application/protobuf"})
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
    except (OSError, http.client.HTTPException) as err:
        raise RuntimeError(f"{api} API (HTTP) at {address}: {type(err).__name__}: {err}") from None
    if answer.status != 200:
        raise Answered(f"{api} API (HTTP) at {address}: {answer.status} {body[:300]!r}")
    return body


class Answered(RuntimeError):
    """The SuperLink answered, with an error: it is up but its state does not work."""


def list_runs() -> int:
    return count_runs(list_runs_grpc() if protocol == "grpc" else list_runs_http())


def list_runs_twice() -> int:
    list_runs()
    time.sleep(float(settle))
    return list_runs()


# Exit 1: not reachable (yet): the caller retries. Exit 2: it answered with an
# error twice in a row (e.g. a schema it cannot read): retrying cannot help.
try:
    try:
        runs = list_runs_twice()
    except Answered:
        time.sleep(max(float(settle), 1.0))
        runs = list_runs_twice()
except Answered as err:
    print(f"ListRuns answered with an error: {err}", file=sys.stderr)
    sys.exit(2)
except (RuntimeError, ValueError) as err:
    sys.exit(f"ListRuns failed: {err}")
if not Path(database).is_file():
    sys.exit(f"database {database} does not exist inside the container")
print(json.dumps({"runs": runs, "database": database, "protocol": protocol, "api": api}))
