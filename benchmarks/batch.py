"""Benchmark: the batch runner's overhead per title, against the same per-title compute with no Spark,
Dagster or Iceberg.

Titles: N generated titles (``clip_spec``: 3-5 s each, 320x176 at 24 fps, 2-6 shots with cuts, one
dissolve, fade, flash and fast pan where they fit, tones and silences, brown noise in every third
title, an ``.srt`` sidecar on every other one), rendered once into a cache folder (``--cache``; not timed).

Pipeline runs. Each is a fresh ``REELHOUSE_HOME`` whose landing folder holds the N titles (hard links),
run by ``dagster_project.library_run.run_library`` (what ``reelhouse run`` does) in its own process:
the N = ``--titles`` titles (default 64 and 256) on ``local[2]``, then the ``--cluster-titles`` (64)
on the loopback standalone cluster (``infra/scripts/spark_cluster.sh``) with 1 and then 2 workers of
one core. Every per-title feature is computed from scratch. Before its measured run, the process runs
the same main job over 2 other titles in another home (not timed), so the JVM, the Spark application
(and the cluster's executors) and the model files are warm; peak-memory marks are reset after it.

Measured in that process: the wall seconds of ``run_library``; within it, of ``materialize_catalog``
(the catalog-wide assets: contextual encoder, cpu_small preset; indexes; match cuts) and of
``FeatureStore.compact_all``. The *title wall* is ``run_library`` minus ``materialize_catalog``: landing
scan, media probes, every title batch and the compaction of what they wrote. The driver's peak memory
is the Python driver process's own peak RSS (VmHWM, reset after the warm-up; ``driver_peak_rss_mb_N``);
the Spark JVM's peak (``jvm_peak_rss_mb_N``: in local mode it is also the executor) and the whole process
tree's (driver, JVM, Python workers; sampled every second) are reported beside it. Then, from the home:
the Dagster runs in its instance (all of them: media, title batches, catalog), the Iceberg commits of
each table (one ``commit_files`` transaction is one commit even where it makes a delete and an append
snapshot), split into the title batches' feature writes (Dagster runs over title partitions),
compactions (``reelhouse.operation = compact``) and the catalog assets' writes, and the per-title
features' coverage (``todo_by_title``: every title must hold every feature at its current version).
``commits_per_table_256`` is the most feature-write commits of the title batches to one table (several
jobs write ``shot_embeddings``: ``commits_per_table_per_job_256`` is the most to one table by one job).
Where the time goes: the CPU seconds of the measured run (``driver_cpu_s``: the Python driver, Dagster
included; ``driver_jvm_cpu_s``: the Spark JVM it started; ``machine_busy_core_s``: every core, cluster
workers and executors included), per local run and per cluster run. On 2 cores the driver's own CPU
(about 1.1 s per title on the cluster runs) competes with the two workers for the same cores, which
bounds ``speedup_2_workers_vs_1``.

Baseline (the fairest a sceptic would pick): the same per-title compute functions (the ``TitleJob``\\ s
of ``JOB_FACTORIES``) called directly, no Spark, Dagster or Iceberg: a ``multiprocessing`` pool of 2
processes (the 2 cores of ``local[2]``), one math thread each, every title start to finish in one
worker: content id, probe (the media row), then each job in order, its inputs taken from the title's
earlier outputs held in memory (cast to the table schemas as the executors read them), its outputs
kept in memory. Each worker runs every job on a warm-up title before the clock starts. Its wall is
from the first title handed out to the last one back.

``per_title_overhead_s = (pipeline title wall - baseline wall) / N`` for the largest N (run time minus
compute, per title; ``per_title_overhead_s_N`` for each N). ``titles_per_hour = 3600 N / title wall`` of
the largest local run. ``speedup_2_workers_vs_1`` = title wall with 1 worker / with 2 workers.
Answers: every pipeline run's rows are compared with the baseline's, title by title and feature by
feature: row counts equal, shot boundaries identical, ``has_embedding`` identical and cosine >= 0.999
per shot for every vector.

    .venv/bin/python -m benchmarks.batch                                   # 64 and 256 titles, cluster 64
    .venv/bin/python -m benchmarks.batch --titles 4,8 --cluster-titles 4   # 10-15 minutes
    .venv/bin/python -m benchmarks.batch --titles 8 --skip-cluster [--skip-baseline] [--keep]

Time: ``--titles 2,4 --cluster-titles 2`` took 8 minutes on 2 busy cores (each pipeline process also
spends about a minute on its warm-up); with the defaults, expect one to two hours (the pipeline took
about 10 s per title there, the baseline 1 s). Timings on 2 cores are noisy: run it on an idle machine.
Exits non-zero when a title failed, an answer differs, or the baseline does not compute every
per-title feature of the registry.

Last line: {"titles", "per_title_overhead_s", "driver_peak_rss_ratio_256_vs_64", "dagster_runs_256",
"commits_per_table_256", "speedup_2_workers_vs_1", "titles_per_hour", ...} then the batch size, the
figures of every run (wall, title wall, catalog and compaction seconds, peaks, runs, commits per
table, per-stage seconds of both sides), "answers_match" and "failed_titles". The ``_256`` and
``_64`` keys are the largest and smallest ``--titles``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing as mp
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa


ROOT = Path(__file__).resolve().parents[1]
CLUSTER_SCRIPT = ROOT / "infra" / "scripts" / "spark_cluster.sh"

#: The per-title jobs, in order (``module:factory``, each ``factory(settings) -> TitleJob``): what the
#: baseline computes, title by title.
JOB_FACTORIES: tuple[str, ...] = (
    "spark_jobs.encode:encode_job",
    "spark_jobs.shots:shots_job",
    "spark_jobs.shot_frames:shot_frames_job",
    "spark_jobs.visual_embeddings:visual_job",
    "spark_jobs.audio_features:audio_job",
    "spark_jobs.subtitles:subtitles_job",
    "spark_jobs.text_embeddings:text_job",
    "spark_jobs.dedup:dedup_job",
    "spark_jobs.shot_motion:motion_job",
)

#: Titles of the warm-up runs (rendered into the cache beside the measured ones).
WARMUP_TITLES = 2
WARMUP_INDEX = 100_000
SEED = 18
#: Columns never compared (bytes) and so never carried back from the baseline's workers.
BINARY_COLUMNS = ("thumbnail",)
COSINE_MIN = 0.999
#: Iceberg snapshot summary property of the writer (``reelhouse.lakehouse.store``).
OPERATION_PROPERTY = "reelhouse.operation"
RUN_ID_PROPERTY = "reelhouse.run_id"
SLICES_PROPERTY = "reelhouse.slices"
#: CPU seconds of a measured run: the Python driver (all its threads), the Spark JVM it started (in local
#: mode also the executor) and every core of the machine (cluster workers and executors included).
CPU_KEYS = ("driver_cpu_s", "driver_jvm_cpu_s", "machine_busy_core_s")


def say(msg: str) -> None:
    print(msg, flush=True)


# Titles ------------------------------------------------------------------------------------------


def clip_spec(index: int, seed: int = SEED):
    """Title ``index``: ``reelhouse.samples.title_spec``'s title at half its shot lengths (3-5 s, 2-6 shots).

    ``title_spec`` draws shots of 1.5-3.5 s; drawn at 12 fps and played at 24 fps they last 0.75-1.75 s,
    so a few seconds hold several cuts. Sound and cue times are halved with them. Every third title's
    sounds are brown noise instead of tones; every other title has subtitles (an ``.srt`` sidecar).
    """
    from reelhouse.samples import AudioSegment, ClipSpec, Cue, title_spec

    seconds = 3.0 + 0.5 * (index % 5)
    base = title_spec(index, 2 * seconds, seed=seed, width=320, height=176, fps=12.0)
    noise = index % 3 == 2
    audio = tuple(AudioSegment(start_s=a.start_s / 2, end_s=a.end_s / 2, freq_hz=None if noise else a.freq_hz,
                               sound="brown" if noise else a.sound, seed=index) for a in base.audio)
    cues = () if index % 2 else tuple(Cue(start_s=c.start_s / 2, end_s=c.end_s / 2, text=c.text) for c in base.subtitles)
    return ClipSpec(width=base.width, height=base.height, fps=24.0, shots=base.shots, audio=audio, subtitles=cues)


def title_name(index: int) -> str:
    return f"warm_{index - WARMUP_INDEX:02d}" if index >= WARMUP_INDEX else f"title_{index:04d}"


def _render(job: tuple[int, str, int]) -> str:
    """Render title ``index`` into ``cache`` unless the same spec is already there; returns its name."""
    from reelhouse.samples import generate_clip

    index, cache, seed = job
    spec = clip_spec(index, seed)
    name = title_name(index)
    folder = Path(cache)
    video, stamp = folder / f"{name}.mp4", folder / f"{name}.spec.json"
    text = spec.model_dump_json()
    if video.exists() and stamp.exists() and stamp.read_text() == text and (not spec.subtitles or video.with_suffix(".srt").exists()):
        return name
    video.with_suffix(".srt").unlink(missing_ok=True)
    generate_clip(spec, video)  # writes the .srt sidecar when the spec has cues
    stamp.write_text(text)
    return name


def render_titles(cache: Path, indices: Sequence[int], procs: int = 2, seed: int = SEED) -> dict[int, Path]:
    """Render (or find) every title of ``indices`` in ``cache``; ``index -> .mp4 path``."""
    cache.mkdir(parents=True, exist_ok=True)
    pool = mp.get_context("spawn").Pool(procs)
    try:
        names = pool.map(_render, [(i, str(cache), seed) for i in indices], chunksize=4)
        pool.close()  # workers exit normally and release what they hold (no leaked-semaphore warnings
    except BaseException:  # printed after the last line)
        pool.terminate()
        raise
    finally:
        pool.join()
    return {i: cache / f"{n}.mp4" for i, n in zip(indices, names)}


def fill_landing(landing: Path, videos: Sequence[Path]) -> None:
    """Hard-link (else copy) each video and its ``.srt`` sidecar into ``landing``."""
    landing.mkdir(parents=True, exist_ok=True)
    for video in videos:
        for src in (video, video.with_suffix(".srt")):
            if src.exists():
                dst = landing / src.name
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copyfile(src, dst)


# The baseline ------------------------------------------------------------------------------------


def load_jobs(settings, factories: Sequence[str] = JOB_FACTORIES) -> list:
    """Each factory's ``TitleJob`` for ``settings``, in order.

    Raises:
        ImportError: naming every factory that does not import.
    """
    jobs, missing = [], []
    for ref in factories:
        module, _, name = ref.partition(":")
        try:
            jobs.append(getattr(importlib.import_module(module), name)(settings))
        except (ImportError, AttributeError) as exc:
            missing.append(f"{ref} ({type(exc).__name__}: {exc})")
    if missing:
        raise ImportError("job factories that do not import: " + "; ".join(missing))
    return jobs


def input_rows(inp, video_id: str, rows: pa.Table | None) -> pa.Table:
    """A title's rows of input ``inp`` (a ``SliceInput``) from the output it names, as an executor reads
    them (``reelhouse.lakehouse.plan.read_title_input``): ``inp.columns`` in order, cast to the table's
    schema; a column the output lacks reads as null, ``video_id`` as the title."""
    from reelhouse.lakehouse import table_def

    schema = table_def(inp.table).arrow_schema
    fields = [schema.field(c) for c in inp.columns]
    if rows is None:
        return pa.schema(fields).empty_table()
    n = rows.num_rows
    cols = []
    for f in fields:
        if f.name == "video_id":
            cols.append(pa.array([video_id] * n, f.type))
        elif f.name in rows.column_names:
            cols.append(rows.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def media_row(path: Path, video_id: str) -> dict:
    """The title's ``media`` row, as ingestion records it (``reelhouse.pipeline.media``): probe fields,
    status, source and sidecar URIs; a ``MediaError`` gives a quarantined row."""
    from reelhouse.media.errors import MediaError
    from reelhouse.media.probe import probe

    srt = path.with_suffix(".srt")
    row: dict = {"video_id": video_id, "source_uri": path.resolve().as_uri(), "size_bytes": path.stat().st_size,
                 "subtitle_uri": srt.resolve().as_uri() if srt.is_file() else None, "error_code": None,
                 "error_message": None}
    try:
        rec = probe(path)
    except MediaError as exc:
        return {**row, "status": "quarantined", "error_code": exc.code, "error_message": str(exc)}
    row["status"] = "ok"
    for key in ("container", "duration_s", "fps", "is_vfr", "frame_count", "width", "height", "display_width",
                "display_height", "rotation", "sample_aspect_ratio", "video_codec", "pix_fmt", "has_audio", "audio_codec"):
        row[key] = getattr(rec, key)
    row["audio_streams"], row["subtitle_streams"] = json.dumps(rec.audio_streams), json.dumps(rec.subtitle_streams)
    return row


def run_title_jobs(jobs: Sequence, video_id: str, media: Mapping, media_version: str,
                   clock: Callable[[], float] = time.perf_counter) -> tuple[dict[str, pa.Table], dict[str, float]]:
    """Every job for one title, start to finish, in memory: ``(feature -> rows, job name -> seconds)``.

    An input ``SliceInput(table, feature, version, columns)`` takes the rows of the output called
    ``feature`` (the ``media`` row to begin with) when its version is the one asked for.

    Raises:
        RuntimeError: a required input is missing or an output came back empty (the batch runner fails
            such a title too); whatever a job's compute raises.
    """
    held: dict[str, tuple[str, pa.Table]] = {"media": (media_version, pa.Table.from_pylist([dict(media)]))}
    seconds: dict[str, float] = {}
    for job in jobs:
        t0 = clock()
        inputs = {}
        for name, inp in job.inputs.items():
            have = held.get(inp.feature)
            rows = have[1] if have is not None and have[0] == inp.feature_version else None
            if rows is None and name in job.required:
                raise RuntimeError(f"{job.name}: no {inp.feature}@{inp.feature_version} rows for input {name!r}")
            inputs[name] = input_rows(inp, video_id, rows)
        produced = job.compute(video_id, inputs)
        for spec in job.outputs:
            table = produced[spec.name]
            if not table.num_rows:
                raise RuntimeError(f"{job.name}: no {spec.name} rows were produced")
            held[spec.name] = (spec.version, table)
        seconds[job.name] = seconds.get(job.name, 0.0) + clock() - t0
    return {name: rows for name, (_, rows) in held.items() if name != "media"}, seconds


_WORKER: dict = {}


def _baseline_init(settings_json: str, threads: int, warm_video: str, ready) -> None:
    """Pool initializer: one math thread, the jobs built, every job run once on the warm-up title."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)
    from reelhouse.config import Settings
    from reelhouse.features.specs import media_spec
    from reelhouse.media.content_id import content_id

    settings = Settings(**json.loads(settings_json))
    _WORKER.update(jobs=load_jobs(settings), media_version=media_spec().version)
    try:
        warm = Path(warm_video)
        warm_settings = settings.model_copy(update={"home": settings.home / f"warm-{os.getpid()}"})
        vid = content_id(warm)
        run_title_jobs(load_jobs(warm_settings), vid, media_row(warm, vid), _WORKER["media_version"])
        ready.put((os.getpid(), ""))
    except Exception as exc:  # reported by the parent, which then stops
        ready.put((os.getpid(), f"{type(exc).__name__}: {exc}"))


