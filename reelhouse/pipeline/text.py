"""Subtitles and the text features of a title's shots."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureStore


def extract_subtitles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Subtitle cues of the titles lacking them (one batch: one Spark job, one commit); see ``spark_jobs.subtitles``.

    Raises:
        TitleFailures: naming the titles that failed (never ingested, quarantined, source gone), after
            the others were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.subtitles import subtitles_job

    return compute_titles(settings, store, subtitles_job(settings), video_ids, run_id)


def embed_text_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Text embeddings of titles that lack the current version (one batch: one Spark job, one commit).

    Raises:
        TitleFailures: naming the titles that failed, after the others were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.text_embeddings import text_job

    return compute_titles(settings, store, text_job(settings), video_ids, run_id)
