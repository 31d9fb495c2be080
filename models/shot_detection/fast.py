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

import statistics
from collections import deque
from collections.abc import Callable, Iterable, Iterator
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
# A step counts as a fade step when a common gain explains the change of every cell's luma up to
# this fraction of the change's energy.
_FADE_STEP_RESIDUAL = 0.1
_YCBCR_OFFSET = np.array([0.0, 128.0, 128.0], dtype=np.float32)
_BIN_SCALE = np.array([_Y_BINS / 256.0, _C_BINS / 256.0, _C_BINS / 256.0], dtype=np.float32)
_BIN_STRIDE = np.array([_C_BINS * _C_BINS, _C_BINS, 1], dtype=np.int64)
_HIST_BINS = _Y_BINS * _C_BINS * _C_BINS
#: Frames analysed together: vectorizing over a batch amortizes numpy's per-call overhead. The
#: batch (0.4 MB of 64x36 frames) and its scratch arrays (6 MB) are the price in memory.
BATCH_FRAMES = 64


@dataclass(frozen=True, slots=True)
class _FrameFeatures:
    histogram: np.ndarray  # (128,) float32, sums to 1
    luma: np.ndarray  # (9, 16) float32, mean luma (0-255) of each 4x4 cell
    layout: np.ndarray  # (9, 16) float32, zero mean, contrast-normalized luma
    mean_luma: float  # 0-255
    black: bool
    score: float  # distance in [0, 1] to the previous frame of the stream; 0 for its first frame


def frame_batches(
    frames: Iterable[np.ndarray], check: Callable[[np.ndarray, int], None], size: int = BATCH_FRAMES
) -> Iterator[np.ndarray]:
    """Stack consecutive frames into ``(n, H, W, 3)`` arrays of ``size`` frames (fewer at the end).

    Each frame is passed to ``check(frame, index)`` as it arrives, ``index`` counting from 0.
    """
    batch: list[np.ndarray] = []
    for index, frame in enumerate(frames):
        check(frame, index)
        batch.append(frame)
        if len(batch) == size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


class _Scratch:
    """Work arrays for the features of up to ``size`` frames of ``pixels`` pixels each, reused
    batch after batch: arrays this large would otherwise be fresh memory mappings every time,
    whose page faults cost about as much as the arithmetic."""

    def __init__(self, size: int, pixels: int) -> None:
        self.rgb = np.empty((size, pixels, 3), np.float32)
        self.ycc = np.empty((size, 3, pixels), np.float32)  # Y, Cb, Cr planes
        self.code = np.empty((size, pixels), np.int64)
        self.bins = np.empty((size, pixels), np.int64)


