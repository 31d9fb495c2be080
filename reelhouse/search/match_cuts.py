"""Match-cut candidates: shots that look (or sound) alike, across any titles an editor picks.

A *flavor* names the similarity: the per-shot embedding compared, by its feature name
(``registry.flavors``): ``visual`` (EfficientNet-Lite0 embeddings: framing and what is in the
frame), ``layout`` (16x9 Sobel edge layout), ``colour`` (HSV histogram), ``audio`` (aisfx) and
``contextual`` (the encoder trained on the catalog).
``benchmarks/match_cuts.py`` measures which feature finds shots that share framing by construction:
the EfficientNet embedding does, far better than the edge layout. Candidates for a
selection of titles are computed at query time from their stored embeddings, so any subset of a
catalog is served without precomputing pairs:

- each shot's top-``k`` most similar shots among the selection (cosine similarity: read from the
  selection's full cosine matrix up to ``MATRIX_MAX`` shots, one matrix product that the near-duplicate
  guard and the percentiles read too; above, faiss: exact inner product up to ``ann.EXACT_MAX`` shots,
  IVF beyond);
- never the shot itself, nor a shot of the same title within ``min_gap`` shots of it (adjacent shots
  of one scene are trivially alike), nor a near-duplicate (visual cosine >= ``dup_threshold``: the
  same footage is not a match cut);
- ``scope`` keeps pairs within a title, across titles, or both;
- ``rerank``: candidates ranked by raw cosine, or by CSLS (``reelhouse.search.hubness``: the cosine
  discounted by both shots' local density, so a "hub" shot near everything stops being everyone's
  best match). CSLS is computed for every candidate either way.

Shots are ``(video_id, shot_index)``; scores are cosine similarities in ``[-1, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

import faiss
import numpy as np
from pyiceberg.expressions import And, EqualTo, In

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec, registry, specs
from reelhouse.lakehouse import FeatureStore
from reelhouse.search.ann import EXACT_MAX, build_index
from reelhouse.search.hubness import DENSITY_K, csls, local_density, pair_percentiles

#: Flavor name (a feature name) -> the shot-embedding feature it compares.
FLAVORS: dict[str, Callable[[Settings], FeatureSpec]] = registry.flavors()

Scope = Literal["all", "within", "across"]
#: What ranks a shot's candidates: raw cosine, or CSLS (hub-aware; ``reelhouse.search.hubness``).
Rerank = Literal["cosine", "csls"]
#: Under CSLS, each shot's candidates are re-ranked among this many times ``k`` cosine neighbours.
CSLS_POOL = 4
#: Up to this many shots, a selection is compared through its full cosine matrix
#: (``ShotVectors.cosines``: one matrix product, n x n float32, 64 MiB at 4,096): the neighbour search,
#: the near-duplicate guard and the percentiles all read it, where gathering rows for each of them cost
#: 7x more at 1,000 x 1280-d (measured 210 -> 30 ms, one thread). Above, a faiss index and gathered dot
#: products, in bounded memory.
MATRIX_MAX = 4096


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

    @cached_property
    def cosines(self) -> np.ndarray:
        """``(n, n)`` float32: the cosine of every pair of rows (one matrix product, computed once and kept
        with these vectors; meant for ``n <= MATRIX_MAX``)."""
        return self.vectors @ self.vectors.T

    def small_cosines(self) -> np.ndarray | None:
        """``cosines`` where these rows are few enough to hold them (at most ``MATRIX_MAX``), else None:
        the one place that decides whether a search reads the matrix."""
        return self.cosines if len(self) <= MATRIX_MAX else None

    def title_codes(self) -> np.ndarray:
        """Each row's title as a small integer (int64, shape (n,)): equal codes, same title."""
        return np.unique(self.video_ids, return_inverse=True)[1].astype(np.int64)


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


