"""The Flower CLI's connection to a deployed SuperLink, as a file the
operator uses without editing (flower_superlink_flwr_dir).

Where the CLI reads connections is a release fact (cli_connections):
``$FLWR_HOME/config.toml`` (``[superlink] default`` and
``[superlink.<name>]``: address, and root-certificates or insecure), or,
before 1.26, a federation in the app's pyproject.toml
(``[tool.flwr.federations.<name>]``, the same keys). The
address is the SuperLink's Control API as the controller reaches it.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.flower_iac.federation.plugins.plugin_utils.releases import release_facts

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
WILDCARD = {"0.0.0.0", "::", ""}


def connection_name(host: str) -> str:
    """The inventory name as a connection name: letters, digits, - and _."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", host).strip("-") or "superlink"


def address(bind: str, port: int, reach: str) -> tuple[str, str]:
    """(host:port the controller dials, a note when it needs a tunnel).
    BIND: the Control API's bind address; REACH: how the controller reaches
    the host (ansible_host)."""
    if bind in LOOPBACK:
        where = "[::1]" if bind == "::1" else "127.0.0.1"
        return (
            f"{where}:{port}",
            f"The Control API listens on the host's loopback only: forward it first, "
            f"e.g. ssh -N -L {port}:{where.strip('[]')}:{port} {reach}",
        )
    host = reach if bind in WILDCARD else bind
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"{host}:{port}", ""


def flwr_connection(
    host: str, version: str, bind: str, port: int, reach: str, ca_path: str, flwr_dir: str
) -> dict[str, str]:
    """The file to write into FLWR_DIR/<host>/: ``{"file", "content"}``.
    CA_PATH: where the CA is written beside it ("" without TLS)."""
    name = connection_name(host)
    dial, note = address(bind, int(port), reach)
    security = f"root-certificates = {json.dumps(ca_path)}" if ca_path else "insecure = true"
    comment = [f"# The Flower CLI's connection to the SuperLink on {host} (Flower {version}),"]
    comment.append("# written by flower_iac.federation's deploy.yml; edits are overwritten.")
    if note:
        comment.append(f"# {note}")
    home = f"{flwr_dir}/{host}"
    if release_facts(version)["cli_connections"] == "config.toml":
        comment.append(f"#   FLWR_HOME={home} flwr ls {name}")
        body = ["[superlink]", f'default = "{name}"', "", f'[superlink."{name}"]']
        file = "config.toml"
    else:
        comment.append("# Add it to your app's pyproject.toml, then, in the app's directory:")
        comment.append(f"#   flwr ls . {name}")
        body = [f'[tool.flwr.federations."{name}"]']
        file = "federation.toml"
    body += [f"address = {json.dumps(dial)}", security]
    return {"file": file, "content": "\n".join(comment + body) + "\n"}
