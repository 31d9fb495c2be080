"""Near-duplicate shot groups from L2-normalized embeddings (numpy in, numpy out).

Two shots are near-duplicates when the cosine similarity of their embeddings is at least
``threshold``; groups are the connected components of that relation, and each group is represented by
its earliest shot (the smallest shot index).
"""

from __future__ import annotations

import numpy as np

#: Default cosine threshold for near-duplicate visual embeddings.
DEFAULT_THRESHOLD = 0.95


def near_duplicate_groups(embeddings: np.ndarray, threshold: float = DEFAULT_THRESHOLD,
                          block: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Group rows of ``embeddings`` (``(N, D)``, L2-normalized, in shot order).

    Args:
        embeddings: one row per shot, rows in ascending shot order.
        threshold: cosine similarity at or above which two shots are near-duplicates, in ``(0, 1]``.
        block: rows compared at a time (bounds memory at ``block * N`` floats).

    Returns:
        ``(group, similarity)``: for each row, the row index of its group's earliest member, and its
        cosine similarity to that member (1.0 for the member itself).

    Raises:
        ValueError: on a threshold outside ``(0, 1]`` or a non-2-D input.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected (N, D) embeddings, got shape {x.shape}")
    n = len(x)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for lo in range(0, n, block):
        sims = x[lo : lo + block] @ x.T
        rows, cols = np.nonzero(sims >= threshold)
        for r, c in zip(rows + lo, cols):
            if c > r:
                a, b = find(int(r)), find(int(c))
                if a != b:
                    parent[max(a, b)] = min(a, b)  # the root is always the earliest shot
    group = np.array([find(i) for i in range(n)], dtype=np.int64)
    similarity = np.einsum("ij,ij->i", x, x[group]) if n else np.zeros(0, np.float32)
    return group, similarity.astype(np.float32)
