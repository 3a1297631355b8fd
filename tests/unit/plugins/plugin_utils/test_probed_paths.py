"""What the lock's probe of the role's paths says (plugins/plugin_utils/probed_paths.py),
as the filters flower_iac.federation.in_place, out_of_place and remembered_inputs
give it to the role's tasks: one row per case."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter.flower_superlink import FilterModule
from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_state import describe_path
from ansible_collections.flower_iac.federation.plugins.plugin_utils.probed_paths import (
    in_place,
    out_of_place,
    remembered,
)


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def test_the_filters_are_these_functions() -> None:
    filters = FilterModule().filters()
    assert (filters["in_place"], filters["out_of_place"], filters["remembered_inputs"]) == (
        in_place,
        out_of_place,
        remembered,
    )


# --- in_place ----------------------------------------------------------------

ENV = "/etc/f/superlink.env"
CONFIG_DIR = "/etc/f"
KEYS = "/etc/f/supernode-public-keys.csv"  # a symlink on the host
GONE = "/etc/systemd/system/f-superexec.service"
DATABASE = "/var/lib/f/state.db"  # owned by a uid without a name, over 1 MiB: no SHA-1
EMPTY = "/etc/f/empty"
NAMES = "/etc/f/names.txt"
# As flower_superlink_lock's probe reports them (describe_path).
PROBE: dict[str, dict[str, Any]] = {
    ENV: {"exists": True, "type": "file", "uid": 0, "gid": 0, "owner": "root", "group": "root", "mode": "0600"}
    | {"sha1": sha1("A=1\n")},
    CONFIG_DIR: {"exists": True, "type": "directory", "uid": 0, "gid": 49999, "owner": "root", "group": ""}
    | {"mode": "0750"},
    KEYS: {"exists": True, "type": "link", "uid": 0, "gid": 0, "owner": "root", "group": "root", "mode": "0777"},
    GONE: {"exists": False},
    DATABASE: {"exists": True, "type": "file", "uid": 49999, "gid": 49999, "owner": "", "group": "", "mode": "0600"}
    | {"size": 2 << 20},
    EMPTY: {"exists": True, "type": "file", "uid": 0, "gid": 0, "owner": "root", "group": "root", "mode": "0644"}
    | {"sha1": sha1("")},
    NAMES: {"exists": True, "type": "file", "uid": 0, "gid": 0, "owner": "root", "group": "root", "mode": "0644"}
    | {"sha1": sha1("Jürgen\n")},
}
ABSENT = {"kind": "absent"}
DIRECTORY = {"kind": "directory"}

IN_PLACE_CASES: list[tuple[str, Any, Any, dict[str, Any], bool]] = [
    # id, probe, path, in_place's other arguments, whether the task may be skipped
    # The probe: anything but its dict means nothing is known, so a file task runs.
    ("no-probe", None, ENV, {}, False),
    ("empty-probe", {}, ENV, {}, False),
    ("probe-a-list", [ENV], ENV, {}, False),
    ("probe-a-string", ENV, ENV, {}, False),
    # absent: only a path seen present is out of place; unlike every other kind,
    # a path the probe did not read (or no probe at all) counts as absent.
    ("absent-seen-absent", PROBE, GONE, ABSENT, True),
    ("absent-but-a-file", PROBE, ENV, ABSENT, False),
    ("absent-but-a-directory", PROBE, CONFIG_DIR, ABSENT, False),
    ("absent-but-a-symlink", PROBE, KEYS, ABSENT, False),
    ("absent-unread", PROBE, "/etc/f/other.service", ABSENT, True),
    ("absent-no-probe", None, GONE, ABSENT, True),
    ("absent-probe-a-list", [GONE], GONE, ABSENT, True),
    ("absent-entry-empty", {GONE: {}}, GONE, ABSENT, True),
    ("absent-spelled-with-a-trailing-slash", PROBE, ENV + "/", ABSENT, True),
    ("absent-spelled-with-a-double-slash", PROBE, "/etc//f/superlink.env", ABSENT, True),
    # The kind: the probe's type, exactly.
    ("file-unread", PROBE, "/etc/f/other", {}, False),
    ("file-seen-absent", PROBE, GONE, {}, False),
    ("file-is-a-file", PROBE, ENV, {}, True),
    ("file-is-a-directory", PROBE, CONFIG_DIR, {}, False),
    ("file-is-a-symlink", PROBE, KEYS, {}, False),  # the task replaces the link, never writes through it
    ("directory-is-a-directory", PROBE, CONFIG_DIR, DIRECTORY, True),
    ("directory-is-a-file", PROBE, ENV, DIRECTORY, False),
    ("directory-is-a-symlink", PROBE, KEYS, DIRECTORY, False),
    ("kind-unknown", PROBE, ENV, {"kind": "fifo"}, False),
    ("kind-none", PROBE, ENV, {"kind": None}, False),
    ("kind-capitalised", PROBE, ENV, {"kind": "File"}, False),
    ("entry-without-exists", {ENV: {"type": "file"}}, ENV, {}, False),
    ("entry-without-type", {ENV: {"exists": True}}, ENV, {}, False),
    # The path: looked up as spelled; any other spelling of a probed path is unread.
    ("path-trailing-slash", PROBE, CONFIG_DIR + "/", DIRECTORY, False),
    ("path-double-slash", PROBE, "/etc//f/superlink.env", {}, False),
    ("path-dot-dot", PROBE, "/etc/f/tls/../superlink.env", {}, False),
    ("path-dot", PROBE, "/etc/f/./superlink.env", {}, False),
    ("path-relative", PROBE, "etc/f/superlink.env", {}, False),
    ("path-empty", PROBE, "", {}, False),
    ("path-none", PROBE, None, {}, False),
    # Owner and group: a name or a number (as a number or a string) the probe saw.
    ("owner-by-name", PROBE, ENV, {"owner": "root"}, True),
    ("owner-by-number", PROBE, ENV, {"owner": 0}, True),
    ("owner-by-number-as-text", PROBE, ENV, {"owner": "0"}, True),
    ("owner-another-name", PROBE, ENV, {"owner": "flwr"}, False),
    ("owner-another-number", PROBE, ENV, {"owner": 49999}, False),
    ("owner-name-in-capitals", PROBE, ENV, {"owner": "Root"}, False),
    ("owner-name-with-a-space", PROBE, ENV, {"owner": "root "}, False),
    ("owner-true", PROBE, ENV, {"owner": True}, False),
    ("owner-empty", PROBE, ENV, {"owner": ""}, False),
    # "" is the probe's name for a uid without one (describe_path): it matches.
    ("owner-empty-uid-without-a-name", PROBE, DATABASE, {"owner": ""}, True),
    ("owner-number-uid-without-a-name", PROBE, DATABASE, {"owner": 49999}, True),
    ("group-by-number", PROBE, CONFIG_DIR, {**DIRECTORY, "group": 49999}, True),
    ("group-by-name-gid-without-one", PROBE, CONFIG_DIR, {**DIRECTORY, "group": "flwr"}, False),
    ("group-another-number", PROBE, ENV, {"group": "49999"}, False),
    ("group-right-owner-wrong", PROBE, ENV, {"owner": "flwr", "group": "root"}, False),
    ("owner-right-group-wrong", PROBE, ENV, {"owner": "root", "group": "flwr"}, False),
    # The mode: compared as octal numbers.
    ("mode-same", PROBE, ENV, {"mode": "0600"}, True),
    ("mode-without-the-leading-zero", PROBE, ENV, {"mode": "600"}, True),
    ("mode-python-octal", PROBE, ENV, {"mode": "0o600"}, True),
    ("mode-octal-digits-as-a-number", PROBE, ENV, {"mode": 600}, True),  # YAML's mode: 600
    ("mode-yaml-octal-number", PROBE, ENV, {"mode": 0o600}, False),  # YAML's mode: 0600, 384: the task decides
    ("mode-differs", PROBE, ENV, {"mode": "0644"}, False),
    ("mode-setuid", PROBE, ENV, {"mode": "4600"}, False),
    ("mode-symbolic", PROBE, ENV, {"mode": "u=rw,go="}, False),
    ("mode-not-octal", PROBE, ENV, {"mode": "0800"}, False),
    ("mode-empty", PROBE, ENV, {"mode": ""}, False),
    ("mode-unknown-to-the-probe", {ENV: {"exists": True, "type": "file"}}, ENV, {"mode": "0600"}, False),
    (
        "mode-the-probe-could-not-say",
        {ENV: {"exists": True, "type": "file", "mode": "?"}},
        ENV,
        {"mode": "0600"},
        False,
    ),
    # The content: its SHA-1 against the probe's.
    ("content-same", PROBE, ENV, {"content": "A=1\n"}, True),
    ("content-as-bytes", PROBE, ENV, {"content": b"A=1\n"}, True),
    ("content-as-bytearray", PROBE, ENV, {"content": bytearray(b"A=1\n")}, True),
    ("content-differs", PROBE, ENV, {"content": "A=2\n"}, False),
    ("content-without-the-trailing-newline", PROBE, ENV, {"content": "A=1"}, False),
    ("content-empty-of-an-empty-file", PROBE, EMPTY, {"content": ""}, True),
    ("content-empty-of-a-full-file", PROBE, ENV, {"content": ""}, False),
    ("content-utf-8", PROBE, NAMES, {"content": "Jürgen\n"}, True),
    ("content-latin-1", PROBE, NAMES, {"content": "Jürgen\n".encode("latin-1")}, False),
    ("content-of-a-file-not-hashed", PROBE, DATABASE, {"content": "x"}, False),
    ("content-of-a-directory", PROBE, CONFIG_DIR, {**DIRECTORY, "content": ""}, False),
    ("content-a-number", PROBE, ENV, {"content": 4}, False),  # bytes(4): four NULs
    # Everything at once.
    ("all-right", PROBE, ENV, {"kind": "file", "owner": "root", "group": 0, "mode": "0600", "content": "A=1\n"}, True),
    ("all-right-but-the-content", PROBE, ENV, {"owner": "root", "group": 0, "mode": "0600", "content": "A=2\n"}, False),
]


@pytest.mark.parametrize(
    ("probe", "path", "arguments", "expected"), [c[1:] for c in IN_PLACE_CASES], ids=[c[0] for c in IN_PLACE_CASES]
)
def test_in_place(probe: Any, path: Any, arguments: dict[str, Any], expected: bool) -> None:
    assert in_place(probe, path, **arguments) is expected


@pytest.mark.parametrize(
    ("probe", "arguments", "error"),
    [
        ({ENV: "a file"}, {}, AttributeError),  # an entry that is not a mapping
        (PROBE, {"content": {"A": 1}}, TypeError),
        (PROBE, {"content": ["A=1"]}, TypeError),
    ],
    ids=["entry-a-string", "content-a-mapping", "content-a-list-of-strings"],
)
def test_in_place_refuses_what_no_probe_or_task_gives(probe: Any, arguments: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        in_place(probe, ENV, **arguments)


@pytest.mark.parametrize(
    ("make", "checks"),
    [
        (lambda p: p.write_text("A=1\n"), [({}, True), ({"content": "A=1\n"}, True), (ABSENT, False)]),
        (lambda p: p.mkdir(), [(DIRECTORY, True), ({}, False), (ABSENT, False)]),
        (lambda p: p.symlink_to(p.with_name("target")), [(ABSENT, False), ({}, False), (DIRECTORY, False)]),
        (
            lambda p: (p.with_name("target").mkdir(), p.symlink_to(p.with_name("target"))),
            [(DIRECTORY, False), (ABSENT, False)],
        ),
        (lambda p: None, [(ABSENT, True), ({}, False)]),
    ],
    ids=["file", "directory", "dangling-symlink", "symlink-to-a-directory", "nothing"],
)
def test_in_place_of_what_describe_path_saw(
    tmp_path: Path, make: Any, checks: list[tuple[dict[str, Any], bool]]
) -> None:
    """The probe is describe_path's (module_utils): a symlink is a link, whatever it points at."""
    path = tmp_path / "thing"
    make(path)
    probe = {str(path): describe_path(str(path))}
    owner = os.getuid()
    assert [in_place(probe, str(path), owner=owner, **arguments) for arguments, _ in checks] == [
        expected for _, expected in checks
    ]


