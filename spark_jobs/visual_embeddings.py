"""Spark job: visual shot embeddings (EfficientNet-Lite0, 1280-d, mean-pooled per shot, L2-normalized).

Three stages, pipelined inside one Spark stage per partition so memory stays bounded:
1. ``mapInPandas`` decodes each shot's representative frames (chosen by the ``shot_frames`` feature)
   from the standardized encode;
2. an iterator-of-Series pandas UDF embeds frames with a model loaded once per Python worker
   (CUDA and fp16 when a GPU is present, batched);
3. ``applyInPandas`` per title pools frames into shots and writes the title's slice as Parquet.
The driver then commits every title's files in one atomic Iceberg commit through the feature store.

Run standalone with ``spark-submit spark_jobs/visual_embeddings.py --help``.
"""

from __future__ import annotations

import argparse
from functools import partial
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from reelhouse.lakehouse import FeatureSlice, FeatureStore, SliceFileWriter, WriteResult

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


def make_embed_udf(device: str = "auto"):
    """The iterator-of-Series pandas UDF mapping (frame bytes, h, w) to 1280-d float vectors."""

    @F.pandas_udf(T.ArrayType(T.FloatType()))
    def embed(batches: Iterator[tuple[pd.Series, pd.Series, pd.Series]]) -> Iterator[pd.Series]:
        from models.visual.efficientnet import make_visual_predict

        predict = make_visual_predict(device=device)  # cached: loads once per Python worker
        for frames, hs, ws in batches:
            if len(frames) == 0:
                yield pd.Series([], dtype=object)
                continue
            arr = np.stack(
                [np.frombuffer(b, dtype=np.uint8).reshape(int(h), int(w), 3) for b, h, w in zip(frames, hs, ws)]
            )
            emb = predict(arr)
            yield pd.Series(list(emb.astype(np.float32)))

    return embed


def _pool_and_write(writer: SliceFileWriter, feature: str, version: str, model: str):
    """applyInPandas per title: mean-pool frame vectors per shot, L2-normalize, write the slice file."""

    def fn(pdf: pd.DataFrame) -> pd.DataFrame:
        from models.visual.efficientnet import pool_shot_embeddings

        video_id = pdf["video_id"].iloc[0]
        vecs = np.stack(pdf["embedding"].to_numpy()).astype(np.float32)
        ids, pooled = pool_shot_embeddings(vecs, pdf["shot_index"].to_numpy())
        rows = pa.table(
            {
                "shot_index": pa.array(ids.astype(np.int32)),
                "model": pa.array([model] * len(ids)),
                "dim": pa.array([pooled.shape[1]] * len(ids), type=pa.int32()),
                "has_embedding": pa.array([True] * len(ids)),
                "embedding": pa.array(list(pooled), type=pa.list_(pa.float32())),
            }
        )
        path = writer.write(FeatureSlice(video_id, feature, version), rows)
        return pd.DataFrame({"video_id": [video_id], "path": [path], "rows": [len(ids)]})

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
    n_titles = len({f.video_id for f in frames}) or 1
    df = spark.createDataFrame(rows, schema)
    return df.repartition(min(n_titles, spark.sparkContext.defaultParallelism * 2), "video_id").sortWithinPartitions(
        "video_id", "t_s"
    )


def run_visual_embeddings(
    spark: SparkSession,
    store: FeatureStore,
    frames: Sequence[FrameRef],
    feature: str,
    version: str,
    model: str,
    run_id: str,
    device: str = "auto",
    io_properties: dict[str, str] | None = None,
) -> WriteResult:
    """Embed each shot's representative ``frames`` and replace each title's ``(feature, version)`` slice in one commit.

    Raises:
        RuntimeError: if a title produced no embeddings (e.g. its encode could not be decoded).
    """
    titles = sorted({f.video_id for f in frames})
    if not titles:
        return WriteResult("shot_embeddings", None, 0, (), 0)
    writer = store.file_writer("shot_embeddings", run_id)
    decoded = embedding_frame(spark, frames).mapInPandas(
        partial(sampled_frames, io_properties=dict(io_properties or {})), "video_id string, shot_index int, h int, w int, frame binary"
    )
    embedded = decoded.select("video_id", "shot_index", make_embed_udf(device)("frame", "h", "w").alias("embedding"))
    written = embedded.groupBy("video_id").applyInPandas(
        _pool_and_write(writer, feature, version, model), "video_id string, path string, rows long"
    ).collect()
    files = {FeatureSlice(r.video_id, feature, version): [r.path] for r in written}
    missing = sorted(set(titles) - {s.video_id for s in files})
    if missing:
        raise RuntimeError(f"no visual embeddings were produced for titles {missing}")
    return store.commit_files("shot_embeddings", files, run_id)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: embed the latest shots of the given titles."""
    from reelhouse.config import Settings
    from reelhouse.lakehouse import new_run_id
    from reelhouse.pipeline.visual import frame_refs, visual_spec
    from spark_jobs.session import get_spark

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog-uri", help="pyiceberg catalog URI (default: from REELHOUSE_* settings)")
    parser.add_argument("--warehouse-uri", help="Iceberg warehouse URI")
    parser.add_argument("--titles", required=True, help="comma-separated video ids")
    parser.add_argument("--feature-version", help="expected feature version (fails if the code's differs)")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in {"catalog_uri": args.catalog_uri, "warehouse_uri": args.warehouse_uri}.items() if v}
    settings = Settings(**overrides)
    store = FeatureStore.from_settings(settings)
    spec = visual_spec(settings)
    if args.feature_version and args.feature_version != spec.version:
        parser.error(f"this code computes version {spec.version}, not {args.feature_version}")
    spark = get_spark(settings.spark_master, settings.spark_conf)
    refs = frame_refs(store, settings, args.titles.split(","))
    result = run_visual_embeddings(spark, store, refs, spec.name, spec.version, spec.params["model"], new_run_id(),
                                   settings.device, dict(settings.catalog_properties))
    print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
