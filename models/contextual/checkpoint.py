"""Resumable training checkpoints: model, optimizer, step, loss history and RNG state in one file.

A checkpoint is ``<dir>/checkpoint.pt``, replaced atomically (written to a temporary file, then
renamed), so a run killed while saving leaves the previous checkpoint intact. It records the
config digest and a fingerprint of the training data; resuming with a different config or
different titles is refused rather than silently mixing two runs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.contextual.batching import TitleTensors

CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_FORMAT = 1


@dataclass
class TrainingState:
    """What a checkpoint holds besides the config."""

    step: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    losses: list[float]
    shots_seen: int
    torch_rng: torch.Tensor
    cuda_rng: list[torch.Tensor] | None


def data_fingerprint(titles: Sequence[TitleTensors]) -> str:
    """SHA-256 over each title's shot count, presence masks, metadata and first/last input rows.

    Cheap (it does not hash every embedding), and enough to catch resuming on another data set.
    """
    h = hashlib.sha256(str(len(titles)).encode())
    for t in titles:
        h.update(np.int64(t.n_shots).tobytes())
        h.update(np.packbits(t.present.numpy()).tobytes())
        h.update(t.metadata.numpy().tobytes())
        for name in sorted(t.features):
            x = t.features[name]
            if len(x):
                h.update(x[0].numpy().tobytes())
                h.update(x[-1].numpy().tobytes())
    return h.hexdigest()


def checkpoint_path(directory: str | os.PathLike[str]) -> Path:
    """The checkpoint file inside ``directory``."""
    return Path(directory) / CHECKPOINT_FILE


def save_checkpoint(directory: str | os.PathLike[str], state: TrainingState, config_digest: str, fingerprint: str) -> Path:
    """Write ``state`` to ``<directory>/checkpoint.pt`` atomically (the directory is created)."""
    path = checkpoint_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT, "config_digest": config_digest, "data_fingerprint": fingerprint,
        "step": state.step, "model": state.model, "optimizer": state.optimizer,
        "losses": torch.tensor(state.losses, dtype=torch.float64), "shots_seen": state.shots_seen,
        "torch_rng": state.torch_rng, "cuda_rng": state.cuda_rng,
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(directory: str | os.PathLike[str], config_digest: str, fingerprint: str) -> TrainingState | None:
    """The checkpoint in ``directory``, or ``None`` when there is none.

    Tensors load on CPU; the caller moves them.

    Raises:
        ValueError: the checkpoint was written for another config or another training set, or
            by an incompatible version of this module.
    """
    path = checkpoint_path(directory)
    if not path.exists():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: checkpoint format {payload.get('format')!r}, expected {CHECKPOINT_FORMAT}")
    if payload["config_digest"] != config_digest:
        raise ValueError(f"{path} was written for a different config; use another checkpoint directory or delete it")
    if payload["data_fingerprint"] != fingerprint:
        raise ValueError(f"{path} was written for different training titles; use another checkpoint directory or delete it")
    return TrainingState(step=int(payload["step"]), model=payload["model"], optimizer=payload["optimizer"],
                         losses=[float(x) for x in payload["losses"].tolist()], shots_seen=int(payload["shots_seen"]),
                         torch_rng=payload["torch_rng"], cuda_rng=payload["cuda_rng"])
