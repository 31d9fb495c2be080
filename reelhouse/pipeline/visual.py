"""The visual shot-embedding features (``visual``, ``colour``, ``layout``), computed together by one Spark job."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureStore


def embed_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Compute the visual features of titles missing any of them (one batch: one Spark job, one commit).

    Returns one outcome per (title, feature).

    Raises:
        TitleFailures: naming the titles that failed, after the others were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.visual_embeddings import visual_job

    return compute_titles(settings, store, visual_job(settings), video_ids, run_id)
