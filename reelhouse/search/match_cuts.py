"""Match-cut candidates: shots that look (or sound) alike, across any titles an editor picks.

A *flavor* names the similarity: ``framing`` (low-resolution edge layout: composition), ``colour``
(HSV histogram), ``visual`` (EfficientNet-Lite0 content) and ``audio`` (aisfx). Candidates for a
selection of titles are computed at query time from their stored embeddings, so any subset of a
catalog is served without precomputing pairs:

- each shot's top-``k`` most similar shots among the selection (cosine similarity, faiss: exact
  inner product up to ``ann.EXACT_MAX`` shots, HNSW above);
- never the shot itself, nor a shot of the same title within ``min_gap`` shots of it (adjacent shots
  of one scene are trivially alike), nor a near-duplicate (visual cosine >= ``dup_threshold``: the
  same footage is not a match cut);
- ``scope`` keeps pairs within a title, across titles, or both.

Shots are ``(video_id, shot_index)``; scores are cosine similarities in ``[-1, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import faiss
import numpy as np
from pyiceberg.expressions import And, EqualTo, In

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.lakehouse import FeatureStore
from reelhouse.pipeline import specs
from reelhouse.search.ann import EXACT_MAX, build_index

#: Flavor name -> the shot-embedding feature it compares.
FLAVORS: dict[str, Callable[[Settings], FeatureSpec]] = specs.MATCH_CUT_FLAVORS

Scope = Literal["all", "within", "across"]


class UnknownFlavor(ValueError):
    """A flavor name that is not in ``FLAVORS``."""


def flavor_spec(settings: Settings, flavor: str) -> FeatureSpec:
    """The feature a flavor compares.

    Raises:
        UnknownFlavor: with the known flavors.
    """
    if flavor not in FLAVORS:
        raise UnknownFlavor(f"unknown flavor {flavor!r}; flavors: {', '.join(FLAVORS)}")
    return FLAVORS[flavor](settings)


@dataclass(frozen=True)
class ShotVectors:
    """L2-normalized vectors of shots, rows ordered by ``(video_id, shot_index)``."""

    video_ids: np.ndarray  # object (str), shape (n,)
    shot_indices: np.ndarray  # int64, shape (n,)
    vectors: np.ndarray  # float32, shape (n, d)

    def __len__(self) -> int:
        return len(self.video_ids)

    def keys(self) -> list[tuple[str, int]]:
        return [(str(v), int(s)) for v, s in zip(self.video_ids, self.shot_indices)]


def load_shot_vectors(store: FeatureStore, spec: FeatureSpec, video_ids: Sequence[str]) -> ShotVectors:
    """The stored vectors of ``spec`` (its current version) for the shots of ``video_ids`` that have one."""
    ids = sorted(set(video_ids))
    if not ids:
        return ShotVectors(np.array([], dtype=object), np.array([], dtype=np.int64), np.zeros((0, 0), np.float32))
    title_filter = EqualTo("video_id", ids[0]) if len(ids) == 1 else In("video_id", ids)
    rows = store.read("shot_embeddings",
                      And(And(EqualTo("feature", spec.name), EqualTo("feature_version", spec.version)), title_filter),
                      selected_fields=("video_id", "shot_index", "has_embedding", "embedding"))
    rows = rows.filter(rows.column("has_embedding")).sort_by([("video_id", "ascending"), ("shot_index", "ascending")])
    emb = rows.column("embedding").combine_chunks()
    dim = emb.type.list_size if hasattr(emb.type, "list_size") else (len(emb[0]) if len(emb) else 0)
    flat = emb.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    vectors = flat.reshape(len(rows), dim) if len(rows) else np.zeros((0, dim), np.float32)
    return ShotVectors(np.asarray(rows.column("video_id").to_pylist(), dtype=object),
                       rows.column("shot_index").to_numpy().astype(np.int64), np.ascontiguousarray(vectors))


@dataclass(frozen=True)
class MatchCut:
    """A candidate: shot ``(video_id, shot_index)`` cuts to ``(other_video_id, other_shot_index)``."""

    video_id: str
    shot_index: int
    other_video_id: str
    other_shot_index: int
    score: float
    rank: int  # 1-based among the query shot's candidates


def match_cut_candidates(shots: ShotVectors, k: int = 10, guard: ShotVectors | None = None,
                         dup_threshold: float = 0.95, min_gap: int = 1, scope: Scope = "all",
                         exact_max: int = EXACT_MAX) -> list[MatchCut]:
    """Each shot's top-``k`` match-cut candidates among ``shots``.

    Args:
        shots: the flavor's vectors for the selected titles.
        k: candidates per shot.
        guard: visual vectors of the same shots; a pair whose visual cosine is at least
            ``dup_threshold`` is a near-duplicate and never pairs. Without it, no pair is dropped as a
            near-duplicate.
        min_gap: within a title, shots at most this many shots apart never pair.
        scope: ``all`` pairs, only ``within`` a title, or only ``across`` titles.
        exact_max: up to this many shots the search is exact; above, HNSW.

    Returns:
        Candidates ordered by query shot, then rank.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    n = len(shots)
    if n < 2:
        return []
    dup = _Guard.aligned(guard, shots, dup_threshold) if guard is not None else None
    index = build_index(shots.vectors, exact_max=exact_max)
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = max(128, 4 * k)
    fetch = min(n, k + 2 * min_gap + 8)
    found: dict[int, list[tuple[int, float]]] = {}
    pending = np.arange(n)
    while len(pending):
        scores, rows = index.search(shots.vectors[pending], fetch)
        short = []
        for q, srow, rrow in zip(pending, scores, rows):
            keep = _filter(int(q), rrow, srow, shots, dup, min_gap, scope, k)
            if len(keep) < k and fetch < n and np.count_nonzero(rrow >= 0) == fetch:
                short.append(q)  # exclusions ate the candidates: look further for this shot
            else:
                found[int(q)] = keep
        pending = np.asarray(short, dtype=np.int64)
        fetch = min(n, fetch * 4)
    out = []
    for q in range(n):
        for rank, (r, s) in enumerate(found.get(q, []), 1):
            out.append(MatchCut(str(shots.video_ids[q]), int(shots.shot_indices[q]), str(shots.video_ids[r]),
                                int(shots.shot_indices[r]), float(s), rank))
    return out


