"""Shot detectors on synthetic frame sequences with known transitions, and shot tiling."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from models.shot_detection import (
    FastShotDetector,
    Shot,
    ShotBoundary,
    available_detectors,
    boundaries_to_shots,
    get_detector,
)
from models.shot_detection import fast as fast_module
from models.shot_detection.base import enforce_min_shot_length

FPS = 25.0
Frames = list[np.ndarray]


# --- synthetic footage -------------------------------------------------------------------


def _texture(
    rng: np.random.Generator, height: int, width: int, colour: tuple[int, int, int], scale: int = 6
) -> np.ndarray:
    """Smooth random colour texture around ``colour`` (RGB), float32 (height, width, 3)."""
    coarse = rng.normal(size=(height // scale + 2, width // scale + 2, 3)).astype(np.float32)
    blocky = np.kron(coarse, np.ones((scale, scale, 1), np.float32))
    padded = np.pad(blocky, ((scale, scale), (scale, scale), (0, 0)), mode="edge")
    summed = padded.cumsum(0).cumsum(1)
    k = scale
    box = summed[k:-k, k:-k] - summed[: -2 * k, k:-k] - summed[k:-k, : -2 * k] + summed[: -2 * k, : -2 * k]
    smooth = box[:height, :width]
    return np.asarray(colour, np.float32) + 45.0 * smooth / (smooth.std() + 1e-6)


def _scene(rng: np.random.Generator, n: int, size: tuple[int, int], colour: tuple[int, int, int]) -> Frames:
    """A static-camera shot: a texture drifting 0.5 px/frame, with sensor noise."""
    width, height = size
    canvas = _texture(rng, height, width + n // 2 + 1, colour)
    return [_noisy(rng, canvas[:, i // 2 : i // 2 + width]) for i in range(n)]


def _pan(rng: np.random.Generator, n: int, size: tuple[int, int], speed: int) -> Frames:
    """A fast horizontal pan across a large textured image whose colour drifts along it."""
    width, height = size
    total = n * speed + width
    ramp = np.linspace(0.0, 1.0, total, dtype=np.float32)[None, :, None]
    canvas = _texture(rng, height, total, (0, 0, 0), scale=4)
    canvas += (1 - ramp) * np.array([200, 80, 60], np.float32) + ramp * np.array([60, 120, 200], np.float32)
    return [_noisy(rng, canvas[:, i * speed : i * speed + width]) for i in range(n)]


def _noisy(rng: np.random.Generator, image: np.ndarray, sigma: float = 6.0) -> np.ndarray:
    return np.clip(image + rng.normal(0.0, sigma, image.shape), 0, 255).astype(np.uint8)


def _blend(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    return np.clip((1 - alpha) * a.astype(np.float32) + alpha * b.astype(np.float32), 0, 255).astype(np.uint8)


def _scale(frame: np.ndarray, gain: float) -> np.ndarray:
    return np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)


COLOURS = [(200, 60, 50), (50, 160, 70), (60, 70, 190), (200, 200, 60), (120, 50, 150), (90, 180, 180), (180, 90, 30)]


def _cuts(size: tuple[int, int], rng: np.random.Generator) -> tuple[Frames, list[int]]:
    lengths = [40, 35, 50, 30, 45]
    frames = [f for colour, n in zip(COLOURS, lengths) for f in _scene(rng, n, size, colour)]
    return frames, list(np.cumsum(lengths[:-1]))


def _fade(size: tuple[int, int], rng: np.random.Generator) -> tuple[Frames, tuple[int, int]]:
    a, b = _scene(rng, 40, size, COLOURS[3]), _scene(rng, 40, size, COLOURS[4])
    black = np.zeros_like(a[0])
    out = [_scale(f, 1 - (i + 1) / 9) for i, f in enumerate(a[30:38])]
    into = [_scale(f, (i + 1) / 9) for i, f in enumerate(b[:8])]
    return a[:30] + out + [black] * 4 + into + b[8:], (30, 50)


def _dissolve(size: tuple[int, int], rng: np.random.Generator, length: int = 12) -> tuple[Frames, tuple[int, int]]:
    a, b = _scene(rng, 40 + length, size, COLOURS[5]), _scene(rng, 40 + length, size, COLOURS[6])
    alphas = np.linspace(0.0, 1.0, length + 2)[1:-1]
    mixed = [_blend(a[30 + i], b[i], alpha) for i, alpha in enumerate(alphas)]
    return a[:30] + mixed + b[length : length + 30], (30, 30 + length)


def _flash(size: tuple[int, int], rng: np.random.Generator, length: int = 2) -> tuple[Frames, tuple[int, int]]:
    frames = _scene(rng, 60, size, COLOURS[2])
    for i in range(30, 30 + length):
        frames[i] = np.clip(frames[i].astype(np.float32) * 1.8 + 80, 0, 255).astype(np.uint8)
    return frames, (30, 30 + length)


def _streamed(frames: Frames) -> Iterator[np.ndarray]:
    """Hand frames over one at a time, as a decoder would."""
    yield from frames


# --- fast detector ------------------------------------------------------------------------


FAST = FastShotDetector.analysis_size


def test_fast_finds_every_hard_cut() -> None:
    frames, cuts = _cuts(FAST, np.random.default_rng(1))
    found = FastShotDetector().detect(_streamed(frames), FPS)
    assert [b.transition for b in found] == ["cut"] * len(cuts)
    for boundary, cut in zip(found, cuts):
        assert abs(boundary.frame - cut) <= 1
        assert boundary.span == (boundary.frame, boundary.frame + 1)
        assert boundary.confidence > 0.3


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_fade, id="fade-out-fade-in"),
        pytest.param(lambda size, rng: _dissolve(size, rng, 12), id="dissolve-12"),
        pytest.param(lambda size, rng: _dissolve(size, rng, 6), id="dissolve-6"),
    ],
)
def test_fast_reports_one_gradual_boundary_inside_the_transition(make) -> None:
    frames, (start, end) = make(FAST, np.random.default_rng(2))
    found = FastShotDetector().detect(_streamed(frames), FPS)
    assert len(found) == 1, found
    (boundary,) = found
    assert boundary.transition == "gradual"
    assert start <= boundary.frame < end
    assert boundary.span[0] <= start + 2 and boundary.span[1] >= end - 2


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda size, rng: _flash(size, rng, 1), id="flash-1-frame"),
        pytest.param(lambda size, rng: _flash(size, rng, 2), id="flash-2-frames"),
        pytest.param(lambda size, rng: _flash(size, rng, 3), id="flash-3-frames"),
        pytest.param(lambda size, rng: (_pan(rng, 60, size, 4), (0, 60)), id="pan-4px-per-frame"),
        pytest.param(lambda size, rng: (_pan(rng, 60, size, 8), (0, 60)), id="pan-8px-per-frame"),
    ],
)
def test_fast_ignores_flashes_and_camera_motion(make) -> None:
    frames, _ = make(FAST, np.random.default_rng(3))
    assert FastShotDetector().detect(_streamed(frames), FPS) == []


def test_fast_on_a_mixed_title() -> None:
    rng = np.random.default_rng(4)
    cuts, cut_frames = _cuts(FAST, rng)
    flash, _ = _flash(FAST, rng)
    pan = _pan(rng, 50, FAST, 6)
    fade, fade_span = _fade(FAST, rng)
    dissolve, dissolve_span = _dissolve(FAST, rng)
    parts = [cuts, flash, pan, fade, dissolve]
    offsets = np.cumsum([0] + [len(p) for p in parts])
    frames = [f for p in parts for f in p]

    found = FastShotDetector().detect(_streamed(frames), FPS)

    expected_cuts = cut_frames + [int(o) for o in offsets[1:5]]  # each part starts with a cut
    cuts_found = [b.frame for b in found if b.transition == "cut"]
    assert len(cuts_found) == len(expected_cuts), found
    assert all(abs(f - e) <= 1 for f, e in zip(cuts_found, expected_cuts))
    gradual = [b for b in found if b.transition == "gradual"]
    assert len(gradual) == 2, found
    for boundary, (start, end), offset in zip(gradual, [fade_span, dissolve_span], offsets[3:5]):
        assert offset + start <= boundary.frame < offset + end
    shots = boundaries_to_shots(found, len(frames))
    assert sum(s.frame_count for s in shots) == len(frames)


def test_fast_frame_scores_peak_at_cuts() -> None:
    frames, cuts = _cuts(FAST, np.random.default_rng(11))
    scores = FastShotDetector().frame_scores(frames)
    assert scores.shape == (len(frames),) and scores[0] == 0.0
    assert ((scores >= 0) & (scores <= 1)).all()
    assert sorted(np.argsort(scores)[-len(cuts) :].tolist()) == cuts


def _reference_features(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Histogram, 4x4-cell luma and layout of one frame, computed the plain way."""
    ycc = frame.reshape(-1, 3).astype(np.float32) @ fast_module._YCBCR.T + fast_module._YCBCR_OFFSET
    bins = np.clip((ycc * fast_module._BIN_SCALE).astype(np.int64), 0, [7, 3, 3]) @ fast_module._BIN_STRIDE
    histogram = np.bincount(bins, minlength=128).astype(np.float32) / ycc.shape[0]
    luma = ycc[:, 0].reshape(9, 4, 16, 4).mean(axis=(1, 3))
    centred = luma - float(luma.mean())
    return histogram, luma, centred / max(float(centred.std()), fast_module._MIN_CONTRAST)


