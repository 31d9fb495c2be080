"""Scenes and chapters: a title's shots grouped into consecutive scenes, and its scenes into chapters
(numpy in, numpy out).

Conventions
    Shots are numbered ``0 .. n-1`` in time order. A grouping is given by its *starts*: the sorted
    shot indices at which a group begins, the first always 0; group ``g`` holds shots
    ``[starts[g], starts[g + 1])`` (the last ends at ``n``), so the groups tile the shots exactly.

Method
    Each shot gets one signal vector (:func:`shot_signal`): every modality (visual, audio and text
    embeddings) scaled to unit mean squared norm over the shots that have it, 0 where the shot
    lacks it (no pull either way), weighted; the modalities concatenated and the row scaled to unit
    norm, so the dot product of two shots' signals is a cosine. A scene grouping maximizes

        sum over scenes of  (sum over pairs of its shots, each pair twice, of their cosine) / (its shots)
        - penalty * kappa * (number of scenes)

    solved exactly by dynamic programming (:func:`optimal_partition`; optimal partitioning, Jackson et
    al. 2005, with the cohesion of a group in place of a least-squares cost, so a shot's similarity with
    itself counts for nothing and a one-shot scene gains nothing). Merging two neighbouring groups of
    ``p`` and ``q`` shots pays when ``2pq / (p + q)`` times their contrast (mean cosine within minus
    mean cosine across) is below ``penalty * kappa``. ``kappa`` (:func:`neighbour_similarity`) is the
    title's mean cosine of consecutive shots: the penalty is priced in the title's own similarity unit,
    so one setting serves weakly and strongly coherent embeddings, and a title that is one take (all
    shots alike) is not split on noise. A cut that a subtitle cue runs across (a line of dialogue
    continues over it, :func:`bridged_cuts`) never starts a scene. Chapters maximize the same cohesion
    with exactly :func:`chapter_count` groups whose starts are scene starts.

    Hand-written rather than ``ruptures``: its solvers cannot forbid some boundaries (the bridged cuts)
    nor restrict them to a subset of positions (chapters on scene starts); the recursion is 20 lines.
    A scene is at most :data:`MAX_SCENE_SHOTS` shots long (longer only where bridged cuts leave no
    other start), which bounds the work at ``O(n * MAX_SCENE_SHOTS * dim)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The longest scene considered, in shots.
MAX_SCENE_SHOTS = 400
#: The most chapters a title is given.
MAX_CHAPTERS = 12
#: The smallest unit of the scene penalty (:func:`neighbour_similarity`), a cosine.
MIN_NEIGHBOUR_SIMILARITY = 0.05
#: A subtitle cue bridges a cut when it runs at least this long on both sides of it, seconds.
BRIDGE_MARGIN_S = 0.25


@dataclass(frozen=True)
class Modality:
    """One input of :func:`shot_signal`.

    Attributes:
        vectors: ``(n, d)`` float, one row per shot (rows of absent shots are ignored).
        present: ``(n,)`` bool, the shots that have the modality; None: every shot.
        weight: its share of the signal (its squared scale), >= 0.
    """

    vectors: np.ndarray
    present: np.ndarray | None = None
    weight: float = 1.0


def shot_signal(modalities: Sequence[Modality]) -> tuple[np.ndarray, float]:
    """The per-shot signal the grouping is computed on (see the module's method), and its total weight.

    Returns:
        ``(signal, weight)``: ``(n, sum of d)`` float64, unit rows (all-zero for a shot with no
        modality), and the summed weight of the modalities some shot has (a modality no shot has, or
        with weight 0, adds nothing).

    Raises:
        ValueError: no modality, or modalities of different shot counts.
    """
    if not modalities:
        raise ValueError("no modality to group shots by")
    n = len(modalities[0].vectors)
    parts, total = [], 0.0
    for m in modalities:
        x = np.asarray(m.vectors, dtype=np.float64)
        if x.ndim != 2 or len(x) != n:
            raise ValueError(f"expected ({n}, d) vectors for every modality, got shape {x.shape}")
        present = np.ones(n, dtype=bool) if m.present is None else np.asarray(m.present, dtype=bool)
        if m.weight <= 0 or not present.any():
            continue
        z = np.where(present[:, None], x, 0.0)
        scale = math.sqrt(float((z[present] ** 2).sum(axis=1).mean()))
        if scale > 0:
            z *= math.sqrt(m.weight) / scale
        parts.append(z)
        total += m.weight
    if not parts:
        return np.zeros((n, 1)), 0.0
    x = np.concatenate(parts, axis=1)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0), total


def bridged_cuts(shot_starts_s: np.ndarray, cues_s: np.ndarray, margin_s: float = BRIDGE_MARGIN_S) -> np.ndarray:
    """Which cuts a subtitle cue runs across.

    Args:
        shot_starts_s: ``(n,)`` each shot's start time, seconds, ascending.
        cues_s: ``(m, 2)`` cue ``[start, end)`` times, seconds.
        margin_s: how far the cue must run on both sides of the cut.

    Returns:
        ``(n,)`` bool: ``True`` at shot ``i`` when a cue covers ``[start_i - margin, start_i + margin]``
        (shot 0: never).
    """
    starts = np.asarray(shot_starts_s, dtype=np.float64)
    out = np.zeros(len(starts), dtype=bool)
    cues = np.asarray(cues_s, dtype=np.float64).reshape(-1, 2)
    for lo, hi in cues:
        out |= (starts - margin_s >= lo) & (starts + margin_s <= hi)
    out[:1] = False
    return out


class _Gains:
    """Cohesion of a group of consecutive rows ``[i, j)``: the sum of its rows' pairwise dot products
    (each pair twice, no row with itself) over its size, from prefix sums."""

    def __init__(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        self.s = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
        self.q = np.concatenate([[0.0], np.cumsum((x * x).sum(axis=1))])
        self.s2 = (self.s * self.s).sum(axis=1)

    def to(self, i: np.ndarray, j: int) -> np.ndarray:
        """Cohesion of the groups ``[i, j)`` for an array of starts ``i < j``."""
        sq = self.s2[j] - 2.0 * (self.s[i] @ self.s[j]) + self.s2[i]
        return (sq - (self.q[j] - self.q[i])) / (j - i)


def optimal_partition(signal: np.ndarray, penalty: float, allowed: np.ndarray | None = None,
                      max_len: int = MAX_SCENE_SHOTS) -> np.ndarray:
    """The starts of the grouping of ``signal``'s rows maximizing the groups' cohesion (sum over a group's
    pairs of rows, each pair twice, of their dot product, over its size) minus ``penalty`` per group.

    Args:
        signal: ``(n, d)`` one row per shot, in order.
        penalty: the price of one more group, >= 0 (same units as the dot products).
        allowed: ``(n,)`` bool, where a group may start (index 0 always may); None: everywhere.
        max_len: the longest group considered, in rows (longer only where ``allowed`` leaves no start).

    Returns:
        int64 starts, ascending, beginning with 0 (empty for ``n == 0``).
    """
    n = len(signal)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ok = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool).copy()
    ok[0] = True
    starts = np.flatnonzero(ok)
    gains = _Gains(signal)
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    back = np.zeros(n + 1, dtype=np.int64)
    for j in range(1, n + 1):
        hi = np.searchsorted(starts, j)  # starts < j
        lo = np.searchsorted(starts, j - max_len)
        cand = starts[max(0, min(lo, hi - 1)):hi]
        total = best[cand] - gains.to(cand, j) + penalty
        k = int(np.argmin(total))
        best[j], back[j] = total[k], cand[k]
    out = []
    j = n
    while j > 0:
        j = int(back[j])
        out.append(j)
    return np.asarray(out[::-1], dtype=np.int64)


def partition_into(signal: np.ndarray, positions: np.ndarray, groups: int) -> np.ndarray:
    """The starts of the grouping of ``signal``'s rows into exactly ``groups`` groups starting at some of
    ``positions``, maximizing the groups' cohesion (as :func:`optimal_partition`).

    Args:
        signal: ``(n, d)``.
        positions: the allowed starts, ascending, beginning with 0 (e.g. scene starts).
        groups: how many groups, ``1 <= groups <= len(positions)``.

    Raises:
        ValueError: ``groups`` out of range, or positions not starting at 0.
    """
    pos = np.asarray(positions, dtype=np.int64)
    if len(pos) == 0 or pos[0] != 0:
        raise ValueError("positions must start with 0")
    if not 1 <= groups <= len(pos):
        raise ValueError(f"groups must be in [1, {len(pos)}], got {groups}")
    n = len(signal)
    ends = np.append(pos, n)
    gains = _Gains(signal)
    m = len(pos)
    cost = np.full((m + 1, m + 1), np.inf)  # cost[a, b]: group from ends[a] to ends[b]
    for b in range(1, m + 1):
        cost[:b, b] = -gains.to(ends[:b], int(ends[b]))
    best = cost[0].copy()  # one group: [0, ends[b])
    backs = []
    for _ in range(1, groups):
        total = best[:, None] + cost
        back = np.argmin(total, axis=0)
        best = total[back, np.arange(m + 1)]
        backs.append(back)
    out, b = [], m
    for back in reversed(backs):
        b = int(back[b])
        out.append(int(ends[b]))
    return np.asarray([0, *out[::-1]], dtype=np.int64)


def neighbour_similarity(signal: np.ndarray) -> float:
    """The title's typical similarity of consecutive shots: the mean cosine of each shot's signal with the
    next one's, at least :data:`MIN_NEIGHBOUR_SIMILARITY` (a one-shot title: that floor). The scene
    penalty is priced in this unit, so one setting serves weakly and strongly coherent catalogs."""
    if len(signal) < 2:
        return MIN_NEIGHBOUR_SIMILARITY
    return max(float((signal[1:] * signal[:-1]).sum(axis=1).mean()), MIN_NEIGHBOUR_SIMILARITY)


def chapter_count(scenes: int) -> int:
    """How many chapters a title of ``scenes`` scenes gets: about the square root of its scene count
    (a 150-scene film: 12; 20 scenes: 4; 1-2 scenes: 1), at most :data:`MAX_CHAPTERS`."""
    return max(1, min(MAX_CHAPTERS, scenes, round(math.sqrt(scenes))))


@dataclass(frozen=True)
class SceneParams:
    """How scenes are found (the scenes feature's version parameters).

    Attributes:
        penalty: the price of one more scene, in units of the title's mean cosine of consecutive shots
            (tuned on real footage composed into known scenes from the tuning sources, ``benchmarks/scenes.py``).
        weights: modality name -> weight in the signal.
        bridge_margin_s: see :func:`bridged_cuts`; 0 turns the subtitle rule off.
    """

    penalty: float = 0.05
    weights: tuple[tuple[str, float], ...] = (("visual", 0.5), ("audio", 0.25), ("text", 0.25))
    bridge_margin_s: float = BRIDGE_MARGIN_S


@dataclass(frozen=True)
class Grouping:
    """Scenes and chapters of one title, as starts (see the module's conventions)."""

    scenes: np.ndarray
    chapters: np.ndarray


def group_shots(modalities: dict[str, Modality], shot_starts_s: np.ndarray, cues_s: np.ndarray,
                params: SceneParams = SceneParams()) -> Grouping:
    """Scenes and chapters of one title.

    Args:
        modalities: name -> its vectors; names outside ``params.weights`` are ignored.
        shot_starts_s: ``(n,)`` shot start times, seconds.
        cues_s: ``(m, 2)`` subtitle cue ``[start, end)`` times, seconds (may be empty).

    Raises:
        ValueError: no shots, or the modalities' shot counts differ from ``shot_starts_s``.
    """
    n = len(shot_starts_s)
    if n == 0:
        raise ValueError("a title without shots has no scenes")
    weights = dict(params.weights)
    used = [Modality(m.vectors, m.present, weights[name]) for name, m in modalities.items() if name in weights]
    if any(len(m.vectors) != n for m in used):
        raise ValueError(f"every modality must have one row per shot ({n})")
    signal, _ = shot_signal(used) if used else (np.zeros((n, 1)), 0.0)
    allowed = ~bridged_cuts(shot_starts_s, cues_s, params.bridge_margin_s) if params.bridge_margin_s > 0 else None
    scenes = optimal_partition(signal, params.penalty * neighbour_similarity(signal), allowed)
    chapters = partition_into(signal, scenes, chapter_count(len(scenes)))
    return Grouping(scenes, chapters)


def starts_to_boundaries(starts: np.ndarray) -> set[int]:
    """The boundaries of a grouping: its starts but 0 (the shot indices where a new group begins)."""
    return {int(s) for s in starts if s != 0}


def boundary_f1(found: set[int], truth: set[int]) -> tuple[float, float, float]:
    """Precision, recall and F1 of found boundaries against true ones (exact shot index; a title with no
    true and no found boundary scores 1)."""
    hit = len(found & truth)
    p = hit / len(found) if found else 1.0
    r = hit / len(truth) if truth else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
