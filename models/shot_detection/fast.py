"""The fast default shot detector: colour histograms plus motion-tolerant structure, pure numpy.

Per frame it computes a joint YCbCr colour histogram and a 16x9 luma layout. The score of
frame ``t`` is the distance between frames ``t-1`` and ``t``:

- the histogram term is the total-variation distance of the two colour histograms, which
  a camera move barely changes;
- the structure term compares contrast-normalized 16x9 luma layouts under the best of a
  few small shifts, so a pan or a tilt scores low while a new composition scores high.

On top of the scores it finds:

- **cuts**: a score that is a local maximum, above an absolute floor, and ``threshold``
  times the median score of the surrounding window (an adaptive threshold, robust to
  nearby cuts and to busy content). A change that reverts within ``flash_frames`` frames
  (a flash, a strobe, a one-frame glitch) is not a cut.
- **gradual transitions** by twin comparison: a sustained run of moderate scores whose
  endpoints differ by at least the cut floor is a dissolve; a run through black frames,
  extended over the luminance ramps on either side, is a fade-out/fade-in. Each is one
  ``gradual`` boundary at the centre of its span.

Black frames at the very start or end of a title belong to the first or last shot.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from models.shot_detection.base import ShotBoundary, ShotDetector, enforce_min_shot_length

_WIDTH, _HEIGHT = 64, 36
_CELL = 4  # pixels per layout cell: 64x36 frames give a 16x9 layout
_GRID_H, _GRID_W = _HEIGHT // _CELL, _WIDTH // _CELL
_SHIFT_Y, _SHIFT_X = 1, 2  # structure search range in cells (+-4 px vertically, +-8 px horizontally)
_Y_BINS, _C_BINS = 8, 4
# Luma spread (0-255 levels) below which a layout counts as flat; stops noise in flat or
# black frames from being amplified by contrast normalization.
_MIN_CONTRAST = 8.0
# Rows of RGB -> (Y, Cb, Cr) with Cb and Cr offset to [0, 255].
_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], dtype=np.float32
)
# Mean-luma change (0-255 levels per frame) that counts as a fade ramp rather than noise or drift.
_RAMP_STEP = 1.5
_YCBCR_OFFSET = np.array([0.0, 128.0, 128.0], dtype=np.float32)
_BIN_SCALE = np.array([_Y_BINS / 256.0, _C_BINS / 256.0, _C_BINS / 256.0], dtype=np.float32)
_BIN_STRIDE = np.array([_C_BINS * _C_BINS, _C_BINS, 1], dtype=np.int64)


@dataclass(frozen=True, slots=True)
class _FrameFeatures:
    histogram: np.ndarray  # (128,) float32, sums to 1
    luma: np.ndarray  # (9, 16) float32, mean luma (0-255) of each 4x4 cell
    layout: np.ndarray  # (9, 16) float32, zero mean, contrast-normalized luma
    mean_luma: float  # 0-255
    black: bool


def _features(frame: np.ndarray, black_level: float) -> _FrameFeatures:
    ycc = frame.reshape(-1, 3).astype(np.float32) @ _YCBCR.T + _YCBCR_OFFSET
    bins = np.clip((ycc * _BIN_SCALE).astype(np.int64), 0, [_Y_BINS - 1, _C_BINS - 1, _C_BINS - 1])
    histogram = np.bincount(bins @ _BIN_STRIDE, minlength=_Y_BINS * _C_BINS * _C_BINS).astype(np.float32)
    histogram /= ycc.shape[0]
    luma = ycc[:, 0].reshape(_GRID_H, _CELL, _GRID_W, _CELL).mean(axis=(1, 3))
    mean_luma = float(luma.mean())
    centred = luma - mean_luma
    layout = centred / max(float(centred.std()), _MIN_CONTRAST)
    return _FrameFeatures(histogram, luma, layout, mean_luma, bool(luma.max() < black_level))


def _distance(a: _FrameFeatures, b: _FrameFeatures) -> float:
    """Content distance in [0, 1]: mean of colour-histogram and motion-tolerant structure terms."""
    colour = 0.5 * float(np.abs(a.histogram - b.histogram).sum())
    core = a.layout[_SHIFT_Y : _GRID_H - _SHIFT_Y, _SHIFT_X : _GRID_W - _SHIFT_X]
    shifted = sliding_window_view(b.layout, core.shape)  # (2*SY+1, 2*SX+1, *core.shape)
    structure = float(np.square(shifted - core).mean(axis=(2, 3)).min()) / 2.0
    return 0.5 * (colour + min(structure, 1.0))


class FastShotDetector(ShotDetector):
    """Hard cuts, fades and dissolves from colour and layout statistics, in pure numpy.

    Frames are RGB uint8 at ``analysis_size`` = (64, 36). Every length parameter is in
    frames, so ``fps`` is only validated. Memory is bounded by about ``max_gradual_frames``
    frames' features (a few hundred KB), whatever the title's length.
    """

    name = "fast"
    version = "1.0.0"
    analysis_size = (_WIDTH, _HEIGHT)

    def __init__(
        self,
        *,
        threshold: float = 3.0,
        min_score: float = 0.3,
        window: int = 8,
        min_shot_frames: int = 8,
        flash_frames: int = 3,
        gradual_ratio: float = 1.5,
        gradual_min_score: float = 0.04,
        min_gradual_frames: int = 3,
        max_gradual_frames: int = 90,
        max_blend_residual: float = 0.15,
        black_level: float = 24.0,
    ) -> None:
        """Configure the detector.

        Args:
            threshold: A cut's score must be at least this many times the median score of
                the ``window`` frames on either side (> 1).
            min_score: Absolute floor in [0, 1] for a cut's score and for the distance between
                the two ends of a gradual transition.
            window: Frames on each side of a frame used for its adaptive baseline (>= 2).
            min_shot_frames: Minimum shot length in frames (>= 1); closer boundaries keep the
                more confident one.
            flash_frames: A change that returns to the previous content within this many
                frames is a flash, not a cut (>= 0).
            gradual_ratio: A frame extends a gradual transition when its score is at least
                this many times the baseline before the transition (>= 1).
            gradual_min_score: ...and at least this absolute score, in [0, 1].
            min_gradual_frames: Shortest run of changing frames that can be a dissolve (>= 2).
            max_gradual_frames: Longest run considered a transition; longer runs are motion
                (>= ``min_gradual_frames``).
            max_blend_residual: A dissolve's frames must be cross-fades of its two ends: the
                mean residual of that fit, relative to the ends' difference, must be at most
                this (> 0). Rejects pans and other motion with a drifting colour balance.
            black_level: A frame whose brightest 4x4 cell has mean luma (0-255) below this is black.

        Raises:
            ValueError: An argument is out of range.
        """
        if not threshold > 1.0:
            raise ValueError(f"threshold must be > 1, got {threshold}")
        if not 0.0 < min_score <= 1.0:
            raise ValueError(f"min_score must be in (0, 1], got {min_score}")
        if window < 2:
            raise ValueError(f"window must be >= 2 frames, got {window}")
        if min_shot_frames < 1:
            raise ValueError(f"min_shot_frames must be >= 1, got {min_shot_frames}")
        if flash_frames < 0:
            raise ValueError(f"flash_frames must be >= 0, got {flash_frames}")
        if gradual_ratio < 1.0:
            raise ValueError(f"gradual_ratio must be >= 1, got {gradual_ratio}")
        if not 0.0 < gradual_min_score < min_score:
            raise ValueError(f"gradual_min_score must be in (0, min_score), got {gradual_min_score}")
        if min_gradual_frames < 2:
            raise ValueError(f"min_gradual_frames must be >= 2, got {min_gradual_frames}")
        if max_gradual_frames < min_gradual_frames:
            raise ValueError(
                f"max_gradual_frames ({max_gradual_frames}) must be >= min_gradual_frames ({min_gradual_frames})"
            )
        if not max_blend_residual > 0.0:
            raise ValueError(f"max_blend_residual must be > 0, got {max_blend_residual}")
        if not 0.0 < black_level < 255.0:
            raise ValueError(f"black_level must be in (0, 255), got {black_level}")
        self.threshold = float(threshold)
        self.min_score = float(min_score)
        self.window = int(window)
        self.min_shot_frames = int(min_shot_frames)
        self.flash_frames = int(flash_frames)
        self.gradual_ratio = float(gradual_ratio)
        self.gradual_min_score = float(gradual_min_score)
        self.min_gradual_frames = int(min_gradual_frames)
        self.max_gradual_frames = int(max_gradual_frames)
        self.max_blend_residual = float(max_blend_residual)
        self.black_level = float(black_level)

    def params(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "min_score": self.min_score,
            "window": self.window,
            "min_shot_frames": self.min_shot_frames,
            "flash_frames": self.flash_frames,
            "gradual_ratio": self.gradual_ratio,
            "gradual_min_score": self.gradual_min_score,
            "min_gradual_frames": self.min_gradual_frames,
            "max_gradual_frames": self.max_gradual_frames,
            "max_blend_residual": self.max_blend_residual,
            "black_level": self.black_level,
        }

    def detect(self, frames: Iterable[np.ndarray], fps: float) -> list[ShotBoundary]:
        self.check_fps(fps)
        boundaries = _merge_overlapping(list(_Scan(self, self._features(frames)).run()))
        return enforce_min_shot_length(boundaries, self.min_shot_frames)

    def frame_scores(self, frames: Iterable[np.ndarray]) -> np.ndarray:
        """Per-frame scores in [0, 1]: entry ``t`` is the distance between frames ``t-1`` and ``t`` (0 for t=0)."""
        scores: list[float] = []
        previous: _FrameFeatures | None = None
        for features in self._features(frames):
            scores.append(0.0 if previous is None else _distance(previous, features))
            previous = features
        return np.asarray(scores, dtype=np.float32)

    def _features(self, frames: Iterable[np.ndarray]) -> Iterator[_FrameFeatures]:
        for index, frame in enumerate(frames):
            self.check_frame(frame, index)
            yield _features(frame, self.black_level)


def _merge_overlapping(boundaries: list[ShotBoundary]) -> list[ShotBoundary]:
    """Merge gradual transitions whose spans overlap; drop cuts that fall inside one."""
    merged: list[ShotBoundary] = []
    for b in sorted((b for b in boundaries if b.transition == "gradual"), key=lambda b: b.span):
        if merged and b.span[0] < merged[-1].span[1]:
            last = merged.pop()
            start, end = last.span[0], max(last.span[1], b.span[1])
            b = ShotBoundary((start + end) // 2, "gradual", max(last.confidence, b.confidence), (start, end))
        merged.append(b)
    cuts = [
        c for c in boundaries if c.transition == "cut" and not any(g.span[0] <= c.frame < g.span[1] for g in merged)
    ]
    return sorted(cuts + merged, key=lambda b: b.frame)


class _Scan:
    """One pass over a title. Decisions about frame ``i`` wait until frame ``i + lookahead``
    has arrived; state is bounded by ``window``, ``flash_frames`` and ``max_gradual_frames``."""

    def __init__(self, detector: FastShotDetector, features: Iterator[_FrameFeatures]) -> None:
        self.d = detector
        self.source = features
        self.lookahead = max(detector.window, detector.flash_frames)
        history = max(detector.max_gradual_frames, detector.window + detector.flash_frames) + self.lookahead + 2
        self.first = 0  # absolute index of feats[0]
        self.feats: deque[_FrameFeatures] = deque(maxlen=history)
        self.scores: deque[float] = deque(maxlen=history)
        self.count = 0
        # Open gradual-transition candidate.
        self.run_start: int | None = None
        self.run_last = 0  # last frame that extended the run
        self.run_baseline = 0.0
        self.run_black = False

    def run(self) -> Iterator[ShotBoundary]:
        for features in self.source:
            self.scores.append(0.0 if not self.feats else _distance(self.feats[-1], features))
            if len(self.feats) == self.feats.maxlen:
                self.first += 1
            self.feats.append(features)
            self.count += 1
            decide = self.count - 1 - self.lookahead
            if decide >= 1:
                yield from self._decide(decide)
        for decide in range(max(1, self.count - self.lookahead), self.count):
            yield from self._decide(decide)
        # A run still open at the end has no content after it: it belongs to the last shot.

    def _f(self, i: int) -> _FrameFeatures:
        return self.feats[i - self.first]

    def _s(self, i: int) -> float:
        return self.scores[i - self.first] if self.first <= i < self.count else 0.0

    def _smoothed(self, i: int) -> float:
        """Mean score of frames ``i-1`` and ``i``: evens out the alternating scores of slow motion."""
        return 0.5 * (self._s(i - 1) + self._s(i))

    def _baseline(self, lo: int, hi: int, exclude: int | None = None, smoothed: bool = False) -> float:
        """Median (smoothed) score over frames ``[lo, hi)`` that are still in the history."""
        score = self._smoothed if smoothed else self._s
        values = [score(j) for j in range(max(lo, self.first + 2), min(hi, self.count)) if j != exclude]
        return float(np.median(values)) if values else 0.0

    def _is_flash(self, i: int) -> bool:
        """True when frame ``i``'s change reverts: content around it matches across the change."""
        d = self.d
        before, after = self._f(i - 1), self._f(i)
        for k in range(1, d.flash_frames + 1):
            if i + k < self.count and _distance(before, self._f(i + k)) < d.min_score:
                return True  # the flash starts at i
            if i - 1 - k >= max(self.first, 0) and _distance(self._f(i - 1 - k), after) < d.min_score:
                return True  # the flash ends at i
        return False

    def _is_cut(self, i: int) -> bool:
        d = self.d
        s = self._s(i)
        if s < d.min_score or s < self._s(i - 1) or s <= self._s(i + 1):
            return False
        if self._f(i - 1).black or self._f(i).black:
            return False  # changes to and from black are fades, handled as gradual runs
        if s < d.threshold * self._baseline(i - d.window, i + d.window + 1, exclude=i):
            return False
        return not self._is_flash(i)

    def _decide(self, i: int) -> Iterator[ShotBoundary]:
        d = self.d
        # A fade-in brightens frame after frame out of black: part of the open fade, never a cut.
        ramp_up = (
            self.run_start is not None
            and self.run_black
            and self._f(i).mean_luma > self._f(i - 1).mean_luma + _RAMP_STEP
        )
        if not ramp_up and self._is_cut(i):
            yield from self._close_run()
            yield ShotBoundary(frame=i, transition="cut", confidence=min(self._s(i), 1.0), span=(i, i + 1))
            return
        black = self._f(i).black or self._f(i - 1).black
        if self.run_start is None:
            baseline = self._baseline(i - d.window, i, smoothed=True)
            if black or self._smoothed(i) >= max(d.gradual_min_score, d.gradual_ratio * baseline):
                self.run_start, self.run_last, self.run_baseline, self.run_black = i, i, baseline, black
            return
        if self.run_black and not black:
            extends = ramp_up  # after black, only a brightening ramp continues the fade
        else:
            extends = black or self._smoothed(i) >= max(d.gradual_min_score, d.gradual_ratio * self.run_baseline)
        if extends:
            self.run_last, self.run_black = i, self.run_black or black
            if i - self.run_start >= d.max_gradual_frames:
                self.run_start = None  # sustained change (motion), not a transition
        else:
            yield from self._close_run()

    def _close_run(self) -> Iterator[ShotBoundary]:
        """Close the open run; emit it when it is a fade or a dissolve."""
        d = self.d
        start, end = self.run_start, self.run_last + 1
        self.run_start = None
        if start is None:
            return
        if self.run_black:
            # Extend over the fade-out ramp: luminance falling frame after frame into black.
            floor = max(self.first + 1, end - d.max_gradual_frames)
            while start - 1 >= floor and self._f(start - 1).mean_luma > self._f(start).mean_luma + _RAMP_STEP:
                start -= 1
        elif end - start < d.min_gradual_frames:
            return
        if start - 1 < self.first or self._f(start - 1).black:
            return  # nothing but black before it: the title's black leader belongs to shot 0
        if not self.run_black and self._blend_residual(start, end) > d.max_blend_residual:
            return  # the frames are not a cross-fade of the two ends: motion, not a dissolve
        confidence = _distance(self._f(start - 1), self._f(end))
        if confidence >= d.min_score:
            yield ShotBoundary(
                frame=(start + end) // 2, transition="gradual", confidence=min(confidence, 1.0), span=(start, end)
            )

    def _blend_residual(self, start: int, end: int) -> float:
        """How far frames ``[start, end)`` are from cross-fades of frames ``start-1`` and ``end``.

        Each frame's luma layout is fitted as ``(1 - a) * before + a * after`` with ``a`` in
        [0, 1]; the result is the mean residual energy relative to ``|after - before|^2``.
        A dissolve scores near 0; a pan or other motion scores far higher.
        """
        a, b = self._f(start - 1).luma, self._f(end).luma
        diff = (b - a).ravel()
        energy = float(diff @ diff)
        if energy == 0.0:
            return float("inf")
        residuals = []
        for m in range(start, end):
            r = (self._f(m).luma - a).ravel()
            alpha = min(max(float(r @ diff) / energy, 0.0), 1.0)
            residuals.append(float(np.square(r - alpha * diff).sum()) / energy)
        return float(np.mean(residuals))
