"""Spark job: the ``motion`` feature, a direction-of-motion descriptor per shot (the action match-cut flavor).

Per title, the standardized encode is decoded once, front to back, resampled to ``MOTION_FPS`` and
scaled to ``MOTION_HEIGHT`` pixels high (``models.visual.motion``); each sampled frame goes, as luma,
to the shot it falls in, and the shot's dense-optical-flow direction histograms are accumulated pair by
pair, so memory holds one frame and one histogram whatever the title's or the shot's length. Every shot
gets one row: a unit vector, or all zeros (``has_embedding`` false) for a shot with fewer than two
samples or without motion. The job runs on the batch runner (``spark_jobs.batch``): each title's slice
is written as Parquet by the executor that computed it, and the driver commits the batch in one atomic
Iceberg commit.

Run standalone with ``spark-submit spark_jobs/shot_motion.py --help``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from models.visual.motion import MotionHistogram, to_luma
from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.features.outcome import StageOutcome
from reelhouse.features.specs import motion_spec
from reelhouse.lakehouse import FeatureStore
from spark_jobs.batch import TitleJob, compute_titles
from spark_jobs.shots import encode_and_shots

#: Slack (in encode frames) when mapping a sample's time to the encode frame it shows, against
#: floating-point error in ``k / fps``.
_FRAME_EPS = 1e-6


def title_motion_rows(encode: Mapping, shots: pd.DataFrame, spec: FeatureSpec, io_properties: Mapping[str, str]) -> pa.Table:
    """The motion rows of one title: one per shot.

    The encode is decoded once at ``spec.params["fps"]`` samples a second, ``spec.params["height"]``
    pixels high. A sample at time ``t`` shows encode frame ``floor(t * encode fps)`` and belongs to the
    shot whose frames ``[start_frame, end_frame)`` hold that frame (``start_frame / fps <= t <
    end_frame / fps``). Only the current shot's last frame and histogram are held in memory.

    Args:
        encode: the title's ``encodes`` row (``uri``, ``width``, ``height``, ``fps``).
        shots: its shots (``shot_index``, ``start_frame``, ``end_frame``; frames ``[start, end)``), any order.
        spec: the ``motion`` spec (``models.visual.motion`` parameters; ``params["flow"]`` is the model label).
        io_properties: FileIO properties to fetch a remote encode with.

    Returns:
        ``shot_index`` (int32), ``model``, ``dim`` (int32), ``has_embedding`` (norm > 0) and ``embedding``
        (list<float32>, ``rows * cols * directions`` long), by ``shot_index``.
    """
    from reelhouse.media.frames import iter_frames
    from reelhouse.media.location import localize

    params = spec.params
    grid = (int(params["grid"][0]), int(params["grid"][1]))
    directions, height = int(params["directions"]), int(params["height"])
    min_motion_px = float(params["min_motion_px"])
    dim = math.prod(grid) * directions
    order = shots.sort_values(["start_frame", "shot_index"])
    shot_ids = order["shot_index"].to_numpy(dtype=np.int64)
    starts = order["start_frame"].to_numpy(dtype=np.int64)
    ends = order["end_frame"].to_numpy(dtype=np.int64)
    vectors: dict[int, np.ndarray] = {int(s): np.zeros(dim, dtype=np.float32) for s in shot_ids}

    if len(shot_ids):
        path = localize(encode["uri"], io_properties=dict(io_properties))
        width = max(2, int(round(height * encode["width"] / encode["height"] / 2)) * 2)
        enc_fps = float(encode["fps"])
        current, acc = 0, MotionHistogram(grid, directions, min_motion_px)
        for frame in iter_frames(path, size=(width, height), fps=float(params["fps"])):
            shown = math.floor(frame.t_s * enc_fps + _FRAME_EPS)  # the encode frame this sample shows
            while current < len(shot_ids) and shown >= ends[current]:
                vectors[int(shot_ids[current])] = acc.descriptor()
                current, acc = current + 1, MotionHistogram(grid, directions, min_motion_px)
            if current == len(shot_ids):
                break
            if shown >= starts[current]:  # a sample in a gap between shots belongs to no shot
                acc.push(to_luma(frame.rgb))
        if current < len(shot_ids):
            vectors[int(shot_ids[current])] = acc.descriptor()

    ids = sorted(vectors)
    pooled = [vectors[i] for i in ids]
    return pa.table({
        "shot_index": pa.array(ids, type=pa.int32()),
        "model": pa.array([str(params.get("flow", spec.name))] * len(ids), type=pa.string()),
        "dim": pa.array([dim] * len(ids), type=pa.int32()),
        "has_embedding": pa.array([bool(np.linalg.norm(v) > 0) for v in pooled], type=pa.bool_()),
        "embedding": pa.array([v.tolist() for v in pooled], type=pa.list_(pa.float32())),
    })


def motion_job(settings: Settings) -> TitleJob:
    """The motion job: each title's standardized encode and current shots in, its ``motion`` rows out."""
    spec = motion_spec(settings)
    io_properties = dict(settings.catalog_properties)

    def compute(video_id: str, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return {spec.name: title_motion_rows(inputs["encode"].to_pylist()[0], inputs["shots"].to_pandas(), spec,
                                             io_properties)}

    inputs = encode_and_shots(settings, ("uri", "width", "height", "fps"), ("shot_index", "start_frame", "end_frame"))
    return TitleJob("shot motion", inputs, [spec], compute, required=("encode", "shots"))


def motion_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Compute the ``motion`` feature of titles missing it (one batch: one Spark job, one commit).

    Returns one outcome per title.

    Raises:
        TitleFailures: naming the titles that failed, after the others were committed.
    """

    return compute_titles(settings, store, motion_job(settings), video_ids, run_id)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: the motion feature for the given titles' current shots."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], motion_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
