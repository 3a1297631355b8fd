# Metrics for node_exporter's textfile collector: rendered in Prometheus's
# text exposition format and replaced atomically, never through a link.
#
# Standard library only: the host-side agents (the SuperLink's metrics
# collector, the off-host backup agent) load this file from beside
# themselves, where the roles install it.
from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Union

Number = Union[int, float]  # noqa: UP007 (an alias evaluated at import, on Pythons before 3.10 too)

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "untyped")


class Family:
    """One metric: its name, type, help text and samples (labels, value)."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        if not NAME_RE.match(name) or name.startswith("__"):
            raise ValueError(f"{name!r} is not a metric name")
        if kind not in TYPES:
            raise ValueError(f"{kind!r} is not one of {', '.join(TYPES)}")
        if kind == "counter" and not name.endswith("_total"):
            raise ValueError(f"counter {name!r} must end in _total")
        self.name, self.kind, self.help_text = name, kind, help_text
        self.samples: list[tuple[dict[str, str], Number]] = []

    def add(self, value: Number, **labels: object) -> Family:
        for label in labels:
            if not LABEL_RE.match(label) or label.startswith("__"):
                raise ValueError(f"{label!r} is not a label name")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name}: {value!r} is not a number")
        self.samples.append(({k: str(v) for k, v in labels.items()}, value))
        return self


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def escape_label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: Number) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(value)


def render(families: Iterable[Family], common: Mapping[str, str] | None = None) -> str:
    """The exposition text; ``common`` labels go on every sample. A family
    without samples still gets its HELP and TYPE (the metric exists, nothing
    to report now). Names must be unique."""
    lines: list[str] = []
    seen: set[str] = set()
    for family in families:
        if family.name in seen:
            raise ValueError(f"{family.name} twice")
        seen.add(family.name)
        lines.append(f"# HELP {family.name} {escape_help(family.help_text)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            merged = {**(common or {}), **labels}
            inner = ",".join(f'{k}="{escape_label_value(v)}"' for k, v in sorted(merged.items()))
            lines.append(
                f"{family.name}{{{inner}}} {format_value(value)}" if inner else f"{family.name} {format_value(value)}"
            )
    return "\n".join(lines) + "\n"


def write_atomically(path: str, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text``: a new file beside it, renamed over it,
    so node_exporter never reads half a file. Neither the temporary file nor
    the target is followed if it is a symbolic link (a link planted at
    either is replaced or refused, never written through); the directory
    itself must be a real directory."""
    directory, name = os.path.split(path)
    # node_exporter reads only *.prom files, and skips none that is hidden.
    if not directory.startswith("/") or name.startswith(".") or not name.endswith(".prom") or name == ".prom":
        raise ValueError(f"{path!r} is not a file name such as /var/lib/prometheus/node-exporter/NAME.prom")
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        tmp = f".{name}.{os.getpid()}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=dir_fd)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fchmod(handle.fileno(), mode)
            os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
    finally:
        os.close(dir_fd)


def samples_of(text: str) -> dict[str, list[tuple[dict[str, str], str]]]:
    """Parse what render() writes (for tests and for reading a previous file):
    name -> [(labels, value)]."""
    found: dict[str, list[tuple[dict[str, str], str]]] = {}
    sample = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)\Z")
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = sample.match(line)
        if not match:
            raise ValueError(f"not a sample: {line!r}")
        labels = {
            k: v.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
            for k, v in label.findall(match.group(2) or "")
        }
        found.setdefault(match.group(1), []).append((labels, match.group(3)))
    return found
