"""Clips (``reelhouse.media.clip``): frame-exact, the requested length, with audio cut to the same span.

The source is written here with PyAV like a standardized encode (constant 24 fps H.264 with B-frames,
mono AAC): frame ``k`` is a flat grey of level ``2k``, so every decoded frame says which source frame
it is; the audio is a tone whose samples say where they are in time.
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from reelhouse.media.clip import CLIP_AUDIO_RATE, Segment, seconds_to_frames, write_segments

FPS = 24.0
FRAMES = 120
RATE = 16_000


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "source.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        v = out.add_stream("libx264", rate=Fraction(24), options={"crf": "10", "bf": "3", "g": "48"})
        v.width, v.height, v.pix_fmt = 96, 64, "yuv420p"
        a = out.add_stream("aac", rate=RATE, layout="mono")
        for k in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.full((64, 96, 3), 2 * k, np.uint8), format="rgb24")
            frame.pts = k
            out.mux(v.encode(frame))
        out.mux(v.encode(None))
        t = np.arange(int(FRAMES / FPS * RATE)) / RATE
        pcm = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for i in range(0, len(pcm), 1024):
            af = av.AudioFrame.from_ndarray(pcm[i:i + 1024].reshape(1, -1), format="flt", layout="mono")
            af.sample_rate = RATE
            out.mux(a.encode(af))
        out.mux(a.encode(None))
    return path


def _decoded(path):
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return frames, 0, None
        rate = c.streams.audio[0].rate
        samples = sum(f.samples for f in c.decode(audio=0))
    return frames, samples, rate


@pytest.mark.parametrize("start,end", [(37, 61), (0, 5), (119, 120), (48, 97)])
def test_a_clip_holds_exactly_the_asked_frames_from_the_first(source, tmp_path, start, end):
    out = tmp_path / "clip.mp4"
    result = write_segments([Segment(source, start, end, FPS)], out)
    frames, samples, rate = _decoded(out)
    assert result.frames == len(frames) == end - start and result.duration_s == pytest.approx((end - start) / FPS)
    levels = [float(f.mean()) for f in frames]
    assert all(abs(level - 2 * (start + i)) <= 3 for i, level in enumerate(levels)), levels[:3]
    # AAC adds up to one frame of priming/padding; the audio covers the clip to within one video frame
    assert rate == CLIP_AUDIO_RATE and abs(samples / rate - (end - start) / FPS) <= 1 / FPS + 1024 / rate


def test_seconds_map_to_frames_within_one_frame_and_bad_spans_are_refused():
    for start_s, end_s in [(0.0, 1.0), (1.01, 2.52), (3.3333, 3.34), (0.04, 4.99)]:
        a, b = seconds_to_frames(start_s, end_s, FPS)
        assert a / FPS <= start_s < (a + 1) / FPS
        assert abs((b - a) / FPS - (end_s - start_s)) <= 1 / FPS
    for bad in [(2.0, 2.0), (3.0, 1.0), (-1.0, 1.0), (0.0, float("nan"))]:
        with pytest.raises(ValueError):
            seconds_to_frames(*bad, FPS)


def test_a_reel_joins_segments_scaled_to_one_size_and_a_bad_one_leaves_no_file(source, tmp_path):
    out = tmp_path / "reel.mp4"
    result = write_segments([Segment(source, 90, 100, FPS), Segment(source, 10, 16, FPS)], out, size=(160, 90))
    frames, _, _ = _decoded(out)
    assert (result.width, result.height, result.frames) == (160, 90, 16) and len(frames) == 16
    middle = [float(f[40:50, 70:90].mean()) for f in frames]  # inside the picture, clear of the side bars
    assert abs(middle[0] - 180) <= 3 and abs(middle[9] - 198) <= 3 and abs(middle[10] - 20) <= 3
    with pytest.raises(ValueError, match="frames"):
        write_segments([Segment(source, 110, 130, FPS)], tmp_path / "past_end.mp4")
    assert not list(tmp_path.glob("*past_end*"))
