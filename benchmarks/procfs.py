"""Reading Linux ``/proc`` for the benchmarks that watch process trees (faults, backfill, pipeline)."""

from __future__ import annotations

import os
from collections.abc import Iterator


def stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name, or None once the process is gone.

    Index 0 is the state (field 3 of proc(5)), 1 the parent pid, 3 the session, 11 and 12 user and
    system CPU ticks, 21 the resident pages: proc(5)'s field number minus 3. The command name is
    skipped by its closing parenthesis, so names holding spaces or parentheses parse too.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields or None


def all_stat_fields() -> Iterator[tuple[int, list[str]]]:
    """``(pid, stat_fields(pid))`` of every live process."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields is not None:
                yield int(entry), fields


TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float | None:
    """User plus system CPU seconds of a live process (all its threads), or None once it is gone."""
    fields = stat_fields(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) * TICK_S


def machine_busy_s() -> float:
    """CPU seconds every core of the machine spent busy since boot (``/proc/stat``: all but idle and iowait)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) * TICK_S
