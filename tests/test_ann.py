"""faiss shot indexes: built from a snapshot, reloaded without rebuild, stale when the snapshot moves on."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pyarrow as pa
import pytest

from reelhouse.features import FeatureSpec
from reelhouse.lakehouse import FeatureSlice, new_run_id
from reelhouse.search import ann
from reelhouse.search.ann import (IVF_TRAIN_PER_LIST, ShotIndex, build_index, is_stale, ivf_max_codes, ivf_nlist, ivf_nprobe,
                                  ivf_of, load_or_build)

VIS = FeatureSpec("vis", "shot_embeddings", "1", {"model": "a"})
VIS_B = FeatureSpec("vis", "shot_embeddings", "1", {"model": "b"})  # the same feature from another encoder


def clustered(n: int, d: int = 32, clusters: int = 20, *, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors around ``clusters`` fixed centres (the same centres for any ``seed`` at one
    ``(d, clusters)``, so queries drawn with another seed come from the catalog's clusters); the points
    depend only on the arguments, never on which tests ran before."""
    centres = np.random.default_rng((d, clusters)).normal(size=(clusters, d))
    rng = np.random.default_rng((d, clusters, n, seed + 1))
    x = centres[rng.integers(clusters, size=n)] + 0.2 * rng.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def write_title(store, vid: str, vectors: np.ndarray, spec: FeatureSpec = VIS) -> None:
    rows = pa.table({"shot_index": pa.array(range(len(vectors)), pa.int32()), "model": ["m"] * len(vectors),
                     "dim": pa.array([vectors.shape[1]] * len(vectors), pa.int32()),
                     "has_embedding": [True] * len(vectors), "embedding": pa.array(list(vectors), pa.list_(pa.float32()))})
    store.replace_slices("shot_embeddings", {FeatureSlice(vid, spec.name, spec.version): rows}, new_run_id())


def test_snapshot_index_reloads_and_goes_stale(store, settings):
    a, b = clustered(40, seed=1), clustered(30, seed=2)
    write_title(store, "a" * 32, a)
    write_title(store, "b" * 32, b)
    index, built = load_or_build(store, settings.index_root, VIS)
    assert built and len(index) == 70 and not is_stale(index, store)
    again, built = load_or_build(store, settings.index_root, VIS)
    assert not built and again.snapshot_id == index.snapshot_id  # reloaded, not rebuilt
    hits = again.similar("a" * 32, 3, k=5, titles=["b" * 32])
    assert hits and {h.video_id for h in hits} == {"b" * 32}  # the subset filter holds
    write_title(store, "c" * 32, clustered(10, seed=3))
    assert is_stale(again, store)
    fresh, built = load_or_build(store, settings.index_root, VIS)
    assert built and len(fresh) == 80


def test_an_index_holds_the_current_version_only_whatever_was_written_last(store, settings):
    """A killed backfill leaves titles at two versions (two encoders): the index of the current version
    holds only its vectors, never a mix, and an index of the other version is stale for it."""
    write_title(store, "a" * 32, clustered(40, seed=1), VIS)
    write_title(store, "b" * 32, clustered(30, seed=2), VIS)
    write_title(store, "b" * 32, clustered(30, seed=4), VIS_B)  # written last, another encoder
    write_title(store, "c" * 32, clustered(10, seed=3), VIS_B)
    index, _ = load_or_build(store, settings.index_root, VIS)
    assert index.feature_version == VIS.version and len(index) == 70
    assert set(index.video_ids) == {"a" * 32, "b" * 32}  # c holds only the other version
    np.testing.assert_allclose(index.vector("b" * 32, 0), clustered(30, seed=2)[0], atol=1e-6)
    other, _ = load_or_build(store, settings.index_root, VIS_B)
    assert other.feature_version == VIS_B.version and set(other.video_ids) == {"b" * 32, "c" * 32}
    assert is_stale(other, store, VIS) and not is_stale(index, store, VIS)
    reloaded, built = load_or_build(store, settings.index_root, VIS)
    assert not built and reloaded.feature_version == VIS.version  # persisted per (feature, version, snapshot)


