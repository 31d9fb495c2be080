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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from models.visual.frame_quality import (
    CANDIDATE_POSITIONS,
    FRAME_HEIGHT,
    JPEG_QUALITY,
    QualityPolicy,
    frame_quality,
    select_representatives,
)
from reelhouse.lakehouse import FeatureSlice, FeatureStore, SliceFileWriter, WriteResult
from spark_jobs.session import driver_frame
from spark_jobs.titles import partition_by_title, require_every_title

#: Shots decoded per chunk.
CHUNK_SHOTS = 64


@dataclass(frozen=True)
class ShotSpan:
    """A shot of a title's standardized encode: frames ``[start_frame, end_frame)`` at ``fps``."""

    video_id: str
    encode_uri: str
    width: int
    height: int
    fps: float
    shot_index: int
    start_frame: int
    end_frame: int


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


def title_shot_frames(shots: pd.DataFrame, policy: QualityPolicy, io_properties: dict[str, str]) -> pa.Table:
    """The representative-frame rows of one title (``shots`` holds that title's ShotSpan rows)."""
    from reelhouse.media.frames import frames_at
    from reelhouse.media.location import localize

    first = shots.iloc[0]
    path = localize(first.encode_uri, io_properties=io_properties)
    frame_w = max(2, int(round(FRAME_HEIGHT * first.width / first.height / 2)) * 2)
    fps = float(first.fps)
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


def _select_and_write(writer: SliceFileWriter, feature: str, version: str, policy: QualityPolicy, io_properties: dict[str, str]):
    def fn(pdf: pd.DataFrame) -> pd.DataFrame:
        video_id = pdf["video_id"].iloc[0]
        rows = title_shot_frames(pdf, policy, io_properties)
        path = writer.write(FeatureSlice(video_id, feature, version), rows)
        return pd.DataFrame({"video_id": [video_id], "path": [path], "rows": [rows.num_rows]})

    return fn


SHOT_SPAN_SCHEMA = T.StructType(
    [
        T.StructField("video_id", T.StringType()),
        T.StructField("encode_uri", T.StringType()),
        T.StructField("width", T.IntegerType()),
        T.StructField("height", T.IntegerType()),
        T.StructField("fps", T.DoubleType()),
        T.StructField("shot_index", T.IntegerType()),
        T.StructField("start_frame", T.LongType()),
        T.StructField("end_frame", T.LongType()),
    ]
)


def run_shot_frames(
    spark: SparkSession,
    store: FeatureStore,
    shots: Sequence[ShotSpan],
    feature: str,
    version: str,
    run_id: str,
    policy: QualityPolicy = QualityPolicy(),
    io_properties: dict[str, str] | None = None,
) -> WriteResult:
    """Select representative frames for ``shots`` and replace each title's slice in one commit.

    Raises:
        RuntimeError: if a title produced no rows.
    """
    titles = sorted({s.video_id for s in shots})
    if not titles:
        return WriteResult("shot_frames", None, 0, (), 0)
    writer = store.file_writer("shot_frames", run_id)
    df = partition_by_title(driver_frame(
        spark,
        [(s.video_id, s.encode_uri, s.width, s.height, s.fps, s.shot_index, s.start_frame, s.end_frame) for s in shots],
        SHOT_SPAN_SCHEMA,
    ), len(titles))
    written = df.groupBy("video_id").applyInPandas(
        _select_and_write(writer, feature, version, policy, dict(io_properties or {})),
        "video_id string, path string, rows long",
    ).collect()
    files = {FeatureSlice(r.video_id, feature, version): [r.path] for r in written if r.rows}
    require_every_title(titles, (s.video_id for s in files), "representative frames")
    return store.commit_files("shot_frames", files, run_id)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: representative frames for the given titles' current shots."""
    from reelhouse.features.specs import shot_frames_spec
    from reelhouse.lakehouse import new_run_id
    from reelhouse.pipeline.shot_frames import shot_spans
    from spark_jobs.session import get_spark
    from spark_jobs.submit import job_parser, job_settings

    parser = job_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    settings, titles = job_settings(parser, args, shot_frames_spec)
    store = FeatureStore.from_settings(settings)
    spec = shot_frames_spec(settings)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    print(run_shot_frames(spark, store, shot_spans(store, settings, titles), spec.name, spec.version, new_run_id(),
                          io_properties=dict(settings.catalog_properties)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
