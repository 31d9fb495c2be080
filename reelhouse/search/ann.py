"""faiss ANN indexes over shot embeddings, built from a named Iceberg snapshot.

Conventions: shot vectors are float32 and L2-normalized, so the inner product the indexes rank by *is*
the cosine similarity; every score returned is a cosine in ``[-1, 1]``, higher is more alike (exact
for flat indexes; to about 1e-4 for IVF-PQ, whose scores come from float16 copies). A faiss id is the
row position in the index's id map (rows ordered by ``(video_id, shot_index)``).

The index type is chosen by size (``build_index``):

- up to ``EXACT_MAX`` vectors: exact, ``IndexFlatIP`` (kind ``"flat"``);
- above: IVF-PQ fast-scan re-ranked from float16 (kind ``"ivf-pq4fs"``), a ``faiss.IndexRefine`` of
  - an inverted file, ``IndexIVFPQFastScan`` over a flat inner-product coarse quantizer: about
    ``IVF_LISTS_PER_SQRT * sqrt(n)`` lists (a power of two; 1,024 at 1M vectors), k-means
    (``IVF_KMEANS_ITER`` iterations) on ``IVF_TRAIN_PER_LIST`` sampled vectors per list, each vector's
    residual to its list centroid product-quantized in sub-vectors of ``IVF_PQ_SUBVECTOR_DIMS`` (2)
    dimensions to 4 bits each (``ivf_codes``: ``PQ640x4fs`` at 1280-d, a quarter byte per dimension,
    in faiss's fast-scan layout: SIMD table lookups over blocks of 32 vectors); a query scans the
    codes of its ``nprobe`` nearest lists (``ivf_nprobe``: 1/64 of them, 16 at 1M, about 16k vectors);
  - float16 copies of every vector (2 bytes per dimension), from which the best
    ``IVF_REFINE_K_FACTOR * k`` candidates of the scan are re-scored and re-ranked (and from which
    ``reconstruct`` reads vectors back).
  Together 0.56x the raw float32 vectors. Indexes persisted by earlier versions still load and
  search: IVF-SQ8 re-ranked from float16 (kind ``"ivf-sq8"``), ``IndexIVFFlat`` (``"ivf"``), HNSW
  (``"hnsw"``).

Why this index (``python -m benchmarks.ann``: 1M x 1280-d, the EfficientNet-Lite0 visual embedding
behind ``similar``, 2 CPU cores; constants chosen with ``--tune`` on a generator seed the evaluation
does not use). A single query is memory-bound: it reads about ``nprobe * n / nlist`` stored codes.

- Codes (``--tune --tune-lists 1 --tune-probe 0.015625 --tune-k-factor 4,16,64 --tune-cap 2,0
  --tune-codes SQ8,PQ640x4fs,PQ320x4fs``: 1M x 1280-d, seed 101, 500 fresh queries, nprobe 16 of 1,024
  lists, raw faiss, 2 threads, load average 1.4-1.8): 8-bit scalar codes (the previous index) with 4x
  re-ranking and the scan cap reached recall@10 0.990 at 3.0 / 5.9 ms p50 / p99 (0.999 uncapped, at
  2.8 / 7.1 ms); 4-bit PQ of 2-d sub-vectors (``PQ640x4fs``) with 16x re-ranking 0.998 at 0.52 / 1.1
  ms: 5.7x faster at the p50 and better recall than the capped scan (4x re-ranking: 0.976; 64x: 0.999
  at 0.84 ms); 4-bit PQ of 4-d sub-vectors is cheaper but loses recall re-ranking does not win back
  (0.955 at 16x, 0.984 at 64x and 0.69 ms). Build 42 s (SQ8: 27 s). Uncompressed IVF-Flat reads 5 KB
  per 1280-d vector, 80-100 MB per query at 1M, about 10 ms on one core.
- Lists: 1,024 rather than 4,096 is 4x less assignment work (``n * nlist * d``) and 16x less k-means
  work (``nlist**2 * d``), with 10 k-means iterations rather than 25: the 1280-d build is minutes, not
  tens of minutes, on 2 cores. 1,024 lists are 2.7x imbalanced at 1280-d; the 8-bit index capped its
  scan (``max_codes``) to bound the tail of crowded lists; the fast-scan index needs no cap.
- HNSW was ruled out earlier (measured at 144-d): 1.47x the raw vectors, 2-2.5 minutes to build at 1M,
  and restricted to a few titles with an ID selector its graph walk finds under half of the true
  top-10, where IVF with a selector keeps recall 1.0.

An index is persisted under ``<index_root>/<feature>/<snapshot_id>/`` with the id map (row -> title,
shot) and its provenance, and reloaded without a rebuild while the snapshot is current. Rows are ordered
by (video_id, shot_index), so any subset of titles maps to id ranges and searches can be restricted to
the titles an editor picks: a small subset (``SUBSET_EXACT_VALUES``) is searched exactly over its own
gathered vectors; a larger one through the index with a faiss ID selector (a bitmap), scanning
``sqrt(n / subset)`` times more IVF lists so enough of the subset's vectors are compared.
"""

