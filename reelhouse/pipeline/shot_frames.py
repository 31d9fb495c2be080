"""The shot-frames feature: representative, quality-filtered frames per shot (run as a Spark job)."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureStore


def select_shot_frames(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Pick representative frames for the titles that lack the current version (one batch, one commit).

    Raises:
        TitleFailures: naming the titles that failed, after the others were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.shot_frames import shot_frames_job

    return compute_titles(settings, store, shot_frames_job(settings), video_ids, run_id)
