"""The regions feature: faces on each title's representative frames."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureStore


def region_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Regions of the titles lacking the current version (one batch: one Spark job, one commit).

    Raises:
        TitleFailures: naming the titles that failed (no representative frames), after the others were committed.
    """
    from spark_jobs.batch import compute_titles
    from spark_jobs.regions import regions_job

    return compute_titles(settings, store, regions_job(settings), video_ids, run_id)
