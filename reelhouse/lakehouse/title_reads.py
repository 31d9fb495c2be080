"""Per-title reads, one by one or for a batch of titles at once.

What checks and asset metadata read about one title (a slice's columns, the versions of a feature it
holds, a table's snapshot) goes through :class:`TitleReads`. :class:`~reelhouse.lakehouse.FeatureStore`
answers each call with its own scan. :class:`BatchReads` answers the same calls for a batch of titles
from one scan per ``(table, feature, version, columns)`` for all of them, so checking or describing a
batch of N titles costs a few scans per table, not N. It holds the rows of its titles only: callers
that walk a long batch make one per chunk of ``READ_CHUNK_TITLES`` titles, so memory follows the chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import And, EqualTo, In

from reelhouse.lakehouse.schemas import table_def
from reelhouse.lakehouse.slices import FeatureSlice, slices_filter
from reelhouse.lakehouse.store import FeatureStore

#: Titles a :class:`BatchReads` is made for at a time by callers walking a batch (bounds its memory).
READ_CHUNK_TITLES = 32


class TitleReads(Protocol):
    """What per-title checks and metadata read."""

    def slice_table(self, table: str, slice_: FeatureSlice, fields: tuple[str, ...]) -> pa.Table:
        """``fields`` of the slice's rows (any order)."""
        ...

    def versions_held(self, table: str, video_id: str, feature: str) -> list[str]:
        """The versions of ``feature`` the title has rows of in ``table``, sorted."""
        ...

    def snapshot_id(self, table: str) -> int | None:
        """The snapshot holding the table's current rows (see ``FeatureStore.snapshot_id``)."""
        ...


class BatchReads:
    """:class:`TitleReads` for a fixed set of titles: one scan per distinct read, shared by all of them.

    Args:
        store: the store read from (each table as of its snapshot when first read here).
        video_ids: the titles; a read for another title raises ``KeyError``.
    """

    def __init__(self, store: FeatureStore, video_ids: Sequence[str]) -> None:
        self.store = store
        self.video_ids = tuple(dict.fromkeys(video_ids))
        self._titles = frozenset(self.video_ids)
        self._slices: dict[tuple[str, str, str, tuple[str, ...]], dict[str, pa.Table]] = {}
        self._versions: dict[tuple[str, str], dict[str, list[str]]] = {}
        self._snapshots: dict[str, int | None] = {}

    def _check(self, video_id: str) -> None:
        if video_id not in self._titles:
            raise KeyError(f"title {video_id} is not one of this batch's {len(self._titles)} titles")

    def slice_table(self, table: str, slice_: FeatureSlice, fields: tuple[str, ...]) -> pa.Table:
        self._check(slice_.video_id)
        key = (table, slice_.feature, slice_.feature_version, tuple(fields))
        if key not in self._slices:
            cols = tuple(dict.fromkeys(("video_id", *fields)))
            rows = self.store.read(table, slices_filter(FeatureSlice(v, slice_.feature, slice_.feature_version)
                                                        for v in self.video_ids), selected_fields=cols)
            self._slices[key] = _by_title(rows, self.video_ids)
        got = self._slices[key].get(slice_.video_id)
        if got is None:
            return table_def(table).arrow_schema.empty_table().select(list(fields))
        return got.select(list(fields))

    def versions_held(self, table: str, video_id: str, feature: str) -> list[str]:
        self._check(video_id)
        if (table, feature) not in self._versions:
            rows = self.store.read(table, And(EqualTo(term="feature", value=feature), In(term="video_id", literals=set(self.video_ids))),
                                   selected_fields=("video_id", "feature_version"))
            held: dict[str, set[str]] = {}
            for vid, version in zip(rows.column("video_id").to_pylist(), rows.column("feature_version").to_pylist()):
                held.setdefault(vid, set()).add(version)
            self._versions[(table, feature)] = {v: sorted(s) for v, s in held.items()}
        return self._versions[(table, feature)].get(video_id, [])

    def snapshot_id(self, table: str) -> int | None:
        if table not in self._snapshots:
            self._snapshots[table] = self.store.snapshot_id(table)
        return self._snapshots[table]


def _by_title(rows: pa.Table, video_ids: Sequence[str]) -> dict[str, pa.Table]:
    if not rows.num_rows:
        return {}
    ids = rows.column("video_id")
    out = {}
    for vid in set(ids.to_pylist()) & set(video_ids):
        out[vid] = rows.filter(pc.equal(ids, vid))
    return out


def in_chunks(video_ids: Sequence[str], size: int = READ_CHUNK_TITLES) -> Iterator[list[str]]:
    """``video_ids`` in consecutive chunks of at most ``size``."""
    for i in range(0, len(video_ids), size):
        yield list(video_ids[i:i + size])
