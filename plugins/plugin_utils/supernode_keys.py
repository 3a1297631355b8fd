"""SuperNode public keys: read as keys, collected per SuperLink, written as Flower's list.

A SuperLink with SuperNode authentication admits only the keys on its list.
Each SuperNode publishes its own key (a local fact); the SuperLink's play
collects the keys of the nodes the inventory assigns to it, refuses any that
is not a real OpenSSH ECDSA key, and remembers what it read so that one node
being down never blocks a deploy. The list Flower reads is never empty: with
no node, it holds a key nobody holds the private key of.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

_PUBKEY = r"ecdsa-sha2-nistp(256|384|521) [A-Za-z0-9+/]+={0,2}"
PUBKEY_RE = re.compile(_PUBKEY + r"( [A-Za-z0-9_.@+:=-]{1,128})?\Z")
# What flower_supernode publishes: the key as ssh-keygen writes it, no comment.
PUBLISHED_KEY_RE = re.compile(_PUBKEY + r"\Z")

# NIST curves as OpenSSH names them: field prime p and coefficient b of
# y^2 = x^3 - 3x + b (mod p), and the coordinate size in bytes.
CURVES = {
    "nistp256": (
        2**256 - 2**224 + 2**192 + 2**96 - 1,
        0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
        32,
    ),
    "nistp384": (
        2**384 - 2**128 - 2**96 + 2**32 - 1,
        0xB3312FA7E23EE7E4988E056BE3F82D19181D9C6EFE8141120314088F5013875AC656398D8A2ED19D2A85C8EDD3EC2AEF,
        48,
    ),
    "nistp521": (
        2**521 - 1,
        0x0051953EB9618E1C9A1F929A21A0B68540EEA2DA725B99B315F3B8B489918EF109E156193951EC7E937B1652C0BD3BB1BF073573DF883D2C34F1EF451FD46B503F00,
        66,
    ),
}


def ssh_key_problem(key: Any) -> str:
    """Why KEY is not one OpenSSH ECDSA public key Flower can load, or ''.

    The pattern alone lets through blobs that are not keys, and Flower
    1.19-1.22 then exit at start on the key list. This reads the blob as
    OpenSSH writes it (RFC 5656): the algorithm name, the curve name matching
    it, and an uncompressed point that lies on that curve."""
    if not isinstance(key, str) or not PUBKEY_RE.match(key):
        return "is not one OpenSSH ECDSA public key (ecdsa-sha2-nistp256/384/521 AAAA..., an optional comment)"
    algorithm, blob = key.split(" ")[:2]
    try:
        data = base64.b64decode(blob, validate=True)
    except ValueError:
        return "is not valid base64"
    fields, pos = [], 0
    while pos < len(data) and len(fields) < 4:
        if pos + 4 > len(data):
            return "is truncated"
        size = int.from_bytes(data[pos : pos + 4], "big")
        fields.append(data[pos + 4 : pos + 4 + size])
        if len(fields[-1]) != size:
            return "is truncated"
        pos += 4 + size
    if len(fields) != 3 or pos != len(data):
        return "does not hold exactly an algorithm, a curve and a point"
    name, curve, point = fields
    if name.decode("ascii", "replace") != algorithm:
        return f"says {algorithm} outside and {name.decode('ascii', 'replace')!r} inside"
    if curve.decode("ascii", "replace") != algorithm.rsplit("-", 1)[1]:
        return f"names the curve {curve.decode('ascii', 'replace')!r} for {algorithm}"
    p, b, size = CURVES[algorithm.rsplit("-", 1)[1]]
    if len(point) != 1 + 2 * size or point[0] != 4:
        return "does not hold an uncompressed curve point of the right size"
    x, y = int.from_bytes(point[1 : 1 + size], "big"), int.from_bytes(point[1 + size :], "big")
    if x >= p or y >= p or (y * y - (x * x * x - 3 * x + b)) % p:
        return "holds a point that is not on its curve"
    return ""


def key_blob(key: str) -> str:
    """The part of an OpenSSH public key that is the key (not the comment)."""
    return key.split(" ")[1] if isinstance(key, str) and " " in key else str(key)


UNHELD_KEY_SEED = b"flower-iac: a SuperNode public key whose private key nobody holds"


def unheld_key() -> str:
    """A valid P-256 public key whose private key nobody knows.

    Flower 1.19-1.22 exit at start on an empty key list, and dropping the list
    would admit every SuperNode; this key keeps the list non-empty and admits
    no one. The point is hashed from a fixed seed (the first x that lies on
    the curve, even y), so no private key was ever generated for it: finding
    one means solving a discrete logarithm on P-256."""
    p, b, size = CURVES["nistp256"]
    counter = 0
    while True:
        x = int.from_bytes(hashlib.sha256(UNHELD_KEY_SEED + counter.to_bytes(4, "big")).digest(), "big") % p
        rhs = (x * x * x - 3 * x + b) % p
        y = pow(rhs, (p + 1) // 4, p)  # a square root, as p = 3 (mod 4)
        if y * y % p == rhs:
            break
        counter += 1
    y = y if y % 2 == 0 else p - y
    point = b"\x04" + x.to_bytes(size, "big") + y.to_bytes(size, "big")
    blob = b"".join(len(f).to_bytes(4, "big") + f for f in (b"ecdsa-sha2-nistp256", b"nistp256", point))
    return "ecdsa-sha2-nistp256 " + base64.b64encode(blob).decode("ascii") + " flower-iac-admits-no-supernode"


def key_list_content(keys: Any) -> str:
    """The key list file Flower 1.19-1.22 read (--auth-list-public-keys): one
    key per line, or the key nobody holds when no SuperNode may join."""
    return "\n".join(list(keys) or [unheld_key()]) + "\n"


def nodes_to_read(nodes: Any, superlink: str, default_superlink: str = "") -> list[str]:
    """The SuperNodes of NODES (hostvars) whose published keys SUPERLINK must
    read from their hosts: those the inventory assigns to it that did not
    publish in this run already. A node assigned to another SuperLink is
    never visited (its host being down cannot stop this one)."""
    return [
        node.get("inventory_hostname", "?")
        for node in nodes
        if (node.get("flower_supernode_superlink_host") or default_superlink) == superlink
        and "_flower_supernode_published" not in node
    ]


def published_keys(
    nodes: Any, superlink: str, default_superlink: str = "", unreachable: Any = None, seen: Any = None
) -> dict[str, Any]:
    """The public keys the SuperNodes NODES (their hostvars, in inventory
    order, which the allow-list keeps) published for SUPERLINK, and what is
    wrong with them.

    A node counts for the SuperLink the inventory assigns it to
    (flower_supernode_superlink_host, by default DEFAULT_SUPERLINK, the first
    of the superlink group), never for one its own published fact names. A
    node that deploy.yml's first play prepared in this run carries what it
    published as _flower_supernode_published; any other node's is its local
    fact, as supernode_keys.yml read it. A node of this SuperLink whose fact
    is missing, names another SuperLink or holds no valid key is an error
    naming the node (dropping it silently would unregister its key, which
    Flower never accepts again), and so is one key on two nodes.

    A node in UNREACHABLE (its host did not answer) keeps the key SEEN says
    it published when it was last read (the SuperLink's own memory,
    supernode-keys-seen.json), so one node being down never blocks a deploy
    or the revocation of another; a node never read before is an error.
    Returns the keys, the errors, the names kept from memory, and the memory
    to write back: each counted node's key, by name."""
    keys: list[str] = []
    errors: list[str] = []
    kept: list[str] = []
    remember: dict[str, str] = {}
    owners: dict[str, str] = {}
    down = set(unreachable or [])
    if isinstance(seen, str):
        # The file as read back from the host: input like any other.
        try:
            seen = json.loads(seen) if seen.strip() else {}
        except ValueError:
            seen = {}
    seen = seen if isinstance(seen, dict) else {}
    for node in nodes:
        name = node.get("inventory_hostname", "?")
        assigned = node.get("flower_supernode_superlink_host") or default_superlink
        if assigned != superlink:
            continue
        redeploy = f"run playbooks/deploy.yml for {name}, or remove it with playbooks/decommission.yml"
        if name in down:
            key = seen.get(name)
            if not (isinstance(key, str) and PUBLISHED_KEY_RE.match(key) and not ssh_key_problem(key)):
                errors.append(
                    f"SuperNode {name} is unreachable and this SuperLink has never read its key: bring it back, "
                    f"or remove it with playbooks/decommission.yml"
                )
                continue
            fact = {"public_key": key, "superlink": superlink}
            kept.append(name)
        elif "_flower_supernode_published" in node:
            fact = node["_flower_supernode_published"]
        else:
            fact = (node.get("ansible_local") or {}).get("flower_supernode")
        if not isinstance(fact, dict):
            errors.append(f"SuperNode {name} has published no key (ansible_local.flower_supernode): {redeploy}")
            continue
        if fact.get("superlink") != superlink:
            errors.append(
                f"SuperNode {name} published its key for {json.dumps(fact.get('superlink'))}, but the inventory "
                f"assigns it to {superlink}: {redeploy}"
            )
            continue
        key = fact.get("public_key")
        problem = (
            ssh_key_problem(key)
            if isinstance(key, str) and PUBLISHED_KEY_RE.match(key)
            else ("is not an OpenSSH ECDSA public key as flower_supernode writes it")
        )
        if problem:
            errors.append(f"SuperNode {name} published a key that {problem}: {redeploy}")
            continue
        blob = key_blob(key)
        if blob in owners:
            errors.append(
                f"SuperNodes {owners[blob]} and {name} published the same key: a key must identify one node; "
                f"give {name} its own key pair (delete its keys/supernode* in the SuperNode's configuration "
                "directory and run playbooks/deploy.yml for it)"
            )
            continue
        owners[blob] = name
        keys.append(key)
        remember[name] = key
    return {"keys": keys, "errors": errors, "kept": kept, "seen": remember}
