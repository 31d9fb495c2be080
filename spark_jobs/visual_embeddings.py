"""Spark job: visual shot features from one decode of each shot's representative frames.

Features (each mean-pooled per shot and L2-normalized, each its own versioned feature):
- ``efficientnet``: EfficientNet-Lite0 ImageNet features, 1280-d;
- ``colour``: joint HSV colour histogram (the colour match-cut flavor);
- ``layout``: low-resolution Sobel edge map (the framing/composition match-cut flavor).

Three stages, pipelined inside one Spark stage per partition so memory stays bounded:
1. ``mapInPandas`` decodes each shot's representative frames (chosen by the ``shot_frames`` feature)
   from the standardized encode;
2. one iterator-of-Series pandas UDF per feature maps frames to vectors; models load once per Python
   worker (CUDA and fp16 when a GPU is present, batched);
3. ``applyInPandas`` per title pools frames into shots and writes one Parquet file per feature.
The driver then commits every title's files in one atomic Iceberg commit through the feature store.

Run standalone with ``spark-submit spark_jobs/visual_embeddings.py --help``.
"""

from __future__ import annotations

from functools import partial
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from reelhouse.lakehouse import FeatureSlice, FeatureStore, SliceFileWriter, WriteResult
from spark_jobs.titles import partition_by_title, require_every_title

#: Frames are decoded with this height (width keeps the encode's aspect ratio).
FRAME_HEIGHT = 224


@dataclass(frozen=True)
class FrameRef:
    """A representative frame to embed: its title, shot, time ``t_s`` (seconds) and the encode's URI."""

    video_id: str
    encode_uri: str
    width: int
    height: int
    shot_index: int
    t_s: float


def sampled_frames(batches: Iterator[pd.DataFrame], io_properties: dict[str, str]) -> Iterator[pd.DataFrame]:
    """FrameRef rows -> the same rows with the decoded frame (raw RGB bytes), reading encodes by URI.

    Spark runs it through ``mapInPandas``; it is a plain function, testable without Spark.
    """
    from reelhouse.media.frames import frames_at
    from reelhouse.media.location import localize

    for pdf in batches:
        out: list[dict] = []
        for (video_id, uri, w, h), grp in pdf.groupby(["video_id", "encode_uri", "width", "height"], sort=False):
            fw = max(2, int(round(FRAME_HEIGHT * w / h / 2)) * 2)
            frames = frames_at(localize(uri, io_properties=io_properties), grp["t_s"].to_numpy(), size=(fw, FRAME_HEIGHT))
            for shot, f in zip(grp["shot_index"], frames):
                out.append({"video_id": video_id, "shot_index": int(shot), "h": f.shape[0], "w": f.shape[1], "frame": f.tobytes()})
        yield pd.DataFrame(out, columns=["video_id", "shot_index", "h", "w", "frame"])


FrameFeatureKind = Literal["efficientnet", "colour", "layout"]


@dataclass(frozen=True)
class VisualFeature:
    """One per-shot visual feature the job writes: stored name, version, model label, and kind."""

    name: str
    version: str
    model: str
    kind: FrameFeatureKind


def frame_predictor(kind: FrameFeatureKind, device: str = "auto"):
    """``predict((N, H, W, 3) uint8 RGB) -> (N, D) float32`` for one kind of frame feature."""
    if kind == "efficientnet":
        from models.visual.efficientnet import make_visual_predict

        return make_visual_predict(device=device)  # cached: loads once per Python worker
    from models.visual.descriptors import colour_histogram, layout_map

    return {"colour": colour_histogram, "layout": layout_map}[kind]


def make_frame_udf(kind: FrameFeatureKind, device: str = "auto"):
    """The iterator-of-Series pandas UDF mapping (frame bytes, h, w) to one kind of frame vector."""

    @F.pandas_udf(T.ArrayType(T.FloatType()))
    def frame_vectors(batches: Iterator[tuple[pd.Series, pd.Series, pd.Series]]) -> Iterator[pd.Series]:
        predict = frame_predictor(kind, device)
        for frames, hs, ws in batches:
            if len(frames) == 0:
                yield pd.Series([], dtype=object)
                continue
            arr = np.stack(
                [np.frombuffer(b, dtype=np.uint8).reshape(int(h), int(w), 3) for b, h, w in zip(frames, hs, ws)]
            )
            yield pd.Series(list(predict(arr).astype(np.float32)))

    return frame_vectors


