"""Per-title layout shared by the feature jobs: one title's rows in one partition, and a check that
every title came back."""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame


def partition_by_title(df: DataFrame, n_titles: int) -> DataFrame:
    """Hash-partition ``df`` by ``video_id`` into at most twice the cores, never more than the titles."""
    parallelism = df.sparkSession.sparkContext.defaultParallelism
    return df.repartition(max(1, min(n_titles, parallelism * 2)), "video_id")


def require_every_title(titles: Iterable[str], produced: Iterable[str], what: str) -> None:
    """Raise when a title produced nothing, rather than commit a batch with a title silently missing.

    Raises:
        RuntimeError: naming the titles without ``what``.
    """
    missing = sorted(set(titles) - set(produced))
    if missing:
        raise RuntimeError(f"no {what} were produced for titles {missing}")
