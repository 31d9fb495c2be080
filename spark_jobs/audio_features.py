"""Spark job: per-shot audio features from the standardized encode's mono track.

For each title (one ``applyInPandas`` group), the audio is streamed once in chunks and cut at shot
boundaries, so memory holds one shot plus one chunk whatever the title's length. Per shot:
- an aisfx sound embedding (512-d, L2-normalized), null with ``has_embedding = false`` when silent;
- the speech ratio from silero-vad, the RMS level and a silence flag (table ``shot_audio``).
A title without an audio track gets silent rows. The executor writes both slices as Parquet; the driver
commits each table's files for all titles in one atomic commit per table.

Run standalone with ``spark-submit spark_jobs/audio_features.py --help``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from reelhouse.lakehouse import FeatureSlice, FeatureStore, SliceFileWriter, WriteResult
from spark_jobs.session import driver_frame
from spark_jobs.titles import partition_by_title, require_every_title

#: Audio is streamed in chunks of this many seconds.
CHUNK_S = 10.0


@dataclass(frozen=True)
class AudioShot:
    """A shot ``[start_s, end_s)`` of a title whose standardized encode is at ``encode_uri``."""

    video_id: str
    encode_uri: str
    has_audio: bool
    shot_index: int
    start_s: float
    end_s: float


def shot_clips(chunks: Iterator[np.ndarray], bounds: Sequence[tuple[int, float, float]], rate: int) -> Iterator[tuple[int, np.ndarray]]:
    """Cut a stream of PCM chunks into the clips of ``bounds`` (``(shot_index, start_s, end_s)``, in time order).

    Yields ``(shot_index, clip)`` as soon as each shot's end has streamed in; a shot past the end of
    the audio gets what exists (possibly an empty clip).
    """
    buf = np.zeros(0, dtype=np.float32)
    buf_start = 0  # absolute sample index of buf[0]
    chunks = iter(chunks)
    exhausted = False
    for shot, start_s, end_s in bounds:
        a, b = int(round(start_s * rate)), int(round(end_s * rate))
        while not exhausted and buf_start + len(buf) < b:
            nxt = next(chunks, None)
            if nxt is None:
                exhausted = True
            else:
                buf = np.concatenate([buf, nxt.astype(np.float32, copy=False)])
        lo, hi = max(0, a - buf_start), max(0, b - buf_start)
        yield shot, buf[lo:hi].copy()
        drop = max(0, min(len(buf), b - buf_start))
        buf, buf_start = buf[drop:], buf_start + drop


def rms_dbfs(clip: np.ndarray) -> float:
    """RMS level of a clip in dBFS; -120 for an empty or digitally silent clip."""
    if clip.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(clip, dtype=np.float64))))
    return max(-120.0, 20 * np.log10(rms)) if rms > 0 else -120.0


def title_audio_rows(shots: pd.DataFrame, io_properties: dict[str, str], device: str = "auto") -> tuple[pa.Table, pa.Table]:
    """(embedding rows, shot_audio rows) of one title; ``shots`` holds its AudioShot rows."""
    from models.audio.embedding import AUDIO_RATE, is_silent, make_audio_predict
    from models.audio.speech import SpeechDetector, speech_ratio
    from models.cards import AUDIO_EMBEDDING_DIM, AUDIO_MODEL_NAME
    from reelhouse.media.audio import iter_audio
    from reelhouse.media.location import localize

    shots = shots.sort_values("shot_index")
    bounds = list(zip(shots["shot_index"].astype(int), shots["start_s"].astype(float), shots["end_s"].astype(float)))
    first = shots.iloc[0]
    chunks = iter(()) if not first.has_audio else iter_audio(
        localize(first.encode_uri, io_properties=io_properties), rate=AUDIO_RATE, chunk_s=CHUNK_S)
    predict = make_audio_predict(device=device)
    vad = SpeechDetector()
    emb_rows, audio_rows = [], []
    for shot, clip in shot_clips(chunks, bounds, AUDIO_RATE):
        silent = is_silent(clip)
        duration = len(clip) / AUDIO_RATE
        ratio = 0.0 if silent or duration == 0 else speech_ratio(vad.timeline(clip, AUDIO_RATE), 0.0, duration)
        vec = None if silent else predict([clip])[0].astype(np.float32)
        emb_rows.append({"shot_index": shot, "model": AUDIO_MODEL_NAME, "dim": AUDIO_EMBEDDING_DIM,
                         "has_embedding": vec is not None, "embedding": None if vec is None else vec.tolist()})
        audio_rows.append({"shot_index": shot, "speech_ratio": float(ratio), "rms_dbfs": rms_dbfs(clip), "is_silent": silent})
    return pa.Table.from_pylist(emb_rows), pa.Table.from_pylist(audio_rows)


def _compute_and_write(emb_writer: SliceFileWriter, audio_writer: SliceFileWriter, emb_feature: tuple[str, str],
                       audio_feature: tuple[str, str], io_properties: dict[str, str], device: str):
    def fn(pdf: pd.DataFrame) -> pd.DataFrame:
        video_id = pdf["video_id"].iloc[0]
        emb, audio = title_audio_rows(pdf, io_properties, device)
        return pd.DataFrame({
            "video_id": [video_id, video_id],
            "table": ["shot_embeddings", "shot_audio"],
            "path": [emb_writer.write(FeatureSlice(video_id, *emb_feature), emb),
                     audio_writer.write(FeatureSlice(video_id, *audio_feature), audio)],
        })

    return fn


AUDIO_SHOT_SCHEMA = T.StructType([
    T.StructField("video_id", T.StringType()),
    T.StructField("encode_uri", T.StringType()),
    T.StructField("has_audio", T.BooleanType()),
    T.StructField("shot_index", T.IntegerType()),
    T.StructField("start_s", T.DoubleType()),
    T.StructField("end_s", T.DoubleType()),
])


def run_audio_features(
    spark: SparkSession,
    store: FeatureStore,
    shots: Sequence[AudioShot],
    embedding_feature: tuple[str, str],
    audio_feature: tuple[str, str],
    run_id: str,
    device: str = "auto",
    io_properties: dict[str, str] | None = None,
) -> dict[str, WriteResult]:
    """Compute the audio features of ``shots``; replace each title's slices (one commit per table).

    Args:
        embedding_feature: ``(name, version)`` of the sound embedding in ``shot_embeddings``.
        audio_feature: ``(name, version)`` of the speech/loudness rows in ``shot_audio``.

    Raises:
        RuntimeError: if a title produced no rows.
    """
    titles = sorted({s.video_id for s in shots})
    if not titles:
        return {}
    emb_writer = store.file_writer("shot_embeddings", run_id)
    audio_writer = store.file_writer("shot_audio", run_id)
    df = partition_by_title(driver_frame(
        spark,
        [(s.video_id, s.encode_uri, s.has_audio, s.shot_index, s.start_s, s.end_s) for s in shots], AUDIO_SHOT_SCHEMA
    ), len(titles))
    written = df.groupBy("video_id").applyInPandas(
        _compute_and_write(emb_writer, audio_writer, embedding_feature, audio_feature, dict(io_properties or {}), device),
        "video_id string, table string, path string",
    ).collect()
    require_every_title(titles, (r.video_id for r in written), "audio features")
    results = {}
    for table, (name, version) in (("shot_embeddings", embedding_feature), ("shot_audio", audio_feature)):
        files = {FeatureSlice(r.video_id, name, version): [r.path] for r in written if r.table == table}
        results[table] = store.commit_files(table, files, run_id)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: audio features for the given titles' current shots."""
    from reelhouse.features.specs import audio_spec, shot_audio_spec
    from reelhouse.lakehouse import new_run_id
    from reelhouse.pipeline.audio import audio_shots
    from spark_jobs.session import get_spark
    from spark_jobs.submit import job_parser, job_settings

    parser = job_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    settings, titles = job_settings(parser, args, lambda s: [audio_spec(s), shot_audio_spec(s)])
    store = FeatureStore.from_settings(settings)
    emb, speech = audio_spec(settings), shot_audio_spec(settings)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    print(run_audio_features(spark, store, audio_shots(store, settings, titles), (emb.name, emb.version),
                             (speech.name, speech.version), new_run_id(), settings.device, dict(settings.catalog_properties)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
