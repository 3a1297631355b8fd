"""What a deployment read back from a host must be (plugins/plugin_utils/deployment_record.py
``deployment_errors``, the filter flower_iac.federation.deployment_record_errors): the
deployment record's current and previous entries and a backup's manifest; the identity an entry
holds (``identity_errors``) and what the inventory changes of it (``identity_changes``, the
filter flower_iac.federation.deployment_identity_changes). One row per case; each row names
every message (or change), in order."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter.flower_superlink import FilterModule
from ansible_collections.flower_iac.federation.plugins.plugin_utils.deployment_record import (
    deployment_errors,
    identity_changes,
    identity_errors,
)

DIR = "/var/backups/flower-superlink"
BACKUP = f"{DIR}/state-20260101T000000.000000Z-pre-upgrade.db"
HEX = "0123456789abcdef" * 4
# A record's entry as record_write.yml writes it.
GOOD = {"image_ref": "flwr/superlink:1.19.0", "image_id": f"sha256:{HEX}", "version": "1.19.0", "backup": BACKUP}
# A backup's manifest (backup.yml) names the release flwr_version.
MANIFEST = {"image_ref": "flwr/superlink:1.19.0", "image_id": f"sha256:{HEX}", "flwr_version": "1.19.0"}
W = "current deployment"
# Where a SuperLink keeps its state and what it is called, as record_write.yml records it.
STATE = "/var/lib/flower-superlink"
DB = f"{STATE}/state.db"
IDENT = {"service_name": "flower-superlink", "container_name": "flower-superlink", "state_dir": STATE, "database": DB}
# A record's current entry as record_write.yml writes it now.
RECORD = {**GOOD, "repo_digests": [], "deployed_at": "2026-01-01T00:00:00Z", **IDENT}


def without(entry: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k not in keys}


def test_the_filter_is_this_function() -> None:
    assert FilterModule().filters()["deployment_record_errors"] is deployment_errors


def test_the_identity_filter_is_this_function() -> None:
    assert FilterModule().filters()["deployment_identity_changes"] is identity_changes


CASES: list[tuple[str, Any, str, list[str]]] = [
    # id, the entry, flower_superlink_backup_dir, the messages
    # Not an object at all.
    ("none", None, DIR, ["current deployment is not a JSON object"]),
    ("a-list", [GOOD], DIR, ["current deployment is not a JSON object"]),
    ("json-text", '{"image_ref": "flwr/superlink:1.19.0"}', DIR, ["current deployment is not a JSON object"]),
    ("a-number", 0, DIR, ["current deployment is not a JSON object"]),
    ("empty-text", "", DIR, ["current deployment is not a JSON object"]),
    (
        "empty-object",
        {},
        DIR,
        [
            'current deployment: image_ref="" is not an image reference',
            "current deployment: image_id=null is not sha256:<64 hex>",
            "current deployment: version=null is not X.Y.Z",
        ],
    ),
    ("good", GOOD, DIR, []),
    ("good-manifest", MANIFEST, DIR, []),
    ("good-without-a-backup", {**GOOD, "backup": ""}, DIR, []),
    ("other-keys-ignored", {**GOOD, "written_at": "now", "tables": {"run": 3}}, DIR, []),
    (
        "all-four-wrong-in-order",
        {"image_ref": "x", "image_id": "y", "version": "z", "backup": "/etc/passwd"},
        DIR,
        [
            'current deployment: image_ref="x" is not an image reference',
            'current deployment: image_id="y" is not sha256:<64 hex>',
            'current deployment: version="z" is not X.Y.Z',
            f'current deployment: backup="/etc/passwd" is not a backup file in {DIR}',
        ],
    ),
    # image_ref: repository:tag, or repository@digest.
    ("ref-with-a-registry-and-port", {**GOOD, "image_ref": "registry.example.org:5000/flwr/superlink:1.19.0"}, DIR, []),
    ("ref-one-component", {**GOOD, "image_ref": "superlink:latest"}, DIR, []),
    ("ref-by-digest", {**GOOD, "image_ref": f"flwr/superlink@sha256:{HEX}"}, DIR, []),
    (
        "ref-tag-and-digest",
        {**GOOD, "image_ref": f"flwr/superlink:1.19.0@sha256:{HEX}"},
        DIR,
        [f'current deployment: image_ref="flwr/superlink:1.19.0@sha256:{HEX}" is not an image reference'],
    ),
    (
        "ref-digest-without-a-repository",
        {**GOOD, "image_ref": f"@sha256:{HEX}"},
        DIR,
        [f'current deployment: image_ref="@sha256:{HEX}" is not an image reference'],
    ),
    (
        "ref-digest-short",
        {**GOOD, "image_ref": "flwr/superlink@sha256:abc"},
        DIR,
        ['current deployment: image_ref="flwr/superlink@sha256:abc" is not an image reference'],
    ),
    (
        "ref-digest-in-capitals",
        {**GOOD, "image_ref": f"flwr/superlink@sha256:{HEX.upper()}"},
        DIR,
        [f'current deployment: image_ref="flwr/superlink@sha256:{HEX.upper()}" is not an image reference'],
    ),
    (
        "ref-two-digests",
        {**GOOD, "image_ref": f"flwr/superlink@sha256:{HEX}@sha256:{HEX}"},
        DIR,
        [f'current deployment: image_ref="flwr/superlink@sha256:{HEX}@sha256:{HEX}" is not an image reference'],
    ),
    (
        "ref-without-a-tag",
        {**GOOD, "image_ref": "flwr/superlink"},
        DIR,
        ['current deployment: image_ref="flwr/superlink" is not an image reference'],
    ),
    (
        "ref-port-but-no-tag",
        {**GOOD, "image_ref": "registry:5000/flwr/superlink"},
        DIR,
        ['current deployment: image_ref="registry:5000/flwr/superlink" is not an image reference'],
    ),
    (
        "ref-tag-only",
        {**GOOD, "image_ref": ":1.19.0"},
        DIR,
        ['current deployment: image_ref=":1.19.0" is not an image reference'],
    ),
    (
        "ref-empty-tag",
        {**GOOD, "image_ref": "flwr/superlink:"},
        DIR,
        ['current deployment: image_ref="flwr/superlink:" is not an image reference'],
    ),
    (
        "ref-capitals",
        {**GOOD, "image_ref": "Flwr/superlink:1.19.0"},
        DIR,
        ['current deployment: image_ref="Flwr/superlink:1.19.0" is not an image reference'],
    ),
    (
        "ref-with-a-flag-after-it",
        {**GOOD, "image_ref": "flwr/superlink:1.19.0 --privileged"},
        DIR,
        ['current deployment: image_ref="flwr/superlink:1.19.0 --privileged" is not an image reference'],
    ),
    (
        "ref-trailing-newline",
        {**GOOD, "image_ref": "flwr/superlink:1.19.0\n"},
        DIR,
        ['current deployment: image_ref="flwr/superlink:1.19.0\\n" is not an image reference'],
    ),
    (
        "ref-dot-dot-component",
        {**GOOD, "image_ref": "flwr/../superlink:1.19.0"},
        DIR,
        ['current deployment: image_ref="flwr/../superlink:1.19.0" is not an image reference'],
    ),
    (
        "ref-double-slash",
        {**GOOD, "image_ref": "flwr//superlink:1.19.0"},
        DIR,
        ['current deployment: image_ref="flwr//superlink:1.19.0" is not an image reference'],
    ),
    (
        "ref-trailing-slash",
        {**GOOD, "image_ref": "flwr/superlink/:1.19.0"},
        DIR,
        ['current deployment: image_ref="flwr/superlink/:1.19.0" is not an image reference'],
    ),
    # REPOSITORY_RE reads ".." as a registry host; it reaches only `docker run`, whose grammar has no such host.
    ("ref-dot-dot-as-the-registry", {**GOOD, "image_ref": "../superlink:1.19.0"}, DIR, []),
    ("ref-none", {**GOOD, "image_ref": None}, DIR, ["current deployment: image_ref=null is not an image reference"]),
    ("ref-a-number", {**GOOD, "image_ref": 5}, DIR, ["current deployment: image_ref=5 is not an image reference"]),
    (
        "ref-an-object",
        {**GOOD, "image_ref": {"name": "flwr/superlink"}},
        DIR,
        ['current deployment: image_ref={"name": "flwr/superlink"} is not an image reference'],
    ),
    # image_id: sha256:<64 lowercase hex>, Docker's image ID.
    (
        "id-missing",
        {k: v for k, v in GOOD.items() if k != "image_id"},
        DIR,
        [f"{W}: image_id=null is not sha256:<64 hex>"],
    ),
    ("id-empty", {**GOOD, "image_id": ""}, DIR, [f'{W}: image_id="" is not sha256:<64 hex>']),
    ("id-without-sha256", {**GOOD, "image_id": HEX}, DIR, [f'{W}: image_id="{HEX}" is not sha256:<64 hex>']),
    (
        "id-63-hex",
        {**GOOD, "image_id": f"sha256:{HEX[1:]}"},
        DIR,
        [f'{W}: image_id="sha256:{HEX[1:]}" is not sha256:<64 hex>'],
    ),
    (
        "id-65-hex",
        {**GOOD, "image_id": f"sha256:{HEX}0"},
        DIR,
        [f'{W}: image_id="sha256:{HEX}0" is not sha256:<64 hex>'],
    ),
    (
        "id-capitals",
        {**GOOD, "image_id": f"sha256:{HEX.upper()}"},
        DIR,
        [f'{W}: image_id="sha256:{HEX.upper()}" is not sha256:<64 hex>'],
    ),
    (
        "id-trailing-newline",
        {**GOOD, "image_id": f"sha256:{HEX}\n"},
        DIR,
        [f'{W}: image_id="sha256:{HEX}\\n" is not sha256:<64 hex>'],
    ),
    ("id-a-number", {**GOOD, "image_id": 0}, DIR, [f"{W}: image_id=0 is not sha256:<64 hex>"]),
    # version (a record) or flwr_version (a manifest): X.Y.Z, perhaps a pre-release after it.
    ("version-pre-release", {**GOOD, "version": "1.19.0rc1"}, DIR, []),
    ("version-dashed-pre-release", {**GOOD, "version": "1.19.0-rc.1"}, DIR, []),
    ("version-two-numbers", {**GOOD, "version": "1.19"}, DIR, [f'{W}: version="1.19" is not X.Y.Z']),
    ("version-with-a-v", {**GOOD, "version": "v1.19.0"}, DIR, [f'{W}: version="v1.19.0" is not X.Y.Z']),
    ("version-trailing-space", {**GOOD, "version": "1.19.0 "}, DIR, [f'{W}: version="1.19.0 " is not X.Y.Z']),
    ("version-trailing-newline", {**GOOD, "version": "1.19.0\n"}, DIR, [f'{W}: version="1.19.0\\n" is not X.Y.Z']),
    ("version-a-number", {**GOOD, "version": 1.19}, DIR, [f"{W}: version=1.19 is not X.Y.Z"]),
    ("version-none", {**GOOD, "version": None}, DIR, [f"{W}: version=null is not X.Y.Z"]),
    ("flwr-version-bad", {**MANIFEST, "flwr_version": "latest"}, DIR, [f'{W}: version="latest" is not X.Y.Z']),
    # A record's version is read first, even where a flwr_version would do.
    ("version-wins", {**GOOD, "version": "1.19", "flwr_version": "1.19.0"}, DIR, [f'{W}: version="1.19" is not X.Y.Z']),
    (
        "version-none-wins",
        {**GOOD, "version": None, "flwr_version": "1.19.0"},
        DIR,
        [f"{W}: version=null is not X.Y.Z"],
    ),
    # backup: a .db file directly in the backup directory; none is fine (no rollback point).
    ("backup-missing", {k: v for k, v in GOOD.items() if k != "backup"}, DIR, []),
    ("backup-none", {**GOOD, "backup": None}, DIR, []),
    ("backup-zero", {**GOOD, "backup": 0}, DIR, []),
    ("backup-empty-list", {**GOOD, "backup": []}, DIR, []),
    (
        "backup-another-directory",
        {**GOOD, "backup": "/srv/state.db"},
        DIR,
        [f'{W}: backup="/srv/state.db" is not a backup file in {DIR}'],
    ),
    (
        "backup-in-a-subdirectory",
        {**GOOD, "backup": f"{DIR}/old/state.db"},
        DIR,
        [f'{W}: backup="{DIR}/old/state.db" is not a backup file in {DIR}'],
    ),
    (
        "backup-dot-dot-out-and-back",
        {**GOOD, "backup": f"{DIR}/../flower-superlink/state.db"},
        DIR,
        [f'{W}: backup="{DIR}/../flower-superlink/state.db" is not a backup file in {DIR}'],
    ),
    (
        "backup-dot-dot-in-and-out",
        {**GOOD, "backup": f"{DIR}/x/../state.db"},
        DIR,
        [f'{W}: backup="{DIR}/x/../state.db" is not a backup file in {DIR}'],
    ),
    (
        "backup-double-slash-in-the-directory",
        {**GOOD, "backup": "/var/backups//flower-superlink/state.db"},
        DIR,
        [f'{W}: backup="/var/backups//flower-superlink/state.db" is not a backup file in {DIR}'],
    ),
    # posixpath.dirname drops the slashes before the name: the same file.
    ("backup-double-slash-before-the-name", {**GOOD, "backup": f"{DIR}//state.db"}, DIR, []),
    (
        "backup-trailing-slash",
        {**GOOD, "backup": f"{BACKUP}/"},
        DIR,
        [f'{W}: backup="{BACKUP}/" is not a backup file in {DIR}'],
    ),
    ("backup-relative", {**GOOD, "backup": "state.db"}, DIR, [f'{W}: backup="state.db" is not a backup file in {DIR}']),
    (
        "backup-not-db",
        {**GOOD, "backup": f"{DIR}/state.json"},
        DIR,
        [f'{W}: backup="{DIR}/state.json" is not a backup file in {DIR}'],
    ),
    (
        "backup-only-db",
        {**GOOD, "backup": f"{DIR}/.db"},
        DIR,
        [f'{W}: backup="{DIR}/.db" is not a backup file in {DIR}'],
    ),
    (
        "backup-hidden",
        {**GOOD, "backup": f"{DIR}/.state.db"},
        DIR,
        [f'{W}: backup="{DIR}/.state.db" is not a backup file in {DIR}'],
    ),
    (
        "backup-dash-first",
        {**GOOD, "backup": f"{DIR}/-state.db"},
        DIR,
        [f'{W}: backup="{DIR}/-state.db" is not a backup file in {DIR}'],
    ),
    (
        "backup-capital-db",
        {**GOOD, "backup": f"{DIR}/state.DB"},
        DIR,
        [f'{W}: backup="{DIR}/state.DB" is not a backup file in {DIR}'],
    ),
    (
        "backup-trailing-newline",
        {**GOOD, "backup": f"{DIR}/state.db\n"},
        DIR,
        [f'{W}: backup="{DIR}/state.db\\n" is not a backup file in {DIR}'],
    ),
    (
        "backup-with-a-space",
        {**GOOD, "backup": f"{DIR}/state x.db"},
        DIR,
        [f'{W}: backup="{DIR}/state x.db" is not a backup file in {DIR}'],
    ),
    ("backup-longest-name", {**GOOD, "backup": f"{DIR}/{'s' * 201}.db"}, DIR, []),
    (
        "backup-name-too-long",
        {**GOOD, "backup": f"{DIR}/{'s' * 202}.db"},
        DIR,
        [f'{W}: backup="{DIR}/{"s" * 202}.db" is not a backup file in {DIR}'],
    ),
    ("backup-a-number", {**GOOD, "backup": 5}, DIR, [f"{W}: backup=5 is not a backup file in {DIR}"]),
    ("backup-a-list", {**GOOD, "backup": [BACKUP]}, DIR, [f'{W}: backup=["{BACKUP}"] is not a backup file in {DIR}']),
    (
        "backup-an-object",
        {**GOOD, "backup": {"path": BACKUP}},
        DIR,
        [f'{W}: backup={{"path": "{BACKUP}"}} is not a backup file in {DIR}'],
    ),
    # The backup directory as given: a trailing slash no longer matches; without one, any directory does.
    (
        "backup-dir-trailing-slash",
        GOOD,
        f"{DIR}/",
        [f'{W}: backup="{BACKUP}" is not a backup file in {DIR}/'],
    ),
    ("backup-dir-root", {**GOOD, "backup": "/state.db"}, "/", []),
    ("backup-dir-not-given", {**GOOD, "backup": "/srv/../etc/state.db"}, "", []),
    (
        "backup-dir-not-given-name-checked",
        {**GOOD, "backup": "/srv/state.json"},
        "",
        [f'{W}: backup="/srv/state.json" is not a backup file in '],
    ),
    # The identity (identity_errors, below): checked after the version, before the backup.
    ("identity-good", RECORD, DIR, []),
    ("identity-in-a-manifest", {**MANIFEST, **IDENT}, DIR, []),
    ("identity-partly-recorded", {**GOOD, "state_dir": STATE}, DIR, []),
    (
        "identity-all-wrong-in-order",
        {
            **RECORD,
            "image_ref": "x",
            "service_name": "Flower",
            "container_name": 5,
            "state_dir": "/etc",
            "database": "/etc/passwd",
            "backup": "/etc/shadow",
        },
        DIR,
        [
            f'{W}: image_ref="x" is not an image reference',
            f'{W}: service_name="Flower" is not a unit or container name',
            f"{W}: container_name=5 is not a unit or container name",
            f'{W}: state_dir="/etc" is not a state directory',
            f'{W}: database="/etc/passwd" is not a database file in its state_dir',
            f'{W}: backup="/etc/shadow" is not a backup file in {DIR}',
        ],
    ),
    (
        "identity-database-outside-its-state-dir",
        {**RECORD, "database": "/srv/flower/state.db"},
        DIR,
        [f'{W}: database="/srv/flower/state.db" is not a database file in its state_dir'],
    ),
]


@pytest.mark.parametrize(("entry", "backup_dir", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_deployment_errors(entry: Any, backup_dir: str, expected: list[str]) -> None:
    assert deployment_errors(entry, W, backup_dir) == expected


@pytest.mark.parametrize(
    ("entry", "what", "expected"),
    [
        ({}, "manifest", 'manifest: image_ref="" is not an image reference'),
        ({}, "previous deployment", 'previous deployment: image_ref="" is not an image reference'),
        (None, "manifest", "manifest is not a JSON object"),
        (
            {**RECORD, "state_dir": "/etc"},
            "previous deployment",
            'previous deployment: state_dir="/etc" is not a state directory',
        ),
    ],
    ids=["manifest", "previous-deployment", "not-an-object", "previous-deployment-identity"],
)
def test_the_messages_name_what_was_read(entry: Any, what: str, expected: str) -> None:
    assert deployment_errors(entry, what, DIR)[0] == expected


def test_without_a_backup_directory_the_backup_is_not_placed() -> None:
    """The default backup_dir ("") checks the file name only: what the roles pass is always set."""
    assert deployment_errors({**GOOD, "backup": "/anywhere/state.db"}, W) == []


# The identity an entry holds: each key may be absent (records written before the role kept
# it, manifests), and is checked when present. A record is JSON on the host: anyone who can
# edit it can put any JSON value there. The recorded state_dir and database are where a move
# (flower_superlink_move_state) reads the runs from and renames the old file, so they are held
# to the inventory's rules.

# service_name and container_name: the same rule (NAME_RE, 1-23 of a-z 0-9 -, a letter first).
NAME_CASES: list[tuple[str, Any, str | None]] = [
    # id, the value, the value as the message shows it (None: accepted)
    ("good", "flower-superlink", None),
    ("one-letter", "f", None),
    ("23-characters", "s" * 23, None),
    ("digits-and-dashes", "superlink-2-b", None),
    # A trailing dash is a valid unit and container name.
    ("trailing-dash", "superlink-", None),
    ("24-characters", "s" * 24, f'"{"s" * 24}"'),
    ("empty", "", '""'),
    ("capitals", "Flower-superlink", '"Flower-superlink"'),
    ("underscore", "flower_superlink", '"flower_superlink"'),
    ("leading-digit", "1superlink", '"1superlink"'),
    ("leading-dash", "-superlink", '"-superlink"'),
    ("with-dot-service", "flower-superlink.service", '"flower-superlink.service"'),
    ("with-a-slash", "../flower-superlink", '"../flower-superlink"'),
    ("with-a-space", "flower superlink", '"flower superlink"'),
    ("trailing-newline", "flower-superlink\n", '"flower-superlink\\n"'),
    ("newline-inside", "flower\nsuperlink", '"flower\\nsuperlink"'),
    ("with-a-specifier", "flower-%i", '"flower-%i"'),
    ("with-a-colon", "flower:superlink", '"flower:superlink"'),
    ("with-a-quote", 'flower"superlink', '"flower\\"superlink"'),
    ("non-ascii", "flöwer", '"fl\\u00f6wer"'),
    ("an-int", 5, "5"),
    ("zero", 0, "0"),
    ("a-float", 1.5, "1.5"),
    ("true", True, "true"),
    ("false", False, "false"),
    ("none", None, "null"),
    ("a-list", ["flower-superlink"], '["flower-superlink"]'),
    ("an-empty-list", [], "[]"),
    ("a-dict", {"name": "flower-superlink"}, '{"name": "flower-superlink"}'),
]

IDENTITY_CASES: list[tuple[str, Any, list[str]]] = [
    # id, the entry, the messages
    ("nothing-recorded", {}, []),
    ("a-manifest", MANIFEST, []),
    ("a-record-before-names", without(RECORD, "service_name", "container_name"), []),
    ("a-record-before-identity", GOOD, []),
    ("as-written", RECORD, []),
    ("identity-only", IDENT, []),
    ("other-keys-ignored", {**IDENT, "state_dir_mode": "0777", "unit": "/etc/passwd"}, []),
    (
        "all-four-wrong-in-order",
        {"database": "x", "state_dir": "y", "container_name": "Z", "service_name": "W"},
        [
            f'{W}: service_name="W" is not a unit or container name',
            f'{W}: container_name="Z" is not a unit or container name',
            f'{W}: state_dir="y" is not a state directory',
            f'{W}: database="x" is not a database file in its state_dir',
        ],
    ),
    # Each name key, every class of NAME_CASES.
    *[
        (
            f"{key}-{case}",
            {**IDENT, key: value},
            [] if shown is None else [f"{W}: {key}={shown} is not a unit or container name"],
        )
        for key in ("service_name", "container_name")
        for case, value, shown in NAME_CASES
    ],
    # Both names wrong: one message each.
    (
        "both-names-wrong",
        {**IDENT, "service_name": "ssh.service", "container_name": None},
        [
            f'{W}: service_name="ssh.service" is not a unit or container name',
            f"{W}: container_name=null is not a unit or container name",
        ],
    ),
    # state_dir: a host directory the inventory could name (path_problem). Without a database
    # here, to show one message; a refused state_dir refuses any database in it (below).
    ("state-dir-alone", {"state_dir": STATE}, []),
    ("state-dir-in-srv", {"state_dir": "/srv/flower"}, []),
    ("state-dir-in-opt", {"state_dir": "/opt/flower/state"}, []),
    ("state-dir-with-odd-but-allowed-characters", {"state_dir": "/var/lib/flower_super.link@1+x-y"}, []),
    ("state-dir-an-int", {"state_dir": 5}, [f"{W}: state_dir=5 is not a state directory"]),
    ("state-dir-true", {"state_dir": True}, [f"{W}: state_dir=true is not a state directory"]),
    ("state-dir-none", {"state_dir": None}, [f"{W}: state_dir=null is not a state directory"]),
    ("state-dir-a-list", {"state_dir": [STATE]}, [f'{W}: state_dir=["{STATE}"] is not a state directory']),
    (
        "state-dir-a-dict",
        {"state_dir": {"path": STATE}},
        [f'{W}: state_dir={{"path": "{STATE}"}} is not a state directory'],
    ),
    ("state-dir-empty", {"state_dir": ""}, [f'{W}: state_dir="" is not a state directory']),
    (
        "state-dir-relative",
        {"state_dir": "var/lib/flower-superlink"},
        [f'{W}: state_dir="var/lib/flower-superlink" is not a state directory'],
    ),
    ("state-dir-dot", {"state_dir": "."}, [f'{W}: state_dir="." is not a state directory']),
    (
        "state-dir-dot-dot-out",
        {"state_dir": "/var/lib/flower-superlink/../../etc"},
        [f'{W}: state_dir="/var/lib/flower-superlink/../../etc" is not a state directory'],
    ),
    (
        "state-dir-dot-dot-out-and-back",
        {"state_dir": "/var/lib/x/../flower-superlink"},
        [f'{W}: state_dir="/var/lib/x/../flower-superlink" is not a state directory'],
    ),
    (
        "state-dir-dot-component",
        {"state_dir": "/var/lib/./flower-superlink"},
        [f'{W}: state_dir="/var/lib/./flower-superlink" is not a state directory'],
    ),
    (
        "state-dir-double-slash",
        {"state_dir": "/var/lib//flower-superlink"},
        [f'{W}: state_dir="/var/lib//flower-superlink" is not a state directory'],
    ),
    (
        "state-dir-leading-double-slash",
        {"state_dir": "//var/lib/flower-superlink"},
        [f'{W}: state_dir="//var/lib/flower-superlink" is not a state directory'],
    ),
    (
        "state-dir-trailing-slash",
        {"state_dir": f"{STATE}/"},
        [f'{W}: state_dir="{STATE}/" is not a state directory'],
    ),
    (
        "state-dir-with-a-space",
        {"state_dir": "/var/lib/flower superlink"},
        [f'{W}: state_dir="/var/lib/flower superlink" is not a state directory'],
    ),
    (
        "state-dir-trailing-newline",
        {"state_dir": f"{STATE}\n"},
        [f'{W}: state_dir="{STATE}\\n" is not a state directory'],
    ),
    (
        "state-dir-newline-inside",
        {"state_dir": "/var/lib/flower\nExecStartPre=/bin/sh"},
        [f'{W}: state_dir="/var/lib/flower\\nExecStartPre=/bin/sh" is not a state directory'],
    ),
    (
        "state-dir-a-tab",
        {"state_dir": "/var/lib/flower\tsuperlink"},
        [f'{W}: state_dir="/var/lib/flower\\tsuperlink" is not a state directory'],
    ),
    (
        "state-dir-a-specifier",
        {"state_dir": "/var/lib/flower-%i"},
        [f'{W}: state_dir="/var/lib/flower-%i" is not a state directory'],
    ),
    (
        "state-dir-a-volume-colon",
        {"state_dir": "/var/lib/flower:/etc"},
        [f'{W}: state_dir="/var/lib/flower:/etc" is not a state directory'],
    ),
    (
        "state-dir-double-quotes",
        {"state_dir": '/var/lib/"flower"'},
        [f'{W}: state_dir="/var/lib/\\"flower\\"" is not a state directory'],
    ),
    (
        "state-dir-single-quote",
        {"state_dir": "/var/lib/flower'superlink"},
        [f'{W}: state_dir="/var/lib/flower\'superlink" is not a state directory'],
    ),
    (
        "state-dir-a-dollar",
        {"state_dir": "/var/lib/$HOME"},
        [f'{W}: state_dir="/var/lib/$HOME" is not a state directory'],
    ),
    (
        "state-dir-a-comma",
        {"state_dir": "/var/lib/a,b"},
        [f'{W}: state_dir="/var/lib/a,b" is not a state directory'],
    ),
    (
        "state-dir-non-ascii",
        {"state_dir": "/var/lib/flöwer"},
        [f'{W}: state_dir="/var/lib/fl\\u00f6wer" is not a state directory'],
    ),
    # System directories: shared parents (never the state directory itself) and trees of the
    # system's or other programs' (neither the directory nor inside it).
    ("state-dir-root", {"state_dir": "/"}, [f'{W}: state_dir="/" is not a state directory']),
    ("state-dir-etc", {"state_dir": "/etc"}, [f'{W}: state_dir="/etc" is not a state directory']),
    ("state-dir-var", {"state_dir": "/var"}, [f'{W}: state_dir="/var" is not a state directory']),
    ("state-dir-var-lib", {"state_dir": "/var/lib"}, [f'{W}: state_dir="/var/lib" is not a state directory']),
    ("state-dir-srv", {"state_dir": "/srv"}, [f'{W}: state_dir="/srv" is not a state directory']),
    ("state-dir-opt", {"state_dir": "/opt"}, [f'{W}: state_dir="/opt" is not a state directory']),
    (
        "state-dir-var-backups",
        {"state_dir": "/var/backups"},
        [f'{W}: state_dir="/var/backups" is not a state directory'],
    ),
    ("state-dir-usr", {"state_dir": "/usr"}, [f'{W}: state_dir="/usr" is not a state directory']),
    ("state-dir-usr-local", {"state_dir": "/usr/local"}, [f'{W}: state_dir="/usr/local" is not a state directory']),
    (
        "state-dir-inside-usr",
        {"state_dir": "/usr/local/flower"},
        [f'{W}: state_dir="/usr/local/flower" is not a state directory'],
    ),
    ("state-dir-proc", {"state_dir": "/proc"}, [f'{W}: state_dir="/proc" is not a state directory']),
    (
        "state-dir-inside-proc",
        {"state_dir": "/proc/1/root"},
        [f'{W}: state_dir="/proc/1/root" is not a state directory'],
    ),
    ("state-dir-inside-sys", {"state_dir": "/sys/kernel"}, [f'{W}: state_dir="/sys/kernel" is not a state directory']),
    ("state-dir-inside-dev", {"state_dir": "/dev/shm"}, [f'{W}: state_dir="/dev/shm" is not a state directory']),
    ("state-dir-boot", {"state_dir": "/boot"}, [f'{W}: state_dir="/boot" is not a state directory']),
    ("state-dir-root-home", {"state_dir": "/root"}, [f'{W}: state_dir="/root" is not a state directory']),
    (
        "state-dir-inside-home",
        {"state_dir": "/home/u/.ssh"},
        [f'{W}: state_dir="/home/u/.ssh" is not a state directory'],
    ),
    ("state-dir-inside-tmp", {"state_dir": "/tmp/flower"}, [f'{W}: state_dir="/tmp/flower" is not a state directory']),
    (
        "state-dir-etc-systemd",
        {"state_dir": "/etc/systemd/system"},
        [f'{W}: state_dir="/etc/systemd/system" is not a state directory'],
    ),
    ("state-dir-etc-ssh", {"state_dir": "/etc/ssh"}, [f'{W}: state_dir="/etc/ssh" is not a state directory']),
    (
        "state-dir-inside-sudoers-d",
        {"state_dir": "/etc/sudoers.d/x"},
        [f'{W}: state_dir="/etc/sudoers.d/x" is not a state directory'],
    ),
    (
        "state-dir-docker-volumes",
        {"state_dir": "/var/lib/docker/volumes/x"},
        [f'{W}: state_dir="/var/lib/docker/volumes/x" is not a state directory'],
    ),
    (
        "state-dir-var-lib-dpkg",
        {"state_dir": "/var/lib/dpkg"},
        [f'{W}: state_dir="/var/lib/dpkg" is not a state directory'],
    ),
    ("state-dir-var-log", {"state_dir": "/var/log"}, [f'{W}: state_dir="/var/log" is not a state directory']),
    ("state-dir-run", {"state_dir": "/run/flower"}, [f'{W}: state_dir="/run/flower" is not a state directory']),
    # A refused state_dir refuses the database in it too (nothing says where the runs are).
    (
        "state-dir-etc-with-its-database",
        {"state_dir": "/etc", "database": "/etc/passwd"},
        [
            f'{W}: state_dir="/etc" is not a state directory',
            f'{W}: database="/etc/passwd" is not a database file in its state_dir',
        ],
    ),
    (
        "state-dir-an-int-with-a-database",
        {"state_dir": 5, "database": DB},
        [
            f"{W}: state_dir=5 is not a state directory",
            f'{W}: database="{DB}" is not a database file in its state_dir',
        ],
    ),
    (
        "state-dir-none-with-a-database-at-the-root",
        {"state_dir": None, "database": "/state.db"},
        [
            f"{W}: state_dir=null is not a state directory",
            f'{W}: database="/state.db" is not a database file in its state_dir',
        ],
    ),
    # database: a plain file name (FILE_NAME_RE) directly in the recorded state_dir.
    ("database-other-name", {**IDENT, "database": f"{STATE}/runs.sqlite3"}, []),
    ("database-without-extension", {**IDENT, "database": f"{STATE}/state"}, []),
    ("database-longest-name", {**IDENT, "database": f"{STATE}/{'s' * 128}"}, []),
    ("database-dots-inside-the-name", {**IDENT, "database": f"{STATE}/state..db"}, []),
    # The same file, but not what record_write.yml writes: <state_dir>/<name>, exactly.
    (
        "database-double-slash-before-the-name",
        {**IDENT, "database": f"{STATE}//state.db"},
        [f'{W}: database="{STATE}//state.db" is not a database file in its state_dir'],
    ),
    (
        "database-name-too-long",
        {**IDENT, "database": f"{STATE}/{'s' * 129}"},
        [f'{W}: database="{STATE}/{"s" * 129}" is not a database file in its state_dir'],
    ),
    (
        "database-an-int",
        {**IDENT, "database": 5},
        [f"{W}: database=5 is not a database file in its state_dir"],
    ),
    (
        "database-false",
        {**IDENT, "database": False},
        [f"{W}: database=false is not a database file in its state_dir"],
    ),
    (
        "database-none",
        {**IDENT, "database": None},
        [f"{W}: database=null is not a database file in its state_dir"],
    ),
    (
        "database-a-list",
        {**IDENT, "database": [DB]},
        [f'{W}: database=["{DB}"] is not a database file in its state_dir'],
    ),
    (
        "database-a-dict",
        {**IDENT, "database": {"path": DB}},
        [f'{W}: database={{"path": "{DB}"}} is not a database file in its state_dir'],
    ),
    (
        "database-empty",
        {**IDENT, "database": ""},
        [f'{W}: database="" is not a database file in its state_dir'],
    ),
    (
        "database-only-a-name",
        {**IDENT, "database": "state.db"},
        [f'{W}: database="state.db" is not a database file in its state_dir'],
    ),
    (
        "database-relative",
        {**IDENT, "database": "var/lib/flower-superlink/state.db"},
        [f'{W}: database="var/lib/flower-superlink/state.db" is not a database file in its state_dir'],
    ),
    (
        "database-is-the-state-dir",
        {**IDENT, "database": STATE},
        [f'{W}: database="{STATE}" is not a database file in its state_dir'],
    ),
    (
        "database-in-another-directory",
        {**IDENT, "database": "/srv/flower/state.db"},
        [f'{W}: database="/srv/flower/state.db" is not a database file in its state_dir'],
    ),
    (
        "database-in-a-subdirectory",
        {**IDENT, "database": f"{STATE}/old/state.db"},
        [f'{W}: database="{STATE}/old/state.db" is not a database file in its state_dir'],
    ),
    (
        "database-in-the-parent",
        {**IDENT, "database": "/var/lib/state.db"},
        [f'{W}: database="/var/lib/state.db" is not a database file in its state_dir'],
    ),
    (
        "database-dot-dot-out",
        {**IDENT, "database": f"{STATE}/../../../etc/shadow"},
        [f'{W}: database="{STATE}/../../../etc/shadow" is not a database file in its state_dir'],
    ),
    (
        "database-dot-dot-out-and-back",
        {**IDENT, "database": f"{STATE}/../flower-superlink/state.db"},
        [f'{W}: database="{STATE}/../flower-superlink/state.db" is not a database file in its state_dir'],
    ),
    (
        "database-dot-component",
        {**IDENT, "database": f"{STATE}/./state.db"},
        [f'{W}: database="{STATE}/./state.db" is not a database file in its state_dir'],
    ),
    (
        "database-dot-dot-name",
        {**IDENT, "database": f"{STATE}/.."},
        [f'{W}: database="{STATE}/.." is not a database file in its state_dir'],
    ),
    (
        "database-double-slash-in-the-directory",
        {**IDENT, "database": "/var/lib//flower-superlink/state.db"},
        [f'{W}: database="/var/lib//flower-superlink/state.db" is not a database file in its state_dir'],
    ),
    (
        "database-trailing-slash",
        {**IDENT, "database": f"{DB}/"},
        [f'{W}: database="{DB}/" is not a database file in its state_dir'],
    ),
    (
        "database-hidden",
        {**IDENT, "database": f"{STATE}/.state.db"},
        [f'{W}: database="{STATE}/.state.db" is not a database file in its state_dir'],
    ),
    (
        "database-leading-dash",
        {**IDENT, "database": f"{STATE}/-state.db"},
        [f'{W}: database="{STATE}/-state.db" is not a database file in its state_dir'],
    ),
    (
        "database-with-a-space",
        {**IDENT, "database": f"{STATE}/state x.db"},
        [f'{W}: database="{STATE}/state x.db" is not a database file in its state_dir'],
    ),
    (
        "database-trailing-newline",
        {**IDENT, "database": f"{DB}\n"},
        [f'{W}: database="{DB}\\n" is not a database file in its state_dir'],
    ),
    (
        "database-a-specifier",
        {**IDENT, "database": f"{STATE}/state-%i.db"},
        [f'{W}: database="{STATE}/state-%i.db" is not a database file in its state_dir'],
    ),
    (
        "database-a-colon",
        {**IDENT, "database": f"{STATE}/state.db:ro"},
        [f'{W}: database="{STATE}/state.db:ro" is not a database file in its state_dir'],
    ),
    (
        "database-a-quote",
        {**IDENT, "database": f'{STATE}/state".db'},
        [f'{W}: database="{STATE}/state\\".db" is not a database file in its state_dir'],
    ),
    (
        "database-an-at-sign",
        {**IDENT, "database": f"{STATE}/state@1.db"},
        [f'{W}: database="{STATE}/state@1.db" is not a database file in its state_dir'],
    ),
    # The inventory refuses these names for flower_superlink_database_name (SQLite's journals,
    # and the record and manifests' .json), in the record as in the inventory.
    (
        "database-named-like-its-wal",
        {**IDENT, "database": f"{DB}-wal"},
        [f'{W}: database="{DB}-wal" is not a database file in its state_dir'],
    ),
    (
        "database-named-like-its-shm",
        {**IDENT, "database": f"{DB}-shm"},
        [f'{W}: database="{DB}-shm" is not a database file in its state_dir'],
    ),
    (
        "database-named-like-its-journal",
        {**IDENT, "database": f"{DB}-journal"},
        [f'{W}: database="{DB}-journal" is not a database file in its state_dir'],
    ),
    (
        "database-named-json",
        {**IDENT, "database": f"{STATE}/record.json"},
        [f'{W}: database="{STATE}/record.json" is not a database file in its state_dir'],
    ),
    # A database recorded without its state_dir (the role always records both: an edit) is
    # checked as a host path on its own.
    ("database-without-state-dir", without(IDENT, "state_dir"), []),
    (
        "database-without-state-dir-relative",
        {"database": "state.db"},
        [f'{W}: database="state.db" is not a database file in its state_dir'],
    ),
    (
        "database-without-state-dir-dot-dot",
        {"database": f"{STATE}/../../../etc/shadow"},
        [f'{W}: database="{STATE}/../../../etc/shadow" is not a database file in its state_dir'],
    ),
    (
        "database-without-state-dir-double-slash",
        {"database": f"{STATE}//state.db"},
        [f'{W}: database="{STATE}//state.db" is not a database file in its state_dir'],
    ),
    (
        "database-without-state-dir-inside-usr",
        {"database": "/usr/lib/state.db"},
        [f'{W}: database="/usr/lib/state.db" is not a database file in its state_dir'],
    ),
    (
        "database-without-state-dir-inside-proc",
        {"database": "/proc/1/environ"},
        [f'{W}: database="/proc/1/environ" is not a database file in its state_dir'],
    ),
    (
        "database-without-state-dir-hidden",
        {"database": f"{STATE}/.state.db"},
        [f'{W}: database="{STATE}/.state.db" is not a database file in its state_dir'],
    ),
    # ... and its directory is held to a state directory's rules.
    (
        "database-without-state-dir-in-etc",
        {"database": "/etc/shadow"},
        [f'{W}: database="/etc/shadow" is not a database file in its state_dir'],
    ),
    (
        "database-without-state-dir-at-the-root",
        {"database": "/state.db"},
        [f'{W}: database="/state.db" is not a database file in its state_dir'],
    ),
    (
        "database-without-state-dir-in-var-lib",
        {"database": "/var/lib/state.db"},
        [f'{W}: database="/var/lib/state.db" is not a database file in its state_dir'],
    ),
]


@pytest.mark.parametrize("cases", ["CASES", "IDENTITY_CASES", "CHANGES_CASES"])
def test_the_ids_of_a_table_are_distinct(cases: str) -> None:
    ids = [c[0] for c in globals()[cases]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("entry", "expected"), [pytest.param(*c[1:], id=c[0]) for c in IDENTITY_CASES])
def test_identity_errors(entry: dict[str, Any], expected: list[str]) -> None:
    assert identity_errors(entry, W) == expected


@pytest.mark.parametrize(("entry", "expected"), [pytest.param(*c[1:], id=c[0]) for c in IDENTITY_CASES])
def test_deployment_errors_says_the_same_of_the_identity(entry: dict[str, Any], expected: list[str]) -> None:
    """deployment_errors adds exactly identity_errors' messages to a good entry's."""
    assert deployment_errors({**GOOD, **entry}, W, DIR) == expected


def change(variable: str, deployed: str, wanted: str) -> dict[str, str]:
    return {"variable": f"flower_superlink_{variable}", "deployed": deployed, "wanted": wanted}


# What the inventory changes of the recorded identity. WANTED: the inventory's, as vars/main.yml
# passes it (_flower_superlink_identity: the database's full path).
WANTED = dict(IDENT)
CHANGES_CASES: list[tuple[str, Any, dict[str, str], list[dict[str, str]]]] = [
    # id, the record's current entry, the inventory's identity, the changes
    # Nothing recorded, or not an entry: nothing to compare.
    ("none", None, WANTED, []),
    ("a-list", [IDENT], WANTED, []),
    ("json-text", '{"state_dir": "/srv/flower"}', WANTED, []),
    ("a-number", 0, WANTED, []),
    ("nothing-recorded", {}, WANTED, []),
    ("a-record-before-identity", GOOD, WANTED, []),
    ("the-same", RECORD, WANTED, []),
    ("other-keys-ignored", {**IDENT, "image_ref": "other/image:1.0.0", "state_dir_mode": "0700"}, WANTED, []),
    # Each changed alone.
    (
        "service-renamed",
        {**IDENT, "service_name": "old-superlink"},
        WANTED,
        [change("service_name", "old-superlink", "flower-superlink")],
    ),
    (
        "container-renamed",
        {**IDENT, "container_name": "old-superlink"},
        WANTED,
        [change("container_name", "old-superlink", "flower-superlink")],
    ),
    (
        "service-and-container-renamed",
        {**IDENT, "service_name": "old-service", "container_name": "old-container"},
        WANTED,
        [
            change("service_name", "old-service", "flower-superlink"),
            change("container_name", "old-container", "flower-superlink"),
        ],
    ),
    (
        "renamed-in-the-inventory",
        IDENT,
        {**WANTED, "service_name": "new-service", "container_name": "new-container"},
        [
            change("service_name", "flower-superlink", "new-service"),
            change("container_name", "flower-superlink", "new-container"),
        ],
    ),
    (
        "name-in-other-case",
        {**IDENT, "service_name": "Flower-superlink"},
        WANTED,
        [change("service_name", "Flower-superlink", "flower-superlink")],
    ),
    # A moved state directory with the same database name: one change, not two.
    (
        "state-dir-moved",
        {**IDENT, "state_dir": "/srv/flower", "database": "/srv/flower/state.db"},
        WANTED,
        [change("state_dir", "/srv/flower", STATE)],
    ),
    (
        "state-dir-moved-in-the-inventory",
        IDENT,
        {**WANTED, "state_dir": "/srv/flower", "database": "/srv/flower/state.db"},
        [change("state_dir", STATE, "/srv/flower")],
    ),
    # Compared as text: identity_errors refuses an unnormalised state_dir before this runs.
    (
        "state-dir-trailing-slash",
        {**IDENT, "state_dir": f"{STATE}/"},
        WANTED,
        [change("state_dir", f"{STATE}/", STATE)],
    ),
    # The database's file name, compared on its own.
    (
        "database-renamed",
        {**IDENT, "database": f"{STATE}/old.db"},
        WANTED,
        [change("database_name", "old.db", "state.db")],
    ),
    (
        "database-renamed-in-the-inventory",
        IDENT,
        {**WANTED, "database": f"{STATE}/runs.db"},
        [change("database_name", "state.db", "runs.db")],
    ),
    (
        "database-name-in-other-case",
        {**IDENT, "database": f"{STATE}/State.db"},
        WANTED,
        [change("database_name", "State.db", "state.db")],
    ),
    (
        "state-dir-moved-and-database-renamed",
        {**IDENT, "state_dir": "/srv/flower", "database": "/srv/flower/old.db"},
        WANTED,
        [change("state_dir", "/srv/flower", STATE), change("database_name", "old.db", "state.db")],
    ),
    # Only the name: identity_errors refuses a database outside its state_dir before this runs.
    ("database-elsewhere-same-name", {**IDENT, "database": "/srv/flower/state.db"}, WANTED, []),
    # Everything changed: in IDENTITY's order, whatever the record's or the inventory's order.
    (
        "all-four-in-identity-order",
        {"database": "/srv/flower/old.db", "state_dir": "/srv/flower", "container_name": "c", "service_name": "s"},
        {"database": DB, "state_dir": STATE, "container_name": "flower-superlink", "service_name": "flower-superlink"},
        [
            change("service_name", "s", "flower-superlink"),
            change("container_name", "c", "flower-superlink"),
            change("state_dir", "/srv/flower", STATE),
            change("database_name", "old.db", "state.db"),
        ],
    ),
    # Recorded values of another type than text are not compared (identity_errors refuses them).
    ("service-name-an-int", {**IDENT, "service_name": 5}, WANTED, []),
    ("service-name-none", {**IDENT, "service_name": None}, WANTED, []),
    ("service-name-true", {**IDENT, "service_name": True}, WANTED, []),
    ("container-name-a-list", {**IDENT, "container_name": ["old"]}, WANTED, []),
    ("state-dir-a-dict", {**IDENT, "state_dir": {"path": "/srv/flower"}}, WANTED, []),
    ("state-dir-none", {**IDENT, "state_dir": None}, WANTED, []),
    ("database-an-int", {**IDENT, "database": 5}, WANTED, []),
    ("database-a-list", {**IDENT, "database": ["/srv/flower/old.db"]}, WANTED, []),
    (
        "wrong-types-skipped-the-rest-compared",
        {"service_name": 5, "container_name": None, "state_dir": "/srv/flower", "database": ["x"]},
        WANTED,
        [change("state_dir", "/srv/flower", STATE)],
    ),
    # Keys the record does not hold are not compared: nothing says what they were.
    (
        "names-not-recorded",
        {**without(IDENT, "service_name", "container_name"), "state_dir": "/srv/flower"},
        {**WANTED, "service_name": "new-service", "container_name": "new-container"},
        [change("state_dir", "/srv/flower", STATE)],
    ),
    (
        "state-dir-not-recorded",
        {**without(IDENT, "state_dir"), "service_name": "old"},
        {**WANTED, "state_dir": "/srv/flower", "database": "/srv/flower/state.db"},
        [change("service_name", "old", "flower-superlink")],
    ),
    (
        "database-not-recorded",
        without(IDENT, "database"),
        {**WANTED, "database": f"{STATE}/runs.db"},
        [],
    ),
    (
        "only-the-database-recorded",
        {"database": "/srv/flower/old.db"},
        WANTED,
        [change("database_name", "old.db", "state.db")],
    ),
]


@pytest.mark.parametrize(
    ("recorded", "wanted", "expected"), [c[1:] for c in CHANGES_CASES], ids=[c[0] for c in CHANGES_CASES]
)
def test_identity_changes(recorded: Any, wanted: dict[str, str], expected: list[dict[str, str]]) -> None:
    assert identity_changes(recorded, wanted) == expected
