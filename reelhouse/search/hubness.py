"""Hubs in nearest-neighbour search, and the scores that stop them winning everywhere.

In high dimensions a few points lie near the centre of the data and are everyone's nearest
neighbour ("hubs"). A match-cut list ranked by raw cosine then shows one shot paired over and over.
Cross-domain similarity local scaling (CSLS; Conneau et al., "Word translation without parallel
data", ICLR 2018) discounts each side by how close it is to everything around it:

    csls(x, y) = 2 cos(x, y) - r(x) - r(y)

where ``r(x)`` is the mean cosine of ``x`` to its ``k`` nearest neighbours among the compared shots
(not itself). Its values lie in ``[-4, 4]``; higher is better; a pair of two "ordinary" shots keeps
about its cosine minus the local density, a pair with a hub loses the hub's high density.

All vectors are L2-normalized rows (cosine = inner product). ``k_occurrence`` and ``skewness``
measure hubness: how many top-``k`` lists each shot is in, and the third standardized moment of
that count (0 for a symmetric spread; large and positive when a few shots are in very many lists).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["DENSITY_K", "csls", "k_occurrence", "local_density", "pair_percentiles", "skewness"]

#: Neighbours averaged for each shot's local density ``r`` (the CSLS paper's k = 10).
DENSITY_K = 10


def local_density(scores: np.ndarray, rows: np.ndarray, own_rows: np.ndarray, k: int = DENSITY_K) -> np.ndarray:
    """Each query's mean cosine to its ``k`` nearest neighbours other than itself.

    Args:
        scores: ``(m, f)`` cosines of each query's neighbours, best first (a faiss search).
        rows: ``(m, f)`` the neighbours' rows (-1 = none).
        own_rows: ``(m,)`` each query's own row, left out of its neighbours.
        k: neighbours averaged; a query with fewer found averages what it has (0.0 when none).

    Returns:
        ``(m,)`` float32 densities.
    """
    valid = (rows >= 0) & (rows != own_rows[:, None])
    taken = np.cumsum(valid, axis=1)
    use = valid & (taken <= k)
    count = use.sum(axis=1)
    total = np.where(use, scores, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)


def csls(cosine: np.ndarray, density_a: np.ndarray, density_b: np.ndarray) -> np.ndarray:
    """``2 cos - r(a) - r(b)``, elementwise (broadcasting), float32."""
    return (2.0 * np.asarray(cosine, np.float32) - np.asarray(density_a, np.float32)
            - np.asarray(density_b, np.float32)).astype(np.float32)


def k_occurrence(rows: np.ndarray, n: int) -> np.ndarray:
    """How many of the ``(m, k)`` neighbour lists ``rows`` (-1 = none) name each of the ``n`` shots."""
    flat = rows[rows >= 0].ravel()
    return np.bincount(flat, minlength=n).astype(np.int64)


def skewness(values: np.ndarray) -> float:
    """Third standardized moment (population), 0.0 for constant or fewer than 3 values."""
    x = np.asarray(values, np.float64)
    if len(x) < 3:
        return 0.0
    sd = x.std()
    if sd == 0:
        return 0.0
    return float(np.mean(((x - x.mean()) / sd) ** 3))


def pair_percentiles(vectors: np.ndarray, cosines: np.ndarray, samples: int = 50_000, seed: int = 0,
                     allowed: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                     matrix: np.ndarray | None = None) -> np.ndarray:
    """Where each cosine stands among the cosines of the pairs of distinct rows of ``vectors``, in [0, 100].

    ``allowed(i, j)`` (row arrays -> bool array) keeps only the pairs that could be candidates (for
    example: across titles only); None keeps every pair. The pairs are sampled (about ``samples``
    allowed pairs, fixed ``seed``, so a selection always gets the same figures); all of them are
    used when there are fewer. 99.9 means more similar than 99.9% of those pairs; 100.0 for every
    cosine when no pair is allowed. ``matrix``: the rows' ``(n, n)`` cosines, when already computed
    (read instead of gathering the sampled rows' vectors).
    """
    n = len(vectors)
    cos = np.asarray(cosines, np.float64)
    if n < 2:
        return np.full(cos.shape, 100.0)
    if n * (n - 1) // 2 <= samples:
        i, j = np.triu_indices(n, 1)
        if allowed is not None:
            keep = allowed(i, j)
            i, j = i[keep], j[keep]
    else:
        rng = np.random.default_rng(seed)
        parts_i, parts_j, found = [], [], 0
        for _ in range(20):  # rejection rounds: enough unless allowed pairs are very rare
            a = rng.integers(0, n, samples)
            b = (a + rng.integers(1, n, samples)) % n  # never a itself
            if allowed is not None:
                keep = allowed(a, b)
                a, b = a[keep], b[keep]
            parts_i.append(a)
            parts_j.append(b)
            found += len(a)
            if found >= samples:
                break
        i, j = np.concatenate(parts_i)[:samples], np.concatenate(parts_j)[:samples]
    if len(i) == 0:
        return np.full(cos.shape, 100.0)
    if matrix is not None:
        return _share_below(matrix[i, j].astype(np.float64), cos)
    chunk = 8192  # bounds the gathered rows' memory (chunk x d floats per side)
    sims = np.concatenate([np.einsum("nd,nd->n", vectors[i[lo:lo + chunk]], vectors[j[lo:lo + chunk]])
                           for lo in range(0, len(i), chunk)]).astype(np.float64)
    return _share_below(sims, cos)


def _share_below(sims: np.ndarray, cos: np.ndarray) -> np.ndarray:
    """100 x the share of ``sims`` strictly below each of ``cos``: counted directly for a few cosines
    (a page of pairs), through one sort for many."""
    if cos.size * sims.size <= 1 << 22:
        below = np.count_nonzero(sims[None, :] < cos.reshape(-1, 1), axis=1).reshape(cos.shape)
    else:
        below = np.searchsorted(np.sort(sims), cos, side="left")
    return 100.0 * below / len(sims)
