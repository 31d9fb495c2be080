"""Per-shot motion descriptor from dense optical flow: which way the picture moves, and where.

The descriptor is the basis of "action" match cuts: camera or subject motion that carries on across a
cut. A shot's frames are sampled at ``MOTION_FPS`` and scaled to ``MOTION_HEIGHT`` pixels high (luma
only); OpenCV's Farneback dense optical flow is taken between consecutive samples; each cell of a
``MOTION_GRID`` over the picture gets a histogram of flow direction in ``MOTION_DIRECTIONS`` bins,
weighted by flow magnitude; the histograms are summed over the shot's pairs and the whole
``rows * cols * directions`` vector is L2-normalized, so the dot product of two descriptors is their
cosine similarity. A shot too short for one pair, or whose picture barely moves (mean flow magnitude
under ``MIN_MOTION_PX``), has no motion: its descriptor is all zeros.

Units: flow is in pixels per sampled frame (``1 / MOTION_FPS`` seconds) at ``MOTION_HEIGHT`` pixels of
picture height. Directions are image directions: x to the right, y *down*; bin ``k`` is centred on the
angle ``k * 360 / directions`` degrees measured from +x towards +y, so with 8 bins bin 0 is rightward
motion, bin 2 downward, bin 4 leftward and bin 6 upward. This is the motion of the picture's content:
a camera panning left makes the content move right (bin 0).

Vector layout: cell-major, cells in row-major order (top-left cell first), each cell's ``directions``
bins in order: element ``(r * cols + c) * directions + k``.
"""

from __future__ import annotations

import math

import numpy as np

#: Frames sampled per second of video for the flow (consecutive samples are ``1 / MOTION_FPS`` s apart).
MOTION_FPS = 6.0
#: Height in pixels of the luma frames the flow runs at (width follows the aspect ratio).
MOTION_HEIGHT = 72
#: ``(rows, cols)`` of the grid of cells, each with its own direction histogram.
MOTION_GRID = (3, 3)
#: Direction bins per cell, evenly spaced around the circle, bin 0 centred on rightward motion.
MOTION_DIRECTIONS = 8
#: Mean flow magnitude (pixels per sampled frame, at ``MOTION_HEIGHT``) under which a shot counts as
#: static: about 0.9 px/s at 72 px high, a drift of 1.25% of the picture height a second. Sensor grain
#: and compression noise on a still picture give a mean magnitude of a few hundredths; a slow
#: pan of half a pixel per sampled frame gives about 0.5.
MIN_MOTION_PX = 0.15

#: Farneback parameters (``cv2.calcOpticalFlowFarneback``), fixed. They are not among the spec's params
#: (``reelhouse.features.specs.motion_spec``): changing them means bumping its algorithm version.
#: A 3-level pyramid (72, 36, 18 px high), an 11-pixel averaging window and 3 iterations per level, a
#: 5-pixel polynomial neighbourhood with its recommended Gaussian sigma of 1.1, no Gaussian window, no
#: initial flow. On fine texture this measures a pan exactly up to about 6 px per sampled frame (at 6
#: fps, a pan across a 16:9 picture's width in about 3.5 s); faster motion is under-measured and its
#: direction less reliable (more pyramid levels or a wider window did not extend that range).
FARNEBACK: dict[str, float] = {"pyr_scale": 0.5, "levels": 3, "winsize": 11, "iterations": 3, "poly_n": 5,
                               "poly_sigma": 1.1, "flags": 0}

#: Smallest picture the flow is taken on, per axis (pixels).
_MIN_SIDE = 8


