"""Representative frames: the quality filter, the sampling policy, and the per-title job without Spark."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from models.visual.frame_quality import FRAME_HEIGHT, FrameQuality, QualityPolicy, frame_quality, select_representatives
from spark_jobs.shot_frames import candidate_frames, title_shot_frames

RNG = np.random.default_rng(0)


def textured(n: int = 1, h: int = 72, w: int = 128, level: int = 120) -> np.ndarray:
    base = RNG.integers(0, 255, size=(n, h, w, 3)).astype(np.float32)
    return np.clip(level + (base - 127) * 0.5, 0, 255).astype(np.uint8)


def test_black_blurred_and_flash_frames_are_flagged():
    sharp = textured(3)
    black = np.zeros((1, 72, 128, 3), np.uint8) + 4
    flat = np.full((1, 72, 128, 3), 120, np.uint8)  # no detail at all
    flash = np.full((1, 72, 128, 3), 250, np.uint8)
    flash[:, ::2] = 235
    q = frame_quality(np.concatenate([sharp, black, flat, flash]))
    assert all(x.usable for x in q[:3])
    assert q[3].is_black and q[4].is_blurred and q[5].is_flash
    assert select_representatives(q, 3) == [0, 1, 2]


def test_flagged_frames_only_fill_remaining_places():
    q = [FrameQuality(100, 0.01, False, False, False), FrameQuality(2, 0.0, True, True, False),
         FrameQuality(100, 0.02, False, False, False)]
    assert select_representatives(q, 2) == [0, 2]
    assert select_representatives(q, 5) == [0, 1, 2]


def test_policy_and_input_validation():
    with pytest.raises(ValueError):
        QualityPolicy(k=0)
    with pytest.raises(ValueError):
        frame_quality(np.zeros((2, 8, 8), np.uint8))


@pytest.mark.parametrize(("start", "end"), [(0, 1), (10, 13), (100, 400)])
def test_candidates_stay_inside_the_shot(start, end):
    c = candidate_frames(start, end)
    assert c == sorted(set(c)) and all(start <= f < end for f in c)


def test_title_job_avoids_flash_frames_and_writes_thumbnails(tmp_path):
    from reelhouse.samples import ClipSpec, Look, Shot, generate_clip

    # Two shots; the first holds a 3-frame flash exactly where the middle candidate falls.
    spec = ClipSpec(width=256, height=144, fps=24.0, shots=(
        Shot(look=Look(hue=0.1, layout="blobs", seed=1), frames=48, flashes=(23,), flash_frames=3),
        Shot(look=Look(hue=0.6, layout="stripes", seed=2), frames=48),
    ))
    path = tmp_path / "flash.mp4"
    truth = generate_clip(spec, path)
    flash_frames = {f for a, b in truth.flash_ranges for f in range(a, b)}
    encode = {"uri": path.as_uri(), "width": 256, "height": 144, "fps": 24.0}
    shots = pd.DataFrame({"shot_index": [1, 0], "start_frame": [48, 0], "end_frame": [96, 48]})
    rows = title_shot_frames(encode, shots, QualityPolicy(k=3), {}).to_pylist()
    assert [r["shot_index"] for r in rows] == [0, 0, 0, 1, 1, 1]
    assert not flash_frames & {r["frame_index"] for r in rows}
    assert not any(r["is_flash"] or r["is_black"] for r in rows)
    img = Image.open(io.BytesIO(rows[0]["thumbnail"]))
    assert img.format == "JPEG" and img.height == FRAME_HEIGHT
