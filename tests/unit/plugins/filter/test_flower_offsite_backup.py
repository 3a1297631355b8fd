"""flower_offsite_backup's filters (plugins/filter/flower_offsite_backup.py):
the names the role calls, restic forget's arguments, and the redaction of a
repository's credentials (restic_redact, plugins/module_utils/restic_redaction.py,
which the backup agent uses on the host too), one row per case."""

from __future__ import annotations

import os
import re
import shlex
from typing import Any

import jinja2
import pytest
import yaml
from ansible_collections.flower_iac.federation.plugins.filter.flower_offsite_backup import (
    FilterModule,
    config_errors,
    forget_args,
)
from conftest import ROOT

redact = FilterModule().filters()["restic_redact"]


def test_registers_the_names_the_role_calls() -> None:
    assert sorted(FilterModule().filters()) == ["offsite_backup_config_errors", "restic_forget_args", "restic_redact"]


def keep(hourly: Any, daily: Any, weekly: Any, monthly: Any) -> dict[str, Any]:
    periods = {"hourly": hourly, "daily": daily, "weekly": weekly, "monthly": monthly}
    return {f"flower_offsite_backup_keep_{period}": count for period, count in periods.items()}


@pytest.mark.parametrize(
    ("config", "args"),
    [
        (
            keep(24, 7, 4, 12),
            ["--keep-hourly", "24", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "12"],
        ),
        (keep(0, 7, 0, "6"), ["--keep-daily", "7", "--keep-monthly", "6"]),
    ],
    ids=["every-period", "zero-leaves-a-period-out"],
)
def test_forget_args(config: dict[str, Any], args: list[str]) -> None:
    assert forget_args(config) == args


# --- restic_redact: a repository as messages show it --------------------------------

