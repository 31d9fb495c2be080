"""The shots feature: the canonical segmentation every other shot feature shares."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.features.specs import DEFAULT_DETECTOR
from reelhouse.lakehouse import FeatureStore


def segment_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str,
                   detector: str = DEFAULT_DETECTOR) -> list[StageOutcome]:
    """Segment the titles that lack the current shots version (one batch: one Spark job, one commit).

    Raises:
        TitleFailures: naming the titles that failed, after the others were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.shots import shots_job

    return compute_titles(settings, store, shots_job(settings, detector), video_ids, run_id)


def segment_title(settings: Settings, store: FeatureStore, video_id: str, run_id: str,
                  detector: str = DEFAULT_DETECTOR) -> StageOutcome:
    """Segment one title's standardized encode into shots and store them (memoized)."""
    return segment_titles(settings, store, [video_id], run_id, detector)[0]
