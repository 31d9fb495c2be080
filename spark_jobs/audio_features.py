"""Spark job: per-shot audio features from the standardized encode's mono track.

For each title (one group of the batch runner, ``spark_jobs.batch``), the audio is streamed once in chunks and cut at shot
boundaries, so memory holds one shot plus one chunk whatever the title's length. Per shot:
- an aisfx sound embedding (512-d, L2-normalized), null with ``has_embedding = false`` when silent;
- the speech ratio from silero-vad, the RMS level and a silence flag (table ``shot_audio``).
A title without an audio track gets silent rows. The executor reads the title's encode and shots rows
itself and writes both slices as Parquet; the driver commits each table once per batch.

Run standalone with ``spark-submit spark_jobs/audio_features.py --help``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features.registry import specs_computed_together
from spark_jobs.batch import TitleJob
from spark_jobs.shots import encode_and_shots

#: Audio is streamed in chunks of this many seconds.
CHUNK_S = 10.0


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


def title_audio_rows(encode: Mapping, shots: pd.DataFrame, io_properties: Mapping[str, str],
                     device: str = "auto") -> tuple[pa.Table, pa.Table]:
    """(embedding rows, shot_audio rows) of one title.

    Args:
        encode: its ``encodes`` row (``uri``, ``has_audio``).
        shots: its shots (``shot_index``, ``start_s``, ``end_s``; seconds ``[start, end)``), any order.
    """
    from models.audio.embedding import AUDIO_RATE, is_silent, make_audio_predict
    from models.audio.speech import SpeechDetector, speech_ratio
    from models.cards import AUDIO_EMBEDDING_DIM, AUDIO_MODEL_NAME
    from reelhouse.media.audio import iter_audio
    from reelhouse.media.location import localize

    shots = shots.sort_values("shot_index")
    bounds = list(zip(shots["shot_index"].astype(int), shots["start_s"].astype(float), shots["end_s"].astype(float)))
    chunks = iter(()) if not encode["has_audio"] else iter_audio(
        localize(encode["uri"], io_properties=dict(io_properties)), rate=AUDIO_RATE, chunk_s=CHUNK_S)
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


def audio_job(settings: Settings) -> TitleJob:
    """The audio job: each title's encode and current shots in, the ``audio`` embedding (``shot_embeddings``)
    and the ``shot_audio`` rows out (one commit per table)."""
    emb, speech = specs_computed_together("audio", settings)
    io_properties, device = dict(settings.catalog_properties), settings.device

    def compute(video_id: str, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        emb_rows, audio_rows = title_audio_rows(inputs["encode"].to_pylist()[0], inputs["shots"].to_pandas(),
                                                io_properties, device)
        return {emb.name: emb_rows, speech.name: audio_rows}

    inputs = encode_and_shots(settings, ("uri", "has_audio"), ("shot_index", "start_s", "end_s"))
    return TitleJob("audio features", inputs, [emb, speech], compute, required=("encode", "shots"))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: audio features for the given titles' current shots."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], audio_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
