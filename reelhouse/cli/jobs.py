"""Dagster: ``reelhouse run`` (the main job), ``backfill`` and ``ui``."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
from pathlib import Path

from reelhouse.config import Settings
from reelhouse.cli._common import _console
from reelhouse.cli.sql import run_sql, sql_text
from reelhouse.cli.search import cmd_similar


def ensure_sample_library(settings: Settings, console) -> None:
    """Fill an empty landing folder with the generated sample titles plus a real clip from a package."""
    from reelhouse.media.landing import VIDEO_SUFFIXES
    from reelhouse.samples import build_sample_library, real_clips

    landing = settings.resolved_landing
    landing.mkdir(parents=True, exist_ok=True)
    if any(p.suffix.lower() in VIDEO_SUFFIXES for p in landing.rglob("*")):
        return
    console.print(f"[bold]Landing folder {landing} is empty: adding the sample library[/bold]")
    build_sample_library(landing)
    clip = real_clips().get("bikes")
    if clip is not None:
        shutil.copyfile(clip, landing / "bikes.mp4")


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from rich.table import Table

    from dagster_project.library_run import run_library
    from reelhouse.features.rows import media_row, shot_rows
    from reelhouse.lakehouse import FeatureStore, WarehouseUnavailable

    console = _console()
    if not args.no_samples:
        ensure_sample_library(settings, console)
    try:
        report = run_library(settings, progress=lambda m: console.print(m))
    except WarehouseUnavailable as err:
        console.print(f"[bold red]error:[/bold red] {err}")
        return 2
    store = FeatureStore.from_settings(settings)

    titles = Table("video_id", "file", "status", "duration", "size", "shots", title="Titles")
    for vid, path in report.titles.items():
        row = media_row(store, vid) or {}
        status = row.get("status", "failed") if vid not in report.failed else "failed"
        status += " (memoized)" if vid in report.memoized else ""
        n = len(shot_rows(store, settings, vid)) if vid in report.ok and vid not in report.failed else 0
        dur = f"{row['duration_s']:.1f}s" if row.get("duration_s") else ""
        size = f"{row['display_width']}x{row['display_height']}" if row.get("display_width") else ""
        titles.add_row(vid[:12] + "…", os.path.basename(path), status, dur, size, str(n))
    console.print(titles)
    for vid, reason in {**report.quarantined, **report.failed}.items():
        console.print(f"  {os.path.basename(report.titles[vid])}: {reason}")
    if report.catalog_failed:
        console.print(f"  catalog assets (contextual model, indexes, match cuts): {report.catalog_failed}")

    console.print("\n[bold]sql/shots_per_title.sql[/bold] (Trino dialect, embedded engine)")
    run_sql(settings, sql_text("shots_per_title.sql"), {}, "table")

    good = [v for v in report.ok if v not in report.failed]
    if good:
        shots = shot_rows(store, settings, good[0])
        probe_shot = shots[len(shots) // 2]["shot_index"]
        for embedding in ("visual", "contextual"):
            console.print()
            ns = argparse.Namespace(video_id=good[0], shot_index=probe_shot, k=5, titles=None, json=False, embedding=embedding)
            cmd_similar(ns, settings)
    return 0 if not report.failed and not report.catalog_failed else 1


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.backfill import BackfillError, backfill_feature

    console = _console(stderr=args.json)
    titles = [t for t in args.titles.split(",") if t] if args.titles else None
    try:
        report = backfill_feature(settings, args.feature, args.version, titles, dry_run=args.dry_run,
                                  progress=console.print)
    except BackfillError as err:
        print(f"reelhouse backfill: {err}", file=sys.stderr)
        return 2
    doc = {"feature": report.feature, "version": report.version, "dry_run": args.dry_run,
           "computed": report.computed, "memoized": report.memoized, "failed": report.failed}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        verb = "would compute" if args.dry_run else "computed"
        console.print(f"{report.feature}@{report.version}: {verb} {len(report.computed) - len(report.failed)}, "
                      f"memoized {len(report.memoized)}, failed {len(report.failed)}")
    return 1 if report.failed else 0


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from importlib.util import find_spec

    from dagster_project.instance import dagster_instance

    dagster_instance(settings)  # creates DAGSTER_HOME and sets the env var
    exe = Path(sys.executable).with_name("dagster")
    # The code server imports the definitions from where the packages are, not from the home folder: the home
    # holds a models/ folder (the contextual encoder's artifacts) that would shadow the `models` package.
    spec = find_spec("dagster_project.definitions")
    assert spec is not None and spec.origin is not None
    packages = Path(spec.origin).resolve().parent.parent
    cmd = [str(exe), "dev", "-m", "dagster_project.definitions", "-d", str(packages), "-h", args.host, "-p", str(args.port)]
    os.chdir(settings.home)  # dagster dev's own files (if any) land there, never in the working directory
    # A shell's background job starts with SIGINT ignored, and exec keeps "ignored". `dagster dev` maps
    # SIGTERM to its SIGINT handler, so it would then ignore both and only SIGKILL (leaving the webserver
    # and daemon behind) could stop it. With the defaults restored, either signal shuts it down cleanly.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover
