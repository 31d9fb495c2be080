"""Spark job: near-duplicate shot groups of each title, from its visual embeddings.

It runs on the batch runner (``spark_jobs.batch``): the executor reads its title's current ``visual``
embeddings, groups shots whose cosine similarity passes the threshold (``models.dedup``; the earliest
shot of a group is kept) and writes the title's slice; the driver commits the batch in one atomic
Iceberg commit.

Run standalone with ``spark-submit spark_jobs/dedup.py --help``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.features.specs import dedup_spec, visual_spec
from reelhouse.lakehouse.plan import SliceInput
from spark_jobs.batch import TitleJob


def title_dedup_rows(embeddings: pa.Table, threshold: float, source_feature: str) -> pa.Table:
    """The ``shot_dedup`` rows of one title.

    Args:
        embeddings: its shot embeddings (``shot_index``, ``embedding``), any order.
        threshold: cosine similarity at or above which two shots are near-duplicates.
        source_feature: the embedding's feature name, recorded on every row.
    """
    from models.dedup import near_duplicate_groups

    rows = embeddings.sort_by("shot_index")
    shots = rows.column("shot_index").to_pylist()
    group, sim = near_duplicate_groups(np.asarray(rows.column("embedding").to_pylist(), np.float32), threshold)
    return pa.Table.from_pylist([
        {"shot_index": s, "group_shot_index": shots[g], "is_kept": int(g) == i, "similarity": float(x),
         "threshold": threshold, "source_feature": source_feature}
        for i, (s, g, x) in enumerate(zip(shots, group, sim))
    ])


def dedup_job(settings: Settings) -> TitleJob:
    """The dedup job: each title's current visual embeddings in, its near-duplicate groups out."""
    spec: FeatureSpec = dedup_spec(settings)
    visual = visual_spec(settings)
    threshold = float(spec.params["threshold"])

    def compute(video_id: str, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return {spec.name: title_dedup_rows(inputs["visual"], threshold, visual.name)}

    return TitleJob("near-duplicate shots", {
        "visual": SliceInput("shot_embeddings", visual.name, visual.version, ("shot_index", "embedding")),
    }, [spec], compute, required=("visual",))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: near-duplicate shot groups of the given titles."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], dedup_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
