"""Credentials written into a restic repository's address, kept out of every message.

restic takes a password in the address itself for some backends
(``rest:https://user:secret@host:8000/repo``) and an operator may write one
where restic would not read it (``s3:https://KEY:SECRET@host/bucket``,
``rclone::s3,secret_access_key=...:bucket``). restic echoes the address in
its own errors, sometimes as given ("Is there a repository at the following
location? s3:http://KEY:SECRET@..."), sometimes with the password
percent-decoded or re-encoded. ``redact`` is the one function the
flower_offsite_backup role uses for all of that: on the controller (filter
``restic_redact``, for the tasks' messages and the validation's) and on the
host, where the backup agent imports this file from beside itself (the role
installs it there).

Standard library only, and nothing from the rest of the collection: the
host-side agent loads it by its bare name.

What is hidden: the password of a URL's userinfo (``user:***@host``, as
restic's own messages write it; a userinfo with an empty password is written
the same way, so the message does not tell that it is empty), every value of
an rclone connection string, and the piece of an address that Go's url
package quotes when it cannot read it. The user, host, port and path
stay, so the message still says which repository. Where the address is
ambiguous (a password with an unescaped ``/`` or ``@``, an ``@`` in a path)
more is hidden rather than less.
"""

from __future__ import annotations

import re
import urllib.parse

MASK = "***"
# A URL in free text: scheme://, then everything up to a space or a quote.
URL_IN_TEXT_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^\s\"'`<>]*)")
# rclone's connection strings: rclone:remote,param=value,...:path or rclone::backend,param=value:path.
RCLONE_IN_TEXT_RE = re.compile(r"rclone:(?:\"[^\"]*\"|'[^']*'|[^\s\"'`<>])*")
# Go's url.Parse quotes a piece of the address it cannot read, which may be a piece of the
# password (restic 0.14, "user:s3/cr@t@host": 'invalid port ":s3" after host').
GO_URL_PIECE_RE = re.compile(r'(invalid (?:port|URL escape|character) )"(?:[^"\\]|\\.)*"')
RCLONE_PARAM_RE = re.compile(r"(,[A-Za-z0-9_-]+=)(\"[^\"]*\"|'[^']*'|[^,:\s\"'`<>]*)")


def _mask_url(scheme: str, rest: str) -> tuple[str, str]:
    """SCHEME://REST with its password hidden, and the password ("" when there is none).

    The userinfo ends at the last ``@``: a password may hold an ``@`` or a
    ``/`` (restic needs them percent-escaped; an operator may not have), and
    an ``@`` in a path only hides more than it needs to.
    """
    at = rest.rfind("@")
    if at < 0 or ":" not in rest[:at]:
        return scheme + rest, ""
    user, password = rest[:at].split(":", 1)
    return f"{scheme}{user}:{MASK}@{rest[at + 1 :]}", password


def _mask_sftp_short(repository: str) -> tuple[str, str]:
    """sftp:user@host:/path takes no password; sftp:user:password@host:/path is hidden anyway.

    The userinfo is what comes before the last ``@`` in front of the path
    (the first ``:/``); a path alone (``sftp:host:/srv/a@b``) has none.
    """
    body = repository[len("sftp:") :]
    path_at = body.find(":/")
    head = body if path_at < 0 else body[:path_at]
    at = head.rfind("@")
    if at < 0 or ":" not in head[:at]:
        return repository, ""
    user, password = head[:at].split(":", 1)
    return f"sftp:{user}:{MASK}@{body[at + 1 :]}", password


def _mask_rclone(text: str) -> tuple[str, list[str]]:
    """Every value of an rclone connection string's parameters hidden, and the values."""
    values = [m.group(2) for m in RCLONE_PARAM_RE.finditer(text)]
    return RCLONE_PARAM_RE.sub(lambda m: m.group(1) + MASK, text), [v.strip("\"'") for v in values]


def _mask_repository(repository: str) -> tuple[str, list[str]]:
    """The repository with its credentials hidden, and those credentials."""
    if repository.startswith("rclone:"):
        return _mask_rclone(repository)
    if "://" in repository:
        head, rest = repository.split("://", 1)
        shown, password = _mask_url(head + "://", rest)
    elif repository.startswith("sftp:"):
        shown, password = _mask_sftp_short(repository)
    else:  # a path, or b2:, azure:, gs:, swift:, s3:host/bucket: credentials only in the environment
        return repository, []
    return shown, [password] if password else []


def _spellings(secret: str) -> set[str]:
    """How a password may be written in a message: as given, percent-decoded, percent-encoded
    (all of it, or as Go's url package writes a userinfo)."""
    plain = urllib.parse.unquote(secret)
    forms = {secret, plain, *(urllib.parse.quote(plain, safe=safe) for safe in ("", "$&+,;=", "!$&'()*+,;="))}
    return {form for form in forms if form}


def _mask_urls(text: str) -> str:
    """Every scheme://user:password@ in TEXT, the pieces of an address Go's url package quotes,
    and every rclone connection string's values, hidden."""
    text = URL_IN_TEXT_RE.sub(lambda m: _mask_url(m.group(1), m.group(2))[0], text)
    text = GO_URL_PIECE_RE.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    return RCLONE_IN_TEXT_RE.sub(lambda m: _mask_rclone(m.group(0))[0], text)


def redact(text: object, repository: object = None) -> str:
    """TEXT with the credentials of REPOSITORY hidden; by default TEXT is the repository itself.

    A repository: its password replaced by ``***`` (``rest:https://user:***@host:8000/repo``).
    Any other text (restic's messages, an error): the repository written in it is shown so,
    its password hidden wherever else it appears (as given, percent-decoded or -encoded), and
    the password of every other ``scheme://user:password@`` in it too. None is "".
    """
    text = "" if text is None else str(text)
    if repository is None:
        return _mask_urls(_mask_repository(text)[0])
    repository = str(repository)
    shown, hidden = _mask_repository(repository)
    # The longest first (a password that holds another's spelling is hidden whole), then by text.
    forms = sorted({form for secret in hidden for form in _spellings(secret)}, key=lambda form: (-len(form), form))
    pieces = text.split(repository) if repository else [text]
    for index, piece in enumerate(pieces):
        for form in forms:
            piece = piece.replace(form, MASK)
        pieces[index] = piece
    return _mask_urls(shown.join(pieces))