def test_fast_features_are_exact_whatever_the_batching() -> None:
    rng = np.random.default_rng(12)
    frames = _cuts(FAST, rng)[0][:90] + _fade(FAST, rng)[0]
    runs = []
    for size in (1, 7, fast_module.BATCH_FRAMES):
        featurize = fast_module._Featurizer(black_level=24.0)
        runs.append([f for batch in fast_module.frame_batches(frames, lambda f, i: None, size) for f in featurize(batch)])
    for features in runs[1:]:
        assert [f.score for f in features] == [f.score for f in runs[0]]
    features = runs[-1]
    assert features[0].score == 0.0
    for frame, f in zip(frames, features):
        histogram, luma, layout = _reference_features(frame)
        assert np.array_equal(f.histogram, histogram) and np.array_equal(f.luma, luma)
        assert np.array_equal(f.layout, layout) and f.mean_luma == float(luma.mean())
    assert any(f.black for f in features) and not features[0].black
    assert FastShotDetector().frame_scores(frames).tolist() == [np.float32(f.score) for f in features]


def test_fast_min_shot_frames_merges_close_cuts() -> None:
    rng = np.random.default_rng(5)
    frames = _scene(rng, 30, FAST, COLOURS[0]) + _scene(rng, 4, FAST, COLOURS[1]) + _scene(rng, 30, FAST, COLOURS[2])
    assert [b.frame for b in FastShotDetector(min_shot_frames=1).detect(frames, FPS)] == [30, 34]
    assert len(FastShotDetector(min_shot_frames=8).detect(frames, FPS)) == 1


