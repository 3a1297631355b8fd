#!/usr/bin/python
"""Ansible module: which packages are installed and how the docker unit runs, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: docker_engine_probe
short_description: Read the engine's packages and unit state without changing anything
version_added: 0.27.0
description:
  - >-
    Asks dpkg which of O(packages) are installed (one C(dpkg-query), not the apt
    cache, which takes seconds to load), systemd how O(unit) is loaded, running
    and enabled, Docker which image each of O(images) names, and
    C(/etc/os-release) which distribution this is. The role skips its install and
    service tasks when both already are what it would make them, and needs no
    gathered facts.
options:
  packages:
    description: Debian package names or C(dpkg-query) patterns (C(docker*)).
    type: list
    elements: str
    default: []
  images:
    description: Image references to look up (when the engine answers).
    type: list
    elements: str
    default: []
  unit:
    description: The engine's systemd unit.
    type: str
    default: docker.service
author: flower-iac maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Probe the engine's packages, unit and the images the play needs
  flower_iac.federation.docker_engine_probe:
    packages: [python3-apt, docker*, containerd*]
    images: [flwr/superlink:1.25.0]
  register: probe
  check_mode: false

- name: Install the engine only when dpkg does not report it
  ansible.builtin.apt:
    name: docker.io
  when: "'docker.io' not in probe.installed"
"""

RETURN = r"""
installed:
  description: The packages of O(packages) dpkg reports installed.
  type: list
  elements: str
  returned: always
images:
  description: >-
    Reference -> the image it names, as a list like community.docker.docker_image_info's
    C(images) (Id, RepoTags, RepoDigests), empty when absent. Only the references
    looked up: none when the engine does not answer.
  type: dict
  returned: always
os:
  description: >-
    distribution (as Ansible names it: Debian, Ubuntu), distribution_major_version
    and distribution_release, from /etc/os-release.
  type: dict
  returned: always
unit:
  description: The unit's LoadState (load), ActiveState (active) and UnitFileState (enabled); empty without systemd.
  type: dict
  returned: always
"""

import json
import os
import shutil
import subprocess

from ansible.module_utils.basic import AnsibleModule

# os-release IDs whose Ansible distribution name is not the ID capitalised.
DISTRIBUTIONS = {"debian": "Debian", "ubuntu": "Ubuntu", "rhel": "RedHat", "opensuse-leap": "openSUSE Leap"}


def run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def os_release() -> dict[str, str]:
    values: dict[str, str] = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    name, sep, value = line.strip().partition("=")
                    if sep:
                        values[name] = value.strip().strip("\"'")
            break
    ident = values.get("ID", "")
    return {
        "distribution": DISTRIBUTIONS.get(ident, ident.capitalize()),
        "distribution_major_version": values.get("VERSION_ID", "").split(".")[0],
        "distribution_release": values.get("VERSION_CODENAME", ""),
    }


def images(refs: list[str]) -> dict[str, list[dict[str, object]]]:
    if not refs or not shutil.which("docker") or not os.path.exists("/var/run/docker.sock"):
        return {}
    found: dict[str, list[dict[str, object]]] = {}
    for ref in refs:
        shown = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .}}", "--", ref],
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode == 0:
            image = json.loads(shown.stdout)
            found[ref] = [{key: image.get(key) for key in ("Id", "RepoTags", "RepoDigests")}]
        elif "No such image" in shown.stderr:
            found[ref] = []
        # Any other error (the engine not answering): not looked up.
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "packages": {"type": "list", "elements": "str", "default": []},
            "unit": {"type": "str", "default": "docker.service"},
            "images": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    packages, installed = module.params["packages"], []
    if packages and shutil.which("dpkg-query"):
        # Exits 1 when a package is unknown to dpkg; the output still lists the rest.
        shown = run("dpkg-query", "--show", "--showformat=${Package}:${db:Status-Status} ", "--", *packages)
        installed = [item.split(":", 1)[0] for item in shown.split() if item.endswith(":installed")]
    unit: dict[str, str] = {}
    if shutil.which("systemctl"):
        props = run("systemctl", "show", "--property=LoadState,ActiveState,UnitFileState", "--", module.params["unit"])
        values = dict(line.split("=", 1) for line in props.splitlines() if "=" in line)
        unit = {
            "load": values.get("LoadState", ""),
            "active": values.get("ActiveState", ""),
            "enabled": values.get("UnitFileState", ""),
        }
    module.exit_json(
        changed=False,
        installed=installed,
        unit=unit,
        images=images(module.params["images"]),
        os=os_release(),
    )


if __name__ == "__main__":
    main()
