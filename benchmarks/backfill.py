"""Benchmark: backfilling a new feature version over a synthetic 1,000-title catalog, killed half-way.

The catalog is the scene catalog of ``reelhouse.samples.scene_catalog`` (shots plus visual, audio and
text shot embeddings, written through the feature store in batches). A contextual encoder is trained
on it and made current: its embeddings are a feature version no title holds yet. The backfill is the
user's command, ``reelhouse backfill --feature contextual`` (one Dagster run, chunks of
``backfill_chunk_titles`` titles, one Spark job and one commit per chunk), in its own process:

1. killed with SIGKILL (every process of its session: driver, Spark JVM, PySpark daemon, Python workers)
   once half the chunks have committed. The kill is verified: the process died of SIGKILL, and the
   chunks committed by then are at least half and fewer than all (the benchmark exits non-zero
   otherwise);
2. run again: it must resume after the last committed chunk, not start over;
3. checked: every title holds exactly one embedding per shot, nothing twice.

Memory: the peak resident memory of the backfill's process tree (driver, Spark JVM, Python workers) is
sampled. The baseline is a second new version (an encoder trained one step longer) backfilled over the
same catalog as one chunk of every title: a chunked backfill's peak should not grow with the catalog.

    .venv/bin/python -m benchmarks.backfill [--titles 1000] [--chunk 100]

About 4 minutes with the defaults on 2 idle cores (much longer when they are shared). Exits non-zero when the kill did not land half-way, the
resumed backfill failed, or it did not say what it computes.

Last line: {"titles", "shots", "chunks", "killed_after_chunks", "titles_redone", "rows_lost",
"rows_duplicated", "backfill_s", "titles_per_s", "peak_rss_mb", "peak_rss_one_chunk_mb", "load_avg"}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.faults import kill_session
from benchmarks.procfs import all_stat_fields

BATCH_TITLES = 100


def build_catalog(home: Path, n_titles: int, seed: int = 5) -> int:
    """Write ``n_titles`` scene-catalog titles (20-40 shots each) in batches; returns the shot count."""
    from models.contextual.config import cpu_small
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureStore, new_run_id
    from reelhouse.samples.scene_catalog import make_scene_catalog, write_scene_catalog

    settings = Settings(home=home)
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    dims = dict(cpu_small().modality_dims)
    shots = 0
    for first in range(0, n_titles, BATCH_TITLES):
        batch = make_scene_catalog(min(BATCH_TITLES, n_titles - first), seed + first, dims, shots_per_title=(20, 41))
        write_scene_catalog(store, settings, batch, new_run_id(), seed=seed, first=first)
        shots += sum(t.n_shots for t in batch)
    return shots


def train_encoder(home: Path, steps: int) -> str:
    """Train the contextual encoder on the catalog (which makes it current); returns its content version."""
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.pipeline import contextual

    settings = Settings(home=home, contextual={"preset": "cpu_small", "overrides": {"steps": steps}})
    return contextual.train_catalog_model(settings, FeatureStore.from_settings(settings)).content_version


def backfill_env(home: Path, chunk: int) -> dict[str, str]:
    return {**os.environ, "REELHOUSE_HOME": str(home), "REELHOUSE_SPARK_MASTER": "local[2]",
            "PYSPARK_PYTHON": sys.executable, "REELHOUSE_BACKFILL_CHUNK_TITLES": str(chunk),
            "REELHOUSE_CONTEXTUAL__PRESET": "cpu_small", "COLUMNS": "400"}


def tree_rss_mb(root_pid: int) -> float:
    """Resident memory of ``root_pid`` and all its descendants, in MiB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for pid, fields in all_stat_fields():
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / 2**20


def committed_chunks(home: Path, version: str) -> int:
    """Commits of contextual embeddings at ``version`` so far."""
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureStore

    table = FeatureStore.from_settings(Settings(home=home)).table("shot_embeddings")
    return sum(1 for s in table.snapshots()
               if f"@{version}" in s.summary.additional_properties.get("reelhouse.slices", "")
               and s.summary.additional_properties.get("reelhouse.operation") is None)