REPOSITORY_ROWS = [
    # id, the repository as written, as it is shown, the secret that must not show (None: none)
    ("rest-https", "rest:https://user:secret@host:8000/repo", "rest:https://user:***@host:8000/repo", "secret"),
    ("rest-http", "rest:http://user:secret@host/repo", "rest:http://user:***@host/repo", "secret"),
    ("rest-no-user", "rest:https://host:8000/repo", "rest:https://host:8000/repo", None),
    ("rest-user-only", "rest:https://user@host:8000/repo", "rest:https://user@host:8000/repo", None),
    ("rest-empty-password", "rest:https://user:@host/repo", "rest:https://user:***@host/repo", None),
    ("rest-password-no-user", "rest:https://:secret@host/repo", "rest:https://:***@host/repo", "secret"),
    ("password-with-at", "rest:https://user:p@ss@host/repo", "rest:https://user:***@host/repo", "p@ss"),
    ("password-with-colon", "rest:https://user:pa:ss@host/repo", "rest:https://user:***@host/repo", "pa:ss"),
    ("password-with-slash", "rest:https://user:pa/ss@host/repo", "rest:https://user:***@host/repo", "pa/ss"),
    ("password-with-all", "rest:https://user:a@b:c/d@host:8000/r", "rest:https://user:***@host:8000/r", "a@b:c/d"),
    ("password-escaped", "rest:https://user:p%40ss%2Fw%3A@host/repo", "rest:https://user:***@host/repo", "p%40ss"),
    ("user-escaped", "rest:https://us%40er:secret@host/repo", "rest:https://us%40er:***@host/repo", "secret"),
    ("password-with-space", "rest:https://user:se cret@host/repo", "rest:https://user:***@host/repo", "se cret"),
    ("ipv6", "rest:https://[2001:db8::1]:8000/repo", "rest:https://[2001:db8::1]:8000/repo", None),
    (
        "ipv6-password",
        "rest:https://u:secret@[2001:db8::1]:8000/r",
        "rest:https://u:***@[2001:db8::1]:8000/r",
        "secret",
    ),
    ("ipv6-user-only", "rest:http://user@[::1]/repo", "rest:http://user@[::1]/repo", None),
    ("at-in-path", "rest:https://host/repo@2024", "rest:https://host/repo@2024", None),
    # An @ in the path after a port reads as a password: more is hidden, never less.
    ("at-in-path-after-port", "rest:https://host:8000/repo@2024", "rest:https://host:***@2024", None),
    ("already-redacted", "rest:https://user:***@host/repo", "rest:https://user:***@host/repo", None),
    ("sftp", "sftp:user@host:/srv/restic", "sftp:user@host:/srv/restic", None),
    ("sftp-no-user", "sftp:host:/srv/restic", "sftp:host:/srv/restic", None),
    ("sftp-at-in-path", "sftp:user@host:/srv/a@b", "sftp:user@host:/srv/a@b", None),
    ("sftp-password", "sftp:user:secret@host:/srv/restic", "sftp:user:***@host:/srv/restic", "secret"),
    ("sftp-url", "sftp://user@host:2222//srv/restic", "sftp://user@host:2222//srv/restic", None),
    ("sftp-url-password", "sftp://user:secret@host:2222//srv/r", "sftp://user:***@host:2222//srv/r", "secret"),
    ("s3", "s3:s3.amazonaws.com/bucket/flower", "s3:s3.amazonaws.com/bucket/flower", None),
    ("s3-https", "s3:https://s3.example.com/bucket", "s3:https://s3.example.com/bucket", None),
    ("s3-keys", "s3:https://AKIAEX:wJal/K7MD@s3.example.com/b", "s3:https://AKIAEX:***@s3.example.com/b", "wJal"),
    ("b2", "b2:bucket:flower/repo", "b2:bucket:flower/repo", None),
    ("azure", "azure:container:/flower", "azure:container:/flower", None),
    ("gs", "gs:bucket:/flower", "gs:bucket:/flower", None),
    ("swift", "swift:container:/flower", "swift:container:/flower", None),
    ("rclone", "rclone:backup:flower/repo", "rclone:backup:flower/repo", None),
    (
        "rclone-connection-string",
        "rclone::s3,access_key_id=AKIAEX,secret_access_key=SECRET:bucket/flower",
        "rclone::s3,access_key_id=***,secret_access_key=***:bucket/flower",
        "SECRET",
    ),
    ("rclone-quoted", 'rclone::webdav,user=u,pass="a,b:c":flower', "rclone::webdav,user=***,pass=***:flower", "a,b"),
    ("local-path", "/mnt/offsite/flower", "/mnt/offsite/flower", None),
    ("local-path-at-colon", "/mnt/offsite/a:b@c", "/mnt/offsite/a:b@c", None),
    ("empty", "", "", None),
    ("none", None, "", None),
    ("not-a-string", 8000, "8000", None),
    ("words", "not a repository", "not a repository", None),
    ("scheme-only", "rest:https://", "rest:https://", None),
    ("at-only", ":@", ":@", None),
    ("userinfo-only", "x://:@", "x://:***@", None),
    ("two-urls", "rest:https://u:p1@h/x https://v:p2@i", "rest:https://u:***@i", "p1"),
]


@pytest.mark.parametrize(
    ("repository", "shown", "secret"), [r[1:] for r in REPOSITORY_ROWS], ids=[r[0] for r in REPOSITORY_ROWS]
)
def test_a_repository_is_shown_without_its_password(repository: Any, shown: str, secret: str | None) -> None:
    assert redact(repository) == shown
    if secret:
        assert secret not in redact(repository)
    # Shown twice is shown once (a message may pass the agent's redaction, then the task's).
    assert redact(shown) == shown


# --- restic_redact: a message that may echo the repository --------------------------

