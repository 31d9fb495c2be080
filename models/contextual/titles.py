"""A title's shot sequence as plain numpy: per-modality embeddings, presence masks, title metadata.

Numpy only (no torch), so Spark workers and planners can build and validate inputs cheaply.
Shot ``i`` is row ``i`` of every array, in shot order (the canonical ``shot_index``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

METADATA_LOG_SCALE = 10.0
"""Log features of the metadata vector are divided by this so that every feature is roughly in [0, 1]."""


def title_metadata(shot_durations_s: np.ndarray, present: Mapping[str, np.ndarray],
                   modalities: Sequence[str] = ("visual", "audio", "text")) -> np.ndarray:
    """The title-metadata vector the global token is built from.

    Features, in order (``4 + len(modalities)`` float32 values):
    ``log1p(total duration s) / 10``, ``log1p(shot count) / 10``, ``log1p(mean shot length s) / 10``,
    standard deviation of ``log1p(shot length s)``, then for each modality in ``modalities`` the
    fraction of shots where it is present (a modality missing from ``present`` counts as present
    for every shot).

    Args:
        shot_durations_s: ``(n,)`` shot lengths in seconds (>= 0), in shot order.
        present: modality name -> ``(n,)`` bool, true where the shot has that embedding.
        modalities: modality order of the presence fractions (the config's ``modalities``).

    Returns:
        float32 ``(4 + len(modalities),)``. A title with no shots gives all zeros.

    Raises:
        ValueError: negative or non-finite durations, or a presence mask of the wrong length.
    """
    d = np.asarray(shot_durations_s, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("shot durations must be finite and >= 0 seconds")
    n = d.size
    out = np.zeros(4 + len(modalities), dtype=np.float32)
    if n == 0:
        return out
    out[0] = np.log1p(d.sum()) / METADATA_LOG_SCALE
    out[1] = np.log1p(n) / METADATA_LOG_SCALE
    out[2] = np.log1p(d.mean()) / METADATA_LOG_SCALE
    out[3] = np.log1p(d).std()
    for j, name in enumerate(modalities):
        mask = present.get(name)
        if mask is None:
            out[4 + j] = 1.0
            continue
        mask = np.asarray(mask, dtype=bool).reshape(-1)
        if mask.size != n:
            raise ValueError(f"presence mask of {name!r} has {mask.size} entries for {n} shots")
        out[4 + j] = mask.mean()
    return out


def stack_modality(rows: Iterable[np.ndarray | Sequence[float] | None], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """One modality's column of nullable vectors (e.g. a Spark/pandas column) -> (array, presence).

    Args:
        rows: one entry per shot: a ``(dim,)`` vector, or ``None`` (also NaN-only or empty) when
            the shot has no embedding of this modality.
        dim: the modality's embedding size.

    Returns:
        ``(x, present)``: float32 ``(n, dim)`` with zero rows where absent, and bool ``(n,)``.

    Raises:
        ValueError: a vector of the wrong size.
    """
    rows = list(rows)
    x = np.zeros((len(rows), dim), dtype=np.float32)
    present = np.zeros(len(rows), dtype=bool)
    for i, row in enumerate(rows):
        if row is None:
            continue
        v = np.asarray(row, dtype=np.float32).reshape(-1)
        if v.size == 0 or np.all(np.isnan(v)):
            continue
        if v.size != dim:
            raise ValueError(f"shot {i}: vector of size {v.size}, expected {dim}")
        x[i] = v
        present[i] = True
    return x, present


@dataclass(frozen=True)
class TitleShots:
    """The inputs of one title: per-modality shot embeddings, where each is present, and metadata.

    Attributes:
        embeddings: modality name -> float32 ``(n, dim)``, rows in shot order, L2-normalized where
            present. Rows of absent shots may hold anything: the encoder zeroes them itself.
        present: modality name -> bool ``(n,)``; a modality not listed is present for every shot.
        metadata: float32 ``(metadata_dim,)`` title-level features (see :func:`title_metadata`).
    """

    embeddings: Mapping[str, np.ndarray]
    metadata: np.ndarray
    present: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_shots(self) -> int:
        """Number of shots (rows)."""
        return int(np.shape(next(iter(self.embeddings.values())))[0]) if self.embeddings else 0

    def presence(self, name: str) -> np.ndarray:
        """Bool ``(n,)`` presence of modality ``name`` (all true when not given)."""
        mask = self.present.get(name)
        return np.ones(self.n_shots, dtype=bool) if mask is None else np.asarray(mask, dtype=bool).reshape(-1)

    def validate(self, modality_dims: Mapping[str, int], metadata_dim: int) -> None:
        """Check shapes against a config's modalities and metadata size.

        Raises:
            ValueError: a missing or extra modality, a wrong dimension, rows that disagree in
                number, a presence mask of the wrong length, or a wrong metadata size.
        """
        if set(self.embeddings) != set(modality_dims):
            raise ValueError(f"title has modalities {sorted(self.embeddings)}, the model expects {sorted(modality_dims)}")
        unknown = set(self.present) - set(modality_dims)
        if unknown:
            raise ValueError(f"presence masks for unknown modalities {sorted(unknown)}")
        n = self.n_shots
        for name, dim in modality_dims.items():
            x = np.asarray(self.embeddings[name])
            if x.ndim != 2 or x.shape[1] != dim:
                raise ValueError(f"modality {name!r} has shape {x.shape}, expected (n, {dim})")
            if x.shape[0] != n:
                raise ValueError(f"modality {name!r} has {x.shape[0]} rows, others have {n}")
            if self.presence(name).size != n:
                raise ValueError(f"presence mask of {name!r} has {self.presence(name).size} entries for {n} shots")
        meta = np.asarray(self.metadata).reshape(-1)
        if meta.size != metadata_dim:
            raise ValueError(f"metadata has {meta.size} values, the model expects {metadata_dim}")

    @classmethod
    def from_columns(cls, columns: Mapping[str, Iterable[np.ndarray | Sequence[float] | None]],
                     modality_dims: Mapping[str, int], shot_durations_s: np.ndarray) -> TitleShots:
        """Build a title from nullable per-shot vector columns (what a pandas UDF receives).

        Args:
            columns: modality name -> one vector or ``None`` per shot, in shot order.
            modality_dims: the config's ``modality_dims`` (also fixes the metadata's modality order).
            shot_durations_s: ``(n,)`` shot lengths in seconds.

        Returns:
            The title, with metadata from :func:`title_metadata`.
        """
        embeddings, present = {}, {}
        for name, dim in modality_dims.items():
            embeddings[name], present[name] = stack_modality(columns[name], dim)
        meta = title_metadata(shot_durations_s, present, tuple(modality_dims))
        return cls(embeddings=embeddings, metadata=meta, present=present)


def shot_windows(n_shots: int, max_shots: int) -> list[tuple[int, int]]:
    """Split ``n_shots`` into contiguous windows the encoder sees one at a time.

    A title of up to ``max_shots`` shots is one window. A longer one is cut into
    ``ceil(n / max_shots)`` near-equal contiguous windows (sizes differ by at most one, larger ones
    first), so no window is a short tail with little context. Windows don't overlap: a shot sees
    only the shots of its own window.

    Returns:
        ``[(start, end), ...]`` with ``start`` inclusive and ``end`` exclusive, covering
        ``range(n_shots)`` in order; empty for ``n_shots == 0``.

    Raises:
        ValueError: ``max_shots < 1`` or ``n_shots < 0``.
    """
    if max_shots < 1 or n_shots < 0:
        raise ValueError(f"need max_shots >= 1 and n_shots >= 0, got {max_shots} and {n_shots}")
    if n_shots == 0:
        return []
    count = -(-n_shots // max_shots)
    base, extra = divmod(n_shots, count)
    out, start = [], 0
    for i in range(count):
        end = start + base + (1 if i < extra else 0)
        out.append((start, end))
        start = end
    return out
