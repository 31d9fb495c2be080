"""Picture geometry: display size from coded size, sample aspect ratio and rotation; upright frames."""

from __future__ import annotations

import numpy as np


def display_size(width: int, height: int, sample_aspect_ratio: float, rotation: int) -> tuple[int, int]:
    """``(width, height)`` as displayed: SAR stretches the width, then rotation may swap the axes."""
    w, h = round(width * sample_aspect_ratio), height
    return (h, w) if rotation in (90, 270) else (w, h)


def fixed_height_size(display_w: int, display_h: int, height: int) -> tuple[int, int]:
    """Output ``(width, height)`` with the given height, square pixels and an even width."""
    width = max(2, 2 * round(height * display_w / display_h / 2))
    return width, height


def coded_target(out_w: int, out_h: int, rotation: int) -> tuple[int, int]:
    """Size to scale a decoded (not yet rotated) frame to so that rotating it gives ``out_w x out_h``."""
    return (out_h, out_w) if rotation in (90, 270) else (out_w, out_h)


def upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate an ``(H, W, 3)`` frame clockwise by ``rotation`` degrees (0/90/180/270); C-contiguous."""
    if rotation % 360 == 0:
        return rgb
    return np.ascontiguousarray(np.rot90(rgb, k=-(rotation // 90)))
