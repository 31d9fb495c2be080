"""Benchmark: faults injected into real runs of the main job, and the rows they cost (must be none).

Every fault is a real process failure, not a mock:

- ``kill -9`` of the whole run (driver, Spark JVM, Python workers) while a Spark job has written some
  of its Parquet files but not committed them;
- ``kill -9`` in the middle of a commit: pyiceberg has written the new manifests and table metadata,
  and the catalog does not point at them yet;
- ``kill -9`` right after a commit landed, before the run recorded it or wrote the stage's next table;
- several processes committing to the same table at once;
- a landing file still being written while the landing sensor ticks;
- a full disk under the warehouse (a small tmpfs in a private mount namespace) and a read-only one.

After each killed run, the tables must show no duplicate keys and no row of a shot that does not exist;
after the last re-run, every table must equal a clean run's (same rows, same values; run ids, write
times and snapshot ids aside). ``rows_lost`` counts the clean run's rows missing afterwards,
``rows_duplicated`` the rows seen twice or never in the clean run.

    .venv/bin/python -m benchmarks.faults [--titles 2] [--seconds 5]

Last line: {"faults_injected", "runs", "rows_lost", "rows_duplicated", "rows_changed", "seconds"}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

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


# Running the main job, with or without a fault --------------------------------------------------------
def job_env(home: Path) -> dict[str, str]:
    """Environment of a main-job process on ``home`` (embedded default, a small contextual model)."""
    return {**os.environ, "REELHOUSE_HOME": str(home), "REELHOUSE_SPARK_MASTER": "local[2]",
            "PYSPARK_PYTHON": sys.executable, "HF_HUB_OFFLINE": "1",
            "REELHOUSE_CONTEXTUAL__OVERRIDES": json.dumps({"steps": 20}), "COLUMNS": "400"}


@dataclass
class RunResult:
    """One main-job process: how it ended and whether the fault it carried was injected."""

    fault: str | None
    returncode: int
    killed: bool
    seconds: float
    output: str = ""


def run_main_job(home: Path, fault: str | None = None, timeout: float = 1200.0,
                 env: Mapping[str, str] | None = None) -> RunResult:
    """Run ``reelhouse run --no-samples`` on ``home`` in a new process group, with ``fault`` injected.

    Faults:
        ``precommit:TABLE:N``: SIGKILL the process group when the N-th new metadata file of TABLE has been
            written, before the catalog points at it (in the run process: see :func:`_install_fault`).
        ``postcommit:TABLE:N``: SIGKILL it right after the N-th commit to TABLE returned.
        ``spark:TABLE``: SIGKILL it from outside as soon as TABLE's data folder holds a Parquet file that no
            snapshot references: a Spark job is half-way (executors write, the driver commits at the end).
    """
    cmd = [sys.executable, "-m", "benchmarks.faults", "child", *([fault] if fault and not fault.startswith("spark:") else [])]
    log = tempfile.TemporaryFile(mode="w+")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=dict(env or job_env(home)), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=Path(__file__).resolve().parents[1])
    killed = False
    try:
        if fault and fault.startswith("spark:"):
            killed = _kill_when_uncommitted(proc, home, fault.split(":", 1)[1], timeout)
        proc.wait(timeout=max(1.0, timeout - (time.perf_counter() - t0)))
    except subprocess.TimeoutExpired:
        _killpg(proc.pid)
        proc.wait()
        raise
    finally:
        _killpg(proc.pid)  # nothing of a killed run (Spark JVM, Python workers) outlives it
    log.seek(0)
    output = log.read()
    killed = killed or proc.returncode == -signal.SIGKILL
    return RunResult(fault, proc.returncode, killed, time.perf_counter() - t0, output)


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill_when_uncommitted(proc: subprocess.Popen, home: Path, table: str, timeout: float) -> bool:
    """Poll TABLE's data folder; SIGKILL the run as soon as a new Parquet file appears there (executors
    write a job's files as they go and the driver commits them at the end). True if it killed the run."""
    data = home / "warehouse" / "features" / table / "data"
    seen: set[str] = set(map(str, data.rglob("*.parquet"))) if data.exists() else set()
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if data.exists() and set(map(str, data.rglob("*.parquet"))) - seen:
            os.killpg(proc.pid, signal.SIGKILL)
            return True
        time.sleep(0.02)
    return False


