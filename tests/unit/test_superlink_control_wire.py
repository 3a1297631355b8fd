"""superlink_control.py against each tested Flower release's own protobuf classes.

The role's Control API client (roles/flower_superlink/files/superlink_control.py)
encodes its requests and decodes the answers by hand, at the wire level. Every
request it sends and every answer it reads is compared here with bytes made by
the generated classes of each tested release (vars/flower_releases.yml), under
the protobuf that release's image pins (tests/images/superlink-requirements-*.txt).

The script runs as it is, on the release facts the role gives it; only its
transport is a fake SuperLink that serves what the release serves: the gRPC
paths of its generated services, or the HTTP routes and media type its own
flwr CLI posts to. Each row: (release, message, case) -> the script's bytes
equal the release's, and its reading of the release's bytes is the expected value.

The release's classes run in an interpreter of their own (flwr_protobuf_probe.py):
releases need different protobuf versions, and none is imported into pytest.
The wheels come from tests/images/build.py's cache when it holds them, else
from pip; each release is unpacked once into .cache/unit-flwr/<version>/.
"""

from __future__ import annotations

import base64
import enum
import http.client
import importlib.util
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import types
import zipfile
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils import releases
from conftest import ROOT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename

SCRIPT = ROOT / "roles/flower_superlink/files/superlink_control.py"
PROBE = Path(__file__).with_name("flwr_protobuf_probe.py")
LOCKS = ROOT / "tests/images"
IMAGE_WHEELS = ROOT / ".cache/wheels"  # tests/images/build.py's download cache
CACHE = ROOT / ".cache/unit-flwr"
RELEASES: list[str] = releases.releases()["tested"]
FACTS = {release: releases.release_facts(release) for release in RELEASES}
# Releases whose SuperNodes the role registers through the Control API
# (tasks/supernodes.yml); before them, a key file read at start.
REGISTERING = [r for r in RELEASES if FACTS[r]["auth"] == "register"]
OVER_HTTP = [r for r in RELEASES if FACTS[r]["control_protocol"] == "http"]


# --- the releases' classes --------------------------------------------------------


def pins(release: str) -> dict[str, str]:
    """flwr and protobuf as the release's test image pins them."""
    lock = LOCKS / f"superlink-requirements-{release}.txt"
    found = dict(re.findall(r"^(flwr|protobuf)==(\S+)$", lock.read_text(), re.MULTILINE))
    assert set(found) == {"flwr", "protobuf"}, f"{lock.name} pins no flwr or no protobuf"
    return found


def cached_wheel(name: str, version: str, release: str) -> Path | None:
    """A wheel of name==version this interpreter can use, from a local cache."""
    here = set(sys_tags())
    for folder in (IMAGE_WHEELS / release, CACHE / "wheels"):
        for path in sorted(folder.glob(f"{name}-{version}-*.whl")):
            if parse_wheel_filename(path.name)[3] & here:
                return path
    return None


def site(release: str) -> Path:
    """.cache/unit-flwr/<release>: the release's flwr/ package and its protobuf, unpacked."""
    want = pins(release)
    dest = CACHE / release
    stamp = json.dumps(want, sort_keys=True)
    if (dest / ".pins").is_file() and (dest / ".pins").read_text() == stamp:
        return dest
    wheels = {name: cached_wheel(name, version, release) for name, version in want.items()}
    missing = [f"{name}=={want[name]}" for name, path in wheels.items() if path is None]
    (CACHE / "wheels").mkdir(parents=True, exist_ok=True)
    if missing:
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
        done = subprocess.run([*pip, "-d", str(CACHE / "wheels"), *missing], capture_output=True, text=True)
        if done.returncode:
            pytest.fail(f"pip download {' '.join(missing)} failed:\n{done.stderr}")
        wheels = {name: cached_wheel(name, version, release) for name, version in want.items()}
    partial = Path(tempfile.mkdtemp(prefix=f".{release}-", dir=CACHE))
    with zipfile.ZipFile(wheels["flwr"]) as flwr:  # type: ignore[arg-type]
        flwr.extractall(partial, [name for name in flwr.namelist() if name.startswith("flwr/")])
    with zipfile.ZipFile(wheels["protobuf"]) as protobuf:  # type: ignore[arg-type]
        protobuf.extractall(partial)
    (partial / ".pins").write_text(stamp)
    shutil.rmtree(dest, ignore_errors=True)
    try:
        partial.rename(dest)
    except OSError:  # another run unpacked it meanwhile
        shutil.rmtree(partial)
    return dest