def run_backfill(home: Path, chunk: int, kill_after_chunks: int | None = None, version: str = "",
                 timeout: float = 3600.0) -> dict:
    """``reelhouse backfill --feature contextual`` in a new session; SIGKILL every process of
    it once ``kill_after_chunks`` chunks have committed (polled every second). Returns the exit code
    (``-9`` when killed), whether the kill was sent, seconds, peak RSS (MiB) and output."""
    cli = str(Path(sys.executable).with_name("reelhouse"))
    out = tempfile.TemporaryFile(mode="w+")
    t0 = time.perf_counter()
    proc = subprocess.Popen([cli, "backfill", "--feature", "contextual"], env=backfill_env(home, chunk), stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    peak, killed, last_check = 0.0, False, 0.0
    while proc.poll() is None and time.perf_counter() - t0 < timeout:
        peak = max(peak, tree_rss_mb(proc.pid))
        if kill_after_chunks is not None and time.perf_counter() - last_check > 1.0:
            last_check = time.perf_counter()
            if committed_chunks(home, version) >= kill_after_chunks:
                kill_session(proc.pid)
                killed = True
        time.sleep(0.2)
    kill_session(proc.pid)  # nothing of it (Spark JVM, PySpark daemon, workers) outlives it
    proc.wait()
    out.seek(0)
    return {"exit": proc.returncode, "killed": killed, "seconds": time.perf_counter() - t0, "peak_rss_mb": peak,
            "output": out.read()}


def embedding_damage(home: Path, version: str) -> tuple[int, int, int]:
    """``(titles, rows_lost, rows_duplicated)`` of the contextual embeddings at ``version`` against the
    catalog's shots."""
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureStore

    store = FeatureStore.from_settings(Settings(home=home))
    shots = {(r["video_id"], r["shot_index"]) for r in store.read("shots", selected_fields=("video_id", "shot_index")).to_pylist()}
    rows = store.read("shot_embeddings", f"feature_version == '{version}'", selected_fields=("video_id", "shot_index")).to_pylist()
    counts = Counter((r["video_id"], r["shot_index"]) for r in rows)
    lost = len(shots - set(counts))
    duplicated = sum(n - 1 for n in counts.values() if n > 1) + len(set(counts) - shots)
    return len({v for v, _ in shots}), lost, duplicated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--steps", type=int, default=50, help="training steps of the new encoder")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="reelhouse-backfill-"))
    say = lambda m: print(m, flush=True)  # noqa: E731
    try:
        home = work / "home"
        t0 = time.perf_counter()
        shots = build_catalog(home, args.titles)
        say(f"catalog: {args.titles} titles, {shots} shots with visual, audio and text embeddings "
            f"({time.perf_counter() - t0:.1f} s)")
        t0 = time.perf_counter()
        model = train_encoder(home, args.steps)
        from reelhouse.config import Settings
        from reelhouse.features import specs

        version = specs.contextual_spec(Settings(home=home), model).version
        say(f"new encoder {model} trained and made current ({time.perf_counter() - t0:.1f} s): "
            f"feature version {version}, held by no title")
        chunks = -(-args.titles // args.chunk)
        kill_at = max(1, chunks // 2)
        if chunks < 2:
            raise SystemExit(f"{args.titles} titles in chunks of {args.chunk} make {chunks} chunk: nothing to kill half-way")
        first = run_backfill(home, args.chunk, kill_after_chunks=kill_at, version=version)
        before = committed_chunks(home, version)
        titles_done_before = min(args.titles, before * args.chunk)
        say(f"backfill 1: SIGKILL sent {first['killed']}, exit {first['exit']}, {before} of {chunks} chunks committed "
            f"before it died ({first['seconds']:.1f} s, peak RSS {first['peak_rss_mb']:.0f} MiB)")
        if not (first["killed"] and first["exit"] == -signal.SIGKILL and kill_at <= before < chunks):
            raise SystemExit(f"the kill did not land half-way: meant after {kill_at} of {chunks} chunks, got "
                             f"killed={first['killed']}, exit {first['exit']}, {before} chunks committed:\n"
                             + first["output"][-3000:])
        second = run_backfill(home, args.chunk)
        if second["exit"] != 0:
            raise SystemExit("the resumed backfill failed:\n" + second["output"][-3000:])
        after = committed_chunks(home, version)
        found = re.search(r"(\d+) already current, (\d+) to compute", second["output"])
        if found is None:
            raise SystemExit("the resumed backfill did not say what it computes:\n" + second["output"][-3000:])
        resumed_line = found.group(0)
        redone = int(found.group(2)) - (args.titles - titles_done_before)
        say(f"backfill 2 (resumed): {resumed_line.strip()}; {after - before} more chunk commits, "
            f"{second['seconds']:.1f} s, peak RSS {second['peak_rss_mb']:.0f} MiB")
        titles, lost, duplicated = embedding_damage(home, version)
        say(f"checked: {titles} titles, {lost} rows lost, {duplicated} rows duplicated, {redone} titles computed twice")
        total_s = first["seconds"] + second["seconds"]
        # Baseline: another new version (an encoder trained one step longer) backfilled as one chunk.
        other = train_encoder(home, args.steps + 1)
        one = run_backfill(home, args.titles)
        say(f"baseline, encoder {other} backfilled as one chunk of {args.titles} titles: {one['seconds']:.1f} s, "
            f"peak RSS {one['peak_rss_mb']:.0f} MiB (chunked peak / one-chunk peak = "
            f"{max(first['peak_rss_mb'], second['peak_rss_mb']) / one['peak_rss_mb']:.2f})")
        print(json.dumps({
            "titles": titles, "shots": shots, "chunks": chunks, "killed_after_chunks": before,
            "titles_redone": redone, "rows_lost": lost, "rows_duplicated": duplicated,
            "backfill_s": round(total_s, 1), "titles_per_s": round(args.titles / total_s, 1),
            "peak_rss_mb": round(max(first["peak_rss_mb"], second["peak_rss_mb"])),
            "peak_rss_one_chunk_mb": round(one["peak_rss_mb"]), "load_avg": round(os.getloadavg()[0], 2),
        }))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
