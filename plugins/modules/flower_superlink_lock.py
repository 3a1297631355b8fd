#!/usr/bin/python
"""Ansible module: a host-side lock so operator playbooks never interleave."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flower_superlink_lock
short_description: Take or release the lock one SuperLink's playbooks share
version_added: 0.27.0
description:
  - >-
    A lock file created with O_EXCL holds who took it (token, playbook, controller
    user, time). A second playbook waits up to O(wait) seconds, then fails naming
    the holder. The holder's own token re-enters. O(force) takes over a lock left
    by a killed playbook. Releasing removes the file only when the token matches.
  - >-
    In check mode nothing is written; a lock held by another playbook still fails.
  - >-
    Taking it can also read, in the same round trip, the files and units the lock
    guards (O(paths), O(units)): no other playbook changes them until it is released.
options:
  path: {description: Lock file., type: path, required: true}
  state: {description: Take or release., type: str, choices: [acquired, released], default: acquired}
  token:
    description: >-
      Identifies this play. When taking the lock without one, the module makes
      one up and returns it (C(token)): the play passes it back to release.
    type: str
    default: ""
  holder: {description: What to tell a waiting playbook about this one., type: dict, default: {}}
  wait: {description: Seconds to wait for another holder., type: int, default: 60}
  force: {description: Take the lock whoever holds it., type: bool, default: false}
  paths:
    description: >-
      Once the lock is held, describe these paths (type, owner, group, mode, SHA-1):
      what the role's file tasks would look at, read under the lock in the same round trip.
    type: list
    elements: path
    default: []
  units:
    description: Once the lock is held, the state of these systemd units (with suffix).
    type: list
    elements: str
    default: []
  preflight:
    description: >-
      Once the lock is held, run flower_superlink_preflight's checks with these
      options (the same keys). On any problem the lock is released again (when
      this call took it) and the module fails with one line per problem; nothing
      else was changed. Checked under the lock, the host cannot change between
      the check and the play's first change.
    type: dict
extends_documentation_fragment:
  # The suboptions of preflight: flower_superlink_preflight's options.
  - flower_iac.federation.flower_superlink_preflight.lock
author: flower-iac maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Take the SuperLink's lock (waits up to 60 s for another playbook)
  flower_iac.federation.flower_superlink_lock:
    path: /run/lock/flower-superlink.ansible-lock
    holder:
      playbook: "{{ ansible_play_name }}"
    units: [flower-superlink.service]
  register: lock

- name: Release it at the end of the play
  flower_iac.federation.flower_superlink_lock:
    path: /run/lock/flower-superlink.ansible-lock
    token: "{{ lock.token }}"
    state: released
"""

RETURN = r"""
token: {description: The token that holds the lock (given or made up)., type: str, returned: when taking it}
paths: {description: Each path in O(paths) described., type: dict, returned: when taking it}
units: {description: Each unit in O(units) with its state., type: dict, returned: when taking it}
preflight: {description: What flower_superlink_preflight returns., type: dict, returned: when O(preflight) is given}
"""

import secrets
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_preflight import (
    ARGUMENT_SPEC as PREFLIGHT_SPEC,
)
from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_preflight import check_host
from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_state import (
    LockHeld,
    Refused,
    acquire_lock,
    describe_path,
    release_lock,
    unit_states,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["acquired", "released"], "default": "acquired"},
            "token": {"type": "str", "default": "", "no_log": False},
            "holder": {"type": "dict", "default": {}},
            "wait": {"type": "int", "default": 60},
            "force": {"type": "bool", "default": False},
            "paths": {"type": "list", "elements": "path", "default": []},
            "units": {"type": "list", "elements": "str", "default": []},
            "preflight": {"type": "dict", "options": PREFLIGHT_SPEC},
        },
        supports_check_mode=True,
    )
    p = module.params
    path = Path(p["path"])
    try:
        if p["state"] == "released":
            if not p["token"]:
                module.fail_json(msg="releasing the lock needs the token that took it")
            module.exit_json(changed=release_lock(path, p["token"], module.check_mode))
        token = p["token"] or secrets.token_hex(10)
        result = acquire_lock(path, token, p["holder"], p["wait"], p["force"], module.check_mode)
        if p["preflight"] is not None:
            try:
                result["preflight"], errors = check_host(p["preflight"])
            except Exception as err:  # noqa: BLE001 - a module reports, never tracebacks
                errors = [f"preflight checks could not run: {type(err).__name__}: {err}"]
            if errors:
                # A lock this call took is released at once; one the play held
                # already stays with it (the token is returned for its unlock).
                if result["changed"]:
                    release_lock(path, token, module.check_mode)
                    module.fail_json(msg="\n".join(errors), errors=errors)
                module.fail_json(msg="\n".join(errors), errors=errors, token=token)
        result["token"] = token
        result["paths"] = {item: describe_path(item) for item in p["paths"]}
        result["units"] = unit_states(p["units"])
        module.exit_json(**result)
    except LockHeld as held:
        module.fail_json(
            msg=(
                f"Another playbook is working on this SuperLink ({held}); waited "
                f"{p['wait']} s for it (flower_superlink_lock_wait). Nothing was changed. Run again when it "
                f"has finished. If it was killed and none is running, remove {path} or re-run with "
                "-e flower_superlink_lock_break=true."
            ),
            holder=held.held,
        )
    except Refused as err:
        module.fail_json(msg=f"{err} Nothing was changed.")
    except OSError as err:
        module.fail_json(msg=f"lock {path}: {type(err).__name__}: {err}")


if __name__ == "__main__":
    main()