# --- out_of_place --------------------------------------------------------------

OUT_OF_PLACE_CASES: list[tuple[str, Any, list[dict[str, Any]], list[str]]] = [
    # id, probe, specs, the paths out of place
    ("no-specs", PROBE, [], []),
    ("no-probe", None, [{"path": ENV}, {"path": GONE, "kind": "absent"}], [ENV]),
    (
        "all-in-place",
        PROBE,
        [
            {"path": ENV, "owner": "root", "group": "root", "mode": "0600", "content": "A=1\n"},
            {"path": CONFIG_DIR, "kind": "directory", "owner": "root", "group": 49999, "mode": "0750"},
            {"path": GONE, "kind": "absent"},
        ],
        [],
    ),
    (
        "in-the-specs-order",
        PROBE,
        [{"path": "/etc/f/b"}, {"path": ENV}, {"path": "/etc/f/a"}],
        ["/etc/f/b", "/etc/f/a"],
    ),
    ("kind-defaults-to-file", PROBE, [{"path": CONFIG_DIR}], [CONFIG_DIR]),
    ("kind-passed-on", PROBE, [{"path": GONE, "kind": "absent"}, {"path": ENV, "kind": "absent"}], [ENV]),
    ("owner-passed-on", PROBE, [{"path": ENV, "owner": "flwr"}], [ENV]),
    ("group-passed-on", PROBE, [{"path": ENV, "group": "flwr"}], [ENV]),
    ("mode-passed-on", PROBE, [{"path": ENV, "mode": "0644"}], [ENV]),
    ("content-passed-on", PROBE, [{"path": ENV, "content": "A=2\n"}], [ENV]),
    ("none-is-not-checked", PROBE, [{"path": ENV, "owner": None, "group": None, "mode": None, "content": None}], []),
    ("other-keys-ignored", PROBE, [{"path": ENV, "src": "superlink.env.j2", "state": "absent"}], []),
    ("symlink", PROBE, [{"path": KEYS, "owner": "root"}], [KEYS]),
    ("same-path-twice", PROBE, [{"path": ENV, "mode": "0644"}, {"path": ENV, "mode": "0644"}], [ENV, ENV]),
    ("trailing-slash", PROBE, [{"path": CONFIG_DIR + "/", "kind": "directory"}], [CONFIG_DIR + "/"]),
    ("dot-dot", PROBE, [{"path": "/etc/f/tls/../superlink.env"}], ["/etc/f/tls/../superlink.env"]),
]


