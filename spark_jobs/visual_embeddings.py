"""Spark job: visual shot embeddings (EfficientNet-Lite0, 1280-d, mean-pooled per shot, L2-normalized).

Three stages, pipelined inside one Spark stage per partition so memory stays bounded:
1. ``mapInPandas`` decodes the sampled frames of each shot from the standardized encode;
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

#: Fractions of the shot's duration at which frames are sampled.
SAMPLE_POSITIONS: tuple[float, ...] = (0.25, 0.5, 0.75)
#: Frames are decoded with this height (width keeps the encode's aspect ratio).
FRAME_HEIGHT = 224


@dataclass(frozen=True)
class ShotRef:
    """A shot to embed: its title, the standardized encode's URI, and its time range ``[start_s, end_s)``."""

    video_id: str
    encode_uri: str
    width: int
    height: int
    shot_index: int
    start_s: float
    end_s: float


def sample_times(start_s: float, end_s: float, positions: Sequence[float] = SAMPLE_POSITIONS) -> list[float]:
    """Seconds at which to sample frames of the shot ``[start_s, end_s)``."""
    span = max(end_s - start_s, 0.0)
    return [start_s + p * span for p in positions]


def sampled_frames(batches: Iterator[pd.DataFrame], io_properties: dict[str, str]) -> Iterator[pd.DataFrame]:
    """Shot rows -> one row per sampled frame (raw RGB bytes), reading each encode by URI.

    Spark runs it through ``mapInPandas``; it is a plain function, testable without Spark.
    """
    from reelhouse.media.frames import frames_at
    from reelhouse.media.location import localize

    for pdf in batches:
        out: list[dict] = []
        for (video_id, uri, w, h), grp in pdf.groupby(["video_id", "encode_uri", "width", "height"], sort=False):
            fw = max(2, int(round(FRAME_HEIGHT * w / h / 2)) * 2)
            times: list[float] = []
            owners: list[int] = []
            for row in grp.itertuples(index=False):
                ts = sample_times(row.start_s, row.end_s)
                times.extend(ts)
                owners.extend([row.shot_index] * len(ts))
            order = np.argsort(times, kind="stable")
            frames = frames_at(localize(uri, io_properties=io_properties), [times[i] for i in order], size=(fw, FRAME_HEIGHT))
            for j, i in enumerate(order):
                f = frames[j]
                out.append({"video_id": video_id, "shot_index": owners[i], "h": f.shape[0], "w": f.shape[1], "frame": f.tobytes()})
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


def embedding_frame(spark: SparkSession, shots: Sequence[ShotRef]) -> DataFrame:
    """A DataFrame of the shots to embed, partitioned by title and sorted by time."""
    schema = T.StructType(
        [
            T.StructField("video_id", T.StringType()),
            T.StructField("encode_uri", T.StringType()),
            T.StructField("width", T.IntegerType()),
            T.StructField("height", T.IntegerType()),
            T.StructField("shot_index", T.IntegerType()),
            T.StructField("start_s", T.DoubleType()),
            T.StructField("end_s", T.DoubleType()),
        ]
    )
    rows = [(s.video_id, s.encode_uri, s.width, s.height, s.shot_index, s.start_s, s.end_s) for s in shots]
    n_titles = len({s.video_id for s in shots}) or 1
    df = spark.createDataFrame(rows, schema)
    return df.repartition(min(n_titles, spark.sparkContext.defaultParallelism * 2), "video_id").sortWithinPartitions(
        "video_id", "start_s"
    )


def run_visual_embeddings(
    spark: SparkSession,
    store: FeatureStore,
    shots: Sequence[ShotRef],
    feature: str,
    version: str,
    model: str,
    run_id: str,
    device: str = "auto",
    io_properties: dict[str, str] | None = None,
) -> WriteResult:
    """Embed ``shots`` and replace each title's ``(feature, version)`` slice in one commit.

    Raises:
        RuntimeError: if a title produced no embeddings (e.g. its encode could not be decoded).
    """
    titles = sorted({s.video_id for s in shots})
    if not titles:
        return WriteResult("shot_embeddings", None, 0, (), 0)
    writer = store.file_writer("shot_embeddings", run_id)
    frames = embedding_frame(spark, shots).mapInPandas(
        partial(sampled_frames, io_properties=dict(io_properties or {})), "video_id string, shot_index int, h int, w int, frame binary"
    )
    embedded = frames.select("video_id", "shot_index", make_embed_udf(device)("frame", "h", "w").alias("embedding"))
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
    from reelhouse.pipeline.visual import visual_spec, shot_refs
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
    refs = shot_refs(store, settings, args.titles.split(","))
    result = run_visual_embeddings(spark, store, refs, spec.name, spec.version, spec.params["model"], new_run_id(),
                                   settings.device, dict(settings.catalog_properties))
    print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
