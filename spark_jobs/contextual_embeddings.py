"""Spark job: contextual shot embeddings of whole titles from the trained encoder (``models.contextual``).

Each title is one ``applyInPandas`` group, so the encoder sees the title's whole shot sequence (cut
into windows of at most ``max_shots`` shots, as in training) and a title is never split across tasks.
Input rows carry each shot's visual, audio and text vectors (null where the shot has none: that
modality is masked) and its length in seconds (for the title-metadata token). The Python worker
loads the artifact once (CUDA when present, batched windows), writes the title's slice as Parquet,
and returns its path; the driver commits every title's file in one Iceberg commit.

Run standalone with ``spark-submit spark_jobs/contextual_embeddings.py --help``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from reelhouse.lakehouse import FeatureSlice, FeatureStore, SliceFileWriter
from spark_jobs.session import driver_frame
from spark_jobs.titles import partition_by_title, require_every_title


def input_schema(modalities: Sequence[str]) -> T.StructType:
    """One row per shot: title, shot number, length (s) and one nullable vector per modality."""
    return T.StructType([
        T.StructField("video_id", T.StringType()),
        T.StructField("shot_index", T.IntegerType()),
        T.StructField("duration_s", T.DoubleType()),
        *(T.StructField(m, T.ArrayType(T.FloatType())) for m in modalities),
    ])


def input_rows(data) -> list[tuple]:
    """``data`` (a ``reelhouse.pipeline.contextual.CatalogShots``) as input rows, absent vectors as None."""
    modalities = list(data.embeddings[0]) if data.embeddings else []
    rows = []
    for vid, idx, dur, emb, present in zip(data.video_ids, data.shot_indices, data.durations_s, data.embeddings, data.present):
        for i in range(len(idx)):
            rows.append((vid, int(idx[i]), float(dur[i]), *(emb[m][i] if present[m][i] else None for m in modalities)))
    return rows


def title_embeddings(shots: pd.DataFrame, artifact_dir: str, modality_dims: Mapping[str, int], device: str = "auto") -> pa.Table:
    """The contextual embedding rows of one title (``shots``: its input rows, any order)."""
    from models.contextual.config import MODEL_NAME
    from models.contextual.inference import make_contextual_predict
    from models.contextual.titles import TitleShots

    shots = shots.sort_values("shot_index")
    predict = make_contextual_predict(artifact_dir, device)  # loaded once per Python worker
    title = TitleShots.from_columns({m: shots[m].tolist() for m in modality_dims}, modality_dims,
                                    shots["duration_s"].to_numpy(dtype=np.float64))
    [vectors] = predict([title])
    n, dim = vectors.shape
    return pa.table({
        "shot_index": pa.array(shots["shot_index"].to_numpy(dtype=np.int32)),
        "model": pa.array([MODEL_NAME] * n),
        "dim": pa.array(np.full(n, dim, dtype=np.int32)),
        "has_embedding": pa.array(np.ones(n, dtype=bool)),
        "embedding": pa.array(list(vectors.astype(np.float32)), type=pa.list_(pa.float32())),
    })


def _embed_and_write(writer: SliceFileWriter, feature: tuple[str, str], artifact_dir: str,
                     modality_dims: dict[str, int], device: str):
    def fn(pdf: pd.DataFrame) -> pd.DataFrame:
        video_id = pdf["video_id"].iloc[0]
        rows = title_embeddings(pdf, artifact_dir, modality_dims, device)
        path = writer.write(FeatureSlice(video_id, *feature), rows)
        return pd.DataFrame({"video_id": [video_id], "path": [path], "shots": [rows.num_rows]})

    return fn


def embed_title_inputs(spark: SparkSession, writer: SliceFileWriter, data, feature: tuple[str, str],
                       artifact_dir: str, device: str = "auto") -> dict[str, tuple[str, int]]:
    """Embed the titles of ``data`` and write each one's slice file (nothing is committed here).

    Args:
        data: the titles' inputs (``reelhouse.pipeline.contextual.CatalogShots``).
        feature: ``(name, version)`` of the contextual feature.
        artifact_dir: the encoder artifact (a folder every executor can read).

    Returns:
        ``video_id -> (file URI, shots)``.

    Raises:
        RuntimeError: if a title produced no file.
    """
    if not data.video_ids:
        return {}
    modality_dims = {m: int(x.shape[1]) for m, x in data.embeddings[0].items()}
    df = partition_by_title(driver_frame(spark, input_rows(data), input_schema(list(modality_dims))), len(data.video_ids))
    written = df.groupBy("video_id").applyInPandas(
        _embed_and_write(writer, feature, artifact_dir, modality_dims, device),
        "video_id string, path string, shots int",
    ).collect()
    require_every_title(data.video_ids, (r.video_id for r in written), "contextual embeddings")
    return {r.video_id: (r.path, r.shots) for r in written}


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: contextual embeddings of the given titles with the current encoder."""
    from reelhouse.features.specs import contextual_spec
    from reelhouse.lakehouse import new_run_id
    from reelhouse.pipeline.contextual import embed_catalog
    from spark_jobs.submit import job_parser, job_settings

    parser = job_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    settings, titles = job_settings(parser, args, contextual_spec)
    store = FeatureStore.from_settings(settings)
    for outcome in embed_catalog(settings, store, new_run_id(), titles, progress=print):
        print(outcome)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
