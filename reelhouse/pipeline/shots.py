"""The shots feature: the canonical segmentation every other shot feature shares."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome, split_memoized
from reelhouse.features.rows import encode_row, shot_rows
from reelhouse.features.specs import DEFAULT_DETECTOR, shots_spec
from reelhouse.lakehouse import FeatureStore


def encoded_titles(store: FeatureStore, settings: Settings, video_ids: Sequence[str]) -> list:
    """The standardized encodes of ``video_ids``, ready for the shots Spark job.

    Raises:
        TitleNotReady: if a title has no encode for the current recipe.
    """
    from spark_jobs.shots import EncodedTitle

    titles = []
    for vid in video_ids:
        enc = encode_row(store, settings, vid)
        titles.append(EncodedTitle(vid, enc["uri"], float(enc["fps"])))
    return titles


def segment_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str,
                   detector: str = DEFAULT_DETECTOR) -> list[StageOutcome]:
    """Segment the titles that lack the current shots version (one Spark job, one commit)."""
    from spark_jobs.session import get_spark
    from spark_jobs.shots import run_shots

    spec = shots_spec(settings, detector)
    outcomes, todo = split_memoized(store, [spec], video_ids)
    if not todo:
        return outcomes
    titles = encoded_titles(store, settings, todo)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    result = run_shots(spark, store, titles, spec.name, spec.version, detector, run_id,
                       io_properties=dict(settings.catalog_properties))
    outcomes += [StageOutcome(v, spec.name, spec.version, False, len(shot_rows(store, settings, v, detector)),
                              result.snapshot_id) for v in todo]
    return outcomes


def segment_title(settings: Settings, store: FeatureStore, video_id: str, run_id: str,
                  detector: str = DEFAULT_DETECTOR) -> StageOutcome:
    """Segment one title's standardized encode into shots and store them (memoized)."""
    return segment_titles(settings, store, [video_id], run_id, detector)[0]

