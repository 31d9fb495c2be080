"""The blend-fit finder of gradual transitions (``models.shot_detection.gradual``) on synthetic
64x36 streams whose transitions are known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import zoom

from models.shot_detection.base import ShotBoundary
from models.shot_detection.gradual import GradualFinder, GradualParams, cell_vectors

H, W = 36, 64


def _picture(rng: np.random.Generator) -> np.ndarray:
    """A textured picture: smooth colour blobs (cell means differ from cell to cell)."""
    coarse = rng.uniform(20, 235, size=(5, 9, 3))
    return np.kron(coarse, np.ones((8, 8, 1)))[:H, :W].astype(np.float32)


def _find(frames: list[np.ndarray], rng: np.random.Generator) -> list[ShotBoundary]:
    """Run the finder over ``frames`` (float, 0-255) with a little sensor noise, 16 at a time."""
    stack = np.stack([np.clip(f + rng.normal(0, 1.5, f.shape), 0, 255) for f in frames]).astype(np.uint8)
    finder = GradualFinder()
    found: list[ShotBoundary] = []
    for i in range(0, len(stack), 16):
        found += finder.push(cell_vectors(stack[i : i + 16]))
    return found + finder.finish()


def _near(span: tuple[int, int], start: int, end: int, slack: int = 3) -> bool:
    return abs(span[0] - start) <= slack and abs(span[1] - end) <= slack


def test_a_slow_dissolve_keeps_its_whole_span() -> None:
    rng = np.random.default_rng(1)
    a, b = _picture(rng), _picture(rng)
    n = 40  # frames 40..79 are the dissolve
    frames = [a] * 40 + [(1 - (k + 1) / (n + 1)) * a + (k + 1) / (n + 1) * b for k in range(n)] + [b] * 40
    found = _find(frames, rng)
    assert len(found) == 1 and found[0].transition == "gradual", found
    # Each step of a slow ramp is small; the span must still hold the ramp, not its last frames.
    assert _near(found[0].span, 40, 80), found


@pytest.mark.parametrize("direction", ["right", "down"])
def test_a_wipe_is_found_by_its_sweeping_front(direction: str) -> None:
    rng = np.random.default_rng(2)
    a, b = _picture(rng), _picture(rng)
    n = 20
    yy, xx = np.mgrid[0:H, 0:W]
    frames = [a] * 40
    for k in range(n):
        alpha = (k + 1) / (n + 1)
        mask = xx < alpha * W if direction == "right" else yy < alpha * H
        frames.append(np.where(mask[..., None], b, a))
    frames += [b] * 40
    found = _find(frames, rng)
    assert len(found) == 1, found
    assert _near(found[0].span, 40, 60) and found[0].confidence == 1.0, found


def test_an_object_sweeping_past_the_lens_is_no_transition() -> None:
    rng = np.random.default_rng(3)
    a = _picture(rng)
    plain = np.full((H, W, 3), (90, 80, 70), np.float32)
    xx = np.mgrid[0:H, 0:W][1]
    frames = [a] * 40
    for k in range(12):  # the surface slides in from the left ...
        frames.append(np.where((xx < (k + 1) / 12 * W)[..., None], plain, a))
    frames += [plain] * 4
    for k in range(12):  # ... and out to the right
        frames.append(np.where((xx < (k + 1) / 12 * W)[..., None], a, plain))
    frames += [a] * 40
    assert _find(frames, rng) == []


def test_a_fade_from_white_does_not_run_into_the_next_fade() -> None:
    rng = np.random.default_rng(4)
    a, b = _picture(rng), _picture(rng)
    white = np.full((H, W, 3), 255.0, np.float32)
    frames = [white] * 10
    frames += [a * f + 255 * (1 - f) for f in np.arange(1, 31) / 31]  # frames 10..39: in from white
    frames += [a] * 8  # 40..47: the picture, briefly
    frames += [a * (1 - f) for f in np.arange(1, 16) / 15]  # 48..62: out to black
    frames += [b * f for f in np.arange(1, 31) / 31]  # 63..92: in from black
    frames += [b] * 40
    found = _find(frames, rng)
    assert len(found) == 2, found
    assert found[0].span[1] <= 43 and found[1].span[0] >= 45, found


def test_a_fade_out_of_a_moving_shot_starts_where_the_blend_starts() -> None:
    # A panning shot, then a fast fade to white (frames 60..67) and a slow one into B (68..91):
    # the blend from the moving picture to white explains the pan's frames almost as well, so
    # a fit can grow back into the shot; the blend weight says where the fade really begins.
    rng = np.random.default_rng(5)
    wide = np.kron(rng.uniform(20, 120, size=(5, 18, 3)), np.ones((8, 8, 1)))[:H, : 2 * W].astype(np.float32)
    white = np.full((H, W, 3), 252.0, np.float32)
    b = _picture(rng)
    pan = [wide[:, k : k + W] for k in range(61)]  # one pixel a frame
    frames = pan[:60]
    frames += [(1 - (k + 1) / 9) * pan[60] + (k + 1) / 9 * white for k in range(8)]
    frames += [(1 - (k + 1) / 25) * white + (k + 1) / 25 * b for k in range(24)]
    frames += [b] * 40
    found = _find(frames, rng)
    assert found, found
    assert all(f.span[0] >= 57 for f in found), found  # not in the pan
    assert any(f.span[0] <= 62 for f in found), found


def _smooth_wide(rng: np.random.Generator) -> np.ndarray:
    """A smooth picture 480 px wide (cubic-interpolated colour field) for panning across."""
    return zoom(rng.uniform(20, 235, size=(4, 30, 3)), (H / 4, 16, 1), order=3)[:H].clip(0, 255).astype(np.float32)


def _pan_stream(a: np.ndarray, b: np.ndarray, start: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """110 frames panning 1 px a frame over ``a``, dissolving to ``b`` (panning alike) over
    frames ``[start, start + n)``; ``n = 0``: no dissolve."""
    frames = []
    for k in range(110):
        w = min(1.0, max(0.0, (k - start + 1) / (n + 1))) if n else 0.0
        frames.append((1 - w) * a[:, k : k + W] + w * b[:, k : k + W] + rng.normal(0, 1.5, (H, W, 3)))
    return np.stack(frames).clip(0, 255).astype(np.uint8)


def _find_all(stack: np.ndarray, params: GradualParams) -> list[ShotBoundary]:
    finder = GradualFinder(params)
    return finder.push(cell_vectors(stack)) + finder.finish()


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_a_dissolve_inside_a_pan_stands_out_once_the_pan_is_undone(seed: int) -> None:
    # Both shots pan 1 px a frame; a 12-frame dissolve (frames 40..51) joins them. Over the
    # surround test's window the pan alone changes the picture about as much as the dissolve.
    rng = np.random.default_rng(seed)
    stack = _pan_stream(_smooth_wide(rng), _smooth_wide(rng), 40, 12, rng)
    found = _find_all(stack, GradualParams())
    assert len(found) == 1 and 40 <= found[0].frame < 52, found
    assert _find_all(stack, GradualParams(surround_shift=(0, 0))) == []  # lost without undoing the pan


@pytest.mark.parametrize("seed", [6, 7, 8])
def test_a_smooth_pan_is_no_dissolve(seed: int) -> None:
    # Cell means of a smooth picture moving steadily change like a blend; undoing the pan must
    # not make the pan itself stand out against its (undone) surroundings.
    rng = np.random.default_rng(seed)
    assert _find_all(_pan_stream(_smooth_wide(rng), _smooth_wide(rng), 0, 0, rng), GradualParams()) == []



def test_a_burst_of_light_next_to_a_dissolve_does_not_hide_it() -> None:
    # A 20-frame dissolve (frames 40..59), then a burst of light in B (frames 72..80, like a
    # strobe or lightning). The surround test must not read the burst as a moving shot.
    rng = np.random.default_rng(8)
    a, b = _picture(rng), _picture(rng)
    n = 20
    frames = [a] * 40 + [(1 - (k + 1) / (n + 1)) * a + (k + 1) / (n + 1) * b for k in range(n)] + [b] * 60
    for f in range(72, 81):
        frames[f] = b + 0.8 * (255 - b)
    found = _find(frames, rng)
    assert len(found) == 1 and _near(found[0].span, 40, 60), found


def test_a_flash_just_after_a_slow_dissolve_does_not_hide_it() -> None:
    # A 48-frame dissolve (frames 40..87), then a 2-frame flash 3 frames later: the flash's own
    # change peak must not take the place of the dissolve's among the candidates.
    rng = np.random.default_rng(9)
    a, b = _picture(rng), _picture(rng)
    n = 48
    frames = [a] * 40 + [(1 - (k + 1) / (n + 1)) * a + (k + 1) / (n + 1) * b for k in range(n)] + [b] * 60
    frames[91] = frames[92] = b + 0.85 * (255 - b)
    found = _find(frames, rng)
    assert len(found) == 1 and _near(found[0].span, 40, 88), found


def test_a_wipe_then_a_dissolve_back_to_a_like_picture_are_two_transitions() -> None:
    # A wipes to B (frames 40..51), B holds 6 frames, then B dissolves (58..69) into a shot
    # much like A (A a little brighter): an edit A, B, A', not something passing the lens.
    rng = np.random.default_rng(10)
    a, b = _picture(rng), _picture(rng)
    a2 = np.clip(a * 1.05 + 4, 0, 255)
    xx = np.mgrid[0:H, 0:W][1]
    frames = [a] * 40
    frames += [np.where((xx < (k + 1) / 13 * W)[..., None], b, a) for k in range(12)]
    frames += [b] * 6
    frames += [(1 - (k + 1) / 13) * b + (k + 1) / 13 * a2 for k in range(12)]
    frames += [a2] * 40
    found = _find(frames, rng)
    assert len(found) == 2, found
    assert 40 <= found[0].frame < 58 and 58 <= found[1].frame < 70, found
