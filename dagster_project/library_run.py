"""The main job: materialize the feature mesh for every title in the landing location.

Runs in-process against the persistent Dagster instance under ``$REELHOUSE_HOME/dagster``, so every
run also shows up in the Dagster UI (``make ui``). Titles are materialized one partition at a time; a
quarantined or failing title never stops the others.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from reelhouse.config import Settings
from reelhouse.pipeline import contextual, coverage, landing, match_cuts, media, specs
from reelhouse.search import ann

from dagster_project.assets import (
    CATALOG_ASSETS,
    FLAVOR_INDEX_FEATURES,
    TITLE_ASSETS,
    asset_keys_for,
    contextual_model,
    media_file,
    titles,
)
from dagster_project.checks import CATALOG_CHECKS, TITLE_CHECKS
from dagster_project.instance import dagster_instance
from dagster_project.resources import resources_for


@dataclass
class LibraryRun:
    """What the main job did: titles found, ok, quarantined and memoized, and per-title failures."""

    titles: dict[str, str] = field(default_factory=dict)  # video_id -> path
    ok: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)  # video_id -> reason
    failed: dict[str, str] = field(default_factory=dict)  # video_id -> error
    memoized: list[str] = field(default_factory=list)  # ok titles already holding every feature (no run)
    failed_checks: dict[str, list[str]] = field(default_factory=dict)  # video_id -> "asset.check: why"


#: In-process runs log to the Dagster instance (visible in the UI, with stack traces); the terminal
#: shows nothing from Dagster itself: callers report failures (``first_failure``) in one line.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_library(settings: Settings, progress: Callable[[str], None] = print) -> LibraryRun:
    """Materialize every asset for every title in the landing location (memoized)."""
    instance = dagster_instance(settings)
    resources = resources_for(settings)
    files = landing.scan_landing(settings.resolved_landing, settings.home / "landing-index.json")
    store = resources["reelhouse"].store()
    store.ensure_tables()
    # Titles = files in the landing folder plus titles registered with `reelhouse ingest`.
    found = media.registered_titles(store)
    found.update({f.video_id: str(f.path) for f in files})
    report = LibraryRun(titles=dict(sorted(found.items(), key=lambda kv: (kv[1], kv[0]))))
    known = set(instance.get_dynamic_partitions(titles.name))
    new = [v for v in report.titles if v not in known]
    if new:
        instance.add_dynamic_partitions(titles.name, new)
    progress(f"{len(report.titles)} title(s): {len(files)} file(s) in {settings.resolved_landing}, {len(new)} new")
    # Memoization before orchestration: titles already probed and holding every feature at its current
    # version start no run at all (a run of them would only record "memoized" for each asset).
    statuses = media.title_statuses(store)
    for vid, path in report.titles.items():
        if vid not in statuses:
            res = dg.materialize([media_file], partition_key=vid, instance=instance, resources=resources,
                                 run_config=QUIET, raise_on_error=False)
            row = media.media_row(store, vid)  # a quarantined file fails its media step on purpose
            if row is None:
                report.failed[vid] = first_failure(res) if not res.success else "media probe failed"
                continue
            statuses[vid] = row
        row = statuses[vid]
        if row["status"] != "ok":
            report.quarantined[vid] = f"{row['error_code']}: {row['error_message']}"
            progress(f"  quarantined {os.path.basename(path)}: {report.quarantined[vid]}")
        else:
            report.ok.append(vid)
    todo = coverage.todo_by_title(store, settings, report.ok)
    report.memoized = [v for v in report.ok if v not in todo]
    if report.memoized:
        progress(f"{len(report.memoized)} title(s) already hold every feature at its current version")
    for n, (vid, features) in enumerate(todo.items(), 1):
        keys = asset_keys_for(features)
        progress(f"[{n}/{len(todo)}] {os.path.basename(report.titles[vid])}: {', '.join(k.to_user_string() for k in keys)}")
        res = dg.materialize([*TITLE_ASSETS, *TITLE_CHECKS], selection=keys, partition_key=vid, instance=instance, resources=resources,
                             run_config=QUIET, raise_on_error=False)
        failed_checks = failed_check_messages(res)
        if failed_checks:
            report.failed_checks[vid] = failed_checks
            progress("  failed checks: " + "; ".join(failed_checks))
        if not res.success:
            report.failed[vid] = first_failure(res)
            progress(f"  failed: {report.failed[vid]}")
    if todo:
        # Every write adds a file per title; merge them so readers open a few files per partition.
        merged = [c for c in store.compact_all() if c.files_removed]
        if merged:
            progress("compacted " + "; ".join(map(str, merged)))
    if report.ok:
        materialize_catalog(settings, store, instance, resources, progress)
    return report


def materialize_catalog(settings: Settings, store, instance: dg.DagsterInstance, resources: dict,
                        progress: Callable[[str], None]) -> None:
    """Bring the catalog-wide assets up to date, running only when something is not current.

    The contextual encoder is trained here only when none of the configured architecture exists;
    retraining on a grown catalog is the ``contextual_training`` job's (weekly schedule, or the UI).
    """
    train = contextual.needs_training(settings)
    if train:
        progress("training the contextual shot encoder on the catalog")
    index_features = [specs.visual_spec(settings).name, *(f(settings).name for f in FLAVOR_INDEX_FEATURES.values())]
    index_root = resources["reelhouse"].index_root()
    current = (not train and not contextual.embedding_todo(store, settings)[1]
               and all(ann.has_current_index(store, index_root, f) for f in index_features)
               and match_cuts.match_cuts_current(settings, store))
    if current:
        return
    keys = [k for a in CATALOG_ASSETS if train or a is not contextual_model for k in a.keys]
    dg.materialize([*CATALOG_ASSETS, *CATALOG_CHECKS], selection=keys, instance=instance, resources=resources, run_config=QUIET)


def first_failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            return event.step_failure_data.error.message.strip().splitlines()[0]
    return "run failed"


def failed_check_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """``asset.check: description`` for every asset check that failed in the run."""
    return [f"{e.asset_key.to_user_string()}.{e.check_name}: {e.description}"
            for e in result.get_asset_check_evaluations() if not e.passed]
