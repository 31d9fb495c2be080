"""iter_frames(), frames_at(), read_audio() and iter_audio() on generated and real clips."""

from __future__ import annotations

import numpy as np
import pytest

from reelhouse.media import frames as frames_module
from reelhouse.media import frames_at, iter_audio, iter_frames, read_audio
from reelhouse.samples import real_clips
from tests.media_fixtures import truth_clip, variant


def test_iter_frames_decoded_order() -> None:
    path, truth = truth_clip()
    frames = list(iter_frames(path))
    assert [f.index for f in frames] == list(range(truth.frame_count))
    assert all(f.rgb.dtype == np.uint8 and f.rgb.shape == (108, 192, 3) for f in frames)
    assert [f.t_s for f in frames] == pytest.approx([i / 24 for i in range(truth.frame_count)], abs=1e-6)


def test_iter_frames_size_range_and_resampling() -> None:
    path, _ = truth_clip()
    part = list(iter_frames(path, size=(64, 36), start_s=1.0, end_s=2.0))
    assert [f.index for f in part] == list(range(24, 48))
    assert part[0].rgb.shape == (36, 64, 3)
    grid = list(iter_frames(path, fps=12.0, start_s=2.0, end_s=3.0))
    assert [f.index for f in grid] == list(range(24, 36))
    assert [f.t_s for f in grid] == pytest.approx([k / 12 for k in range(24, 36)])
    full = {f.index: f.rgb for f in iter_frames(path)}
    assert np.array_equal(grid[1].rgb, full[50])  # grid time 25/12 s shows source frame 50


def test_iter_frames_applies_rotation_on_request() -> None:
    path = variant("rotated").path
    raw = next(iter(iter_frames(path)))
    upright = next(iter(iter_frames(path, apply_rotation=True)))
    assert raw.rgb.shape == (108, 192, 3) and upright.rgb.shape == (192, 108, 3)
    assert np.array_equal(upright.rgb, np.rot90(raw.rgb, k=-1))
    sized = next(iter(iter_frames(path, size=(54, 96), apply_rotation=True)))
    assert sized.rgb.shape == (96, 54, 3)


def test_iter_frames_can_skip_the_loop_filter() -> None:
    bikes = real_clips()["bikes"]  # H.264, whose deblocking filter the option skips
    full = list(iter_frames(bikes, size=(160, 68)))
    fast = list(iter_frames(bikes, size=(160, 68), skip_loop_filter=True))
    assert [(f.index, f.t_s) for f in fast] == [(f.index, f.t_s) for f in full]
    diffs = [np.abs(a.rgb.astype(np.int16) - b.rgb).mean() for a, b in zip(full, fast)]
    assert 0 < max(diffs) < 4  # slightly different pixels, the same pictures
    assert all(np.array_equal(a.rgb, b.rgb) for a, b in zip(full, iter_frames(bikes, size=(160, 68))))
    # The rotation probe decodes a frame first; the option must already be set by then.
    rotated = next(iter(iter_frames(bikes, size=(160, 68), apply_rotation=True, skip_loop_filter=True)))
    assert np.array_equal(rotated.rgb, fast[0].rgb) and not np.array_equal(rotated.rgb, full[0].rgb)


def test_frames_at_matches_decoded_frames_in_any_order() -> None:
    path, _ = truth_clip()
    full = [f.rgb for f in iter_frames(path)]
    times = [3.0, 0.0, 1.01, 1.0, 5.99, 100.0, -1.0]
    got = frames_at(path, times)
    assert got.shape == (len(times), 108, 192, 3) and got.dtype == np.uint8
    for t, frame in zip(times, got):
        k = min(max(int(np.floor(t * 24 + 1e-9)), 0), len(full) - 1)
        assert np.array_equal(frame, full[k]), t


def test_frames_at_seeks_across_large_gaps(monkeypatch) -> None:
    bikes = real_clips()["bikes"]
    calls: list[float] = []
    original = frames_module._seek
    monkeypatch.setattr(frames_module, "_seek", lambda c, s, t: (calls.append(t), original(c, s, t)))
    times = [0.2, 0.3, 8.5, 9.9]
    got = frames_at(bikes, times, size=(160, 68))
    assert calls == [8.5]
    reference = {f.index: f.rgb for f in iter_frames(bikes, size=(160, 68))}
    for t, frame in zip(times, got):
        assert np.array_equal(frame, reference[int(t * 25 + 1e-9)])


def _peak_hz(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
    return float(np.argmax(spectrum) * rate / pcm.size)


def test_read_audio_recovers_tones_in_their_ranges() -> None:
    path, truth = truth_clip()
    rate = 16000
    pcm = read_audio(path, rate=rate)
    assert pcm.dtype == np.float32 and pcm.ndim == 1
    assert np.abs(pcm).max() <= 1.0
    assert pcm.size == pytest.approx(truth.duration_s * rate, abs=2048)
    for seg in truth.audio_segments:
        a, b = int((seg["start_s"] + 0.1) * rate), int((seg["end_s"] - 0.1) * rate)
        window = pcm[a:b]
        rms = float(np.sqrt(np.mean(window**2)))
        if seg["kind"] == "tone":
            assert _peak_hz(window, rate) == pytest.approx(seg["freq"], abs=3)
            assert rms > 0.1
        else:
            assert rms < 0.01


def test_iter_audio_chunks() -> None:
    path, _ = truth_clip()
    chunks = list(iter_audio(path, rate=8000, chunk_s=0.5))
    assert all(c.size == 4000 for c in chunks[:-1]) and 0 < chunks[-1].size <= 4000
    assert np.array_equal(np.concatenate(chunks), read_audio(path, rate=8000))


def test_no_audio_gives_empty_array() -> None:
    pcm = read_audio(variant("vfr").path)
    assert pcm.shape == (0,) and pcm.dtype == np.float32


def test_argument_errors() -> None:
    path, _ = truth_clip()
    with pytest.raises(ValueError):
        next(iter_frames(path, fps=0))
    with pytest.raises(ValueError):
        next(iter_frames(path, start_s=2.0, end_s=1.0))
    with pytest.raises(ValueError):
        next(iter_audio(path, rate=0))
