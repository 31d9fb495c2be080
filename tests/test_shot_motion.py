"""The translation test that tells a whip pan from a cut (``models.shot_detection.motion``), alone
and inside the hybrid detector, on textured pictures moved by known amounts."""

from __future__ import annotations

import numpy as np
import pytest

from models.shot_detection.hybrid import HybridShotDetector
from models.shot_detection.motion import moved_rms, translation_residual


def _panorama(rng: np.random.Generator, height: int = 120, width: int = 400) -> np.ndarray:
    """A wide textured picture: smooth 6-pixel blobs plus fine grain."""
    coarse = rng.uniform(20, 235, size=(height // 6 + 1, width // 6 + 1, 3))
    big = np.kron(coarse, np.ones((6, 6, 1)))[:height, :width]
    return np.clip(big + rng.normal(0, 6, big.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("dy,dx", [(0, 16), (0, -22), (4, 12), (-6, 0), (2, -1)])
def test_a_moved_picture_leaves_almost_no_residual(dy: int, dx: int) -> None:
    big = _panorama(np.random.default_rng(0))
    before = big[40:76, 100:164]
    after = big[40 + dy : 76 + dy, 100 + dx : 164 + dx]
    assert translation_residual(before, after) < 0.15


def test_a_new_picture_is_not_explained_by_moving_the_old_one() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        a, b = _panorama(rng)[:36, :64], _panorama(rng)[:36, :64]
        assert translation_residual(a, b) > 0.6
    still = _panorama(rng)[:36, :64]
    assert translation_residual(still, still) == 1.0  # no change at all: nothing to explain


def test_a_whip_pan_is_no_cut_and_a_cut_after_it_still_is() -> None:
    # A still shot, a pan at 18 px a frame for 5 frames (what a fast pan becomes at 24 fps and
    # 64x36), a still stretch, then a real cut to another picture.
    rng = np.random.default_rng(2)
    big = _panorama(rng)
    other = _panorama(rng)[:36, :64]

    def grain(f: np.ndarray) -> np.ndarray:
        return np.clip(f + rng.normal(0, 2, f.shape), 0, 255).astype(np.uint8)

    frames = [grain(big[40:76, 10:74]) for _ in range(40)]
    frames += [grain(big[40:76, 10 + 18 * k : 74 + 18 * k]) for k in range(1, 6)]
    frames += [grain(big[40:76, 100:164]) for _ in range(40)]
    frames += [grain(other) for _ in range(40)]
    found = HybridShotDetector(device="cpu").detect(iter(frames), 24.0)
    assert [(b.frame, b.transition) for b in found] == [(85, "cut")], found
    off = HybridShotDetector(device="cpu", max_pan_residual=0.0).detect(iter(frames), 24.0)
    assert any(40 <= b.frame <= 46 for b in off), off  # the test is what removes the pan's cut


def test_moved_rms_undoes_a_small_grid_shift() -> None:
    rng = np.random.default_rng(3)
    grid = rng.uniform(0, 255, size=(9, 20, 3))
    a, b = grid[:, 2:18], grid[:, 4:20]  # b is a moved 2 cells
    assert moved_rms(a, b, (0, 0)) > 50.0
    assert moved_rms(a, b, (2, 4)) == 0.0
    with pytest.raises(ValueError):
        moved_rms(a, b, (9, 0))