def _pool_and_write(writer: SliceFileWriter, features: Sequence[VisualFeature]):
    """applyInPandas per title: mean-pool each feature's frame vectors per shot, write one file per feature."""

    def fn(pdf: pd.DataFrame) -> pd.DataFrame:
        from models.visual.efficientnet import pool_shot_embeddings

        video_id = pdf["video_id"].iloc[0]
        out = []
        for feat in features:
            vecs = np.stack(pdf[feat.kind].to_numpy()).astype(np.float32)
            ids, pooled = pool_shot_embeddings(vecs, pdf["shot_index"].to_numpy())
            rows = pa.table(
                {
                    "shot_index": pa.array(ids.astype(np.int32)),
                    "model": pa.array([feat.model] * len(ids)),
                    "dim": pa.array([pooled.shape[1]] * len(ids), type=pa.int32()),
                    "has_embedding": pa.array(np.linalg.norm(pooled, axis=1) > 0),
                    "embedding": pa.array(list(pooled), type=pa.list_(pa.float32())),
                }
            )
            path = writer.write(FeatureSlice(video_id, feat.name, feat.version), rows)
            out.append({"video_id": video_id, "feature": feat.name, "path": path, "rows": len(ids)})
        return pd.DataFrame(out)

    return fn


def embedding_frame(spark: SparkSession, frames: Sequence[FrameRef]) -> DataFrame:
    """A DataFrame of the frames to embed, partitioned by title and sorted by time."""
    schema = T.StructType(
        [
            T.StructField("video_id", T.StringType()),
            T.StructField("encode_uri", T.StringType()),
            T.StructField("width", T.IntegerType()),
            T.StructField("height", T.IntegerType()),
            T.StructField("shot_index", T.IntegerType()),
            T.StructField("t_s", T.DoubleType()),
        ]
    )
    rows = [(f.video_id, f.encode_uri, f.width, f.height, f.shot_index, f.t_s) for f in frames]
    df = spark.createDataFrame(rows, schema)
    return partition_by_title(df, len({f.video_id for f in frames})).sortWithinPartitions("video_id", "t_s")


def run_visual_embeddings(
    spark: SparkSession,
    store: FeatureStore,
    frames: Sequence[FrameRef],
    features: Sequence[VisualFeature],
    run_id: str,
    device: str = "auto",
    io_properties: dict[str, str] | None = None,
) -> WriteResult:
    """Compute ``features`` from each shot's representative ``frames``; replace every
    ``(title, feature, version)`` slice in one commit.

    Raises:
        RuntimeError: if a title produced no vectors (e.g. its encode could not be decoded).
    """
    titles = sorted({f.video_id for f in frames})
    if not titles or not features:
        return WriteResult("shot_embeddings", None, 0, (), 0)
    writer = store.file_writer("shot_embeddings", run_id)
    decoded = embedding_frame(spark, frames).mapInPandas(
        partial(sampled_frames, io_properties=dict(io_properties or {})), "video_id string, shot_index int, h int, w int, frame binary"
    )
    kinds = sorted({f.kind for f in features})
    vectors = decoded.select("video_id", "shot_index", *[make_frame_udf(k, device)("frame", "h", "w").alias(k) for k in kinds])
    written = vectors.groupBy("video_id").applyInPandas(
        _pool_and_write(writer, features), "video_id string, feature string, path string, rows long"
    ).collect()
    versions = {f.name: f.version for f in features}
    files = {FeatureSlice(r.video_id, r.feature, versions[r.feature]): [r.path] for r in written}
    require_every_title(titles, (s.video_id for s in files), "visual features")
    return store.commit_files("shot_embeddings", files, run_id)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: visual features for the given titles' representative frames."""
    from reelhouse.lakehouse import new_run_id
    from reelhouse.pipeline.specs import visual_feature_specs
    from reelhouse.pipeline.visual import frame_refs, visual_features
    from spark_jobs.session import get_spark
    from spark_jobs.submit import job_parser, job_settings

    parser = job_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    settings, titles = job_settings(parser, args, visual_feature_specs)
    store = FeatureStore.from_settings(settings)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    print(run_visual_embeddings(spark, store, frame_refs(store, settings, titles), visual_features(settings),
                                new_run_id(), settings.device, dict(settings.catalog_properties)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
