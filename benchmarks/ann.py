"""ANN benchmark: the production shot index (``reelhouse.search.ann.build_index``) against exact search,
same data, same run.

Run: ``python -m benchmarks.ann`` (2-3 minutes on 2 CPU cores, 5 with ``--hnsw``; peak RSS about 4.5 GiB;
``--n 100000 --visual-n 0`` for a quick run).

Catalog: a clustered synthetic catalog of ``--n`` (default 1,000,000) L2-normalized shots of
``--dim`` (default 144: the ``layout_sobel_16x9`` descriptor of the default ``framing`` match-cut
flavor; the colour histogram is 128-d) dimensions, in titles of ``--shots-per-title`` (2,000, so 500
titles at 1M), generated as a hierarchy, each level a unit-norm random offset of the one above:
100 genres -> 4,000 looks (offset 0.8; looks are picked with Zipf(0.8) popularity, so a few
looks are crowded: the busiest holds about 4-5% of all shots) -> 40 scenes per title (offset 0.3) ->
shots (offset 0.7); vectors are normalized after every step. Two shots of one scene have cosine
about 0.67, of one look about 0.61, with enough spread that a query's exact top-10 is only about
60% from its own title at 1M: the rest are shots of other titles with the same look, so the index
must find neighbours spread over crowded regions, not just one tight cluster. Rows are ordered by
title, as the production index orders them by ``(video_id, shot_index)``.

Queries (``--queries``, 1,000): held-out shots, drawn like catalog shots (a random title, one of
its scenes, a fresh offset) but never added to the catalog, so no query finds itself.

Ground truth: exact inner product over the same vectors (``faiss.knn``: the brute-force routine
``faiss.IndexFlatIP`` runs, the index reelhouse uses up to ``EXACT_MAX`` vectors, here without
copying the catalog). recall@10 = mean over queries of |ANN top-10 ∩
exact top-10| / 10.

Figures:
- build: wall seconds of ``build_index`` (k-means training included); memory: the index's bytes
  (vectors, ids, centroids and direct map; what ``faiss.serialize_index`` writes) and the process
  RSS growth over the build (both include the vectors themselves).
- single-query latency: one query per ``ShotIndex.search`` call (the production path, Python
  result objects included), sequential, after ``--warmup`` calls; p50 and p99 in milliseconds.
  The raw ``faiss`` call is timed too. The exact baseline's latency is measured the same way on
  ``--exact-latency-queries`` queries (each scans every vector).
- batch QPS: all queries in one ``search`` call, ``--threads`` OpenMP threads (default 2).
- nprobe sweep: recall and latency at other numbers of scanned IVF lists (``--sweep``), to show
  the margin, and at the default nprobe without the ``max_codes`` cap on vectors scanned.
- title subsets: 10 and 100 random titles through ``ShotIndex.search(..., titles=...)``: latency
  (the first call, which gathers the subset's rows and caches them, separately), recall against
  exact search within the subset, and a check that every hit belongs to the subset. The path is
  printed: ``exact`` (the subset's own vectors, up to ``SUBSET_EXACT_VALUES``: 10 titles at 144-d)
  or ``selector`` (the IVF index with a faiss ID selector).
- ``--hnsw``: also builds ``IndexHNSWFlat`` (M=32, efConstruction=80: what reelhouse used before
  IVF) on the main catalog: build time, memory, recall and latency at efSearch 128 and 256, and
  both index types restricted to 10 titles through a raw faiss ID selector.
- ``--visual-n`` (default 200,000; 0 skips it): a secondary, clearly labelled run at 1280-d (the
  EfficientNet-Lite0 visual embedding) with a smaller catalog, same generator and figures.

Timings on a shared machine are noisy (other processes compete for the 2 cores: the load average
is printed); compare ratios within one run. The last line printed is one JSON object with the
headline figures of the main run.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import time
from dataclasses import dataclass

import faiss
import numpy as np

GENRES = 100
LOOKS = 4_000
SCENES_PER_TITLE = 40
LOOK_POPULARITY_ZIPF = 0.8
LOOK_OFFSET, SCENE_OFFSET, SHOT_OFFSET = 0.8, 0.3, 0.7
K = 10


# --- data ------------------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32, copy=False)


def _offset(base: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """``base`` moved by a random offset of norm ``scale``, renormalized."""
    return _unit(base + scale * _unit(rng.standard_normal(base.shape, dtype=np.float32)))


@dataclass
class Catalog:
    """Synthetic shots (rows ordered by title) and the scenes new shots are drawn from."""

    vectors: np.ndarray  # float32 (n, d), L2-normalized
    title: np.ndarray  # int (n,): title number of each row
    scene_centres: np.ndarray  # float32 (titles, SCENES_PER_TITLE, d)
    look_of_scene: np.ndarray  # int (titles, SCENES_PER_TITLE)

    def draw(self, titles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Fresh shots of ``titles`` (one per entry): a random scene of the title plus a shot offset."""
        scenes = rng.integers(SCENES_PER_TITLE, size=len(titles))
        return _offset(self.scene_centres[titles, scenes], SHOT_OFFSET, rng)


