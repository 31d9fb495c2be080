"""Match-cut candidates on vectors with known structure (faiss, no mocks)."""

from __future__ import annotations

import numpy as np
import pytest

from reelhouse.search.match_cuts import MatchCut, ShotVectors, match_cut_candidates, top_pairs


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _shots(vectors: np.ndarray, titles: list[tuple[str, int]]) -> ShotVectors:
    vids = np.asarray([t for t, n in titles for _ in range(n)], dtype=object)
    idx = np.concatenate([np.arange(n) for _, n in titles]).astype(np.int64)
    return ShotVectors(vids, idx, _unit(vectors))


def test_pairs_skip_self_adjacent_shots_and_near_duplicates():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(6, 8))
    v = base.copy()
    v[1] = base[0] + 0.01 * rng.normal(size=8)  # adjacent to shot 0 and nearly identical: never pairs
    v[3] = base[0] + 0.3 * rng.normal(size=8)   # similar to shot 0, two shots away: a candidate
    shots = _shots(v, [("a", 6)])
    guard = _shots(np.eye(6, 8) + 0.0, [("a", 6)])  # visual vectors: all different
    [first] = [c for c in match_cut_candidates(shots, k=1, guard=guard, min_gap=1) if c.shot_index == 0]
    assert (first.other_shot_index, first.rank) == (3, 1)

    dup_guard = _shots(np.vstack([np.eye(8)[0]] * 4 + [np.eye(8)[4], np.eye(8)[5]]), [("a", 6)])
    cands = match_cut_candidates(shots, k=5, guard=dup_guard, min_gap=1)
    pairs = {(c.shot_index, c.other_shot_index) for c in cands}
    assert (0, 3) not in pairs and (3, 0) not in pairs  # same footage by the visual guard
    assert all(abs(a - b) > 1 for a, b in pairs)
    assert all(c.shot_index != c.other_shot_index for c in cands)


@pytest.mark.parametrize("scope", ["within", "across"])
def test_scope_keeps_pairs_within_or_across_titles(scope):
    rng = np.random.default_rng(2)
    shots = _shots(rng.normal(size=(40, 12)), [("a", 20), ("b", 20)])
    cands = match_cut_candidates(shots, k=4, scope=scope, min_gap=0)
    assert cands and all((c.video_id == c.other_video_id) == (scope == "within") for c in cands)
    assert all(len([c for c in cands if (c.video_id, c.shot_index) == key]) == 4 for key in shots.keys())


def test_hnsw_candidates_recall_the_exact_ones_on_clustered_shots():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(60, 32))
    v = centres[rng.integers(0, 60, 3000)] + 0.35 * rng.normal(size=(3000, 32))
    shots = _shots(v, [(f"t{i}", 300) for i in range(10)])
    exact = match_cut_candidates(shots, k=10, min_gap=1)
    approx = match_cut_candidates(shots, k=10, min_gap=1, exact_max=100)  # forces HNSW
    key = lambda c: (c.video_id, c.shot_index, c.other_video_id, c.other_shot_index)  # noqa: E731
    recall = len({key(c) for c in exact} & {key(c) for c in approx}) / len(exact)
    assert recall >= 0.95
    brute = shots.vectors @ shots.vectors.T
    c = exact[0]
    q = 0
    allowed = [j for j in range(len(shots)) if shots.video_ids[j] != shots.video_ids[q] or abs(j - q) > 1]
    assert c.other_shot_index == shots.shot_indices[max(allowed, key=lambda j: brute[q, j])]


def test_a_selection_exhausted_by_exclusions_returns_what_is_left():
    shots = _shots(np.eye(3, 4) + 0.1, [("a", 3)])
    cands = match_cut_candidates(shots, k=5, min_gap=1)
    assert {(c.shot_index, c.other_shot_index) for c in cands} == {(0, 2), (2, 0)}


def test_top_pairs_counts_a_pair_and_its_mirror_once():
    a = MatchCut("x", 1, "y", 2, 0.9, 1)
    b = MatchCut("y", 2, "x", 1, 0.9, 1)
    c = MatchCut("x", 3, "y", 4, 0.5, 2)
    assert top_pairs([a, b, c], 5) == [a, c]
    assert top_pairs([a, b, c], 1) == [a]
    with pytest.raises(ValueError):
        match_cut_candidates(_shots(np.eye(3), [("a", 3)]), k=0)
