"""Contextual shot embeddings of whole titles, and a numpy-in/numpy-out predict factory.

At inference nothing is masked. A title of more than ``max_shots`` shots is cut into the same
near-equal, non-overlapping windows as in training (``titles.shot_windows``), each window is
encoded on its own, and the windows' rows are put back in shot order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from models.contextual.batching import collate, prepare_titles, title_windows
from models.contextual.model import ContextualShotEncoder
from models.contextual.titles import TitleShots
from models.device import DevicePreference, select_device

_DEFAULT_WINDOWS_PER_BATCH = {"cpu": 4, "cuda": 32}


def embed_titles(
    model: ContextualShotEncoder,
    titles: Sequence[TitleShots],
    batch_size: int | None = None,
    device: DevicePreference | torch.device | str = "auto",
) -> list[np.ndarray]:
    """Contextual embeddings of every shot of every title.

    Args:
        model: a trained encoder; it is put in eval mode and moved to ``device``.
        titles: titles validated against ``model.config``.
        batch_size: windows (of up to ``max_shots`` shots) per forward pass; defaults to 4 on CPU
            and 32 on CUDA. Windows are grouped by length to limit padding; the result does not
            depend on the grouping beyond float rounding.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``. On CUDA, forward passes run under bfloat16
            autocast when ``model.config.autocast_bf16``.

    Returns:
        Per title, float32 ``(n_shots, out_dim)`` rows of unit L2 norm in shot order
        (``(0, out_dim)`` for a title without shots).

    Raises:
        ValueError: ``batch_size < 1`` or a title that does not match the model's config.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dev = select_device(device)
    config = model.config
    size = batch_size or _DEFAULT_WINDOWS_PER_BATCH.get(dev.type, 4)
    data = prepare_titles(titles, config)
    windows = title_windows(data, config.max_shots)
    out = [np.zeros((t.n_shots, config.out_dim), dtype=np.float32) for t in data]
    model.eval().to(dev)
    order = sorted(range(len(windows)), key=lambda i: windows[i].length)
    use_bf16 = dev.type == "cuda" and config.autocast_bf16
    with torch.inference_mode(), (torch.autocast("cuda", dtype=torch.bfloat16) if use_bf16 else nullcontext()):
        for lo in range(0, len(order), size):
            group = [windows[i] for i in order[lo:lo + size]]
            emb = model.embed(collate(data, group, config.modalities).to(dev)).float().cpu().numpy()
            for row, w in enumerate(group):
                out[w.title][w.start:w.end] = emb[row, :w.length]
    return out


_MODELS: dict[tuple[str, str, str], ContextualShotEncoder] = {}
_LOCK = threading.Lock()


def load_contextual(artifact_dir: str | os.PathLike[str], device: torch.device) -> ContextualShotEncoder:
    """The artifact's model on ``device`` in eval mode, loaded once per process, folder, version and device.

    Callers must not modify it (it is shared).
    """
    from models.contextual.artifact import load_artifact
    from models.contextual.meta import read_artifact_meta

    path = Path(artifact_dir).resolve()
    key = (str(path), read_artifact_meta(path).content_version, str(device))
    with _LOCK:
        if key not in _MODELS:
            _MODELS[key] = load_artifact(path, device=device)[0]
        return _MODELS[key]


def make_contextual_predict(
    artifact_dir: str | os.PathLike[str],
    device: DevicePreference = "auto",
    batch_size: int | None = None,
) -> Callable[[Sequence[TitleShots]], list[np.ndarray]]:
    """Build ``predict(titles) -> embeddings`` in the style of Spark's ``predict_batch_udf``.

    The model loads once (per process, artifact and device) when the factory is called; the
    returned function is plain numpy in, numpy out, and needs no Spark.

    Args:
        artifact_dir: a folder written by ``models.contextual.artifact.save_artifact``.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        batch_size: windows per forward pass (see :func:`embed_titles`).

    Returns:
        ``predict``: for a sequence of whole titles (build them with ``TitleShots.from_columns``),
        one float32 ``(n_shots, out_dim)`` L2-normalized array per title, in shot order.

    Raises:
        FileNotFoundError: ``artifact_dir`` holds no artifact.
        ValueError: the artifact fails its content-version check.
    """
    dev = select_device(device)
    model = load_contextual(artifact_dir, dev)

    def predict(titles: Sequence[TitleShots]) -> list[np.ndarray]:
        return embed_titles(model, titles, batch_size=batch_size, device=dev)

    return predict
