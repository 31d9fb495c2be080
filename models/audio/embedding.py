"""Audio embeddings: aiSFX 512-d sound-effect embeddings of mono clips (Ma & Lerch, ISMIR 2022).

The pretrained "X-Sequential-CE" checkpoint and the CNN ship inside the ``aisfx`` wheel, which
is installed with ``--no-deps`` (its metadata pins numpy 1.23 and librosa 0.9). Only its
``EmbeddingNet`` and checkpoint are used: the input front end is reimplemented here in torch so
that neither librosa nor essentia (AGPL) is needed. It reproduces the essentia mel spectrogram
the model was trained on (``aisfx.spectrogram.spectrogram_essentia`` with the parameters of
``aisfx.inference``) to within 3e-6: 44.1 kHz, 2048-sample symmetric Hann frames centred every
1024 samples, power spectrum, 96 HTK-mel bands (0-22050 Hz, unit-sum triangles),
``log10(1e4 * x + 1)``, divided by the training maximum 9.4578.

Clips arrive at ``AUDIO_RATE`` (16 kHz, the standardized encode's rate) and are resampled to
44.1 kHz; mel bands above 8 kHz are therefore empty, the same way for every title.
The spectrogram is cut into 100-frame blocks (about 2.3 s) every 50 frames, as in the paper; the
clip's embedding is the mean of its block embeddings, L2-normalized. A clip shorter than one
block is padded with silence (a zero spectrogram), so any length, including zero, is valid.

Silence: digital silence has an all-zero spectrogram and maps to one fixed, finite embedding
(the "silence embedding"), shared by every silent clip. Callers that store shot embeddings should
use :func:`is_silent` to store a null embedding with ``has_embedding = False`` instead, so silent
shots don't all match each other.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, overload

import numpy as np
import torch

from models.cards import AUDIO_EMBEDDING_DIM, SILENCE_DBFS
from models.device import DevicePreference, inference_dtype, select_device

AUDIO_RATE = 16000
"""Sample rate (Hz) of the clips ``predict`` takes."""

MODEL_RATE = 44100
FRAME_SIZE = 2048
HOP_SIZE = 1024
MEL_BANDS = 96
BLOCK_FRAMES = 100
BLOCK_HOP_FRAMES = 50
SPEC_MAX = 9.457798957824707
"""``aisfx.preprocessing.spectrogram_normalize``'s 'original' maximum (its minimum is 0)."""

_MODELS: dict[str, torch.nn.Module] = {}
_LOCK = threading.Lock()


def load_aisfx(device: torch.device) -> torch.nn.Module:
    """The pretrained aiSFX ``EmbeddingNet`` in eval mode on ``device``, in ``inference_dtype(device)``.

    Loaded once per process and device, then shared; callers must not modify it.

    Raises:
        ImportError: ``aisfx`` is not installed (``pip install --no-deps aisfx==0.1.2``).
    """
    key = str(device)
    with _LOCK:
        if key not in _MODELS:
            try:
                from importlib.resources import files

                from aisfx.models.cnn2d import EmbeddingNet
            except ImportError as exc:
                raise ImportError("audio embeddings need `pip install --no-deps aisfx==0.1.2`") from exc
            # The checkpoint pickles numpy scalars in its dataset table; allow exactly those
            # types instead of falling back to an unrestricted (weights_only=False) load.
            from numpy._core.multiarray import scalar

            allowed: list[Callable[..., Any] | tuple[Callable[..., Any], str]] = [
                (scalar, "numpy.core.multiarray.scalar"),
                np.dtype,
                np.dtypes.Int64DType,
            ]
            path = files("aisfx").joinpath("models/checkpoint.pth")
            with torch.serialization.safe_globals(allowed), path.open("rb") as f:
                weights, _datasets = torch.load(f, map_location="cpu", weights_only=True)
            prefix = "embedding_net."
            state = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
            model = EmbeddingNet("max", 3, 1, 64)
            model.load_state_dict(state, strict=True)
            _MODELS[key] = model.eval().to(device=device, dtype=inference_dtype(device))
        return _MODELS[key]