def to_luma(frames: np.ndarray) -> np.ndarray:
    """Luma of uint8 frames: ``(..., H, W)`` luma passes through; ``(..., H, W, 3)`` RGB becomes BT.601
    luma ``0.299 R + 0.587 G + 0.114 B``, rounded, uint8.

    Raises:
        ValueError: not uint8.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames, got {frames.dtype}")
    if frames.ndim >= 3 and frames.shape[-1] == 3:
        weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.clip(np.rint(frames.astype(np.float32) @ weights), 0, 255).astype(np.uint8)
    return frames


def frame_flow(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Dense optical flow from ``prev`` to ``nxt`` (Farneback, parameters ``FARNEBACK``).

    Args:
        prev, nxt: uint8 grayscale frames ``(H, W)`` of one size, at least 8 pixels per side.

    Returns:
        ``(H, W, 2)`` float32: per pixel of ``prev``, the displacement ``(dx, dy)`` in pixels (x right,
        y down) to where it is in ``nxt``. Deterministic for the same input.

    Raises:
        ValueError: wrong dtype, shape or size.
    """
    import cv2

    for name, f in (("prev", prev), ("nxt", nxt)):
        if not isinstance(f, np.ndarray) or f.dtype != np.uint8 or f.ndim != 2:
            raise ValueError(f"{name} must be a uint8 (H, W) grayscale frame, got "
                             f"{getattr(f, 'dtype', type(f))} {getattr(f, 'shape', '')}")
    if prev.shape != nxt.shape:
        raise ValueError(f"frames differ in size: {prev.shape} and {nxt.shape}")
    if min(prev.shape) < _MIN_SIDE:
        raise ValueError(f"frames of {prev.shape[1]}x{prev.shape[0]} are smaller than {_MIN_SIDE}x{_MIN_SIDE}")
    p = FARNEBACK
    flow = cv2.calcOpticalFlowFarneback(np.ascontiguousarray(prev), np.ascontiguousarray(nxt), None, float(p["pyr_scale"]),
                                        int(p["levels"]), int(p["winsize"]), int(p["iterations"]), int(p["poly_n"]),
                                        float(p["poly_sigma"]), int(p["flags"]))
    return np.asarray(flow, dtype=np.float32)


