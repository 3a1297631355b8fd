"""Every boolean typed as a string on the command line means what it says.

`-e name=false` is the string "false". Each boolean variable is given as such
a string (and a few as "no" or "0") to a real playbook: where that is the
value the host already has, a check-mode deploy changes nothing; where it
is not, the play does what false means (and never what a truthy string would).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import recap, run_playbook

testinfra_hosts = ["ansible://superlink"]

# (variable=value as typed, playbook, what must happen: "unchanged", "diff:<text>", "changed" or "fails:<text>")
CASES = [
    ("flower_superlink_insecure=false", "deploy.yml", "unchanged"),
    ("flower_superlink_insecure=0", "deploy.yml", "unchanged"),
    ("flower_superlink_telemetry_enabled=false", "deploy.yml", "unchanged"),
    ("flower_superlink_serverappio_publish=false", "deploy.yml", "unchanged"),
    ("flower_superlink_image_archive_remote_src=false", "deploy.yml", "unchanged"),
    ("flower_superlink_backup_before_upgrade=false", "deploy.yml", "unchanged"),
    ("flower_superlink_backup_fetch=false", "deploy.yml", "unchanged"),
    ("flower_superlink_lock_break=false", "deploy.yml", "unchanged"),
    ("flower_superlink_read_only=false", "deploy.yml", "diff:-    --read-only"),
    ("flower_superlink_read_only=no", "deploy.yml", "diff:-    --read-only"),
    ("flower_superlink_tls_generate=false", "deploy.yml", "fails:flower_superlink_tls_ca_cert"),
    ("flower_superlink_reset_confirm=false", "reset.yml", "fails:Refusing to reset"),
    ("docker_engine_service_enabled=false", "deploy.yml", "changed"),
]


@pytest.mark.parametrize(("typed", "playbook", "expect"), CASES, ids=[c[0] for c in CASES])
def test_boolean_given_as_a_string_means_what_it_says(
    request: pytest.FixtureRequest, host: Any, typed: str, playbook: str, expect: str
) -> None:
    result = run_playbook(request, host, playbook, typed, options=("--check", "--diff"))
    kind, _, text = expect.partition(":")
    if kind == "fails":
        assert result.returncode != 0, result.stdout[-3000:]
        assert text in result.stdout, result.stdout[-3000:]
        return
    assert result.returncode == 0, result.stdout[-4000:]
    changed = recap(result, host)["changed"]
    if kind == "unchanged":
        assert changed == 0, result.stdout[-4000:]
    else:
        assert changed > 0, result.stdout[-4000:]
    if kind == "diff":
        assert text in result.stdout, result.stdout[-4000:]
