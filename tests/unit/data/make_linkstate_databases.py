"""Make the SuperLink linkstate fixtures with Flower's own code, one release at a time.

    python tests/unit/data/make_linkstate_databases.py [RELEASE ...]

For each release this makes a venv under .cache/linkstate-venvs/<release> holding
`flwr==<release>` from PyPI, then runs this same file inside that venv
(`--inside RELEASE DB JSON`), where Flower's own LinkState API creates a fresh
database with a known mix of runs and SuperNodes and reports, through its own
API, what that database holds. Back outside, with Flower's connections closed,
sqlite3 folds the WAL into the file, VACUUMs it, and records the schema.

The database is never written except through Flower's API; sqlite3 only
checkpoints and VACUUMs it afterwards (neither changes a row).

Outputs, beside this file: linkstate-<release>.db and linkstate-<release>.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
VENVS = ROOT / ".cache/linkstate-venvs"
RELEASES = ("1.19.0", "1.25.0", "1.42.0")

# Runs per status, as `flwr ls` prints the status. Distinct counts, so a
# mix-up between two statuses shows.
RUN_PLAN = {
    "pending": 1,
    "starting": 1,
    "running": 2,
    "finished:completed": 3,
    "finished:failed": 2,
    "finished:stopped": 1,
}
# SuperNodes per state. 1.19 has no registration: a node exists from its
# CreateNode on and is online while online_until is in the future; a deleted
# node leaves no row. 1.23+ registers nodes first (`flwr supernode register`)
# and keeps a status column.
NODE_PLAN_1_19 = {"online": 4, "offline": 3, "deleted": 1}
NODE_PLAN_STATUS = {"registered": 2, "online": 4, "offline_deactivated": 1, "offline_expired": 2, "unregistered": 1}
# Heartbeat interval (s) of the nodes meant to expire, and how long to wait.
SHORT_INTERVAL = 0.5
EXPIRY_WAIT = 1.5

# What Flower does, on its next call that checks, to a starting or running run
# whose heartbeat deadline has passed (read from each release's source).
RUN_LIVENESS = {
    "1.19": (
        "run.active_until (REAL, Unix time) < now and starting_at != '' and finished_at = '': the next "
        "get_run/get_run_status/update_run_status sets finished_at = that moment, sub_status 'failed', details "
        "'No heartbeat received from the run.'. A starting run has active_until 1e300 until its first "
        "ServerApp heartbeat, so it never expires."
    ),
    "1.25": (
        "token_store.active_until (REAL, Unix time) < now: the next token check (get_run, get_run_status, "
        "update_run_status, ...) deletes the token and sets the run's sub_status 'failed', details 'No heartbeat "
        "received from the run.', finished_at = active_until, whatever the run's status. Runs without a token "
        "never expire."
    ),
    "1.42": (
        "task.active_until (TIMESTAMP text, UTC) < now for the run's primary task: the next "
        "get_run_info/get_run_status/... moves a starting task back to pending (starting_at NULL) and a running "
        "task to finished_at = active_until, sub_status 'failed', details 'No heartbeat received from the task'."
    ),
}

FAB_ID = "flwrlabs/fixture-app"
FAB_VERSION = "1.0.0"
FAB_HASH = hashlib.sha256(b"linkstate fixture FAB").hexdigest()


# --------------------------------------------------------------------------
# Inside the release's venv: Flower's API only.
# --------------------------------------------------------------------------


def _public_keys(n: int) -> list[bytes]:
    """SuperNode public keys as Flower serialises them (PEM, NIST P-384)."""
    try:
        from flwr.supercore.primitives.asymmetric import generate_key_pairs, public_key_to_bytes
    except ImportError:  # 1.19
        from flwr.common.secure_aggregation.crypto.symmetric_encryption import (
            generate_key_pairs,
            public_key_to_bytes,
        )
    return [public_key_to_bytes(generate_key_pairs()[1]) for _ in range(n)]


def _status_text(status: str, sub_status: str) -> str:
    """`flwr ls`'s Status column (flwr/cli/ls.py, cli/run_utils.py format_runs)."""
    return status if sub_status == "" else f"{status}:{sub_status}"


