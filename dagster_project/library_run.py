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
from reelhouse.pipeline import landing, media

from dagster_project.assets import CATALOG_ASSETS, TITLE_ASSETS, media_file, titles
from dagster_project.instance import dagster_instance
from dagster_project.resources import resources_for


@dataclass
class LibraryRun:
    """What the main job did: titles found, ok and quarantined, and per-title failures."""

    titles: dict[str, str] = field(default_factory=dict)  # video_id -> path
    ok: list[str] = field(default_factory=list)
    quarantined: dict[str, str] = field(default_factory=dict)  # video_id -> reason
    failed: dict[str, str] = field(default_factory=dict)  # video_id -> error


#: In-process runs log to the Dagster instance (visible in the UI); the terminal shows only warnings.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


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
    for vid, path in report.titles.items():
        res = dg.materialize([media_file], partition_key=vid, instance=instance, resources=resources, run_config=QUIET,
                             raise_on_error=False)
        row = media.media_row(store, vid)
        if not res.success or row is None:
            report.failed[vid] = "media probe failed"
        elif row["status"] != "ok":
            report.quarantined[vid] = f"{row['error_code']}: {row['error_message']}"
            progress(f"  quarantined {os.path.basename(path)}: {report.quarantined[vid]}")
        else:
            report.ok.append(vid)
    downstream = [a for a in TITLE_ASSETS if a is not media_file]
    for n, vid in enumerate(report.ok, 1):
        progress(f"[{n}/{len(report.ok)}] {os.path.basename(report.titles[vid])}: encode, shots, embeddings")
        res = dg.materialize(downstream, partition_key=vid, instance=instance, resources=resources, run_config=QUIET,
                             raise_on_error=False)
        if not res.success:
            report.failed[vid] = _first_failure(res)
            progress(f"  failed: {report.failed[vid]}")
    if report.ok:
        dg.materialize(CATALOG_ASSETS, instance=instance, resources=resources, run_config=QUIET)
    return report


def _first_failure(result: dg.ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            return event.step_failure_data.error.message.strip().splitlines()[0]
    return "run failed"