def _referenced_files(store, table: str) -> set[str]:
    t = store.table(table)
    return {task.file.file_path for task in t.scan().plan_files()} if t.current_snapshot() else set()


def _install_fault(spec: str) -> None:
    """In the run process: patch pyiceberg so the process group dies at the point ``spec`` names."""
    from pyiceberg.catalog import MetastoreCatalog
    from pyiceberg.catalog.sql import SqlCatalog

    kind, table, nth = spec.split(":")
    count = {"n": 0}

    def die() -> None:
        sys.stdout.flush()
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


# Reading and comparing the tables -------------------------------------------------------------------
def snapshot_tables(home: Path) -> dict[str, pa.Table]:
    """Every table's current rows, volatile columns dropped, home paths replaced by ``<home>``."""
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureStore

    settings = Settings(home=home)
    store = FeatureStore.from_settings(settings)
    homes = sorted({str(settings.home), str(home)}, key=len, reverse=True)  # resolved (symlinks) and as given
    out = {}
    for name in ROW_KEYS:
        rows = store.read(name)
        rows = rows.drop_columns([c for c in VOLATILE if c in rows.column_names])
        for i, fld in enumerate(rows.schema):
            if pa.types.is_string(fld.type) or pa.types.is_large_string(fld.type):
                values = [_unhome(v, homes) if isinstance(v, str) else v for v in rows.column(i).to_pylist()]
                rows = rows.set_column(i, fld, pa.array(values, type=fld.type))
        out[name] = rows
    return out


def _unhome(value: str, homes: list[str]) -> str:
    for h in homes:
        value = value.replace(h, "<home>")
    return value


def _key(table: str, row: Mapping) -> tuple:
    return tuple(row[c] for c in (*SLICE, *ROW_KEYS[table]))


@dataclass
class Damage:
    """Rows a faulted history cost, against a clean run."""

    lost: int = 0
    duplicated: int = 0
    changed: int = 0
    details: list[str] = field(default_factory=list)


def invariant_violations(home: Path) -> list[str]:
    """What a reader of ``home``'s tables would see wrong now: duplicate keys, rows of unknown shots."""
    tables = snapshot_tables(home)
    problems = []
    for name, rows in tables.items():
        counts = Counter(_key(name, r) for r in rows.to_pylist())
        dups = sum(n - 1 for n in counts.values() if n > 1)
        if dups:
            problems.append(f"{name}: {dups} duplicated row(s)")
    shots = {(r["video_id"], r["shot_index"]) for r in tables["shots"].select(["video_id", "shot_index"]).to_pylist()}
    for name in PER_SHOT:
        orphans = sum((r["video_id"], r["shot_index"]) not in shots
                      for r in tables[name].select(["video_id", "shot_index"]).to_pylist())
        if orphans:
            problems.append(f"{name}: {orphans} row(s) of shots that do not exist")
    return problems


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


# Faults beyond killed runs ----------------------------------------------------------------------------
def concurrent_commits(root: Path, writers: int = 4, commits_each: int = 5) -> Damage:
    """``writers`` processes each commit ``commits_each`` slices of ``shots`` at once (a barrier releases
    them together); every slice must land with exactly its rows."""
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
    damage = Damage()
    if any(p.exitcode != 0 for p in procs):
        damage.details.append(f"writer exit codes {[p.exitcode for p in procs]}")
    rows = FeatureStore.from_settings(Settings(home=home)).read("shots").to_pylist()
    counts = Counter(_key("shots", r) for r in rows)
    expected = {(f"{w:02d}" + "a" * 30, "shots", f"v{c}", i) for w in range(writers) for c in range(commits_each)
                for i in range(3 + c)}
    damage.lost = len(expected - set(counts))
    damage.duplicated = sum(n - 1 for n in counts.values() if n > 1) + len(set(counts) - expected)
    return damage