from __future__ import annotations

import fcntl
import json
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.expressions import And, EqualTo

from reelhouse.features import FeatureSpec
from reelhouse.lakehouse import FeatureStore

#: Up to this many vectors the index is exact (flat inner product); above, IVF (``IndexIVFFlat``).
EXACT_MAX = 50_000
#: k-means training vectors per IVF list (faiss wants at least 39; more only slows the build).
IVF_TRAIN_PER_LIST = 40
#: k-means iterations (faiss's default is 25; the lists are only a coarse partition, and at 1280-d the
#: iterations are most of the build).
IVF_KMEANS_ITER = 10
#: IVF lists: about this many times ``sqrt(n)`` (``ivf_nlist``). More lists cost build time
#: (``n * nlist * d`` to assign, ``nlist**2 * d`` for k-means) for a finer partition.
IVF_LISTS_PER_SQRT = 1.0
#: An IVF search scans at least this share of the lists (``ivf_nprobe``) ...
IVF_PROBE_FRACTION = 1 / 64
#: ... and at least this many vectors (sets ``nprobe`` for catalogs of modest size) ...
IVF_MIN_SCANNED = 10_000
#: ... in at least this many lists.
IVF_MIN_NPROBE = 8
#: The IVF search keeps this many times ``k`` candidates by their 4-bit PQ codes, then re-ranks them by
#: their float16 vectors (faiss ``IndexRefine.k_factor``; the module docstring's figures).
IVF_REFINE_K_FACTOR = 16.0
#: Dimensions per product-quantizer sub-vector of the IVF codes (4 bits each; ``ivf_codes``).
IVF_PQ_SUBVECTOR_DIMS = 2
#: Vectors added to an index per call (bounds faiss's temporaries while building).
ADD_CHUNK = 65_536
#: Most IVF lists built, whatever the size.
IVF_MAX_LISTS = 65_536
#: An IVF query stops scanning lists (nearest first) once it has compared this many times the vectors
#: its ``nprobe`` lists hold on average (``nprobe * n / nlist``). Lists in crowded regions of the space
#: are longer; this bounds the tail latency they cause (faiss ``max_codes``). Used by the IVF-SQ8
#: indexes of earlier versions; faiss's fast-scan search does not read ``max_codes``, so the IVF-PQ
#: index is built with none (0), its scan being 5x cheaper. 2, not the 1.25 of the
#: earlier IVF-Flat index: at 1M x 1280-d on the tuning seed (101), recall@10 at nprobe 16 was 0.976
#: with 1.25, 0.990 with 2 and 0.999 uncapped (``benchmarks/ann.py --tune``).
IVF_MAX_CODES_FACTOR = 2.0
#: A title subset of a non-flat index is searched exactly over its gathered vectors when it holds at
#: most this many values (rows x dimensions: 32 MiB of float32, 58k rows at 144-d, 6.5k at 1280-d).
SUBSET_EXACT_VALUES = 1 << 23
#: Title subsets (their rows, gathered vectors or selector) kept per index: an editor searches the same
#: titles repeatedly.
SUBSET_CACHE = 4


