"""faiss ANN indexes over shot embeddings, built from a named Iceberg snapshot.

An index is persisted under ``<index_root>/<feature>/<snapshot_id>/`` with the id map (row -> title,
shot) and its provenance, and reloaded without a rebuild while the snapshot is current. Rows are ordered
by (video_id, shot_index), so any subset of titles maps to id ranges and searches can be restricted to
the titles an editor picks with a faiss ID selector.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.expressions import EqualTo

from reelhouse.lakehouse import FeatureStore
from reelhouse.lakehouse.store import keep_latest_versions

#: Up to this many vectors the index is exact (flat inner product); above, HNSW.
EXACT_MAX = 50_000


@dataclass(frozen=True)
class Neighbour:
    """A search hit: the shot and its cosine similarity to the query."""

    video_id: str
    shot_index: int
    score: float


class ShotIndex:
    """A faiss index of L2-normalized shot vectors with its id map and provenance.

    Args:
        index: faiss index whose ids are row positions in ``video_ids``/``shot_indices``.
        video_ids: title of each row.
        shot_indices: shot number of each row.
        feature: the embedding feature indexed.
        snapshot_id: the ``shot_embeddings`` snapshot the index was built from.
    """

    def __init__(self, index: faiss.Index, video_ids: np.ndarray, shot_indices: np.ndarray,
                 feature: str, snapshot_id: int | None) -> None:
        self.index = index
        self.video_ids = video_ids
        self.shot_indices = shot_indices.astype(np.int64)
        self.feature = feature
        self.snapshot_id = snapshot_id
        self._rows = {(v, int(s)): i for i, (v, s) in enumerate(zip(video_ids, self.shot_indices))}

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        return "hnsw" if isinstance(self.index, faiss.IndexHNSW) else "flat"

    def row_of(self, video_id: str, shot_index: int) -> int:
        """Row position of a shot.

        Raises:
            KeyError: if the shot is not in the index.
        """
        try:
            return self._rows[(video_id, int(shot_index))]
        except KeyError:
            raise KeyError(f"shot {shot_index} of title {video_id} is not in the {self.feature} index") from None

    def vector(self, video_id: str, shot_index: int) -> np.ndarray:
        return self.index.reconstruct(self.row_of(video_id, shot_index))

    def search(self, queries: np.ndarray, k: int, titles: Sequence[str] | None = None) -> list[list[Neighbour]]:
        """Top-``k`` neighbours of each query vector, optionally only among ``titles``."""
        if k < 1:
            raise ValueError("k must be >= 1")
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.index.d)
        params = None
        if titles is not None:
            ids = np.flatnonzero(np.isin(self.video_ids, np.asarray(list(titles)))).astype(np.int64)
            if ids.size == 0:
                return [[] for _ in range(len(queries))]
            sel = faiss.IDSelectorBatch(ids)
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=max(128, 2 * k)) if self.kind == "hnsw" else faiss.SearchParameters(sel=sel)
        k_eff = min(k, len(self))
        scores, rows = self.index.search(queries, k_eff, params=params)
        return [
            [Neighbour(str(self.video_ids[r]), int(self.shot_indices[r]), float(s)) for s, r in zip(srow, rrow) if r >= 0]
            for srow, rrow in zip(scores, rows)
        ]

    def similar(self, video_id: str, shot_index: int, k: int = 5, titles: Sequence[str] | None = None) -> list[Neighbour]:
        """The ``k`` shots most similar to a stored shot, excluding the shot itself."""
        hits = self.search(self.vector(video_id, shot_index)[None, :], k + 1, titles)[0]
        return [h for h in hits if (h.video_id, h.shot_index) != (video_id, int(shot_index))][:k]

    # Persistence ------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the index, id map and provenance to ``folder`` (atomically replaced)."""
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(tmp / "index.faiss"))
        pq.write_table(pa.table({"video_id": self.video_ids.astype(str), "shot_index": self.shot_indices}), tmp / "ids.parquet")
        (tmp / "meta.json").write_text(json.dumps({"feature": self.feature, "snapshot_id": self.snapshot_id,
                                                   "kind": self.kind, "size": len(self), "dim": self.index.d}))
        for name in ("index.faiss", "ids.parquet", "meta.json"):
            (tmp / name).replace(folder / name)
        tmp.rmdir()

    @classmethod
    def load(cls, folder: Path) -> ShotIndex:
        meta = json.loads((folder / "meta.json").read_text())
        ids = pq.read_table(folder / "ids.parquet")
        return cls(faiss.read_index(str(folder / "index.faiss")), np.asarray(ids.column("video_id").to_pylist(), dtype=object),
                   ids.column("shot_index").to_numpy(), meta["feature"], meta["snapshot_id"])


def build_index(vectors: np.ndarray, exact_max: int = EXACT_MAX, hnsw_m: int = 32) -> faiss.Index:
    """An inner-product index sized to the data: exact up to ``exact_max`` vectors, HNSW above."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    d = vectors.shape[1]
    if len(vectors) <= exact_max:
        index: faiss.Index = faiss.IndexFlatIP(d)
    else:
        index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    index.add(vectors)
    return index


def index_from_snapshot(store: FeatureStore, feature: str, snapshot_id: int | None = None) -> ShotIndex:
    """Build an index over the latest version of ``feature`` per title, as of ``snapshot_id`` (default: current)."""
    snapshot_id = snapshot_id if snapshot_id is not None else store.snapshot_id("shot_embeddings")
    rows = store.read("shot_embeddings", EqualTo("feature", feature),
                      selected_fields=("video_id", "feature", "feature_version", "written_at", "shot_index", "has_embedding", "embedding"),
                      snapshot_id=snapshot_id)
    rows = keep_latest_versions(rows)
    rows = rows.filter(pc.field("has_embedding"))
    if rows.num_rows == 0:
        raise LookupError(f"no {feature} embeddings stored yet; materialize the embeddings first")
    rows = rows.sort_by([("video_id", "ascending"), ("shot_index", "ascending")])
    vectors = np.asarray(rows.column("embedding").to_pylist(), dtype=np.float32)
    return ShotIndex(build_index(vectors), np.asarray(rows.column("video_id").to_pylist(), dtype=object),
                     rows.column("shot_index").to_numpy(), feature, snapshot_id)


def index_folder(index_root: Path, feature: str, snapshot_id: int | None) -> Path:
    return index_root / feature / str(snapshot_id)


def has_current_index(store: FeatureStore, index_root: Path, feature: str) -> bool:
    """True when an index for ``feature`` built from the current ``shot_embeddings`` snapshot is persisted."""
    return (index_folder(index_root, feature, store.snapshot_id("shot_embeddings")) / "meta.json").exists()


def load_or_build(store: FeatureStore, index_root: Path, feature: str) -> tuple[ShotIndex, bool]:
    """The index for the current snapshot: loaded if persisted, else built and saved.

    Returns:
        ``(index, built)``: ``built`` is False when an up-to-date index was reloaded.
    """
    snap = store.snapshot_id("shot_embeddings")
    folder = index_folder(index_root, feature, snap)
    if has_current_index(store, index_root, feature):
        return ShotIndex.load(folder), False
    index = index_from_snapshot(store, feature, snap)
    index.save(folder)
    return index, True


def is_stale(index: ShotIndex, store: FeatureStore) -> bool:
    """True when ``shot_embeddings`` has moved past the snapshot the index was built from."""
    return index.snapshot_id != store.snapshot_id("shot_embeddings")