class MotionHistogram:
    """The descriptor of one shot, accumulated one frame at a time (memory: one frame and the histogram).

    ``push`` the shot's consecutive sampled luma frames in order, then read ``descriptor()``;
    :func:`motion_descriptor` does both for frames already in memory.
    """

    def __init__(self, grid: tuple[int, int] = MOTION_GRID, directions: int = MOTION_DIRECTIONS,
                 min_motion_px: float = MIN_MOTION_PX) -> None:
        """
        Args:
            grid: ``(rows, cols)`` of cells, each >= 1.
            directions: direction bins per cell, >= 2.
            min_motion_px: static-shot threshold on the mean flow magnitude, in pixels per sampled
                frame at ``MOTION_HEIGHT``; for frames of another height it scales with the height.

        Raises:
            ValueError: bad grid, directions or threshold.
        """
        if len(grid) != 2 or min(grid) < 1:
            raise ValueError(f"grid must be (rows, cols), each >= 1, got {grid}")
        if directions < 2:
            raise ValueError(f"directions must be >= 2, got {directions}")
        if not min_motion_px >= 0:
            raise ValueError(f"min_motion_px must be >= 0, got {min_motion_px}")
        self.grid = (int(grid[0]), int(grid[1]))
        self.directions = int(directions)
        self.min_motion_px = float(min_motion_px)
        self._hist = np.zeros(self.grid[0] * self.grid[1] * self.directions, dtype=np.float64)
        self._magnitude = 0.0  # sum over pairs of the pair's mean flow magnitude
        self._pairs = 0
        self._prev: np.ndarray | None = None
        self._cells: np.ndarray | None = None  # per pixel: its cell's index times ``directions``

    @property
    def dim(self) -> int:
        """The descriptor's length: ``rows * cols * directions``."""
        return self._hist.size

    @property
    def pairs(self) -> int:
        """Frame pairs seen so far."""
        return self._pairs

    def push(self, frame: np.ndarray) -> None:
        """Add the shot's next sampled frame (uint8 luma ``(H, W)``, or RGB ``(H, W, 3)``).

        Raises:
            ValueError: wrong dtype or shape, a size other than the previous frame's, or too small a
                frame (under 8 pixels or one pixel per cell, per axis).
        """
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[-1] != 3):
            raise ValueError(f"expected a uint8 (H, W) luma or (H, W, 3) RGB frame, got {frame.dtype} {frame.shape}")
        luma = to_luma(frame)
        h, w = luma.shape
        if h < max(_MIN_SIDE, self.grid[0]) or w < max(_MIN_SIDE, self.grid[1]):
            raise ValueError(f"a {w}x{h} frame is too small for the flow and a {self.grid[0]}x{self.grid[1]} grid")
        if self._prev is None:
            self._cells = self._cell_index(h, w)
        elif self._prev.shape != luma.shape:
            raise ValueError(f"frame size changed within a shot: {self._prev.shape} then {luma.shape}")
        else:
            self._add(frame_flow(self._prev, luma))
        self._prev = luma

    def _cell_index(self, h: int, w: int) -> np.ndarray:
        rows = np.minimum(np.arange(h) * self.grid[0] // h, self.grid[0] - 1)
        cols = np.minimum(np.arange(w) * self.grid[1] // w, self.grid[1] - 1)
        return ((rows[:, None] * self.grid[1] + cols[None, :]) * self.directions).ravel()

    def _add(self, flow: np.ndarray) -> None:
        dx, dy = flow[..., 0].astype(np.float64).ravel(), flow[..., 1].astype(np.float64).ravel()
        magnitude = np.hypot(dx, dy)
        # atan2 with y down: 0 = right, pi/2 = down; bins centred on k * 2pi / directions.
        step = 2 * math.pi / self.directions
        bins = np.floor(np.mod(np.arctan2(dy, dx) + step / 2, 2 * math.pi) / step).astype(np.int64) % self.directions
        assert self._cells is not None
        self._hist += np.bincount(self._cells + bins, weights=magnitude, minlength=self._hist.size)
        self._magnitude += float(magnitude.mean())
        self._pairs += 1

    def mean_magnitude(self) -> float:
        """Mean flow magnitude over the pairs seen, in pixels per sampled frame at the frames' own
        height (0 before the first pair)."""
        return self._magnitude / self._pairs if self._pairs else 0.0

    def descriptor(self) -> np.ndarray:
        """The ``dim``-long float32 descriptor: the magnitude-weighted direction histograms averaged over
        the pairs, L2-normalized; all zeros with no pair or a mean magnitude under the threshold."""
        out = np.zeros(self.dim, dtype=np.float32)
        if self._pairs == 0 or self._prev is None:
            return out
        threshold = self.min_motion_px * self._prev.shape[0] / MOTION_HEIGHT
        norm = float(np.linalg.norm(self._hist))
        if self.mean_magnitude() < threshold or norm == 0:
            return out
        return (self._hist / norm).astype(np.float32)


def motion_descriptor(frames: np.ndarray, grid: tuple[int, int] = MOTION_GRID, directions: int = MOTION_DIRECTIONS,
                      min_motion_px: float = MIN_MOTION_PX) -> np.ndarray:
    """The motion descriptor of one shot's consecutive sampled frames.

    Args:
        frames: ``(N, H, W)`` uint8 luma or ``(N, H, W, 3)`` uint8 RGB, consecutive samples of one shot
            ``1 / MOTION_FPS`` s apart, ``MOTION_HEIGHT`` pixels high (other heights work; the
            threshold scales with the height).
        grid: ``(rows, cols)`` of cells.
        directions: direction bins per cell.
        min_motion_px: static-shot threshold on the mean flow magnitude (pixels per sampled frame at
            ``MOTION_HEIGHT``).

    Returns:
        ``rows * cols * directions`` float32, unit L2 norm; all zeros when ``N < 2`` or the shot is static.

    Raises:
        ValueError: wrong dtype or shape, too small frames, bad grid, directions or threshold.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[-1] != 3):
        raise ValueError(f"expected uint8 frames (N, H, W) or (N, H, W, 3), got {frames.dtype} {frames.shape}")
    acc = MotionHistogram(grid, directions, min_motion_px)
    for frame in frames:
        acc.push(frame)
    return acc.descriptor()