# --- what the script is asked to send and read --------------------------------------


def key(curve: ec.EllipticCurve, secret: int, name: str) -> tuple[str, bytes]:
    """A fixed key pair's public half: (as an inventory lists it, as Flower stores it)."""
    public = ec.derive_private_key(secret, curve).public_key()
    openssh = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    # What `flwr supernode register` sends: public_key_to_bytes, PEM SubjectPublicKeyInfo.
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"{openssh.decode()} {name}", pem


KEYS = {
    "a": key(ec.SECP256R1(), 1001, "node-a"),
    "b": key(ec.SECP384R1(), 1002, "node-b"),
    "c": key(ec.SECP521R1(), 1003, "node-c"),
    "d": key(ec.SECP256R1(), 1004, "node-d"),
    "e": key(ec.SECP384R1(), 1005, "node-e"),
}
# Node ids are random uint64s: the longest varints, the top bit set.
NODE_IDS = [1, 127, 128, 300, 2**32, 2**63, 2**64 - 1]

# What the script asks ListRuns for: every run, not the first page. Field 2,
# limit (optional uint64), exists from Flower 1.27; from 1.40 an unset limit
# means 20. 2**31 - 1 binds as every release's SQL LIMIT (sqlite3: signed
# 64-bit integers), and no SuperLink holds that many runs.
LIST_RUNS_LIMIT = 2**31 - 1
MANY_RUNS = 25  # more than an unset limit lists (1.40+)

# ListRunsResponse cases: run id -> (status, sub-status); every other field of
# every run is filled in by the probe with whatever the release has.
RUNS: dict[str, dict[int, tuple[str, str]]] = {
    "none": {},
    "one-pending": {1: ("pending", "")},
    "three": {
        7: ("finished", "completed"),
        2**63 + 5: ("running", ""),
        2**64 - 1: ("finished", "failed"),
    },
}