def _titled(index, n_titles: int) -> ShotIndex:
    """Rows split into ``n_titles`` equal consecutive titles ``t000``, ``t001``, ... (rows ordered by title)."""
    n = index.ntotal
    per = -(-n // n_titles)
    vids = np.array([f"t{i // per:03d}" for i in range(n)], dtype=object)
    return ShotIndex(index, vids, np.arange(n) % per, "v", None)


def _recall(truth, found, k=10) -> float:
    return float(np.mean([len({(h.video_id, h.shot_index) for h in t} & {(h.video_id, h.shot_index) for h in f}) / k
                          for t, f in zip(truth, found)]))


def test_index_type_is_chosen_by_size():
    x = clustered(600)
    assert ShotIndex(build_index(x, exact_max=600), np.array(["t"] * 600, dtype=object), np.arange(600), "v", None).kind == "flat"
    built = build_index(x, exact_max=599)  # IVF-PQ fast-scan, re-ranked from float16 copies
    ivf = ivf_of(built)
    assert isinstance(built, faiss.IndexRefine) and isinstance(ivf, faiss.IndexIVFPQFastScan)
    assert ivf.pq.M == x.shape[1] // 2 and ivf.pq.nbits == 4  # 2-d sub-vectors, 4 bits each
    assert built.metric_type == ivf.metric_type == faiss.METRIC_INNER_PRODUCT and built.k_factor == ann.IVF_REFINE_K_FACTOR
    assert ShotIndex(built, np.array(["t"] * 600, dtype=object), np.arange(600), "v", None).kind == "ivf-pq4fs"
    assert ivf.max_codes == 0  # fast-scan does not read it
    older = build_index(x, exact_max=599, codes="SQ8")  # the index of earlier versions: still searched, capped
    assert ShotIndex(older, np.array(["t"] * 600, dtype=object), np.arange(600), "v", None).kind == "ivf-sq8"
    assert ivf_of(older).max_codes == ivf_max_codes(600, ivf.nlist, ivf.nprobe) > 0  # bounds the scan of crowded lists
    assert ivf_nlist(1_000_000) == 1024 and ivf_nprobe(1_000_000, 1024) == 16
    assert ivf_nlist(600) * IVF_TRAIN_PER_LIST <= 600  # enough k-means points per list


def test_large_index_recall_against_exact_on_clustered_data():
    x = clustered(4000, d=48, clusters=40)
    queries = clustered(200, d=48, clusters=40, seed=1)
    exact = _titled(build_index(x, exact_max=10**9), 20)
    approx_index = build_index(x, exact_max=100, nprobe=8)  # forces IVF; 8 of its lists, well short of all
    approx = _titled(approx_index, 20)
    assert exact.kind == "flat" and approx.kind == "ivf-pq4fs" and ivf_of(approx_index).nprobe < ivf_of(approx_index).nlist
    assert _recall(exact.search(queries, 10), approx.search(queries, 10)) >= 0.95
    default = _titled(build_index(x, exact_max=100), 20)  # the production nprobe
    assert _recall(exact.search(queries, 10), default.search(queries, 10)) >= 0.95
    hits = default.search(queries[:3], 10)
    assert all(h[i].score >= h[i + 1].score for h in hits for i in range(len(h) - 1))
    np.testing.assert_allclose([h.score for h in hits[0]], [h.score for h in exact.search(queries[:1], 10)[0]],
                               atol=2e-3)  # re-ranked from float16 copies: cosines to about 1e-4


@pytest.mark.parametrize("n_titles", [2, 20, 200])  # large subsets go through the ID selector, small ones exactly
def test_subset_search_on_the_large_index_only_returns_those_titles(n_titles, monkeypatch):
    x = clustered(4000, d=48, clusters=40)
    queries = clustered(50, d=48, clusters=40, seed=1)
    exact = _titled(build_index(x, exact_max=10**9), n_titles)
    approx = _titled(build_index(x, exact_max=100, nprobe=4), n_titles)
    picked = sorted(set(approx.video_ids))[1::3][:5]
    for values in (ann.SUBSET_EXACT_VALUES, 0):  # exact over the gathered subset, then the ID selector path
        monkeypatch.setattr(ann, "SUBSET_EXACT_VALUES", values)
        found = approx.search(queries, 10, titles=picked)
        assert all(hits and {h.video_id for h in hits} <= set(picked) for hits in found)
        assert _recall(exact.search(queries, 10, titles=picked), found, k=min(10, sum(np.isin(approx.video_ids, picked)))) >= 0.95
        assert approx.search(queries[:1], 10, titles=["nope"]) == [[]]
        everything = approx.search(queries[:1], 10**6, titles=picked[:1])[0]  # k beyond the subset
        assert everything and {h.video_id for h in everything} == {picked[0]}
        if values:  # searched exactly: all of the title, best first
            assert len(everything) == int(np.sum(approx.video_ids == picked[0]))


def test_large_index_save_load_round_trip(tmp_path):
    x = clustered(3000)
    index = _titled(build_index(x, exact_max=100), 10)
    folder = tmp_path / "idx"
    index.save(folder)
    again = ShotIndex.load(folder)
    meta = json.loads((folder / "meta.json").read_text())
    ivf, ivf_again = ivf_of(index.index), ivf_of(again.index)
    assert again.kind == "ivf-pq4fs" and meta["kind"] == "ivf-pq4fs" and meta["nprobe"] == ivf.nprobe
    assert len(again) == 3000 and ivf_again.nprobe == ivf.nprobe and ivf_again.nlist == ivf.nlist
    assert ivf_again.max_codes == ivf.max_codes  # faiss does not persist it; meta.json does
    older = _titled(build_index(x, exact_max=100, codes="SQ8"), 10)  # an earlier version's index keeps its cap
    older.save(tmp_path / "older")
    assert ivf_of(ShotIndex.load(tmp_path / "older").index).max_codes == ivf_of(older.index).max_codes > 0
    assert again.index.k_factor == index.index.k_factor == ann.IVF_REFINE_K_FACTOR
    np.testing.assert_allclose(again.vector("t003", 7), x[3 * 300 + 7], atol=1e-3)  # read back from float16
    for titles in (None, ["t002", "t005"]):
        assert again.search(x[:5], 10, titles) == index.search(x[:5], 10, titles)
    assert [h.shot_index for h in again.similar("t001", 4, k=3, titles=["t001"])] == \
        [h.shot_index for h in index.similar("t001", 4, k=3, titles=["t001"])]


def test_persisted_hnsw_indexes_still_load_and_filter(tmp_path, monkeypatch):
    x = clustered(2000)
    hnsw = faiss.IndexHNSWFlat(32, 16, faiss.METRIC_INNER_PRODUCT)  # what earlier versions built above EXACT_MAX
    hnsw.add(x)
    _titled(hnsw, 10).save(tmp_path / "h")
    again = ShotIndex.load(tmp_path / "h")
    assert again.kind == "hnsw"
    for values in (ann.SUBSET_EXACT_VALUES, 0):  # exact over the gathered subset, then the ID selector path
        monkeypatch.setattr(ann, "SUBSET_EXACT_VALUES", values)
        hits = again.search(x[:5], 10, titles=["t004"])
        assert all(len(h) == 10 and {n.video_id for n in h} == {"t004"} for h in hits)


def test_persisted_ivf_flat_indexes_still_load_and_filter(tmp_path, monkeypatch):
    x = clustered(3000)
    flat = faiss.index_factory(32, "IVF32,Flat", faiss.METRIC_INNER_PRODUCT)  # what earlier versions built above EXACT_MAX
    flat.train(x)
    flat.add(x)
    flat.nprobe = 4
    _titled(flat, 10).save(tmp_path / "f")
    again = ShotIndex.load(tmp_path / "f")
    assert again.kind == "ivf" and again.index.nprobe == 4
    np.testing.assert_array_equal(again.vector("t003", 7), x[3 * 300 + 7])  # uncompressed, via the direct map
    for values in (ann.SUBSET_EXACT_VALUES, 0):
        monkeypatch.setattr(ann, "SUBSET_EXACT_VALUES", values)
        hits = again.search(x[:5], 10, titles=["t004"])
        assert all(len(h) == 10 and {n.video_id for n in h} == {"t004"} for h in hits)
