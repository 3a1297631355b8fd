#!/usr/bin/python
"""Ansible module: the health gate's wait, on the host, failing fast on a crash loop."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flower_superlink_health
short_description: Wait until the SuperLink answers, or fail as soon as it keeps dying
version_added: 0.27.0
description:
  - >-
    Runs O(argv) in the container (C(docker exec)), or on the host with O(on_host)
    (C(python) as the first word is then this module's own interpreter), until it exits 0, at most
    O(retries) times, O(delay) seconds apart. Exit 2 (the SuperLink answered
    with an error twice) fails at once: waiting longer cannot help.
  - >-
    Between attempts it asks systemd how the unit fares. When the unit has
    restarted O(crash_restarts) times since the wait began (the SuperLink exits
    at start, e.g. Flower refusing a database, and C(Restart=always) starts it
    again), or the unit is not running at all, it fails at once instead of
    waiting out every retry.
  - >-
    One round trip for the whole wait: Ansible's own C(until) loop would cost
    one per attempt.
options:
  container: {description: The SuperLink's container., type: str, required: true}
  unit: {description: Its systemd unit (with suffix)., type: str, required: true}
  argv: {description: The probe to run (in the container or on the host)., type: list, elements: str, required: true}
  on_host:
    description:
      - Run O(argv) on the host rather than in the container, e.g. to ask the SuperLink
        through the proxy on its public Control address, as the C(flwr) CLI does.
    type: bool
    default: false
  retries: {description: Attempts at most., type: int, default: 30}
  delay: {description: Seconds between attempts., type: float, default: 2}
  crash_restarts: {description: Automatic restarts during the wait that mean a crash loop., type: int, default: 2}
author: flower-iac maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Wait until the SuperLink answers its Control API, or fail on a crash loop
  flower_iac.federation.flower_superlink_health:
    container: flower-superlink
    unit: flower-superlink.service
    argv: [python, -c, "import socket; socket.create_connection(('127.0.0.1', 9093), 2)"]
    retries: 30
    delay: 2
"""

RETURN = r"""
stdout: {description: The probe's answer (JSON) or its last output., type: str, returned: always}
stderr: {description: The probe's last error output., type: str, returned: always}
rc: {description: The probe's last exit code., type: int, returned: always}
attempts: {description: Probes run., type: int, returned: always}
"""

import subprocess
import sys
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_state import systemctl_show


def unit_state(unit: str) -> dict[str, str]:
    return systemctl_show(unit, ["NRestarts", "ActiveState", "SubState"])


def restarts(state: dict[str, str]) -> int:
    try:
        return int(state.get("NRestarts", "0") or 0)
    except ValueError:
        return 0


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "container": {"type": "str", "required": True},
            "unit": {"type": "str", "required": True},
            "argv": {"type": "list", "elements": "str", "required": True},
            "retries": {"type": "int", "default": 30},
            "delay": {"type": "float", "default": 2},
            "crash_restarts": {"type": "int", "default": 2},
            "on_host": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["on_host"]:
        argv = [sys.executable if p["argv"][:1] == ["python"] else p["argv"][0], *p["argv"][1:]]
    else:
        argv = ["docker", "exec", p["container"], *p["argv"]]
    base = restarts(unit_state(p["unit"]))
    result: dict[str, object] = {"changed": False, "stdout": "", "stderr": "", "rc": -1, "attempts": 0}
    for attempt in range(1, max(p["retries"], 1) + 1):
        try:
            probe = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
            out, err, rc = probe.stdout.strip(), probe.stderr.strip(), probe.returncode
        except subprocess.TimeoutExpired:
            out, err, rc = "", "the probe did not finish within 60 s", -1
        result.update(stdout=out, stderr=err, rc=rc, attempts=attempt)
        if rc == 0:
            module.exit_json(**result)
        if rc == 2:
            module.fail_json(msg="the SuperLink answered with an error", **result)
        state = unit_state(p["unit"])
        crashed = restarts(state) - base
        if crashed >= p["crash_restarts"]:
            module.fail_json(
                # No exit status here: by now systemd reports the next start's.
                # The journal tail in the failure message has Flower's own words.
                msg=f"{p['unit']} exited {crashed} times while the gate waited: it does not stay up",
                **result,
            )
        if state.get("ActiveState") in ("inactive", "failed") and state.get("SubState") != "auto-restart":
            module.fail_json(msg=f"{p['unit']} is not running ({state.get('ActiveState')})", **result)
        if attempt < p["retries"]:
            time.sleep(p["delay"])
    module.fail_json(msg=f"no answer after {p['retries']} attempts, {p['delay']:g} s apart", **result)


if __name__ == "__main__":
    main()