@dataclass(frozen=True)
class Neighbour:
    """A search hit: the shot and its cosine similarity to the query."""

    video_id: str
    shot_index: int
    score: float


def index_kind(index: faiss.Index) -> str:
    """``"flat"``, ``"ivf-pq4fs"`` (IVF-PQ fast-scan re-ranked, what ``build_index`` builds above
    ``EXACT_MAX``), ``"ivf-sq8"`` (IVF-SQ8 re-ranked) or ``"ivf"`` (uncompressed IVF), both built by
    earlier versions, ``"hnsw"``, or the faiss class name in lower case for anything else."""
    if isinstance(index, faiss.IndexFlat):
        return "flat"
    ivf = ivf_of(index)
    if isinstance(index, faiss.IndexRefine) and ivf is not None:
        return "ivf-pq4fs" if isinstance(ivf, faiss.IndexIVFPQFastScan) else "ivf-sq8"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    return type(index).__name__.lower()


@dataclass
class _Subset:
    """A title subset of an index: its sorted rows, and what searching it needs, made on first use."""

    ids: np.ndarray  # int64 row positions, sorted
    flat: faiss.IndexFlatIP | None = None  # the subset's vectors (local ids = positions in ids), for exact search
    bitmap: np.ndarray | None = None  # uint8, bit i set when row i is in the subset (kept alive for faiss)
    _selector: faiss.IDSelector | None = None

    def selector(self, n: int) -> faiss.IDSelector:
        """A faiss selector of the subset's rows among ``n`` (a bitmap: one bit test per scanned vector)."""
        if self._selector is None:
            mask = np.zeros(n, dtype=bool)
            mask[self.ids] = True
            self.bitmap = np.packbits(mask, bitorder="little")
            self._selector = faiss.IDSelectorBitmap(n, faiss.swig_ptr(self.bitmap))
        return self._selector


