"""A SuperNode the machine runs under other names than the inventory's
(plugins/plugin_utils/deployed_names.py, the filter
flower_iac.federation.supernode_strangers). One row per case."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.flower_iac.federation.plugins.filter.flower_supernode import FilterModule
from ansible_collections.flower_iac.federation.plugins.plugin_utils.deployed_names import supernode_strangers

UNITS = "/etc/systemd/system"
SVC, CTR = "flower-supernode", "flower-supernode"


def unit(name: str) -> str:
    return f"{UNITS}/{name}.service"


def renamed_unit(deployed: str, wanted: str = SVC) -> str:
    return (
        f'flower_supernode_service_name="{wanted}": this machine runs the SuperNode deployed as "{deployed}" '
        f"({UNITS}/{deployed}.service)."
    )


def renamed_container(deployed: str, wanted: str = CTR) -> str:
    return f'flower_supernode_container_name="{wanted}": this machine runs the SuperNode\'s container as "{deployed}".'


def test_the_filter_is_this_function() -> None:
    assert FilterModule().filters()["supernode_strangers"] is supernode_strangers


CASES: list[tuple[str, list[Any], list[Any], str, str, list[str]]] = [
    # id, unit files with the role's marker, containers with its label, service, container, messages (starts)
    ("a-fresh-machine", [], [], SVC, CTR, []),
    ("deployed-as-configured", [unit(SVC)], [CTR], SVC, CTR, []),
    (
        "with-its-companions",
        [unit(SVC), unit(f"{SVC}-superexec"), unit(f"{SVC}-metrics")],
        [CTR, f"{CTR}-superexec"],
        SVC,
        CTR,
        [],
    ),
    ("a-leading-slash-from-docker", [unit(SVC)], [f"/{CTR}"], SVC, CTR, []),
    ("the-unit-renamed", [unit(SVC)], [CTR], "flower-node", CTR, [renamed_unit(SVC, "flower-node")]),
    (
        "renamed-with-companions-one-message",
        [unit(SVC), unit(f"{SVC}-superexec"), unit(f"{SVC}-metrics")],
        [],
        "flower-node",
        CTR,
        [renamed_unit(SVC, "flower-node")],
    ),
    ("only-a-companion-left", [unit(f"{SVC}-superexec")], [], "flower-node", CTR, [renamed_unit(SVC, "flower-node")]),
    ("the-container-renamed", [unit(SVC)], [CTR], SVC, "flower-node", [renamed_container(CTR, "flower-node")]),
    (
        "its-superexec-container-left",
        [],
        [f"{CTR}-superexec"],
        SVC,
        "flower-node",
        [renamed_container(CTR, "flower-node")],
    ),
    (
        "both-renamed",
        [unit(SVC)],
        [CTR],
        "node-b",
        "node-b",
        [renamed_unit(SVC, "node-b"), renamed_container(CTR, "node-b")],
    ),
    (
        "two-strangers-sorted",
        [unit("node-z"), unit("node-a")],
        [],
        SVC,
        CTR,
        [renamed_unit("node-a"), renamed_unit("node-z")],
    ),
    # A name that merely ends like a companion is a SuperNode of its own.
    ("a-name-ending-in-metrics", [unit("metrics")], [], SVC, CTR, [renamed_unit("metrics")]),
    ("the-bare-suffix-is-a-name", [unit("-superexec")], [], SVC, CTR, [renamed_unit("-superexec")]),
    # What the modules could return that is not a name: ignored, never a crash.
    ("not-strings", [None, 3], [None, "", " "], SVC, CTR, []),
    ("a-unit-of-another-suffix", [f"{UNITS}/{SVC}.timer"], [], SVC, CTR, [renamed_unit(f"{SVC}.timer")]),
]


@pytest.mark.parametrize(
    ("units", "containers", "service", "container", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_supernode_strangers(
    units: list[Any], containers: list[Any], service: str, container: str, expected: list[str]
) -> None:
    errors = supernode_strangers(units, containers, service, container)
    assert len(errors) == len(expected), errors
    for error, start in zip(errors, expected, strict=True):
        assert error.startswith(start), (error, start)
        assert "never renamed" in error
