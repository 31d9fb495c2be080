"""Torch device selection shared by every model: CUDA when present, else CPU."""

from __future__ import annotations

from typing import Literal

import torch

DevicePreference = Literal["auto", "cpu", "cuda"]

_DEFAULT_BATCH_SIZE = {"cpu": 16, "cuda": 128}


def select_device(preference: DevicePreference | torch.device | str = "auto") -> torch.device:
    """Resolve a device preference to a concrete torch device.

    Args:
        preference: ``"auto"`` picks ``cuda`` when a CUDA device is available and ``cpu``
            otherwise; ``"cpu"`` and ``"cuda"`` (optionally indexed, e.g. ``"cuda:1"``) are
            taken as given. An existing ``torch.device`` is validated the same way.

    Returns:
        The selected device.

    Raises:
        ValueError: ``preference`` is not a CPU or CUDA device.
        RuntimeError: CUDA was requested explicitly but is not available.
    """
    if isinstance(preference, str) and preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(preference)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {preference!r}; expected 'auto', 'cpu' or 'cuda'") from exc
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise ValueError(f"unsupported device type {device.type!r}; expected 'auto', 'cpu' or 'cuda'")
    if not torch.cuda.is_available():
        raise RuntimeError(
            f"device {preference!r} was requested but CUDA is not available "
            "(no GPU, or torch was built without CUDA); use 'auto' or 'cpu'"
        )
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise RuntimeError(
            f"device {preference!r} was requested but only {torch.cuda.device_count()} CUDA device(s) exist"
        )
    return device


def inference_dtype(device: torch.device) -> torch.dtype:
    """Floating-point dtype to run inference in: float16 on CUDA, float32 on CPU."""
    return torch.float16 if device.type == "cuda" else torch.float32


def default_batch_size(device: torch.device) -> int:
    """A batch size (images per forward pass) that suits ImageNet-size inputs on ``device``."""
    return _DEFAULT_BATCH_SIZE.get(device.type, _DEFAULT_BATCH_SIZE["cpu"])
