"""Spark job: scenes and chapters of each title.

It runs on the batch runner (``spark_jobs.batch``): the executor reads its title's shots, its current
visual, audio and text shot embeddings and its subtitle cues, groups the shots into scenes
and the scenes into chapters (``models.scenes``) and writes the title's ``scenes`` slice; the driver
commits the batch in one atomic Iceberg commit.

Run standalone with ``spark-submit spark_jobs/scenes.py --help``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.features.specs import scenes_spec
from reelhouse.lakehouse.plan import SliceInput
from spark_jobs.batch import TitleJob

#: The embeddings a title's scenes are computed from (``models.scenes.SceneParams.weights``'s names).
SCENE_MODALITIES = ("visual", "audio", "text")


def _vectors(rows: pa.Table, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(vectors, present)`` of one embedding's rows over shots ``0 .. n-1`` (zero rows where absent)."""
    rows = rows.sort_by("shot_index")
    index = np.asarray(rows.column("shot_index").to_pylist(), dtype=np.int64)
    present = np.zeros(n, dtype=bool)
    dim = int(rows.column("dim")[0].as_py()) if len(rows) else 1
    x = np.zeros((n, dim), dtype=np.float32)
    for i, has, emb in zip(index, rows.column("has_embedding").to_pylist(), rows.column("embedding").to_pylist()):
        if has and emb is not None and 0 <= i < n:
            x[i], present[i] = emb, True
    return x, present


def title_scene_rows(shots: pa.Table, embeddings: Mapping[str, pa.Table], cues: pa.Table, params) -> pa.Table:
    """The ``scenes`` rows of one title: its scenes, then its chapters.

    Args:
        shots: its shots (``shot_index``, ``start_s``, ``end_s``), any order.
        embeddings: modality name -> its rows (``shot_index``, ``dim``, ``has_embedding``, ``embedding``).
        cues: its subtitle cues (``cue_index``, ``start_s``, ``end_s``); the no-subtitles marker (-1) is ignored.
        params: a ``models.scenes.SceneParams``.

    Raises:
        ValueError: the shots do not number ``0 .. n-1``.
    """
    from models.scenes import Modality, group_shots

    shots = shots.sort_by("shot_index")
    n = len(shots)
    if shots.column("shot_index").to_pylist() != list(range(n)):
        raise ValueError("the title's shots must be numbered 0 .. n-1")
    starts_s = np.asarray(shots.column("start_s").to_pylist(), dtype=np.float64)
    ends_s = np.asarray(shots.column("end_s").to_pylist(), dtype=np.float64)
    modalities = {}
    for name, rows in embeddings.items():
        x, present = _vectors(rows, n)
        modalities[name] = Modality(x, present)
    real = [c for c in cues.to_pylist() if c["cue_index"] >= 0]
    cue_s = np.asarray([[c["start_s"], c["end_s"]] for c in real], dtype=np.float64).reshape(-1, 2)
    grouping = group_shots(modalities, starts_s, cue_s, params)
    scene_ends = np.append(grouping.scenes[1:], n)
    rows = [{"level": "scene", "group_index": g, "start_shot": int(a), "end_shot": int(b), "start_s": float(starts_s[a]),
             "end_s": float(ends_s[b - 1]), "start_scene": g, "end_scene": g + 1}
            for g, (a, b) in enumerate(zip(grouping.scenes, scene_ends))]
    first_scene = {int(a): g for g, a in enumerate(grouping.scenes)}
    chapter_ends = np.append(grouping.chapters[1:], n)
    for c, (a, b) in enumerate(zip(grouping.chapters, chapter_ends)):
        rows.append({"level": "chapter", "group_index": c, "start_shot": int(a), "end_shot": int(b),
                     "start_s": float(starts_s[a]), "end_s": float(ends_s[b - 1]),
                     "start_scene": first_scene[int(a)], "end_scene": first_scene.get(int(b), len(grouping.scenes))})
    return pa.Table.from_pylist(rows)


def scenes_job(settings: Settings) -> TitleJob:
    """The scenes job: each title's shots, embeddings and cues in, its scenes and chapters out."""
    from models.scenes import SceneParams

    spec: FeatureSpec = scenes_spec(settings)
    upstream = {u.name: u for u in spec.upstream}
    params = SceneParams()
    columns = ("shot_index", "dim", "has_embedding", "embedding")
    inputs = {name: SliceInput("shot_embeddings", upstream[name].name, upstream[name].version, columns)
              for name in SCENE_MODALITIES}
    shots, cues = upstream["shots"], upstream["subtitles"]
    inputs["shots"] = SliceInput(shots.table, shots.name, shots.version, ("shot_index", "start_s", "end_s"))
    inputs["subtitles"] = SliceInput(cues.table, cues.name, cues.version, ("cue_index", "start_s", "end_s"))

    def compute(video_id: str, got: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return {spec.name: title_scene_rows(got["shots"], {m: got[m] for m in SCENE_MODALITIES}, got["subtitles"], params)}

    return TitleJob("scenes", inputs, [spec], compute, required=tuple(inputs))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: scenes and chapters of the given titles."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], scenes_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
