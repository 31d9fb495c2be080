"""Constant-frame-rate resampling by timestamps: output frame k shows the latest source frame
whose presentation time is <= k / fps. Handles variable-frame-rate sources."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

#: Slack (s) for comparing a source timestamp with a grid time; absorbs timebase rounding.
_EPS_S = 1e-6


class CfrResampler(Generic[T]):
    """Push source frames in presentation order; pull ``(k, k / fps, frame)`` grid frames.

    The output ends at the source's end (last frame time plus its duration, rounded to the grid),
    or at ``end_s`` when given, so the output duration matches the source within one output frame.
    """

    def __init__(self, fps: float, first_index: int = 0, end_s: float | None = None) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = fps
        self.k = first_index
        self.end_s = end_s
        self._prev: T | None = None
        self._source_end = 0.0

    @staticmethod
    def first_index_at(t_s: float, fps: float) -> int:
        """Index of the first grid point at or after ``t_s``."""
        return max(0, math.ceil(t_s * fps - _EPS_S))

    def push(self, t_s: float, duration_s: float, frame: T) -> Iterator[tuple[int, float, T]]:
        """Add a source frame shown from ``t_s`` for ``duration_s``; yield grid frames it completes."""
        if self._prev is not None:
            yield from self._emit_until(t_s, self._prev)
        self._prev = frame
        self._source_end = max(self._source_end, t_s + duration_s)

    def finish(self) -> Iterator[tuple[int, float, T]]:
        """Yield the remaining grid frames up to the end of the source (or ``end_s``).

        The source end is rounded to the nearest grid point, so timebase rounding of the last
        frame's duration never adds a frame.
        """
        if self._prev is not None:
            yield from self._emit_until(self._source_end - 0.5 / self.fps, self._prev)

    @property
    def done(self) -> bool:
        """True once the grid has reached ``end_s`` (further pushes yield nothing)."""
        return self.end_s is not None and self.k / self.fps >= self.end_s - _EPS_S

    def _emit_until(self, t_s: float, frame: T) -> Iterator[tuple[int, float, T]]:
        limit = t_s if self.end_s is None else min(t_s, self.end_s)
        while self.k / self.fps < limit - _EPS_S:
            yield self.k, self.k / self.fps, frame
            self.k += 1
