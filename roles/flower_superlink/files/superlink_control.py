# Talks to the SuperLink's Control API from inside its container, for any
# Flower release from 1.19 to 1.42:
#   python -c <this> COMMAND PROTOCOL API ADDRESS CA_CERT SERVER_NAME [ARGS...]
# PROTOCOL grpc calls /flwr.proto.<API>/<Method> (API: Exec up to Flower
# 1.20, Control from 1.21); http POSTs to /v1/control/<method> (1.37+). With
# a CA_CERT ("" for none) the call goes over TLS and the server certificate
# must be valid for SERVER_NAME.
#
# Commands:
#   health DATABASE SETTLE   ListRuns answers twice, SETTLE seconds apart, and
#                            the database file exists. A liveness probe is not
#                            enough (1.23-1.25 on an old database stay up and
#                            fail every call), nor is one answer (a SuperLink
#                            that cannot write its database answers for about
#                            a second, then dies). Prints {"runs": N, ...}.
#   runs                     One ListRuns (the metrics collector's liveness
#                            probe). Prints {"runs": N}.
#   supernodes KEYS_JSON MODE  Makes the registered SuperNodes (Flower 1.23+,
#                            the RPCs behind `flwr supernode register` and
#                            `unregister`) exactly the OpenSSH public keys in
#                            KEYS_JSON. MODE check only reports. Prints
#                            {"changed": bool, "registered": [...], "unregistered": [...]}.
#
# Nothing from Flower is imported: its modules move between releases (the
# gate once broke on flwr.proto.exec_pb2). Requests and answers are encoded
# at the protobuf wire level; a field has the same number in every release
# that has it (tests/unit/test_superlink_control_wire.py compares the bytes
# with each tested release's own classes; it loads this file's functions,
# hence __main__).
# Exit 1: not reachable (yet), the caller retries. Exit 2: the SuperLink
# answered with an error twice in a row; retrying cannot help. Exit 3: refused
# before changing anything (the message says why).
import http.client
import json
import socket
import ssl
import sys
import time
from pathlib import Path


class Answered(RuntimeError):
    """The SuperLink answered, with an error: it is up but something does not work."""


class Refused(RuntimeError):
    """What was asked cannot be done; nothing was changed (exit 3)."""


# --- protobuf wire format ---------------------------------------------------


def varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(buf: bytes) -> list[tuple[int, object]]:
    """(field number, value) of a message: ints for varints, bytes for the rest."""
    out: list[tuple[int, object]] = []
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
            out.append((number, value))
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            out.append((number, buf[pos : pos + size]))
            pos += size
        elif wire == 2:
            length, pos = varint(buf, pos)
            out.append((number, buf[pos : pos + length]))
            pos += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    if pos != len(buf):
        raise ValueError("truncated protobuf message")
    return out


def encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def encode(number: int, value: object) -> bytes:
    if isinstance(value, int):
        return encode_varint(number << 3) + encode_varint(value)
    data = value if isinstance(value, bytes) else str(value).encode()
    return encode_varint(number << 3 | 2) + encode_varint(len(data)) + data


# --- transport ----------------------------------------------------------------


def call_grpc(method: str, request: bytes) -> bytes:
    import grpc  # every SuperLink image has it; nothing from flwr

    if ca_cert:
        credentials = grpc.ssl_channel_credentials(root_certificates=Path(ca_cert).read_bytes())
        channel = grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", server_name)])
    else:
        channel = grpc.insecure_channel(address)
    with channel:
        try:
            return bytes(channel.unary_unary(f"/flwr.proto.{api}/{method}")(request, timeout=10))
        except grpc.RpcError as err:
            kind = RuntimeError if err.code() == grpc.StatusCode.UNAVAILABLE else Answered
            raise kind(f"{api} API (gRPC) {method} at {address}: {err.code().name} {err.details()}") from None


def call_http(method: str, request: bytes) -> bytes:
    path = "/v1/control/" + "".join("-" + c.lower() if c.isupper() else c for c in method).lstrip("-")
    host, port = address.rsplit(":", 1)
    host = host.strip("[]")  # an IPv6 address is written [addr]:port
    try:
        if ca_cert:
            # Dial the local address, verify the certificate for SERVER_NAME.
            context = ssl.create_default_context(cafile=ca_cert)
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                server_name, int(port), context=context, timeout=10
            )
            conn.sock = context.wrap_socket(
                socket.create_connection((host, int(port)), timeout=10), server_hostname=server_name
            )
        else:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", path, body=request, headers={"Content-Type": "application/protobuf"})
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
    except (OSError, http.client.HTTPException) as err:
        raise RuntimeError(f"{api} API (HTTP) {path} at {address}: {type(err).__name__}: {err}") from None
    if answer.status in (502, 503, 504) and "uvicorn" not in (answer.getheader("server") or ""):
        # The route-filtering proxy answered for a SuperLink that is not (yet) up.
        raise RuntimeError(f"{api} API (HTTP) {path} at {address}: the proxy has no SuperLink ({answer.status})")
    if answer.status != 200:
        raise Answered(f"{api} API (HTTP) {path} at {address}: {answer.status} {body[:300]!r}")
    return body


