"""The schedules: the nightly fill of every title's missing and stale features, and the weekly
retraining of the contextual shot encoder.

At 02:00 UTC it asks the feature store which ``ok`` titles lack the current version of any per-title
feature (``reelhouse.features.coverage``) and requests one run of just those assets per batch of
consecutive such titles needing the same ones (``dagster_project.batches``). Titles registered as
partitions whose media was never recorded (a run that died early) get a full run each.
Runs are keyed by date and their first and last title, so a tick is never requested twice; the instance's run
queue and ``spark`` pool keep them one at a time. The same selection logic backs ``reelhouse backfill``.
"""

from collections.abc import Iterable

import dagster as dg

from dagster_project.assets import asset_keys_for, titles
from dagster_project.batches import TitleBatch, title_batches
from dagster_project.jobs import contextual_training, title_features
from dagster_project.resources import ReelhouseResource
from reelhouse.features import coverage
from reelhouse.features.rows import registered_titles


def fill_requests(reelhouse: ReelhouseResource, known_partitions: Iterable[str], run_key_prefix: str) -> list[dg.RunRequest]:
    """One run request per batch of consecutive ``ok`` title partitions that miss or hold a stale version of
    the same features (``dagster_project.batches``), and one per partition whose media was never recorded."""
    settings, store = reelhouse.settings(), reelhouse.store()
    store.ensure_tables()
    order = list(known_partitions)
    ok = set(coverage.ok_titles(store)) & set(order)
    recorded = set(registered_titles(store))
    todo = coverage.todo_by_title(store, settings, sorted(ok))
    requests = [_request(b, run_key_prefix, asset_keys_for(list(b.features)), ",".join(b.features))
                for b in title_batches(order, todo, settings.backfill_chunk_titles)]
    # A title whose media was never recorded may turn out quarantined, which fails its run's media step:
    # each gets a run of its own, so it cannot stop a batch.
    requests += [_request(TitleBatch((v,), ("all",)), run_key_prefix, None, "all") for v in order if v not in recorded]
    return requests


def _request(batch: TitleBatch, run_key_prefix: str, selection, fill: str) -> dg.RunRequest:
    key, tags = batch.run_target()
    run_key = f"{run_key_prefix}:{batch.titles[0]}" + (f"..{batch.titles[-1]}" if len(batch.titles) > 1 else "")
    return dg.RunRequest(run_key=run_key, partition_key=key, asset_selection=selection,
                         tags={**tags, "reelhouse/fill": fill})


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
