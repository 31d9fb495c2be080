"""Benchmark: the cost of re-running an unchanged catalog, against its first run.

Builds a 10-title catalog of generated titles in a temporary home (embedded default: SQLite Iceberg
catalog, Spark local[*], a Dagster instance), runs the main job (``reelhouse run``: every asset of
every title, through Dagster) once, then again with nothing changed: the headline is the ratio of the
two wall times. The re-run checks the feature store's coverage first and starts no run for a title
that holds every feature at its current version. A third run after touching and renaming every file
shows that metadata-only changes cost the same. For the path the UI, sensor and schedule take, the
benchmark also launches every title's Dagster run anyway (assets, then their checks) and counts the
materializations that report ``memoized``.

    .venv/bin/python -m benchmarks.memo [--titles 10] [--seconds 30]

Last line: {"rerun_cost_ratio", "first_run_s", "rerun_s", "rename_rerun_s", "forced_runs_s", "forced_runs_ratio",
"memoized_assets", "computed_assets"}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each generated title")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import dagster as dg

    from dagster_project.library_run import run_library
    from reelhouse.config import Settings
    from reelhouse.samples import generate_clip, title_spec

    work = Path(tempfile.mkdtemp(prefix="reelhouse-memo-"))
    try:
        settings = Settings(home=work / "home")
        landing = settings.resolved_landing
        landing.mkdir(parents=True)
        print(f"generating {args.titles} titles of {args.seconds:g} s in {landing} ...", flush=True)
        for i in range(args.titles):
            generate_clip(title_spec(i, args.seconds, seed=7), landing / f"title_{i:02d}.mp4")

        def quiet(_msg: str) -> None:
            return None

        def timed(label: str) -> float:
            t0 = time.perf_counter()
            report = run_library(settings, progress=quiet)
            dt = time.perf_counter() - t0
            print(f"{label:<28}{dt:8.1f} s   ok {len(report.ok)}, failed {len(report.failed)}", flush=True)
            if report.failed:
                raise SystemExit(f"failures: {report.failed}")
            return dt

        first = timed("first run")
        rerun = timed("re-run, nothing changed")
        for p in sorted(landing.glob("*.mp4")):
            os.utime(p)
            p.rename(p.with_name("renamed_" + p.name))
        renamed = timed("re-run after touch + rename")

        instance = dg.DagsterInstance.get()
        n_before = len(instance.get_run_records())
        forced = forced_runs(settings, instance)
        memo, computed = memoized_counts(instance, n_before)
        print(f"{'Dagster runs anyway':<28}{forced:8.1f} s   {memo} materializations memoized, {computed} computed")
        ratio = rerun / first
        print(f"\nre-run / first run: {ratio:.4f}  (target <= 0.05); forced Dagster runs / first run: {forced / first:.3f}")
        print(json.dumps({"rerun_cost_ratio": round(ratio, 4), "first_run_s": round(first, 1), "rerun_s": round(rerun, 2),
                          "rename_rerun_s": round(renamed, 2), "forced_runs_s": round(forced, 1),
                          "forced_runs_ratio": round(forced / first, 3), "memoized_assets": memo,
                          "computed_assets": computed}))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def forced_runs(settings, instance) -> float:
    """Wall time of one in-process Dagster run per title over every per-title asset and check."""
    import dagster as dg

    from dagster_project.assets import TITLE_ASSETS, titles
    from dagster_project.checks import TITLE_CHECKS
    from dagster_project.library_run import QUIET
    from dagster_project.resources import resources_for

    resources = resources_for(settings)
    t0 = time.perf_counter()
    for vid in instance.get_dynamic_partitions(titles.name):
        dg.materialize([*TITLE_ASSETS, *TITLE_CHECKS], partition_key=vid, instance=instance, resources=resources,
                       run_config=QUIET)
    return time.perf_counter() - t0


def memoized_counts(instance, first_run_index: int) -> tuple[int, int]:
    """(memoized, computed) asset materializations of the runs after the first ``first_run_index`` runs."""
    import dagster as dg

    records = instance.get_run_records()
    new_runs = {r.dagster_run.run_id for r in records[: len(records) - first_run_index]}
    memo = computed = 0
    for run_id in new_runs:
        for ev in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            meta = ev.dagster_event.event_specific_data.materialization.metadata
            flag = meta.get("memoized")
            if flag is not None and flag.value:
                memo += 1
            else:
                computed += 1
    return memo, computed


if __name__ == "__main__":
    main()
