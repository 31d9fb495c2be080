"""faiss shot indexes: built from a snapshot, reloaded without rebuild, stale when the snapshot moves on."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from reelhouse.lakehouse import FeatureSlice, new_run_id
from reelhouse.search.ann import ShotIndex, build_index, is_stale, load_or_build

RNG = np.random.default_rng(3)


def clustered(n: int, d: int = 32, clusters: int = 20) -> np.ndarray:
    centres = RNG.normal(size=(clusters, d))
    x = centres[RNG.integers(clusters, size=n)] + 0.2 * RNG.normal(size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def write_title(store, vid: str, vectors: np.ndarray) -> None:
    rows = pa.table({"shot_index": pa.array(range(len(vectors)), pa.int32()), "model": ["m"] * len(vectors),
                     "dim": pa.array([vectors.shape[1]] * len(vectors), pa.int32()),
                     "has_embedding": [True] * len(vectors), "embedding": pa.array(list(vectors), pa.list_(pa.float32()))})
    store.replace_slices("shot_embeddings", {FeatureSlice(vid, "vis", "1-x"): rows}, new_run_id())


def test_snapshot_index_reloads_and_goes_stale(store, settings):
    a, b = clustered(40), clustered(30)
    write_title(store, "a" * 32, a)
    write_title(store, "b" * 32, b)
    index, built = load_or_build(store, settings.index_root, "vis")
    assert built and len(index) == 70 and not is_stale(index, store)
    again, built = load_or_build(store, settings.index_root, "vis")
    assert not built and again.snapshot_id == index.snapshot_id  # reloaded, not rebuilt
    hits = again.similar("a" * 32, 3, k=5, titles=["b" * 32])
    assert hits and {h.video_id for h in hits} == {"b" * 32}  # the subset filter holds
    write_title(store, "c" * 32, clustered(10))
    assert is_stale(again, store)
    fresh, built = load_or_build(store, settings.index_root, "vis")
    assert built and len(fresh) == 80


def test_hnsw_recall_against_exact_on_clustered_data():
    x = clustered(3000)
    queries = clustered(100)
    exact = ShotIndex(build_index(x, exact_max=10**9), np.array(["t"] * 3000, dtype=object), np.arange(3000), "v", None)
    approx = ShotIndex(build_index(x, exact_max=100), np.array(["t"] * 3000, dtype=object), np.arange(3000), "v", None)
    assert exact.kind == "flat" and approx.kind == "hnsw"
    truth = [{h.shot_index for h in hits} for hits in exact.search(queries, 10)]
    found = [{h.shot_index for h in hits} for hits in approx.search(queries, 10)]
    recall = np.mean([len(t & f) / 10 for t, f in zip(truth, found)])
    assert recall >= 0.95
