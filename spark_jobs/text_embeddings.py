"""Spark job: MiniLM embeddings (384-d, L2-normalized) of the subtitle text shown during each shot.

It runs on the batch runner (``spark_jobs.batch``): per title, the executor reads the title's shots
and subtitle cues from the planned data files, joins each shot's text (cues overlapping
``[start_s, end_s)``), embeds the shots with text (the model loads once per Python worker; batched,
CUDA when present) and writes the title's slice. Shots without text get a null embedding and
``has_embedding = false``, never zeros. The driver commits the batch in one atomic Iceberg commit.

Run standalone with ``spark-submit spark_jobs/text_embeddings.py --help``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features.specs import shots_spec, subtitles_spec, text_spec
from reelhouse.lakehouse.plan import SliceInput
from spark_jobs.batch import TitleJob

#: The rows' schema (audit columns are stamped by the writer).
TEXT_ROWS = pa.schema([("shot_index", pa.int32()), ("model", pa.string()), ("dim", pa.int32()),
                       ("has_embedding", pa.bool_()), ("embedding", pa.list_(pa.float32()))])


def title_text_rows(shots: pa.Table, cues: pa.Table, device: str = "auto") -> pa.Table:
    """The text-embedding rows of one title.

    Args:
        shots: its shots (``shot_index``, ``start_s``, ``end_s``; seconds ``[start, end)``), any order.
        cues: its subtitle cues (``cue_index``, ``start_s``, ``end_s``, ``text``); the ``cue_index = -1``
            marker of a title without subtitles is left out.
    """
    from models.cards import TEXT_EMBEDDING_DIM, TEXT_MODEL_NAME
    from reelhouse.media.subtitles import Cue, shot_text

    cue_list = [Cue(c["start_s"], c["end_s"], c["text"])
                for c in sorted(cues.to_pylist(), key=lambda c: c["cue_index"]) if c["cue_index"] >= 0]
    shot_list = sorted(shots.to_pylist(), key=lambda s: s["shot_index"])
    texts = [shot_text(cue_list, s["start_s"], s["end_s"]) for s in shot_list]
    with_text = [i for i, t in enumerate(texts) if t]
    vectors: dict[int, list[float]] = {}
    if with_text:
        from models.text.minilm import make_text_predict

        predict = make_text_predict(device=device)  # cached per Python worker
        embedded = predict([texts[i] for i in with_text]).astype(np.float32)
        vectors = {i: embedded[k].tolist() for k, i in enumerate(with_text)}
    return pa.Table.from_pylist([
        {"shot_index": s["shot_index"], "model": TEXT_MODEL_NAME, "dim": TEXT_EMBEDDING_DIM,
         "has_embedding": i in vectors, "embedding": vectors.get(i)} for i, s in enumerate(shot_list)], schema=TEXT_ROWS)


def text_job(settings: Settings) -> TitleJob:
    """The text job: each title's current shots and subtitle cues in, its ``text`` embeddings out."""
    spec, shots, subtitles, device = text_spec(settings), shots_spec(settings), subtitles_spec(), settings.device

    def compute(video_id: str, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return {spec.name: title_text_rows(inputs["shots"], inputs["cues"], device)}

    return TitleJob("text embeddings", {
        "shots": SliceInput("shots", shots.name, shots.version, ("shot_index", "start_s", "end_s")),
        "cues": SliceInput("subtitle_cues", subtitles.name, subtitles.version, ("cue_index", "start_s", "end_s", "text")),
    }, [spec], compute, required=("shots", "cues"))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: text embeddings for the given titles' current shots."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], text_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
