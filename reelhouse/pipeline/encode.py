"""The standardized-encode feature: one recipe-versioned derivative per title, stored under the warehouse."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureStore


def standardize_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Standardized encodes of the titles lacking the current recipe's (one batch: one Spark job, one commit).

    Raises:
        TitleFailures: naming the titles that failed (never ingested, quarantined, source gone, not
            transcodable), after the others were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.encode import encode_job

    return compute_titles(settings, store, encode_job(settings), video_ids, run_id)