# ListNodes cases: the registered nodes (id, key, NodeStatus attribute of the
# release), the keys the inventory wants, what the script then does and reports.
A, B, C, D, E = (2**63, 2**64 - 1, 42, 300, 1234567890123456789)
NODES = [(A, "a", "ONLINE"), (B, "b", "OFFLINE"), (C, "c", "REGISTERED"), (D, "d", "UNREGISTERED")]
SUPERNODE_CASES: list[tuple[str, list[tuple[int, str, str]], list[str], str, list[tuple[str, Any]], Any]] = [
    # case, nodes, wanted keys, mode, requests after ListNodes, result (or the Refused message's pieces)
    (
        "apply",
        NODES,
        ["a", "c", "e"],
        "apply",
        [("RegisterNode", "e"), ("UnregisterNode", B)],
        {"changed": True, "registered": ["node-e"], "unregistered": [str(B)], "kept": 2},
    ),
    (
        "check",
        NODES,
        ["a", "c", "e"],
        "check",
        [],
        {"changed": True, "registered": ["node-e"], "unregistered": [str(B)], "kept": 2},
    ),
    (
        "unchanged",
        NODES,
        ["c", "b", "a"],
        "apply",
        [],
        {"changed": False, "registered": [], "unregistered": [], "kept": 3},
    ),
    (
        "first",
        [],
        ["b", "a"],
        "apply",
        [("RegisterNode", "b"), ("RegisterNode", "a")],
        {"changed": True, "registered": ["node-b", "node-a"], "unregistered": [], "kept": 0},
    ),
    (
        "all-removed",
        [(A, "a", "ONLINE"), (E, "e", "OFFLINE")],
        [],
        "apply",
        [("UnregisterNode", A), ("UnregisterNode", E)],
        {"changed": True, "registered": [], "unregistered": [str(A), str(E)], "kept": 0},
    ),
    # A key Flower unregistered is never taken again: refused before any change.
    ("reused-key", NODES, ["a", "d"], "apply", [], ["node ids 300", "node-d"]),
]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def message_specs(release: str, node_status: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every message the rows need, as protobuf JSON, by Control API method and side."""
    service = f"flwr.proto.{FACTS[release]['control_api']}"

    def spec(method: str, side: str, content: dict[str, Any], fill: bool = False, **case: Any) -> dict[str, Any]:
        return {"service": service, "method": method, "side": side, "json": content, "fill": fill, **case}

    specs = {
        # The request as the release writes it; a release without the field leaves it out.
        "ListRuns/request": spec("ListRuns", "request", {"limit": str(LIST_RUNS_LIMIT)}, ignore_unknown=True),
        # The script's request as the release reads it, and the empty one it sent before.
        "ListRuns/request/script": spec("ListRuns", "request", {}, hex=script_list_runs_request().hex()),
        "ListRuns/request/empty": spec("ListRuns", "request", {}, hex=""),
    }
    for case, runs in RUNS.items():
        run_dict = {
            str(run_id): {"run_id": str(run_id), "status": {"status": status, "sub_status": sub}}
            for run_id, (status, sub) in runs.items()
        }
        if runs:  # one run with a config override: a map inside a map entry
            run_dict[str(next(iter(runs)))]["override_config"] = {"num-server-rounds": {"sint64": "3"}}
        specs[f"ListRuns/response/{case}"] = spec("ListRuns", "response", {"run_dict": run_dict}, fill=True)
    specs["ListNodes/request"] = spec("ListNodes", "request", {})
    for case, nodes, *_ in SUPERNODE_CASES:
        infos = [
            {"node_id": str(node_id), "public_key": b64(KEYS[k][1]), "status": node_status.get(status, "")}
            for node_id, k, status in nodes
        ]
        specs[f"ListNodes/response/{case}"] = spec("ListNodes", "response", {"nodes_info": infos}, fill=True)
    for k, (_, pem) in KEYS.items():
        specs[f"RegisterNode/request/{k}"] = spec("RegisterNode", "request", {"public_key": b64(pem)})
    specs["RegisterNode/response"] = spec("RegisterNode", "response", {"node_id": str(E)})
    for node_id in [*NODE_IDS, A, B, C, D, E]:
        specs[f"UnregisterNode/request/{node_id}"] = spec("UnregisterNode", "request", {"node_id": str(node_id)})
    specs["UnregisterNode/response"] = spec("UnregisterNode", "response", {})
    return specs


# A ListRuns handler's body: the servicer's method (up to 1.32) or the function
# the gRPC servicer and the HTTP router both call (1.33+), up to the next
# definition at its indentation.
LIST_RUNS_HANDLER = r"^( *)def (?:ListRuns|list_runs)\((.*?)(?=^\1(?:def |class |@)|\Z)"


def sources(site: Path) -> dict[str, Any]:
    """What the release's own Python says, read as text: whether the SuperLink
    has an HTTP Control API (a router under /v1/control), the routes its flwr
    CLI client posts to (each path next to the gRPC method it stands for),
    their media type, the SuperNode statuses (NodeStatus) it stores, and the
    limit its ListRuns handler applies when the request sets none (1.27+:
    `limit = request.limit if request.HasField("limit") else <this>`; null
    when the handler reads no limit)."""
    http_router = False
    unset_limit: set[str] = set()
    routes: dict[str, str] = {}
    media_type = ""
    node_status: dict[str, str] = {}
    for path in sorted((site / "flwr").rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        http_router = http_router or 'prefix="/v1/control"' in text
        if "rpc_method=" in text:
            for http_path, rpc in re.findall(r'path="(/v1/control/[\w-]+)",\s*rpc_method="(/[\w.]+/\w+)"', text):
                routes[rpc] = http_path
        if "PROTOBUF_MEDIA_TYPE =" in text:
            media_type = re.findall(r'^PROTOBUF_MEDIA_TYPE\s*=\s*"([^"]+)"', text, re.MULTILINE)[0]
        block = re.search(r"^class NodeStatus\b.*?(?=^\S|\Z)", text, re.MULTILINE | re.DOTALL)
        if block:
            node_status.update(re.findall(r'^\s+([A-Z_]+)\s*=\s*"([^"]*)"', block.group(0), re.MULTILINE))
        if path.is_relative_to(site / "flwr/superlink"):  # the SuperLink's handlers, not the CLI's client
            for handler in re.finditer(LIST_RUNS_HANDLER, text, re.MULTILINE | re.DOTALL):
                unset_limit.update(
                    re.findall(r'limit = request\.limit if request\.HasField\("limit"\) else (\w+)', handler[2])
                )
    assert len(unset_limit) <= 1, f"ListRuns handlers disagree on an unset limit: {unset_limit}"
    return {
        "http_router": http_router,
        "routes": routes,
        "media_type": media_type,
        "node_status": node_status,
        "list_runs_unset_limit": next(iter(unset_limit), None),
    }


@pytest.fixture(scope="module")
def goldens() -> dict[str, dict[str, Any]]:
    """Per release: what its sources say and the probe's answer (services, message bytes)."""
    sites = {release: site(release) for release in RELEASES}
    found = {release: sources(path) for release, path in sites.items()}
    answers = probe(sites, {r: message_specs(r, found[r]["node_status"]) for r in RELEASES})
    return {release: {**found[release], **answers[release]} for release in RELEASES}


def probe(sites: dict[str, Path], specs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Run every release's probe at once; return their answers."""
    running = {
        release: subprocess.Popen(
            [sys.executable, "-S", str(PROBE), str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for release, path in sites.items()
    }
    answers = {}
    for release, proc in running.items():
        out, err = proc.communicate(json.dumps({"messages": specs[release]}))
        if proc.returncode:
            pytest.fail(f"probe for flwr {release} failed:\n{err}")
        answers[release] = json.loads(out)
    return answers


def golden(goldens: dict[str, dict[str, Any]], release: str, case_id: str) -> bytes:
    message = goldens[release]["messages"][case_id]
    assert "absent" not in message, f"flwr {release}: {message['absent']}"
    return bytes.fromhex(message["hex"])


def has_limit(goldens: dict[str, dict[str, Any]], release: str) -> bool:
    """Whether the release's ListRunsRequest has field 2, limit (1.27+)."""
    return any(f["number"] == 2 for f in goldens[release]["messages"]["ListRuns/request"]["fields"])


def list_runs_request(goldens: dict[str, dict[str, Any]], release: str) -> bytes:
    """The ListRunsRequest the script must send a release: limit = LIST_RUNS_LIMIT
    as the release's own classes write it, or, for a release without the field
    (it skips field 2: test_list_runs_request), as the oldest tested release with
    the field writes it: the request is the same for every release."""
    with_limit = [r for r in RELEASES if has_limit(goldens, r)]
    assert with_limit, "no tested release has ListRunsRequest.limit"
    return golden(goldens, release if release in with_limit else with_limit[0], "ListRuns/request")


# --- the script, on a fake SuperLink of the release --------------------------------


class StatusCode(enum.Enum):
    UNAVAILABLE = 14
    UNIMPLEMENTED = 12


class RpcError(Exception):
    def __init__(self, code: StatusCode, details: str) -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class FakeSuperLink:
    """The release's Control API as the script meets it: only the release's
    paths answer, each method with fixed bytes; every request is recorded.
    HTTP if the release has the HTTP Control API (1.42 still generates the gRPC
    service, but serves it only under an internal switch), else gRPC."""

    def __init__(self, golden: dict[str, Any], answers: dict[str, bytes]) -> None:
        (self.service,) = golden["control_services"]  # the service with ListRuns: Exec, then Control
        self.methods = golden["services"][self.service]
        # HTTP: the routes the release's own flwr CLI posts each method to.
        self.routes = {path: rpc.rsplit("/", 1)[1] for rpc, path in golden["routes"].items()}
        self.media_type = golden["media_type"]
        self.protocol = "http" if golden["http_router"] else "grpc"
        self.answers = answers
        self.calls: list[tuple[str, bytes]] = []

    def answer(self, method: str, request: bytes) -> bytes:
        self.calls.append((method, bytes(request)))
        assert method in self.answers, f"the script called {method}, which this row does not expect"
        return self.answers[method]

    def grpc(self) -> types.ModuleType:
        link = self

        class Channel:
            def __enter__(self) -> Channel:
                return self

            def __exit__(self, *exc: object) -> None:
                return None

            def unary_unary(self, path: str) -> Callable[..., bytes]:
                def call(request: bytes, timeout: float) -> bytes:
                    service, _, method = path.removeprefix("/").partition("/")
                    if link.protocol != "grpc" or service != link.service or method not in link.methods:
                        raise RpcError(StatusCode.UNIMPLEMENTED, f"the release serves no gRPC {path}")
                    return link.answer(method, request)

                return call

        module = types.ModuleType("grpc")
        module.insecure_channel = lambda address: Channel()  # type: ignore[attr-defined]
        module.RpcError = RpcError  # type: ignore[attr-defined]
        module.StatusCode = StatusCode  # type: ignore[attr-defined]
        return module

    def http_connection(self) -> type:
        link = self

        class Response:
            def __init__(self, status: int, body: bytes) -> None:
                self.status, self.body = status, body

            def read(self) -> bytes:
                return self.body

            def getheader(self, name: str, default: str | None = None) -> str | None:
                return "uvicorn" if name.lower() == "server" else default

        class Connection:
            def __init__(self, host: str, port: int, timeout: float | None = None) -> None:
                self.response = Response(500, b"no request")

            def request(self, verb: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                headers = {k.lower(): v for k, v in (headers or {}).items()}
                if link.protocol != "http" or verb != "POST" or path not in link.routes:
                    self.response = Response(404, f"the release has no HTTP route {verb} {path}".encode())
                elif headers.get("content-type") != link.media_type:
                    self.response = Response(415, f"not {link.media_type}".encode())
                else:
                    self.response = Response(200, link.answer(link.routes[path], body))

            def getresponse(self) -> Response:
                return self.response

            def close(self) -> None:
                return None

        return Connection


def load_script() -> types.ModuleType:
    """The role's script as a module: its functions, not its entry point."""
    spec = importlib.util.spec_from_file_location("superlink_control", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def script_list_runs_request() -> bytes:
    """The bytes the script's list_runs() sends, whatever builds them."""
    script = load_script()
    sent: list[tuple[str, bytes]] = []
    script.call = lambda method, request=b"": sent.append((method, request)) or b""  # type: ignore[attr-defined]
    assert script.list_runs() == 0
    ((method, request),) = sent
    assert method == "ListRuns"
    return bytes(request)


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch, goldens: dict[str, dict[str, Any]]) -> Callable[..., Any]:
    """connect(release, answers) -> (script, link): the script set up as the role
    runs it for the release (vars/main.yml _flower_superlink_control_connection),
    wired to a fake SuperLink of that release."""

    def make(release: str, answers: dict[str, bytes]) -> tuple[types.ModuleType, FakeSuperLink]:
        facts = FACTS[release]
        link = FakeSuperLink(goldens[release], answers)
        script = load_script()
        script.protocol = facts["control_protocol"]  # type: ignore[attr-defined]
        script.api = facts["control_api"]  # type: ignore[attr-defined]
        script.address = f"127.0.0.1:{facts['control_port']}"  # type: ignore[attr-defined]
        script.ca_cert = script.server_name = ""  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "grpc", link.grpc())
        monkeypatch.setattr(http.client, "HTTPConnection", link.http_connection())
        return script, link

    return make


# --- rows -------------------------------------------------------------------------


def rows(releases: list[str], cases: list[str]) -> list[Any]:
    return [pytest.param(r, c, id=f"{r}-{c}") for r in releases for c in cases]


def test_every_tested_release_has_an_image_lock() -> None:
    """The releases come from flower_releases.yml; their pins from the image locks."""
    assert RELEASES, "no tested releases in vars/flower_releases.yml"
    for release in RELEASES:
        assert pins(release)["flwr"] == release


@pytest.mark.parametrize("release", RELEASES)
def test_control_api_of_the_release(goldens: dict[str, dict[str, Any]], release: str) -> None:
    """The release facts the script is called with name the release's Control API."""
    facts, found = FACTS[release], goldens[release]
    assert found["control_services"] == [f"flwr.proto.{facts['control_api']}"]
    methods = found["services"][found["control_services"][0]]
    assert methods["ListRuns"] == ["flwr.proto.ListRunsRequest", "flwr.proto.ListRunsResponse"]
    supernode_methods = {"ListNodes", "RegisterNode", "UnregisterNode"}
    if facts["auth"] == "register":
        assert supernode_methods <= set(methods)
        assert {"ONLINE", "OFFLINE", "REGISTERED", "UNREGISTERED"} <= set(found["node_status"])
    else:  # supernodes.yml never runs for it: a key file instead
        assert not supernode_methods & set(methods)
    assert found["http_router"] == (facts["control_protocol"] == "http")
    if facts["control_protocol"] == "http":
        service = found["control_services"][0]
        routes = {rpc: path for rpc, path in found["routes"].items() if rpc.startswith(f"/{service}/")}
        assert {f"/{service}/{m}" for m in {"ListRuns"} | supernode_methods} <= set(routes)
        assert found["media_type"] == "application/protobuf"


@pytest.mark.parametrize(("release", "case"), rows(RELEASES, list(RUNS)))
def test_list_runs(connect: Callable[..., Any], goldens: dict[str, dict[str, Any]], release: str, case: str) -> None:
    """ListRuns: the script's request is the release's ListRunsRequest, and it
    counts the runs of the release's ListRunsResponse."""
    answer = golden(goldens, release, f"ListRuns/response/{case}")
    script, link = connect(release, {"ListRuns": answer})
    assert script.list_runs() == len(RUNS[case])
    assert link.calls == [("ListRuns", list_runs_request(goldens, release))]
    # The entries it counts are the runs: field 1 of the answer, each a run_dict entry.
    assert [n for n, _ in script.fields(answer)].count(1) == len(RUNS[case])


@pytest.mark.parametrize("release", RELEASES)
def test_list_runs_request(goldens: dict[str, dict[str, Any]], release: str) -> None:
    """The script's ListRunsRequest as the release's classes read it: run_id
    unset (every run, not one), limit = LIST_RUNS_LIMIT where the release has
    the field (1.27+: field 2, optional uint64); a release without it skips
    field 2 and reads an empty request, as it always did."""
    read = goldens[release]["messages"]["ListRuns/request/script"]
    declared = {f["number"]: f for f in read["fields"]}
    uint64 = {"type": "uint64", "repeated": False, "optional": True}
    assert declared[1] == {"number": 1, "name": "run_id", **uint64}
    assert read["has"]["run_id"] is False
    if has_limit(goldens, release):
        assert declared[2] == {"number": 2, "name": "limit", **uint64}
        assert read["has"]["limit"] is True
        assert read["json"] == {"limit": str(LIST_RUNS_LIMIT)}
        # Byte for byte what the release writes for that request.
        assert script_list_runs_request() == golden(goldens, release, "ListRuns/request")
    else:
        assert read["json"] == {}  # nothing the release knows is set
        assert goldens[release]["list_runs_unset_limit"] is None  # and its handler reads no limit
        assert golden(goldens, release, "ListRuns/request") == b""


def listed(goldens: dict[str, dict[str, Any]], release: str, case: str, runs: int) -> int:
    """How many of `runs` runs the release's ListRuns handler returns for a
    request, as its source decides: without run_id, `limit = request.limit if
    request.HasField("limit") else <unset limit>` (1.27+; None up to 1.39, 20
    from 1.40), then SQL LIMIT; before 1.27 every run. HasField and the value
    are the release's classes' reading of the request."""
    read = goldens[release]["messages"][case]
    assert read["has"]["run_id"] is False  # a single run otherwise
    unset = goldens[release]["list_runs_unset_limit"]
    if unset is None:  # the handler reads no limit
        return runs
    if read["has"]["limit"]:
        return min(runs, int(read["json"]["limit"]))
    return runs if unset == "None" else min(runs, int(unset))


@pytest.mark.parametrize("release", RELEASES)
def test_list_runs_lists_every_run(goldens: dict[str, dict[str, Any]], release: str) -> None:
    """More runs than an unset limit lists (20 from 1.40): the release's handler
    lists them all for the script's request, so health's count is the database's
    (switch.yml compares it with the backup's SELECT COUNT(*) FROM run)."""
    assert listed(goldens, release, "ListRuns/request/script", MANY_RUNS) == MANY_RUNS


def test_an_empty_list_runs_request_stops_at_20(goldens: dict[str, dict[str, Any]]) -> None:
    """What the script sent before: an empty request, which the newest tested
    release answers with its first 20 runs, so a SuperLink with more failed its
    health gate after a restore or a rollback."""
    newest = RELEASES[-1]
    assert goldens[newest]["list_runs_unset_limit"] == "20"
    assert golden(goldens, newest, "ListRuns/request/empty") == b""
    assert listed(goldens, newest, "ListRuns/request/empty", MANY_RUNS) == 20


def test_list_runs_limit_binds_in_sqlite() -> None:
    """The releases pass the limit to SQLite as a bound LIMIT (1.27-1.39 `LIMIT
    :limit` through SQLAlchemy's text(), 1.40+ select().limit()), bound by
    sqlite3: LIST_RUNS_LIMIT lists every run; past a signed 64-bit integer
    (a uint64 can say up to 2**64 - 1) it would not bind at all."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE run (run_id INTEGER PRIMARY KEY, pending_at TEXT)")
    db.executemany("INSERT INTO run VALUES (?, ?)", [(i, f"2026-01-01T00:00:{i:02}") for i in range(MANY_RUNS)])
    query = "SELECT * FROM run ORDER BY pending_at DESC LIMIT :limit"
    assert len(db.execute(query, {"limit": LIST_RUNS_LIMIT}).fetchall()) == MANY_RUNS
    assert len(db.execute(query, {"limit": 2**63 - 1}).fetchall()) == MANY_RUNS
    with pytest.raises(OverflowError):
        db.execute(query, {"limit": 2**63})
    db.close()


@pytest.mark.parametrize("release", RELEASES)
def test_health(connect: Callable[..., Any], goldens: dict[str, dict[str, Any]], release: str, tmp_path: Path) -> None:
    """The health command end to end: ListRuns twice, the database file, the report."""
    database = tmp_path / "state.db"
    database.touch()
    script, link = connect(release, {"ListRuns": golden(goldens, release, "ListRuns/response/three")})
    facts = FACTS[release]
    assert script.health(str(database), "0") == {
        "runs": 3,
        "database": str(database),
        "protocol": facts["control_protocol"],
        "api": facts["control_api"],
    }
    assert link.calls == [("ListRuns", list_runs_request(goldens, release))] * 2


@pytest.mark.parametrize(("release", "case"), rows(REGISTERING, [c[0] for c in SUPERNODE_CASES]))
def test_list_nodes_decoded(goldens: dict[str, dict[str, Any]], release: str, case: str) -> None:
    """NodeInfo as the script reads it (fields 1, 4, 11) out of the release's ListNodesResponse."""
    script = load_script()
    nodes = next(c[1] for c in SUPERNODE_CASES if c[0] == case)
    status = goldens[release]["node_status"]
    answer = golden(goldens, release, f"ListNodes/response/{case}")
    infos = [dict(script.fields(info)) for number, info in script.fields(answer) if number == 1]
    assert [(i[1], i[4].decode(), i[11]) for i in infos] == [(n, status[s], KEYS[k][1]) for n, k, s in nodes]


@pytest.mark.parametrize(("release", "case"), rows(REGISTERING, [c[0] for c in SUPERNODE_CASES]))
def test_supernodes(connect: Callable[..., Any], goldens: dict[str, dict[str, Any]], release: str, case: str) -> None:
    """The supernodes command end to end: what it reads, the requests it sends, its report."""
    _, _, wanted, mode, requests, expected = next(c for c in SUPERNODE_CASES if c[0] == case)
    answers = {
        "ListNodes": golden(goldens, release, f"ListNodes/response/{case}"),
        "RegisterNode": golden(goldens, release, "RegisterNode/response"),
        "UnregisterNode": golden(goldens, release, "UnregisterNode/response"),
    }
    script, link = connect(release, answers)
    keys_json = json.dumps([KEYS[k][0] for k in wanted])
    if isinstance(expected, dict):
        assert script.supernodes(keys_json, mode) == expected
    else:
        with pytest.raises(script.Refused) as refused:
            script.supernodes(keys_json, mode)
        assert all(piece in str(refused.value) for piece in expected), refused.value
    sent = [("ListNodes", golden(goldens, release, "ListNodes/request"))] + [
        (method, golden(goldens, release, f"{method}/request/{arg}")) for method, arg in requests
    ]
    assert link.calls == sent


@pytest.mark.parametrize(("release", "case"), rows(REGISTERING, list(KEYS)))
def test_register_node_request(goldens: dict[str, dict[str, Any]], release: str, case: str) -> None:
    """RegisterNodeRequest.public_key (field 1, bytes): a PEM key of each curve."""
    assert load_script().encode(1, KEYS[case][1]) == golden(goldens, release, f"RegisterNode/request/{case}")


@pytest.mark.parametrize(("release", "case"), rows(REGISTERING, [str(n) for n in NODE_IDS]))
def test_unregister_node_request(goldens: dict[str, dict[str, Any]], release: str, case: str) -> None:
    """UnregisterNodeRequest.node_id (field 1, uint64 varint), up to 2**64 - 1."""
    assert load_script().encode(1, int(case)) == golden(goldens, release, f"UnregisterNode/request/{case}")


# --- the entry point, unchanged by being importable ---------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ARGV_CASES = [
    # case, arguments after `python -c <script>`, exit code, last line of stderr
    ("no-arguments", [], 1, "ValueError: not enough values to unpack (expected 6, got 0)"),
    ("command-only", ["health"], 1, "ValueError: not enough values to unpack (expected 6, got 1)"),
    ("unknown-command", ["bogus", "grpc", "Exec", "127.0.0.1:1", "", ""], 1, "unknown command bogus"),
    (
        "health-without-arguments",
        ["health", "grpc", "Exec", "127.0.0.1:1", "", ""],
        1,
        "TypeError: health() missing 2 required positional arguments: 'database' and 'settle'",
    ),
    (
        "supernodes-bad-json",
        ["supernodes", "grpc", "Control", "127.0.0.1:1", "", "", "not json", "apply"],
        1,
        "supernodes failed: Expecting value: line 1 column 1 (char 0)",
    ),
    (
        "health-unreachable",
        ["health", "http", "Control", "127.0.0.1:{port}", "", "", "/nonexistent", "0"],
        1,
        "health failed: Control API (HTTP) /v1/control/list-runs at 127.0.0.1:{port}: ConnectionRefusedError",
    ),
]


@pytest.mark.parametrize(("argv", "code", "stderr"), [c[1:] for c in ARGV_CASES], ids=[c[0] for c in ARGV_CASES])
def test_entry_point(argv: list[str], code: int, stderr: str) -> None:
    """`python -c <script> ...` as the role runs it: usage errors and exit codes."""
    port = str(closed_port())
    done = run_script([a.replace("{port}", port) for a in argv])
    assert (done.returncode, done.stdout) == (code, "")
    assert done.stderr.strip().splitlines()[-1].startswith(stderr.replace("{port}", port)), done.stderr


def run_script(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT.read_text(), *argv], capture_output=True, text=True)


@pytest.mark.parametrize(("release", "case"), rows(OVER_HTTP, ["health", "apply", "reused-key"]))
def test_entry_point_over_http(goldens: dict[str, dict[str, Any]], release: str, case: str, tmp_path: Path) -> None:
    """The whole script, as the role runs it, against a real HTTP server that
    answers the release's routes with the release's bytes: its output and exit code."""
    found = goldens[release]
    routes = {path: rpc.rsplit("/", 1)[1] for rpc, path in found["routes"].items()}
    answers = {
        "ListRuns": golden(goldens, release, "ListRuns/response/three"),
        "ListNodes": golden(goldens, release, f"ListNodes/response/{case}") if case != "health" else b"",
        "RegisterNode": golden(goldens, release, "RegisterNode/response"),
        "UnregisterNode": golden(goldens, release, "UnregisterNode/response"),
    }
    received: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            method = routes.get(self.path, self.path)
            received.append((method, body))
            ok = method in answers and self.headers["Content-Type"] == found["media_type"]
            payload = answers[method] if ok else b"unknown route or media type"
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", found["media_type"])
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            return None

    facts = FACTS[release]
    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        connection = [facts["control_protocol"], facts["control_api"], f"127.0.0.1:{server.server_port}", "", ""]
        try:
            if case == "health":
                (tmp_path / "state.db").touch()
                done = run_script(["health", *connection, str(tmp_path / "state.db"), "0"])
            else:
                _, _, wanted, mode, requests, expected = next(c for c in SUPERNODE_CASES if c[0] == case)
                done = run_script(["supernodes", *connection, json.dumps([KEYS[k][0] for k in wanted]), mode])
        finally:
            server.shutdown()
    if case == "health":
        assert (done.returncode, done.stderr) == (0, "")
        assert json.loads(done.stdout) == {
            "runs": 3,
            "database": str(tmp_path / "state.db"),
            "protocol": "http",
            "api": facts["control_api"],
        }
        assert received == [("ListRuns", list_runs_request(goldens, release))] * 2
        return
    sent = [("ListNodes", golden(goldens, release, "ListNodes/request"))] + [
        (method, golden(goldens, release, f"{method}/request/{arg}")) for method, arg in requests
    ]
    assert received == sent
    if isinstance(expected, dict):
        assert (done.returncode, done.stderr, json.loads(done.stdout)) == (0, "", expected)
    else:  # exit 3: refused before changing anything
        assert (done.returncode, done.stdout) == (3, "")
        assert done.stderr.startswith("supernodes: refused, nothing was changed: ")
        assert all(piece in done.stderr for piece in expected), done.stderr