@overload
def _hz_to_mel(f: np.ndarray) -> np.ndarray: ...
@overload
def _hz_to_mel(f: float) -> float: ...
def _hz_to_mel(f: np.ndarray | float) -> np.ndarray | float:
    return 1127.01048 * np.log1p(f / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * np.expm1(m / 1127.01048)


def mel_filterbank() -> np.ndarray:
    """Essentia's ``MelBands`` matrix ``(96, 1025)`` for the aiSFX parameters (float64).

    HTK mel warping, triangles weighted in the mel domain ("warping") and each normalized to
    unit sum, exactly as essentia builds them (including its inclusive upper bin).
    """
    n_bins = FRAME_SIZE // 2 + 1
    mel_lo, mel_hi = _hz_to_mel(np.float64(0.0)), _hz_to_mel(np.float64(MODEL_RATE / 2))
    edges = _mel_to_hz(mel_lo + (mel_hi - mel_lo) / (MEL_BANDS + 1) * np.arange(MEL_BANDS + 2))
    bin_hz = (MODEL_RATE / 2) / (n_bins - 1)
    fb = np.zeros((MEL_BANDS, n_bins))
    for i in range(MEL_BANDS):
        f0, f1, f2 = edges[i : i + 3]
        m0, m1, m2 = _hz_to_mel(np.array([f0, f1, f2]))
        for j in range(int(f0 / bin_hz + 0.5), min(n_bins, int(f2 / bin_hz + 0.5) + 1)):
            hz = j * bin_hz
            if f0 <= hz < f1:
                fb[i, j] = (_hz_to_mel(hz) - m0) / (m1 - m0)
            elif f1 <= hz < f2:
                fb[i, j] = (m2 - _hz_to_mel(hz)) / (m2 - m1)
        total = fb[i].sum()
        if total > 0:
            fb[i] /= total
    return fb


def resample_to_model_rate(clip: np.ndarray, rate: int = AUDIO_RATE) -> np.ndarray:
    """Polyphase resampling of a mono clip from ``rate`` to 44.1 kHz (float32)."""
    from scipy.signal import resample_poly

    clip = np.asarray(clip, dtype=np.float32)
    if rate == MODEL_RATE or clip.size == 0:
        return clip
    g = math.gcd(MODEL_RATE, rate)
    return resample_poly(clip, MODEL_RATE // g, rate // g).astype(np.float32, copy=False)


class MelFrontEnd:
    """44.1 kHz mono audio to the normalized aiSFX log-mel spectrogram ``(frames, 96)`` on a device.

    Frame ``i`` is centred on sample ``i * 1024`` (zero padding before the start and after the
    end), and frames continue while their first sample lies inside the clip, as essentia's
    ``FrameCutter`` does: ``ceil((n + 1024) / 1024)`` frames for ``n > 0`` samples, none for 0.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        n = torch.arange(FRAME_SIZE, dtype=torch.float64)
        self.window = (0.5 - 0.5 * torch.cos(2 * math.pi * n / (FRAME_SIZE - 1))).float().to(device)
        self.filterbank = torch.from_numpy(mel_filterbank()).float().to(device)

    def __call__(self, audio: np.ndarray) -> torch.Tensor:
        n = int(audio.size)
        if n == 0:
            return torch.zeros((0, MEL_BANDS), device=self.device)
        frames = -(-(n + FRAME_SIZE // 2) // HOP_SIZE)
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self.device)
        padded = torch.zeros(frames * HOP_SIZE + FRAME_SIZE, device=self.device)
        padded[FRAME_SIZE // 2 : FRAME_SIZE // 2 + n] = x
        framed = padded.unfold(0, FRAME_SIZE, HOP_SIZE)[:frames]
        power = torch.fft.rfft(framed * self.window, dim=1).abs().square()
        mel = power @ self.filterbank.T
        return torch.log10(mel * 1e4 + 1.0) / SPEC_MAX


def spectrogram_blocks(spec: torch.Tensor) -> torch.Tensor:
    """Cut a spectrogram ``(frames, 96)`` into blocks ``(B, 100, 96)`` every 50 frames.

    A spectrogram shorter than one block is zero-padded to one block. When the regular blocks
    stop short of the end, one more block ending on the last frame is added, so the tail of a
    clip always counts (aisfx itself drops that partial block).
    """
    n = spec.shape[0]
    if n < BLOCK_FRAMES:
        pad = torch.zeros((BLOCK_FRAMES - n, spec.shape[1]), device=spec.device, dtype=spec.dtype)
        return torch.cat([spec, pad])[None]
    starts = list(range(0, n - BLOCK_FRAMES + 1, BLOCK_HOP_FRAMES))
    if starts[-1] + BLOCK_FRAMES < n:
        starts.append(n - BLOCK_FRAMES)
    return torch.stack([spec[s : s + BLOCK_FRAMES] for s in starts])


def is_silent(clip: np.ndarray, threshold_dbfs: float = SILENCE_DBFS) -> bool:
    """Whether a clip is empty or its RMS level is at or below ``threshold_dbfs``.

    Store a null embedding with ``has_embedding = False`` for such a clip: its embedding is the
    shared silence embedding and carries no information about the shot.
    """
    clip = np.asarray(clip, dtype=np.float64)
    if clip.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(clip))))
    return rms <= 10.0 ** (threshold_dbfs / 20.0)


def make_audio_predict(
    device: DevicePreference = "auto", max_blocks: int = 64
) -> Callable[[Sequence[np.ndarray]], np.ndarray]:
    """Build ``predict(clips) -> embeddings`` in the style of Spark's ``predict_batch_udf``.

    The model loads once (per process and device) when the factory is called.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``; see ``models.device.select_device``.
        max_blocks: Most 2.3-s blocks per forward pass (>= 1); bounds memory for long clips.

    Returns:
        ``predict``, mapping a sequence of N mono float32 clips at ``AUDIO_RATE`` (any length,
        including 0) to float32 embeddings ``(N, 512)`` of unit L2 norm. Float16 network on
        CUDA; float32 and deterministic on CPU.

    Raises:
        ValueError: ``max_blocks`` < 1.
        RuntimeError: ``device="cuda"`` but CUDA is not available.
    """
    if max_blocks < 1:
        raise ValueError(f"max_blocks must be >= 1, got {max_blocks}")
    torch_device = select_device(device)
    dtype = inference_dtype(torch_device)
    model = load_aisfx(torch_device)
    front_end = MelFrontEnd(torch_device)

    def predict(clips: Sequence[np.ndarray]) -> np.ndarray:
        out = np.empty((len(clips), AUDIO_EMBEDDING_DIM), dtype=np.float32)
        with torch.inference_mode():
            for i, clip in enumerate(clips):
                clip = np.asarray(clip)
                if clip.ndim != 1 or not np.issubdtype(clip.dtype, np.floating):
                    raise ValueError(f"clip {i}: expected mono float PCM of shape (samples,), got {clip.dtype} {clip.shape}")
                clip = np.nan_to_num(clip.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=-1.0)
                blocks = spectrogram_blocks(front_end(resample_to_model_rate(clip)))
                total = torch.zeros(AUDIO_EMBEDDING_DIM, device=torch_device, dtype=torch.float32)
                for start in range(0, len(blocks), max_blocks):
                    total += model(blocks[start : start + max_blocks].to(dtype)).float().sum(dim=0)
                mean = total / len(blocks)
                out[i] = (mean / mean.norm().clamp_min(1e-12)).cpu().numpy()
        return out

    return predict