def _inside_1_19(db: Path) -> dict[str, Any]:
    from flwr.cli.ls import _format_runs
    from flwr.common.constant import HEARTBEAT_DEFAULT_INTERVAL, Status, SubStatus
    from flwr.common.date import now
    from flwr.common.record import ConfigRecord
    from flwr.common.typing import RunStatus
    from flwr.server.superlink.linkstate import LinkStateFactory

    calls: list[str] = []
    # What `flower-superlink --database PATH` does (flwr/server/app.py).
    state = LinkStateFactory(str(db)).state()
    calls.append("state = LinkStateFactory(db_path).state()  # SqliteLinkState.initialize()")

    # SuperNodes: authorised keys (--auth-list-public-keys), then CreateNode +
    # set_node_public_key (the auth interceptor), heartbeats, DeleteNode.
    n_nodes = sum(NODE_PLAN_1_19.values())
    keys = _public_keys(n_nodes + 1)  # one authorised key is never used
    state.store_node_public_keys(set(keys))
    calls.append("state.store_node_public_keys(set_of_public_keys)")
    plan = ["online"] * NODE_PLAN_1_19["online"] + ["offline"] * NODE_PLAN_1_19["offline"]
    plan += ["deleted"] * NODE_PLAN_1_19["deleted"]
    intended: dict[int, str] = {}
    for kind, key in zip(plan, keys, strict=False):
        interval = SHORT_INTERVAL if kind == "offline" else HEARTBEAT_DEFAULT_INTERVAL
        node_id = state.create_node(heartbeat_interval=interval)
        state.set_node_public_key(node_id, key)
        state.acknowledge_node_heartbeat(node_id, interval)
        intended[node_id] = kind
        if kind == "deleted":
            state.delete_node(node_id)
    calls += [
        "node_id = state.create_node(heartbeat_interval=30 | 0.5)",
        "state.set_node_public_key(node_id, public_key)",
        "state.acknowledge_node_heartbeat(node_id, heartbeat_interval=30 | 0.5)",
        "state.delete_node(node_id)  # the 'deleted' node: its row is gone",
        f"time.sleep({EXPIRY_WAIT})  # the 0.5 s nodes' online_until passes",
    ]
    time.sleep(EXPIRY_WAIT)

    # Runs, in the transition order the SuperLink uses.
    run_ids: dict[int, str] = {}
    for target, count in RUN_PLAN.items():
        for _ in range(count):
            run_id = state.create_run(FAB_ID, FAB_VERSION, FAB_HASH, {}, ConfigRecord(), None)
            run_ids[run_id] = target
            if target == "pending":
                continue
            assert state.update_run_status(run_id, RunStatus(Status.STARTING, "", ""))
            if target == "starting":
                continue
            assert state.update_run_status(run_id, RunStatus(Status.RUNNING, "", ""))
            assert state.acknowledge_app_heartbeat(run_id, HEARTBEAT_DEFAULT_INTERVAL)
            if target == "running":
                continue
            sub = target.split(":")[1]
            details = {"failed": "Exception in ServerApp", "stopped": ""}.get(sub, "")
            assert state.update_run_status(run_id, RunStatus(Status.FINISHED, sub, details))
    assert SubStatus.COMPLETED == "completed"
    calls += [
        "run_id = state.create_run(fab_id, fab_version, fab_hash, {}, ConfigRecord(), None)",
        "state.update_run_status(run_id, RunStatus('starting', '', ''))",
        "state.update_run_status(run_id, RunStatus('running', '', ''))",
        "state.acknowledge_app_heartbeat(run_id, 30)",
        "state.update_run_status(run_id, RunStatus('finished', 'completed'|'failed'|'stopped', details))",
    ]

    # What Flower says.
    generated_at = now()
    all_ids = state.get_run_ids(None)
    statuses = state.get_run_status(all_ids)
    runs = {rid: state.get_run(rid) for rid in all_ids}
    table = {row[0]: row[4] for row in _format_runs(runs, generated_at.isoformat())}
    raw_runs = {r["run_id"]: r for r in state.query("SELECT run_id, active_until, heartbeat_interval FROM run")}
    run_list = []
    for rid in sorted(all_ids, key=lambda r: runs[r].pending_at):
        run, st = runs[rid], statuses[rid]
        assert table[rid] == _status_text(st.status, st.sub_status) == run_ids[rid], (table[rid], run_ids[rid])
        raw = raw_runs[_sint64(rid)]
        run_list.append(
            {
                "run_id": rid,
                "run_id_sqlite": _sint64(rid),
                "status_text": table[rid],
                "status": st.status,
                "sub_status": st.sub_status,
                "details": st.details,
                "pending_at": run.pending_at,
                "starting_at": run.starting_at,
                "running_at": run.running_at,
                "finished_at": run.finished_at,
                "active_until": raw["active_until"],
                "heartbeat_interval": raw["heartbeat_interval"],
            }
        )
    calls += [
        "state.get_run_ids(None); state.get_run_status(run_ids); state.get_run(run_id)",
        "flwr.cli.ls._format_runs(runs, now)  # flwr ls's Status column",
    ]

    any_run = next(iter(all_ids))
    online = state.get_nodes(any_run)
    node_rows = state.query("SELECT node_id, online_until, heartbeat_interval FROM node")
    node_list = []
    for row in node_rows:
        nid = _uint64(row["node_id"])
        assert state.get_node_public_key(nid)
        kind = "online" if nid in online else "offline"
        assert kind == intended[nid], (kind, intended[nid])
        node_list.append(
            {
                "node_id": nid,
                "node_id_sqlite": row["node_id"],
                "online": nid in online,
                "online_until": row["online_until"],
                "heartbeat_interval": row["heartbeat_interval"],
            }
        )
    deleted = [nid for nid, kind in intended.items() if kind == "deleted"]
    assert all(state.get_node_id(k) is None for k in keys[n_nodes - 1 :])  # deleted + unused
    calls += [
        "state.get_nodes(run_id)  # the online nodes: online_until > time.time()",
        "state.query('SELECT node_id, online_until, heartbeat_interval FROM node')"
        "  # 1.19 has no API returning online_until",
        "state.get_node_public_key(node_id); state.get_node_id(public_key)",
    ]

    state.conn.close()
    calls.append("state.conn.close()")
    return {
        "generated_at": generated_at.isoformat(),
        "generated_at_timestamp": generated_at.timestamp(),
        "runs": _run_summary(run_list, "1.19"),
        "nodes": {
            # 1.19 has no registration: null = no such state in this release.
            "counts": {
                "registered": None,
                "online": len(online),
                "offline": len(node_list) - len(online),
                "unregistered": None,
            },
            "rows": len(node_list),
            "deleted_no_row": len(deleted),
            "authorised_public_keys": len(keys),
            "online_rule": "node.online_until > now (a Unix timestamp, REAL); get_nodes(run_id) returns these",
            "get_nodes": sorted(online),
            "list": sorted(node_list, key=lambda n: n["online_until"]),
            "deleted_node_ids": deleted,
            "authorised_public_keys_not_used": 1,
        },
        "api_calls": calls,
    }


