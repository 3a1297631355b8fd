#!/usr/bin/python3
"""Ansible module: a host-side lock so operator playbooks never interleave."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flower_superlink_lock
short_description: Take or release the lock one SuperLink's playbooks share
description:
  - A lock file created with O_EXCL holds who took it (token, playbook, controller
    user, time). A second playbook waits up to O(wait) seconds, then fails naming
    the holder. The holder's own token re-enters. O(force) takes over a lock left
    by a killed playbook. Releasing removes the file only when the token matches.
  - In check mode nothing is written; a lock held by another playbook still fails.
options:
  path: {description: Lock file., type: path, required: true}
  state: {description: Take or release., type: str, choices: [acquired, released], default: acquired}
  token: {description: Identifies this play., type: str, required: true}
  holder: {description: What to tell a waiting playbook about this one., type: dict, default: {}}
  wait: {description: Seconds to wait for another holder., type: int, default: 60}
  force: {description: Take the lock whoever holds it., type: bool, default: false}
author: flower-superlink-iac maintainers
"""

import json
import os
import time
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule


def read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["acquired", "released"], "default": "acquired"},
            "token": {"type": "str", "required": True, "no_log": False},
            "holder": {"type": "dict", "default": {}},
            "wait": {"type": "int", "default": 60},
            "force": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    p = module.params
    path = Path(p["path"])
    try:
        if p["state"] == "released":
            if read(path).get("token") == p["token"] and not module.check_mode:
                path.unlink(missing_ok=True)
                module.exit_json(changed=True)
            module.exit_json(changed=False)

        mine = {**p["holder"], "token": p["token"], "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        deadline = time.monotonic() + max(p["wait"], 0)
        waited = False
        while True:
            held = read(path) if path.exists() else None
            if held is not None and held.get("token") == p["token"]:
                module.exit_json(changed=False, waited=waited)
            if held is None or p["force"]:
                if module.check_mode:
                    module.exit_json(changed=held is None, waited=waited)
                if p["force"] and held is not None:
                    path.unlink(missing_ok=True)
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                except FileExistsError:
                    continue  # someone else was quicker: look again
                with os.fdopen(fd, "w") as fh:
                    json.dump(mine, fh)
                module.exit_json(changed=True, waited=waited, broke=held if p["force"] else None)
            if time.monotonic() >= deadline:
                who = ", ".join(f"{k}={held.get(k)}" for k in ("playbook", "user", "controller", "since") if k in held)
                module.fail_json(
                    msg=(
                        f"Another playbook is working on this SuperLink ({who or 'holder unknown'}); waited "
                        f"{p['wait']} s for it (flower_superlink_lock_wait). Nothing was changed. Run again when it "
                        f"has finished. If it was killed and none is running, remove {path} or re-run with "
                        "-e flower_superlink_lock_break=true."
                    ),
                    holder=held,
                )
            waited = True
            time.sleep(1)
    except OSError as err:
        module.fail_json(msg=f"lock {path}: {type(err).__name__}: {err}")


if __name__ == "__main__":
    main()