def _commit_slices(home: str, writer: int, commits: int, barrier) -> None:  # type: ignore[no-untyped-def]
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id

    store = FeatureStore.from_settings(Settings(home=Path(home)))
    barrier.wait()
    for c in range(commits):
        n = 3 + c
        rows = [{"shot_index": i, "start_frame": 10 * i, "end_frame": 10 * i + 10, "start_s": i / 2.4,
                 "end_s": (i + 1) / 2.4, "fps": 24.0, "transition": "cut", "confidence": 1.0, "detector": "test"}
                for i in range(n)]
        store.replace_slice("shots", FeatureSlice(f"{writer:02d}" + "a" * 30, "shots", f"v{c}"), rows, new_run_id())


def landing_file_being_written(root: Path, clip: Path, chunks: int = 8, pause_s: float = 0.4) -> tuple[bool, bool]:
    """A separate process copies ``clip`` into the landing folder in ``chunks`` pieces, ``pause_s`` apart,
    while the real landing sensor ticks like the daemon does (cursor and partitions persisted).

    Returns ``(requested_while_partial, requested_once_complete)``; a correct sensor gives (False, True).
    """
    import dagster as dg

    from dagster_project.resources import resources_for
    from dagster_project.sensors import landing_sensor
    from reelhouse.config import Settings

    settings = Settings(home=root / "landing-partial", landing_settle_s=pause_s * 2)
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    target = landing / "arriving.mp4"
    writer = subprocess.Popen([sys.executable, "-c", _SLOW_COPY, str(clip), str(target), str(chunks), str(pause_s)])
    instance, resources, cursor = dg.DagsterInstance.ephemeral(), resources_for(settings), None
    partial_requested = complete_requested = False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not complete_requested:
        writing = writer.poll() is None
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as ctx:
            result = landing_sensor(ctx)
        for req in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
        cursor = result.cursor
        if result.run_requests:
            if writing or target.stat().st_size != clip.stat().st_size:
                partial_requested = True
            else:
                complete_requested = True
        time.sleep(pause_s / 2)
    writer.wait(30)
    return partial_requested, complete_requested


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
    vanish with it. In ``script``, ``$JOB`` runs the main job and ``$CHECK`` prints :func:`table_report`.
    Needs root or unprivileged user namespaces."""
    env = {**job_env(home), "JOB": f"{sys.executable} -m benchmarks.faults child",
           "CHECK": f"{sys.executable} -m benchmarks.faults check {home}"}
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    return subprocess.run([*unshare, "sh", "-c", script], env=env, capture_output=True, text=True, timeout=timeout,
                          cwd=Path(__file__).resolve().parents[1])


def table_report(home: Path) -> dict:
    """Row counts per table and what a reader would see wrong (see :func:`invariant_violations`)."""
    return {"rows": {n: t.num_rows for n, t in snapshot_tables(home).items()}, "problems": invariant_violations(home)}


def full_disk(root: Path, landing: Path, free_kb: int = 1500) -> dict:
    """The main job with its warehouse on a tmpfs that has ``free_kb`` KiB left: it must fail clearly
    (no space left on device) and leave consistent tables; after space is freed, a re-run completes.

    Returns the exit codes, the reports of the tables after each run and the first run's output.
    """
    home = root / "full-disk"
    shutil.copytree(landing, home / "landing")
    warehouse = home / "warehouse"
    warehouse.mkdir(parents=True)
    script = f"""
