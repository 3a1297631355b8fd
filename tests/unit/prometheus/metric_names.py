"""Every metric name the host-side writers can put in their files: the
SuperLink's and the SuperNode's collectors and the off-host backup agent
(read from their sources, where each name is written once)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
COLLECTOR = ROOT / "roles/flower_superlink/files/superlink_metrics.py"
NODE_COLLECTOR = ROOT / "roles/flower_supernode/files/supernode_metrics.py"
BACKUP_AGENT = ROOT / "roles/flower_offsite_backup/files/flower_offsite_backup.py"
FAMILY = r'family\(\s*"([a-z_]+)"'
# The backup agent's (name, help) tables.
PAIR = r'\("([a-z_]+)", "'


def written_metrics() -> set[str]:
    names = {f"flower_superlink_{n}" for n in re.findall(FAMILY, COLLECTOR.read_text())}
    names |= {f"flower_supernode_{n}" for n in re.findall(FAMILY, NODE_COLLECTOR.read_text())}
    agent = BACKUP_AGENT.read_text()
    names |= {f"flower_superlink_backup_{n}" for n in re.findall(PAIR, agent)}
    names |= {f"flower_superlink_backup_repository_{n}" for n in re.findall(PAIR, agent)}
    return names