def test_fast_handles_short_and_empty_streams() -> None:
    detector = FastShotDetector()
    assert detector.detect([], FPS) == []
    frames = _scene(np.random.default_rng(6), 3, FAST, COLOURS[0])
    assert detector.detect(frames, FPS) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"threshold": 1.0}, id="threshold"),
        pytest.param({"min_score": 0.0}, id="min_score"),
        pytest.param({"window": 1}, id="window"),
        pytest.param({"min_shot_frames": 0}, id="min_shot_frames"),
        pytest.param({"flash_frames": -1}, id="flash_frames"),
        pytest.param({"gradual_min_score": 0.5}, id="gradual_min_score"),
        pytest.param({"min_gradual_frames": 10, "max_gradual_frames": 5}, id="gradual_frames"),
        pytest.param({"black_level": 300}, id="black_level"),
    ],
)
def test_fast_rejects_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        FastShotDetector(**kwargs)


def test_detect_rejects_wrong_frames_and_fps() -> None:
    detector = FastShotDetector()
    with pytest.raises(ValueError, match="analysis_size"):
        detector.detect([np.zeros((27, 48, 3), np.uint8)], FPS)
    with pytest.raises(ValueError, match="fps"):
        detector.detect([], 0.0)


# --- registry -----------------------------------------------------------------------------


def test_registry() -> None:
    assert available_detectors() == ["fast", "hybrid", "transnetv2"]
    detector = get_detector("fast", min_shot_frames=12)
    assert isinstance(detector, FastShotDetector) and detector.params()["min_shot_frames"] == 12
    with pytest.raises(ValueError, match="unknown shot detector"):
        get_detector("nope")
    with pytest.raises(ValueError, match="invalid parameters"):
        get_detector("fast", bogus=1)


# --- TransNetV2 ---------------------------------------------------------------------------


def test_transnetv2_finds_hard_cuts_and_a_dissolve() -> None:
    detector = get_detector("transnetv2", device="cpu")
    size = detector.analysis_size
    rng = np.random.default_rng(8)
    cut_frames, cuts = _cuts(size, rng)
    dissolve, (start, end) = _dissolve(size, rng, 12)
    frames = cut_frames + dissolve
    offset = len(cut_frames)

    found = detector.detect(_streamed(frames), FPS)

    hard = [b for b in found if b.transition == "cut"]
    assert [b.frame for b in hard] == [*cuts, offset]
    assert all(b.confidence > 0.5 for b in hard)
    (gradual,) = [b for b in found if b.transition == "gradual"]
    assert offset + start <= gradual.frame < offset + end
    assert gradual.span[0] <= offset + start + 2 and gradual.span[1] >= offset + end - 2


def test_transnetv2_streaming_matches_the_reference_windowing() -> None:
    import torch

    from models.shot_detection.transnetv2 import load_transnetv2

    detector = get_detector("transnetv2", device="cpu")
    frames, _ = _cuts(detector.analysis_size, np.random.default_rng(9))
    frames = frames[:130]
    single, many = detector.predict(_streamed(frames))
    reference = load_transnetv2(detector.device)
    ref_single, ref_many = reference.predict_frames(torch.from_numpy(np.stack(frames)), quiet=True)
    np.testing.assert_allclose(single, ref_single.numpy(), atol=1e-5)
    np.testing.assert_allclose(many, ref_many.numpy(), atol=1e-5)
    assert not torch.are_deterministic_algorithms_enabled()  # the loader leaves global state alone