# restic 0.14's own words, as it printed them for these repositories (a REST
# server and S3 on a closed port; sftp.command=false; no rclone installed).
S3 = "s3:http://KEY:SECRET@127.0.0.1:1/bucket"
SLASH = "rest:http://user:s3/cr@t@127.0.0.1:1/repo"
SPACE = "rest:http://user:a b@127.0.0.1:1/repo"
ESCAPE = "rest:http://user:p%zz@127.0.0.1:1/repo"
ESCAPED = "rest:http://user:p%40ss@127.0.0.1:1/repo"
MESSAGE_ROWS = [
    # id, the message, the repository, the message shown, the secret that must not show
    (
        "restic-echoes-the-s3-address",
        "Fatal: unable to open config file: Stat: Get ...\nIs there a repository at the following location?\n" + S3,
        S3,
        "Fatal: unable to open config file: Stat: Get ...\nIs there a repository at the following location?\n"
        "s3:http://KEY:***@127.0.0.1:1/bucket",
        "SECRET",
    ),
    (
        "go-quotes-the-url-and-a-piece",
        f'Fatal: parsing repository location failed: url.Parse: parse "{SLASH[5:]}/": invalid port ":s3" after host',
        SLASH,
        'Fatal: parsing repository location failed: url.Parse: parse "http://user:***@127.0.0.1:1/repo/": '
        'invalid port "***" after host',
        "s3",
    ),
    (
        "password-with-a-space",
        f'Fatal: parsing repository location failed: url.Parse: parse "{SPACE[5:]}/": net/url: invalid userinfo',
        SPACE,
        'Fatal: parsing repository location failed: url.Parse: parse "http://user:***@127.0.0.1:1/repo/": '
        "net/url: invalid userinfo",
        "a b",
    ),
    (
        "go-quotes-a-bad-escape",
        f'Fatal: parsing repository location failed: url.Parse: parse "{ESCAPE[5:]}/": invalid URL escape "%zz"',
        ESCAPE,
        'Fatal: parsing repository location failed: url.Parse: parse "http://user:***@127.0.0.1:1/repo/": '
        'invalid URL escape "***"',
        "%zz",
    ),
    (
        "sftp-short-form-echoed",
        "Fatal: unable to open repository at sftp:user:pw@127.0.0.1:/x: unable to start the sftp session, error: EOF",
        "sftp:user:pw@127.0.0.1:/x",
        "Fatal: unable to open repository at sftp:user:***@127.0.0.1:/x: unable to start the sftp session, error: EOF",
        "pw",
    ),
    (
        "rclone-echoed",
        'Fatal: unable to open repository at rclone::s3,secret_access_key=SEKRIT:bucket: exec: "rclone": not found',
        "rclone::s3,secret_access_key=SEKRIT:bucket",
        'Fatal: unable to open repository at rclone::s3,secret_access_key=***:bucket: exec: "rclone": not found',
        "SEKRIT",
    ),
    (
        "password-decoded-elsewhere",
        "user p@ss refused",
        ESCAPED,
        "user *** refused",
        "p@ss",
    ),
    (
        "password-escaped-elsewhere",
        "user p%40ss refused",
        ESCAPED,
        "user *** refused",
        "p%40ss",
    ),
    (
        "password-escaped-by-go",
        "dial http://user:p%40ss@127.0.0.1:1/repo/config and p%40ss",
        "rest:http://user:p@ss@127.0.0.1:1/repo",
        "dial http://user:***@127.0.0.1:1/repo/config and ***",
        "p%40ss",
    ),
    (
        "restic-already-redacted",
        'client.Head: Head "http://user:***@127.0.0.1:1/repo/config": connection refused',
        ESCAPED,
        'client.Head: Head "http://user:***@127.0.0.1:1/repo/config": connection refused',
        "p@ss",
    ),
    (
        "another-url-in-the-message",
        "proxy https://proxy-user:proxy-pass@proxy:3128 refused",
        "/mnt/offsite",
        "proxy https://proxy-user:***@proxy:3128 refused",
        "proxy-pass",
    ),
    (
        "no-repository-known",
        'parse "https://u:secret@host/": bad',
        "",
        'parse "https://u:***@host/": bad',
        "secret",
    ),
    (
        "nothing-to-hide",
        "Fatal: wrong password or no key found",
        "sftp:restic@store:/srv/restic/flower",
        "Fatal: wrong password or no key found",
        None,
    ),
    ("empty-message", "", S3, "", None),
]


