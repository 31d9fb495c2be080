"""The visual-embedding job's pieces without Spark, and the job itself on Spark local[2]."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reelhouse.lakehouse import FeatureSlice, new_run_id
from reelhouse.samples import generate_clip, title_spec
from spark_jobs.visual_embeddings import FRAME_HEIGHT, FrameRef, VisualFeature, run_visual_embeddings, sampled_frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("vis") / "clip.mp4"
    truth = generate_clip(title_spec(0, 4.0, seed=11), path)
    return path, truth


def test_sampled_frames_without_spark(clip):
    path, truth = clip
    frames = pd.DataFrame(
        {"video_id": ["v" * 32] * 4, "encode_uri": [path.as_uri()] * 4, "width": [320] * 4, "height": [176] * 4,
         "shot_index": [0, 0, 1, 1], "t_s": [0.5, 1.0, 2.5, 3.0]}
    )
    [out] = list(sampled_frames(iter([frames]), io_properties={}))
    assert len(out) == 4 and out["shot_index"].tolist() == [0, 0, 1, 1]
    assert set(out["h"]) == {FRAME_HEIGHT} and all(w % 2 == 0 for w in out["w"])
    frame = np.frombuffer(out["frame"].iloc[0], dtype=np.uint8).reshape(out["h"].iloc[0], out["w"].iloc[0], 3)
    assert frame.std() > 0  # real picture content, not a blank buffer


@pytest.mark.slow
def test_job_on_spark_local_writes_one_unit_vector_per_shot(clip, store, settings):
    from spark_jobs.session import get_spark

    path, truth = clip
    vid = "c" * 32
    refs = [FrameRef(vid, path.as_uri(), 320, 176, i, (s + (e - s) * p) / truth.fps)
            for i, (s, e) in enumerate(truth.shots) for p in (0.25, 0.5, 0.75)]
    spark = get_spark("local[2]")
    features = [VisualFeature("visual_test", "1-test", "efficientnet-lite0", "efficientnet"),
                VisualFeature("colour_test", "1-test", "hsv", "colour"), VisualFeature("layout_test", "1-test", "sobel", "layout")]
    result = run_visual_embeddings(spark, store, refs, features, new_run_id())
    assert result.rows == 3 * len(truth.shots) and len(result.slices) == 3  # one commit, three slices
    for name, dim in (("visual_test", 1280), ("colour_test", 128), ("layout_test", 144)):
        rows = store.read_slice("shot_embeddings", FeatureSlice(vid, name, "1-test")).to_pylist()
        assert sorted(r["shot_index"] for r in rows) == list(range(len(truth.shots)))
        for r in rows:
            v = np.asarray(r["embedding"])
            assert r["dim"] == dim and v.shape == (dim,) and abs(np.linalg.norm(v) - 1) < 1e-3
