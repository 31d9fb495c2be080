"""Batches of titles: one Dagster run over many title partitions, not one run per title.

A run over several titles is a run over a *range* of the ``titles`` dynamic partitions (the order in
which titles were added), so a batch is a run of consecutive partitions that need the same assets.
``reelhouse run``, ``reelhouse backfill`` and the nightly fill cut their ``ok`` titles into such batches
of at most ``Settings.backfill_chunk_titles`` titles; each per-title step then runs its whole batch as
one Spark job with one commit per table (``spark_jobs.batch``). The UI shows every title's partition
materialized by the batch's run, each with its own metadata. (The landing sensor requests a run per
arriving title: its media may turn out quarantined, which fails that run's media step.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Dagster's run tags naming a run's partition range.
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class TitleBatch:
    """Consecutive title partitions run together, and the feature assets they need.

    Attributes:
        titles: video ids, in partition order (consecutive partitions).
        features: the asset names the run materializes for every title of the batch.
    """

    titles: tuple[str, ...]
    features: tuple[str, ...]

    def run_target(self) -> tuple[str | None, dict[str, str]]:
        """``(partition_key, tags)`` of the batch's run: the key of a single title, else the range tags."""
        if len(self.titles) == 1:
            return self.titles[0], {}
        return None, {RANGE_START: self.titles[0], RANGE_END: self.titles[-1]}


def title_batches(partitions: Sequence[str], todo: Mapping[str, Sequence[str]], size: int) -> list[TitleBatch]:
    """Cut ``todo`` (``video_id -> features``) into batches of consecutive ``partitions`` needing the same features.

    Args:
        partitions: every title partition, in the partition definition's order.
        todo: the titles to run and the assets each needs; titles not in ``partitions`` are left out.
        size: at most this many titles per batch (>= 1).
    """
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    batches: list[TitleBatch] = []
    current: list[str] = []
    features: tuple[str, ...] = ()
    last = -2
    for pos, vid in enumerate(partitions):
        if vid not in todo:
            continue
        need = tuple(todo[vid])
        if current and (pos != last + 1 or need != features or len(current) == size):
            batches.append(TitleBatch(tuple(current), features))
            current = []
        if not current:
            features = need
        current.append(vid)
        last = pos
    if current:
        batches.append(TitleBatch(tuple(current), features))
    return batches