#: Where :func:`find_match_cuts` gets vectors: ``(spec, video_ids) -> ShotVectors`` (as :func:`load_shot_vectors`).
VectorSource = Callable[[FeatureSpec, Sequence[str]], ShotVectors]


@dataclass(frozen=True)
class MatchCut:
    """A candidate: shot ``(video_id, shot_index)`` cuts to ``(other_video_id, other_shot_index)``."""

    video_id: str
    shot_index: int
    other_video_id: str
    other_shot_index: int
    score: float  # cosine similarity, [-1, 1]
    rank: int  # 1-based among the query shot's candidates
    csls: float = float("nan")  # hub-aware score 2 cos - r(a) - r(b), [-4, 4] (reelhouse.search.hubness)
    percentile: float | None = None  # where the cosine stands among all pairs of the compared shots, [0, 100]


@dataclass(frozen=True)
class CandidateArrays:
    """Candidates as parallel arrays of rows into the ``ShotVectors`` they came from."""

    query: np.ndarray  # int64 row of the query shot
    other: np.ndarray  # int64 row of the candidate
    score: np.ndarray  # float32 cosine
    rank: np.ndarray  # int32, 1-based within the query shot (by ``ranked_by``)
    csls: np.ndarray  # float32 2 cos - r(query) - r(other), in [-4, 4]
    ranked_by: Rerank = "cosine"

    def key(self) -> np.ndarray:
        """The score candidates are ranked by (higher is better)."""
        return self.csls if self.ranked_by == "csls" else self.score


def candidate_arrays(shots: ShotVectors, k: int = 10, guard: ShotVectors | None = None, dup_threshold: float = 0.95,
                     min_gap: int = 1, scope: Scope = "all", exact_max: int = EXACT_MAX, block: int = 1024,
                     rerank: Rerank = "cosine", density_k: int = DENSITY_K) -> CandidateArrays:
    """Each shot's top-``k`` match-cut candidates among ``shots``, as arrays (see ``match_cut_candidates``).

    Every shot's local density (mean cosine to its ``density_k`` nearest other shots, before any
    exclusion) comes from the same search. Under ``rerank="csls"`` the allowed candidates among each
    shot's ``CSLS_POOL * k`` nearest by cosine are ranked by CSLS and the best ``k`` kept.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    if rerank not in ("cosine", "csls"):
        raise ValueError(f"rerank must be cosine or csls, got {rerank!r}")
    n = len(shots)
    empty = CandidateArrays(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32),
                            np.zeros(0, np.int32), np.zeros(0, np.float32), rerank)
    if n < 2:
        return empty
    titles = shots.title_codes()
    dup = _Guard.aligned(guard, shots, dup_threshold) if guard is not None else None
    if (matrix := shots.small_cosines()) is not None:
        def neighbours(rows: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
            return top_k(matrix[rows], fetch)
    else:
        index = build_index(shots.vectors, exact_max=exact_max)

        def neighbours(rows: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
            return index.search(shots.vectors[rows], fetch)  # one call: faiss batches best
    pool = k * CSLS_POOL if rerank == "csls" else k
    density = np.zeros(n, np.float32)
    parts: list[tuple[np.ndarray, ...]] = []
    pending, fetch = np.arange(n, dtype=np.int64), min(n, max(pool + 2 * min_gap + 8, density_k + 1))
    first = True
    while len(pending):
        short = []
        all_scores, all_rows = neighbours(pending, fetch)
        if first:  # every shot is searched in the first pass, deep enough for its density
            density[pending] = local_density(all_scores, all_rows, pending, density_k)
            first = False
        for lo in range(0, len(pending), block):  # blocks bound the near-duplicate guard's memory
            q, scores, rows = pending[lo:lo + block], all_scores[lo:lo + block], all_rows[lo:lo + block]
            valid = _allowed(q, rows, titles, shots.shot_indices, dup, min_gap, scope)
            taken = np.cumsum(valid, axis=1)
            exhausted = (taken[:, -1] < pool) & (fetch < n) & (rows >= 0).all(axis=1)
            short.append(q[exhausted])  # exclusions ate the candidates: look further for these shots
            keep = valid & (taken <= pool) & ~exhausted[:, None]
            others = np.where(keep, rows, 0)
            hub_aware = csls(scores, density[q][:, None], density[others])
            if rerank == "csls":  # order the kept pool by CSLS; the best k stay
                order = np.argsort(np.where(keep, -hub_aware, np.inf), axis=1, kind="stable")
                keep, rows, scores, hub_aware = (np.take_along_axis(a, order, axis=1) for a in (keep, rows, scores, hub_aware))
                taken = np.cumsum(keep, axis=1)
                keep &= taken <= k
            qi, col = np.nonzero(keep)
            parts.append((q[qi], rows[qi, col], scores[qi, col], taken[qi, col].astype(np.int32), hub_aware[qi, col]))
        pending, fetch = np.concatenate(short), min(n, fetch * 4)
    if not parts:
        return empty
    query, other, score, rank, hub = (np.concatenate(c) for c in zip(*parts))
    order = np.lexsort((rank, query))
    return CandidateArrays(query[order], other[order], score[order].astype(np.float32), rank[order],
                           hub[order].astype(np.float32), rerank)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` highest ``scores`` (``(m, n)`` float32, ``k <= n``) and their columns (int64),
    best first: faiss's heap (``faiss.ResultHeap``), as an exact faiss search answers ``(scores, rows)``."""
    m, n = scores.shape
    heap = faiss.ResultHeap(m, k, keep_max=True)
    heap.add_result_subset(np.arange(m, dtype=np.int64), np.ascontiguousarray(scores, dtype=np.float32),
                           np.arange(n, dtype=np.int64))  # 1-d ids: the same columns for every row
    heap.finalize()
    return heap.D, heap.I


