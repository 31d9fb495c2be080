"""The artwork feature: each title's artwork candidates from its representative frames and scenes."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureStore


def artwork_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Artwork candidates of the titles lacking the current version (one batch: one Spark job, one commit).

    Raises:
        TitleFailures: naming the titles that failed (an upstream feature missing), after the others
            were committed.
    """
    from spark_jobs.artwork import artwork_job
    from spark_jobs.batch import compute_titles

    return compute_titles(settings, store, artwork_job(settings), video_ids, run_id)
