"""The alert rules (monitoring/prometheus/flower-alerts.yml), with Prometheus's own promtool.

promtool checks the rules and runs their unit tests
(tests/unit/prometheus/flower-alerts.test.yml). This file also holds the
tests to their promise: every alert has a case where it fires and a case
where it stays quiet, and every metric a rule reads is one the collector or
the backup agent writes (a renamed metric would silence an alert forever).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from metric_names import written_metrics

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "monitoring/prometheus/flower-alerts.yml"
RULE_TESTS = Path(__file__).with_name("flower-alerts.test.yml")
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian's prometheus) is not installed")


def alerts() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def test_promtool_accepts_the_rules() -> None:
    assert PROMTOOL
    checked = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_passes_its_promtool_tests() -> None:
    assert PROMTOOL
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", str(RULE_TESTS)], capture_output=True, text=True, check=False, cwd=RULE_TESTS.parent
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    cases = [case for group in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in group["alert_rule_test"]]
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert set(alerts()) - fires == set(), "alerts never tested firing"
    assert set(alerts()) - quiet == set(), "alerts never tested staying quiet"


@pytest.mark.parametrize("alert", sorted(alerts()))
def test_every_metric_an_alert_reads_is_written(alert: str) -> None:
    read = set(re.findall(r"flower_super(?:link|node)_[a-z_]+", alerts()[alert]))
    assert read, alert
    assert read <= written_metrics(), read - written_metrics()


def test_promtool_tests_can_fail(tmp_path: Path) -> None:
    """The test file is not a rubber stamp: an alert that never fires fails it."""
    assert PROMTOOL
    broken = tmp_path / "rules.yml"
    broken.write_text(RULES.read_text().replace("expr: flower_superlink_up == 0", "expr: flower_superlink_up == 2"))
    tests = tmp_path / "tests.yml"
    tests.write_text(RULE_TESTS.read_text().replace("../../../monitoring/prometheus/flower-alerts.yml", str(broken)))
    tested = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, check=False)
    assert tested.returncode != 0
    assert "FlowerSuperLinkDown" in tested.stdout + tested.stderr
