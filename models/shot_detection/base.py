"""Shot-detection contract: boundaries, shots, and the streaming detector interface.

Conventions used throughout:
- Frames are RGB ``uint8`` arrays of shape ``(H, W, 3)`` decoded at the detector's
  ``analysis_size``; frame numbers are 0-based indices in decode order.
- Frame ranges are ``[start, end)``: start inclusive, end exclusive.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

#: BT.601 luma weights of R, G, B: ``rgb @ LUMA`` is a picture's luma (0-255 for 0-255 input).
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

Transition = Literal["cut", "gradual"]
TRANSITIONS: tuple[Transition, ...] = ("cut", "gradual")


@dataclass(frozen=True)
class ShotBoundary:
    """Where a new shot begins.

    Attributes:
        frame: First frame of the new shot. For a gradual transition (fade, dissolve) this
            is the centre of the transition, so the transition's frames are split between
            the two shots.
        transition: ``"cut"`` for an instantaneous change, ``"gradual"`` for a fade or dissolve.
        confidence: Detector confidence in ``[0, 1]``.
        span: The transition's frames as ``[start, end)``. A cut has
            ``span == (frame, frame + 1)``; a gradual transition has ``start <= frame < end``.
    """

    frame: int
    transition: Transition
    confidence: float
    span: tuple[int, int]

    def __post_init__(self) -> None:
        if self.frame < 0:
            raise ValueError(f"frame must be >= 0, got {self.frame}")
        if self.transition not in TRANSITIONS:
            raise ValueError(f"transition must be one of {TRANSITIONS}, got {self.transition!r}")
        if not 0.0 <= self.confidence <= 1.0 or math.isnan(self.confidence):
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        start, end = self.span
        if not start <= self.frame < end:
            raise ValueError(f"span {self.span} must satisfy start <= frame ({self.frame}) < end")


@dataclass(frozen=True)
class Shot:
    """A shot: the frames ``[start, end)`` between two boundaries.

    Attributes:
        index: 0-based position of the shot in the title.
        start: First frame (inclusive).
        end: One past the last frame (exclusive).
        transition: How the shot *begins*. Shot 0 begins the title and is labelled
            ``"cut"`` by convention.
        confidence: Confidence of the boundary that starts the shot; 1.0 for shot 0.
    """

    index: int
    start: int
    end: int
    transition: Transition
    confidence: float

    @property
    def frame_count(self) -> int:
        """Number of frames in the shot."""
        return self.end - self.start


def boundaries_to_shots(boundaries: Iterable[ShotBoundary], frame_count: int) -> list[Shot]:
    """Turn boundaries into shots that tile ``[0, frame_count)`` exactly.

    Boundaries at frame 0 or at/after ``frame_count`` start no shot and are dropped.
    Several boundaries at the same frame collapse into the most confident one.

    Args:
        boundaries: Shot boundaries in any order.
        frame_count: Number of frames in the title.

    Returns:
        Shots ordered by start frame; empty when ``frame_count`` is 0.

    Raises:
        ValueError: ``frame_count`` is negative.
    """
    if frame_count < 0:
        raise ValueError(f"frame_count must be >= 0, got {frame_count}")
    if frame_count == 0:
        return []
    by_frame: dict[int, ShotBoundary] = {}
    for boundary in boundaries:
        if 0 < boundary.frame < frame_count:
            kept = by_frame.get(boundary.frame)
            if kept is None or boundary.confidence > kept.confidence:
                by_frame[boundary.frame] = boundary
    starts: list[tuple[int, Transition, float]] = [(0, "cut", 1.0)]
    starts += [(b.frame, b.transition, b.confidence) for _, b in sorted(by_frame.items())]
    ends = [start for start, _, _ in starts[1:]] + [frame_count]
    return [
        Shot(index=i, start=start, end=end, transition=transition, confidence=confidence)
        for i, ((start, transition, confidence), end) in enumerate(zip(starts, ends, strict=True))
    ]


def enforce_min_shot_length(boundaries: Sequence[ShotBoundary], min_shot_frames: int) -> list[ShotBoundary]:
    """Drop boundaries that would make a shot shorter than ``min_shot_frames``.

    Boundaries are taken in frame order; when two are closer than ``min_shot_frames`` the
    more confident one wins. The first shot (from frame 0) is held to the same minimum.

    Args:
        boundaries: Boundaries in any order.
        min_shot_frames: Minimum shot length in frames (>= 1).

    Returns:
        The surviving boundaries in frame order.
    """
    kept: list[ShotBoundary] = []
    for boundary in sorted(boundaries, key=lambda b: b.frame):
        if boundary.frame < min_shot_frames:
            continue
        if kept and boundary.frame - kept[-1].frame < min_shot_frames:
            if boundary.confidence <= kept[-1].confidence:
                continue
            kept.pop()
            if kept and boundary.frame - kept[-1].frame < min_shot_frames:
                continue
        kept.append(boundary)
    return kept


class ShotDetector(ABC):
    """A streaming shot-boundary detector.

    Subclasses set ``name``, ``version`` and ``analysis_size`` and implement ``params`` and
    ``detect``. ``detect`` consumes frames one at a time and keeps only a small, bounded
    window of them, so a whole title never has to be in memory.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    analysis_size: ClassVar[tuple[int, int]]
    """``(width, height)`` in pixels that the caller should decode frames at."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The detector's parameters as a JSON-serializable dict (they version its output)."""

    @abstractmethod
    def detect(self, frames: Iterable[np.ndarray], fps: float) -> list[ShotBoundary]:
        """Find shot boundaries in a stream of frames.

        Args:
            frames: RGB ``uint8`` frames of shape ``(height, width, 3)`` at
                ``analysis_size``, in decode order. Consumed once, one at a time.
            fps: Frame rate of the stream in frames per second (> 0).

        Returns:
            Boundaries in increasing frame order, none at frame 0.

        Raises:
            ValueError: A frame has the wrong shape or dtype, or ``fps`` is not positive.
        """

    def provenance(self) -> str:
        """``name@version``, plus whatever of the last ``detect`` call varied with the machine
        (the hybrid adds the dtype its network ran in). Stored with each title's shots."""
        return f"{self.name}@{self.version}"

    def check_frame(self, frame: np.ndarray, index: int) -> None:
        """Raise ``ValueError`` unless ``frame`` is an RGB uint8 frame at ``analysis_size``."""
        width, height = self.analysis_size
        if frame.dtype != np.uint8 or frame.shape != (height, width, 3):
            raise ValueError(
                f"frame {index}: expected uint8 RGB of shape {(height, width, 3)} "
                f"(analysis_size {self.analysis_size}), got {frame.dtype} {frame.shape}"
            )

    @staticmethod
    def check_fps(fps: float) -> None:
        """Raise ``ValueError`` unless ``fps`` is a positive, finite number."""
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps}")
