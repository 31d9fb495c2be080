"""Audio models on real audio: aiSFX embeddings and Silero VAD speech ratios of generated tones,
silences and (when espeakng-loader is installed) synthesized speech."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest
import torch

from models.audio import (
    AUDIO_EMBEDDING_DIM,
    AUDIO_RATE,
    VAD_RATE,
    SpeechDetector,
    is_silent,
    make_audio_predict,
    speech_ratio,
    speech_ratios,
)
from reelhouse.media import read_audio
from reelhouse.media.errors import UndecodableAudioError
from reelhouse.samples import AudioSegment, ClipSpec, Look, Shot, generate_clip, make_undecodable_audio

# Tone A, silence, tone B, tone A again, silence: each segment 2 s.
SEGMENTS = [(0.0, 2.0, 440.0), (2.0, 4.0, None), (4.0, 6.0, 1500.0), (6.0, 8.0, 440.0), (8.0, 10.0, None)]


@pytest.fixture(scope="module")
def audio_predict():
    return make_audio_predict("cpu")


@pytest.fixture(scope="module")
def detector() -> SpeechDetector:
    return SpeechDetector("cpu")


@pytest.fixture(scope="module")
def tone_title(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """The generator's AAC audio of a 10-s clip, decoded to mono 16 kHz."""
    spec = ClipSpec(
        width=64,
        height=64,
        fps=12.0,
        shots=(Shot(look=Look(hue=0.1, layout="stripes"), frames=120),),
        audio=tuple(AudioSegment(start_s=a, end_s=b, freq_hz=f) for a, b, f in SEGMENTS if f),
    )
    path = tmp_path_factory.mktemp("audio") / "tones.mp4"
    generate_clip(spec, path)
    return read_audio(path, rate=AUDIO_RATE)


def _slice(pcm: np.ndarray, a: float, b: float, rate: int = AUDIO_RATE) -> np.ndarray:
    return pcm[round(a * rate) : round(b * rate)]


def _synthesize_speech(text: str) -> np.ndarray | None:
    """Mono float32 speech at 16 kHz from the eSpeak NG library that ``espeakng-loader`` ships."""
    try:
        import espeakng_loader
    except ImportError:
        return None
    from scipy.signal import resample_poly

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    chunks: list[np.ndarray] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

    def collect(wav, n, _events):  # type: ignore[no-untyped-def]
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    callback = callback_type(collect)
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    rate = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)  # 2: synchronous
    lib.espeak_SetSynthCallback(callback)
    lib.espeak_SetVoiceByName(b"en")
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    data = text.encode()
    lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 1, None, None)  # position type 1, flags 1: UTF-8
    lib.espeak_Synchronize()
    if rate <= 0 or not chunks:
        return None
    pcm = np.concatenate(chunks).astype(np.float32) / 32768.0
    return resample_poly(pcm, VAD_RATE, rate).astype(np.float32)


# --- embeddings ---------------------------------------------------------------------------


def test_embeddings_have_unit_norm_and_are_deterministic(audio_predict, tone_title: np.ndarray) -> None:
    clips = [_slice(tone_title, a, b) for a, b, _ in SEGMENTS]
    first, second = audio_predict(clips), audio_predict(clips)
    assert first.shape == (len(SEGMENTS), AUDIO_EMBEDDING_DIM) and first.dtype == np.float32
    assert np.all(np.isfinite(first))
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, second)


def test_same_tone_is_closer_than_a_different_tone(audio_predict, tone_title: np.ndarray) -> None:
    a1, _, b, a2, _ = audio_predict([_slice(tone_title, a, e) for a, e, _ in SEGMENTS])
    assert float(a1 @ a2) > 0.98
    assert float(a1 @ a2) > float(a1 @ b) + 0.03
    assert float(a2 @ a2) > float(a2 @ b) + 0.03


def test_short_empty_and_silent_clips_give_finite_unit_embeddings(audio_predict) -> None:
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(AUDIO_RATE // 10) / AUDIO_RATE)).astype(np.float32)
    silent = np.zeros(AUDIO_RATE * 3, np.float32)
    out = audio_predict([tone, np.zeros(0, np.float32), silent, np.zeros(10, np.float32)])
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # Every silent or empty clip maps to the same "silence embedding" (stored as null by callers).
    np.testing.assert_allclose(out[1], out[2], atol=1e-6)
    np.testing.assert_allclose(out[1], out[3], atol=1e-6)
    assert float(out[0] @ out[2]) < 0.9


def test_long_clip_is_blocked_not_truncated(audio_predict) -> None:
    t = np.arange(AUDIO_RATE * 8) / AUDIO_RATE
    tail_differs = np.where(t < 6.5, np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 3000 * t))
    plain = np.sin(2 * np.pi * 440 * t)
    a, b = audio_predict([(0.3 * tail_differs).astype(np.float32), (0.3 * plain).astype(np.float32)])
    assert float(a @ b) < 0.999  # the last 1.5 s count


