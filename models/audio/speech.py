"""Speech activity: Silero VAD run once over a title's audio, then sliced per shot.

The model (TorchScript, 16 kHz) ships inside the ``silero-vad`` wheel and loads from disk.
PCM comes from the caller (PyAV), so neither torchaudio nor ``silero-vad[audio]`` is needed.
Running the VAD once per title and cutting its timeline per shot is much cheaper than one VAD
call per shot, and shot boundaries don't cut speech segments short.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

from models.device import DevicePreference, select_device

VAD_RATE = 16000
"""Sample rate (Hz) the timeline is computed at; other rates are resampled to it."""
WINDOW = 512
"""Samples per VAD decision at 16 kHz (32 ms)."""

SpeechTimeline = list[tuple[float, float]]
"""Speech segments ``[(start_s, end_s), ...]``: sorted, disjoint, end exclusive."""

_MODELS: dict[str, torch.jit.ScriptModule] = {}
_LOCK = threading.Lock()


def load_silero_vad_model(device: torch.device) -> torch.jit.ScriptModule:
    """The bundled Silero VAD TorchScript model on ``device``; loaded once per process and device.

    Importing ``silero_vad`` calls ``torch.set_num_threads(1)`` for the whole process; the
    previous setting is restored so that other models in the same worker keep their threads.

    Raises:
        ImportError: ``silero-vad`` is not installed.
    """
    key = str(device)
    with _LOCK:
        if key not in _MODELS:
            threads = torch.get_num_threads()
            try:
                from silero_vad import load_silero_vad
            except ImportError as exc:
                raise ImportError("speech activity needs `pip install silero-vad`") from exc
            finally:
                torch.set_num_threads(threads)
            _MODELS[key] = load_silero_vad().to(device)
        return _MODELS[key]


def _to_vad_rate(pcm: np.ndarray, rate: int) -> np.ndarray:
    if rate == VAD_RATE:
        return pcm
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(VAD_RATE, rate)
    return resample_poly(pcm, VAD_RATE // g, rate // g).astype(np.float32, copy=False)


class SpeechDetector:
    """Computes a title's speech timeline with Silero VAD.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``. The default is ``"cpu"``: the model is tiny
            and sequential, so a GPU rarely pays off.
        threshold: speech probability at or above which a 32-ms window is speech (Silero's default).
        min_speech_ms: shorter speech segments are dropped.
        min_silence_ms: pauses shorter than this don't end a segment.
        speech_pad_ms: padding added to both ends of each segment.

    Raises:
        ValueError: ``threshold`` is not in (0, 1) or a duration is negative.
        RuntimeError: ``device="cuda"`` but CUDA is not available.
    """

    def __init__(
        self,
        device: DevicePreference = "cpu",
        threshold: float = 0.5,
        min_speech_ms: int = 250,
        min_silence_ms: int = 100,
        speech_pad_ms: int = 30,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        if min(min_speech_ms, min_silence_ms, speech_pad_ms) < 0:
            raise ValueError("min_speech_ms, min_silence_ms and speech_pad_ms must be >= 0")
        self.device = select_device(device)
        self.threshold = threshold
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self.speech_pad_ms = speech_pad_ms
        self.model = load_silero_vad_model(self.device)

    def probabilities(self, pcm: np.ndarray, rate: int = VAD_RATE) -> np.ndarray:
        """Speech probability of each 512-sample (32 ms) window at 16 kHz, float32 ``(ceil(n / 512),)``."""
        pcm = _validate(pcm, rate)
        if pcm.size == 0:
            return np.zeros(0, dtype=np.float32)
        x = _to_vad_rate(pcm, rate)
        n_windows = -(-x.size // WINDOW)
        # The model rejects input shorter than one window; silence pads the last window anyway.
        x = np.pad(x, (0, n_windows * WINDOW - x.size))
        audio = torch.from_numpy(x).to(self.device)
        # The scripted model keeps recurrent state, hence the lock. Its many tiny ops run 10-40x
        # slower with 2 intra-op threads than with 1 (measured on CPU), hence one thread.
        threads = torch.get_num_threads()
        with _LOCK, torch.inference_mode():
            torch.set_num_threads(1)
            try:
                self.model.reset_states()
                probs = self.model.audio_forward(audio[None], VAD_RATE)[0]
                self.model.reset_states()
            finally:
                torch.set_num_threads(threads)
        return probs[:n_windows].float().cpu().numpy()

    def timeline(self, pcm: np.ndarray, rate: int = VAD_RATE) -> SpeechTimeline:
        """Speech segments of a whole title's mono PCM, in seconds.

        Args:
            pcm: mono float PCM in [-1, 1], shape ``(samples,)``.
            rate: its sample rate in Hz (resampled to 16 kHz when different).

        Returns:
            Sorted, disjoint ``(start_s, end_s)`` segments; ``[]`` for empty, silent or
            speech-free audio.

        Raises:
            ValueError: ``pcm`` is not 1-D float audio or ``rate`` is not positive.
        """
        from silero_vad import get_speech_timestamps_from_probs

        pcm = _validate(pcm, rate)
        probs = self.probabilities(pcm, rate)
        if probs.size == 0:
            return []
        n = round(pcm.size * VAD_RATE / rate)
        stamps = get_speech_timestamps_from_probs(
            probs.tolist(),
            sampling_rate=VAD_RATE,
            threshold=self.threshold,
            min_speech_duration_ms=self.min_speech_ms,
            min_silence_duration_ms=self.min_silence_ms,
            speech_pad_ms=self.speech_pad_ms,
            audio_length_samples=n,
        )
        return [(s["start"] / VAD_RATE, s["end"] / VAD_RATE) for s in stamps]


def _validate(pcm: np.ndarray, rate: int) -> np.ndarray:
    pcm = np.asarray(pcm)
    if pcm.ndim != 1 or not np.issubdtype(pcm.dtype, np.floating):
        raise ValueError(f"expected mono float PCM of shape (samples,), got {pcm.dtype} {pcm.shape}")
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    return np.nan_to_num(pcm.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=-1.0)


def speech_timeline(pcm: np.ndarray, rate: int = VAD_RATE, device: DevicePreference = "cpu") -> SpeechTimeline:
    """Speech segments of a title's mono PCM with default settings; see :meth:`SpeechDetector.timeline`."""
    return SpeechDetector(device=device).timeline(pcm, rate)


def speech_ratio(timeline: Sequence[tuple[float, float]], start_s: float, end_s: float) -> float:
    """Fraction of ``[start_s, end_s)`` covered by speech segments, in [0, 1].

    Args:
        timeline: sorted, disjoint ``(start_s, end_s)`` segments, as :func:`speech_timeline` returns.
        start_s, end_s: the shot's time range in seconds.

    Returns:
        Covered seconds divided by ``end_s - start_s``; 0.0 for an empty range (``end_s <= start_s``).
    """
    length = end_s - start_s
    if length <= 0:
        return 0.0
    covered = sum(max(0.0, min(b, end_s) - max(a, start_s)) for a, b in timeline)
    return min(1.0, max(0.0, covered / length))


def speech_ratios(timeline: Sequence[tuple[float, float]], ranges: Sequence[tuple[float, float]]) -> np.ndarray:
    """:func:`speech_ratio` of each ``(start_s, end_s)`` in ``ranges``, float32 ``(len(ranges),)``."""
    return np.array([speech_ratio(timeline, a, b) for a, b in ranges], dtype=np.float32)
