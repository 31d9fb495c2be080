"""Spark job: representative frames per shot, with the quality filter, each stored as a JPEG.

The stored frames are what the visual features are computed from and what contact sheets show, so
the video is decoded for them once, here. Candidates are taken at fixed fractions of each shot,
decoded at ``FRAME_HEIGHT`` from the standardized
encode in chunks of shots (memory stays bounded whatever the title's length), scored for black, blur
and flash, and the best ``k`` per shot are kept. Each title's slice is written as Parquet by the
executor that computed it; the driver commits all titles in one atomic Iceberg commit.

Run standalone with ``spark-submit spark_jobs/shot_frames.py --help``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from models.visual.frame_quality import (
    CANDIDATE_POSITIONS,
    FRAME_HEIGHT,
    JPEG_QUALITY,
    QualityPolicy,
    frame_quality,
    select_representatives,
)
from reelhouse.config import Settings
from reelhouse.features.specs import shot_frames_spec
from spark_jobs.batch import TitleJob
from spark_jobs.shots import encode_and_shots

#: Shots decoded per chunk.
CHUNK_SHOTS = 64


def candidate_frames(start_frame: int, end_frame: int, positions: Sequence[float] = CANDIDATE_POSITIONS) -> list[int]:
    """Distinct candidate frame indices inside ``[start_frame, end_frame)``, ascending."""
    span = max(end_frame - start_frame, 1)
    picks = {min(end_frame - 1, start_frame + int(p * span)) for p in positions}
    return sorted(max(start_frame, f) for f in picks)


def _jpeg(frame: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def title_shot_frames(encode: Mapping, shots: pd.DataFrame, policy: QualityPolicy, io_properties: Mapping[str, str]) -> pa.Table:
    """The representative-frame rows of one title.

    Args:
        encode: its ``encodes`` row (``uri``, ``width``, ``height``, ``fps``).
        shots: its shots (``shot_index``, ``start_frame``, ``end_frame``; frames ``[start, end)``), any order.
    """
    from reelhouse.media.frames import frames_at
    from reelhouse.media.location import localize

    path = localize(encode["uri"], io_properties=dict(io_properties))
    frame_w = max(2, int(round(FRAME_HEIGHT * encode["width"] / encode["height"] / 2)) * 2)
    fps = float(encode["fps"])
    rows: list[dict] = []
    shots = shots.sort_values("shot_index")
    for chunk_start in range(0, len(shots), CHUNK_SHOTS):
        chunk = shots.iloc[chunk_start : chunk_start + CHUNK_SHOTS]
        cands = [(r.shot_index, f) for r in chunk.itertuples(index=False) for f in candidate_frames(r.start_frame, r.end_frame)]
        frames = frames_at(path, [(f + 0.5) / fps for _, f in cands], size=(frame_w, FRAME_HEIGHT))
        by_shot: dict[int, list[int]] = {}
        for i, (shot, _) in enumerate(cands):
            by_shot.setdefault(shot, []).append(i)
        for shot, idx in by_shot.items():
            quality = frame_quality(frames[idx], policy)
            for rank, j in enumerate(select_representatives(quality, policy.k), 1):
                q = quality[j]
                f = cands[idx[j]][1]
                rows.append({
                    "shot_index": int(shot), "rank": rank, "frame_index": int(f), "t_s": (f + 0.5) / fps,
                    "brightness": q.brightness, "sharpness": q.sharpness, "is_black": q.is_black,
                    "is_blurred": q.is_blurred, "is_flash": q.is_flash, "thumbnail": _jpeg(frames[idx[j]]),
                })
    return pa.Table.from_pylist(rows)


def shot_frames_job(settings: Settings, policy: QualityPolicy = QualityPolicy()) -> TitleJob:
    """The shot-frames job: each title's encode and current shots in, its representative frames out."""
    spec = shot_frames_spec(settings)
    io_properties = dict(settings.catalog_properties)

    def compute(video_id: str, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return {spec.name: title_shot_frames(inputs["encode"].to_pylist()[0], inputs["shots"].to_pandas(), policy,
                                             io_properties)}

    inputs = encode_and_shots(settings, ("uri", "width", "height", "fps"), ("shot_index", "start_frame", "end_frame"))
    return TitleJob("representative frames", inputs, [spec], compute, required=("encode", "shots"))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: representative frames for the given titles' current shots."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], shot_frames_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