def _allowed(q: np.ndarray, rows: np.ndarray, titles: np.ndarray, shot_indices: np.ndarray, dup: _Guard | None,
             min_gap: int, scope: Scope) -> np.ndarray:
    """Which of the queries' neighbours (``rows``, -1 = none) may pair with them."""
    valid = (rows >= 0) & (rows != q[:, None])
    r = np.where(valid, rows, 0)
    valid &= _could_pair(titles, shot_indices, q[:, None], r, min_gap, scope)
    if dup is not None:
        valid &= ~dup.duplicates(q, r)
    return valid


def _could_pair(titles: np.ndarray, shot_indices: np.ndarray, a: np.ndarray, b: np.ndarray, min_gap: int,
                scope: Scope) -> np.ndarray:
    """Whether rows ``a`` and ``b`` (broadcast together) may pair by ``scope`` and ``min_gap`` (not
    judging sameness or near-duplicates)."""
    same = titles[a] == titles[b]
    keep = ~(same & (np.abs(shot_indices[a] - shot_indices[b]) <= min_gap))
    if scope == "within":
        keep &= same
    elif scope == "across":
        keep &= ~same
    return keep


def match_cut_candidates(shots: ShotVectors, k: int = 10, guard: ShotVectors | None = None,
                         dup_threshold: float = 0.95, min_gap: int = 1, scope: Scope = "all",
                         exact_max: int = EXACT_MAX, rerank: Rerank = "cosine") -> list[MatchCut]:
    """Each shot's top-``k`` match-cut candidates among ``shots``.

    Args:
        shots: the flavor's vectors for the selected titles.
        k: candidates per shot.
        guard: visual vectors of the same shots; a pair whose visual cosine is at least
            ``dup_threshold`` is a near-duplicate and never pairs. Without it, no pair is dropped as a
            near-duplicate.
        min_gap: within a title, shots at most this many shots apart never pair.
        scope: ``all`` pairs, only ``within`` a title, or only ``across`` titles.
        exact_max: up to this many shots the search is exact; above, approximate (IVF, ``ann.build_index``).
        rerank: rank each shot's candidates by raw ``cosine`` or by ``csls`` (hub-aware).

    Returns:
        Candidates ordered by query shot, then rank; each carries its cosine and its CSLS.
    """
    c = candidate_arrays(shots, k, guard, dup_threshold, min_gap, scope, exact_max, rerank=rerank)
    return _as_match_cuts(shots, c, np.arange(len(c.query)))


