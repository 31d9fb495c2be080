"""Spark job: MiniLM embeddings (384-d, L2-normalized) of the subtitle text shown during each shot.

The driver gathers each shot's text (cues overlapping ``[start_s, end_s)``); shots with text are
embedded by an iterator-of-Series pandas UDF that loads the model once per Python worker (batched,
CUDA when present); shots without text get a null embedding and ``has_embedding = false``, never zeros.
All titles' slices are committed in one atomic Iceberg commit.

Run standalone with ``spark-submit spark_jobs/text_embeddings.py --help``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from reelhouse.lakehouse import FeatureSlice, FeatureStore, WriteResult
from spark_jobs.session import driver_frame
from spark_jobs.titles import partition_by_title


@dataclass(frozen=True)
class ShotText:
    """The subtitle text of one shot, or ``None`` when no cue overlaps it."""

    video_id: str
    shot_index: int
    text: str | None


def make_text_udf(device: str = "auto"):
    """The iterator-of-Series pandas UDF mapping text to 384-d vectors."""

    @F.pandas_udf(T.ArrayType(T.FloatType()))
    def embed(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        from models.text.minilm import make_text_predict

        predict = make_text_predict(device=device)  # cached per Python worker
        for texts in batches:
            if len(texts) == 0:
                yield pd.Series([], dtype=object)
                continue
            yield pd.Series(list(predict(texts.tolist()).astype(np.float32)))

    return embed


def run_text_embeddings(spark: SparkSession, store: FeatureStore, shots: Sequence[ShotText], feature: str,
                        version: str, run_id: str, device: str = "auto") -> WriteResult:
    """Embed the shots' text and replace each title's ``(feature, version)`` slice in one commit."""
    from models.cards import TEXT_EMBEDDING_DIM, TEXT_MODEL_NAME

    with_text = [(s.video_id, s.shot_index, s.text) for s in shots if s.text]
    vectors: dict[tuple[str, int], list[float]] = {}
    if with_text:
        df = partition_by_title(driver_frame(spark, with_text, "video_id string, shot_index int, text string"),
                                len({v for v, _, _ in with_text}))
        for r in df.select("video_id", "shot_index", make_text_udf(device)("text").alias("embedding")).collect():
            vectors[(r.video_id, r.shot_index)] = list(r.embedding)
    by_title: dict[str, list[dict]] = {}
    for s in shots:
        vec = vectors.get((s.video_id, s.shot_index))
        by_title.setdefault(s.video_id, []).append({
            "shot_index": s.shot_index, "model": TEXT_MODEL_NAME, "dim": TEXT_EMBEDDING_DIM,
            "has_embedding": vec is not None, "embedding": vec,
        })
    schema = pa.schema([("shot_index", pa.int32()), ("model", pa.string()), ("dim", pa.int32()),
                        ("has_embedding", pa.bool_()), ("embedding", pa.list_(pa.float32()))])
    return store.replace_slices(
        "shot_embeddings",
        {FeatureSlice(v, feature, version): pa.Table.from_pylist(rows, schema=schema) for v, rows in by_title.items()},
        run_id,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: text embeddings for the given titles' current shots."""
    from reelhouse.features.specs import text_spec
    from reelhouse.lakehouse import new_run_id
    from reelhouse.pipeline.text import shot_texts
    from spark_jobs.session import get_spark
    from spark_jobs.submit import job_parser, job_settings

    parser = job_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    settings, titles = job_settings(parser, args, text_spec)
    store = FeatureStore.from_settings(settings)
    spec = text_spec(settings)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    print(run_text_embeddings(spark, store, shot_texts(store, settings, titles), spec.name, spec.version,
                              new_run_id(), settings.device))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
