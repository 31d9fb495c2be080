"""The main job: materialize the feature mesh for every title in the landing location.

Runs in-process against the persistent Dagster instance under ``$REELHOUSE_HOME/dagster``, so every
run also shows up in the Dagster UI (``make ui``). Titles are materialized in batches of consecutive
partitions (``dagster_project.batches``): one run per batch, each per-title step one Spark job and one
commit per table for the whole batch. A quarantined or failing title never stops the others.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from dagster_project.assets import (
    CATALOG_ASSETS,
    FLAVOR_INDEX_FEATURES,
    TAG_ASSETS,
    TITLE_ASSETS,
    asset_keys_for,
    contextual_model,
    media_file,
    titles,
)
from dagster_project.batches import title_batches
from dagster_project.checks import CATALOG_CHECKS, TITLE_CHECKS, tags_complete
from dagster_project.resources import resources_for
from dagster_project.run_liveness import instance_for_new_runs, launcher_tags
from reelhouse.config import Settings
from reelhouse.features import coverage, specs
from reelhouse.features.rows import media_rows, registered_titles, title_statuses
from reelhouse.lakehouse import probe_warehouse, storage_failure_in_text
from reelhouse.media import landing
from reelhouse.pipeline import contextual, match_cuts
from reelhouse.pipeline.tags import tags_current
from reelhouse.search import ann


@dataclass
class LibraryRun:
    """What the main job did: titles found, ok, quarantined and memoized, and per-title failures."""

    titles: dict[str, str] = field(default_factory=dict)  # video_id -> path
    ok: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)  # video_id -> reason
    failed: dict[str, str] = field(default_factory=dict)  # video_id -> error
    memoized: list[str] = field(default_factory=list)  # ok titles already holding every feature (no run)
    failed_checks: dict[str, list[str]] = field(default_factory=dict)  # video_id -> "asset.check: why"
    catalog_failed: str | None = None  # why the catalog-wide assets (model, indexes, match cuts) failed


#: In-process runs log to the Dagster instance (visible in the UI, with stack traces); the terminal
#: shows nothing from Dagster itself: callers report failures (``first_failure``) in one line.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def run_library(settings: Settings, progress: Callable[[str], None] = print) -> LibraryRun:
    """Materialize every asset for every title in the landing location (memoized).

    Raises:
        WarehouseUnavailable: the warehouse cannot be written (checked before anything runs).
    """
    probe_warehouse(settings.resolved_warehouse_uri, settings.catalog_properties)
    instance = instance_for_new_runs(settings, progress)
    resources = resources_for(settings)
    files = landing.scan_landing(settings.resolved_landing, settings.home / "landing-index.json")
    store = resources["reelhouse"].store()
    store.ensure_tables()
    # Titles = files in the landing folder plus titles registered with `reelhouse ingest`.
    found = registered_titles(store)
    found.update({f.video_id: str(f.path) for f in files})
    report = LibraryRun(titles=dict(sorted(found.items(), key=lambda kv: (kv[1], kv[0]))))
    known = set(instance.get_dynamic_partitions(titles.name))
    new = [v for v in report.titles if v not in known]
    if new:
        instance.add_dynamic_partitions(titles.name, new)
    progress(f"{len(report.titles)} title(s): {len(files)} file(s) in {settings.resolved_landing}, {len(new)} new")
    # Memoization before orchestration: titles already probed and holding every feature at its current
    # version start no run at all (a run of them would only record "memoized" for each asset).
    statuses = title_statuses(store)
    partitions = instance.get_dynamic_partitions(titles.name)
    unprobed = {v: ("media",) for v in report.titles if v not in statuses}
    for batch in title_batches(partitions, unprobed, settings.backfill_chunk_titles):
        key, tags = batch.run_target()
        res = dg.materialize([media_file], partition_key=key, instance=instance, resources=resources,
                             run_config=QUIET, raise_on_error=False, tags={**tags, **launcher_tags()})
        rows = media_rows(store, batch.titles)
        for vid in batch.titles:
            row = rows.get(vid)  # a quarantined file fails its media step on purpose
            if row is None:
                report.failed[vid] = first_failure(res) if not res.success else "media probe failed"
            else:
                statuses[vid] = row
    for vid, path in report.titles.items():
        if vid not in statuses:
            continue
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
    batches = title_batches(partitions, todo, settings.backfill_chunk_titles)
    for n, batch in enumerate(batches, 1):
        keys = asset_keys_for(list(batch.features))
        names = ", ".join(os.path.basename(report.titles[v]) for v in batch.titles[:3])
        names += f" and {len(batch.titles) - 3} more" if len(batch.titles) > 3 else ""
        progress(f"[{n}/{len(batches)}] {len(batch.titles)} title(s) ({names}): {', '.join(k.to_user_string() for k in keys)}")
        key, tags = batch.run_target()
        res = dg.materialize([*TITLE_ASSETS, *TITLE_CHECKS], selection=keys, partition_key=key, instance=instance,
                             resources=resources, run_config=QUIET, raise_on_error=False, tags={**tags, **launcher_tags()})
        failed_checks = failed_check_messages(res)
        if failed_checks:
            for vid in batch.titles:  # a batch's check names the titles that failed it
                mine = [m for m in failed_checks if len(batch.titles) == 1 or vid in m]
                if mine:
                    report.failed_checks[vid] = mine
            progress("  failed checks: " + "; ".join(failed_checks))
        if not res.success:
            # The titles that succeeded are committed; those still lacking a feature are the failed ones.
            why = first_failure(res)
            left = coverage.todo_by_title(store, settings, list(batch.titles))
            for vid in left:
                report.failed[vid] = why
            progress(f"  failed ({len(left)} of {len(batch.titles)} title(s)): {why}")
    if todo:
        # Every write adds a file per title; merge them so readers open a few files per partition.
        merged = [c for c in store.compact_all() if c.files_removed]
        if merged:
            progress("compacted " + "; ".join(map(str, merged)))
    if report.ok:
        report.catalog_failed = materialize_catalog(settings, store, instance, resources, progress)
        if report.catalog_failed:
            progress(f"  catalog assets failed: {report.catalog_failed}")
    return report


def materialize_catalog(settings: Settings, store, instance: dg.DagsterInstance, resources: dict,
                        progress: Callable[[str], None]) -> str | None:
    """Bring the catalog-wide assets up to date, running only when something is not current.

    Returns why the run failed (one line, see :func:`first_failure`), or None when it succeeded.

    The contextual encoder is trained here only when none of the configured architecture exists;
    retraining on a grown catalog is the ``contextual_training`` job's (weekly schedule, or the UI).
    """
    train = contextual.needs_training(settings)
    if train:
        progress("training the contextual shot encoder on the catalog")
    index_specs = [specs.visual_spec(settings), *(spec_of(settings) for spec_of in FLAVOR_INDEX_FEATURES.values())]
    index_root = resources["reelhouse"].index_root()
    current = (not train and not contextual.embedding_todo(store, settings)[1]
               and all(ann.has_current_index(store, index_root, s) for s in index_specs)
               and match_cuts.match_cuts_current(settings, store) and tags_current(settings, store))
    if current:
        return None
    keys = [k for a in CATALOG_ASSETS if train or a is not contextual_model for k in a.keys]
    res = dg.materialize([*CATALOG_ASSETS, *CATALOG_CHECKS], selection=keys, instance=instance, resources=resources,
                         run_config=QUIET, raise_on_error=False, tags=launcher_tags())
    return None if res.success else first_failure(res)


def materialize_tags(settings: Settings, progress: Callable[[str], None] = print) -> str | None:
    """Train the tag probes on the installed label set and score every title (the ``tag_probes`` and
    ``tags`` assets and the ``tags`` check, in one run recorded in the Dagster instance).

    Returns why the run failed (one line, see :func:`first_failure`), or None when it succeeded.
    """
    instance = instance_for_new_runs(settings, progress)
    resources = resources_for(settings)
    res = dg.materialize([*TAG_ASSETS, tags_complete], instance=instance, resources=resources, run_config=QUIET,
                         raise_on_error=False, tags=launcher_tags())
    if not res.success:
        return first_failure(res)
    failed = failed_check_messages(res)
    return "; ".join(failed) if failed else None


def first_failure(result: dg.ExecuteInProcessResult) -> str:
    """The run's first step failure in one line: the step's error and, after it, its innermost cause
    (what went wrong in reelhouse's code: ``OSError: [Errno 28] No space left on device``, ...); a
    storage failure (full disk, read-only or refused warehouse) says so."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            line = re.sub(r"^dagster\.[\w.]+: ", "", error.message.strip().splitlines()[0])
            root = error
            while root.cause is not None:
                root = root.cause
            if root is not error and root.message.strip():
                line = f"{line.rstrip(':')}: {_error_line(root.message)}"
            why = storage_failure_in_text(line)
            if why:
                line += f" (the warehouse refused the write: {why}; nothing of this step was committed)"
            return line
    return "run failed"


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def _error_line(message: str) -> str:
    """The telling line of an error message: for an error that carries a Python traceback (a Spark task's
    ``PythonException``), the traceback's last ``SomeError: ...`` line; otherwise the first line."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if any(ln.startswith("Traceback (most recent call last)") for ln in lines):
        found = [ln for ln in lines if _EXCEPTION_LINE.match(ln)]
        if found:
            return found[-1] + " (in a Spark task)"
    return lines[0]


def failed_check_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """``asset.check: description`` for every asset check that failed in the run."""
    return [f"{e.asset_key.to_user_string()}.{e.check_name}: {e.description}"
            for e in result.get_asset_check_evaluations() if not e.passed]