def _filter(q: int, rows: np.ndarray, scores: np.ndarray, shots: ShotVectors, dup: _Guard | None,
            min_gap: int, scope: Scope, k: int) -> list[tuple[int, float]]:
    """The first ``k`` of one shot's neighbours that may pair with it, as ``(row, score)``."""
    keep: list[tuple[int, float]] = []
    vq, sq = shots.video_ids[q], shots.shot_indices[q]
    for r, s in zip(rows, scores):
        if r < 0 or r == q:
            continue
        same = shots.video_ids[r] == vq
        if (scope == "within" and not same) or (scope == "across" and same):
            continue
        if same and abs(int(shots.shot_indices[r]) - int(sq)) <= min_gap:
            continue
        if dup is not None and dup.duplicates(q, int(r)):
            continue
        keep.append((int(r), float(s)))
        if len(keep) == k:
            break
    return keep


@dataclass(frozen=True)
class _Guard:
    """Near-duplicate guard: each shot's row in ``vectors`` (-1 when it has no guard vector)."""

    rows: np.ndarray
    vectors: np.ndarray
    threshold: float

    @classmethod
    def aligned(cls, guard: ShotVectors, shots: ShotVectors, threshold: float) -> _Guard:
        where = {key: i for i, key in enumerate(guard.keys())}
        return cls(np.asarray([where.get(key, -1) for key in shots.keys()], dtype=np.int64), guard.vectors, threshold)

    def duplicates(self, q: int, r: int) -> bool:
        a, b = self.rows[q], self.rows[r]
        return bool(a >= 0 and b >= 0 and float(self.vectors[a] @ self.vectors[b]) >= self.threshold)


def top_pairs(candidates: Sequence[MatchCut], n: int) -> list[MatchCut]:
    """The ``n`` best distinct pairs (a pair and its mirror count once), best first."""
    best: dict[tuple, MatchCut] = {}
    for c in candidates:
        a, b = (c.video_id, c.shot_index), (c.other_video_id, c.other_shot_index)
        key = (a, b) if a <= b else (b, a)
        if key not in best or c.score > best[key].score:
            best[key] = c
    return sorted(best.values(), key=lambda c: (-c.score, c.video_id, c.shot_index))[:n]


@dataclass(frozen=True)
class MatchCutSearch:
    """Match-cut candidates for a selection of titles in one flavor."""

    flavor: str
    feature: str
    feature_version: str
    video_ids: list[str]
    shots_compared: int
    pairs: list[MatchCut]


def find_match_cuts(store: FeatureStore, settings: Settings, video_ids: Sequence[str], flavor: str = "framing",
                    n_pairs: int = 20, per_shot: int = 10, scope: Scope = "all", min_gap: int = 1,
                    dup_threshold: float | None = None) -> MatchCutSearch:
    """The ``n_pairs`` best distinct match-cut pairs among ``video_ids`` (query time, nothing precomputed).

    Near-duplicates are judged on the visual embeddings (``models.dedup.DEFAULT_THRESHOLD`` unless
    ``dup_threshold`` is given).
    """
    from models.dedup import DEFAULT_THRESHOLD

    spec = flavor_spec(settings, flavor)
    shots = load_shot_vectors(store, spec, video_ids)
    visual = specs.visual_spec(settings)
    guard = shots if spec.name == visual.name else load_shot_vectors(store, visual, video_ids)
    cands = match_cut_candidates(shots, per_shot, guard, DEFAULT_THRESHOLD if dup_threshold is None else dup_threshold,
                                 min_gap, scope)
    return MatchCutSearch(flavor, spec.name, spec.version, sorted(set(video_ids)), len(shots), top_pairs(cands, n_pairs))
