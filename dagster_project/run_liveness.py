"""Runs whose process died: found, marked failed, and their concurrency slots freed.

``reelhouse run`` and ``reelhouse backfill`` execute Dagster runs in their own process. If that process
is killed (``kill -9``, out of memory, a reboot), Dagster never hears that its run ended: the run stays
``STARTED`` and keeps its slot in the ``spark`` pool, so every later run would wait for that slot
forever. Each such run carries the host, pid and process start time of the process executing it
(:func:`launcher_tags`); :func:`reap_dead_runs`, called before a new run starts, fails the runs of this
host whose process is gone and frees their slots. Runs launched by the daemon or the UI are watched by
Dagster's own run monitoring (``run_monitoring`` in ``dagster.yaml``).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import dagster as dg

from reelhouse.config import Settings

HOST_TAG = "reelhouse/host"
PID_TAG = "reelhouse/pid"
PID_START_TAG = "reelhouse/pid_start"

#: Statuses of a run that is, as far as Dagster knows, still going.
_IN_FLIGHT = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), or None where unknown.

    Together with the pid it names one process: a pid reused by a later process has another start time.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            # The command name (field 2) may hold spaces; the fields after its ')' are fixed.
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def launcher_tags() -> dict[str, str]:
    """Tags naming this process, for the runs it executes in-process."""
    pid = os.getpid()
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), PID_START_TAG: process_start(pid) or ""}


def _alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        pass
    return not start or process_start(pid) in (None, start)


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the in-flight runs of this host whose executing process is gone and free their pool slots.

    Returns the ids of the runs reaped.
    """
    host = socket.gethostname()
    reaped = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=_IN_FLIGHT, tags={HOST_TAG: host})):
        pid = int(run.tags.get(PID_TAG, "0") or 0)
        if pid <= 0 or _alive(pid, run.tags.get(PID_START_TAG, "")):
            continue
        instance.report_run_failed(
            run, f"the process executing this run (pid {pid} on {host}) is gone: it was killed or crashed. "
                 "Marked failed by reelhouse before the next run; its concurrency slots were freed.")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


def instance_for_new_runs(settings: Settings, progress: Callable[[str], None]) -> dg.DagsterInstance:
    """The persistent Dagster instance, with the dead runs of this host reaped (each reported to ``progress``)
    so that the runs about to start get the pool slots."""
    from dagster_project.instance import dagster_instance

    instance = dagster_instance(settings)
    for run_id in reap_dead_runs(instance):
        progress(f"run {run_id} was left running by a process that is gone: marked failed, its pool slots freed")
    return instance
