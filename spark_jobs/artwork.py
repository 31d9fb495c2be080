"""Spark job: artwork candidates of each title.

It runs on the batch runner (``spark_jobs.batch``): the executor reads its title's shots, stored
representative frames (with their JPEG thumbnails), visual embeddings and scenes, scores and picks the
candidates (``models.artwork``) and writes the title's ``artwork`` slice; the driver commits the batch
in one atomic Iceberg commit.

Run standalone with ``spark-submit spark_jobs/artwork.py --help``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.features.specs import artwork_spec
from reelhouse.lakehouse.plan import SliceInput
from spark_jobs.batch import TitleJob


#: The one row of a title without any usable frame.
NO_CANDIDATES = pa.Table.from_pylist([{"rank": 0, "shot_index": -1, "frame_index": -1, "time_s": 0.0, "score": 0.0,
                                       "scene_index": -1, "brightness": 0.0, "sharpness": 0.0, "colourfulness": 0.0}])


def title_artwork_rows(shots: pa.Table, frames: pa.Table, visual: pa.Table, scenes: pa.Table, policy) -> pa.Table:
    """The ``artwork`` rows of one title (at most ``policy.candidates``, in pick order); a title without
    any usable frame gets one row of rank 0 (shot and frame -1) saying so, so it is not searched again.

    Args:
        shots: ``shot_index``, ``start_frame``, ``end_frame``, ``fps``, ``transition``.
        frames: its representative frames: ``shot_index``, ``frame_index``, ``t_s``, ``brightness``,
            ``sharpness``, ``is_black``, ``is_blurred``, ``is_flash``, ``thumbnail``.
        visual: ``shot_index``, ``embedding``.
        scenes: its scenes and chapters (``level``, ``group_index``, ``start_shot``, ``end_shot``).
        policy: a ``models.artwork.ArtworkPolicy``.
    """
    from PIL import Image

    from models.artwork import colourfulness, eligible, pick_candidates, scores

    shot_rows = {r["shot_index"]: r for r in shots.to_pylist()}
    order = sorted(shot_rows)
    starts_gradual = {s: shot_rows[s]["transition"] == "gradual" for s in order}
    ends_gradual = {s: starts_gradual.get(s + 1, False) for s in order}
    scene_of = {s: r["group_index"] for r in scenes.to_pylist() if r["level"] == "scene"
                for s in range(r["start_shot"], r["end_shot"])}
    rows = [r for r in frames.to_pylist() if r["shot_index"] in shot_rows]
    if not rows:
        return NO_CANDIDATES
    fps = float(shot_rows[order[0]]["fps"])
    shot = np.asarray([r["shot_index"] for r in rows])
    ok = eligible(np.asarray([r["frame_index"] for r in rows]), np.asarray([shot_rows[s]["start_frame"] for s in shot]),
                  np.asarray([shot_rows[s]["end_frame"] for s in shot]), np.asarray([starts_gradual[s] for s in shot]),
                  np.asarray([ends_gradual[s] for s in shot]),
                  np.asarray([not (r["is_black"] or r["is_blurred"] or r["is_flash"]) for r in rows]), fps, policy)
    colour = np.asarray([colourfulness(np.asarray(Image.open(io.BytesIO(r["thumbnail"])).convert("RGB")))
                         if good else 0.0 for r, good in zip(rows, ok)])
    score = scores(np.asarray([r["sharpness"] for r in rows]), np.asarray([r["brightness"] for r in rows]), colour, ok,
                   policy)
    vectors = {}
    for r in visual.to_pylist():
        if r["embedding"] is not None:
            v = np.asarray(r["embedding"], dtype=np.float64)
            norm = np.linalg.norm(v)
            if norm > 0:
                vectors[r["shot_index"]] = v / norm
    scene = np.asarray([scene_of.get(int(s), -1) for s in shot])
    picked = pick_candidates(score, shot, scene, vectors, policy.candidates, policy.duplicate_cosine)
    if not picked:
        return NO_CANDIDATES
    return pa.Table.from_pylist([
        {"rank": n, "shot_index": int(shot[i]), "frame_index": int(rows[i]["frame_index"]), "time_s": float(rows[i]["t_s"]),
         "score": float(score[i]), "scene_index": int(scene[i]), "brightness": float(rows[i]["brightness"]),
         "sharpness": float(rows[i]["sharpness"]), "colourfulness": float(colour[i])}
        for n, i in enumerate(picked, 1)])


def artwork_job(settings: Settings) -> TitleJob:
    """The artwork job: each title's frames, shots, visual embeddings and scenes in, its candidates out."""
    from models.artwork import ArtworkPolicy

    spec: FeatureSpec = artwork_spec(settings)
    up = {u.name: u for u in spec.upstream}
    policy = ArtworkPolicy()
    inputs = {
        "shots": SliceInput("shots", up["shots"].name, up["shots"].version,
                            ("shot_index", "start_frame", "end_frame", "fps", "transition")),
        "frames": SliceInput("shot_frames", up["shot_frames"].name, up["shot_frames"].version,
                             ("shot_index", "frame_index", "t_s", "brightness", "sharpness", "is_black", "is_blurred",
                              "is_flash", "thumbnail")),
        "visual": SliceInput("shot_embeddings", up["visual"].name, up["visual"].version, ("shot_index", "embedding")),
        "scenes": SliceInput("scenes", up["scenes"].name, up["scenes"].version,
                             ("level", "group_index", "start_shot", "end_shot")),
    }

    def compute(video_id: str, got: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return {spec.name: title_artwork_rows(got["shots"], got["frames"], got["visual"], got["scenes"], policy)}

    return TitleJob("artwork candidates", inputs, [spec], compute, required=tuple(inputs))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: artwork candidates of the given titles."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], artwork_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
