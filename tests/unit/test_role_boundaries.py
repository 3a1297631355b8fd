"""Roles talk to each other, and playbooks to roles, only through documented
entry points and variables: every `tasks_from` names an entry point with an
argument spec, and nothing reads another role's private (`_role_…`) variables
or a public one its owner does not document."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

NAMESPACE = "flower_iac.federation"
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
SOURCES = sorted(
    p for d in ("roles", "playbooks") for p in (ROOT / d).rglob("*") if p.is_file() and p.suffix in (".yml", ".j2")
)


# Asked once per include and per file: parsed once.
@functools.cache
def entry_points(role: str) -> dict[str, dict]:
    specs: dict[str, dict] = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())[
        "argument_specs"
    ]
    return specs


def owner(path: Path) -> str:
    """The role a file belongs to, or "" for a playbook."""
    parts = path.relative_to(ROOT).parts
    return parts[1] if parts[0] == "roles" else ""


def code(path: Path) -> str:
    """The file without its comments (a comment may name anything)."""
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in path.read_text().splitlines())


INCLUDES = [
    (path, role, task)
    for path in SOURCES
    for role, task in re.findall(
        rf"name: {re.escape(NAMESPACE)}\.(\w+)\n(?:\s+#.*\n|\s+\w+: .*\n)*?\s+tasks_from: (\w+)", path.read_text()
    )
]


def test_includes_were_found() -> None:
    assert len(INCLUDES) > 20


@pytest.mark.parametrize(
    ("path", "role", "task"), INCLUDES, ids=[f"{p.relative_to(ROOT)}:{r}.{t}" for p, r, t in INCLUDES]
)
def test_every_tasks_from_is_a_documented_entry_point(path: Path, role: str, task: str) -> None:
    assert task in entry_points(role), f"{path.relative_to(ROOT)} includes {role} tasks_from {task}: no argument spec"
    assert (ROOT / "roles" / role / "tasks" / f"{task}.yml").is_file()


@pytest.mark.parametrize("role", ROLES)
def test_every_entry_point_has_its_tasks(role: str) -> None:
    for entry in entry_points(role):
        assert (ROOT / "roles" / role / "tasks" / f"{entry}.yml").is_file(), f"{role}: entry {entry} has no tasks"


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_no_private_variable_of_another_role(path: Path) -> None:
    mine = owner(path)
    foreign = sorted(
        {name for role in ROLES if role != mine for name in re.findall(rf"(?<![\w.])_{{1,2}}{role}_\w+", code(path))}
    )
    assert foreign == [], f"{path.relative_to(ROOT)} reads another role's private variables"


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(ROOT)) for p in SOURCES])
def test_public_variables_of_another_role_are_documented(path: Path) -> None:
    mine = owner(path)
    undocumented = []
    for role in ROLES:
        if role == mine:
            continue
        # Inputs in the argument specs; what a role sets for others, in its README.
        documented = {name for entry in entry_points(role).values() for name in entry.get("options") or {}}
        documented |= set(re.findall(rf"`({role}_\w+)`", (ROOT / "roles" / role / "README.md").read_text()))
        # Not file names such as flower_superlink_state.py.
        used = set(re.findall(rf"(?<![\w.]){role}_\w+\b(?!\.py)", code(path)))
        undocumented += sorted(used - documented)
    assert undocumented == []