def _nodes_with_status(state: Any, calls: list[str], create: Any, owner: tuple[str, str]) -> dict[int, str]:
    """1.23+ SuperNodes: register, activate, heartbeat, deactivate, unregister."""
    from flwr.common.constant import HEARTBEAT_DEFAULT_INTERVAL

    plan: list[str] = []
    for kind, count in NODE_PLAN_STATUS.items():
        plan += [kind] * count
    keys = _public_keys(len(plan))
    intended: dict[int, str] = {}
    for i, (kind, key) in enumerate(zip(plan, keys, strict=True)):
        node_id = create(key, i)
        intended[node_id] = kind
        if kind == "registered":
            continue
        interval = SHORT_INTERVAL if kind == "offline_expired" else HEARTBEAT_DEFAULT_INTERVAL
        assert state.activate_node(node_id, interval)
        assert state.acknowledge_node_heartbeat(node_id, interval)
        if kind in ("offline_deactivated", "unregistered"):
            assert state.deactivate_node(node_id)
        if kind == "unregistered":
            state.delete_node(owner[0], node_id)
    calls += [
        "node_id = state.create_node(...)  # `flwr supernode register`: status 'registered'",
        "state.activate_node(node_id, heartbeat_interval=30 | 0.5)  # ActivateNode: 'online'",
        "state.acknowledge_node_heartbeat(node_id, heartbeat_interval=30 | 0.5)",
        "state.deactivate_node(node_id)  # DeactivateNode: 'offline'",
        f"state.delete_node('{owner[0]}', node_id)  # `flwr supernode unregister`: 'unregistered'",
        f"time.sleep({EXPIRY_WAIT})  # the 0.5 s nodes' online_until passes",
    ]
    time.sleep(EXPIRY_WAIT)
    return intended


