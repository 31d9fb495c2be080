"""The shot-frames feature: representative, quality-filtered frames per shot (run as a Spark job)."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome, split_memoized
from reelhouse.features.rows import encoded_shots
from reelhouse.features.specs import shot_frames_spec
from reelhouse.lakehouse import FeatureStore


def shot_spans(store: FeatureStore, settings: Settings, video_ids: Sequence[str]) -> list:
    """The current shots of ``video_ids`` with their encode's URI and geometry, for the Spark job.

    Raises:
        TitleNotReady: if a title has no encode or no shots yet.
    """
    from spark_jobs.shot_frames import ShotSpan

    spans = []
    for vid in video_ids:
        enc, shots = encoded_shots(store, settings, vid)
        spans.extend(
            ShotSpan(vid, enc["uri"], enc["width"], enc["height"], enc["fps"], s["shot_index"], s["start_frame"], s["end_frame"])
            for s in shots
        )
    return spans


def select_shot_frames(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Pick representative frames for the titles that lack the current version (one Spark job, one commit)."""
    from spark_jobs.session import get_spark
    from spark_jobs.shot_frames import run_shot_frames

    spec = shot_frames_spec(settings)
    outcomes, todo = split_memoized(store, [spec], video_ids)
    if not todo:
        return outcomes
    spans = shot_spans(store, settings, todo)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    result = run_shot_frames(spark, store, spans, spec.name, spec.version, run_id,
                             io_properties=dict(settings.catalog_properties))
    rows = store.read("shot_frames", f"feature_version == '{spec.version}'", selected_fields=("video_id",)).column("video_id").to_pylist()
    outcomes += [StageOutcome(v, spec.name, spec.version, False, rows.count(v), result.snapshot_id) for v in todo]
    return outcomes