def test_is_silent(tone_title: np.ndarray) -> None:
    assert is_silent(_slice(tone_title, 2.2, 3.8))
    assert not is_silent(_slice(tone_title, 0.2, 1.8))
    assert is_silent(np.zeros(0, np.float32))
    assert is_silent(np.full(1000, 1e-4, np.float32))


def test_bad_pcm_is_rejected_or_sanitized(audio_predict) -> None:
    with pytest.raises(ValueError, match="mono float"):
        audio_predict([np.zeros((2, 100), np.float32)])
    with pytest.raises(ValueError, match="mono float"):
        audio_predict([np.zeros(100, np.int16)])
    noisy = np.full(AUDIO_RATE, np.nan, np.float32)
    noisy[::2] = np.inf
    assert np.all(np.isfinite(audio_predict([noisy])))


def test_undecodable_and_absent_audio(tmp_path: Path, audio_predict, detector: SpeechDetector) -> None:
    bad = make_undecodable_audio(tmp_path / "bad_audio.mkv").path
    with pytest.raises(UndecodableAudioError):
        read_audio(bad, rate=AUDIO_RATE)
    spec = ClipSpec(width=64, height=64, shots=(Shot(look=Look(hue=0.5, layout="blocks"), frames=24),),
                    with_audio=False)
    generate_clip(spec, tmp_path / "mute.mp4")
    pcm = read_audio(tmp_path / "mute.mp4", rate=AUDIO_RATE)
    assert pcm.size == 0
    assert is_silent(pcm)
    assert np.all(np.isfinite(audio_predict([pcm])))
    assert detector.timeline(pcm) == []


# --- speech -------------------------------------------------------------------------------


def test_tones_and_silence_are_not_speech(detector: SpeechDetector, tone_title: np.ndarray) -> None:
    timeline = detector.timeline(tone_title, AUDIO_RATE)
    ratios = speech_ratios(timeline, [(a, b) for a, b, _ in SEGMENTS])
    assert ratios.shape == (len(SEGMENTS),)
    assert np.all(ratios <= 0.05), (timeline, ratios)


def test_synthesized_speech_has_a_high_speech_ratio(detector: SpeechDetector) -> None:
    speech = _synthesize_speech("The harbour lights came on one by one. We should have left before the storm.")
    assert speech is not None, "espeakng-loader, a dev dependency, must be installed to synthesize speech"
    pad = np.zeros(VAD_RATE * 2, np.float32)
    pcm = np.concatenate([pad, speech, pad])
    start, end = 2.0, 2.0 + speech.size / VAD_RATE
    timeline = detector.timeline(pcm)
    assert timeline and all(0.0 <= a < b <= pcm.size / VAD_RATE for a, b in timeline)
    assert speech_ratio(timeline, start, end) > 0.7
    assert speech_ratio(timeline, 0.0, 1.8) == 0.0
    assert speech_ratio(timeline, end + 0.2, pcm.size / VAD_RATE) == 0.0
    # Another sample rate is resampled to 16 kHz and gives the same segments (to the window).
    from scipy.signal import resample_poly

    at_48k = resample_poly(pcm, 3, 1).astype(np.float32)
    for (a, b), (c, d) in zip(timeline, detector.timeline(at_48k, 48000), strict=True):
        assert abs(a - c) < 0.07 and abs(b - d) < 0.07


def test_vad_leaves_the_torch_thread_setting_alone(detector: SpeechDetector) -> None:
    before = torch.get_num_threads()
    detector.timeline(np.zeros(VAD_RATE, np.float32))
    assert torch.get_num_threads() == before


def test_speech_ratio_arithmetic() -> None:
    timeline = [(1.0, 2.0), (3.0, 5.0)]
    assert speech_ratio(timeline, 0.0, 1.0) == 0.0
    assert speech_ratio(timeline, 1.0, 2.0) == 1.0
    assert speech_ratio(timeline, 1.5, 3.5) == pytest.approx(0.5)
    assert speech_ratio(timeline, 0.0, 6.0) == pytest.approx(0.5)
    assert speech_ratio(timeline, 2.0, 2.0) == 0.0
    assert speech_ratio([], 0.0, 10.0) == 0.0


def test_detector_validates_arguments() -> None:
    with pytest.raises(ValueError):
        SpeechDetector("cpu", threshold=1.5)
    with pytest.raises(ValueError):
        SpeechDetector("cpu", min_speech_ms=-1)


# --- devices ------------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        make_audio_predict("cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        SpeechDetector("cuda")


def test_auto_device_and_bad_preferences() -> None:
    predict = make_audio_predict("auto")
    assert predict([np.zeros(AUDIO_RATE, np.float32)]).shape == (1, AUDIO_EMBEDDING_DIM)
    with pytest.raises(ValueError):
        make_audio_predict("tpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_audio_predict("cpu", max_blocks=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_embeddings_match_cpu(audio_predict, tone_title: np.ndarray) -> None:
    clips = [_slice(tone_title, a, b) for a, b, _ in SEGMENTS]
    gpu = make_audio_predict("cuda")(clips)
    np.testing.assert_allclose(gpu, audio_predict(clips), atol=2e-2)