def make_catalog(n: int, d: int, shots_per_title: int, seed: int) -> Catalog:
    """The clustered catalog described in the module docstring."""
    rng = np.random.default_rng(seed)
    titles = max(1, -(-n // shots_per_title))
    genres = _unit(rng.standard_normal((GENRES, d), dtype=np.float32))
    looks = _offset(genres[rng.integers(GENRES, size=LOOKS)], LOOK_OFFSET, rng)
    popularity = 1.0 / np.arange(1, LOOKS + 1) ** LOOK_POPULARITY_ZIPF
    look_of_scene = rng.choice(LOOKS, size=(titles, SCENES_PER_TITLE), p=popularity / popularity.sum())
    scene_centres = _offset(looks[look_of_scene], SCENE_OFFSET, rng)
    title = np.minimum(np.arange(n) // shots_per_title, titles - 1)
    cat = Catalog(np.empty((n, d), np.float32), title, scene_centres, look_of_scene)
    step = max(1, (1 << 23) // d)
    for lo in range(0, n, step):
        cat.vectors[lo:lo + step] = cat.draw(title[lo:lo + step], rng)
    return cat


def video_ids(titles: np.ndarray) -> np.ndarray:
    """Content-id-like video ids (64 hex characters) in title order, as an object array per row."""
    names = np.asarray([hashlib.sha256(f"title-{t:05d}".encode()).hexdigest() for t in range(int(titles.max()) + 1)],
                       dtype=object)
    ordered = np.sort(names)  # the production index orders rows by video_id: keep row order = id order
    return ordered[titles]


# --- measurement -----------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def index_size_bytes(index: faiss.Index) -> int:
    """Bytes of an index: for IVF counted from its parts (codes, ids, coarse centroids, direct map),
    which is what ``faiss.serialize_index`` writes, without a second in-memory copy; else serialized."""
    if isinstance(index, faiss.IndexIVF):
        n = int(index.ntotal)
        return n * (index.code_size + 8) + index.nlist * index.d * 4 + n * 8
    return int(faiss.serialize_index(index).nbytes)


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def latencies_ms(call, queries: np.ndarray, warmup: int) -> np.ndarray:
    """Per-call wall milliseconds of ``call(q)`` for each query row, one at a time, after warm-up calls."""
    for i in range(min(warmup, len(queries))):
        call(queries[i:i + 1])
    out = np.empty(len(queries))
    for i in range(len(queries)):
        t0 = time.perf_counter()
        call(queries[i:i + 1])
        out[i] = time.perf_counter() - t0
    return out * 1e3


def pct(ms: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def recall_at(truth: np.ndarray, found: np.ndarray, k: int = K) -> float:
    """Mean |found top-k ∩ truth top-k| / k (rows of -1 never match)."""
    return float(np.mean([len(set(t[:k].tolist()) & set(f[:k].tolist()) - {-1}) / k for t, f in zip(truth, found)]))


def hit_rows(hits, first_row: dict[str, int]) -> np.ndarray:
    """``ShotIndex.search`` hits -> (nq, K) row positions (-1 pads short lists); rows are title-ordered."""
    return np.asarray([[first_row[h.video_id] + h.shot_index for h in q] + [-1] * (K - len(q)) for q in hits],
                      dtype=np.int64)


# --- one run ---------------------------------------------------------------------------------


def run(n: int, d: int, nq: int, shots_per_title: int, seed: int, warmup: int, exact_latency_queries: int,
        sweep: list[int], label: str, hnsw: bool = False) -> dict:
    from reelhouse.search.ann import ShotIndex, build_index

    print(f"\n=== {label}: n={n:,} shots, dim={d}, {nq} queries ===", flush=True)
    t0 = time.perf_counter()
    cat = make_catalog(n, d, shots_per_title, seed)
    queries = cat.draw(np.random.default_rng(seed + 1).integers(int(cat.title.max()) + 1, size=nq),
                       np.random.default_rng(seed + 2))
    vids = video_ids(cat.title)
    starts = np.searchsorted(cat.title, cat.title)
    shot_index = np.arange(n) - starts
    first_row = {str(vids[i]): int(i) for i in np.unique(starts)}
    look_sizes = np.bincount(cat.look_of_scene.ravel(), minlength=LOOKS) * (n / cat.look_of_scene.size)
    print(f"catalog generated in {time.perf_counter() - t0:.1f} s: {int(cat.title.max()) + 1} titles of "
          f"{shots_per_title} shots, {SCENES_PER_TITLE} scenes each; busiest look ~{look_sizes.max() / n:.1%} of shots")

    # Production index: build_index, then ShotIndex (the search path the CLI and match cuts use).
    gc.collect()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    index = build_index(cat.vectors)
    build_s = time.perf_counter() - t0
    gc.collect()
    rss_delta = rss_bytes() - rss0
    shots = ShotIndex(index, vids, shot_index, "bench", None)
    index_bytes = index_size_bytes(index)
    raw_bytes = cat.vectors.nbytes
    params = ""
    if shots.kind == "ivf":
        params = (f"nlist={index.nlist}, nprobe={index.nprobe}, max_codes={index.max_codes}, "
                  f"list imbalance={index.invlists.imbalance_factor():.2f}")
    print(f"index: {shots.kind} ({type(index).__name__}{', ' + params if params else ''})")
    print(f"build: {build_s:.1f} s; memory: index {index_bytes / 2**20:.0f} MiB "
          f"({index_bytes / raw_bytes:.2f}x the raw float32 vectors, {raw_bytes / 2**20:.0f} MiB), "
          f"RSS +{rss_delta / 2**20:.0f} MiB over the build", flush=True)

    # Exact baseline: ground truth and its own speed. faiss.knn runs the routine IndexFlatIP.search runs
    # (knn_inner_product), over the catalog array itself rather than a second copy of it.
    def exact(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return faiss.knn(q, cat.vectors, K, metric=faiss.METRIC_INNER_PRODUCT)

    t0 = time.perf_counter()
    _, truth = exact(queries)
    exact_batch_s = time.perf_counter() - t0
    exact_ms = latencies_ms(exact, queries[:exact_latency_queries], warmup=3)
    exact_p50, exact_p99 = pct(exact_ms)
    exact_qps = nq / exact_batch_s

    # The production index: recall, single-query latency (ShotIndex and raw faiss), batch QPS.
    t0 = time.perf_counter()
    hits = shots.search(queries, K)
    batch_s = time.perf_counter() - t0
    found = hit_rows(hits, first_row)
    recall = recall_at(truth, found)
    t0 = time.perf_counter()
    index.search(queries, K)
    raw_batch_s = time.perf_counter() - t0
    ms = latencies_ms(lambda q: shots.search(q, K), queries, warmup)
    p50, p99 = pct(ms)
    raw50, raw99 = pct(latencies_ms(lambda q: index.search(q, K), queries, warmup))
    qps = nq / batch_s
    print(f"\n{'':<34} {'recall@10':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'QPS':>8}")
    print(f"{'exact (brute force, flat IP)':<34} {1.0:>9.4f} {exact_p50:>8.2f} {exact_p99:>8.2f} {exact_ms.max():>8.2f} {exact_qps:>8.0f}"
          f"   (latency over {len(exact_ms)} queries)")
    print(f"{'reelhouse ' + shots.kind + ' (ShotIndex.search)':<34} {recall:>9.4f} {p50:>8.2f} {p99:>8.2f} {ms.max():>8.2f} {qps:>8.0f}")
    print(f"{'reelhouse ' + shots.kind + ' (raw faiss search)':<34} {recall:>9.4f} {raw50:>8.2f} {raw99:>8.2f} {'':>8} {nq / raw_batch_s:>8.0f}")

    sweep_rows = []
    if shots.kind == "ivf" and sweep:
        from reelhouse.search.ann import ivf_max_codes

        default_nprobe, default_max_codes = index.nprobe, index.max_codes
        print(f"\nnprobe sweep (raw faiss, 300 queries timed; default {default_nprobe} of {index.nlist} lists, "
              f"max_codes scaled with nprobe; 'no cap': max_codes 0)")
        print(f"{'nprobe':>12} {'max_codes':>9} {'recall@10':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'QPS':>8}")
        plan = [(p, ivf_max_codes(n, index.nlist, p)) for p in sorted(set(sweep)) if p <= index.nlist]
        for nprobe, max_codes in sorted(plan + [(default_nprobe, 0)]):
            index.nprobe, index.max_codes = nprobe, max_codes
            t0 = time.perf_counter()
            _, rows = index.search(queries, K)
            sq = nq / (time.perf_counter() - t0)
            sweep_ms = latencies_ms(lambda q: index.search(q, K), queries[:300], warmup)
            s50, s99 = pct(sweep_ms)
            name = f"{nprobe}{' (no cap)' if not max_codes else ''}"
            sweep_rows.append({"nprobe": nprobe, "max_codes": max_codes, "recall_at_10": round(recall_at(truth, rows), 4),
                               "p50_ms": round(s50, 3), "p99_ms": round(s99, 3), "qps": round(sq, 1)})
            print(f"{name:>12} {max_codes:>9} {recall_at(truth, rows):>9.4f} {s50:>8.2f} {s99:>8.2f} {sweep_ms.max():>8.2f} {sq:>8.0f}")
        index.nprobe, index.max_codes = default_nprobe, default_max_codes

    # Title subsets.
    subsets = {}
    rng = np.random.default_rng(seed + 3)
    all_titles = np.unique(vids)
    print(f"\ntitle subsets (ShotIndex.search(..., titles=...), {min(nq, 300)} queries each)")
    print(f"{'subset':<22} {'rows':>8} {'path':>9} {'first ms':>9} {'p50 ms':>8} {'p99 ms':>8} {'recall@10':>9} {'only them':>9}")
    for n_titles in (10, 100):
        if n_titles > len(all_titles):
            continue
        picked = sorted(rng.choice(all_titles, size=n_titles, replace=False).tolist())
        ids = shots.rows_of_titles(picked)
        qs = queries[:min(nq, 300)]
        path = "exact" if shots.kind != "flat" and ids.size * d <= _subset_limit() else "selector"
        t0 = time.perf_counter()
        shots.search(qs[:1], K, titles=picked)  # first call: gathers and caches the subset's vectors
        first_ms = (time.perf_counter() - t0) * 1e3
        sub_ms = latencies_ms(lambda q: shots.search(q, K, titles=picked), qs, warmup)
        sub_hits = shots.search(qs, K, titles=picked)
        only = all(h.video_id in set(picked) for q in sub_hits for h in q) and all(len(q) == K for q in sub_hits)
        sub_found = hit_rows(sub_hits, first_row)
        scores = qs @ cat.vectors[ids].T
        sub_truth = ids[np.argsort(-scores, axis=1)[:, :K]]
        sub_recall = recall_at(sub_truth, sub_found)
        s50, s99 = pct(sub_ms)
        subsets[n_titles] = {"rows": int(ids.size), "path": path, "first_ms": round(first_ms, 3), "p50_ms": round(s50, 3),
                             "p99_ms": round(s99, 3), "recall_at_10": round(sub_recall, 4), "only_those_titles": bool(only)}
        print(f"{f'{n_titles} titles':<22} {ids.size:>8} {path:>9} {first_ms:>9.2f} {s50:>8.2f} {s99:>8.2f} {sub_recall:>9.4f} {str(only):>9}")

    hnsw_figures = compare_hnsw(cat, queries, truth, index, shots, warmup, seed) if hnsw else None

    print("\nratios (reelhouse vs exact, same run)")
    print(f"  p50 latency: {exact_p50 / p50:.1f}x faster; p99 latency: {exact_p99 / p99:.1f}x faster; "
          f"batch QPS: {qps / exact_qps:.1f}x; memory: {index_bytes / raw_bytes:.2f}x the raw vectors")
    return {
        "recall_at_10": round(recall, 4), "p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "qps": round(qps, 1),
        "build_s": round(build_s, 1), "index": shots.kind, "params": params, "n": n, "dim": d, "queries": nq,
        "index_mb": round(index_bytes / 2**20, 1), "rss_delta_mb": round(rss_delta / 2**20, 1),
        "raw_faiss_p50_ms": round(raw50, 3), "raw_faiss_p99_ms": round(raw99, 3), "raw_faiss_qps": round(nq / raw_batch_s, 1),
        "exact_p50_ms": round(exact_p50, 3), "exact_p99_ms": round(exact_p99, 3), "exact_qps": round(exact_qps, 1),
        "speedup_p50_vs_exact": round(exact_p50 / p50, 1), "qps_ratio_vs_exact": round(qps / exact_qps, 2),
        "subset_10_titles": subsets.get(10), "subset_100_titles": subsets.get(100), "nprobe_sweep": sweep_rows,
        **({"hnsw": hnsw_figures} if hnsw_figures else {}),
    }


def compare_hnsw(cat: Catalog, queries: np.ndarray, truth: np.ndarray, ivf: faiss.Index, shots, warmup: int,
                 seed: int, m: int = 32, ef_construction: int = 80) -> dict:
    """HNSW (``IndexHNSWFlat``, the index reelhouse used before IVF) on the same data, and both indexes
    restricted to 10 titles through a raw faiss ID selector (no exact subset path)."""
    n, d = cat.vectors.shape
    hnsw = faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = ef_construction
    t0 = time.perf_counter()
    hnsw.add(cat.vectors)
    build_s = time.perf_counter() - t0
    size = int(faiss.serialize_index(hnsw).nbytes)
    print(f"\nHNSW comparison (IndexHNSWFlat M={m}, efConstruction={ef_construction}): build {build_s:.1f} s, "
          f"serialized {size / 2**20:.0f} MiB ({size / cat.vectors.nbytes:.2f}x the raw vectors)")
    print(f"{'efSearch':>8} {'recall@10':>9} {'p50 ms':>8} {'p99 ms':>8} {'QPS':>8}")
    rows = []
    for ef in (128, 256):
        hnsw.hnsw.efSearch = ef
        t0 = time.perf_counter()
        _, found = hnsw.search(queries, K)
        qps = len(queries) / (time.perf_counter() - t0)
        p50, p99 = pct(latencies_ms(lambda q: hnsw.search(q, K), queries[:300], warmup))
        rows.append({"ef_search": ef, "recall_at_10": round(recall_at(truth, found), 4), "p50_ms": round(p50, 3),
                     "p99_ms": round(p99, 3), "qps": round(qps, 1)})
        print(f"{ef:>8} {recall_at(truth, found):>9.4f} {p50:>8.2f} {p99:>8.2f} {qps:>8.0f}")
    picked = np.sort(np.random.default_rng(seed + 4).choice(int(cat.title.max()) + 1, 10, replace=False))
    mask = np.isin(cat.title, picked)
    ids = np.flatnonzero(mask)
    qs = queries[:300]
    sub_truth = ids[np.argsort(-(qs @ cat.vectors[ids].T), axis=1)[:, :K]]
    bitmap = np.packbits(mask, bitorder="little")
    sel = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bitmap))
    widen = np.sqrt(n / ids.size)
    plans = [(f"hnsw efSearch {ef}", hnsw, faiss.SearchParametersHNSW(sel=sel, efSearch=ef)) for ef in (128, 512)]
    nprobe = int(min(ivf.nlist, np.ceil(ivf.nprobe * widen)))
    plans.append((f"ivf nprobe {nprobe}", ivf, faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)))
    print(f"10 titles ({ids.size} rows) through a raw ID selector, {len(qs)} queries")
    print(f"{'index':<20} {'recall@10':>9} {'p50 ms':>8} {'p99 ms':>8} {'short lists':>11}")
    subset = []
    for name, index, params in plans:
        _, found = index.search(qs, K, params=params)
        p50, p99 = pct(latencies_ms(lambda q: index.search(q, K, params=params), qs, warmup))
        short = int((found < 0).any(axis=1).sum())
        subset.append({"index": name, "recall_at_10": round(recall_at(sub_truth, found), 4), "p50_ms": round(p50, 3),
                       "p99_ms": round(p99, 3), "queries_with_fewer_than_10": short})
        print(f"{name:<20} {recall_at(sub_truth, found):>9.4f} {p50:>8.2f} {p99:>8.2f} {short:>11}")
    del hnsw
    return {"m": m, "ef_construction": ef_construction, "build_s": round(build_s, 1), "index_mb": round(size / 2**20, 1),
            "search": rows, "subset_10_titles_selector": subset}


def _subset_limit() -> int:
    from reelhouse.search import ann

    return ann.SUBSET_EXACT_VALUES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="catalog shots")
    parser.add_argument("--dim", type=int, default=144, help="vector dimension (144: layout descriptor)")
    parser.add_argument("--queries", type=int, default=1_000, help="held-out query shots")
    parser.add_argument("--shots-per-title", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=50, help="untimed calls before each latency series")
    parser.add_argument("--exact-latency-queries", type=int, default=100, help="queries timed one by one on exact search")
    parser.add_argument("--sweep", default="16,32,128", help="other IVF nprobe values to report (empty: none)")
    parser.add_argument("--visual-n", type=int, default=200_000, help="shots of the secondary 1280-d run (0: skip)")
    parser.add_argument("--threads", type=int, default=2, help="faiss OpenMP threads")
    parser.add_argument("--hnsw", action="store_true", help="also build HNSW on the main run and compare (~2.5 min)")
    args = parser.parse_args()

    from reelhouse.search.ann import EXACT_MAX

    faiss.omp_set_num_threads(args.threads)
    started = time.perf_counter()
    print(f"faiss {faiss.__version__}, OpenMP threads {faiss.omp_get_max_threads()}, cores {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.2f}; EXACT_MAX={EXACT_MAX:,}")
    sweep = [int(s) for s in args.sweep.split(",") if s.strip()]
    head = run(args.n, args.dim, args.queries, args.shots_per_title, args.seed, args.warmup, args.exact_latency_queries,
               sweep, f"main run ({args.dim}-d)", hnsw=args.hnsw)
    visual = None
    if args.visual_n:
        gc.collect()
        visual = run(args.visual_n, 1280, args.queries, args.shots_per_title, args.seed, args.warmup,
                     min(args.exact_latency_queries, 50), [], "secondary run: 1280-d (visual embedding), smaller catalog")
    total = time.perf_counter() - started
    print(f"\ntargets (main run): recall@10 >= 0.95: {head['recall_at_10']:.4f} "
          f"({'met' if head['recall_at_10'] >= 0.95 else 'MISSED'}); p99 <= 10 ms: {head['p99_ms']:.2f} ms "
          f"({'met' if head['p99_ms'] <= 10 else 'MISSED'})")
    print(f"total {total:.0f} s; peak RSS {peak_rss_bytes() / 2**30:.1f} GiB; load average {os.getloadavg()[0]:.2f}")
    out = dict(head)
    if visual is not None:
        out["visual_1280"] = {k: visual[k] for k in ("n", "dim", "index", "params", "recall_at_10", "p50_ms", "p99_ms",
                                                     "qps", "build_s", "index_mb", "exact_p50_ms", "exact_qps")}
    out["total_s"] = round(total, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