@pytest.mark.parametrize(
    ("message", "repository", "shown", "secret"), [r[1:] for r in MESSAGE_ROWS], ids=[r[0] for r in MESSAGE_ROWS]
)
def test_a_message_is_shown_without_the_repositorys_password(
    message: str, repository: str, shown: str, secret: str | None
) -> None:
    assert redact(message, repository) == shown
    if secret:
        assert secret not in redact(message, repository)


# --- the validation's messages show the repository redacted ------------------------------


def variables(**given: Any) -> dict[str, Any]:
    """The role's defaults, restore_from rendered, and GIVEN (without the prefix)."""
    defaults = yaml.safe_load((ROOT / "roles/flower_offsite_backup/defaults/main.yml").read_text())
    defaults["flower_offsite_backup_restore_from"] = "sl1"
    return {
        **defaults,
        "flower_offsite_backup_password": "x",
        **{f"flower_offsite_backup_{k}": v for k, v in given.items()},
    }


VALIDATION_ROWS = [
    # id, repository, the message it gets
    ("space", "rest:https://user:se cret@host/r", 'repository="rest:https://user:***@host/r" contains a space'),
    ("not-restic", "ftp://user:secret@host/r", 'repository="ftp://user:***@host/r" is not a restic repository'),
    ("sftp-url-no-path", "sftp://user:secret@host", 'repository="sftp://user:***@host" must be sftp:[user@]host'),
    ("control", "rest:https://user:secret\n@host/", 'repository="rest:https://user:***@host/" contains a newline'),
    ("list", ["rest:https://user:secret@host/r"], 'repository=["rest:https://user:***@host/r"] must be a string'),
    ("dict", {"url": "s3:https://K:secret@h/b"}, 'repository={"url": "s3:https://K:***@h/b"} must be a string'),
]


@pytest.mark.parametrize(("repository", "said"), [r[1:] for r in VALIDATION_ROWS], ids=[r[0] for r in VALIDATION_ROWS])
def test_a_refused_repository_is_shown_without_its_password(repository: Any, said: str) -> None:
    errors = config_errors(variables(repository=repository))
    assert any(e.startswith("flower_offsite_backup_" + said) for e in errors), errors
    assert not [e for e in errors if "secret" in e]


def test_a_valid_repository_with_a_password_is_accepted() -> None:
    assert config_errors(variables(repository="rest:https://user:secret@host:8000/repo")) == []


