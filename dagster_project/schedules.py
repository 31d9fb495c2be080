"""The schedules: the nightly fill of every title's missing and stale features, and the weekly
retraining of the contextual shot encoder.

At 02:00 UTC it asks the feature store which ``ok`` titles lack the current version of any per-title
feature (``reelhouse.features.coverage``) and requests, for each such title, one run of just those
assets. Titles registered as partitions whose media was never recorded (a run that died early) get a
full run. Runs are keyed by date and title, so a tick is never requested twice; the instance's run
queue and ``spark`` pool keep them one at a time. The same selection logic backs ``reelhouse backfill``.
"""

from collections.abc import Iterable

import dagster as dg

from dagster_project.assets import asset_keys_for, titles
from dagster_project.jobs import contextual_training, title_features
from dagster_project.resources import ReelhouseResource
from reelhouse.features import coverage
from reelhouse.features.rows import registered_titles


def fill_requests(reelhouse: ReelhouseResource, known_partitions: Iterable[str], run_key_prefix: str) -> list[dg.RunRequest]:
    """One run request per title partition that misses or holds a stale version of any feature."""
    settings, store = reelhouse.settings(), reelhouse.store()
    store.ensure_tables()
    partitions = set(known_partitions)
    ok = set(coverage.ok_titles(store)) & partitions
    requests = [dg.RunRequest(run_key=f"{run_key_prefix}:{vid}", partition_key=vid,
                              asset_selection=asset_keys_for(features), tags={"reelhouse/fill": ",".join(features)})
                for vid, features in coverage.todo_by_title(store, settings, ok).items()]
    recorded = set(registered_titles(store))
    requests += [dg.RunRequest(run_key=f"{run_key_prefix}:{vid}", partition_key=vid, tags={"reelhouse/fill": "all"})
                 for vid in sorted(partitions - recorded)]
    return requests


@dg.schedule(cron_schedule="0 2 * * *", execution_timezone="UTC", job=title_features,
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Nightly: compute every title's missing and stale features (current versions).")
def nightly_fill(context: dg.ScheduleEvaluationContext, reelhouse: ReelhouseResource):
    known = context.instance.get_dynamic_partitions(titles.name)
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    requests = fill_requests(reelhouse, known, f"nightly-{day}")
    if not requests:
        return dg.SkipReason(f"all {len(known)} title(s) hold every feature at its current version")
    return requests


#: Weekly: retrain the contextual encoder on the catalog as it is now (Sundays 04:00 UTC, after the
#: nightly fill and compaction). Training is memoized on its data, so an unchanged catalog trains nothing.
weekly_contextual_training = dg.ScheduleDefinition(
    name="weekly_contextual_training", cron_schedule="0 4 * * 0", execution_timezone="UTC", job=contextual_training,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly: retrain the contextual shot encoder on the current catalog and re-embed every title.",
)

SCHEDULES = [nightly_fill, weekly_contextual_training]
