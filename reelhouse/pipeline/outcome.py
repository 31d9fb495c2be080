"""Shared result and error types of the per-title feature computations."""

from __future__ import annotations

from dataclasses import dataclass


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
