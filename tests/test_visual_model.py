"""EfficientNet-Lite0 embeddings (the real pretrained model) and cheap visual descriptors."""

from __future__ import annotations

import numpy as np
import pytest

from models.visual import (
    EMBEDDING_DIM,
    colour_histogram,
    layout_map,
    make_visual_predict,
    pool_shot_embeddings,
)


def _scene(kind: str, height: int = 200, width: int = 360, shift: int = 0) -> np.ndarray:
    """A natural-ish RGB uint8 image: smooth gradients with a few soft shapes."""
    y, x = np.mgrid[0:height, shift : width + shift].astype(np.float32)
    if kind == "sunset":
        sky = np.stack([230 - 0.3 * y, 120 + 0.2 * x * 0, 60 + 0.4 * y], axis=-1)
        sun = 255 * np.exp(-((x - 220) ** 2 + (y - 70) ** 2) / 900.0)[..., None] * np.array([1.0, 0.8, 0.3])
        ground = (y > 140)[..., None] * np.array([-150.0, -60.0, -40.0])
        image = sky + sun + ground
    elif kind == "forest":
        trunks = 60 * (np.sin(x / 7.0) > 0.6)[..., None] * np.array([0.6, 0.4, 0.2])
        canopy = np.stack([40 + 20 * np.sin(x / 11.0 + y / 13.0), 110 + 50 * np.cos(y / 9.0), 40 + 0 * x], axis=-1)
        image = canopy + trunks
    else:
        raise ValueError(kind)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def predict():
    return make_visual_predict(device="cpu", batch_size=4)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_embeddings_shape_dtype_and_determinism(predict) -> None:
    sunset = _scene("sunset")
    frames = np.stack([sunset, sunset, _scene("forest"), _scene("sunset", shift=12), sunset])
    embeddings = predict(frames)
    assert embeddings.shape == (5, EMBEDDING_DIM)
    assert embeddings.dtype == np.float32
    assert np.isfinite(embeddings).all()
    # Equal up to float32 rounding, not bitwise: a batch of another size (the 5th image is a batch of
    # one) or another row of a batch may take other CPU kernels and summation orders (seen: 9.5e-7).
    np.testing.assert_allclose(embeddings[1], embeddings[0], rtol=1e-4, atol=1e-5)  # same image, same batch
    np.testing.assert_allclose(embeddings[4], embeddings[0], rtol=1e-4, atol=1e-5)  # same image, next batch
    np.testing.assert_allclose(predict(frames), embeddings, rtol=1e-4, atol=1e-5)  # repeatable
    np.testing.assert_allclose(predict(sunset[None])[0], embeddings[0], rtol=1e-4, atol=1e-5)
    assert _cos(embeddings[0], embeddings[2]) < 0.999  # the tolerance is far below what tells images apart
    shifted, different = _cos(embeddings[0], embeddings[3]), _cos(embeddings[0], embeddings[2])
    assert shifted > different
    assert shifted > 0.8


def test_any_frame_size_and_empty_batches(predict) -> None:
    portrait = np.ascontiguousarray(_scene("forest", height=300, width=120))
    tiny = _scene("sunset", height=36, width=64)
    assert predict(portrait[None]).shape == (1, EMBEDDING_DIM)
    assert predict(tiny[None]).shape == (1, EMBEDDING_DIM)
    assert predict(np.zeros((0, 50, 50, 3), np.uint8)).shape == (0, EMBEDDING_DIM)
    with pytest.raises(ValueError):
        predict(np.zeros((2, 50, 50), np.uint8))
    with pytest.raises(ValueError):
        predict(np.zeros((1, 50, 50, 3), np.float32))


def test_factory_validates_arguments() -> None:
    with pytest.raises(ValueError):
        make_visual_predict(device="cpu", batch_size=0)


def test_pool_shot_embeddings_are_unit_norm_means() -> None:
    rng = np.random.default_rng(0)
    frames = rng.random((9, EMBEDDING_DIM)).astype(np.float32)
    shot_ids = np.array([3, 3, 1, 1, 1, 7, 3, 1, 7])
    ids, pooled = pool_shot_embeddings(frames, shot_ids)
    np.testing.assert_array_equal(ids, [1, 3, 7])
    assert pooled.shape == (3, EMBEDDING_DIM) and pooled.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, rtol=1e-6)
    mean = frames[shot_ids == 3].mean(axis=0)
    np.testing.assert_allclose(pooled[1], mean / np.linalg.norm(mean), rtol=1e-5)
    with pytest.raises(ValueError):
        pool_shot_embeddings(frames, shot_ids[:-1])


@pytest.mark.parametrize(
    ("describe", "dim"),
    [pytest.param(colour_histogram, 128, id="colour_histogram"), pytest.param(layout_map, 144, id="layout_map")],
)
def test_descriptors_are_normalized_and_discriminative(describe, dim: int) -> None:
    frames = np.stack([_scene("sunset"), _scene("sunset", shift=4), _scene("forest")])
    d = describe(frames)
    assert d.shape == (3, dim) and d.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0, rtol=1e-5)
    assert d[0] @ d[1] > d[0] @ d[2]


def test_colour_histogram_bins_pure_colours() -> None:
    red, green, grey = (np.full((1, 8, 8, 3), c, np.uint8) for c in ((255, 0, 0), (0, 255, 0), (128, 128, 128)))
    frames = np.concatenate([red, green, grey])
    d = colour_histogram(frames, bins=(6, 2, 2))
    assert (d.max(axis=1) == 1.0).all()  # each is a single bin
    assert len({int(np.argmax(row)) for row in d}) == 3
    assert colour_histogram(np.zeros((1, 4, 4, 3), np.uint8)).max() == 1.0  # black is a colour too


def test_layout_map_finds_where_the_edges_are() -> None:
    left_edge = np.zeros((1, 90, 160, 3), np.uint8)
    left_edge[:, :, 30:] = 255  # a vertical edge in the left quarter
    flat = np.full((1, 90, 160, 3), 90, np.uint8)
    d = layout_map(np.concatenate([left_edge, flat])).reshape(2, 9, 16)
    assert d[0, :, :4].sum() > 0.9 * d[0].sum()
    assert not d[1].any()  # no structure: an all-zero row
    with pytest.raises(ValueError):
        layout_map(np.zeros((1, 20, 20, 3), np.uint8))
