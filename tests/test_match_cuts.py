"""Match-cut candidates on vectors with known structure (faiss, no mocks)."""

from __future__ import annotations

import numpy as np
import pytest

from reelhouse.search.match_cuts import ShotVectors, match_cut_candidates


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


def test_best_pairs_counts_a_pair_and_its_mirror_once():
    from reelhouse.search.match_cuts import best_pairs, candidate_arrays

    shots = _shots(np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.95, 0.05], [0, 0, 1]]), [("x", 2), ("y", 3)])
    c = candidate_arrays(shots, k=2, min_gap=0, scope="all")
    pairs = best_pairs(shots, c, 10)
    keys = [tuple(sorted([(p.video_id, p.shot_index), (p.other_video_id, p.other_shot_index)])) for p in pairs]
    assert len(keys) == len(set(keys)) and (("x", 0), ("x", 1)) in keys
    assert [p.score for p in pairs] == sorted((p.score for p in pairs), reverse=True)
    with pytest.raises(ValueError):
        match_cut_candidates(_shots(np.eye(3), [("a", 3)]), k=0)


# Hub-aware ranking (CSLS) and varied lists -------------------------------------------------------


def _with_hubs(n_titles: int = 8, shots_per_title: int = 20, dim: int = 48, seed: int = 0):
    """Shots sharing a weak common direction ``u`` (cosine about 0.08 to each other), and two shots built
    on ``u`` itself (about 0.3 to every shot): everyone's neighbour, hubs by construction."""
    rng = np.random.default_rng(seed)
    u = _unit(rng.normal(size=(1, dim)))[0]
    x = _unit(0.3 * u + rng.normal(size=(n_titles * shots_per_title, dim)) / np.sqrt(dim))
    hubs = [10, shots_per_title + 10]
    for h in hubs:
        x[h] = _unit((u + 0.05 * rng.normal(size=dim))[None])[0]
    return _shots(x, [(f"t{i}", shots_per_title) for i in range(n_titles)]), hubs


def test_local_density_is_the_mean_of_the_k_nearest_other_shots():
    from reelhouse.search.hubness import local_density

    scores = np.array([[1.0, 0.9, 0.5, 0.1], [1.0, 0.8, -1.0, -1.0]], np.float32)
    rows = np.array([[0, 3, 2, 1], [1, 0, -1, -1]])
    got = local_density(scores, rows, np.array([0, 1]), k=2)
    assert got == pytest.approx([0.7, 0.8])  # itself left out; the second has only one neighbour


def test_csls_takes_hub_shots_out_of_most_lists():
    from reelhouse.search.hubness import k_occurrence, skewness
    from reelhouse.search.match_cuts import candidate_arrays

    shots, hubs = _with_hubs()
    raw = candidate_arrays(shots, k=5, min_gap=1, rerank="cosine")
    reranked = candidate_arrays(shots, k=5, min_gap=1, rerank="csls")
    occ_raw = k_occurrence(raw.other[None, :], len(shots))
    occ_csls = k_occurrence(reranked.other[None, :], len(shots))
    assert occ_raw[hubs].min() > 4 * np.median(occ_raw)  # the construction makes hubs
    assert occ_csls[hubs].max() < occ_raw[hubs].min() / 2
    assert skewness(occ_csls) < skewness(occ_raw) / 2
    # Every shot still gets k candidates, ranked 1..k by its ranking score.
    assert np.bincount(reranked.query, minlength=len(shots)).tolist() == [5] * len(shots)
    for c in (raw, reranked):
        for q in range(len(shots)):
            key = c.key()[c.query == q]
            assert (np.diff(key) <= 1e-6).all() and c.rank[c.query == q].tolist() == [1, 2, 3, 4, 5]
    # CSLS is the same figure whichever score ranks: a pair in both lists has one value.
    same = {(a, b): s for a, b, s in zip(raw.query, raw.other, raw.csls)}
    common = [(s, same[(a, b)]) for a, b, s in zip(reranked.query, reranked.other, reranked.csls) if (a, b) in same]
    assert common and np.allclose(*zip(*common), atol=1e-6)


def test_best_pairs_uses_each_shot_at_most_max_per_shot_times():
    from reelhouse.search.match_cuts import best_pairs, candidate_arrays

    shots, _ = _with_hubs()
    c = candidate_arrays(shots, k=10, min_gap=1, rerank="cosine")
    free = best_pairs(shots, c, 20)
    varied = best_pairs(shots, c, 20, max_per_shot=1)
    assert len(varied) == 20
    ends = [k for p in varied for k in ((p.video_id, p.shot_index), (p.other_video_id, p.other_shot_index))]
    assert len(set(ends)) == len(ends)
    most = max(sum(k in ((p.video_id, p.shot_index), (p.other_video_id, p.other_shot_index)) for p in free)
               for k in {k for p in free for k in ((p.video_id, p.shot_index), (p.other_video_id, p.other_shot_index))})
    assert most > 1  # without the limit the hubs repeat; with it they cannot
    assert [p.score for p in varied] == sorted((p.score for p in varied), reverse=True)
    assert varied[0] == free[0]


