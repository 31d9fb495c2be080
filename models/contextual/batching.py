"""Padded tensor batches of shot windows: the encoder's input format.

A batch holds ``B`` windows padded to the longest one (``L`` shots). ``valid`` marks real shots,
``present`` marks which modalities each real shot has; padding is never valid and never present.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from models.contextual.config import ContextualConfig
from models.contextual.titles import TitleShots, shot_windows


@dataclass(frozen=True)
class TitleTensors:
    """One validated title as CPU tensors (shared with the numpy arrays where possible)."""

    features: dict[str, torch.Tensor]  # name -> float32 (n, dim)
    present: torch.Tensor  # bool (n, n_modalities), config modality order
    metadata: torch.Tensor  # float32 (metadata_dim,)

    @property
    def n_shots(self) -> int:
        return int(self.present.shape[0])


@dataclass(frozen=True)
class ShotWindow:
    """Shots ``[start, end)`` of title number ``title``."""

    title: int
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class ShotBatch:
    """Padded windows.

    Attributes:
        features: modality name -> float32 ``(B, L, dim)``; zero at padding.
        present: bool ``(B, L, n_modalities)``; false at padding.
        valid: bool ``(B, L)``; true for real shots, false for padding.
        metadata: float32 ``(B, metadata_dim)``: the window's title metadata.
    """

    features: dict[str, torch.Tensor]
    present: torch.Tensor
    valid: torch.Tensor
    metadata: torch.Tensor

    def to(self, device: torch.device) -> ShotBatch:
        """The same batch on ``device`` (non-blocking copies from pinned memory when possible)."""
        return ShotBatch({k: v.to(device, non_blocking=True) for k, v in self.features.items()},
                         self.present.to(device, non_blocking=True), self.valid.to(device, non_blocking=True),
                         self.metadata.to(device, non_blocking=True))

    @property
    def n_shots(self) -> int:
        """Number of real (non-padding) shots."""
        return int(self.valid.sum())


def prepare_titles(titles: Sequence[TitleShots], config: ContextualConfig) -> list[TitleTensors]:
    """Validate titles against ``config`` and convert them to CPU tensors.

    Raises:
        ValueError: a title whose shapes don't match the config (see ``TitleShots.validate``).
    """
    out = []
    for i, title in enumerate(titles):
        try:
            title.validate(config.modality_dims, config.metadata_dim)
        except ValueError as exc:
            raise ValueError(f"title {i}: {exc}") from exc
        features = {m: _tensor(title.embeddings[m]) for m in config.modalities}
        present = np.stack([title.presence(m) for m in config.modalities], axis=1) if title.n_shots else \
            np.zeros((0, len(config.modalities)), dtype=bool)
        out.append(TitleTensors(features, torch.from_numpy(present),
                                torch.from_numpy(np.asarray(title.metadata, dtype=np.float32).reshape(-1).copy())))
    return out


def _tensor(x: np.ndarray) -> torch.Tensor:
    """float32 CPU tensor sharing ``x``'s memory when possible (read-only arrays, e.g. from Arrow, are copied)."""
    a = np.ascontiguousarray(x, dtype=np.float32)
    return torch.from_numpy(a if a.flags.writeable else a.copy())


def title_windows(titles: Sequence[TitleTensors], max_shots: int) -> list[ShotWindow]:
    """Every title's windows (``titles.shot_windows``), title by title, in shot order; titles without
    shots have none."""
    return [ShotWindow(t, s, e) for t, title in enumerate(titles) for s, e in shot_windows(title.n_shots, max_shots)]


def collate(titles: Sequence[TitleTensors], windows: Sequence[ShotWindow], modalities: Sequence[str]) -> ShotBatch:
    """Pad ``windows`` (of ``titles``) into one batch, in the given order."""
    if not windows:
        raise ValueError("cannot collate an empty list of windows")
    b, length = len(windows), max(w.length for w in windows)
    first = titles[windows[0].title]
    features = {m: torch.zeros(b, length, first.features[m].shape[1]) for m in modalities}
    present = torch.zeros(b, length, len(modalities), dtype=torch.bool)
    valid = torch.zeros(b, length, dtype=torch.bool)
    metadata = torch.stack([titles[w.title].metadata for w in windows])
    for i, w in enumerate(windows):
        title, n = titles[w.title], w.length
        for m in modalities:
            features[m][i, :n] = title.features[m][w.start:w.end]
        present[i, :n] = title.present[w.start:w.end]
        valid[i, :n] = True
    return ShotBatch(features, present, valid, metadata)