def _node_report(state: Any, intended: dict[int, str], any_run: int, calls: list[str]) -> dict[str, Any]:
    infos = state.get_node_info()  # tags the expired nodes 'offline' first
    online = state.get_nodes(any_run)
    node_list = []
    for info in infos:
        want = intended[info.node_id].split("_")[0]
        assert info.status == want, (info.status, want)
        node_list.append(
            {
                "node_id": info.node_id,
                "node_id_sqlite": _sint64(info.node_id),
                "status": info.status,
                "intended": intended[info.node_id],
                "online_until": info.online_until if info.HasField("online_until") else None,
                "heartbeat_interval": info.heartbeat_interval,
                "registered_at": info.registered_at,
                "last_activated_at": info.last_activated_at if info.HasField("last_activated_at") else None,
                "last_deactivated_at": info.last_deactivated_at if info.HasField("last_deactivated_at") else None,
                "unregistered_at": info.unregistered_at if info.HasField("unregistered_at") else None,
                "owner_aid": info.owner_aid,
                "owner_name": info.owner_name,
            }
        )
    assert online == {n["node_id"] for n in node_list if n["status"] == "online"}
    calls += [
        "state.get_node_info()  # NodeInfo.status; first tags online nodes whose online_until passed as 'offline'",
        "state.get_nodes(run_id)  # the 'online' node IDs",
    ]
    counts = Counter(n["status"] for n in node_list)
    return {
        "counts": {s: counts.get(s, 0) for s in ("registered", "online", "offline", "unregistered")},
        "online_rule": (
            "node.status = 'online' AND node.online_until > now. Flower rewrites status 'online' to 'offline' "
            "only lazily (get_node_info, activate/deactivate), so a row can say 'online' after online_until passed"
        ),
        "get_nodes": sorted(online),
        "list": sorted(node_list, key=lambda n: (n["status"], n["registered_at"])),
    }


