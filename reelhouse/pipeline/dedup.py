"""The shot-dedup feature: near-duplicate groups of a title's shots from its visual embeddings."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureStore


def dedup_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Near-duplicate shot groups of the titles lacking them (one batch: one Spark job, one commit).

    Raises:
        TitleFailures: naming the titles that failed (no current visual embeddings), after the others
            were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.dedup import dedup_job

    return compute_titles(settings, store, dedup_job(settings), video_ids, run_id)