def call(method: str, request: bytes = b"") -> bytes:
    return (call_grpc if protocol == "grpc" else call_http)(method, request)


# --- commands -------------------------------------------------------------------


# ListRunsRequest without run_id (field 1) lists the runs. Field 2, limit
# (optional uint64, Flower 1.27+), caps how many; from 1.40 an unset limit
# means 20, so an empty request would never count more than 20 runs, and the
# count a switch compares with its backup's (switch.yml) would be wrong. The
# limit is always sent: a release before 1.27 has no field 2 and its protobuf
# parser skips it. 2**31 - 1 is more runs than any SuperLink keeps, and within
# every integer the releases bind it to (SQLite's LIMIT: signed 64-bit).
LIST_RUNS_LIMIT = 2**31 - 1


def list_runs() -> int:
    """Runs the SuperLink lists: entries of ListRunsResponse.run_dict (field 1)."""
    return sum(1 for number, _value in fields(call("ListRuns", encode(2, LIST_RUNS_LIMIT))) if number == 1)


def health(database: str, settle: str) -> dict[str, object]:
    def twice() -> int:
        list_runs()
        time.sleep(float(settle))
        return list_runs()

    try:
        runs = twice()
    except Answered:
        time.sleep(max(float(settle), 1.0))
        runs = twice()
    if not Path(database).is_file():
        raise RuntimeError(f"database {database} does not exist inside the container")
    return {"runs": runs, "database": database, "protocol": protocol, "api": api}


def pem(key: bytes) -> bytes:
    """A public key as Flower stores it: PEM SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives import serialization  # a dependency of flwr

    loaded = (
        serialization.load_pem_public_key(key) if key.startswith(b"-----") else serialization.load_ssh_public_key(key)
    )
    return loaded.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def supernodes(keys_json: str, mode: str) -> dict[str, object]:
    wanted = {pem(k.encode()): k for k in json.loads(keys_json)}
    registered: dict[bytes, int] = {}
    retired: dict[bytes, int] = {}
    for number, info in fields(call("ListNodes")):
        if number != 1:
            continue
        node = dict(fields(info))  # NodeInfo: 1 node_id, 4 status, 11 public_key
        status = node.get(4, b"").decode()
        if node.get(11):
            (retired if status in ("unregistered", "deleted") else registered)[pem(node[11])] = node[1]
    # Flower keeps an unregistered node's key and refuses it ever after
    # ("Public key already in use"): say so before changing anything.
    reused = [wanted[k] for k in wanted if k not in registered and k in retired]
    if reused:
        raise Refused(
            "Flower does not register a key twice, and these were unregistered before "
            f"(node ids {', '.join(str(retired[pem(k.encode())]) for k in reused)}): "
            f"{', '.join(k.split(' ')[-1] for k in reused)}. Give those SuperNodes new key pairs."
        )
    to_register = [k for k in wanted if k not in registered]
    to_unregister = [node_id for k, node_id in registered.items() if k not in wanted]
    if mode == "apply":
        for key in to_register:
            call("RegisterNode", encode(1, key))
        for node_id in to_unregister:
            call("UnregisterNode", encode(1, node_id))
    return {
        "changed": bool(to_register or to_unregister),
        "registered": [wanted[k].split(" ")[-1] for k in to_register],
        "unregistered": [str(n) for n in to_unregister],
        "kept": len(wanted) - len(to_register),
    }


if __name__ == "__main__":  # python -c runs it as __main__; tests load its functions
    command, protocol, api, address, ca_cert, server_name = sys.argv[1:7]
    args = sys.argv[7:]
    try:
        if command == "health":
            result = health(*args)
        elif command == "runs":
            result = {"runs": list_runs()}
        elif command == "supernodes":
            result = supernodes(*args)
        else:
            sys.exit(f"unknown command {command}")
    except Answered as err:
        print(f"{command}: the SuperLink answered with an error: {err}", file=sys.stderr)
        sys.exit(2)
    except Refused as err:
        print(f"{command}: refused, nothing was changed: {err}", file=sys.stderr)
        sys.exit(3)
    except (RuntimeError, ValueError) as err:
        sys.exit(f"{command} failed: {err}")
    print(json.dumps(result))
