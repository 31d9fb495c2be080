"""Shared result and error types of the per-title feature computations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reelhouse.features import FeatureSpec


class TitleNotReady(RuntimeError):
    """An upstream feature of the title is missing or the title is quarantined."""


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
    from reelhouse.lakehouse import FeatureSlice

    todo = [v for v in video_ids
            if not all(store.has_slice(f.table, FeatureSlice(v, f.name, f.version)) for f in features)]
    memoized = [StageOutcome(v, f.name, f.version, True, 0) for v in video_ids if v not in todo for f in features]
    return memoized, todo
