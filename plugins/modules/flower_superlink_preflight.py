#!/usr/bin/python
"""Ansible module: host-side checks before flower_superlink changes anything."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flower_superlink_preflight
short_description: Refuse host state the flower_superlink role must not touch
version_added: 0.27.0
description:
  - >-
    Read-only checks, in one round trip, of everything on the host the role is
    about to create, chown, chmod, overwrite or remove. The playbooks run the
    same checks under the SuperLink's lock (flower_superlink_lock, option
    preflight); this module serves the role run on its own. Fails with one message
    per problem, each naming the variable to fix.
  - >-
    Directories: no path component may be a symlink; an existing directory that
    holds files must already have the owner, group (and mode) the role gives it,
    or it belongs to something else.
  - >-
    The database and its journal files must be regular files (the container owns
    the state directory and could plant symlinks to files outside it).
  - >-
    The unit file may only be replaced when this role wrote it; no other unit of
    the same name may exist elsewhere; a container of the same name must be one
    the role started.
  - >-
    Optionally, free space for a backup of the database.
  - >-
    Allow-lists Docker's DOCKER-USER chain must enforce (O(docker_user_lists)):
    refused when dockerd runs but has no such chain (iptables off).
extends_documentation_fragment:
  - flower_iac.federation.flower_superlink_preflight
author: flower-iac maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Refuse host state the role must not touch
  flower_iac.federation.flower_superlink_preflight:
    directories:
      - {var: flower_superlink_state_dir, path: /var/lib/flower-superlink, owner: 49999, group: 49999, mode: "0700"}
    database: /var/lib/flower-superlink/state.db
    unit_path: /etc/systemd/system/flower-superlink.service
    unit_marker: "# Managed by Ansible (flower-superlink-iac role flower_superlink)"
    service_name: flower-superlink
    container_name: flower-superlink
    container_label: org.flower-iac.role=flower_superlink
    backup_dir: /var/backups/flower-superlink
    need_backup: true
"""

RETURN = r"""
database_exists: {description: Whether the database file exists., type: bool, returned: always}
database_bytes: {description: Size of the database and its journal files., type: int, returned: always}
unit_exists: {description: Whether the role's unit file exists., type: bool, returned: always}
free_bytes: {description: Free space where backups go (need_backup only)., type: int, returned: when checked}
record: {description: "The record's text, '' when there is none.", type: str, returned: when record is given}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.flower_iac.federation.plugins.module_utils.flower_superlink_preflight import (
    ARGUMENT_SPEC,
    check_host,
)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    try:
        result, errors = check_host(module.params)
    except Exception as err:  # noqa: BLE001 - a module reports, never tracebacks
        module.fail_json(msg=f"preflight checks could not run: {type(err).__name__}: {err}")
    if errors:
        module.fail_json(msg="\n".join(errors), errors=errors)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
