"""Benchmark: faults injected into real runs of the main job; counts the faults that verifiably happened
and what readers saw after each (must be nothing wrong).

Every fault is a real process failure, not a mock, and counts as *reached* only when its trigger was
observed, not assumed:

- ``spark:JOB``: ``kill -9`` of the whole run (its session: driver, Spark JVM, PySpark daemon, Python
  workers) while a task of the Spark job ``spark_jobs/JOB.py`` is computing. The run is started with
  Spark's status UI on a free loopback port; the kill comes when Spark's REST API
  (``/api/v1/applications/<app>/stages?status=active``) shows that job's stage active with no task
  finished, and a Python worker forked by the run's worker daemon is computing its task: it holds the
  title's standardized encode open (only the task's function opens it) and is using CPU (``/proc``). Reached only if, after the kill, none of
  the job's tables holds a Parquet file written since the job started (the task had not written its
  output yet);
- ``precommit:TABLE:N``: ``kill -9`` once the run has written the N-th new table metadata of TABLE,
  before the catalog points at it. Reached only if the folder then holds a metadata file of this run
  that the catalog does not reference, naming a snapshot the catalog does not know, and exactly N-1 of
  this run's snapshots of TABLE are committed;
- ``postcommit:TABLE:N``: ``kill -9`` right after the N-th commit to TABLE returned. Reached only if
  exactly N of this run's snapshots of TABLE are committed;
- several processes committing to one table at once: reached if a commit lost a race to another's;
- a landing file still being written by another process while the landing sensor ticks: reached if
  the sensor ticked while the file was incomplete;
- a full disk under the warehouse (a tmpfs in a private mount namespace with room for a third of what
  the clean run wrote): reached if the run failed with ``No space left on device``; and a read-only
  warehouse (a read-only bind mount): reached if a write there was refused just before the run.

The faults after a full disk are checked the same way, and the faults that are not kills have their
own outcome checks (a partial landing file never requested, a refusal said in one line).

After every killed run, before anything else runs, every table is read (pyiceberg, current snapshot)
and checked against a clean run of the same library and against what was committed before the run:
no duplicate key, no row of a shot that does not exist (orphan), no partial slice (each
``(video_id, feature, feature_version)`` slice present holds exactly the rows a clean run writes for
it, and a per-shot slice exactly the shots of its title's current shots), and no row committed before
the run gone. After the last faulted run a clean re-run must bring every table to the clean run's rows
and values (run ids, write times and snapshot ids aside).

Counts: ``rows_lost``: rows of the last committed state gone after a kill, plus the clean run's rows
missing at the end; ``rows_duplicated``: rows seen twice, orphans, and rows never in the clean run;
``partial_states_seen``: slices seen incomplete (or not as a clean run writes them) after a fault;
``rows_changed``: rows whose values differ from the clean run's at the end; ``other_failures``: any
other wrong outcome (a partial landing file requested, a refusal not said, a re-run that failed).

    .venv/bin/python -m benchmarks.faults [--titles 2] [--seconds 5]

About 5 minutes on 2 titles of 5 s on 2 idle cores (15 minutes measured with the cores shared, load
average 10-13); peak memory about 3 GiB (one run's Spark JVM, workers and models at a time). Linux only
(``/proc``, ``unshare``). A fault not reached is said so with what was seen, and a kill that does not
happen leaves the later faults nothing to recompute (they are then not reached either).

Last line: {"faults_injected", "faults_reached", "rows_lost", "rows_duplicated", "partial_states_seen",
"rows_changed", "other_failures", "runs", "seconds", "load_avg"}; target: reached = injected, all
counts 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

from benchmarks.procfs import all_stat_fields, stat_fields

#: Columns that differ between two correct runs: who wrote a row, when, and from which snapshot.
VOLATILE = ("run_id", "written_at", "source_snapshot_id")

#: Columns (besides the slice columns) that identify a row within its table.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "media": (),
    "encodes": (),
    "shots": ("shot_index",),
    "shot_frames": ("shot_index", "rank"),
    "shot_embeddings": ("shot_index",),
    "shot_audio": ("shot_index",),
    "subtitle_cues": ("cue_index",),
    "shot_dedup": ("shot_index",),
    "match_cuts": ("flavor", "shot_index", "rank"),
}
SLICE = ("video_id", "feature", "feature_version")

#: Per-shot tables: each of their rows must name a shot of the title's current shots.
PER_SHOT = ("shot_frames", "shot_embeddings", "shot_audio", "shot_dedup", "match_cuts")

#: Per-shot tables whose every slice covers every shot of its title (match cuts cover the shots that
#: have candidates).
EVERY_SHOT = ("shot_frames", "shot_embeddings", "shot_audio", "shot_dedup")

#: The tables each Spark job (``spark_jobs/JOB.py``) writes Parquet files to from its tasks.
SPARK_JOB_TABLES: dict[str, tuple[str, ...]] = {
    "shots": ("shots",),
    "shot_frames": ("shot_frames",),
    "visual_embeddings": ("shot_embeddings",),
    "audio_features": ("shot_embeddings", "shot_audio"),
}


# Processes of a run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Proc:
    """One process as ``/proc`` shows it; ``cpu_ticks`` is user plus system CPU time in clock ticks."""

    pid: int
    ppid: int
    session: int
    cpu_ticks: int
    argv: tuple[str, ...]


def session_processes(session: int) -> list[Proc]:
    """The live processes of session ``session`` (a run started with ``start_new_session``: its driver,
    Spark JVM, PySpark daemon (which makes its own process group) and Python workers)."""
    out = []
    for pid, fields in all_stat_fields():
        try:
            if int(fields[3]) != session or fields[0] == "Z":
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = tuple(f.read().decode(errors="replace").split("\0"))
        except (OSError, IndexError, ValueError):
            continue
        out.append(Proc(pid, int(fields[1]), int(fields[3]), int(fields[11]) + int(fields[12]), argv))
    return out


def kill_session(session: int) -> None:
    """SIGKILL every process of ``session``: its process group first, then any process of the session in
    another group (PySpark's daemon calls ``setpgid``), until none is left."""
    try:
        os.killpg(session, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for _ in range(50):
        left = session_processes(session)
        if not left:
            return
        for p in left:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def _is_daemon(p: Proc) -> bool:
    return any(p.argv[i:i + 2] in (("-m", "spark_jobs.worker_daemon"), ("-m", "pyspark.daemon")) for i in range(len(p.argv)))


def worker_daemon(procs: list[Proc]) -> int | None:
    """The pid of the PySpark worker daemon among ``procs`` (started by the Spark JVM), or None."""
    daemons = [p for p in procs if _is_daemon(p)]
    pids = {p.pid for p in daemons}
    return next((p.pid for p in daemons if p.ppid not in pids), None)


# Spark's status API ---------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SparkStatus:
    """Spark's REST status API of one run's driver (``spark.ui.port`` = ``port``), identified by the
    Spark property ``spark.reelhouse.benchmark.run`` (another process's UI on the port is ignored)."""

    port: int
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    app: str | None = None

    def conf(self) -> dict[str, str]:
        """Spark settings that make the run serve its status on ``port``."""
        return {"spark.ui.enabled": "true", "spark.ui.port": str(self.port), "spark.reelhouse.benchmark.run": self.token}

    def _get(self, path: str):  # type: ignore[no-untyped-def]
        # Generous timeout: the driver's first answers are slow on a loaded machine.
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/{path}", timeout=10) as r:
            return json.load(r)

    def active_stages(self) -> list[dict]:
        """The run's active stages (``name``, ``numActiveTasks``, ``numCompleteTasks``...); [] while its
        Spark session is not up."""
        try:
            if self.app is None:
                apps = self._get("applications")
                if not apps:
                    return []
                env = self._get(f"applications/{apps[0]['id']}/environment")
                if dict(map(tuple, env.get("sparkProperties", []))).get("spark.reelhouse.benchmark.run") != self.token:
                    return []
                self.app = apps[0]["id"]
            return self._get(f"applications/{self.app}/stages?status=active")
        except (OSError, ValueError):
            return []


# Running the main job, with or without a fault --------------------------------------------------------
def job_env(home: Path) -> dict[str, str]:
    """Environment of a main-job process on ``home`` (embedded default, a small contextual model)."""
    return {**os.environ, "REELHOUSE_HOME": str(home), "REELHOUSE_SPARK_MASTER": "local[2]",
            "PYSPARK_PYTHON": sys.executable, "HF_HUB_OFFLINE": "1",
            "REELHOUSE_CONTEXTUAL__OVERRIDES": json.dumps({"steps": 20}), "COLUMNS": "400"}


@dataclass
class RunResult:
    """One main-job process: how it ended and whether the fault it carried verifiably happened.

    Attributes:
        fault: the fault spec (None for a clean run).
        returncode: the process's exit status (``-9`` when killed).
        killed: the process died of SIGKILL.
        reached: the fault's trigger was observed (see the module docstring); False for a clean run.
        evidence: what was observed, one line.
        seconds: wall time of the run, seconds.
        output: the run's stdout and stderr.
    """

    fault: str | None
    returncode: int
    killed: bool
    reached: bool
    evidence: str
    seconds: float
    output: str = ""


def run_main_job(home: Path, fault: str | None = None, timeout: float = 1200.0,
                 env: Mapping[str, str] | None = None) -> RunResult:
    """Run ``reelhouse run --no-samples`` on ``home`` in a new session, with ``fault`` injected
    (``spark:JOB``, ``precommit:TABLE:N`` or ``postcommit:TABLE:N``, see the module docstring), and
    verify from outside whether the fault happened where it was meant to."""
    kind = fault.split(":", 1)[0] if fault else None
    before = catalog_log(home) if kind in ("precommit", "postcommit") else {}
    run_env = dict(env or job_env(home))
    status = None
    if kind == "spark":
        status = SparkStatus(free_port())
        run_env["REELHOUSE_SPARK_CONF"] = json.dumps(status.conf())
    cmd = [sys.executable, "-m", "benchmarks.faults", "child", *([fault] if kind in ("precommit", "postcommit") else [])]
    log = tempfile.TemporaryFile(mode="w+")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=run_env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=Path(__file__).resolve().parents[1])
    evidence, baseline = "", None
    try:
        if status is not None and fault is not None:
            evidence, baseline = _kill_while_task_computes(proc, status, home, fault.split(":", 1)[1], timeout)
        proc.wait(timeout=max(1.0, timeout - (time.perf_counter() - t0)))
    except subprocess.TimeoutExpired:
        kill_session(proc.pid)
        proc.wait()
        raise
    finally:
        kill_session(proc.pid)  # nothing of a run (Spark JVM, daemon, Python workers) outlives it
    seconds = time.perf_counter() - t0
    log.seek(0)
    output = log.read()
    killed = proc.returncode == -signal.SIGKILL
    reached = False
    if fault is not None:
        if not killed:
            evidence = f"not killed: the run ended with exit {proc.returncode}" + (f" ({evidence})" if evidence else "")
        elif kind == "spark":
            reached, evidence = _spark_fault_reached(home, fault.split(":", 1)[1], evidence, baseline)
        else:
            reached, evidence = _commit_fault_reached(fault, before, catalog_log(home))
    return RunResult(fault, proc.returncode, killed, reached, evidence, seconds, output)


def _data_files(home: Path, tables: tuple[str, ...]) -> set[str]:
    return {str(f) for t in tables for f in (_table_dir(home, t) / "data").rglob("*.parquet")}


def open_files(pid: int) -> list[str]:
    """The files process ``pid`` holds open (``/proc/PID/fd``); [] once it is gone."""
    out = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for fd in fds:
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


def _children_cpu(pid: int) -> dict[int, int]:
    """``{child pid: cpu_ticks}`` of ``pid``'s children (``/proc/PID/task/PID/children``); {} once gone."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return {}
    out = {}
    for kid in kids:
        fields = stat_fields(kid)
        try:
            if fields is not None:
                out[kid] = int(fields[11]) + int(fields[12])
        except (IndexError, ValueError):
            pass
    return out


def _kill_while_task_computes(proc: subprocess.Popen, status: SparkStatus, home: Path, job: str,
                              timeout: float) -> tuple[str, set[str] | None]:
    """Poll Spark's status and the run's processes; SIGKILL the run's session as soon as a stage of
    ``spark_jobs/JOB.py`` is active with no task finished, and a Python worker of the run is computing
    its task: it holds a standardized encode open (only the task's function opens it: the shot and audio
    jobs stream the title's encode while they compute) and has used CPU since it was first seen. (A
    forked worker's own setup costs about 0.25 s of CPU before the function runs, so CPU alone would not
    say the function is running; and Spark's task counts lag the listener bus, so the worker is the
    witness of the running task.)

    Returns what was seen at the kill ("" if the moment never came) and the job's tables' data files when
    a stage of the job was first seen active (None if never): files beyond those are the job's output.
    """
    media = str((home / "warehouse" / "media").resolve()) + "/"
    tick = 1.0 / os.sysconf("SC_CLK_TCK")
    deadline = time.monotonic() + timeout
    first_seen: dict[int, int] = {}
    baseline: set[str] | None = None
    daemon: int | None = None
    stages: list[dict] = []
    asked = 0.0
    most = 0
    while proc.poll() is None and time.monotonic() < deadline:
        if time.monotonic() - asked > 0.1:  # Spark's API at most 10 times a second, /proc every 10 ms
            asked = time.monotonic()
            stages = [s for s in status.active_stages()
                      if f"spark_jobs/{job}.py:" in s.get("name", "") + " " + s.get("description", "")
                      and s.get("numCompleteTasks", 0) == 0]
            if stages and baseline is None:
                baseline = _data_files(home, SPARK_JOB_TABLES[job])
        if stages and daemon is None:
            daemon = worker_daemon(session_processes(proc.pid))
        for pid, ticks in (_children_cpu(daemon) if stages and daemon is not None else {}).items():
            most = max(most, ticks)
            first_seen.setdefault(pid, ticks)
            reading = [f for f in open_files(pid) if f.startswith(media)]
            if reading and ticks > first_seen[pid]:
                kill_session(proc.pid)
                stage = stages[0]
                return (f"stage {stage['stageId']} ({stage['name'].split('/')[-1]}) active, "
                        f"{stage.get('numActiveTasks', 0)} running task(s) reported, none finished; its Python worker "
                        f"{pid} was reading {Path(reading[0]).name} and had used {ticks * tick:.2f} s of CPU "
                        f"(+{(ticks - first_seen[pid]) * tick:.2f} s since first seen)", baseline)
        time.sleep(0.01)
    return ("" if baseline is None else f"the job ran; its busiest worker seen used {most * tick:.2f} s of CPU"), baseline


def _spark_fault_reached(home: Path, job: str, seen: str, baseline: set[str] | None) -> tuple[bool, str]:
    if not seen.startswith("stage") or baseline is None:
        return False, "killed, but no running task of the job was seen"
    written = _data_files(home, SPARK_JOB_TABLES[job]) - baseline
    if written:
        return False, f"{seen}; but {len(written)} output file(s) of the job had been written: not mid-task"
    return True, f"{seen}; no output file of the job written"


def _commit_fault_reached(fault: str, before: dict[str, TableLog], after: dict[str, TableLog]) -> tuple[bool, str]:
    kind, table, nth = fault.split(":")
    n = int(nth)
    old = before.get(table, TableLog())
    new = after.get(table, TableLog())
    committed = len(set(new.snapshots) - set(old.snapshots))
    if kind == "postcommit":
        ok = committed == n
        return ok, f"{committed} snapshot(s) of {table} committed by the run (meant: {n})"
    orphans = [m for m in new.metadata_on_disk - old.metadata_on_disk - new.metadata_referenced
               if _metadata_snapshot(new.metadata_dir / m) not in (None, *new.snapshots)]
    ok = committed == n - 1 and len(orphans) >= 1
    return ok, (f"{len(orphans)} metadata file(s) of {table} written by the run and not in the catalog, naming an "
                f"uncommitted snapshot; {committed} snapshot(s) committed (meant: {n - 1})")


def _metadata_snapshot(path: Path) -> int | None:
    try:
        return json.loads(path.read_text()).get("current-snapshot-id")
    except (OSError, ValueError):
        return None


def _install_fault(spec: str) -> None:
    """In the run process: patch pyiceberg so the process group dies at the point ``spec`` names."""
    from pyiceberg.catalog import MetastoreCatalog
    from pyiceberg.catalog.sql import SqlCatalog

    kind, table, nth = spec.split(":")
    count = {"n": 0}

    def die() -> None:  # the whole session, as kill_session does, this process last
        sys.stdout.flush()
        for p in session_processes(os.getsid(0)):
            if p.pid != os.getpid():
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        os.killpg(os.getpgrp(), signal.SIGKILL)

    if kind == "precommit":
        original = MetastoreCatalog._write_metadata

        def write_metadata(metadata, io, metadata_path):  # type: ignore[no-untyped-def]
            original(metadata, io, metadata_path)
            if f"/{table}/metadata/" in metadata_path and metadata.current_snapshot_id is not None:
                count["n"] += 1
                if count["n"] == int(nth):
                    die()

        MetastoreCatalog._write_metadata = staticmethod(write_metadata)  # type: ignore[method-assign]
    elif kind == "postcommit":
        original_commit = SqlCatalog.commit_table

        def commit_table(self, tbl, requirements, updates):  # type: ignore[no-untyped-def]
            response = original_commit(self, tbl, requirements, updates)
            if tbl.name()[-1] == table:
                count["n"] += 1
                if count["n"] == int(nth):
                    die()
            return response

        SqlCatalog.commit_table = commit_table  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown fault {spec!r}")


def _child(argv: list[str]) -> int:
    if argv:
        _install_fault(argv[0])
    from reelhouse.cli import main as cli_main

    return cli_main(["run", "--no-samples"])


# Reading the tables and the catalog (read-only: nothing is created) ----------------------------------
@dataclass(frozen=True)
class TableLog:
    """What the catalog and the warehouse folder hold of one table.

    Attributes:
        snapshots: ids of the snapshots the catalog's table metadata knows, oldest first.
        metadata_referenced: names of the metadata files the catalog references (current and log).
        metadata_on_disk: names of the metadata files in the table's metadata folder.
        data_files: Parquet files in the table's data folder (referenced or not).
        metadata_dir: the table's metadata folder.
    """

    snapshots: tuple[int, ...] = ()
    metadata_referenced: frozenset[str] = frozenset()
    metadata_on_disk: frozenset[str] = frozenset()
    data_files: frozenset[str] = frozenset()
    metadata_dir: Path = Path("/nonexistent")


def _open_tables(home: Path) -> dict:  # type: ignore[type-arg]
    """``{name: pyiceberg Table or None}`` for every table, without creating anything; {} when ``home``
    has no catalog yet."""
    from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

    from reelhouse.config import Settings
    from reelhouse.lakehouse.catalog import open_catalog

    settings = Settings(home=home)
    if settings.catalog_uri is None and not (settings.home / "catalog.db").exists():
        return {}
    catalog = open_catalog(settings)
    out = {}
    for name in ROW_KEYS:
        try:
            out[name] = catalog.load_table(f"{settings.namespace}.{name}")
        except (NoSuchTableError, NoSuchNamespaceError):
            out[name] = None
    return out


def _table_dir(home: Path, name: str) -> Path:
    return home / "warehouse" / "features" / name


def catalog_log(home: Path) -> dict[str, TableLog]:
    """Every table's :class:`TableLog` now."""
    tables = _open_tables(home)
    out = {}
    for name in ROW_KEYS:
        folder = _table_dir(home, name)
        t = tables.get(name)
        out[name] = TableLog(
            snapshots=tuple(s.snapshot_id for s in t.snapshots()) if t is not None else (),
            metadata_referenced=frozenset(os.path.basename(m) for m in (
                [t.metadata_location, *(e.metadata_file for e in t.metadata.metadata_log)] if t is not None else [])),
            metadata_on_disk=frozenset(p.name for p in (folder / "metadata").glob("*.metadata.json")),
            data_files=frozenset(map(str, (folder / "data").rglob("*.parquet"))),
            metadata_dir=folder / "metadata",
        )
    return out


def snapshot_tables(home: Path) -> dict[str, pa.Table]:
    """Every table's rows at its current snapshot, as a reader sees them (volatile columns dropped, home
    paths replaced by ``<home>``); a table not created yet reads as empty."""
    from reelhouse.config import Settings
    from reelhouse.lakehouse.schemas import table_def

    settings = Settings(home=home)
    homes = sorted({str(settings.home), str(home)}, key=len, reverse=True)  # resolved (symlinks) and as given
    tables = _open_tables(home)
    out = {}
    for name in ROW_KEYS:
        t = tables.get(name)
        rows = t.scan().to_arrow() if t is not None and t.current_snapshot() is not None else table_def(name).arrow_schema.empty_table()
        rows = rows.drop_columns([c for c in VOLATILE if c in rows.column_names])
        for i, fld in enumerate(rows.schema):
            if pa.types.is_string(fld.type) or pa.types.is_large_string(fld.type):
                values = [_unhome(v, homes) if isinstance(v, str) else v for v in rows.column(i).to_pylist()]
                rows = rows.set_column(i, fld, pa.array(values, type=fld.type))
        out[name] = rows
    return out


def _referenced_files(store, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    t = store.table(table)
    return {task.file.file_path for task in t.scan().plan_files()} if t.current_snapshot() else set()


def _unhome(value: str, homes: list[str]) -> str:
    for h in homes:
        value = value.replace(h, "<home>")
    return value


def _key(table: str, row: Mapping) -> tuple:
    return tuple(row[c] for c in (*SLICE, *ROW_KEYS[table]))


def _keys_by_slice(table: str, rows: pa.Table) -> dict[tuple, list[tuple]]:
    out: dict[tuple, list[tuple]] = defaultdict(list)
    for r in rows.select([*SLICE, *ROW_KEYS[table]]).to_pylist():
        k = _key(table, r)
        out[k[:3]].append(k)
    return out


@dataclass
class StateCheck:
    """What a reader of the tables saw wrong after a fault.

    Attributes:
        partial: slices not as a clean run writes them (or per-shot slices not covering exactly their
            title's shots), one line each.
        duplicated: rows seen more than once under one key.
        orphans: per-shot rows naming a shot the title's shots do not hold.
        lost: rows visible before the faulted run and not after it.
    """

    partial: list[str] = field(default_factory=list)
    duplicated: int = 0
    orphans: int = 0
    lost: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [*self.partial, *self.details]


def check_state(tables: Mapping[str, pa.Table], reference: Mapping[str, pa.Table] | None = None,
                before: Mapping[str, pa.Table] | None = None) -> StateCheck:
    """Check what readers see in ``tables`` (from :func:`snapshot_tables`): no duplicate key, no orphan,
    every per-shot slice covering exactly its title's shots, and, given a clean run's ``reference``,
    every slice present holding exactly the rows the clean run wrote for it; given the tables
    ``before`` the faulted run, none of their rows gone."""
    check = StateCheck()
    shots: dict[str, set[int]] = defaultdict(set)
    for r in tables["shots"].select(["video_id", "shot_index"]).to_pylist():
        shots[r["video_id"]].add(r["shot_index"])
    for name, rows in tables.items():
        by_slice = _keys_by_slice(name, rows)
        ref = _keys_by_slice(name, reference[name]) if reference is not None else None
        for sl, keys in by_slice.items():
            counts = Counter(keys)
            dups = sum(n - 1 for n in counts.values() if n > 1)
            if dups:
                check.duplicated += dups
                check.details.append(f"{name} {_slice_str(sl)}: {dups} duplicated row(s)")
            if name in PER_SHOT:
                orphans = sum(1 for k in keys if k[3 if name != "match_cuts" else 4] not in shots.get(sl[0], set()))
                if orphans:
                    check.orphans += orphans
                    check.details.append(f"{name} {_slice_str(sl)}: {orphans} row(s) of shots that do not exist")
            if name in EVERY_SHOT and {k[3] for k in keys} != shots.get(sl[0], set()):
                check.partial.append(f"{name} {_slice_str(sl)}: shots {sorted({k[3] for k in keys})} "
                                     f"while the title's shots are {sorted(shots.get(sl[0], set()))}")
            if ref is not None and set(counts) != set(ref.get(sl, [])):
                check.partial.append(f"{name} {_slice_str(sl)}: {len(set(counts))} row key(s), the clean run wrote "
                                     f"{len(set(ref.get(sl, [])))} ({len(set(counts) & set(ref.get(sl, [])))} in common)")
        if before is not None:
            gone = set(_key(name, r) for r in before[name].select([*SLICE, *ROW_KEYS[name]]).to_pylist()) - \
                {k for keys in by_slice.values() for k in keys}
            if gone:
                check.lost += len(gone)
                check.details.append(f"{name}: {len(gone)} row(s) committed before the run are gone")
    return check


def _slice_str(sl: tuple) -> str:
    return f"({sl[0][:8]}, {sl[1]}, {sl[2]})"


def invariant_violations(home: Path) -> list[str]:
    """What a reader of ``home``'s tables would see wrong now, without a reference: duplicate keys, rows
    of shots that do not exist, per-shot slices not covering exactly their title's shots."""
    return check_state(snapshot_tables(home)).problems


@dataclass
class Damage:
    """Rows a faulted history cost, against a clean run."""

    lost: int = 0
    duplicated: int = 0
    changed: int = 0
    details: list[str] = field(default_factory=list)


def compare(reference: Mapping[str, pa.Table], actual: Mapping[str, pa.Table], atol: float = 1e-5) -> Damage:
    """Rows of ``reference`` missing from ``actual``, extra or twice there, and rows whose values differ
    (floats and float lists within ``atol``)."""
    damage = Damage()
    for name, ref in reference.items():
        ref_rows = {_key(name, r): r for r in ref.to_pylist()}
        got = actual[name].to_pylist()
        counts = Counter(_key(name, r) for r in got)
        lost = [k for k in ref_rows if k not in counts]
        dup = sum(n - 1 for n in counts.values() if n > 1) + sum(1 for k in counts if k not in ref_rows)
        changed = [k for r in got if (k := _key(name, r)) in ref_rows and not _same_row(ref_rows[k], r, atol)]
        columns = sorted({c for r in got if (k := _key(name, r)) in changed for c in ref_rows[k]
                          if not _same_row({c: ref_rows[k][c]}, {c: r[c]}, atol)})
        damage.lost += len(lost)
        damage.duplicated += dup
        damage.changed += len(set(changed))
        if lost or dup or changed:
            damage.details.append(f"{name}: {len(lost)} lost, {dup} duplicated, {len(set(changed))} changed"
                                  + (f" (e.g. {changed[0]}, in {columns})" if changed else ""))
    return damage


def _same_row(a: Mapping, b: Mapping, atol: float) -> bool:
    for column, x in a.items():
        y = b[column]
        if isinstance(x, float) and isinstance(y, float):
            if not np.isclose(x, y, atol=atol, rtol=0, equal_nan=True):
                return False
        elif isinstance(x, list) and isinstance(y, list) and x and isinstance(x[0], float):
            if len(x) != len(y) or not np.allclose(x, y, atol=atol, rtol=0):
                return False
        elif x != y:
            return False
    return True


def dump_tables(home: Path, folder: Path) -> None:
    """Write :func:`snapshot_tables` of ``home`` to ``folder`` (one Feather file per table)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in snapshot_tables(home).items():
        feather.write_feather(rows, str(folder / f"{name}.feather"))


def load_tables(folder: Path) -> dict[str, pa.Table]:
    """Tables written by :func:`dump_tables` ({} when there are none)."""
    if not all((folder / f"{n}.feather").exists() for n in ROW_KEYS):
        return {}
    return {n: feather.read_table(str(folder / f"{n}.feather")) for n in ROW_KEYS}


# Faults beyond killed runs ----------------------------------------------------------------------------
@dataclass
class ConcurrentResult:
    """Slices committed by processes at once: rows lost or extra, and how often a commit lost a race to
    another writer's (and was redone, by pyiceberg's transaction or by the feature store)."""

    lost: int = 0
    duplicated: int = 0
    conflicts: int = 0
    details: list[str] = field(default_factory=list)


def concurrent_commits(root: Path, writers: int = 4, commits_each: int = 5) -> ConcurrentResult:
    """``writers`` processes each commit ``commits_each`` slices of ``shots`` at once (a barrier releases
    them together); every slice must land with exactly its rows. The fault happened only if some commit
    lost a race (``conflicts``)."""
    import multiprocessing as mp

    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureStore

    home = root / "concurrent"
    FeatureStore.from_settings(Settings(home=home)).ensure_tables(["shots"])
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(writers)
    procs = [ctx.Process(target=_commit_slices, args=(str(home), w, commits_each, barrier)) for w in range(writers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    result = ConcurrentResult()
    if any(p.exitcode != 0 for p in procs):
        result.details.append(f"writer exit codes {[p.exitcode for p in procs]}")
    result.conflicts = sum(json.loads((home / f"conflicts-{w}.json").read_text()) for w in range(writers)
                           if (home / f"conflicts-{w}.json").exists())
    rows = snapshot_tables(home)["shots"].to_pylist()
    counts = Counter(_key("shots", r) for r in rows)
    expected = {(f"{w:02d}" + "a" * 30, "shots", f"v{c}", i) for w in range(writers) for c in range(commits_each)
                for i in range(3 + c)}
    result.lost = len(expected - set(counts))
    result.duplicated = sum(n - 1 for n in counts.values() if n > 1) + len(set(counts) - expected)
    return result


def _commit_slices(home: str, writer: int, commits: int, barrier) -> None:  # type: ignore[no-untyped-def]
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id

    class Conflicts(logging.Handler):  # pyiceberg retries a lost race itself, saying so at WARNING
        n = 0

        def emit(self, record: logging.LogRecord) -> None:
            Conflicts.n += "concurrent update" in record.getMessage()

    logging.getLogger("pyiceberg").addHandler(Conflicts())
    store = FeatureStore.from_settings(Settings(home=Path(home)))
    barrier.wait()
    attempts = []
    for c in range(commits):
        n = 3 + c
        rows = [{"shot_index": i, "start_frame": 10 * i, "end_frame": 10 * i + 10, "start_s": i / 2.4,
                 "end_s": (i + 1) / 2.4, "fps": 24.0, "transition": "cut", "confidence": 1.0, "detector": "test"}
                for i in range(n)]
        result = store.replace_slice("shots", FeatureSlice(f"{writer:02d}" + "a" * 30, "shots", f"v{c}"), rows, new_run_id())
        attempts.append(result.attempts)
    Path(home, f"conflicts-{writer}.json").write_text(json.dumps(sum(a - 1 for a in attempts) + Conflicts.n))


@dataclass
class LandingResult:
    """The landing sensor against a file still being written.

    Attributes:
        ticks_while_partial: sensor ticks that began and ended while the file was incomplete.
        requested_while_partial: a run was requested for the file while it was incomplete.
        requested_once_complete: a run was requested for it once complete.
    """

    ticks_while_partial: int
    requested_while_partial: bool
    requested_once_complete: bool


def landing_file_being_written(root: Path, clip: Path, chunks: int = 8, pause_s: float = 0.4) -> LandingResult:
    """A separate process copies ``clip`` into the landing folder in ``chunks`` pieces, ``pause_s`` apart,
    while the real landing sensor ticks like the daemon does (cursor and partitions persisted). A correct
    sensor requests the file once complete and never before."""
    import dagster as dg

    from dagster_project.resources import resources_for
    from dagster_project.sensors import landing_sensor
    from reelhouse.config import Settings

    settings = Settings(home=root / "landing-partial", landing_settle_s=pause_s * 2)
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    target = landing / "arriving.mp4"
    size = clip.stat().st_size
    writer = subprocess.Popen([sys.executable, "-c", _SLOW_COPY, str(clip), str(target), str(chunks), str(pause_s)])
    instance, resources, cursor = dg.DagsterInstance.ephemeral(), resources_for(settings), None
    partial_ticks = 0
    partial_requested = complete_requested = False

    def incomplete() -> bool:
        return writer.poll() is None and target.exists() and target.stat().st_size < size

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not complete_requested:
        partial_before = incomplete()
        writing = writer.poll() is None
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as ctx:
            result = landing_sensor(ctx)
        partial_ticks += partial_before and incomplete()
        for req in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
        cursor = result.cursor
        if result.run_requests:
            if writing or target.stat().st_size != size:
                partial_requested = True
            else:
                complete_requested = True
        time.sleep(pause_s / 2)
    writer.wait(30)
    return LandingResult(partial_ticks, partial_requested, complete_requested)


_SLOW_COPY = """
import sys, time
src, dst, chunks, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
data = open(src, 'rb').read()
step = -(-len(data) // chunks)
with open(dst, 'wb') as out:
    for i in range(0, len(data), step):
        out.write(data[i:i + step]); out.flush(); time.sleep(pause)
"""


def run_in_private_mount(home: Path, script: str, timeout: float = 1800.0) -> subprocess.CompletedProcess:
    """Run the shell ``script`` in a private mount namespace (``unshare -m``) with the main job's
    environment for ``home``: mounts it makes (a tmpfs, a read-only bind) are seen by nothing outside and
    vanish with it. In ``script``, ``$JOB`` runs the main job and ``$CHECK DIR`` writes the tables as a
    reader sees them to DIR (:func:`dump_tables`). Needs root or unprivileged user namespaces."""
    env = {**job_env(home), "JOB": f"{sys.executable} -m benchmarks.faults child",
           "CHECK": f"{sys.executable} -m benchmarks.faults dump {home}"}
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    return subprocess.run([*unshare, "sh", "-c", script], env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=Path(__file__).resolve().parents[1])


def table_report(tables: Mapping[str, pa.Table]) -> dict:
    """Row counts per table and what a reader would see wrong without a reference (:func:`check_state`)."""
    if not tables:
        return {"rows": {}, "problems": ["the tables could not be read"]}
    return {"rows": {n: t.num_rows for n, t in tables.items()}, "problems": check_state(tables).problems}


def tree_kib(folder: Path) -> int:
    """Bytes of the files under ``folder``, in KiB."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) // 1024


def full_disk(root: Path, landing: Path, free_kb: int = 1500) -> dict:
    """The main job with its warehouse on a tmpfs that has ``free_kb`` KiB left: it must fail clearly
    (no space left on device) and leave consistent tables; after space is freed, a re-run completes.

    Returns the exit codes, the free space before the first run (KiB), the tables after each run
    (``first_tables``, ``second_tables``) with their reports, and the first run's output.
    """
    home = root / "full-disk"
    shutil.copytree(landing, home / "landing")
    warehouse = home / "warehouse"
    warehouse.mkdir(parents=True)
    script = f"""
mount -t tmpfs -o size=32m tmpfs {warehouse} || exit 90
head -c $((32 * 1024 * 1024 - {free_kb} * 1024)) /dev/zero > {warehouse}/ballast 2>/dev/null
echo "free_kb=$(df -Pk {warehouse} | awk 'NR==2 {{print $4}}')"
$JOB > {root}/full-disk-first.log 2>&1; echo "first_exit=$?"
$CHECK {root}/full-disk-first-tables
rm {warehouse}/ballast
$JOB > {root}/full-disk-second.log 2>&1; echo "second_exit=$?"
$CHECK {root}/full-disk-second-tables
"""
    done = run_in_private_mount(home, script)
    if done.returncode == 90:
        raise RuntimeError(f"cannot mount a tmpfs in a private mount namespace: {done.stderr.strip()[-500:]}")
    out = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    first, second = load_tables(root / "full-disk-first-tables"), load_tables(root / "full-disk-second-tables")
    return {"first_exit": int(out.get("first_exit", -1)), "second_exit": int(out.get("second_exit", -1)),
            "free_kb": int(out.get("free_kb") or -1),
            "first_tables": first, "second_tables": second,
            "first_report": table_report(first), "second_report": table_report(second),
            "first_output": (root / "full-disk-first.log").read_text(errors="replace"),
            "stderr": done.stderr[-2000:]}


def read_only_warehouse(root: Path, landing: Path) -> dict:
    """The main job with its warehouse folder bind-mounted read-only: it must stop before writing
    anything, saying why, and leave no table behind. ``write_refused`` says whether a write there failed
    just before the run (the fault is in place)."""
    home = root / "read-only"
    shutil.copytree(landing, home / "landing")
    warehouse = home / "warehouse"
    warehouse.mkdir(parents=True)
    script = f"""
mount --bind {warehouse} {warehouse} && mount -o remount,bind,ro {warehouse} || exit 90
if touch {warehouse}/.probe 2>/dev/null; then rm -f {warehouse}/.probe; echo "write_refused=0"; else echo "write_refused=1"; fi
$JOB > {root}/read-only.log 2>&1; echo "exit=$?"
"""
    done = run_in_private_mount(home, script)
    if done.returncode == 90:
        raise RuntimeError(f"cannot bind-mount read-only in a private mount namespace: {done.stderr.strip()[-500:]}")
    out = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return {"exit": int(out.get("exit", -1)), "write_refused": out.get("write_refused") == "1",
            "output": (root / "read-only.log").read_text(errors="replace"),
            "warehouse_files": sorted(str(p.relative_to(warehouse)) for p in warehouse.rglob("*"))}


# The benchmark ----------------------------------------------------------------------------------------
def build_library(landing: Path, titles: int, seconds: float) -> None:
    from reelhouse.samples import build_sample_library

    build_sample_library(landing, seconds_per_title=seconds, n_titles=titles, seed=11)


@dataclass
class Tally:
    """The benchmark's counts (see the module docstring)."""

    injected: int = 0
    reached: int = 0
    lost: int = 0
    duplicated: int = 0
    partial: int = 0
    changed: int = 0
    runs: int = 0
    failures: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def fault(self, reached: bool) -> None:
        self.injected += 1
        self.reached += bool(reached)

    def seen(self, check: StateCheck, when: str) -> None:
        """Count what readers saw after a fault."""
        self.partial += len(check.partial)
        self.duplicated += check.duplicated + check.orphans
        self.lost += check.lost
        self.details += [f"{when}: {p}" for p in check.problems]

    def damage(self, damage: Damage, when: str) -> None:
        """Count a history's rows against the clean run."""
        self.lost += damage.lost
        self.duplicated += damage.duplicated
        self.changed += damage.changed
        self.details += [f"{when}: {d}" for d in damage.details]


def _seen_line(check: StateCheck) -> str:
    return "; ".join(check.problems) or "no partial slice, no duplicate, no orphan, nothing committed lost"


def killed_run_history(root: Path, reference: Mapping[str, pa.Table], landing: Path, faults: list[str],
                       say: Callable[[str], None], tally: Tally) -> None:
    """Runs with ``faults`` one after another on one home (each re-run recovers the previous kill); after
    each, before anything else runs, the tables are checked (:func:`check_state`) against ``reference``
    and against what was committed before the run. Then a clean run, whose tables must equal
    ``reference``."""
    home = root / "faulted"
    shutil.copytree(landing, home / "landing")
    for fault in faults:
        before = snapshot_tables(home)
        result = run_main_job(home, fault)
        tally.runs += 1
        tally.fault(result.reached)
        check = check_state(snapshot_tables(home), reference, before)
        tally.seen(check, fault)
        say(f"  {fault:<30} {'REACHED' if result.reached else 'NOT REACHED'} after {result.seconds:5.1f} s: "
            f"{result.evidence}")
        say(f"  {'':<30} tables then: {_seen_line(check)}")
    final = run_main_job(home)
    tally.runs += 1
    say(f"  {'clean re-run':<30} exit {final.returncode} after {final.seconds:5.1f} s")
    if final.returncode != 0:
        tally.failures.append("the clean re-run failed:\n" + final.output[-3000:])
    tally.damage(compare(reference, snapshot_tables(home)), "after the clean re-run")


DEFAULT_FAULTS = [
    "spark:shots",                    # shot detection computing (TransNetV2 in a Python worker)
    "precommit:shot_embeddings:1",    # the first embedding commit: metadata written, catalog not swapped
    "postcommit:shot_embeddings:2",   # a later embedding commit landed, nothing after it ran
    "spark:audio_features",           # the audio job computing (sound embeddings, speech detection)
    "postcommit:shot_embeddings:1",   # between the audio job's two commits (embeddings, then shot_audio)
    "precommit:match_cuts:1",         # the catalog stage, mid-commit of the match cuts
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    t_start = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="reelhouse-faults-"))
    say = lambda m: print(m, flush=True)  # noqa: E731
    tally = Tally()
    try:
        landing = root / "library"
        build_library(landing, args.titles, args.seconds)
        say(f"library: {args.titles} generated titles of {args.seconds:g} s")
        shutil.copytree(landing, root / "clean" / "landing")
        clean = run_main_job(root / "clean")
        tally.runs += 1
        if clean.returncode != 0:
            raise SystemExit("the clean run failed:\n" + clean.output[-3000:])
        reference = snapshot_tables(root / "clean")
        say(f"clean run: {clean.seconds:.1f} s (load average {os.getloadavg()[0]:.1f}), "
            + ", ".join(f"{n} {t.num_rows}" for n, t in reference.items()))
        ref_check = check_state(reference)
        if ref_check.problems:
            raise SystemExit("the clean run's own tables are inconsistent: " + "; ".join(ref_check.problems))

        say("killed runs, each re-run recovering the one before:")
        killed_run_history(root, reference, landing, DEFAULT_FAULTS, say, tally)

        conc = concurrent_commits(root)
        tally.fault(conc.conflicts > 0 and not conc.details)
        tally.lost += conc.lost
        tally.duplicated += conc.duplicated
        tally.failures += conc.details
        say(f"concurrent commits, 4 processes x 5 slices of one table released together: "
            f"{'REACHED' if conc.conflicts else 'NOT REACHED'} ({conc.conflicts} commit attempt(s) lost a race "
            f"and were redone); {conc.lost} rows lost, {conc.duplicated} duplicated")

        landing_result = landing_file_being_written(root, next(landing.glob("*.mp4")))
        tally.fault(landing_result.ticks_while_partial > 0)
        tally.failures += ["a partial landing file was requested"] if landing_result.requested_while_partial else []
        tally.failures += ["the completed landing file was never requested"] if not landing_result.requested_once_complete else []
        say(f"landing file written in 8 pieces while the sensor ticks: "
            f"{'REACHED' if landing_result.ticks_while_partial else 'NOT REACHED'} "
            f"({landing_result.ticks_while_partial} tick(s) while incomplete); requested while partial "
            f"{landing_result.requested_while_partial}, once complete {landing_result.requested_once_complete}")

        # Room for about a third of what the clean run wrote to its warehouse: the run must hit the wall.
        disk = full_disk(root, landing, free_kb=max(200, tree_kib(root / "clean" / "warehouse") // 3))
        tally.runs += 2
        said = "No space left on device" in disk["first_output"]
        tally.fault(disk["first_exit"] != 0 and said)
        first_check = check_state(disk["first_tables"], reference) if disk["first_tables"] else None
        if first_check is None:
            tally.failures.append("the tables after the full-disk run could not be read")
        else:
            tally.seen(first_check, "full disk")
        if disk["second_exit"] != 0 or not disk["second_tables"]:
            tally.failures.append("the run after freeing space failed")
        else:
            tally.damage(compare(reference, disk["second_tables"]), "after freeing space")
        say(f"full disk under the warehouse ({disk['free_kb']} KiB free): "
            f"{'REACHED' if disk['first_exit'] != 0 and said else 'NOT REACHED'}: first run exit {disk['first_exit']} "
            f"({'no space left on device, said' if said else 'no ENOSPC seen'}); tables then: "
            f"{_seen_line(first_check) if first_check else 'unreadable'}; after freeing space: exit {disk['second_exit']}")

        ro = read_only_warehouse(root, landing)
        tally.runs += 1
        tally.fault(ro["write_refused"])
        said = "read-only file system" in ro["output"] and "cannot write to the warehouse" in ro["output"]
        if not (ro["exit"] == 2 and said and not ro["warehouse_files"]):
            tally.failures.append(f"read-only warehouse not refused cleanly (exit {ro['exit']}, said {said}, "
                                  f"{len(ro['warehouse_files'])} file(s) written)")
        say(f"read-only warehouse: {'REACHED' if ro['write_refused'] else 'NOT REACHED'} (a write there was "
            f"{'refused' if ro['write_refused'] else 'accepted'}); run exit {ro['exit']} "
            f"({'said so' if said else 'CAUSE NOT SAID'}), {len(ro['warehouse_files'])} file(s) written")

        problems = tally.details + tally.failures
        if problems:
            say("problems:\n  " + "\n  ".join(problems))
        seconds = time.perf_counter() - t_start
        load = os.getloadavg()
        say(f"{tally.reached} of {tally.injected} faults reached over {tally.runs} runs of the main job: "
            f"{tally.lost} rows lost, {tally.duplicated} duplicated, {tally.partial} partial states seen, "
            f"{tally.changed} changed; {seconds:.0f} s, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        print(json.dumps({"faults_injected": tally.injected, "faults_reached": tally.reached,
                          "rows_lost": tally.lost, "rows_duplicated": tally.duplicated,
                          "partial_states_seen": tally.partial, "rows_changed": tally.changed,
                          "other_failures": len(tally.failures), "runs": tally.runs,
                          "seconds": round(seconds, 1), "load_avg": round(load[0], 2)}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        raise SystemExit(_child(sys.argv[2:]))
    if len(sys.argv) > 3 and sys.argv[1] == "dump":
        dump_tables(Path(sys.argv[2]), Path(sys.argv[3]))
        raise SystemExit(0)
    main()