def test_framewise_pooling_matches_the_3d_pooling_it_replaces() -> None:
    import torch

    from models.shot_detection.transnetv2 import _FramewiseAvgPool, load_transnetv2

    x = torch.randn(2, 8, 5, 27, 48)
    reference = torch.nn.AvgPool3d((1, 2, 2))
    for layout in (x, x.contiguous(memory_format=torch.channels_last_3d)):
        assert torch.equal(_FramewiseAvgPool()(layout), reference(layout))
    model = load_transnetv2(torch.device("cpu"))
    assert not any(isinstance(m, torch.nn.AvgPool3d) for m in model.modules())
    assert sum(isinstance(m, _FramewiseAvgPool) for m in model.modules()) == 3


def test_reduced_precision_needs_native_support(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from models.shot_detection.transnetv2 import _CPU_BF16_CHECKS, reduced_precision

    assert reduced_precision(torch.device("cuda")) is torch.float16
    for name in _CPU_BF16_CHECKS:
        monkeypatch.setattr(torch.cpu, name, lambda: False, raising=False)
    assert reduced_precision(torch.device("cpu")) is None
    monkeypatch.setattr(torch.cpu, _CPU_BF16_CHECKS[0], lambda: True, raising=False)
    assert reduced_precision(torch.device("cpu")) is torch.bfloat16


# --- boundaries_to_shots ------------------------------------------------------------------


def _b(frame: int, transition: str = "cut", confidence: float = 0.9) -> ShotBoundary:
    span = (frame, frame + 1) if transition == "cut" else (frame - 2, frame + 3)
    return ShotBoundary(frame, transition, confidence, span)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("boundaries", "frame_count", "starts"),
    [
        pytest.param([], 10, [0], id="no-boundaries"),
        pytest.param([_b(5)], 10, [0, 5], id="one-cut"),
        pytest.param([_b(7), _b(3)], 10, [0, 3, 7], id="unsorted"),
        pytest.param([_b(0), _b(10), _b(12), _b(4)], 10, [0, 4], id="out-of-range-dropped"),
        pytest.param([_b(4), _b(4, "gradual", 0.95), _b(4, confidence=0.1)], 10, [0, 4], id="duplicates"),
        pytest.param([_b(9)], 10, [0, 9], id="last-frame"),
    ],
)
def test_boundaries_to_shots_tiles_the_title(
    boundaries: list[ShotBoundary], frame_count: int, starts: list[int]
) -> None:
    shots = boundaries_to_shots(boundaries, frame_count)
    assert [s.start for s in shots] == starts
    assert [s.index for s in shots] == list(range(len(shots)))
    assert shots[0].start == 0 and shots[-1].end == frame_count
    assert all(a.end == b.start for a, b in zip(shots, shots[1:]))
    assert all(s.frame_count >= 1 for s in shots)
    assert shots[0].transition == "cut" and shots[0].confidence == 1.0


def test_boundaries_to_shots_random_property() -> None:
    rng = np.random.default_rng(10)
    for _ in range(200):
        frame_count = int(rng.integers(1, 200))
        boundaries = [_b(int(f), confidence=float(rng.random())) for f in rng.integers(0, 250, rng.integers(0, 20))]
        shots = boundaries_to_shots(boundaries, frame_count)
        covered = np.zeros(frame_count, int)
        for shot in shots:
            covered[shot.start : shot.end] += 1
        assert (covered == 1).all()
        assert len(shots) == 1 + len({b.frame for b in boundaries if 0 < b.frame < frame_count})


def test_boundaries_to_shots_keeps_transition_and_most_confident_duplicate() -> None:
    shots = boundaries_to_shots([_b(4, "gradual", 0.95), _b(4, confidence=0.2)], 10)
    assert shots[1] == Shot(index=1, start=4, end=10, transition="gradual", confidence=0.95)
    assert boundaries_to_shots([], 0) == []
    with pytest.raises(ValueError):
        boundaries_to_shots([], -1)


def test_shot_boundary_validates() -> None:
    with pytest.raises(ValueError):
        ShotBoundary(5, "cut", 1.5, (5, 6))
    with pytest.raises(ValueError):
        ShotBoundary(5, "wipe", 0.5, (5, 6))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ShotBoundary(5, "gradual", 0.5, (6, 9))


def test_enforce_min_shot_length_keeps_the_more_confident() -> None:
    kept = enforce_min_shot_length([_b(10, confidence=0.4), _b(12, confidence=0.9), _b(30), _b(3)], 5)
    assert [b.frame for b in kept] == [12, 30]