def messages() -> list[tuple[str, str, str]]:
    """(file, task, text) of every message a task of the role writes, with the task's vars."""
    found = []
    for path in sorted((ROOT / "roles" / "flower_offsite_backup" / "tasks").glob("*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            for module, key in (("fail", "msg"), ("debug", "msg"), ("assert", "fail_msg")):
                text = (task.get(f"ansible.builtin.{module}") or {}).get(key)
                if text:
                    found.append(
                        (path.name, task["name"], text + " ".join(map(str, (task.get("vars") or {}).values())))
                    )
    return found


MESSAGES = messages()
# What may carry the repository's credentials: the repository itself, and what the agent said
# (its commands' results, with restic's words; the probe's message).
UNTRUSTED = re.compile(
    r"\bflower_offsite_backup_repository\b|__flower_offsite_backup_(?:snapshots|fetch|probe)\b"
    r"|_flower_offsite_backup_probe\.message"
)


@pytest.mark.parametrize(("path", "task", "text"), MESSAGES, ids=[f"{p}:{t}" for p, t, _ in MESSAGES])
def test_every_message_of_the_role_shows_the_repository_redacted(path: str, task: str, text: str) -> None:
    """Each {{ }} of a message that writes the repository or restic's words passes restic_redact."""
    for expression in re.findall(r"\{\{(.*?)\}\}", text, flags=re.DOTALL):
        if UNTRUSTED.search(expression):
            assert "flower_iac.federation.restic_redact" in expression, expression


def test_the_role_has_messages_that_need_redaction() -> None:
    assert len([m for m in MESSAGES if "restic_redact" in m[2] or "_repository_shown" in m[2]]) >= 5


# --- a repository on a local path ---------------------------------------------------------

SUPERLINK_PATHS = {
    "flower_superlink_state_dir": "/var/lib/flower-superlink",
    "flower_superlink_backup_dir": "/var/backups/flower-superlink",
    "flower_superlink_config_dir": "/etc/flower-superlink",
}
LOCAL_ROWS = [
    # id, repository, the messages (without the variable's prefix); [] accepted
    ("a-mounted-disk", "/mnt/backup/flower", []),
    ("a-mount-point-itself", "/mnt/flower-restic", []),
    ("removable-media", "/media/usb0/restic", []),
    ("srv", "/srv/restic/flower", []),
    ("var-backups-own-dir", "/var/backups/restic-flower", []),
    ("mnt-itself", "/mnt", ['repository="/mnt" is inside /mnt, which belongs to the system or another program']),
    (
        "media-itself",
        "/media",
        ['repository="/media" is inside /media, which belongs to the system or another program'],
    ),
    ("mnt-trailing-slash", "/mnt/", ['repository="/mnt/" must be normalised']),
    ("mnt-dot-dot", "/mnt/../etc/x", ['repository="/mnt/../etc/x" must be normalised']),
    ("mnt-double-slash", "/mnt//x", ['repository="/mnt//x" must be normalised']),
    ("mnt-a-space", "/mnt/a b", ['repository="/mnt/a b" contains a space']),
    ("mnt-a-percent", "/mnt/a%n", ['repository="/mnt/a%n" may only contain letters']),
    ("mnt-a-colon", "/mnt/a:b", ['repository="/mnt/a:b" may only contain letters']),
    ("a-look-alike-of-mnt", "/mntx/restic", []),
    ("srv-itself", "/srv", ['repository="/srv" is a shared system directory']),
    ("home", "/home/backup/restic", ['repository="/home/backup/restic" is inside /home']),
    ("tmp", "/tmp/restic", ['repository="/tmp/restic" is inside /tmp']),
    ("run", "/run/restic", ['repository="/run/restic" is inside /run']),
    ("root", "/", ['repository="/" may only contain letters']),
    (
        "the-state-directory",
        "/var/lib/flower-superlink",
        ['repository="/var/lib/flower-superlink" and flower_superlink_state_dir="/var/lib/flower-superlink" must be'],
    ),
    (
        "inside-the-state-directory",
        "/var/lib/flower-superlink/restic",
        ['repository="/var/lib/flower-superlink/restic" and flower_superlink_state_dir='],
    ),
    (
        "inside-the-backups",
        "/var/backups/flower-superlink/restic",
        ['repository="/var/backups/flower-superlink/restic" and flower_superlink_backup_dir='],
    ),
    (
        "holding-the-config",
        "/etc",
        ['repository="/etc" is a shared system directory'],
    ),
    (
        "inside-its-own-cache",
        "/var/cache/flower-offsite-backup/repo",
        ['repository="/var/cache/flower-offsite-backup/repo" and flower_offsite_backup_cache_dir='],
    ),
    (
        "inside-its-own-config",
        "/etc/flower-offsite-backup/repo",
        ['repository="/etc/flower-offsite-backup/repo" and flower_offsite_backup_config_dir='],
    ),
]


@pytest.mark.parametrize(("repository", "said"), [r[1:] for r in LOCAL_ROWS], ids=[r[0] for r in LOCAL_ROWS])
def test_a_repository_on_a_local_path(repository: str, said: list[str]) -> None:
    """A directory of its own, on a mounted disk (/mnt, /media) or where the
    roles' directories may be; never inside what it backs up or the roles' own."""
    errors = config_errors(variables(repository=repository), SUPERLINK_PATHS)
    assert len(errors) == len(said), errors
    for error, start in zip(errors, said, strict=True):
        assert error.startswith("flower_offsite_backup_" + start), errors


def render_unit(command: str, repository: str) -> dict[str, list[str]]:
    """backup.service.j2 rendered as Ansible renders templates (trim_blocks),
    as {directive: [values]}; a line that is neither a section, a comment nor
    a directive fails the test."""
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["dirname"] = os.path.dirname
    text = env.from_string((ROOT / "roles/flower_offsite_backup/templates/backup.service.j2").read_text()).render(
        ansible_managed="managed",
        item={"command": command},
        _flower_offsite_backup_command=["/usr/bin/python3"],
        _flower_offsite_backup_agent="/usr/local/lib/flower-offsite-backup/agent.py",
        _flower_offsite_backup_agent_config="/etc/flower-offsite-backup/agent.json",
        flower_offsite_backup_on_failure="",
        flower_offsite_backup_cache_dir="/var/cache/flower-offsite-backup",
        flower_offsite_backup_metrics_dir="/var/lib/node-exporter",
        flower_offsite_backup_repository=repository,
        flower_superlink_backup_dir="/var/backups/flower-superlink",
        flower_superlink_state_dir="/var/lib/flower-superlink",
        flower_superlink_lock_path="/run/lock/flower-superlink/lock",
    )
    directives: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or re.fullmatch(r"\[[A-Za-z]+\]", line):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z]+", key), f"not a directive: {line!r}"
        directives.setdefault(key, []).append(value)
    return directives


CACHE, METRICS = "/var/cache/flower-offsite-backup", "/var/lib/node-exporter"
STATE = ["/var/backups/flower-superlink", "/var/lib/flower-superlink", "/run/lock/flower-superlink"]
WRITABLE_ROWS = [
    # (id, command, repository, every path its unit may write, in order)
    ("backup-local", "backup", "/mnt/restic", [CACHE, *STATE, METRICS, "-/mnt/restic"]),
    ("check-local", "check", "/mnt/restic", [CACHE, METRICS, "-/mnt/restic"]),
    ("backup-rest", "backup", "rest:https://store:8000/sl1", [CACHE, *STATE, METRICS]),
    ("check-rest", "check", "rest:https://store:8000/sl1", [CACHE, METRICS]),
    ("check-sftp", "check", "sftp:backup@store:/srv/restic", [CACHE, METRICS]),
    ("check-space", "check", "/mnt/my disk/restic", [CACHE, METRICS, "-/mnt/my disk/restic"]),
    ("check-quote", "check", '/mnt/a"b%c$d', [CACHE, METRICS, '-/mnt/a"b%%c$$d']),
]


@pytest.mark.parametrize(
    ("command", "repository", "paths"), [r[1:] for r in WRITABLE_ROWS], ids=[r[0] for r in WRITABLE_ROWS]
)
def test_the_backup_units_may_write_to_a_local_repository_only(command: str, repository: str, paths: list[str]) -> None:
    """ProtectSystem=strict leaves everything else read-only, the repository
    included: the backup and check units list a local one ("-": a disk that is
    not mounted lets restic say so), each path one quoted absolute word."""
    directives = render_unit(command, repository)
    written = [path for value in directives["ReadWritePaths"] for path in shlex.split(value)]
    assert written == paths


APPEND_ONLY_ROWS = [
    # (id, repository, append_only, the start of each error)
    ("rest-https", "rest:https://sl1:pw@store:8000/sl1/", True, []),
    ("rest-http", "rest:http://store:8000/sl1/", True, []),
    ("rest-string-true", "rest:https://store:8000/sl1/", "true", []),
    ("sftp", "sftp:restic@store:/srv/restic", True, ["append_only=true needs a rest: repository"]),
    ("local", "/mnt/restic", True, ["append_only=true needs a rest: repository"]),
    ("s3", "s3:https://s3.example.org/bucket", True, ["append_only=true needs a rest: repository"]),
    ("local-off", "/mnt/restic", False, []),
    ("string-yes", "/mnt/restic", "yes", ['append_only="yes" needs a rest: repository']),
    # Every spelling the role reads as true (strict_bool) is held to the rule.
    ("string-True", "/mnt/restic", "True", ['append_only="True" needs a rest: repository']),
    ("string-ON-sftp", "sftp:restic@store:/srv/restic", "ON", ['append_only="ON" needs a rest: repository']),
    ("string-false", "/mnt/restic", "false", []),
    ("int-1", "/mnt/restic", 1, ["append_only=1 needs a rest: repository"]),
    ("string-with-space", "/mnt/restic", " true", ["append_only="]),
    ("not-a-bool", "rest:https://store:8000/sl1/", "sometimes", ["append_only="]),
    ("no-repository", "", True, []),
]


@pytest.mark.parametrize(
    ("repository", "append_only", "said"), [r[1:] for r in APPEND_ONLY_ROWS], ids=[r[0] for r in APPEND_ONLY_ROWS]
)
def test_append_only_needs_a_server_that_refuses_deletions(repository: str, append_only: Any, said: list[str]) -> None:
    """A promise no server keeps is refused: on a local path, SFTP or an object
    store the host's own credentials delete what they wrote."""
    extra = {}
    if repository.startswith("sftp:"):
        extra = {
            "sftp_private_key_content": "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n",
            "sftp_known_hosts": ["s ssh-ed25519 AAAA"],
        }
    errors = config_errors(variables(repository=repository, append_only=append_only, **extra), SUPERLINK_PATHS)
    assert len(errors) == len(said), errors
    for error, start in zip(errors, said, strict=True):
        assert error.startswith("flower_offsite_backup_" + start), errors


GOOD = {"name": "sl1", "repository": "/srv/restic/sl1", "password": "pw"}
MAINTAINED_ROWS = [
    # (id, maintained_repositories, the start of each error)
    ("none", [], []),
    ("local", [GOOD], []),
    ("mounted", [{**GOOD, "repository": "/mnt/disk/sl1"}], []),
    ("rest", [{**GOOD, "repository": "rest:https://admin:pw@store:8000/sl1/"}], []),
    ("s3-env", [{**GOOD, "repository": "s3:https://s3.example.org/b", "environment": {"AWS_ACCESS_KEY_ID": "k"}}], []),
    ("two", [GOOD, {**GOOD, "name": "sl2", "repository": "/srv/restic/sl2"}], []),
    (
        "same-name",
        [GOOD, {**GOOD, "repository": "/srv/restic/sl2"}],
        ['maintained_repositories[1].name="sl1" is given twice'],
    ),
    ("not-a-dict", ["sl1"], ["maintained_repositories=<hidden> item 0 is not a dict"]),
    ("unknown-key", [{**GOOD, "keep_daily": 3}], ["maintained_repositories=<hidden> item 0 has unknown keys"]),
    ("name-upper", [{**GOOD, "name": "SL1"}], ['maintained_repositories[0].name="SL1" must be lower-case']),
    ("name-slash", [{**GOOD, "name": "../sl1"}], ['maintained_repositories[0].name="../sl1" must be']),
    ("name-percent", [{**GOOD, "name": "sl%n"}], ['maintained_repositories[0].name="sl%n" must be']),
    ("name-missing", [{"repository": "/srv/restic/sl1", "password": "pw"}], ["maintained_repositories[0].name=null"]),
    ("name-long", [{**GOOD, "name": "a" * 24}], ["maintained_repositories[0].name="]),
    (
        "sftp",
        [{**GOOD, "repository": "sftp:restic@store:/srv/restic"}],
        ['maintained_repositories[0].repository="sftp:restic@store:/srv/restic" over SFTP'],
    ),
    ("relative", [{**GOOD, "repository": "restic/sl1"}], ['maintained_repositories[0].repository="restic/sl1" is not']),
    (
        "system-dir",
        [{**GOOD, "repository": "/etc/apt/restic"}],
        ['maintained_repositories[0].repository="/etc/apt/restic"'],
    ),
    ("srv-itself", [{**GOOD, "repository": "/srv"}], ['maintained_repositories[0].repository="/srv" is a shared']),
    (
        "dotdot",
        [{**GOOD, "repository": "/srv/restic/../x"}],
        ['maintained_repositories[0].repository="/srv/restic/../x" must be normalised'],
    ),
    (
        "space",
        [{**GOOD, "repository": "/srv/my restic"}],
        ['maintained_repositories[0].repository="/srv/my restic" must be'],
    ),
    ("newline", [{**GOOD, "repository": "/srv/restic\n/x"}], ["maintained_repositories[0].repository="]),
    ("empty-repo", [{**GOOD, "repository": ""}], ['maintained_repositories[0].repository="" must be']),
    ("no-password", [{**GOOD, "password": ""}], ["maintained_repositories[0].password is required"]),
    ("password-newline", [{**GOOD, "password": "a\nb"}], ["maintained_repositories[0].password contains a newline"]),
    ("password-int", [{**GOOD, "password": 123}], ["maintained_repositories[0].password is required"]),
    (
        "env-reserved",
        [{**GOOD, "environment": {"RESTIC_PASSWORD": "x"}}],
        ['maintained_repositories[0].environment may not set "RESTIC_PASSWORD"'],
    ),
    ("env-not-dict", [{**GOOD, "environment": ["A=b"]}], ["maintained_repositories[0].environment must be a dict"]),
    (
        "env-newline",
        [{**GOOD, "environment": {"AWS_SECRET_ACCESS_KEY": "a\nb"}}],
        ["maintained_repositories[0].environment value of AWS_SECRET_ACCESS_KEY"],
    ),
]


@pytest.mark.parametrize(("maintained", "said"), [r[1:] for r in MAINTAINED_ROWS], ids=[r[0] for r in MAINTAINED_ROWS])
def test_each_maintained_repository_is_checked(maintained: list[Any], said: list[str]) -> None:
    errors = config_errors(variables(maintained_repositories=maintained), SUPERLINK_PATHS)
    assert len(errors) == len(said), errors
    for error, start in zip(errors, said, strict=True):
        assert error.startswith("flower_offsite_backup_" + start), errors


def test_a_maintained_repositorys_password_never_shows() -> None:
    """Its address with credentials, refused for another reason, is shown redacted."""
    errors = config_errors(
        variables(maintained_repositories=[{**GOOD, "repository": "sftp://admin:s3cret@store/x"}]), SUPERLINK_PATHS
    )
    assert errors
    assert not any("s3cret" in error for error in errors), errors


# flower_offsite_backup_restore_replaces_machine as typed with -e: a boolean spelling, or refused.
REPLACES_MACHINE_ROWS = [
    # id, value, refused
    ("true", True, False),
    ("string-false", "false", False),
    ("string-yes", "yes", False),
    ("string-ON", "ON", False),
    ("string-0", "0", False),
    ("typo", "flase", True),
    ("empty", "", True),
    ("sentence", "yes please", True),
    ("leading-space", " true", True),
    ("newline", "true\n", True),
    ("percent", "%n", True),
    ("path", "/etc/passwd", True),
    ("number-2", 2, True),
    ("list", [True], True),
]


@pytest.mark.parametrize(
    ("value", "refused"), [r[1:] for r in REPLACES_MACHINE_ROWS], ids=[r[0] for r in REPLACES_MACHINE_ROWS]
)
def test_restore_replaces_machine_takes_only_a_boolean(value: Any, refused: bool) -> None:
    errors = config_errors(variables(repository="/mnt/restic", restore_replaces_machine=value))
    named = [e for e in errors if e.startswith("flower_offsite_backup_restore_replaces_machine")]
    assert bool(named) == refused, errors
