"""Spark job: the canonical shot segmentation of each title's standardized encode.

One ``applyInPandas`` group per title streams the encode once at the detector's analysis size
(``reelhouse.media.segment.segment_file``), so the detector's models (TransNetV2 for the hybrid
default) live in the Python worker, never in the driver. Each title's slice is written as Parquet
by the executor that computed it; the driver commits all titles in one atomic Iceberg commit.

Run standalone with ``spark-submit spark_jobs/shots.py --help``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from pyspark.sql import SparkSession

from reelhouse.lakehouse import FeatureSlice, FeatureStore, SliceFileWriter, WriteResult
from spark_jobs.session import driver_frame
from spark_jobs.titles import partition_by_title, require_every_title


@dataclass(frozen=True)
class EncodedTitle:
    """A title to segment: its id, the standardized encode's URI and its frame rate (frames per second)."""

    video_id: str
    encode_uri: str
    fps: float


def title_shot_rows(path: str, fps: float, detector: str) -> pa.Table:
    """The ``shots`` rows of one encode: frames ``[start_frame, end_frame)`` and seconds ``[start_s, end_s)``."""
    from reelhouse.media.segment import segment_file

    seg = segment_file(path, detector)
    return pa.Table.from_pylist(
        [
            {
                "shot_index": s.index,
                "start_frame": s.start,
                "end_frame": s.end,
                "start_s": s.start_s,
                "end_s": s.end_s,
                "fps": fps,
                "transition": s.transition,
                "confidence": s.confidence,
                "detector": seg.detector,
            }
            for s in seg.shots
        ]
    )


def _segment_and_write(writer: SliceFileWriter, feature: str, version: str, detector: str, io_properties: dict[str, str]):
    def fn(pdf: pd.DataFrame) -> pd.DataFrame:
        from reelhouse.media.location import localize

        title = pdf.iloc[0]
        rows = title_shot_rows(str(localize(title.encode_uri, io_properties=io_properties)), float(title.fps), detector)
        path = writer.write(FeatureSlice(title.video_id, feature, version), rows)
        return pd.DataFrame({"video_id": [title.video_id], "path": [path], "rows": [rows.num_rows]})

    return fn


def run_shots(
    spark: SparkSession,
    store: FeatureStore,
    titles: Sequence[EncodedTitle],
    feature: str,
    version: str,
    detector: str,
    run_id: str,
    io_properties: dict[str, str] | None = None,
) -> WriteResult:
    """Segment ``titles`` with ``detector`` and replace each title's slice in one commit.

    Raises:
        RuntimeError: if a title produced no shots (its encode has no frames).
    """
    if not titles:
        return WriteResult("shots", None, 0, (), 0)
    writer = store.file_writer("shots", run_id)
    df = partition_by_title(
        driver_frame(
            spark,
            [(t.video_id, t.encode_uri, t.fps) for t in titles], "video_id string, encode_uri string, fps double"
        ),
        len(titles),
    )
    written = df.groupBy("video_id").applyInPandas(
        _segment_and_write(writer, feature, version, detector, dict(io_properties or {})),
        "video_id string, path string, rows long",
    ).collect()
    files = {FeatureSlice(r.video_id, feature, version): [r.path] for r in written if r.rows}
    require_every_title([t.video_id for t in titles], (s.video_id for s in files), "shots")
    return store.commit_files("shots", files, run_id)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: shots for the given titles' standardized encodes."""
    from reelhouse.features.specs import DEFAULT_DETECTOR, shots_spec
    from reelhouse.lakehouse import new_run_id
    from reelhouse.pipeline.shots import encoded_titles
    from spark_jobs.session import get_spark
    from spark_jobs.submit import job_parser, job_settings

    parser = job_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    settings, titles = job_settings(parser, args, shots_spec)
    store = FeatureStore.from_settings(settings)
    spec = shots_spec(settings)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    print(run_shots(spark, store, encoded_titles(store, settings, titles), spec.name, spec.version, DEFAULT_DETECTOR,
                    new_run_id(), io_properties=dict(settings.catalog_properties)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
