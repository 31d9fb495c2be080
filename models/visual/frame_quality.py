"""Frame quality and the representative-frame sampling policy for a shot.

Frames are RGB ``uint8`` arrays ``(N, H, W, 3)``. A frame is *black* when its mean luma is below
``black_luma`` (0-255), *blurred* when the variance of its Laplacian (on luma scaled to 0-1, computed
at a fixed 96-pixel height so the measure does not depend on resolution) is below ``blur_var``, and a
*flash* when its mean luma exceeds the median of the shot's candidates by more than ``flash_luma``.
Representatives are the ``k`` best candidates by sharpness among the frames that are none of those,
falling back to the least-bad frames when every candidate is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Fractions of the shot at which candidate frames are taken.
CANDIDATE_POSITIONS: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
#: Height in pixels of the stored representative frames the per-shot visual features are computed from.
FRAME_HEIGHT = 224
#: JPEG quality (PIL scale, 1-95) of the stored frames.
JPEG_QUALITY = 90

#: Luma weights (BT.601) for RGB.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: Height at which sharpness is measured.
_SHARPNESS_HEIGHT = 96


@dataclass(frozen=True)
class FrameQuality:
    """Quality measures of one frame.

    Attributes:
        brightness: mean luma, 0-255.
        sharpness: variance of the Laplacian of luma (0-1 scale) at 96 px height.
        is_black: too dark to show content.
        is_blurred: too little detail.
        is_flash: much brighter than the rest of its shot.
    """

    brightness: float
    sharpness: float
    is_black: bool
    is_blurred: bool
    is_flash: bool

    @property
    def usable(self) -> bool:
        return not (self.is_black or self.is_blurred or self.is_flash)


@dataclass(frozen=True)
class QualityPolicy:
    """Thresholds of the quality filter and the number of representatives per shot."""

    k: int = 3
    black_luma: float = 16.0
    blur_var: float = 1e-4
    flash_luma: float = 60.0

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be >= 1")
        if not 0 <= self.black_luma <= 255 or self.flash_luma <= 0 or self.blur_var < 0:
            raise ValueError("black_luma must be in [0, 255], flash_luma > 0 and blur_var >= 0")


def _luma(frames: np.ndarray) -> np.ndarray:
    return frames.astype(np.float32) @ _LUMA


def _downscale(luma: np.ndarray, height: int) -> np.ndarray:
    """Box-downscale ``(N, H, W)`` by an integer factor so the height is about ``height``."""
    factor = max(1, luma.shape[1] // height)
    if factor == 1:
        return luma
    n, h, w = luma.shape
    h2, w2 = h // factor, w // factor
    return luma[:, : h2 * factor, : w2 * factor].reshape(n, h2, factor, w2, factor).mean(axis=(2, 4))


def sharpness(frames: np.ndarray) -> np.ndarray:
    """Variance of the 4-neighbour Laplacian of luma (0-1 scale), per frame, shape ``(N,)``."""
    y = _downscale(_luma(frames), _SHARPNESS_HEIGHT) / 255.0
    lap = -4 * y[:, 1:-1, 1:-1] + y[:, :-2, 1:-1] + y[:, 2:, 1:-1] + y[:, 1:-1, :-2] + y[:, 1:-1, 2:]
    return lap.reshape(len(y), -1).var(axis=1)


def frame_quality(frames: np.ndarray, policy: QualityPolicy = QualityPolicy()) -> list[FrameQuality]:
    """Quality of each candidate frame of one shot (flashes are judged against the shot's median)."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected (N, H, W, 3) RGB frames, got shape {frames.shape}")
    if len(frames) == 0:
        return []
    bright = _luma(frames).reshape(len(frames), -1).mean(axis=1)
    sharp = sharpness(frames)
    median = float(np.median(bright))
    return [
        FrameQuality(float(b), float(s), bool(b < policy.black_luma), bool(s < policy.blur_var),
                     bool(b - median > policy.flash_luma))
        for b, s in zip(bright, sharp)
    ]


def select_representatives(qualities: list[FrameQuality], k: int) -> list[int]:
    """Indices (ascending) of the ``k`` representative candidates.

    Usable frames come first, sharpest first; flagged frames only fill the remaining places, the least
    flagged and sharpest first. Fewer than ``k`` candidates returns all of them.
    """
    order = sorted(
        range(len(qualities)),
        key=lambda i: (int(qualities[i].is_black) + int(qualities[i].is_flash) + int(qualities[i].is_blurred),
                       -qualities[i].sharpness, i),
    )
    return sorted(order[:k])
