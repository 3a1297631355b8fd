"""What a machine already runs under other names than the inventory's.

A machine holds one SuperNode (its key pair and CA live in a fixed
directory). An inventory that renames a deployed SuperNode's unit or
container would start a second one beside the first, both with the same
key; the role refuses it before anything changes.
"""

from __future__ import annotations

import json
import posixpath

# The units and containers the role runs beside the SuperNode's own, named
# after it.
COMPANION_UNITS = ("-superexec", "-metrics")
COMPANION_CONTAINERS = ("-superexec",)


def deployed_as(name: str, suffixes: tuple[str, ...]) -> str:
    """The SuperNode's own name a unit or container of the role was made for."""
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def supernode_strangers(units: list[str], containers: list[str], service: str, container: str) -> list[str]:
    """One message per name the machine runs a SuperNode under that the
    inventory does not give. UNITS: paths of unit files the role wrote (its
    marker); CONTAINERS: names of containers with the role's label."""
    errors = []
    unit_names = sorted({posixpath.basename(u).removesuffix(".service") for u in units if isinstance(u, str)})
    ours = {service, *(service + s for s in COMPANION_UNITS)}
    for other in sorted({deployed_as(u, COMPANION_UNITS) for u in unit_names if u not in ours}):
        errors.append(
            f"flower_supernode_service_name={json.dumps(service)}: this machine runs the SuperNode deployed as "
            f"{json.dumps(other)} (/etc/systemd/system/{other}.service). A machine holds one SuperNode and a "
            f"deployed one is never renamed: set it back to {json.dumps(other)}, or remove that SuperNode first "
            "(playbooks/decommission.yml with the name it was deployed under)."
        )
    names = sorted({c.lstrip("/") for c in containers if isinstance(c, str) and c.strip()})
    ours = {container, *(container + s for s in COMPANION_CONTAINERS)}
    for other in sorted({deployed_as(c, COMPANION_CONTAINERS) for c in names if c not in ours}):
        errors.append(
            f"flower_supernode_container_name={json.dumps(container)}: this machine runs the SuperNode's "
            f"container as {json.dumps(other)}. A deployed SuperNode is never renamed: set it back to "
            f"{json.dumps(other)}, or remove that SuperNode first (playbooks/decommission.yml)."
        )
    return errors
