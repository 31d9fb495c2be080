"""Camera motion between two pictures: how much of their difference one translation explains.

A whip pan changes every pixel from one frame to the next, as a cut does, but the second frame
is the first one moved. Phase correlation (the peak of the normalised cross-power spectrum)
proposes the translation; the residual after shifting tells a pan (most of the difference gone)
from a cut (a new picture stays different however it is shifted).
"""

from __future__ import annotations

import numpy as np

from models.shot_detection.base import LUMA


def _luma(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float32) @ LUMA


def _shifted_rms(a: np.ndarray, b: np.ndarray, dy: int, dx: int) -> float:
    """Rms difference over the overlap of ``b`` and ``a`` moved by ``(dy, dx)`` pixels (arrays
    ``(h, w)`` or ``(h, w, channels)``)."""
    h, w = a.shape[:2]
    aa = a[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    bb = b[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)]
    return float(np.sqrt(np.square(bb - aa).mean()))


def moved_rms(a: np.ndarray, b: np.ndarray, max_shift: tuple[int, int]) -> float:
    """The rms difference of ``b`` and ``a`` under the best integer translation of ``a`` up to
    ``max_shift = (dy, dx)`` (exhaustive; meant for small grids such as 9x16 cell means).

    Args:
        a, b: float arrays ``(h, w)`` or ``(h, w, channels)`` of one shape; each shift must
            leave an overlap (``max_shift`` under ``(h, w)``).
        max_shift: largest ``(dy, dx)`` shift, in grid units; ``(0, 0)`` is the plain rms.

    Returns:
        The smallest rms over the overlaps, in the arrays' units.
    """
    my, mx = max_shift
    if not (0 <= my < a.shape[0] and 0 <= mx < a.shape[1]):
        raise ValueError(f"max_shift {max_shift} must lie in [0, {a.shape[:2]})")
    return min(_shifted_rms(a, b, dy, dx) for dy in range(-my, my + 1) for dx in range(-mx, mx + 1))


def translation_residual(
    before: np.ndarray, after: np.ndarray, max_shift: tuple[int, int] = (12, 24), peaks: int = 3
) -> float:
    """The share of the difference between two frames that remains once ``before`` is moved by
    the best translation: ``rms(after - shifted before) / rms(after - before)`` over the overlap.

    Args:
        before, after: ``(H, W, 3)`` uint8 RGB frames of one size (the detectors' 64x36).
        max_shift: largest ``(dy, dx)`` translation considered, in pixels; the overlap must stay
            at least half the frame each way.
        peaks: phase-correlation peaks tried (each with its 8 neighbours, for sub-pixel motion).

    Returns:
        A ratio in ``[0, 1]``: near 0 when ``after`` is ``before`` moved (a pan, a tilt), near 1
        for unrelated pictures (a cut); 1 when the frames are identical.
    """
    a, b = _luma(before), _luma(after)
    base = float(np.sqrt(np.square(b - a).mean()))
    if base == 0.0:
        return 1.0
    h, w = a.shape
    my, mx = min(max_shift[0], h // 2), min(max_shift[1], w // 2)
    window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    cross = np.fft.fft2((b - b.mean()) * window) * np.conj(np.fft.fft2((a - a.mean()) * window))
    surface = np.real(np.fft.ifft2(cross / (np.abs(cross) + 1e-9)))
    best = base
    for idx in np.argsort(surface.ravel())[::-1][:peaks]:
        dy, dx = divmod(int(idx), w)
        dy, dx = (dy - h if dy > h // 2 else dy), (dx - w if dx > w // 2 else dx)
        for ey in (-1, 0, 1):
            for ex in (-1, 0, 1):
                sy, sx = dy + ey, dx + ex
                if abs(sy) <= my and abs(sx) <= mx:
                    best = min(best, _shifted_rms(a, b, sy, sx))
    return min(1.0, best / base)