def _inside_1_25(db: Path) -> dict[str, Any]:
    from flwr.cli.run_utils import format_runs
    from flwr.common.constant import HEARTBEAT_DEFAULT_INTERVAL, NOOP_ACCOUNT_NAME, NOOP_FLWR_AID, Status
    from flwr.common.date import now
    from flwr.common.record import ConfigRecord
    from flwr.common.typing import RunStatus
    from flwr.server.app import get_federation_manager
    from flwr.server.superlink.linkstate import LinkStateFactory
    from flwr.supercore.constant import NOOP_FEDERATION
    from flwr.supercore.object_store import ObjectStoreFactory

    calls: list[str] = []
    # What flower-superlink does (flwr/server/app.py); each state() is a new
    # SqliteLinkState with its own connection, so take one and keep it.
    federation_manager = get_federation_manager(None)
    objectstore_factory = ObjectStoreFactory(str(db))
    state = LinkStateFactory(str(db), federation_manager, objectstore_factory).state()
    calls.append(
        "state = LinkStateFactory(db_path, get_federation_manager(None), ObjectStoreFactory(db_path)).state()"
        "  # NoOpFederationManager; SqliteObjectStore and SqliteLinkState share the file"
    )

    def create(key: bytes, _i: int) -> int:
        return state.create_node(NOOP_FLWR_AID, NOOP_ACCOUNT_NAME, key, HEARTBEAT_DEFAULT_INTERVAL)

    intended = _nodes_with_status(state, calls, create, (NOOP_FLWR_AID, NOOP_ACCOUNT_NAME))

    # Runs: Control StartRun, ServerAppIo RequestToken (token + starting),
    # PullAppInputs (running), heartbeats, PushAppOutputs (token deleted) and
    # UpdateRunStatus (finished), Control StopRun (stopped + token deleted).
    run_targets: dict[int, str] = {}
    for target, count in RUN_PLAN.items():
        for _ in range(count):
            run_id = state.create_run(FAB_ID, FAB_VERSION, FAB_HASH, {}, NOOP_FEDERATION, ConfigRecord(), NOOP_FLWR_AID)
            run_targets[run_id] = target
            if target == "pending":
                continue
            token = state.create_token(run_id)
            assert token
            assert state.update_run_status(run_id, RunStatus(Status.STARTING, "", ""))
            if target == "starting":
                continue
            assert state.update_run_status(run_id, RunStatus(Status.RUNNING, "", ""))
            assert state.acknowledge_app_heartbeat(token)
            if target == "running":
                continue
            sub = target.split(":")[1]
            details = {"failed": "Exception in ServerApp"}.get(sub, "")
            if sub != "stopped":
                state.delete_token(run_id)
            assert state.update_run_status(run_id, RunStatus(Status.FINISHED, sub, details))
            if sub == "stopped":
                state.delete_token(run_id)
    calls += [
        f"run_id = state.create_run(fab_id, fab_version, fab_hash, {{}}, '{NOOP_FEDERATION}', ConfigRecord(), "
        f"'{NOOP_FLWR_AID}')",
        "token = state.create_token(run_id); state.update_run_status(run_id, RunStatus('starting', '', ''))",
        "state.update_run_status(run_id, RunStatus('running', '', '')); state.acknowledge_app_heartbeat(token)",
        "state.delete_token(run_id); state.update_run_status(run_id, RunStatus('finished', 'completed'|'failed', d))",
        "state.update_run_status(run_id, RunStatus('finished', 'stopped', '')); state.delete_token(run_id)",
    ]

    generated_at = now()
    all_ids = state.get_run_ids(None)
    statuses = state.get_run_status(all_ids)
    runs = [state.get_run(rid) for rid in all_ids]
    table = {row.run_id: row.status_text for row in format_runs(runs, generated_at.isoformat())}
    tokens = {r["run_id"]: r["active_until"] for r in state.query("SELECT run_id, active_until FROM token_store")}
    run_list = []
    for run in sorted(runs, key=lambda r: r.pending_at):
        st = statuses[run.run_id]
        assert table[run.run_id] == _status_text(st.status, st.sub_status) == run_targets[run.run_id]
        run_list.append(
            {
                "run_id": run.run_id,
                "run_id_sqlite": _sint64(run.run_id),
                "status_text": table[run.run_id],
                "status": st.status,
                "sub_status": st.sub_status,
                "details": st.details,
                "pending_at": run.pending_at,
                "starting_at": run.starting_at,
                "running_at": run.running_at,
                "finished_at": run.finished_at,
                "token_active_until": tokens.get(_sint64(run.run_id)),
                "federation": run.federation,
            }
        )
    calls += [
        "state.get_run_ids(None); state.get_run_status(run_ids); state.get_run(run_id)",
        "flwr.cli.run_utils.format_runs(runs, now)  # flwr ls's Status column",
        "state.query('SELECT run_id, active_until FROM token_store')  # no API returns a token's expiry",
    ]
    nodes = _node_report(state, intended, next(iter(all_ids)), calls)

    state.object_store.conn.close()
    state.conn.close()
    calls.append("state.object_store.conn.close(); state.conn.close()")
    return {
        "generated_at": generated_at.isoformat(),
        "generated_at_timestamp": generated_at.timestamp(),
        "runs": _run_summary(run_list, "1.25"),
        "nodes": nodes,
        "api_calls": calls,
    }