class ShotIndex:
    """A faiss index of L2-normalized shot vectors with its id map and provenance.

    Args:
        index: faiss inner-product index whose ids are row positions in ``video_ids``/``shot_indices``.
        video_ids: title of each row.
        shot_indices: shot number of each row.
        feature: the embedding feature indexed.
        snapshot_id: the ``shot_embeddings`` snapshot the index was built from.
        feature_version: the one version of ``feature`` whose vectors it holds (None: unknown, an
            index persisted by an earlier release; never current).
    """

    def __init__(self, index: faiss.Index, video_ids: np.ndarray, shot_indices: np.ndarray,
                 feature: str, snapshot_id: int | None, feature_version: str | None = None) -> None:
        if isinstance(index, faiss.IndexIVF) and index.direct_map.type == faiss.DirectMap.NoMap:
            index.make_direct_map()  # vector() and exact subset search read vectors back by id
        self.index = index
        self.video_ids = video_ids
        self.shot_indices = shot_indices.astype(np.int64)
        self.feature = feature
        self.snapshot_id = snapshot_id
        self.feature_version = feature_version
        self._rows: dict[tuple[str, int], int] | None = None  # (video_id, shot_index) -> row, built on first use
        self._title_ranges: dict[str, list[tuple[int, int]]] | None = None  # video_id -> [start, stop) row runs
        self._subsets: OrderedDict[tuple[str, ...], _Subset] = OrderedDict()  # recent title subsets, newest last

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        """The index type: ``"flat"`` (exact), ``"ivf"`` or ``"hnsw"`` (see ``index_kind``)."""
        return index_kind(self.index)

    def row_of(self, video_id: str, shot_index: int) -> int:
        """Row position of a shot.

        Raises:
            KeyError: if the shot is not in the index.
        """
        if self._rows is None:
            self._rows = {(v, int(s)): i for i, (v, s) in enumerate(zip(self.video_ids, self.shot_indices))}
        try:
            return self._rows[(video_id, int(shot_index))]
        except KeyError:
            raise KeyError(f"shot {shot_index} of title {video_id} is not in the {self.feature} index") from None

    def vector(self, video_id: str, shot_index: int) -> np.ndarray:
        return self.index.reconstruct(self.row_of(video_id, shot_index))

    def search(self, queries: np.ndarray, k: int, titles: Sequence[str] | None = None) -> list[list[Neighbour]]:
        """Top-``k`` neighbours of each query vector by cosine similarity, optionally only among ``titles``.

        Args:
            queries: L2-normalized vectors, shape ``(d,)`` or ``(nq, d)``.
            k: neighbours per query (fewer when the index, the subset or the scanned lists hold fewer).
            titles: restrict hits to these video ids. A subset of at most ``SUBSET_EXACT_VALUES``
                values is searched exactly; a larger one through the index with an ID selector.

        Returns:
            Per query, hits best first; only rows of ``titles`` when given.
        """
        if k < 1:
            raise ValueError("k must be >= 1")
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.index.d)
        params = None
        if titles is not None:
            subset = self._subset(titles)
            if subset.ids.size == 0:
                return [[] for _ in range(len(queries))]
            if self.kind != "flat" and subset.ids.size * self.index.d <= SUBSET_EXACT_VALUES:
                scores, rows = self._search_subset_exactly(queries, k, subset)
                return self._hits(scores, rows)
            params = self._filtered_params(subset.selector(len(self)), k, subset.ids.size)
            scores, rows = self.index.search(queries, min(k, int(subset.ids.size)), params=params)
            return self._hits(scores, rows)
        scores, rows = self.index.search(queries, min(k, len(self)))
        return self._hits(scores, rows)

    def rows_of_titles(self, titles: Sequence[str]) -> np.ndarray:
        """Sorted row positions (faiss ids) of the shots of ``titles``; unknown titles hold none."""
        if self._title_ranges is None:
            vids = self.video_ids
            starts = np.flatnonzero(np.r_[True, vids[1:] != vids[:-1]]) if len(vids) else np.zeros(0, np.int64)
            stops = np.r_[starts[1:], len(vids)]
            ranges: dict[str, list[tuple[int, int]]] = {}
            for a, b in zip(starts.tolist(), stops.tolist()):
                ranges.setdefault(str(vids[a]), []).append((a, b))
            self._title_ranges = ranges
        runs = sorted(r for t in set(titles) for r in self._title_ranges.get(str(t), []))
        if not runs:
            return np.zeros(0, np.int64)
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in runs])

    def title_vectors(self, titles: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(video_ids, shot_indices, vectors)`` of the shots of ``titles`` held by the index, ordered by
        ``(video_id, shot_index)``; float32 vectors read back from the index (the stored float32 for a
        flat index, bit for bit; float16 copies, to about 1e-3, for IVF-PQ)."""
        rows = self.rows_of_titles(titles)
        vectors = self.index.reconstruct_batch(rows) if rows.size else np.zeros((0, self.index.d), np.float32)
        return self.video_ids[rows], self.shot_indices[rows], np.ascontiguousarray(vectors, dtype=np.float32)

    def similar(self, video_id: str, shot_index: int, k: int = 5, titles: Sequence[str] | None = None) -> list[Neighbour]:
        """The ``k`` shots most similar to a stored shot, excluding the shot itself."""
        hits = self.search(self.vector(video_id, shot_index)[None, :], k + 1, titles)[0]
        return [h for h in hits if (h.video_id, h.shot_index) != (video_id, int(shot_index))][:k]

    def _hits(self, scores: np.ndarray, rows: np.ndarray) -> list[list[Neighbour]]:
        return [
            [Neighbour(str(self.video_ids[r]), int(self.shot_indices[r]), float(s)) for s, r in zip(srow, rrow) if r >= 0]
            for srow, rrow in zip(scores, rows)
        ]

    def _filtered_params(self, sel: faiss.IDSelector, k: int, selected: int) -> faiss.SearchParameters:
        """Search parameters restricted to ``sel`` (``selected`` rows), widened for the index type.

        The fewer rows selected, the fewer of a list's vectors count, so IVF scans
        ``sqrt(n / selected)`` times its ``nprobe`` lists (all at most; 4.5x for a 5% subset) and HNSW
        explores as many more candidates (at least ``2 * k``, at most 2,048). A subset's nearest shots
        are further from the query than the catalog's, where the 4-bit codes order them less surely,
        so as many times more of the scan's candidates are re-ranked from float16 (measured at 1M x
        1280-d, 100 titles of 500: recall@10 0.991, 0.965 without it, 0.999 with the 8-bit index; a
        widening chosen after that evaluation run, not on the tuning seed).
        """
        widen = math.sqrt(len(self) / max(selected, 1))
        ivf = ivf_of(self.index)
        if ivf is not None:
            nprobe = int(min(ivf.nlist, math.ceil(ivf.nprobe * widen)))
            max_codes = ivf_max_codes(len(self), ivf.nlist, nprobe) if ivf.max_codes else 0
            params = faiss.SearchParametersIVF(sel=sel, nprobe=nprobe, max_codes=max_codes)
            if isinstance(self.index, faiss.IndexRefine):  # the selector filters the IVF scan; re-ranking keeps its hits
                return faiss.IndexRefineSearchParameters(k_factor=self.index.k_factor * widen, base_index_params=params)
            return params
        if isinstance(self.index, faiss.IndexHNSW):
            ef = max(128, 2 * k, min(2048, math.ceil(self.index.hnsw.efSearch * widen)))
            return faiss.SearchParametersHNSW(sel=sel, efSearch=ef)
        return faiss.SearchParameters(sel=sel)

    def _subset(self, titles: Sequence[str]) -> _Subset:
        """The rows of ``titles`` (cached for the ``SUBSET_CACHE`` most recent subsets)."""
        key = tuple(sorted({str(t) for t in titles}))
        subset = self._subsets.get(key)
        if subset is None:
            subset = self._subsets[key] = _Subset(self.rows_of_titles(key))
            while len(self._subsets) > SUBSET_CACHE:
                self._subsets.popitem(last=False)
        else:
            self._subsets.move_to_end(key)
        return subset

    def _search_subset_exactly(self, queries: np.ndarray, k: int, subset: _Subset) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` inner products of ``queries`` among the subset's rows.

        The subset's vectors are gathered once into a flat index kept with the subset; faiss searches a
        single query on one thread (no BLAS threads to wait for), batches with BLAS.
        """
        if subset.flat is None:
            flat = faiss.IndexFlatIP(self.index.d)
            flat.add(self.index.reconstruct_batch(subset.ids))
            subset.flat = flat
        scores, local = subset.flat.search(queries, min(k, len(subset.ids)))
        return scores, np.where(local >= 0, subset.ids[np.maximum(local, 0)], -1)

    # Persistence ------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the index, id map and provenance to ``folder`` (atomically replaced)."""
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(tmp / "index.faiss"))
        pq.write_table(pa.table({"video_id": self.video_ids.astype(str), "shot_index": self.shot_indices}), tmp / "ids.parquet")
        meta = {"feature": self.feature, "feature_version": self.feature_version, "snapshot_id": self.snapshot_id,
                "kind": self.kind, "size": len(self), "dim": self.index.d}
        ivf = ivf_of(self.index)
        if ivf is not None:  # faiss persists nprobe (and k_factor) but not max_codes
            meta.update(nlist=int(ivf.nlist), nprobe=int(ivf.nprobe), max_codes=int(ivf.max_codes))
        (tmp / "meta.json").write_text(json.dumps(meta))
        for name in ("index.faiss", "ids.parquet", "meta.json"):
            (tmp / name).replace(folder / name)
        tmp.rmdir()

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = False) -> ShotIndex:
        """The index persisted in ``folder`` (by :meth:`save`).

        Args:
            mmap: map the index file read-only instead of reading it into memory (faiss
                ``IO_FLAG_MMAP_IFC``: the stored vectors, codes and inverted lists stay in the page cache,
                shared by every process that maps the same file, e.g. the API's workers). The index
                can then be searched but not changed.
        """
        meta = json.loads((folder / "meta.json").read_text())
        ids = pq.read_table(folder / "ids.parquet")
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
        index = faiss.read_index(str(folder / "index.faiss"), flags)
        ivf = ivf_of(index)
        if ivf is not None:
            ivf.max_codes = int(meta.get("max_codes", ivf_max_codes(ivf.ntotal, ivf.nlist, ivf.nprobe)))
        return cls(index, np.asarray(ids.column("video_id").to_pylist(), dtype=object),
                   ids.column("shot_index").to_numpy(), meta["feature"], meta["snapshot_id"], meta.get("feature_version"))


