"""Shared result and error types of the per-title feature computations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reelhouse.features import FeatureSpec


class TitleNotReady(RuntimeError):
    """An upstream feature of the title is missing or the title is quarantined."""


class TitleFailures(RuntimeError):
    """Some titles of a batch failed; the others were committed.

    Attributes:
        job: what the batch computed.
        failed: ``video_id -> error``.
        outcomes: the outcomes of the titles that did not fail.
    """

    def __init__(self, job: str, failed: Mapping[str, str], outcomes: Sequence[StageOutcome]) -> None:
        self.job, self.failed, self.outcomes = job, dict(failed), list(outcomes)
        listed = "; ".join(f"{v}: {e}" for v, e in list(self.failed.items())[:5])
        more = f" (and {len(self.failed) - 5} more)" if len(self.failed) > 5 else ""
        super().__init__(f"{job}: {len(self.failed)} title(s) failed: {listed}{more}")


@dataclass(frozen=True)
class StageOutcome:
    """What one feature computation did for one title.

    Attributes:
        memoized: the ``(title, feature, version)`` slice already existed; nothing was computed.
        rows: rows written (0 when memoized).
        snapshot_id: the Iceberg snapshot the write produced.
    """

    video_id: str
    feature: str
    feature_version: str
    memoized: bool
    rows: int
    snapshot_id: int | None = None


def split_memoized(store, features: Sequence[FeatureSpec], video_ids: Sequence[str]) -> tuple[list[StageOutcome], list[str]]:
    """Memoization for a job that computes ``features`` together.

    Returns:
        ``(memoized, todo)``: outcomes for titles that already hold every feature's current version,
        and the titles missing any of them (which the job recomputes as a whole).
    """
    present = [store.present_video_ids(f.table, f.name, f.version, video_ids) for f in features]
    todo = [v for v in video_ids if not all(v in p for p in present)]
    memoized = [StageOutcome(v, f.name, f.version, True, 0) for v in video_ids if v not in todo for f in features]
    return memoized, todo