def _batch_features(
    frames: np.ndarray, black_level: float, scratch: _Scratch
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Features of ``(n, 36, 64, 3)`` RGB uint8 frames: ``(histogram (n, 128), luma (n, 9, 16),
    layout (n, 9, 16), mean_luma (n,), black (n,))``, as described on ``_FrameFeatures``.

    Per-frame planar matrix products keep every value bit-identical to computing one frame at
    a time (and stay clear of the BLAS threading that one tall product would start).
    """
    n = frames.shape[0]
    rgb, ycc, code, bins = scratch.rgb[:n], scratch.ycc[:n], scratch.code[:n], scratch.bins[:n]
    np.copyto(rgb, frames.reshape(n, -1, 3))
    np.matmul(_YCBCR, rgb.transpose(0, 2, 1), out=ycc)
    ycc += _YCBCR_OFFSET[:, None]
    luma = ycc[:, 0].reshape(n, _GRID_H, _CELL, _GRID_W, _CELL).mean(axis=(2, 4))
    # Histogram bins, overwriting the planes: each frame counts into its own row of bins.
    bins[:] = np.arange(n)[:, None] * _HIST_BINS
    for channel, levels in enumerate((_Y_BINS, _C_BINS, _C_BINS)):
        level = ycc[:, channel]
        level *= _BIN_SCALE[channel]
        np.clip(level, 0, levels - 1, out=level)  # clipping before truncation gives the same bins
        np.copyto(code, level, casting="unsafe")  # truncation
        code *= _BIN_STRIDE[channel]
        bins += code
    histogram = np.bincount(bins.ravel(), minlength=n * _HIST_BINS).astype(np.float32).reshape(n, _HIST_BINS)
    histogram /= ycc.shape[2]
    flat = luma.reshape(n, -1)
    mean_luma = flat.mean(axis=1)
    centred = luma - mean_luma[:, None, None]
    layout = centred / np.maximum(centred.reshape(n, -1).std(axis=1), _MIN_CONTRAST)[:, None, None]
    return histogram, luma, layout, mean_luma, flat.max(axis=1) < black_level


def _distances(
    histogram_a: np.ndarray, layout_a: np.ndarray, histogram_b: np.ndarray, layout_b: np.ndarray
) -> np.ndarray:
    """Content distances in [0, 1] between frames ``a[k]`` and ``b[k]``: mean of colour-histogram
    and motion-tolerant structure terms. Histograms ``(n, 128)``, layouts ``(n, 9, 16)``; float64 ``(n,)``."""
    colour = 0.5 * np.abs(histogram_a - histogram_b).sum(axis=1).astype(np.float64)
    core = layout_a[:, _SHIFT_Y : _GRID_H - _SHIFT_Y, _SHIFT_X : _GRID_W - _SHIFT_X]
    shifted = sliding_window_view(layout_b, core.shape[1:], axis=(1, 2))  # (n, 2*SY+1, 2*SX+1, *core)
    errors = np.square(shifted - core[:, None, None]).mean(axis=(3, 4))
    structure = errors.min(axis=(1, 2)).astype(np.float64) / 2.0
    return 0.5 * (colour + np.minimum(structure, 1.0))


def _distance(a: _FrameFeatures, b: _FrameFeatures) -> float:
    """Content distance in [0, 1] between two frames (see ``_distances``)."""
    return float(_distances(a.histogram[None], a.layout[None], b.histogram[None], b.layout[None])[0])


class _Featurizer:
    """Features of a stream's frames, a batch at a time, each frame scored against the one before."""

    def __init__(self, black_level: float) -> None:
        self.black_level = black_level
        self.previous: _FrameFeatures | None = None
        self.scratch = _Scratch(BATCH_FRAMES, _WIDTH * _HEIGHT)

    def __call__(self, frames: np.ndarray) -> list[_FrameFeatures]:
        """Features of the next ``(n, 36, 64, 3)`` frames of the stream (n <= ``BATCH_FRAMES``), in order."""
        histogram, luma, layout, mean_luma, black = _batch_features(frames, self.black_level, self.scratch)
        scores = np.zeros(len(frames))
        scores[1:] = _distances(histogram[:-1], layout[:-1], histogram[1:], layout[1:])
        if self.previous is not None:
            p = self.previous
            scores[0] = _distances(p.histogram[None], p.layout[None], histogram[:1], layout[:1])[0]
        features = [
            _FrameFeatures(histogram[k], luma[k], layout[k], float(mean_luma[k]), bool(black[k]), float(scores[k]))
            for k in range(len(frames))
        ]
        self.previous = features[-1]
        return features


class FastShotDetector(ShotDetector):
    """Hard cuts, fades and dissolves from colour and layout statistics, in pure numpy.

    Frames are RGB uint8 at ``analysis_size`` = (64, 36). Every length parameter is in
    frames, so ``fps`` is only validated. Memory is bounded by about ``max_gradual_frames``
    frames' features (a few hundred KB) plus one batch of ``BATCH_FRAMES`` frames whose
    features are computed together (about 7 MB with scratch), whatever the title's length.
    """

    name = "fast"
    version = "1.1.0"
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
        return np.asarray([features.score for features in self._features(frames)], dtype=np.float32)

    def _features(self, frames: Iterable[np.ndarray]) -> Iterator[_FrameFeatures]:
        featurize = _Featurizer(self.black_level)
        for batch in frame_batches(frames, self.check_frame):
            yield from featurize(batch)


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
            self.scores.append(features.score)
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
        return statistics.median(values) if values else 0.0

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
        return not self._is_flash(i) and not self._is_fade_step(i)

    def _is_fade_step(self, i: int) -> bool:
        """True when frame ``i`` is one step of a fade: the picture of frame ``i - 1`` scaled
        towards black or white (each 4x4 cell's luma by one common gain), on a ramp whose
        brightness moves the same way on the frames before and after. Flat or low-contrast
        frames fading cross histogram bins all at once, which would otherwise score as cuts."""
        if i < 2 or i + 1 >= self.count:
            return False
        lumas = [self._f(j).mean_luma for j in (i - 2, i - 1, i, i + 1)]
        steps = np.diff(lumas)
        if not (np.all(steps > _RAMP_STEP) or np.all(steps < -_RAMP_STEP)):
            return False
        return self._is_gain_step(i)

    def _is_gain_step(self, i: int) -> bool:
        """True when frame ``i``'s cell lumas are frame ``i - 1``'s scaled by one gain towards
        black or white (see ``_is_fade_step``)."""
        a, b = self._f(i - 1).luma.ravel(), self._f(i).luma.ravel()
        for anchor in (0.0, 255.0):  # towards black, towards white
            x, y = a - anchor, b - anchor
            energy = float(x @ x)
            if energy == 0.0:
                continue
            gain = float(x @ y) / energy
            residual = float(np.square(y - gain * x).mean())
            if residual <= _FADE_STEP_RESIDUAL * max(float(np.square(y - x).mean()), 1.0):
                return True
        return False

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
            smoothed = self._smoothed(i)
            if not black and smoothed < d.gradual_min_score:
                return  # below the absolute floor: no baseline can start a run (the common case)
            baseline = self._baseline(i - d.window, i, smoothed=True)
            if black or smoothed >= max(d.gradual_min_score, d.gradual_ratio * baseline):
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
        elif all(self._is_gain_step(m) for m in range(max(start, self.first + 1), end + 1)):
            return  # a stretch of a fade's ramp (brightness scaled step by step), not a dissolve
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