def _inside_1_42(db: Path) -> dict[str, Any]:
    from flwr.cli.run_utils import format_runs
    from flwr.common.constant import HEARTBEAT_DEFAULT_INTERVAL, NOOP_ACCOUNT_NAME, NOOP_FLWR_AID, SubStatus
    from flwr.supercore.constant import NOOP_FEDERATION_ID, TaskType
    from flwr.supercore.date import now
    from flwr.superlink.config_loader import get_federation_manager, get_objectstore_linkstate_factories

    calls: list[str] = []
    # What `flower-superlink` does (flwr/superlink/main.py, config_loader.py).
    federation_manager = get_federation_manager(is_simulation=False)
    objectstore_factory, linkstate_factory = get_objectstore_linkstate_factories(str(db), federation_manager)
    state = linkstate_factory.state()
    calls.append(
        "objectstore_factory, linkstate_factory = flwr.superlink.config_loader.get_objectstore_linkstate_factories"
        "(db_path, get_federation_manager(is_simulation=False)); state = linkstate_factory.state()"
        "  # SqlLinkState (SQLAlchemy + Alembic migrations); NoOpFederationManager"
    )

    def create(key: bytes, i: int) -> int:
        return state.create_node(
            NOOP_FLWR_AID, NOOP_ACCOUNT_NAME, key, HEARTBEAT_DEFAULT_INTERVAL, name=f"supernode-{i}"
        )

    intended = _nodes_with_status(state, calls, create, (NOOP_FLWR_AID, NOOP_ACCOUNT_NAME))

    # Runs: Control StartRun (run + pending primary task), Runtime AcquireTask
    # (claim_task: starting), PullTaskInput (activate_task: running), task
    # heartbeats, PushTaskOutput (finish_task), Control StopRun (stop_run).
    run_targets: dict[int, str] = {}
    for target, count in RUN_PLAN.items():
        for _ in range(count):
            run_id = state.create_run(
                FAB_ID, FAB_VERSION, FAB_HASH, {}, NOOP_FEDERATION_ID, None, NOOP_FLWR_AID, TaskType.SERVER_APP
            )
            assert run_id
            run_targets[run_id] = target
            if target == "pending":
                continue
            task_id = state.get_run_info(run_ids=[run_id])[0].primary_task_id
            assert state.claim_task(task_id)
            if target == "starting":
                continue
            assert state.activate_task(task_id)
            assert state.acknowledge_task_heartbeat(task_id)
            if target == "running":
                continue
            sub = target.split(":")[1]
            if sub == SubStatus.STOPPED:
                assert state.stop_run(run_id)
            else:
                details = {"failed": "Exception in ServerApp"}.get(sub, "")
                assert state.finish_task(task_id, sub, details)
    calls += [
        f"run_id = state.create_run(fab_id, fab_version, fab_hash, {{}}, '{NOOP_FEDERATION_ID}', None, "
        f"'{NOOP_FLWR_AID}', TaskType.SERVER_APP)",
        "task_id = state.get_run_info(run_ids=[run_id])[0].primary_task_id",
        "state.claim_task(task_id)  # starting",
        "state.activate_task(task_id); state.acknowledge_task_heartbeat(task_id)  # running",
        "state.finish_task(task_id, 'completed'|'failed', details)",
        "state.stop_run(run_id)  # finished:stopped",
    ]

    generated_at = now()
    runs = list(state.get_run_info())
    statuses = state.get_run_status({r.run_id for r in runs})
    table = {row.run_id: row.status_text for row in format_runs(runs, generated_at.isoformat())}
    tasks = {
        r["task_id"]: r["active_until"]
        for r in state.query("SELECT task_id, active_until FROM task")  # no API returns a claim's expiry
    }
    run_list = []
    for run in sorted(runs, key=lambda r: r.pending_at):
        st = statuses[run.run_id]
        assert table[run.run_id] == _status_text(st.status, st.sub_status) == run_targets[run.run_id]
        assert run.status.status == st.status
        run_list.append(
            {
                "run_id": run.run_id,
                "run_id_sqlite": _sint64(run.run_id),
                "status_text": table[run.run_id],
                "status": st.status,
                "sub_status": st.sub_status,
                "details": st.details,
                "pending_at": run.pending_at,
                "starting_at": run.starting_at,
                "running_at": run.running_at,
                "finished_at": run.finished_at,
                "primary_task_id": run.primary_task_id,
                "primary_task_id_sqlite": _sint64(run.primary_task_id),
                "task_active_until": tasks.get(_sint64(run.primary_task_id)),
                "federation_id": run.federation_id,
            }
        )
    calls += [
        "state.get_run_info(); state.get_run_status(run_ids)",
        "flwr.cli.run_utils.format_runs(runs, now)  # flwr ls's Status column",
        "state.query('SELECT task_id, active_until FROM task')  # no API returns a claim's expiry",
    ]
    nodes = _node_report(state, intended, runs[0].run_id, calls)

    for engine_owner in (state, objectstore_factory.store()):  # store() returns its cached instance
        engine_owner._engine.dispose()
    calls.append("state._engine.dispose(); objectstore_factory.store()._engine.dispose()")
    return {
        "generated_at": generated_at.isoformat(),
        "generated_at_timestamp": generated_at.timestamp(),
        "runs": _run_summary(run_list, "1.42"),
        "nodes": nodes,
        "api_calls": calls,
    }


