"""What a deployment read back from a host must be (plugins/plugin_utils/deployment_record.py
``deployment_errors``, the filter flower_iac.federation.deployment_record_errors): the
deployment record's current and previous entries and a backup's manifest. One row per case;
each row names every message, in order."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter.flower_superlink import FilterModule
from ansible_collections.flower_iac.federation.plugins.plugin_utils.deployment_record import deployment_errors

DIR = "/var/backups/flower-superlink"
BACKUP = f"{DIR}/state-20260101T000000.000000Z-pre-upgrade.db"
HEX = "0123456789abcdef" * 4
# A record's entry as record_write.yml writes it.
GOOD = {"image_ref": "flwr/superlink:1.19.0", "image_id": f"sha256:{HEX}", "version": "1.19.0", "backup": BACKUP}
# A backup's manifest (backup.yml) names the release flwr_version.
MANIFEST = {"image_ref": "flwr/superlink:1.19.0", "image_id": f"sha256:{HEX}", "flwr_version": "1.19.0"}
W = "current deployment"


def test_the_filter_is_this_function() -> None:
    assert FilterModule().filters()["deployment_record_errors"] is deployment_errors


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
    ],
    ids=["manifest", "previous-deployment", "not-an-object"],
)
def test_the_messages_name_what_was_read(entry: Any, what: str, expected: str) -> None:
    assert deployment_errors(entry, what, DIR)[0] == expected


def test_without_a_backup_directory_the_backup_is_not_placed() -> None:
    """The default backup_dir ("") checks the file name only: what the roles pass is always set."""
    assert deployment_errors({**GOOD, "backup": "/anywhere/state.db"}, W) == []
