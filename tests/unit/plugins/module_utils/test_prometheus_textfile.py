"""The textfile writer the host-side agents share (plugins/module_utils/prometheus_textfile.py).

What node_exporter reads must parse (promtool check metrics, the Prometheus
project's own linter), every label value must come back as it went in, a
bad name must never reach the file, and the file is replaced atomically
without ever writing through a link someone planted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible_collections.flower_iac.federation.plugins.module_utils.prometheus_textfile import (
    Family,
    render,
    samples_of,
    write_atomically,
)

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian's prometheus) is not installed")


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, check=False)


# Label values an operator's names can carry, worst first.
LABEL_VALUES = [
    "",
    "plain",
    'quote " inside',
    "back\\slash",
    "new\nline",
    "trailing\\",
    "unicode: é 漢字",
    "{braces}=and,commas",
    '\\"',
]


@pytest.mark.parametrize("value", LABEL_VALUES, ids=repr)
def test_a_label_value_comes_back_as_it_went_in(value: str) -> None:
    family = Family("flower_superlink_up", "gauge", "Up.").add(1, service=value)
    parsed = samples_of(render([family]))
    assert parsed == {"flower_superlink_up": [({"service": value}, "1")]}


@needs_promtool
@pytest.mark.parametrize("value", LABEL_VALUES, ids=repr)
def test_promtool_accepts_every_label_value(value: str) -> None:
    family = Family("flower_superlink_runs", "gauge", "Runs by status.").add(3, status=value)
    checked = promtool_check(render([family], {"service": "flower-superlink"}))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_promtool_accepts_counters_gauges_empty_families_and_help_with_newlines() -> None:
    families = [
        Family("flower_superlink_runs_submitted_total", "counter", "Runs ever.\nSecond line \\ backslash.").add(5),
        Family("flower_superlink_database_size_bytes", "gauge", "Size.").add(4096),
        Family("flower_superlink_listed_runs", "gauge", "Nothing to report now."),
        Family("flower_superlink_probe_duration_seconds", "gauge", "Float.").add(0.125),
    ]
    checked = promtool_check(render(families, {"service": "s"}))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_promtool_is_not_a_rubber_stamp() -> None:
    """The check above can fail: a counter without _total is a lint error."""
    checked = promtool_check("# HELP x_bytes Size.\n# TYPE x_bytes counter\nx_bytes 1\n")
    assert checked.returncode != 0


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (0, "0"),
        (-1, "-1"),
        (2**53, str(2**53)),
        (0.5, "0.5"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (1e-9, "1e-09"),
    ],
    ids=repr,
)
def test_values_are_written_in_the_exposition_format(value: float, written: str) -> None:
    text = render([Family("m", "gauge", "h").add(value)])
    assert text.splitlines()[-1] == f"m {written}"


@pytest.mark.parametrize(
    ("name", "kind", "labels", "value", "error"),
    [
        ("1starts_with_digit", "gauge", {}, 1, "is not a metric name"),
        ("has-dash", "gauge", {}, 1, "is not a metric name"),
        ("has space", "gauge", {}, 1, "is not a metric name"),
        ("", "gauge", {}, 1, "is not a metric name"),
        ("__reserved", "gauge", {}, 1, "is not a metric name"),
        ("ok", "histogram", {}, 1, "is not one of"),
        ("ok_bytes", "counter", {}, 1, "must end in _total"),
        ("ok", "gauge", {"bad-label": "x"}, 1, "is not a label name"),
        ("ok", "gauge", {"__name__": "x"}, 1, "is not a label name"),
        ("ok", "gauge", {}, "1", "is not a number"),
        ("ok", "gauge", {}, True, "is not a number"),
        ("ok", "gauge", {}, None, "is not a number"),
    ],
)
def test_bad_names_types_and_values_are_refused(
    name: str, kind: str, labels: dict[str, str], value: object, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        Family(name, kind, "h").add(value, **labels)  # type: ignore[arg-type]


def test_a_name_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        render([Family("m", "gauge", "h"), Family("m", "gauge", "h")])


def test_the_file_is_replaced_whole_and_world_readable(tmp_path: Path) -> None:
    target = tmp_path / "flower-superlink.prom"
    target.write_text("old\n")
    write_atomically(str(target), "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flower-superlink.prom"]


def test_a_link_planted_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    target = tmp_path / "metrics" / "flower-superlink.prom"
    target.parent.mkdir()
    target.symlink_to(victim)
    write_atomically(str(target), "metrics\n")
    assert victim.read_text() == "precious\n"
    assert not target.is_symlink() and target.read_text() == "metrics\n"


def test_a_link_planted_at_the_temporary_name_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    (metrics / f".flower-superlink.prom.{os.getpid()}.tmp").symlink_to(victim)
    write_atomically(str(metrics / "flower-superlink.prom"), "metrics\n")
    assert victim.read_text() == "precious\n"
    assert (metrics / "flower-superlink.prom").read_text() == "metrics\n"
    assert sorted(p.name for p in metrics.iterdir()) == ["flower-superlink.prom"]


def test_a_directory_that_is_a_link_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "linked").symlink_to(real)
    with pytest.raises(OSError):
        write_atomically(str(tmp_path / "linked" / "flower-superlink.prom"), "x\n")
    assert list(real.iterdir()) == []


@pytest.mark.parametrize("name", ["", ".hidden.prom", ".prom", "metrics.txt", "metrics.prom/"])
def test_names_node_exporter_would_skip_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="is not a file name"):
        write_atomically(f"{tmp_path}/{name}", "x\n")
    assert list(tmp_path.iterdir()) == []


def test_a_relative_path_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a file name"):
        write_atomically("metrics.prom", "x\n")
