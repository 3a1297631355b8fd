"""Which API answers on which published address: probed as a client would.

Each probe is one HTTP request sent from a test host to ADDRESS:PORT. The
answer is classified by who gave it: Flower's own HTTP server (uvicorn names
itself in the ``server`` header), the route-filtering proxy (no such header),
or nobody (no TCP connection). The route list covers every API a SuperLink
1.37+ serves on its one HTTP port, the documentation routes, and paths that
try to walk from one API's prefix into another's.
"""

from __future__ import annotations

import json
from typing import Any

# (method, path) per API; each API's routes as Flower 1.42 names them
# (flwr/superlink/routers/*/router.py, flwr/supercore/routers/*).
ROUTES: list[tuple[str, str, str]] = [
    ("fleet", "POST", "/v1/fleet/get-run"),
    ("fleet", "POST", "/v1/fleet/register-node"),
    ("control", "POST", "/v1/control/list-runs"),
    ("control", "POST", "/v1/control/register-node"),
    ("runtime", "POST", "/v1/runtime/get-nodes"),
    ("runtime", "POST", "/v1/runtime/push-logs"),
    ("docs", "GET", "/docs"),
    ("docs", "GET", "/openapi.json"),
    ("health", "GET", "/health"),
    ("walk", "POST", "/v1/fleet/../control/list-runs"),
    ("walk", "POST", "/v1/fleet/%2e%2e/control/list-runs"),
    ("walk", "POST", "/v1/fleet//../runtime/get-nodes"),
    ("walk", "POST", "/v1/fleet/get-run?next=/v1/control/list-runs"),
]

FLOWER, MISSING, PROXY, CLOSED = "Flower answers", "Flower: no such route", "refused (proxy)", "no connection"

# One request on a connected socket, as the probe scripts (this one and
# tests/release_exposure.py's) send it: "STATUS SERVER" of the answer; raises
# what the connection raised.
HTTP_REQUEST = r"""
def http_request(sock, host, port, tls, server_name, method, path):
    if tls:
        sock = ssl._create_unverified_context().wrap_socket(sock, server_hostname=server_name)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.sock = sock
    conn.request(method, path, body=b"" if method == "POST" else None,
                 headers={"Content-Type": "application/protobuf"})
    answer = conn.getresponse()
    answer.read()
    return f"{answer.status} {answer.getheader('server', '')}".strip()
"""

_PROBE = (
    r"""
import http.client, json, socket, ssl, sys
"""
    + HTTP_REQUEST
    + r"""
host, port, tls, routes = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", json.loads(sys.argv[4])
out = {}
for method, path in routes:
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError:
        out[path] = "closed"
        continue
    try:
        out[path] = http_request(sock, host, port, tls, host, method, path)
    except (OSError, http.client.HTTPException) as err:
        out[path] = "closed" if isinstance(err, (ConnectionError, ssl.SSLError)) else f"error {err}"
print(json.dumps(out))
"""
)


def classify(answer: str) -> str:
    if answer == "closed":
        return CLOSED
    if not answer.endswith("uvicorn"):
        return PROXY
    return MISSING if answer.startswith("404 ") else FLOWER


def probe(client: Any, address: str, port: int, tls: bool) -> dict[str, str]:
    """Each route's verdict when CLIENT (a testinfra host) asks ADDRESS:PORT."""
    routes = [[method, path] for _, method, path in ROUTES]
    raw = client.check_output(
        "python3 -c %s %s %s %s %s", _PROBE, address, str(port), "1" if tls else "0", json.dumps(routes)
    )
    answers = json.loads(raw)
    return {path: classify(answers[path]) for _, _, path in ROUTES}


def table(rows: dict[str, dict[str, str]], expected: dict[str, dict[str, str]]) -> str:
    """A Markdown table: one row per route, a column per probed address with
    what was measured, the expected verdict beside it where they differ."""
    columns = list(rows)
    lines = ["| API | Route | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    for api, method, path in ROUTES:
        cells = []
        for column in columns:
            got, want = rows[column][path], expected[column][path]
            cells.append(got if got == want else f"**{got}** (expected {want})")
        lines.append(f"| {api} | `{method} {path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
