"""Spark job: visual shot features from each shot's stored representative frames.

Features (each mean-pooled per shot and L2-normalized, each its own versioned feature):
- ``efficientnet``: EfficientNet-Lite0 ImageNet features, 1280-d;
- ``colour``: joint HSV colour histogram (the colour match-cut flavor);
- ``layout``: low-resolution Sobel edge map (the framing/composition match-cut flavor).

The ``shot_frames`` feature already decoded the representative frames and stored each as a JPEG
(``models.visual.frame_quality.FRAME_HEIGHT`` pixels high), so this job never decodes the video again:
1. one iterator-of-Series pandas UDF per feature maps JPEG frames to vectors; models load once
   per Python worker (CUDA and fp16 when a GPU is present, batched);
2. ``applyInPandas`` per title pools frames into shots and writes one Parquet file per feature.
The driver then commits every title's files in one atomic Iceberg commit through the feature store.

Run standalone with ``spark-submit spark_jobs/visual_embeddings.py --help``.
"""

from __future__ import annotations

import io
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
from spark_jobs.session import driver_frame
from spark_jobs.titles import require_every_title


@dataclass(frozen=True)
class ShotFrame:
    """A representative frame to embed: its title, shot, and the frame as JPEG bytes (RGB)."""

    video_id: str
    shot_index: int
    jpeg: bytes


def decode_jpegs(jpegs: Sequence[bytes]) -> list[np.ndarray]:
    """JPEG bytes -> RGB uint8 ``(H, W, 3)`` arrays, in order."""
    from PIL import Image

    out = []
    for data in jpegs:
        with Image.open(io.BytesIO(data)) as img:
            out.append(np.asarray(img.convert("RGB")))
    return out


def predict_by_shape(predict, frames: Sequence[np.ndarray]) -> np.ndarray:
    """Apply ``predict((N, H, W, 3)) -> (N, D)`` to frames of mixed sizes, one call per size, rows in order."""
    out: np.ndarray | None = None
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for i, f in enumerate(frames):
        by_shape.setdefault(f.shape, []).append(i)
    for idx in by_shape.values():
        vectors = np.asarray(predict(np.stack([frames[i] for i in idx])), dtype=np.float32)
        if out is None:
            out = np.empty((len(frames), vectors.shape[1]), dtype=np.float32)
        out[idx] = vectors
    return out if out is not None else np.empty((0, 0), dtype=np.float32)


FrameFeatureKind = Literal["visual", "colour", "layout"]  # the feature names


@dataclass(frozen=True)
class VisualFeature:
    """One per-shot visual feature the job writes: stored name, version, model label, and kind."""

    name: str
    version: str
    model: str
    kind: FrameFeatureKind


def frame_predictor(kind: FrameFeatureKind, device: str = "auto"):
    """``predict((N, H, W, 3) uint8 RGB) -> (N, D) float32`` for one kind of frame feature."""
    if kind == "visual":
        from models.visual.efficientnet import make_visual_predict

        return make_visual_predict(device=device)  # cached: loads once per Python worker
    from models.visual.descriptors import colour_histogram, layout_map

    return {"colour": colour_histogram, "layout": layout_map}[kind]


def make_frame_udf(kind: FrameFeatureKind, device: str = "auto"):
    """The iterator-of-Series pandas UDF mapping JPEG frames to one kind of frame vector."""

    @F.pandas_udf(T.ArrayType(T.FloatType()))
    def frame_vectors(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        predict = frame_predictor(kind, device)
        for jpegs in batches:
            if len(jpegs) == 0:
                yield pd.Series([], dtype=object)
                continue
            yield pd.Series(list(predict_by_shape(predict, decode_jpegs(jpegs.tolist()))))

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


def embedding_frame(spark: SparkSession, frames: Sequence[ShotFrame]) -> DataFrame:
    """A DataFrame of the frames to embed.

    It is deliberately not partitioned by title: the per-title pooling then starts a new stage
    (a shuffle by title), so the UDFs and the pooling never hold two Python workers at once.
    """
    schema = T.StructType(
        [
            T.StructField("video_id", T.StringType()),
            T.StructField("shot_index", T.IntegerType()),
            T.StructField("frame", T.BinaryType()),
        ]
    )
    return driver_frame(spark, [(f.video_id, f.shot_index, f.jpeg) for f in frames], schema)


def run_visual_embeddings(
    spark: SparkSession,
    store: FeatureStore,
    frames: Sequence[ShotFrame],
    features: Sequence[VisualFeature],
    run_id: str,
    device: str = "auto",
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
    kinds = sorted({f.kind for f in features})
    vectors = embedding_frame(spark, frames).select(
        "video_id", "shot_index", *[make_frame_udf(k, device)("frame").alias(k) for k in kinds]
    )
    written = vectors.groupBy("video_id").applyInPandas(
        _pool_and_write(writer, features), "video_id string, feature string, path string, rows long"
    ).collect()
    versions = {f.name: f.version for f in features}
    files = {FeatureSlice(r.video_id, r.feature, versions[r.feature]): [r.path] for r in written}
    require_every_title(titles, (s.video_id for s in files), "visual features")
    return store.commit_files("shot_embeddings", files, run_id)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: visual features for the given titles' representative frames."""
    from reelhouse.features.registry import specs_computed_together
    from reelhouse.lakehouse import new_run_id
    from reelhouse.pipeline.visual import shot_frame_images, visual_features
    from spark_jobs.session import get_spark
    from spark_jobs.submit import job_parser, job_settings

    parser = job_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    settings, titles = job_settings(parser, args, lambda s: specs_computed_together("visual", s))
    store = FeatureStore.from_settings(settings)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    print(run_visual_embeddings(spark, store, shot_frame_images(store, settings, titles), visual_features(settings),
                                new_run_id(), settings.device))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
