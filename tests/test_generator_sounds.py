"""The generator's sounds beyond sine tones (harmonic tones, pulses, white and brown noise)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelhouse.media.audio import read_audio
from reelhouse.samples.generator import SOUNDS, AudioSegment, ClipSpec, Look, Shot, generate_clip, ground_truth

RATE = 16000


def _clip(tmp_path: Path, segments: tuple[AudioSegment, ...], seconds: int) -> np.ndarray:
    spec = ClipSpec(width=32, height=32, shots=(Shot(look=Look(hue=0.3, layout="blobs"), frames=24 * seconds),),
                    audio=segments)
    generate_clip(spec, tmp_path / "s.mp4")
    return read_audio(tmp_path / "s.mp4", rate=RATE)


def _spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.fft.rfftfreq(len(x), 1 / RATE), np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2


def test_defaults_are_the_sine_tone() -> None:
    seg = AudioSegment(start_s=0, end_s=1, freq_hz=440.0)
    assert seg.sound == "sine" and seg.audible and seg.kind == "tone"
    assert not AudioSegment(start_s=0, end_s=1).audible
    assert AudioSegment(start_s=0, end_s=1, sound="white").audible  # noises need no frequency


def test_ground_truth_names_each_sound() -> None:
    spec = ClipSpec(shots=(Shot(look=Look(hue=0.3, layout="blobs"), frames=24 * len(SOUNDS)),), audio=tuple(
        AudioSegment(start_s=i, end_s=i + 1, sound=s, freq_hz=300.0) for i, s in enumerate(SOUNDS)))
    assert [a["kind"] for a in ground_truth(spec).audio_segments] == ["tone", *SOUNDS[1:]]


def test_sounds_sound_as_named(tmp_path: Path) -> None:
    segs = tuple(AudioSegment(start_s=i, end_s=i + 1, sound=s, freq_hz=500.0, amplitude=0.2, phase=0.7, rate_hz=4.0, seed=1)
                 for i, s in enumerate(SOUNDS))
    pcm = _clip(tmp_path, segs, len(SOUNDS))
    part = {s: pcm[i * RATE + 800:(i + 1) * RATE - 800] for i, s in enumerate(SOUNDS)}
    for s, x in part.items():  # all audible at about the tone's level (white noise loses its top octave at 16 kHz)
        assert 0.4 < np.abs(x).max() / np.abs(part["sine"]).max() < 1.3, s
    f, sine = _spectrum(part["sine"])
    assert f[np.argmax(sine)] == pytest.approx(500, abs=5)
    _, harm = _spectrum(part["harmonic"])
    assert harm[np.abs(f - 1500) < 10].max() > 1e-3 * harm.max()  # third partial present
    assert sine[np.abs(f - 1500) < 10].max() < 1e-4 * sine.max()
    env = np.abs(part["pulses"]).reshape(-1, 200).max(axis=1)  # 12.5 ms windows
    assert (env < 0.02).mean() > 0.3 and (env > 0.1).mean() > 0.3  # gated on and off
    _, white = _spectrum(part["white"])
    _, brown = _spectrum(part["brown"])
    low, high = (f > 100) & (f < 400), (f > 2000) & (f < 6000)
    assert brown[low].mean() / brown[high].mean() > 30 * white[low].mean() / white[high].mean()
