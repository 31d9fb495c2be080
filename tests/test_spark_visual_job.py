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
from spark_jobs.visual_embeddings import decode_jpegs, predict_by_shape, visual_job


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
    from reelhouse.features.specs import shot_frames_spec
    from spark_jobs.batch import run_batch
    from spark_jobs.session import get_spark

    path, truth = clip
    vid = "c" * 32
    times = [(s + (e - s) * p) / truth.fps for s, e in truth.shots for p in (0.25, 0.5, 0.75)]
    pictures = frames_at(path, times, size=(408, FRAME_HEIGHT))
    frames = shot_frames_spec(settings)
    store.replace_slice("shot_frames", FeatureSlice(vid, frames.name, frames.version), [
        {"shot_index": i // 3, "rank": i % 3 + 1, "frame_index": i, "t_s": t, "brightness": 0.5, "sharpness": 1.0,
         "is_black": False, "is_blurred": False, "is_flash": False, "thumbnail": _jpeg(rgb)}
        for i, (t, rgb) in enumerate(zip(times, pictures))], new_run_id())
    job = visual_job(settings)
    result = run_batch(get_spark("local[2]"), store, job, [vid], new_run_id())
    assert not result.failed and len(result.writes["shot_embeddings"].slices) == 3  # one commit, three slices
    assert result.writes["shot_embeddings"].rows == 3 * len(truth.shots)
    for spec, dim in zip(job.outputs, (1280, 128, 144)):
        rows = store.read_slice("shot_embeddings", FeatureSlice(vid, spec.name, spec.version)).to_pylist()
        assert sorted(r["shot_index"] for r in rows) == list(range(len(truth.shots)))
        for r in rows:
            v = np.asarray(r["embedding"])
            assert r["dim"] == dim and v.shape == (dim,) and abs(np.linalg.norm(v) - 1) < 1e-3