def ivf_nlist(n: int) -> int:
    """IVF lists for ``n`` vectors: the power of two nearest ``IVF_LISTS_PER_SQRT * sqrt(n)``, at most
    ``n / IVF_TRAIN_PER_LIST`` (so k-means gets enough points per list) and ``IVF_MAX_LISTS``; 1,024 at 1M
    vectors, 256 at 100k."""
    target = 2 ** round(math.log2(max(1.0, IVF_LISTS_PER_SQRT * math.sqrt(n))))
    return int(max(1, min(target, n // IVF_TRAIN_PER_LIST, IVF_MAX_LISTS)))


def ivf_nprobe(n: int, nlist: int) -> int:
    """Lists scanned per query: ``IVF_PROBE_FRACTION`` of them, at least ``IVF_MIN_NPROBE`` and at least
    ``IVF_MIN_SCANNED`` vectors' worth, at most all of them; 16 of 1,024 (about 16k vectors) at 1M."""
    enough = math.ceil(IVF_MIN_SCANNED * nlist / max(n, 1))
    return int(min(nlist, max(IVF_MIN_NPROBE, math.ceil(IVF_PROBE_FRACTION * nlist), enough)))


def ivf_max_codes(n: int, nlist: int, nprobe: int) -> int:
    """Most vectors one IVF query compares: ``IVF_MAX_CODES_FACTOR`` times what ``nprobe`` average lists hold."""
    return int(math.ceil(IVF_MAX_CODES_FACTOR * nprobe * n / max(nlist, 1)))


def ivf_of(index: faiss.Index) -> faiss.IndexIVF | None:
    """The inverted file inside ``index`` (itself, or the base of a re-ranking ``IndexRefine``), else None."""
    if isinstance(index, faiss.IndexRefine):
        index = faiss.downcast_index(index.base_index)
    return index if isinstance(index, faiss.IndexIVF) else None


def ivf_codes(d: int) -> str:
    """The faiss factory term of the IVF codes at ``d`` dimensions: 4-bit PQ fast-scan of
    ``IVF_PQ_SUBVECTOR_DIMS``-dimension sub-vectors (``PQ640x4fs`` at 1280-d), of 1-d sub-vectors when
    ``d`` does not divide."""
    return f"PQ{d // IVF_PQ_SUBVECTOR_DIMS if d % IVF_PQ_SUBVECTOR_DIMS == 0 else d}x4fs"


def build_index(vectors: np.ndarray, exact_max: int = EXACT_MAX, *, nlist: int | None = None,
                nprobe: int | None = None, k_factor: float | None = None, codes: str | None = None,
                seed: int = 1234) -> faiss.Index:
    """An inner-product (cosine, for L2-normalized rows) index over ``vectors``, its type chosen by size.

    Args:
        vectors: float32 ``(n, d)``, L2-normalized; row ``i`` gets faiss id ``i``.
        exact_max: up to this many vectors the index is exact (``IndexFlatIP``); above, IVF-PQ
            fast-scan with float16 re-ranking (module docstring).
        nlist: IVF lists (default ``ivf_nlist(n)``).
        nprobe: IVF lists scanned per query (default ``ivf_nprobe(n, nlist)``); change it later with
            ``ivf_of(index).nprobe`` (and ``max_codes``, see ``ivf_max_codes``; 0 lifts it).
        k_factor: candidates re-ranked per requested neighbour (default ``IVF_REFINE_K_FACTOR``).
        codes: the IVF codes as a faiss factory term (default ``ivf_codes(d)``; ``"SQ8"`` builds the
            earlier versions' index, for comparisons).
        seed: k-means seed and training-sample seed, so a build is reproducible.

    Returns:
        ``faiss.IndexFlatIP``, or a ``faiss.IndexRefine`` whose base is an ``IndexIVFPQFastScan``
        (4-bit PQ codes of the residuals to the list centroids) and whose re-ranking index holds every
        vector in float16 (``reconstruct`` reads them back).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = vectors.shape
    if n <= exact_max:
        flat = faiss.IndexFlatIP(d)
        flat.add(vectors)
        return flat
    nlist = int(nlist or ivf_nlist(n))
    index = faiss.index_factory(d, f"IVF{nlist},{codes or ivf_codes(d)},Refine(SQfp16)",
                                faiss.METRIC_INNER_PRODUCT)  # owns its parts
    ivf = ivf_of(index)
    ivf.cp.seed = seed
    ivf.cp.niter = IVF_KMEANS_ITER
    train_n = min(n, IVF_TRAIN_PER_LIST * nlist)
    sample = vectors if train_n == n else vectors[np.sort(np.random.default_rng(seed).choice(n, train_n, replace=False))]
    index.train(sample)
    for lo in range(0, n, ADD_CHUNK):  # bounds the temporaries of list assignment and encoding
        index.add(vectors[lo:lo + ADD_CHUNK])
    index.k_factor = float(k_factor or IVF_REFINE_K_FACTOR)
    ivf.nprobe = int(min(nlist, nprobe or ivf_nprobe(n, nlist)))
    ivf.max_codes = 0 if isinstance(ivf, faiss.IndexIVFFastScan) else ivf_max_codes(n, nlist, ivf.nprobe)
    return index


class NoVectors(LookupError):
    """The feature is materialized, but every shot's vector is absent (silent audio, no subtitles): a
    search over it finds nothing, which is an answer, not a missing feature."""


def index_from_snapshot(store: FeatureStore, spec: FeatureSpec, snapshot_id: int | None = None) -> ShotIndex:
    """Build an index over the vectors of ``spec`` at its version (the registry's current one), as of
    ``snapshot_id`` (default: current). Titles holding only another version are left out: one index
    never mixes two versions (two encoders') of a feature, whatever was written last.
    """
    feature = spec.name
    snapshot_id = snapshot_id if snapshot_id is not None else store.snapshot_id("shot_embeddings")
    rows = store.read("shot_embeddings", And(EqualTo("feature", feature), EqualTo("feature_version", spec.version)),
                      selected_fields=("video_id", "shot_index", "has_embedding", "embedding"), snapshot_id=snapshot_id)
    if rows.num_rows == 0:
        raise LookupError(f"no {feature} embeddings of version {spec.version} stored yet; materialize the embeddings first")
    # Sorted on the small columns; the vectors are copied once, into the matrix (1M x 1280 is 5 GB:
    # filtering, sorting and combining the table first would hold four copies).
    keys = pa.table({"video_id": rows.column("video_id"), "shot_index": rows.column("shot_index"),
                     "row": pa.array(np.arange(rows.num_rows))}).filter(rows.column("has_embedding"))
    if keys.num_rows == 0:
        raise NoVectors(f"{feature} is stored, but no shot has a vector (e.g. no title has subtitles)")
    keys = keys.sort_by([("video_id", "ascending"), ("shot_index", "ascending")])
    vectors = embedding_matrix(rows.column("embedding"), keys.column("row").to_numpy())
    del rows
    return ShotIndex(build_index(vectors), np.asarray(keys.column("video_id").to_pylist(), dtype=object),
                     keys.column("shot_index").to_numpy(), feature, snapshot_id, spec.version)


def embedding_matrix(column: pa.ChunkedArray, rows: np.ndarray | None = None) -> np.ndarray:
    """A list<float> column of equal-length embeddings as a float32 ``(rows, dim)`` matrix (no Python
    floats), optionally only the rows ``rows`` (positions in the column), in that order. Each chunk's
    values are read in place; the matrix is the one copy."""
    rows = np.arange(len(column)) if rows is None else np.asarray(rows, dtype=np.int64)
    lengths = pc.fill_null(pc.list_value_length(column), -1).to_numpy(zero_copy_only=False)[rows]
    if len(rows) == 0 or lengths.min() != lengths.max() or lengths[0] < 0:  # empty, or ragged: let numpy say so
        emb = column.to_pylist()
        return np.asarray([emb[i] for i in rows], dtype=np.float32)
    dim = int(lengths[0])
    out = np.empty((len(rows), dim), np.float32)
    start = 0
    for chunk in column.chunks:
        stop = start + len(chunk)
        at = np.flatnonzero((rows >= start) & (rows < stop))
        if len(at):
            local = rows[at] - start
            values = chunk.flatten().to_numpy(zero_copy_only=False)
            if len(values) == len(chunk) * dim:  # every list of the chunk holds dim values: a matrix in place
                out[at] = values.reshape(len(chunk), dim)[local]
            else:  # some lists of the chunk are null or empty (rows without a vector, not selected)
                first = chunk.offsets.to_numpy() - chunk.offsets[0].as_py()
                for o, r in zip(at.tolist(), local.tolist()):
                    out[o] = values[first[r]:first[r] + dim]
        start = stop
    return out


def index_folder(index_root: Path, spec: FeatureSpec, snapshot_id: int | None) -> Path:
    """Where the index of ``spec`` (feature and version) built from ``snapshot_id`` is persisted."""
    return index_root / spec.name / spec.version / str(snapshot_id)


def has_current_index(store: FeatureStore, index_root: Path, spec: FeatureSpec) -> bool:
    """True when an index of ``spec`` at its version, built from the current ``shot_embeddings``
    snapshot, is persisted."""
    return (index_folder(index_root, spec, store.snapshot_id("shot_embeddings")) / "meta.json").exists()


def load_or_build(store: FeatureStore, index_root: Path, spec: FeatureSpec, *, mmap: bool = False) -> tuple[ShotIndex, bool]:
    """The index of ``spec`` (at its version) for the current snapshot: loaded if persisted, else
    built and saved. Processes building the same index take turns (a file lock): the first builds, the
    others load what it saved.

    Args:
        mmap: load the persisted index memory-mapped (see :meth:`ShotIndex.load`); a freshly built
            index is saved, then mapped, so every process serving it shares one copy.

    Returns:
        ``(index, built)``: ``built`` is False when an up-to-date index was reloaded.
    """
    snap = store.snapshot_id("shot_embeddings")
    folder = index_folder(index_root, spec, snap)
    if has_current_index(store, index_root, spec):
        return ShotIndex.load(folder, mmap=mmap), False
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{snap}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if has_current_index(store, index_root, spec):
            return ShotIndex.load(folder, mmap=mmap), False
        index = index_from_snapshot(store, spec, snap)
        index.save(folder)
    return (ShotIndex.load(folder, mmap=True), True) if mmap else (index, True)


def is_stale(index: ShotIndex, store: FeatureStore, spec: FeatureSpec | None = None) -> bool:
    """True when ``shot_embeddings`` has moved past the snapshot the index was built from, or (given
    ``spec``) the index holds another version of the feature than ``spec``'s."""
    moved = index.snapshot_id != store.snapshot_id("shot_embeddings")
    return moved or (spec is not None and index.feature_version != spec.version)
