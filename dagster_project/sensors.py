"""The landing sensor: new content in the landing folder becomes a title partition and a run.

Each tick scans the landing folder (``reelhouse.media.landing.scan_settled``):

- a file still being written waits: it is not hashed until it has gone ``landing_settle_s``
  unmodified and is unchanged since the previous tick (its size and mtime ride in the cursor);
- a settled file's content id (hashes cached by path, size and mtime) that is not yet a ``titles``
  partition is added as one, and one ``title_features`` run is requested for it, keyed by the
  content id, so it is requested once even if two ticks overlap;
- a renamed, touched or re-uploaded file with the same bytes has a known content id: nothing happens.

Titles registered with ``reelhouse ingest`` (a media row, no file in the landing folder) are picked
up the same way. The cursor (JSON: the files waiting to settle) is persisted by Dagster with each
tick; the set of known titles is the persisted ``titles`` partitions themselves.
"""

import json

import dagster as dg

from dagster_project.assets import titles
from dagster_project.jobs import title_features
from dagster_project.resources import ReelhouseResource
from reelhouse.features.rows import registered_titles
from reelhouse.media import landing


def parse_cursor(cursor: str | None) -> dict[str, list[int]]:
    """The files waiting to settle, from the sensor's cursor (empty on the first tick)."""
    if not cursor:
        return {}
    data = json.loads(cursor)
    return {str(k): [int(x) for x in v] for k, v in data.get("waiting", {}).items()}


@dg.sensor(job=title_features, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING,
           description="New content in the landing folder: add a title partition and request its features.")
def landing_sensor(context: dg.SensorEvaluationContext, reelhouse: ReelhouseResource) -> dg.SensorResult:
    settings = reelhouse.settings()
    scan = landing.scan_settled(settings.resolved_landing, settings.home / "landing-index.json",
                                parse_cursor(context.cursor), settings.landing_settle_s)
    found = {f.video_id: str(f.path) for f in scan.ready}
    store = reelhouse.store()
    store.ensure_tables(["media"])
    for vid, path in registered_titles(store).items():
        found.setdefault(vid, path)
    known = set(context.instance.get_dynamic_partitions(titles.name))
    new = sorted(v for v in found if v not in known)
    cursor = json.dumps({"waiting": scan.waiting}, sort_keys=True)
    if new:
        context.log.info(f"{len(new)} new title(s): " + ", ".join(f"{found[v]} ({v[:12]})" for v in new))
    if scan.waiting:
        context.log.info(f"{len(scan.waiting)} file(s) still being written: " + ", ".join(sorted(scan.waiting)))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=vid, partition_key=vid, tags={"reelhouse/source": found[vid]}) for vid in new],
        dynamic_partitions_requests=[titles.build_add_request(new)] if new else [],
        cursor=cursor,
    )


SENSORS = [landing_sensor]