def _baseline_title(video: str) -> dict:
    """One title in a pool worker: content id, probe, every job; outputs without binary columns."""
    from reelhouse.media.content_id import content_id

    path = Path(video)
    t0 = time.perf_counter()
    out: dict = {"path": video, "video_id": None, "error": None, "outputs": {}, "seconds": {}}
    try:
        vid = content_id(path)
        media = media_row(path, vid)
        out["video_id"] = vid
        out["seconds"]["media"] = time.perf_counter() - t0
        if media["status"] != "ok":
            raise RuntimeError(f"quarantined: {media['error_code']}: {media['error_message']}")
        outputs, seconds = run_title_jobs(_WORKER["jobs"], vid, media, _WORKER["media_version"])
        out["seconds"].update(seconds)
        out["outputs"] = {f: t.drop_columns([c for c in BINARY_COLUMNS if c in t.column_names]) for f, t in outputs.items()}
    except Exception as exc:  # reported per title
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["seconds"]["total"] = time.perf_counter() - t0
    return out


def run_baseline(videos: Sequence[Path], home: Path, warm_video: Path, procs: int = 2, threads: int = 1,
                 timeout_s: float = 3600.0) -> dict:
    """The baseline over ``videos``: ``{"wall_s", "titles": {video_id: result}, "failed", "stage_s"}``."""
    from reelhouse.config import Settings

    fill_landing(home / "landing", videos)
    settings = Settings(home=home, spark_master="local[2]", contextual={"preset": "cpu_small"})
    landed = [home / "landing" / v.name for v in videos]
    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    pool = ctx.Pool(procs, initializer=_baseline_init,
                    initargs=(settings.model_dump_json(), threads, str(warm_video), ready))
    try:
        deadline = time.monotonic() + timeout_s
        for _ in range(procs):
            pid, err = ready.get(timeout=max(1.0, deadline - time.monotonic()))
            if err:
                raise RuntimeError(f"baseline worker {pid} failed its warm-up: {err}")
        t0 = time.perf_counter()
        results = []
        it = pool.imap_unordered(_baseline_title, [str(p) for p in landed], chunksize=1)
        for _ in landed:
            results.append(it.next(timeout=max(1.0, deadline - time.monotonic())))
        wall = time.perf_counter() - t0
        pool.close()  # workers exit normally and release what they hold (no warnings after the last line)
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    stage_s: dict[str, float] = {}
    for r in results:
        for k, v in r["seconds"].items():
            if k != "total":
                stage_s[k] = stage_s.get(k, 0.0) + v
    failed = {r["video_id"] or r["path"]: r["error"] for r in results if r["error"]}
    titles = {r["video_id"]: r for r in results if r["video_id"] and not r["error"]}
    return {"wall_s": wall, "titles": titles, "failed": failed, "stage_s": stage_s}