mount -t tmpfs -o size=32m tmpfs {warehouse} || exit 90
head -c $((32 * 1024 * 1024 - {free_kb} * 1024)) /dev/zero > {warehouse}/ballast 2>/dev/null
$JOB > {root}/full-disk-first.log 2>&1; echo "first_exit=$?"
echo "first_report=$($CHECK)"
rm {warehouse}/ballast
$JOB > {root}/full-disk-second.log 2>&1; echo "second_exit=$?"
echo "second_report=$($CHECK)"
"""
    done = run_in_private_mount(home, script)
    if done.returncode == 90:
        raise RuntimeError(f"cannot mount a tmpfs in a private mount namespace: {done.stderr.strip()[-500:]}")
    out = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return {"first_exit": int(out.get("first_exit", -1)), "second_exit": int(out.get("second_exit", -1)),
            "first_report": json.loads(out.get("first_report") or "{}"),
            "second_report": json.loads(out.get("second_report") or "{}"),
            "first_output": (root / "full-disk-first.log").read_text(errors="replace"),
            "stderr": done.stderr[-2000:]}


def read_only_warehouse(root: Path, landing: Path) -> dict:
    """The main job with its warehouse folder bind-mounted read-only: it must stop before writing
    anything, saying why, and leave no table behind."""
    home = root / "read-only"
    shutil.copytree(landing, home / "landing")
    warehouse = home / "warehouse"
    warehouse.mkdir(parents=True)
    script = f"""