def _run_summary(run_list: list[dict[str, Any]], release: str) -> dict[str, Any]:
    counts = Counter(r["status_text"] for r in run_list)
    assert dict(counts) == RUN_PLAN, counts
    return {
        "counts": {k: counts[k] for k in RUN_PLAN},
        "total": len(run_list),
        "liveness_rule": RUN_LIVENESS[release],
        "list": run_list,
    }


def _sint64(value: int) -> int:
    """Flower stores uint64 IDs in SQLite as the signed int64 with the same bits."""
    return value - (1 << 64) if value >= (1 << 63) else value


def _uint64(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def inside(release: str, db: Path, out: Path) -> None:
    from importlib.metadata import version

    assert version("flwr") == release, (version("flwr"), release)
    make = {"1.19": _inside_1_19, "1.25": _inside_1_25, "1.42": _inside_1_42}[release.rsplit(".", 1)[0]]
    report = make(db)
    out.write_text(json.dumps(report, indent=1))


# --------------------------------------------------------------------------
# Outside: venvs, then sqlite3 on the closed file.
# --------------------------------------------------------------------------


def venv_python(release: str) -> Path:
    venv = VENVS / release
    python = venv / "bin/python"
    probe = [str(python), "-c", "from importlib.metadata import version; print(version('flwr'))"]
    if python.exists() and subprocess.run(probe, capture_output=True, text=True).stdout.strip() == release:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"flwr=={release}"], check=True)
    return python


def schema(con: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")]
    keys = ("cid", "name", "type", "notnull", "dflt_value", "pk")
    return {n: [dict(zip(keys, row, strict=True)) for row in con.execute(f'PRAGMA table_info("{n}")')] for n in names}


def make(release: str) -> None:
    python = venv_python(release)
    db = HERE / f"linkstate-{release}.db"
    out = HERE / f"linkstate-{release}.json"
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        path.unlink(missing_ok=True)
    tmp = out.with_suffix(".flower.json")
    started = time.monotonic()
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0"}
    subprocess.run([str(python), __file__, "--inside", release, str(db), str(tmp)], check=True, env=env)
    report = json.loads(tmp.read_text())
    tmp.unlink()

    # Flower has closed the file. Fold the WAL in, VACUUM, fold again; the
    # journal mode is the one Flower left (WAL is persistent in the header).
    con = sqlite3.connect(db, isolation_level=None)
    journal_mode = con.execute("PRAGMA journal_mode").fetchone()[0]
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("VACUUM")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sqlite_info = {
        "journal_mode": journal_mode,
        "user_version": con.execute("PRAGMA user_version").fetchone()[0],
        "page_size": con.execute("PRAGMA page_size").fetchone()[0],
        "auto_vacuum": con.execute("PRAGMA auto_vacuum").fetchone()[0],
        "sqlite_version_used": sqlite3.sqlite_version,
        "vacuumed": True,
    }
    if "alembic_version" in [r[0] for r in con.execute("SELECT name FROM sqlite_schema")]:
        sqlite_info["alembic_version"] = [r[0] for r in con.execute("SELECT version_num FROM alembic_version")]
    tables = schema(con)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    left = [p.name for p in (Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
    assert not left, left

    fixture = {
        "flwr_version": release,
        "made_by": "tests/unit/data/make_linkstate_databases.py: Flower's own LinkState API, no hand-written rows",
        **report,
        "sqlite": sqlite_info,
        "tables": tables,
    }
    out.write_text(json.dumps(fixture, indent=1, sort_keys=False) + "\n")
    print(f"{release}: {db.name} {db.stat().st_size} bytes, {time.monotonic() - started:.1f} s")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--inside"]:
        inside(argv[1], Path(argv[2]), Path(argv[3]))
        return
    for release in argv or RELEASES:
        make(release)


if __name__ == "__main__":
    main(sys.argv[1:])
