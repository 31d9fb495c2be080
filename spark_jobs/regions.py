"""Spark job: faces on each title's representative frames.

It runs on the batch runner (``spark_jobs.batch``): the executor reads its title's stored representative
frames (JPEG thumbnails), runs the face detector (``models.regions``, loaded once per task) on each and
writes the title's ``regions`` slice (a ``none`` row for a frame without faces); the driver commits the
batch in one atomic Iceberg commit.

Run standalone with ``spark-submit spark_jobs/regions.py --help``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.features.specs import regions_spec
from reelhouse.lakehouse.plan import SliceInput
from spark_jobs.batch import TitleJob


def title_region_rows(frames: pa.Table, detect: Callable) -> pa.Table:
    """The ``regions`` rows of one title from its representative frames (``shot_index``, ``rank``,
    ``frame_index``, ``t_s``, ``thumbnail``): one row per box, or a ``none`` row for a frame without any."""
    from PIL import Image

    rows = []
    for f in sorted(frames.to_pylist(), key=lambda r: (r["shot_index"], r["rank"])):
        where = {"shot_index": f["shot_index"], "rank": f["rank"], "frame_index": f["frame_index"], "t_s": f["t_s"]}
        boxes = detect(np.asarray(Image.open(io.BytesIO(f["thumbnail"])).convert("RGB")))
        rows += [{**where, "label": b.label, "x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1, "area": b.area,
                  "score": b.score} for b in boxes]
        if not boxes:
            rows.append({**where, "label": "none", "x0": 0.0, "y0": 0.0, "x1": 0.0, "y1": 0.0, "area": 0.0, "score": 0.0})
    return pa.Table.from_pylist(rows)


def regions_job(settings: Settings) -> TitleJob:
    """The regions job: each title's representative frames in, its regions out."""
    spec: FeatureSpec = regions_spec(settings)
    [frames] = spec.upstream
    device = settings.device

    def compute(video_id: str, got: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        from models.regions import make_face_detector

        return {spec.name: title_region_rows(got["frames"], make_face_detector(device))}

    return TitleJob("regions", {"frames": SliceInput(frames.table, frames.name, frames.version,
                                                     ("shot_index", "rank", "frame_index", "t_s", "thumbnail"))},
                    [spec], compute, required=("frames",))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: regions of the given titles."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], regions_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
