"""SuperNode public keys, read as keys (plugins/plugin_utils/supernode_keys.py:
ssh_key_problem and published_keys): one row per case.

Real keys of each curve come from ssh-keygen (keys/ beside this file); the bad ones
are those keys taken apart and put together wrong, the way a corrupted or
forged fact would be.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.plugin_utils.superlink_config import config_errors
from ansible_collections.flower_iac.federation.plugins.plugin_utils.supernode_keys import (
    CURVES,
    UNHELD_KEY_SEED,
    key_list_content,
    published_keys,
    ssh_key_problem,
    unheld_key,
)

KEYS = {p.stem: p.read_text().strip() for p in (Path(__file__).parent / "keys").glob("*.pub")}
P256, P384, P521 = KEYS["p256"], KEYS["p384"], KEYS["p521"]


def fields(key: str) -> list[bytes]:
    data, out = base64.b64decode(key.split()[1]), []
    while data:
        size = int.from_bytes(data[:4], "big")
        out.append(data[4 : 4 + size])
        data = data[4 + size :]
    return out


def build(algorithm: str, *parts: bytes, raw: bytes = b"") -> str:
    blob = b"".join(len(p).to_bytes(4, "big") + p for p in parts) + raw
    return f"{algorithm} {base64.b64encode(blob).decode()}"


NAME, CURVE, POINT = fields(P384)
OFF_CURVE = POINT[:-1] + bytes([POINT[-1] ^ 1])
COMPRESSED = bytes([2 + (POINT[-1] & 1)]) + POINT[1:49]

KEY_CASES: list[tuple[str, str, str]] = [
    ("p256", P256, ""),
    ("p384", P384, ""),
    ("p521", P521, ""),
    ("p384-no-comment", " ".join(P384.split()[:2]), ""),
    ("rsa", "ssh-rsa AAAAB3NzaC1yc2E", "not one OpenSSH ECDSA"),
    ("ed25519", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq", "not one OpenSSH ECDSA"),
    ("pattern-only", "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQ=", "does not hold exactly"),
    ("truncated", build("ecdsa-sha2-nistp384", NAME, CURVE, POINT)[:-8], "truncated"),
    ("point-off-curve", build("ecdsa-sha2-nistp384", NAME, CURVE, OFF_CURVE), "not on its curve"),
    ("point-compressed", build("ecdsa-sha2-nistp384", NAME, CURVE, COMPRESSED), "uncompressed"),
    ("point-empty", build("ecdsa-sha2-nistp384", NAME, CURVE, b""), "uncompressed"),
    ("point-at-x-equals-p", build("ecdsa-sha2-nistp384", NAME, CURVE, b"\x04" + b"\xff" * 96), "not on its curve"),
    ("curve-mismatch", build("ecdsa-sha2-nistp384", NAME, b"nistp256", POINT), "names the curve"),
    ("name-mismatch", build("ecdsa-sha2-nistp256", NAME, CURVE, POINT), "inside"),
    ("p256-point-in-p384", build("ecdsa-sha2-nistp384", NAME, CURVE, fields(P256)[2]), "right size"),
    ("extra-field", build("ecdsa-sha2-nistp384", NAME, CURVE, POINT, b"x"), "does not hold exactly"),
    ("trailing-bytes", build("ecdsa-sha2-nistp384", NAME, CURVE, POINT, raw=b"\x00"), "truncated"),
    ("two-lines", P384 + "\nssh-rsa AAAA", "not one OpenSSH ECDSA"),
    ("trailing-newline", P384 + "\n", "not one OpenSSH ECDSA"),
    ("comment-with-space", P384 + " two words", "not one OpenSSH ECDSA"),
    ("not-a-string", 42, "not one OpenSSH ECDSA"),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("key", "fragment"), [c[1:] for c in KEY_CASES], ids=[c[0] for c in KEY_CASES])
def test_key(key: str, fragment: str) -> None:
    problem = ssh_key_problem(key)
    assert (fragment in problem) if fragment else problem == "", problem


def test_inventory_keys_are_read_as_keys(config: dict[str, Any]) -> None:
    config["flower_superlink_supernode_public_keys"] = [P384, build("ecdsa-sha2-nistp384", NAME, CURVE, OFF_CURVE)]
    errors = config_errors(config)
    assert any("item 1 holds a point that is not on its curve" in e for e in errors), errors


# --- which published facts count for which SuperLink ----------------------------

PUB = {k: " ".join(v.split()[:2]) for k, v in KEYS.items()}  # as flower_supernode publishes them


def node(name: str, fact: Any = None, assigned: str | None = None, prepared: bool = False) -> dict[str, Any]:
    vars_: dict[str, Any] = {"inventory_hostname": name}
    if assigned is not None:
        vars_["flower_supernode_superlink_host"] = assigned
    if fact is not None:
        vars_.update(
            {"_flower_supernode_published": fact} if prepared else {"ansible_local": {"flower_supernode": fact}}
        )
    return vars_


def fact(key: str, superlink: str = "sl1") -> dict[str, str]:
    return {"public_key": key, "superlink": superlink}


FACT_CASES: list[tuple[str, list[dict[str, Any]], list[str], list[str]]] = [
    ("one-node", [node("n1", fact(PUB["p384"]))], [PUB["p384"]], []),
    ("prepared-in-this-run", [node("n1", fact(PUB["p384"]), prepared=True)], [PUB["p384"]], []),
    (
        "inventory-order-kept",
        [node("n2", fact(PUB["p521"])), node("n1", fact(PUB["p256"]))],
        [PUB["p521"], PUB["p256"]],
        [],
    ),
    ("assigned-elsewhere-not-read", [node("n1", None, assigned="sl2")], [], []),
    ("assigned-elsewhere-claims-us", [node("n1", fact(PUB["p384"]), assigned="sl2")], [], []),
    ("assigned-here-explicitly", [node("n1", fact(PUB["p384"]), assigned="sl1")], [PUB["p384"]], []),
    ("fact-missing", [node("n1")], [], ["n1 has published no key"]),
    ("fact-not-a-dict", [node("n1", "junk")], [], ["n1 has published no key"]),
    ("fact-names-other-superlink", [node("n1", fact(PUB["p384"], "sl2"))], [], ["assigns it to sl1"]),
    (
        "fact-key-not-a-key",
        [node("n1", fact("ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQ="))],
        [],
        ["n1 published a key that does not hold exactly"],
    ),
    ("fact-key-with-newline", [node("n1", fact(PUB["p384"] + "\n"))], [], ["not an OpenSSH ECDSA public key as"]),
    ("fact-key-with-comment", [node("n1", fact(KEYS["p384"]))], [], ["not an OpenSSH ECDSA public key as"]),
    ("fact-key-missing", [node("n1", {"superlink": "sl1"})], [], ["not an OpenSSH ECDSA public key as"]),
    (
        "same-key-two-nodes",
        [node("n1", fact(PUB["p384"])), node("n2", fact(PUB["p384"]))],
        [PUB["p384"]],
        ["n1 and n2 published the same key"],
    ),
    ("one-bad-one-good", [node("n1"), node("n2", fact(PUB["p256"]))], [PUB["p256"]], ["n1 has published no key"]),
]


@pytest.mark.parametrize(("nodes", "keys", "errors"), [c[1:] for c in FACT_CASES], ids=[c[0] for c in FACT_CASES])
def test_published_facts(nodes: list[dict[str, Any]], keys: list[str], errors: list[str]) -> None:
    result = published_keys(nodes, "sl1", "sl1")
    assert result["keys"] == keys
    assert len(result["errors"]) == len(errors), result["errors"]
    for fragment, error in zip(errors, result["errors"], strict=True):
        assert fragment in error


def test_the_unheld_key_is_a_valid_p256_key_derived_from_its_seed() -> None:
    """The placeholder that keeps a 1.19-1.22 key list non-empty is a key
    Flower loads (cryptography, as Flower reads the list), and it is the
    first point on P-256 hashed from the published seed: no private key was
    generated for it."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    key = unheld_key()
    assert ssh_key_problem(key) == ""
    loaded = load_ssh_public_key(key.encode())
    assert isinstance(loaded, ec.EllipticCurvePublicKey) and loaded.curve.name == "secp256r1"
    x = loaded.public_numbers().x
    p = CURVES["nistp256"][0]
    seeded = [
        int.from_bytes(hashlib.sha256(UNHELD_KEY_SEED + n.to_bytes(4, "big")).digest(), "big") % p for n in range(8)
    ]
    assert x in seeded
    assert loaded.public_numbers().y % 2 == 0