# The pipeline, in its own process ----------------------------------------------------------------


def _vm_kb(pid: int | str, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _descendants(root: int) -> list[int]:
    from benchmarks.procfs import all_stat_fields

    kids: dict[int, list[int]] = {}
    for pid, fields in all_stat_fields():
        kids.setdefault(int(fields[1]), []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out += kids.get(pid, [])
        todo += kids.get(pid, [])
    return out


def _java_pids() -> list[int]:
    pids = []
    for pid in _descendants(os.getpid()):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "java":
                pids.append(pid)
        except OSError:
            pass
    return pids


def _reset_peaks(pids: Sequence[int | str]) -> bool:
    """Reset the peak-RSS mark (VmHWM) of each process (``5`` to ``/proc/PID/clear_refs``); True if all were."""
    ok = True
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            ok = False
    return ok


def child_main(cfg: dict) -> dict:
    """One pipeline run (in its own process): the warm-up run, then the measured ``run_library``."""
    os.environ["REELHOUSE_HOME"] = cfg["home"]
    os.environ["PYSPARK_PYTHON"] = sys.executable
    import dagster_project.library_run as library_run
    from benchmarks.pipeline import TreeRssSampler
    from benchmarks.procfs import cpu_s, machine_busy_s
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureStore

    def settings_for(home: str) -> Settings:
        return Settings(home=Path(home), spark_master=cfg["master"], spark_conf=cfg["spark_conf"],
                        contextual={"preset": "cpu_small"})

    clock = {"catalog_s": 0.0, "compaction_s": 0.0}
    run_catalog, compact_all = library_run.materialize_catalog, FeatureStore.compact_all

    def timed_catalog(*args, **kwargs):
        t = time.perf_counter()
        try:
            return run_catalog(*args, **kwargs)
        finally:
            clock["catalog_s"] += time.perf_counter() - t

    def timed_compact_all(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return compact_all(self, *args, **kwargs)
        finally:
            clock["compaction_s"] += time.perf_counter() - t

    library_run.materialize_catalog = timed_catalog  # type: ignore[assignment]
    FeatureStore.compact_all = timed_compact_all  # type: ignore[method-assign]
    if cfg.get("warmup_home"):
        t = time.perf_counter()
        warm = library_run.run_library(settings_for(cfg["warmup_home"]), progress=lambda m: say(f"warm-up: {m}"))
        say(f"warm-up: {len(warm.ok)} title(s) ok, {len(warm.failed)} failed, {time.perf_counter() - t:.1f} s")
        clock.update(catalog_s=0.0, compaction_s=0.0)
    reset = _reset_peaks(["self", *_java_pids()])
    jvm_cpu0 = {p: cpu_s(p) or 0.0 for p in _java_pids()}
    self_cpu0, busy0 = time.process_time(), machine_busy_s()
    start = time.perf_counter()

    def stamped(msg: str) -> None:
        say(f"[{time.perf_counter() - start:7.1f} s] {msg}")

    with TreeRssSampler(interval_s=1.0) as sampler:
        sampler.reset()
        report = library_run.run_library(settings_for(cfg["home"]), progress=stamped)
        wall = time.perf_counter() - start
    cpu = {"driver_cpu_s": time.process_time() - self_cpu0, "machine_busy_core_s": machine_busy_s() - busy0,
           "driver_jvm_cpu_s": sum((cpu_s(p) or 0.0) - jvm_cpu0.get(p, 0.0) for p in _java_pids())}
    java = _java_pids()
    jvm_kb = [_vm_kb(p, "VmHWM") for p in java]
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    hwm = _vm_kb("self", "VmHWM")
    return {
        "wall_s": wall, "catalog_s": clock["catalog_s"], "compaction_s": clock["compaction_s"],
        "title_wall_s": wall - clock["catalog_s"], "peaks_reset": reset,
        "driver_peak_rss_mb": (hwm or 0) / 1024, "driver_ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "jvm_peak_rss_mb": max([k for k in jvm_kb if k] or [0]) / 1024, "tree_peak_rss_mb": sampler.peak_mb,
        "tree_peak_pss_mb": sampler.peak_pss_mb, "titles": len(report.titles), "ok": len(report.ok),
        "failed": report.failed, "quarantined": report.quarantined, "failed_checks": report.failed_checks,
        "catalog_failed": report.catalog_failed, **{k: round(v, 1) for k, v in cpu.items()},
    }


def _kill_session(pid: int) -> None:
    from benchmarks.faults import kill_session

    kill_session(pid)


def run_child(cfg: dict, timeout_s: float, label: str) -> dict:
    """``python -m benchmarks.batch --child CFG`` in a new session; its output echoed; its last JSON line."""
    env = {**os.environ, "REELHOUSE_HOME": cfg["home"], "PYSPARK_PYTHON": sys.executable, "COLUMNS": "400"}
    env.pop("DAGSTER_HOME", None)  # set in this process by home_facts; the child's run sets its own
    env.setdefault("HF_HUB_OFFLINE", "1")
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.batch", "--child", json.dumps(cfg)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            start_new_session=True)
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if not line.startswith("{"):
                sys.stdout.write(f"  {label} | {line}")
                sys.stdout.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        _kill_session(proc.pid)  # nothing of it (Spark JVM, PySpark daemon, workers) outlives it
        proc.wait()
        reader.join(timeout=10)
    if code is None:
        raise RuntimeError(f"{label}: the pipeline run took over {timeout_s:.0f} s; killed")
    for line in reversed(lines):
        if line.startswith("{"):
            try:
                out = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(out, dict) and out.get("child"):
                return out
    raise RuntimeError(f"{label}: the pipeline run exited {code} without its figures:\n" + "".join(lines[-40:]))


# What a run left in its home ---------------------------------------------------------------------


def count_commits(snapshots: Sequence[tuple[int, int | None, str, dict]]) -> list[tuple[str, str | None, str]]:
    """The commits of a table from its snapshots ``(id, parent id, operation, summary properties)``, in
    order: ``(kind, run id, slices)``, kind ``compact`` or ``write``, slices the ``feature@version`` list
    the commit wrote (which job wrote it).

    A ``commit_files`` transaction that replaces rows makes two snapshots, a delete (``delete`` or
    ``overwrite``, no files added) then an ``append``, with the same ``reelhouse.*`` properties: one commit.
    """
    by_id = {s[0]: s for s in snapshots}
    out: list[tuple[str, str | None, str]] = []
    for _sid, parent, op, props in snapshots:
        if props.get(OPERATION_PROPERTY) == "compact":
            out.append(("compact", None, ""))
            continue
        prev = by_id.get(parent) if parent is not None else None
        mine = {k: v for k, v in props.items() if k.startswith("reelhouse.")}
        if (prev is not None and op == "append" and prev[2] in ("delete", "overwrite")
                and int(prev[3].get("added-data-files", "0") or 0) == 0
                and {k: v for k, v in prev[3].items() if k.startswith("reelhouse.")} == mine and mine):
            continue  # the append half of a replace
        out.append(("write", props.get(RUN_ID_PROPERTY), props.get(SLICES_PROPERTY, "")))
    return out


def table_snapshots(table) -> list[tuple[int, int | None, str, dict]]:
    out = []
    for s in sorted(table.snapshots(), key=lambda s: (s.sequence_number or 0, s.timestamp_ms)):
        summary = s.summary
        op = getattr(getattr(summary, "operation", None), "value", str(getattr(summary, "operation", "")))
        props = dict(summary.additional_properties) if summary is not None else {}
        out.append((s.snapshot_id, s.parent_snapshot_id, str(op).lower(), props))
    return out


def home_facts(home: Path, video_ids: Sequence[str]) -> dict:
    """Dagster runs, commits per table and coverage of a pipeline run's home."""
    import dagster as dg

    from dagster_project.batches import RANGE_START
    from dagster_project.instance import dagster_instance
    from reelhouse.config import Settings
    from reelhouse.features import coverage
    from reelhouse.lakehouse import ALL_TABLES, FeatureStore

    settings = Settings(home=home)
    store = FeatureStore.from_settings(settings)
    instance = dagster_instance(settings)
    runs = list(instance.get_runs())
    title_runs = {r.run_id for r in runs if "dagster/partition" in r.tags or RANGE_START in r.tags}
    stage_s: dict[str, float] = {}
    for r in runs:
        for st in instance.get_run_step_stats(r.run_id):
            if st.start_time and st.end_time:
                stage_s[st.step_key] = stage_s.get(st.step_key, 0.0) + st.end_time - st.start_time
    commits: dict[str, dict[str, int]] = {}
    per_job: dict[tuple[str, str], int] = {}  # (table, slices written) -> title-batch commits
    for name in ALL_TABLES:
        try:
            table = store.table(name)
        except Exception:  # noqa: BLE001 - a table the run never created
            continue
        counts = {"title_writes": 0, "catalog_writes": 0, "compactions": 0}
        for kind, run_id, slices in count_commits(table_snapshots(table)):
            key = "compactions" if kind == "compact" else "title_writes" if run_id in title_runs else "catalog_writes"
            counts[key] += 1
            if key == "title_writes":
                per_job[(name, slices)] = per_job.get((name, slices), 0) + 1
        if any(counts.values()):
            commits[name] = counts
    todo = coverage.todo_by_title(store, settings, video_ids)
    statuses = [r.status for r in runs]
    return {"dagster_runs": instance.get_runs_count(), "dagster_title_runs": len(title_runs),
            "dagster_runs_failed": sum(s == dg.DagsterRunStatus.FAILURE for s in statuses),
            "commits": commits, "commits_per_table": max([c["title_writes"] for c in commits.values()] or [0]),
            "commits_per_table_per_job": max(per_job.values() or [0]),
            "commits_per_table_with_catalog": max([c["title_writes"] + c["catalog_writes"] for c in commits.values()] or [0]),
            "todo": todo, "stage_s": stage_s}


def rows_by_title(store, specs: Sequence, video_ids: Sequence[str]) -> dict[str, dict[str, pa.Table]]:
    """``feature -> video_id -> rows`` of each spec's current version in ``store`` (binary columns left out)."""
    from pyiceberg.expressions import And, EqualTo

    from reelhouse.lakehouse import table_def

    wanted = set(video_ids)
    out: dict[str, dict[str, pa.Table]] = {}
    for spec in specs:
        fields = tuple(n for n in table_def(spec.table).arrow_schema.names if n not in BINARY_COLUMNS)
        rows = store.read(spec.table, And(EqualTo("feature", spec.name), EqualTo("feature_version", spec.version)),
                          selected_fields=fields)
        idx: dict[str, list[int]] = {}
        for i, vid in enumerate(rows.column("video_id").to_pylist()):
            if vid in wanted:
                idx.setdefault(vid, []).append(i)
        out[spec.name] = {vid: rows.take(ix) for vid, ix in idx.items()}
    return out


def _vectors(rows: pa.Table) -> list:
    return [None if v is None else np.asarray(v, np.float64) for v in rows.column("embedding").to_pylist()]


def compare_rows(pipeline: pa.Table | None, baseline: pa.Table | None, cosine_min: float = COSINE_MIN) -> list[str]:
    """What differs between two answers of one title and feature (empty when they match): row counts;
    shot boundaries (``shot_index``, ``start_frame``, ``end_frame``) exactly; for vectors, ``has_embedding``
    exactly and the cosine of every shot's two vectors (two all-zero vectors match)."""
    n_p = 0 if pipeline is None else pipeline.num_rows
    n_b = 0 if baseline is None else baseline.num_rows
    if n_p != n_b:
        return [f"{n_p} rows, baseline {n_b}"]
    if pipeline is None or baseline is None or n_p == 0:
        return []
    names = set(pipeline.column_names) & set(baseline.column_names)
    if "shot_index" in names:
        keys = [("shot_index", "ascending")] + ([("rank", "ascending")] if "rank" in names else [])
        pipeline, baseline = pipeline.sort_by(keys), baseline.sort_by(keys)
    problems = []
    bounds = [c for c in ("shot_index", "start_frame", "end_frame") if c in names]
    if {"start_frame", "end_frame"} <= names:
        p = list(zip(*(pipeline.column(c).to_pylist() for c in bounds)))
        b = list(zip(*(baseline.column(c).to_pylist() for c in bounds)))
        if p != b:
            problems.append(f"shot boundaries differ: {p[:6]} vs baseline {b[:6]}")
    if "shot_index" in names and pipeline.column("shot_index").to_pylist() != baseline.column("shot_index").to_pylist():
        problems.append("shot_index values differ")
    if "has_embedding" in names and pipeline.column("has_embedding").to_pylist() != baseline.column("has_embedding").to_pylist():
        problems.append("has_embedding differs")
    if "embedding" in names:
        worst = 1.0
        for u, v in zip(_vectors(pipeline), _vectors(baseline)):
            if u is None or v is None:
                if (u is None) != (v is None):
                    problems.append("a vector is null on one side only")
                continue
            nu, nv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
            if nu == 0 and nv == 0:
                continue
            cos = float(u @ v / (nu * nv)) if u.shape == v.shape and nu and nv else 0.0
            worst = min(worst, cos)
        if worst < cosine_min:
            problems.append(f"cosine {worst:.5f} < {cosine_min}")
    return problems


def compare_run(home: Path, baseline: Mapping[str, dict], specs: Sequence) -> list[str]:
    """Every title and feature of a pipeline run against the baseline; the differences (``title feature: why``)."""
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureStore

    store = FeatureStore.from_settings(Settings(home=home))
    titles = sorted(baseline)
    stored = rows_by_title(store, specs, titles)
    out = []
    for vid in titles:
        for spec in specs:
            for why in compare_rows(stored[spec.name].get(vid), baseline[vid]["outputs"].get(spec.name)):
                out.append(f"{vid[:12]} {spec.name}: {why}")
    return out


# Orchestration -----------------------------------------------------------------------------------


def free_port_pair() -> int:
    """A port P with P + 1 also free (the master's web UI)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({int(x) for x in text.split(",") if x.strip()})
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"expected positive title counts like 64,256, got {text!r}")
    return sizes


def headline(runs: Mapping[int, dict], baselines: Mapping[int, dict], cluster: Mapping[int, dict],
             batch_size: int) -> dict:
    """The last line's figures, headline keys first (pure: from the runs' figures)."""
    sizes = sorted(runs)
    big, small = sizes[-1], sizes[0]

    def overhead(n: int) -> float | None:
        base = baselines.get(n, {}).get("wall_s")
        return None if base is None else (runs[n]["title_wall_s"] - base) / n

    def r(x, nd=3):
        return None if x is None else round(x, nd)

    speedup = cluster[1]["title_wall_s"] / cluster[2]["title_wall_s"] if 1 in cluster and 2 in cluster else None
    ratio = runs[big]["driver_peak_rss_mb"] / runs[small]["driver_peak_rss_mb"] if big != small else None
    out: dict = {
        "titles": big,
        "per_title_overhead_s": r(overhead(big)),
        "driver_peak_rss_ratio_256_vs_64": r(ratio),
        "dagster_runs_256": runs[big]["dagster_runs"],
        "commits_per_table_256": runs[big]["commits_per_table"],
        "speedup_2_workers_vs_1": r(speedup),
        "titles_per_hour": round(3600 * big / runs[big]["title_wall_s"]),
        "batch_size": batch_size,
        "titles_small": small,
    }
    for n in sizes:
        run, base = runs[n], baselines.get(n, {})
        out.update({
            f"per_title_overhead_s_{n}": r(overhead(n)),
            f"baseline_wall_s_{n}": r(base.get("wall_s"), 1), f"pipeline_title_wall_s_{n}": r(run["title_wall_s"], 1),
            f"pipeline_wall_s_{n}": r(run["wall_s"], 1), f"catalog_s_{n}": r(run["catalog_s"], 1),
            f"compaction_s_{n}": r(run["compaction_s"], 1), f"driver_peak_rss_mb_{n}": r(run["driver_peak_rss_mb"], 1),
            f"jvm_peak_rss_mb_{n}": r(run["jvm_peak_rss_mb"], 1), f"tree_peak_rss_mb_{n}": r(run["tree_peak_rss_mb"], 1),
            f"tree_peak_pss_mb_{n}": r(run["tree_peak_pss_mb"], 1), f"dagster_runs_{n}": run["dagster_runs"],
            f"commits_per_table_{n}": run["commits_per_table"],
            **{f"{k}_{n}": run[k] for k in CPU_KEYS},
        })
    out["commits_per_table_per_job_256"] = runs[big]["commits_per_table_per_job"]
    out["commits_per_table_with_catalog_256"] = runs[big]["commits_per_table_with_catalog"]
    out["dagster_title_runs_256"] = runs[big]["dagster_title_runs"]
    out["dagster_runs_failed_256"] = runs[big]["dagster_runs_failed"]
    out["commits_by_table_256"] = runs[big]["commits"]
    out["stage_s_pipeline_256"] = {k: r(v, 1) for k, v in sorted(runs[big]["stage_s"].items())}
    out["stage_s_baseline_256"] = {k: r(v, 1) for k, v in baselines.get(big, {}).get("stage_s", {}).items()}
    for workers, run in sorted(cluster.items()):
        key = f"cluster_{workers}_worker{'s' if workers > 1 else ''}"
        out[f"{key}_title_wall_s"] = r(run["title_wall_s"], 1)
        out[f"{key}_wall_s"] = r(run["wall_s"], 1)
        out[f"{key}_titles"] = run["titles_run"]
        out.update({f"{key}_{k}": run[k] for k in CPU_KEYS})
    out["peaks_reset"] = all(run["peaks_reset"] for run in [*runs.values(), *cluster.values()])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=parse_sizes, default=[64, 256], help="local[2] runs, comma-separated (64,256)")
    parser.add_argument("--cluster-titles", type=int, default=64, help="titles of the 1- and 2-worker cluster runs")
    parser.add_argument("--skip-cluster", action="store_true", help="no standalone-cluster runs")
    parser.add_argument("--skip-baseline", action="store_true", help="no baseline (no overhead, no answer check)")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "reelhouse" / "batch-benchmark-titles", help="where the generated titles are kept")
    parser.add_argument("--procs", type=int, default=2, help="baseline processes (and title-rendering processes)")
    parser.add_argument("--timeout-s", type=float, default=0.0, help="per run (default 900 + 30 s per title)")
    parser.add_argument("--keep", action="store_true", help="keep the homes (printed) instead of deleting them")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        out = child_main(json.loads(args.child))
        print(json.dumps({"child": True, **out}), flush=True)
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from reelhouse.config import Settings
    from reelhouse.features import registry

    batch_size = Settings().backfill_chunk_titles
    sizes = args.titles
    cluster_n = 0 if args.skip_cluster else args.cluster_titles
    n_max = max([*sizes, cluster_n])

    def timeout(n: int) -> float:
        return args.timeout_s or 900.0 + 30.0 * n

    t0 = time.perf_counter()
    indices = [*range(n_max), *range(WARMUP_INDEX, WARMUP_INDEX + WARMUP_TITLES)]
    videos = render_titles(args.cache, indices, args.procs)
    titles = [videos[i] for i in range(n_max)]
    warm = [videos[WARMUP_INDEX + k] for k in range(WARMUP_TITLES)]
    say(f"{n_max} titles (+{WARMUP_TITLES} warm-up) in {args.cache} ({time.perf_counter() - t0:.1f} s)")

    jobs = load_jobs(Settings())
    specs = [spec for job in jobs for spec in job.outputs]
    registry_features = {f.name for f in registry.title_features() if f.name != "media"}
    uncovered = sorted(registry_features - {s.name for s in specs})
    if uncovered:
        say(f"WARNING: the baseline's jobs compute no {', '.join(uncovered)} (per-title features of the registry)")

    work = Path(tempfile.mkdtemp(prefix="reelhouse-batch-bench-"))
    failed: dict[str, str] = {}
    mismatches: list[str] = []
    base_answers: dict[str, dict] = {}
    baselines: dict[int, dict] = {}
    runs: dict[int, dict] = {}
    cluster: dict[int, dict] = {}
    try:
        if not args.skip_baseline:
            for n in sizes:
                say(f"baseline: {n} titles, {args.procs} processes, no Spark/Dagster/Iceberg ...")
                base = run_baseline(titles[:n], work / f"baseline-{n}", warm[0], args.procs, timeout_s=timeout(n))
                baselines[n] = base
                base_answers.update(base["titles"])
                failed.update({f"baseline {k}": v for k, v in base["failed"].items()})
                say(f"baseline: {n} titles in {base['wall_s']:.1f} s ({len(base['failed'])} failed); per job: "
                    + ", ".join(f"{k} {v:.1f} s" for k, v in base["stage_s"].items()))
                shutil.rmtree(work / f"baseline-{n}", ignore_errors=True)

        def pipeline(n: int, master: str, label: str) -> dict:
            home = work / label
            fill_landing(home / "landing", titles[:n])
            fill_landing(work / f"{label}-warm" / "landing", warm)
            cfg = {"home": str(home), "warmup_home": str(work / f"{label}-warm"), "master": master, "spark_conf": {}}
            say(f"{label}: {n} titles on {master} ...")
            out = run_child(cfg, timeout(n), label)
            from reelhouse.media.content_id import content_id

            vids = [content_id(v) for v in titles[:n]]
            out.update(home_facts(home, vids), titles_run=n)
            for vid, why in out["failed"].items():
                failed[f"{label} {vid}"] = why
            for vid, features in out["todo"].items():
                failed.setdefault(f"{label} {vid}", f"features not at their current version: {', '.join(features)}")
            if out["catalog_failed"]:
                failed[f"{label} catalog"] = out["catalog_failed"]
            if base_answers:
                diffs = compare_run(home, {v: base_answers[v] for v in vids if v in base_answers}, specs)
                mismatches.extend(f"{label} {d}" for d in diffs)
            say(f"{label}: run_library {out['wall_s']:.1f} s (title wall {out['title_wall_s']:.1f} s, catalog "
                f"{out['catalog_s']:.1f} s, compaction {out['compaction_s']:.1f} s); driver peak "
                f"{out['driver_peak_rss_mb']:.0f} MiB, JVM {out['jvm_peak_rss_mb']:.0f} MiB, tree "
                f"{out['tree_peak_rss_mb']:.0f} MiB; {out['dagster_runs']} Dagster runs; commits "
                + json.dumps(out["commits"]) + f"; {len(out['todo'])} title(s) incomplete")
            if args.keep:
                say(f"{label}: kept {home}")
            else:
                shutil.rmtree(home, ignore_errors=True)
                shutil.rmtree(work / f"{label}-warm", ignore_errors=True)
            return out

        for n in sizes:
            runs[n] = pipeline(n, "local[2]", f"local-{n}")
        if cluster_n:
            for workers in (1, 2):
                folder, port = work / f"cluster-{workers}", free_port_pair()
                env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
                started = subprocess.run(["bash", str(CLUSTER_SCRIPT), "start", str(folder), str(port), str(workers)],
                                         capture_output=True, text=True, timeout=300, env=env)
                try:
                    if started.returncode != 0:
                        raise RuntimeError(f"the Spark cluster did not start: {started.stderr[-2000:]}")
                    master = started.stdout.strip().splitlines()[-1]
                    cluster[workers] = pipeline(cluster_n, master, f"cluster-{workers}w-{cluster_n}")
                finally:
                    subprocess.run(["bash", str(CLUSTER_SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    if mismatches:
        say(f"{len(mismatches)} answer(s) differ from the baseline; first ones:")
        for m in mismatches[:20]:
            say(f"  {m}")
    for k, v in list(failed.items())[:20]:
        say(f"FAILED {k}: {v}")
    answers_match = None if args.skip_baseline else bool(base_answers) and not mismatches
    figures = headline(runs, baselines, cluster, batch_size)
    figures.update({"answers_match": answers_match, "answer_mismatches": len(mismatches), "failed_titles": len(failed),
                    "baseline_missing_features": uncovered, "load_avg": round(os.getloadavg()[0], 2),
                    "bench_s": round(time.perf_counter() - t0)})
    print(json.dumps(figures), flush=True)
    return 1 if failed or answers_match is False or uncovered else 0


if __name__ == "__main__":
    sys.exit(main())
