"""Every boolean typed as a string on the command line means what it says.

`-e name=false` is the string "false". Each boolean variable is given as such
a string (some as "no" or "0") to a real playbook: where that is the value
the host already has, a check-mode deploy changes nothing; where it is not,
the play does what false means, never what a truthy string would.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import recap, run_playbook

testinfra_hosts = ["ansible://superlink"]

# Booleans whose false changes nothing on this deployed host (most are false
# already): given as strings, all at once, the deploy must change nothing.
NO_CHANGE = [
    "flower_superlink_backup_before_upgrade=false",
    "flower_superlink_insecure=false",
    "flower_superlink_telemetry_enabled=no",
    "flower_superlink_serverappio_publish=0",
    "flower_superlink_image_archive_remote_src=false",
    "flower_superlink_backup_fetch=false",
    "flower_superlink_lock_break=false",
    "flower_superlink_reset_confirm=false",
    "flower_superlink_runtime_dependency_installation=false",
    "flower_superlink_update_check=no",
]
# (variables as typed, playbook, what must happen: "unchanged", "diff:<text in the diff>",
#  "task:<name of a task that changes>" or "fails:<text of the failure>")
CASES: list[tuple[str, list[str], str, str]] = [
    ("false-strings-change-nothing", NO_CHANGE, "deploy.yml", "unchanged"),
    ("read-only-false", ["flower_superlink_read_only=false"], "deploy.yml", "diff:-    --read-only"),
    ("tls-generate-false", ["flower_superlink_tls_generate=false"], "deploy.yml", "fails:flower_superlink_tls_ca_cert"),
    ("reset-confirm-false", ["flower_superlink_reset_confirm=false"], "reset.yml", "fails:Refusing to reset"),
    ("engine-enabled-false", ["docker_engine_service_enabled=false"], "deploy.yml", "task:Ensure the Docker service"),
    # Read as false: authentication off with this host's keys listed is refused (they would not be enforced).
    ("supernode-auth-false", ["flower_superlink_supernode_auth=false"], "deploy.yml", "fails:would not be enforced"),
    # Read as true, these would let an untested release or a schema cliff through.
    (
        "allow-untested-false",
        ["flower_superlink_version=1.43.0", "flower_superlink_allow_untested_version=false"],
        "deploy.yml",
        "fails:flower_superlink_allow_untested_version=true",
    ),
    (
        "fresh-state-0",
        ["flower_superlink_version=1.25.0", "flower_superlink_upgrade_fresh_state=0"],
        "deploy.yml",
        "fails:Refusing to deploy Flower 1.25.0",
    ),
]


def changed_tasks(stdout: str) -> list[str]:
    """Names of the tasks that reported a change, for failure messages."""
    tasks, current = [], ""
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            current = line
        elif line.startswith("changed:"):
            tasks.append(current)
    return tasks


@pytest.mark.parametrize(("typed", "playbook", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_booleans_given_as_strings_mean_what_they_say(
    request: pytest.FixtureRequest, host: Any, typed: list[str], playbook: str, expect: str
) -> None:
    result = run_playbook(request, host, playbook, *typed, options=("--check", "--diff"))
    kind, _, text = expect.partition(":")
    if kind == "fails":
        assert result.returncode != 0, result.stdout[-3000:]
        assert text in result.stdout, result.stdout[-3000:]
        return
    assert result.returncode == 0, result.stdout[-4000:]
    changed = recap(result, host)["changed"]
    if kind == "unchanged":
        assert changed == 0, changed_tasks(result.stdout)
        return
    assert changed > 0, result.stdout[-4000:]
    if kind == "task":
        assert any(text in task for task in changed_tasks(result.stdout)), changed_tasks(result.stdout)
    else:
        assert text in result.stdout, result.stdout[-4000:]