@pytest.mark.parametrize(
    "keys, lines",
    [
        ([], ["unheld"]),
        ([P256], [P256]),
        ([P256, P384], [P256, P384]),
    ],
    ids=["no-key-holds-the-unheld-one", "one-key", "two-keys-in-order"],
)
def test_key_list_content(keys: list[str], lines: list[str]) -> None:
    content = key_list_content(keys)
    assert content.endswith("\n")
    expected = [unheld_key() if line == "unheld" else line for line in lines]
    assert content.splitlines() == expected
    assert unheld_key() not in keys


# --- a node that cannot be reached keeps the key it published when last read ---

SEEN_CASES: list[tuple[str, list[dict[str, Any]], list[str], Any, list[str], list[str], list[str]]] = [
    # id, nodes, unreachable, seen (as read back), keys, kept, errors
    ("down-kept-from-memory", [node("n1")], ["n1"], {"n1": PUB["p384"]}, [PUB["p384"]], ["n1"], []),
    ("down-memory-as-file-text", [node("n1")], ["n1"], json.dumps({"n1": PUB["p256"]}), [PUB["p256"]], ["n1"], []),
    ("down-never-read", [node("n1")], ["n1"], {}, [], [], ["n1 is unreachable and this SuperLink has never"]),
    ("down-no-memory-file", [node("n1")], ["n1"], "", [], [], ["n1 is unreachable"]),
    ("down-memory-corrupt", [node("n1")], ["n1"], "{not json", [], [], ["n1 is unreachable"]),
    ("down-memory-not-a-map", [node("n1")], ["n1"], "[1, 2]", [], [], ["n1 is unreachable"]),
    ("down-memory-not-a-key", [node("n1")], ["n1"], {"n1": "ecdsa-sha2-nistp384 AAAA"}, [], [], ["n1 is unreachable"]),
    ("down-memory-key-with-comment", [node("n1")], ["n1"], {"n1": KEYS["p384"]}, [], [], ["n1 is unreachable"]),
    ("down-memory-of-another-node", [node("n1")], ["n1"], {"n2": PUB["p384"]}, [], [], ["n1 is unreachable"]),
    ("down-assigned-elsewhere-ignored", [node("n1", assigned="sl2")], ["n1"], {}, [], [], []),
    (
        "down-and-up-in-inventory-order",
        [node("n1", fact(PUB["p521"])), node("n2")],
        ["n2"],
        {"n2": PUB["p256"]},
        [PUB["p521"], PUB["p256"]],
        ["n2"],
        [],
    ),
    (
        "down-memory-same-key-as-an-up-node",
        [node("n1", fact(PUB["p384"])), node("n2")],
        ["n2"],
        {"n2": PUB["p384"]},
        [PUB["p384"]],
        ["n2"],
        ["n1 and n2 published the same key"],
    ),
    # A reachable node's fact wins over what was remembered.
    ("up-fact-beats-memory", [node("n1", fact(PUB["p256"]))], [], {"n1": PUB["p384"]}, [PUB["p256"]], [], []),
]


@pytest.mark.parametrize(
    ("nodes", "unreachable", "seen", "keys", "kept", "errors"),
    [c[1:] for c in SEEN_CASES],
    ids=[c[0] for c in SEEN_CASES],
)
def test_unreachable_nodes(
    nodes: list[dict[str, Any]],
    unreachable: list[str],
    seen: Any,
    keys: list[str],
    kept: list[str],
    errors: list[str],
) -> None:
    result = published_keys(nodes, "sl1", "sl1", unreachable, seen)
    assert result["keys"] == keys
    assert result["kept"] == kept
    assert len(result["errors"]) == len(errors), result["errors"]
    for fragment, error in zip(errors, result["errors"], strict=True):
        assert fragment in error


def test_memory_holds_exactly_the_counted_nodes() -> None:
    """What is written back: every node counted for this SuperLink, by name;
    a node no longer in the group (decommissioned) is forgotten."""
    nodes = [node("n1", fact(PUB["p256"])), node("n2"), node("n3", fact(PUB["p521"]), assigned="sl2")]
    result = published_keys(nodes, "sl1", "sl1", ["n2"], {"n2": PUB["p384"], "gone": PUB["p521"]})
    assert result["seen"] == {"n1": PUB["p256"], "n2": PUB["p384"]}
