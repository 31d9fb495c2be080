"""Cheap per-frame descriptors for match-cut flavors: colour palette and spatial layout.

Colour conversion and area resizing run in Pillow (C), the rest in numpy. Frames are RGB uint8
``(N, H, W, 3)`` of any size; every descriptor is an
``(N, D)`` float32 array with L2-normalized rows (an all-zero row stays zero), so the dot
product of two rows is their cosine similarity.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

_SOBEL_SUPERSAMPLE = 4  # Sobel runs at this many pixels per output cell, per axis


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected RGB uint8 frames of shape (N, H, W, 3), got {frames.dtype} {frames.shape}")
    return frames


def _l2_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0).astype(np.float32)


def _area_resize(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average ``(N, H, W)`` images to ``(N, height, width)``; any H >= height, W >= width."""
    rows = np.linspace(0, images.shape[1], height + 1).astype(np.int64)
    cols = np.linspace(0, images.shape[2], width + 1).astype(np.int64)
    summed = np.add.reduceat(np.add.reduceat(images, rows[:-1], axis=1), cols[:-1], axis=2)
    return summed / (np.diff(rows)[None, :, None] * np.diff(cols)[None, None, :])


def colour_histogram(frames: np.ndarray, bins: tuple[int, int, int] = (8, 4, 4)) -> np.ndarray:
    """Joint HSV colour histogram of each frame.

    Args:
        frames: RGB uint8 frames ``(N, H, W, 3)``.
        bins: Bins for hue, saturation and value (each >= 1); D is their product.

    Returns:
        ``(N, D)`` float32, L2-normalized rows.

    Raises:
        ValueError: Bad frames or bins.
    """
    frames = _check_frames(frames)
    if len(bins) != 3 or min(bins) < 1:
        raise ValueError(f"bins must be three counts >= 1, got {bins}")
    h_bins, s_bins, v_bins = bins
    # Pillow's HSV: hue, saturation and value each scaled to 0-255 (hue 0-255 spans 0-360 degrees).
    # Per-channel lookup tables from a 0-255 level to its bin's share of the joint bin index.
    levels = np.arange(256, dtype=np.int32)
    h_lut = (levels * h_bins >> 8) * (s_bins * v_bins)
    s_lut = (levels * s_bins >> 8) * v_bins
    v_lut = levels * v_bins >> 8
    size = h_bins * s_bins * v_bins
    counts = np.empty((len(frames), size), dtype=np.float64)
    for i, frame in enumerate(frames):
        hsv = np.asarray(Image.fromarray(frame).convert("HSV"))
        index = h_lut[hsv[..., 0]] + s_lut[hsv[..., 1]] + v_lut[hsv[..., 2]]
        counts[i] = np.bincount(index.ravel(), minlength=size)
    return _l2_rows(counts)


def layout_map(frames: np.ndarray, grid: tuple[int, int] = (16, 9)) -> np.ndarray:
    """Low-resolution edge-strength map of each frame: where the composition's structure is.

    Luma is area-resized to ``4 * grid``, Sobel gradient magnitude is taken there and
    area-pooled to ``grid`` cells.

    Args:
        frames: RGB uint8 frames ``(N, H, W, 3)``, at least ``4 * grid`` pixels in each axis.
        grid: ``(width, height)`` of the map in cells; D = width * height.

    Returns:
        ``(N, D)`` float32, L2-normalized rows in row-major (top to bottom) cell order.

    Raises:
        ValueError: Bad frames, bad grid, or frames smaller than ``4 * grid``.
    """
    frames = _check_frames(frames)
    grid_w, grid_h = grid
    if grid_w < 1 or grid_h < 1:
        raise ValueError(f"grid must be two counts >= 1, got {grid}")
    work_h, work_w = grid_h * _SOBEL_SUPERSAMPLE, grid_w * _SOBEL_SUPERSAMPLE
    if frames.shape[1] < work_h or frames.shape[2] < work_w:
        raise ValueError(f"frames of {frames.shape[2]}x{frames.shape[1]} are smaller than {work_w}x{work_h}")
    # BT.601 luma and an area (box) resize to the working size, per frame in Pillow.
    luma = np.stack(
        [np.asarray(Image.fromarray(f).convert("L").resize((work_w, work_h), Image.Resampling.BOX)) for f in frames]
    ).astype(np.float32)
    small = np.pad(luma, ((0, 0), (1, 1), (1, 1)), mode="edge")
    gx = (
        (small[:, :-2, 2:] + 2 * small[:, 1:-1, 2:] + small[:, 2:, 2:])
        - (small[:, :-2, :-2] + 2 * small[:, 1:-1, :-2] + small[:, 2:, :-2])
    )
    gy = (
        (small[:, 2:, :-2] + 2 * small[:, 2:, 1:-1] + small[:, 2:, 2:])
        - (small[:, :-2, :-2] + 2 * small[:, :-2, 1:-1] + small[:, :-2, 2:])
    )
    magnitude = _area_resize(np.hypot(gx, gy), grid_h, grid_w)
    return _l2_rows(magnitude.reshape(len(frames), -1).astype(np.float64))