def _as_match_cuts(shots: ShotVectors, c: CandidateArrays, which: np.ndarray) -> list[MatchCut]:
    vids, idx = shots.video_ids, shots.shot_indices
    return [MatchCut(str(vids[c.query[i]]), int(idx[c.query[i]]), str(vids[c.other[i]]), int(idx[c.other[i]]),
                     float(c.score[i]), int(c.rank[i]), float(c.csls[i])) for i in which]


def best_pairs(shots: ShotVectors, c: CandidateArrays, n: int, max_per_shot: int | None = None) -> list[MatchCut]:
    """The ``n`` best distinct pairs among candidates, best first by ``c.key()`` (a pair and its mirror
    count once), each shot in at most ``max_per_shot`` of them, as either side (None: no limit)."""
    lo, hi = np.minimum(c.query, c.other), np.maximum(c.query, c.other)
    order = np.lexsort((c.query, -c.key()))
    _, first = np.unique((lo * len(shots) + hi)[order], return_index=True)
    ranked = order[np.sort(first)]
    if max_per_shot is None:
        chosen_rows = ranked[:n]
    else:
        chosen_rows = _varied(c, ranked, n, max_per_shot, len(shots))
    return _as_match_cuts(shots, c, chosen_rows)


def with_percentiles(shots: ShotVectors, pairs: Sequence[MatchCut], scope: Scope = "all",
                     min_gap: int = 1) -> list[MatchCut]:
    """``pairs`` with their ``percentile`` (``cosine_percentiles`` of their cosines)."""
    pct = cosine_percentiles(shots, np.asarray([p.score for p in pairs], np.float64), scope, min_gap)
    return [replace(p, percentile=float(x)) for p, x in zip(pairs, pct)]


def cosine_percentiles(shots: ShotVectors, cosines: np.ndarray, scope: Scope = "all", min_gap: int = 1) -> np.ndarray:
    """Where each cosine stands among the cosines of every pair of ``shots`` that could be a candidate
    (in ``scope``, not within ``min_gap`` shots of one title), in [0, 100] (``pair_percentiles``)."""
    titles, idx = shots.title_codes(), shots.shot_indices
    return pair_percentiles(shots.vectors, cosines,
                            allowed=lambda i, j: _could_pair(titles, idx, i, j, min_gap, scope),
                            matrix=shots.small_cosines())


def _varied(c: CandidateArrays, ranked: np.ndarray, n: int, max_per_shot: int, n_shots: int) -> np.ndarray:
    """The first ``n`` of ``ranked`` candidates, best first, skipping any whose shot is used up."""
    used = np.zeros(n_shots, np.int64)
    chosen = []
    for i in ranked:  # greedy, best first: a pair whose shot is used up gives way to the next
        a, b = c.query[i], c.other[i]
        if used[a] < max_per_shot and used[b] < max_per_shot:
            used[a] += 1
            used[b] += 1
            chosen.append(i)
            if len(chosen) == n:
                break
    return np.asarray(chosen, np.int64)


