"""Fusion runs as a resumable step: the ``(:FusionRun)`` state the store keeps, and crash recovery.

A run is recorded with ``status: running`` (and the process that runs it) *before* fusion changes
anything, and set to ``done`` as its last write; every change in between is preceded by its
pre-image in the journal. A run still ``running`` whose process is gone was killed (``kill -9``,
power loss): :func:`recover_interrupted` rolls it back exactly from its journal, so the graph is
as before that run, and reports it. ``fuse_graph`` does this first and then fuses, so the next
``kgkit fuse`` finishes the step; ``kgkit ingest`` rolls such a run back before it writes anything
and then fuses, even when the folder is unchanged.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import asdict
from typing import Any, Mapping

from kgkit.fuse.errors import FusionError
from kgkit.fuse.journal import Journal, restore_journal
from kgkit.store.base import GraphStore

__all__ = ["RUNNING", "DONE", "new_run_id", "start_run", "finish_run", "update_run", "list_runs",
           "fusion_interrupted", "recover_interrupted", "rollback_run"]

RUNNING, DONE = "running", "done"


def new_run_id() -> str:
    return time.strftime("fr-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def list_runs(store: GraphStore) -> list[dict[str, Any]]:
    """Fusion runs in the store, oldest first."""
    return store.fusion_runs()


def start_run(store: GraphStore, run_id: str, params: Any, **extra: Any) -> None:
    """Record the run (``running``, with this process) before changing anything."""
    runs = store.fusion_runs()
    seq = max((int(r["seq"]) for r in runs if r.get("seq") is not None), default=0) + 1
    run = {"id": run_id, "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "status": RUNNING, "seq": seq,
           "params": json.dumps(asdict(params) if hasattr(params, "__dataclass_fields__") else params, default=str),
           "pid": os.getpid(), "host": socket.gethostname(), **extra}
    store.add_fusion_records("FusionRun", [run])


def update_run(store: GraphStore, run_id: str, props: Mapping[str, Any]) -> None:
    store.update_fusion_record("FusionRun", run_id, props)


def finish_run(store: GraphStore, run_id: str, props: Mapping[str, Any]) -> None:
    """The run's last write: from here on it is complete."""
    update_run(store, run_id, {**props, "status": DONE, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")})


def _alive_elsewhere(run: Mapping[str, Any]) -> bool:
    """Whether the process that recorded ``run`` is still running (on this host, another process)."""
    pid, host = run.get("pid"), run.get("host")
    if pid is None or host != socket.gethostname() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fusion_interrupted(store: GraphStore) -> bool:
    """Whether a fusion run was left unfinished by a process that is gone."""
    return any(r.get("status") == RUNNING and not _alive_elsewhere(r) for r in store.fusion_runs())


def rollback_run(store: GraphStore, run_id: str) -> dict[str, int]:
    """Restore every pre-image the run journaled and delete its records."""
    restored = restore_journal(store, Journal.load(store, run_id))
    store.delete_fusion_run(run_id)
    return restored


def recover_interrupted(store: GraphStore) -> list[str]:
    """Roll back every interrupted run, latest first; returns their ids.

    Raises:
        FusionError: a run is still in progress in another live process (wait for it, or stop it).
    """
    runs = store.fusion_runs()
    live = [r for r in runs if r.get("status") == RUNNING and _alive_elsewhere(r)]
    if live:
        r = live[-1]
        raise FusionError(f"fusion run {r['id']} is still running (pid {r.get('pid')} on {r.get('host')}); "
                          f"wait for it to finish, or stop that process and rerun")
    rolled = []
    for r in reversed(runs):
        if r.get("status") == RUNNING:
            rollback_run(store, r["id"])
            rolled.append(r["id"])
    return rolled
