"""The visual-embedding job's pieces without Spark, and the job itself on Spark local[2]."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from models.visual.frame_quality import FRAME_HEIGHT
from reelhouse.lakehouse import FeatureSlice, new_run_id
from reelhouse.media.frames import frames_at
from reelhouse.samples import generate_clip, title_spec
from spark_jobs.visual_embeddings import (
    ShotFrame,
    VisualFeature,
    decode_jpegs,
    predict_by_shape,
    run_visual_embeddings,
)


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("vis") / "clip.mp4"
    truth = generate_clip(title_spec(0, 4.0, seed=11), path)
    return path, truth


def test_jpeg_frames_decode_and_predict_by_shape_without_spark(clip):
    path, truth = clip
    small = frames_at(path, [0.5, 2.5], size=(64, 36))
    large = frames_at(path, [1.0], size=(398, FRAME_HEIGHT))
    frames = decode_jpegs([_jpeg(small[0]), _jpeg(large[0]), _jpeg(small[1])])
    assert [f.shape for f in frames] == [(36, 64, 3), (FRAME_HEIGHT, 398, 3), (36, 64, 3)]
    assert np.abs(frames[1].mean(axis=(0, 1)) - large[0].mean(axis=(0, 1))).max() < 3  # JPEG keeps the picture
    calls = []

    def predict(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape)
        return batch.reshape(len(batch), -1)[:, :4].astype(np.float32)

    out = predict_by_shape(predict, frames)
    assert sorted(calls) == [(1, FRAME_HEIGHT, 398, 3), (2, 36, 64, 3)]  # one call per size
    for row, frame in zip(out, frames):  # rows come back in input order
        np.testing.assert_array_equal(row, frame.reshape(-1)[:4])


@pytest.mark.slow
def test_job_on_spark_local_writes_one_unit_vector_per_shot(clip, store, settings):
    from spark_jobs.session import get_spark

    path, truth = clip
    vid = "c" * 32
    times = [(s + (e - s) * p) / truth.fps for s, e in truth.shots for p in (0.25, 0.5, 0.75)]
    pictures = frames_at(path, times, size=(408, FRAME_HEIGHT))
    refs = [ShotFrame(vid, i // 3, _jpeg(rgb)) for i, rgb in enumerate(pictures)]
    spark = get_spark("local[2]")
    features = [VisualFeature("visual_test", "1-test", "efficientnet-lite0", "visual"),
                VisualFeature("colour_test", "1-test", "hsv", "colour"), VisualFeature("layout_test", "1-test", "sobel", "layout")]
    result = run_visual_embeddings(spark, store, refs, features, new_run_id())
    assert result.rows == 3 * len(truth.shots) and len(result.slices) == 3  # one commit, three slices
    for name, dim in (("visual_test", 1280), ("colour_test", 128), ("layout_test", 144)):
        rows = store.read_slice("shot_embeddings", FeatureSlice(vid, name, "1-test")).to_pylist()
        assert sorted(r["shot_index"] for r in rows) == list(range(len(truth.shots)))
        for r in rows:
            v = np.asarray(r["embedding"])
            assert r["dim"] == dim and v.shape == (dim,) and abs(np.linalg.norm(v) - 1) < 1e-3