@pytest.mark.parametrize(
    ("probe", "specs", "expected"), [c[1:] for c in OUT_OF_PLACE_CASES], ids=[c[0] for c in OUT_OF_PLACE_CASES]
)
def test_out_of_place(probe: Any, specs: list[dict[str, Any]], expected: list[str]) -> None:
    assert out_of_place(probe, specs) == expected


@pytest.mark.parametrize(
    ("specs", "error"),
    [(None, TypeError), ([{"kind": "file"}], KeyError), (["/etc/f/superlink.env"], TypeError)],
    ids=["specs-none", "spec-without-a-path", "spec-a-path"],
)
def test_out_of_place_refuses_specs_that_are_not_specs(specs: Any, error: type) -> None:
    with pytest.raises(error):
        out_of_place(PROBE, specs)


# --- remembered ----------------------------------------------------------------

REMEMBER_PROBE = {
    "/etc/f/superlink.env": {"exists": True, "uid": 0, "gid": 0, "mode": "0600"},
    "/etc/f/tls/server.key": {"exists": True, "uid": 0, "gid": 49999, "mode": "0640"},
    "/etc/f/new.csv": {"exists": False},
}

CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    ("nothing-read", [], []),
    (
        "existing-file",
        [{"item": "/etc/f/superlink.env", "content": "QT0x"}],
        [{"path": "/etc/f/superlink.env", "content": "QT0x", "owner": 0, "group": 0, "mode": "0600"}],
    ),
    (
        "key-keeps-its-group-and-mode",
        [{"item": "/etc/f/tls/server.key", "content": "a2V5"}],
        [{"path": "/etc/f/tls/server.key", "content": "a2V5", "owner": 0, "group": 49999, "mode": "0640"}],
    ),
    ("absent-before-is-removed", [{"item": "/etc/f/new.csv", "failed": True}], [{"path": "/etc/f/new.csv"}]),
    # Unreadable, and the probe never saw it absent: never removed.
    ("unreadable-is-left-alone", [{"item": "/etc/f/superlink.env", "failed": True}], []),
    ("unknown-to-the-probe", [{"item": "/etc/f/other", "failed": True}], []),
]


@pytest.mark.parametrize(("results", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_remembered(results: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert remembered(results, REMEMBER_PROBE) == expected
