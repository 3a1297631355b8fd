"""What flower_superlink_lock's probe of the role's paths says.

Under the lock the role reads, once, every path it may write (type, owner,
group, mode, a file's SHA-1). From that probe a task can tell, without
another round trip, whether its result is already in place (so it is
skipped, and a rerun changes nothing), and the switch's rescue knows what to
put back, and with which owner and mode, when a play fails half-way.
"""

from __future__ import annotations

import hashlib
from typing import Any


def in_place(
    probe: Any,
    path: str,
    kind: str = "file",
    owner: Any = None,
    group: Any = None,
    mode: Any = None,
    content: Any = None,
) -> bool:
    """Whether PATH, as flower_superlink_lock read it (PROBE is its ``paths``),
    already is what a file/copy task would make it: the type (KIND file,
    directory, or absent: nothing to do when it does not exist), the owner and
    group (a name or a number), the mode and, for a file, the content (its
    SHA-1, as Ansible's own checksum). Anything unknown counts as "not in
    place", so the task runs: an unread path, a probe that did not run."""
    entry = (probe or {}).get(path) if isinstance(probe, dict) else None
    if kind == "absent":  # nothing to do for a path that does not exist
        return not entry or not entry.get("exists")
    if not entry or not entry.get("exists") or entry.get("type") != kind:
        return False
    for want, number, name in ((owner, "uid", "owner"), (group, "gid", "group")):
        if want is not None and str(want) not in (str(entry.get(number)), entry.get(name)):
            return False
    try:
        if mode is not None and int(str(mode), 8) != int(str(entry.get("mode", "-1")), 8):
            return False
    except ValueError:  # not an octal string: let the task decide (and say so)
        return False
    if content is not None:
        data = content.encode() if isinstance(content, str) else bytes(content)
        if hashlib.sha1(data).hexdigest() != entry.get("sha1"):
            return False
    return True


def out_of_place(probe: Any, specs: list[dict[str, Any]]) -> list[str]:
    """The paths of SPECS (dicts of in_place's arguments: path, kind, owner,
    group, mode, content) that are not what their task would make them."""
    return [
        spec["path"]
        for spec in specs
        if not in_place(
            probe,
            spec["path"],
            spec.get("kind", "file"),
            spec.get("owner"),
            spec.get("group"),
            spec.get("mode"),
            spec.get("content"),
        )
    ]


def remembered(results: Any, probe: Any) -> list[dict[str, Any]]:
    """What remember.yml read (its slurp loop's RESULTS), as the rescue puts it
    back: path, content (base64) and the owner, group and mode the lock's
    probe saw; a path the probe found absent has no content (the rescue
    removes it). A path that could not be read and was not seen absent is
    left out: the rescue never removes what it cannot put back."""
    out = []
    for result in results or []:
        path = result.get("item")
        entry = (probe or {}).get(path) or {}
        if result.get("content") is None:
            if entry.get("exists") is False:
                out.append({"path": path})
            continue
        out.append(
            {
                "path": path,
                "content": result["content"],
                "owner": entry.get("uid", 0),
                "group": entry.get("gid", 0),
                "mode": entry.get("mode", "0600"),
            }
        )
    return out
