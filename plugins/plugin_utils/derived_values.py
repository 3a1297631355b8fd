"""Values the roles' tasks and templates derive from validated variables.

A strict boolean, a ``docker --publish`` value, whether an address is the
wildcard, a certificate's subject alternative names: small conversions that
run after validation and must give the same answer every run (so a rerun
changes nothing).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ansible_collections.flower_iac.federation.plugins.plugin_utils.validation import HOSTNAME_RE, as_bool, is_ip


def to_bool(value: Any) -> bool:
    """A validated boolean value as a real boolean (no deprecated coercion)."""
    result = as_bool(value)
    if result is None:
        raise ValueError(f"not a boolean: {value!r}")
    return result


def docker_publish(address: str, host_port: Any, container_port: Any) -> str:
    """A --publish value; IPv6 addresses in brackets."""
    ip = ipaddress.ip_address(address)
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"{host}:{int(host_port)}:{int(container_port)}"


def is_wildcard(address: str) -> bool:
    return ipaddress.ip_address(address).is_unspecified


def tls_names(names: list[Any], addresses: list[Any], extra: list[str]) -> list[str]:
    """Subject alternative names for a generated server certificate: every
    name and address a client of this host may dial (an address as IP:, a name
    as DNS:; link-local addresses are not dialable without a zone, so left
    out), then the operator's extras; without repeats. The host's addresses
    are sorted: the order they are reported in changes between boots, and a
    reordered list would make a new certificate (and a restart) each time."""
    sans: list[str] = []
    ordered = sorted(
        (a for a in addresses if is_ip(a)), key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a))
    )
    for value in [*names, *ordered]:
        if not isinstance(value, str) or not value:
            continue
        if is_ip(value):
            ip = ipaddress.ip_address(value)
            if ip.is_link_local:
                continue
            sans.append(f"IP:{ip}")
        elif HOSTNAME_RE.match(value):
            sans.append(f"DNS:{value.lower()}")
    sans.extend(extra)
    return list(dict.fromkeys(sans))