@dataclass(frozen=True)
class _Guard:
    """Near-duplicate guard: each shot's row in ``vectors`` (-1 when it has no guard vector)."""

    rows: np.ndarray
    vectors: np.ndarray
    threshold: float
    cosines: np.ndarray | None = None  # the guard's cosine matrix, rows as ``vectors``, when it is small

    @classmethod
    def aligned(cls, guard: ShotVectors, shots: ShotVectors, threshold: float) -> _Guard:
        if guard is shots:
            return cls(np.arange(len(shots), dtype=np.int64), shots.vectors, threshold, shots.small_cosines())
        where = {key: i for i, key in enumerate(guard.keys())}
        return cls(np.asarray([where.get(key, -1) for key in shots.keys()], dtype=np.int64), guard.vectors, threshold,
                   guard.small_cosines())

    def duplicates(self, q: np.ndarray, r: np.ndarray) -> np.ndarray:
        """For queries ``q`` (m,) and their neighbours ``r`` (m, f): pairs at or above the threshold."""
        a, b = self.rows[q][:, None], self.rows[r]
        both = (a >= 0) & (b >= 0)
        if not both.any():
            return both
        if self.cosines is not None:
            return both & (self.cosines[np.maximum(a, 0), np.maximum(b, 0)] >= self.threshold)
        sims = np.einsum("md,mfd->mf", self.vectors[np.maximum(a[:, 0], 0)], self.vectors[np.maximum(b, 0)])
        return both & (sims >= self.threshold)


@dataclass(frozen=True)
class MatchCutSearch:
    """Match-cut candidates for a selection of titles in one flavor."""

    flavor: str
    feature: str
    feature_version: str
    video_ids: list[str]
    shots_compared: int
    pairs: list[MatchCut]
    rank_by: Rerank
    max_per_shot: int | None  # None: no limit


#: Query-time defaults: pairs ranked by CSLS, each shot in at most one returned pair.
DEFAULT_RANK_BY: Rerank = "csls"
DEFAULT_MAX_PER_SHOT = 1


def find_match_cuts(store: FeatureStore, settings: Settings, video_ids: Sequence[str], flavor: str = "visual",
                    n_pairs: int = 20, candidates_per_shot: int = 10, scope: Scope = "all", min_gap: int = 1,
                    dup_threshold: float | None = None, rank_by: Rerank = DEFAULT_RANK_BY,
                    max_per_shot: int | None = DEFAULT_MAX_PER_SHOT,
                    vectors: VectorSource | None = None) -> MatchCutSearch:
    """The ``n_pairs`` best distinct match-cut pairs among ``video_ids`` (query time, nothing precomputed).

    Each shot's ``candidates_per_shot`` best candidates are ranked by ``rank_by`` (CSLS by default: a
    shot near everything stops winning everywhere); the returned list holds each shot at most
    ``max_per_shot`` times, as either side (None: no limit), and every pair carries its cosine, its
    CSLS and its percentile among the pairs of the compared shots that could be candidates
    (``with_percentiles``: in ``scope``, outside ``min_gap``). Near-duplicates are judged on the
    visual embeddings (``models.dedup.DEFAULT_THRESHOLD`` unless ``dup_threshold`` is given).
    ``vectors`` gives the shots' vectors (default: read from ``store``, :func:`load_shot_vectors`); the
    API passes vectors it holds in memory for the snapshot it serves.
    """
    from models.dedup import DEFAULT_THRESHOLD

    if max_per_shot is not None and max_per_shot < 1:
        raise ValueError("max_per_shot must be >= 1 (or None for no limit)")
    spec = flavor_spec(settings, flavor)
    load = vectors or (lambda spec_, ids: load_shot_vectors(store, spec_, ids))
    shots = load(spec, video_ids)
    visual = specs.visual_spec(settings)
    guard = shots if spec.name == visual.name else load(visual, video_ids)
    cands = candidate_arrays(shots, candidates_per_shot, guard,
                             DEFAULT_THRESHOLD if dup_threshold is None else dup_threshold, min_gap, scope, rerank=rank_by)
    pairs = with_percentiles(shots, best_pairs(shots, cands, n_pairs, max_per_shot), scope, min_gap)
    return MatchCutSearch(flavor, spec.name, spec.version, sorted(set(video_ids)), len(shots), pairs, rank_by,
                          max_per_shot)
