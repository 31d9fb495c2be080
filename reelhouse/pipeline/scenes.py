"""The scenes feature: each title's scenes and chapters from its shot embeddings and subtitle cues."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureStore


def scene_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Scenes and chapters of the titles lacking the current version (one batch: one Spark job, one commit).

    Raises:
        TitleFailures: naming the titles that failed (an upstream feature missing), after the others
            were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.scenes import scenes_job

    return compute_titles(settings, store, scenes_job(settings), video_ids, run_id)
