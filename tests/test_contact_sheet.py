"""Contact sheets render the right frames in the right places."""

from __future__ import annotations

import numpy as np
from PIL import Image

from reelhouse.media.frames import frames_at
from reelhouse.samples import generate_clip, title_spec
from reelhouse.viz.contact_sheet import THUMB_HEIGHT, _LABEL_W, _PAD, shot_sheet, timecode


def test_timecode():
    assert timecode(0) == "0:00:00.000" and timecode(3725.5) == "1:02:05.500"


def test_sheet_shows_each_shots_first_middle_and_last_frame(tmp_path):
    clip = tmp_path / "c.mp4"
    truth = generate_clip(title_spec(0, 6.0, seed=4), clip)
    shots = [{"start": s, "end": e, "start_s": s / truth.fps, "end_s": e / truth.fps, "transition": "cut"}
             for s, e in truth.shots]
    out = shot_sheet(clip, shots, truth.fps, tmp_path / "sheet.png")
    sheet = np.asarray(Image.open(out).convert("RGB")).astype(float)
    assert sheet.shape[0] == 24 + len(shots) * (THUMB_HEIGHT + _PAD) + _PAD
    h0, w0 = frames_at(clip, [0.0]).shape[1:3]
    w = round(w0 * THUMB_HEIGHT / h0)
    for r, s in enumerate(shots):
        frames = [s["start"], (s["start"] + s["end"] - 1) // 2, s["end"] - 1]
        expected = frames_at(clip, [(f + 0.5) / truth.fps for f in frames])
        y = 24 + r * (THUMB_HEIGHT + _PAD)
        for c in range(3):
            x = _LABEL_W + c * (w + _PAD)
            cell = sheet[y : y + THUMB_HEIGHT, x : x + w]
            assert np.abs(cell.mean(axis=(0, 1)) - expected[c].astype(float).mean(axis=(0, 1))).max() < 12