mount --bind {warehouse} {warehouse} && mount -o remount,bind,ro {warehouse} || exit 90
$JOB > {root}/read-only.log 2>&1; echo "exit=$?"
"""
    done = run_in_private_mount(home, script)
    if done.returncode == 90:
        raise RuntimeError(f"cannot bind-mount read-only in a private mount namespace: {done.stderr.strip()[-500:]}")
    out = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return {"exit": int(out.get("exit", -1)), "output": (root / "read-only.log").read_text(errors="replace"),
            "warehouse_files": sorted(str(p.relative_to(warehouse)) for p in warehouse.rglob("*"))}


# The benchmark ----------------------------------------------------------------------------------------
def build_library(landing: Path, titles: int, seconds: float) -> None:
    from reelhouse.samples import build_sample_library

    build_sample_library(landing, seconds_per_title=seconds, n_titles=titles, seed=11)


def killed_run_history(root: Path, reference: Mapping[str, pa.Table], landing: Path, faults: list[str],
                       say: Callable[[str], None]) -> tuple[Damage, int, int]:
    """Runs with ``faults`` one after another on one home (each re-run recovers the previous kill), then a
    clean run; returns the damage against ``reference``, the faults injected and the runs made."""
    home = root / "faulted"
    shutil.copytree(landing, home / "landing")
    injected = runs = 0
    damage = Damage()
    for fault in faults:
        result = run_main_job(home, fault)
        runs += 1
        problems = invariant_violations(home)
        injected += result.killed
        say(f"  {fault:<34} {'killed' if result.killed else 'not reached (run ended ' + str(result.returncode) + ')'}"
            f" after {result.seconds:5.1f} s; tables then: {'; '.join(problems) or 'no duplicate, no orphan'}")
        damage.duplicated += sum(int(p.split(': ')[1].split()[0]) for p in problems if 'duplicated' in p)
        damage.details += problems
    final = run_main_job(home)
    runs += 1
    say(f"  {'clean re-run':<34} exit {final.returncode} after {final.seconds:5.1f} s")
    if final.returncode != 0:
        damage.details.append("the clean re-run failed:\n" + final.output[-3000:])
    end = compare(reference, snapshot_tables(home))
    damage.lost += end.lost
    damage.duplicated += end.duplicated
    damage.changed += end.changed
    damage.details += end.details
    return damage, injected, runs


DEFAULT_FAULTS = [
    "spark:shots",                    # shot detection half-way through its titles
    "precommit:shot_embeddings:1",    # the first embedding commit: metadata written, catalog not swapped
    "postcommit:shot_embeddings:2",   # a later embedding commit landed, nothing after it ran
    "spark:shot_audio",               # the audio job half-way
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
    try:
        landing = root / "library"
        build_library(landing, args.titles, args.seconds)
        say(f"library: {args.titles} generated titles of {args.seconds:g} s")
        shutil.copytree(landing, root / "clean" / "landing")
        clean = run_main_job(root / "clean")
        if clean.returncode != 0:
            raise SystemExit("the clean run failed:\n" + clean.output[-3000:])
        reference = snapshot_tables(root / "clean")
        say(f"clean run: {clean.seconds:.1f} s, "
            + ", ".join(f"{n} {t.num_rows}" for n, t in reference.items()))
        runs, injected = 1, 0
        say("killed runs, each re-run recovering the one before:")
        damage, n_injected, n_runs = killed_run_history(root, reference, landing, DEFAULT_FAULTS, say)
        injected += n_injected
        runs += n_runs
        say("concurrent commits: 4 processes x 5 slices of one table, released together")
        conc = concurrent_commits(root)
        injected += 1
        say(f"  {conc.lost} lost, {conc.duplicated} duplicated {conc.details or ''}")
        damage.lost += conc.lost
        damage.duplicated += conc.duplicated
        clip = next(landing.glob("*.mp4"))
        partial, complete = landing_file_being_written(root, clip)
        injected += 1
        say(f"landing file written in 8 pieces while the sensor ticks: requested while partial {partial}, "
            f"requested once complete {complete}")
        damage.details += ["a partial landing file was requested"] if partial else []
        damage.details += ["the completed landing file was never requested"] if not complete else []
        disk = full_disk(root, landing)
        injected += 1
        runs += 2
        say(f"full disk under the warehouse: first run exit {disk['first_exit']} "
            f"({'no space left on device, said' if 'No space left on device' in disk['first_output'] else 'CAUSE NOT SAID'}), "
            f"tables then: {'; '.join(disk['first_report'].get('problems', [])) or 'no duplicate, no orphan'}; "
            f"after freeing space: exit {disk['second_exit']}")
        after_disk = disk["second_report"].get("rows", {})
        expected = {n: t.num_rows for n, t in reference.items()}
        damage.lost += sum(max(0, expected[n] - after_disk.get(n, 0)) for n in expected)
        damage.duplicated += sum(max(0, after_disk.get(n, 0) - expected[n]) for n in expected)
        damage.details += disk["first_report"].get("problems", []) + disk["second_report"].get("problems", [])
        if disk["second_exit"] != 0:
            damage.details.append("the run after freeing space failed")
        ro = read_only_warehouse(root, landing)
        injected += 1
        runs += 1
        said = "read-only file system" in ro["output"] and "cannot write to the warehouse" in ro["output"]
        say(f"read-only warehouse: exit {ro['exit']} ({'said so' if said else 'CAUSE NOT SAID'}), "
            f"{len(ro['warehouse_files'])} file(s) written")
        damage.details += [] if ro["exit"] == 2 and said and not ro["warehouse_files"] else ["read-only warehouse not refused cleanly"]
        if damage.details:
            say("problems:\n  " + "\n  ".join(damage.details))
        say(f"{injected} faults injected over {runs} runs of the main job: {damage.lost} rows lost, "
            f"{damage.duplicated} duplicated, {damage.changed} changed")
        print(json.dumps({"faults_injected": injected, "runs": runs, "rows_lost": damage.lost,
                          "rows_duplicated": damage.duplicated, "rows_changed": damage.changed,
                          "seconds": round(time.perf_counter() - t_start, 1)}))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        raise SystemExit(_child(sys.argv[2:]))
    if len(sys.argv) > 2 and sys.argv[1] == "check":
        print(json.dumps(table_report(Path(sys.argv[2]))))
        raise SystemExit(0)
    main()
