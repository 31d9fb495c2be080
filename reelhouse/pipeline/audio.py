"""The audio features of a title's shots: sound embeddings and speech ratio (one Spark job)."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureStore


def audio_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Compute the audio features of titles missing either of them (one batch). Returns one outcome per
    (title, feature).

    Raises:
        TitleFailures: naming the titles that failed, after the others were committed.
    """
    from spark_jobs.audio_features import audio_job
    from spark_jobs.batch import compute_titles

    return compute_titles(settings, store, audio_job(settings), video_ids, run_id)
