"""Benchmark: the whole per-title pipeline over a library of at least 10 minutes.

Runs every stage (standardize, shots, representative frames, visual features, the other per-shot
features, dedup) title by title on the embedded default (Spark local[*], SQLite Iceberg catalog in a
temporary folder) and prints, per stage and overall, the real-time factor (media seconds / wall
seconds), plus the peak memory of the whole process tree (driver, JVM, Python worker daemon and
workers), sampled every 100 ms, per title: summed RSS, and summed PSS (see ``TreeRssSampler``). The baseline in the same run is a decode-only pass over the same files.

    .venv/bin/python -m benchmarks.pipeline [--minutes 10]

Last line: {"realtime_factor", "peak_rss_mb", "peak_pss_mb"}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.procfs import all_stat_fields


class TreeRssSampler:
    """Samples the memory of this process and all its descendants (Linux /proc), two ways:

    - RSS summed over the processes: counts a page shared by several processes (the libraries
      and weights that forked Spark Python workers share with their daemon) once per process,
      so it overstates the memory in use;
    - PSS (proportional set size) summed: each shared page divided among its sharers, which
      adds up to the physical memory the tree occupies.
    """

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _children() -> dict[int, list[int]]:
        kids: dict[int, list[int]] = defaultdict(list)
        for pid, fields in all_stat_fields():
            try:
                kids[int(fields[1])].append(pid)
            except (ValueError, IndexError):
                continue
        return kids

    @staticmethod
    def _pss_kb(pid: int) -> int:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        return 0

    def tree_mb(self) -> tuple[float, float]:
        """``(rss_mb, pss_mb)`` of the process tree now."""
        kids = self._children()
        todo, rss, pss_kb = [os.getpid()], 0, 0
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/statm") as f:
                    rss += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                pss_kb += self._pss_kb(pid)
            except OSError:
                pass
            todo.extend(kids.get(pid, []))
        return rss / 2**20, pss_kb / 1024

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = self.tree_mb()
            self.peak_mb, self.peak_pss_mb = max(self.peak_mb, rss), max(self.peak_pss_mb, pss)
            self._stop.wait(self.interval_s)

    def reset(self) -> None:
        self.peak_mb, self.peak_pss_mb = self.tree_mb()

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def build_library(folder: Path, minutes: float) -> list[Path]:
    """Real clips shipped in packages plus generated titles, at least ``minutes`` long in all."""
    from reelhouse.media.probe import probe
    from reelhouse.samples import generate_clip, real_clips, title_spec

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, src in sorted(real_clips().items()):
        dst = folder / f"{name}{src.suffix}"
        shutil.copyfile(src, dst)
        paths.append(dst)
    total = sum(probe(p, validate=False).duration_s for p in paths)
    i = 0
    while total < minutes * 60:
        spec = title_spec(i, 120.0, seed=1000 + i)
        spec = spec.model_copy(update={"width": 640, "height": 360})
        dst = folder / f"generated_{i:02d}.mp4"
        generate_clip(spec, dst)
        paths.append(dst)
        total += probe(dst, validate=False).duration_s
        i += 1
    return paths


def decode_only_s(paths: list[Path]) -> float:
    from reelhouse.media.frames import iter_frames

    t0 = time.perf_counter()
    for p in paths:
        for _ in iter_frames(p):
            pass
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="library length, minutes of media")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from reelhouse.config import Settings
    from reelhouse.features.rows import encode_row
    from reelhouse.lakehouse import FeatureStore, new_run_id
    from reelhouse.features import registry
    from reelhouse.pipeline import media

    work = Path(tempfile.mkdtemp(prefix="reelhouse-bench-"))
    try:
        print(f"building a library of >= {args.minutes:g} min in {work} ...", flush=True)
        paths = build_library(work / "library", args.minutes)
        settings = Settings(home=work / "home")
        store = FeatureStore.from_settings(settings)
        store.ensure_tables()
        run_id = new_run_id()

        # Every per-title step of the feature registry, in order, one title at a time.
        stages = {"_".join(f.name for f in feats): (lambda v, fn=feats[0].compute(): fn(settings, store, [v], run_id))
                  for feats in registry.steps().values()}
        # Warm Spark and the models once so that start-up is not billed to the first title.
        from spark_jobs.session import get_spark

        get_spark(settings.spark_master, settings.spark_conf)

        stage_s: dict[str, float] = defaultdict(float)
        per_title = []
        media_s = 0.0
        with TreeRssSampler() as sampler:
            for p in paths:
                res = media.ingest_file(store, p, run_id)
                if res.status != "ok":
                    print(f"  {p.name}: quarantined ({res.error})")
                    continue
                sampler.reset()
                t_title = 0.0
                for name, fn in stages.items():
                    t0 = time.perf_counter()
                    fn(res.video_id)
                    dt = time.perf_counter() - t0
                    stage_s[name] += dt
                    t_title += dt
                dur = encode_row(store, settings, res.video_id)["duration_s"]
                media_s += dur
                per_title.append((p.name, dur, t_title, sampler.peak_mb, sampler.peak_pss_mb))
                print(f"  {p.name:<22} {dur:7.1f} s media  {t_title:6.1f} s wall  x{dur / t_title:5.1f}  "
                      f"peak tree RSS {sampler.peak_mb:6.0f} MB, PSS {sampler.peak_pss_mb:6.0f} MB", flush=True)
        total_s = sum(stage_s.values())
        base_s = decode_only_s(paths)
        print(f"\nlibrary: {len(per_title)} titles, {media_s / 60:.1f} min of media")
        print(f"{'stage':<16}{'wall s':>9}{'realtime':>10}")
        for name, s in stage_s.items():
            print(f"{name:<16}{s:9.1f}{media_s / s:9.1f}x")
        print(f"{'overall':<16}{total_s:9.1f}{media_s / total_s:9.1f}x")
        print(f"{'decode only':<16}{base_s:9.1f}{media_s / base_s:9.1f}x   (baseline: the same files, decoded once)")
        print(f"overall / decode-only time: {total_s / base_s:.2f}")
        short = min(per_title, key=lambda t: t[1])
        long = max(per_title, key=lambda t: t[1])
        peak = max(t[3] for t in per_title)
        peak_pss = max(t[4] for t in per_title)
        print(f"peak tree RSS (sum over processes): {peak:.0f} MB; shortest title ({short[1]:.0f} s) {short[3]:.0f} MB, "
              f"longest ({long[1]:.0f} s) {long[3]:.0f} MB, ratio {long[3] / short[3]:.2f}")
        print(f"peak tree PSS (physical, shared pages counted once): {peak_pss:.0f} MB; shortest title "
              f"{short[4]:.0f} MB, longest {long[4]:.0f} MB, ratio {long[4] / short[4]:.2f}")
        print(json.dumps({"realtime_factor": round(media_s / total_s, 2), "peak_rss_mb": round(peak, 1),
                          "peak_pss_mb": round(peak_pss, 1)}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