def test_pair_percentiles_rank_a_cosine_among_all_pairs():
    from reelhouse.search.hubness import pair_percentiles

    rng = np.random.default_rng(1)
    x = _unit(rng.normal(size=(50, 16)))
    sims = (x @ x.T)[np.triu_indices(50, 1)]
    got = pair_percentiles(x, np.array([sims.max(), np.median(sims), sims.min()]))
    assert got[0] == pytest.approx(100 * (len(sims) - 1) / len(sims))
    assert got[1] == pytest.approx(50, abs=0.2) and got[2] == 0.0
    sampled = pair_percentiles(x, np.array([np.median(sims)]), samples=500, seed=3)
    assert sampled[0] == pytest.approx(50, abs=6)  # 500 sampled pairs of the 1,225 estimate the median


def test_csls_of_each_candidate_matches_a_brute_force_computation():
    from reelhouse.search.hubness import DENSITY_K
    from reelhouse.search.match_cuts import candidate_arrays

    shots, _ = _with_hubs(n_titles=4)
    sims = shots.vectors @ shots.vectors.T
    np.fill_diagonal(sims, -np.inf)
    density = np.sort(sims, axis=1)[:, -DENSITY_K:].mean(axis=1)
    c = candidate_arrays(shots, k=5, min_gap=1, rerank="csls")
    expected = 2 * sims[c.query, c.other] - density[c.query] - density[c.other]
    assert np.allclose(c.score, sims[c.query, c.other], atol=1e-5)
    assert np.allclose(c.csls, expected, atol=1e-5)


def test_percentiles_rank_a_pair_among_the_pairs_its_scope_allows():
    from reelhouse.search.match_cuts import MatchCut, with_percentiles

    rng = np.random.default_rng(2)
    base = _unit(rng.normal(size=(2, 16)))
    # two titles, each a tight cluster: pairs within a title are far more alike than pairs across
    x = np.concatenate([base[0] + 0.05 * rng.normal(size=(30, 16)), base[1] + 0.05 * rng.normal(size=(30, 16))])
    shots = _shots(x, [("a", 30), ("b", 30)])
    sims = shots.vectors @ shots.vectors.T
    across = sims[:30, 30:]
    best_across = MatchCut("a", int(np.argmax(across) // 30), "b", int(np.argmax(across) % 30), float(across.max()), 1)
    [in_all] = with_percentiles(shots, [best_across], "all", min_gap=1)
    [in_across] = with_percentiles(shots, [best_across], "across", min_gap=1)
    assert in_across.percentile == pytest.approx(100 * (across.size - 1) / across.size)  # the best of its scope
    assert in_all.percentile < 60  # among all pairs, the within-title ones outrank it


@pytest.mark.parametrize("rerank", ["cosine", "csls"])
def test_the_cosine_matrix_path_answers_as_the_faiss_path(monkeypatch, rerank):
    """Up to MATRIX_MAX shots candidates, the near-duplicate guard and percentiles read one cosine matrix;
    above, faiss and gathered dot products. Both must give the same candidates and percentiles."""
    from reelhouse.search import match_cuts as mc

    rng = np.random.default_rng(5)
    base = rng.normal(size=(8, 32))
    v = base.repeat(40, axis=0) + 0.9 * rng.normal(size=(320, 32))
    v[41] = v[200] + 0.01 * rng.normal(size=32)  # a near-duplicate pair across titles, only by the guard
    shots = _shots(v, [(f"t{i}", 40) for i in range(8)])
    guard = _shots(v[::-1].copy(), [(f"t{i}", 40) for i in range(8)])  # another feature's vectors
    guard = ShotVectors(shots.video_ids, shots.shot_indices, guard.vectors)

    def answer():
        out = []
        for g in (shots, guard):
            c = mc.candidate_arrays(ShotVectors(shots.video_ids, shots.shot_indices, shots.vectors), k=6,
                                    guard=ShotVectors(g.video_ids, g.shot_indices, g.vectors), min_gap=1,
                                    rerank=rerank)
            pct = mc.cosine_percentiles(ShotVectors(shots.video_ids, shots.shot_indices, shots.vectors), c.score)
            out.append((c, pct))
        return out

    by_matrix = answer()
    monkeypatch.setattr(mc, "MATRIX_MAX", 0)
    by_faiss = answer()
    for (a, pa), (b, pb) in zip(by_matrix, by_faiss):
        assert a.query.tolist() == b.query.tolist() and a.other.tolist() == b.other.tolist()
        assert a.rank.tolist() == b.rank.tolist()
        assert np.allclose(a.score, b.score, atol=1e-5) and np.allclose(a.csls, b.csls, atol=1e-5)
        assert np.allclose(pa, pb, atol=0.05)  # a few of 50,000 sampled pairs (0.002 each) tie within rounding
    pairs = {(int(q), int(o)) for q, o in zip(by_matrix[0][0].query, by_matrix[0][0].other)}
    assert (41, 200) not in pairs and (200, 41) not in pairs  # the guard drops the near-duplicate
