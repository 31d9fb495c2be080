"""Spark job: visual shot features from each shot's stored representative frames.

Features (each mean-pooled per shot and L2-normalized, each its own versioned feature):
- ``visual``: EfficientNet-Lite0 ImageNet features, 1280-d;
- ``colour``: joint HSV colour histogram (the colour match-cut flavor);
- ``layout``: low-resolution Sobel edge map (the framing/composition match-cut flavor).

The ``shot_frames`` feature already decoded the representative frames and stored each as a JPEG
(``models.visual.frame_quality.FRAME_HEIGHT`` pixels high), so this job never decodes the video again.
It runs on the batch runner (``spark_jobs.batch``): per title, the executor reads the title's frames
from the planned data files, maps them to vectors in chunks of ``CHUNK_FRAMES`` (models load once per
Python worker; CUDA and fp16 when a GPU is present, batched), pools them into shots and writes one
Parquet file per feature. The driver commits the batch in one atomic Iceberg commit.

Run standalone with ``spark-submit spark_jobs/visual_embeddings.py --help``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.features.registry import specs_computed_together
from reelhouse.features.specs import shot_frames_spec
from reelhouse.lakehouse.plan import SliceInput
from spark_jobs.batch import TitleJob


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

#: Frames decoded and embedded at a time: memory holds one chunk of frames, whatever the title's length.
CHUNK_FRAMES = 256


def frame_predictor(kind: FrameFeatureKind, device: str = "auto"):
    """``predict((N, H, W, 3) uint8 RGB) -> (N, D) float32`` for one kind of frame feature."""
    if kind == "visual":
        from models.visual.efficientnet import make_visual_predict

        return make_visual_predict(device=device)  # cached: loads once per Python worker
    from models.visual.descriptors import colour_histogram, layout_map

    return {"colour": colour_histogram, "layout": layout_map}[kind]


def title_visual_rows(frames: pa.Table, features: Sequence[FeatureSpec], device: str = "auto") -> dict[str, pa.Table]:
    """The rows of each visual feature of one title.

    Args:
        frames: the title's representative frames (``shot_index``, ``thumbnail`` as JPEG bytes), any order.
        features: the visual feature specs; each one's ``name`` is its kind, ``params["model"]`` its model label.

    Returns:
        ``feature name -> rows`` (``shot_index``, ``model``, ``dim``, ``has_embedding``, ``embedding``).
    """
    from models.visual.efficientnet import pool_shot_embeddings

    frames = frames.sort_by("shot_index")
    shot_ids = frames.column("shot_index").to_numpy()
    jpegs = frames.column("thumbnail").to_pylist()
    predictors = {f.name: frame_predictor(f.name, device) for f in features}  # type: ignore[arg-type]
    vectors: dict[str, list[np.ndarray]] = {f.name: [] for f in features}
    for start in range(0, len(jpegs), CHUNK_FRAMES):
        decoded = decode_jpegs(jpegs[start:start + CHUNK_FRAMES])
        for name, predict in predictors.items():
            vectors[name].append(predict_by_shape(predict, decoded))
    out = {}
    for feat in features:
        ids, pooled = pool_shot_embeddings(np.concatenate(vectors[feat.name]).astype(np.float32), shot_ids)
        out[feat.name] = pa.table({
            "shot_index": pa.array(ids.astype(np.int32)),
            "model": pa.array([str(feat.params.get("model", feat.name))] * len(ids)),
            "dim": pa.array([pooled.shape[1]] * len(ids), type=pa.int32()),
            "has_embedding": pa.array(np.linalg.norm(pooled, axis=1) > 0),
            "embedding": pa.array(list(pooled), type=pa.list_(pa.float32())),
        })
    return out


def visual_job(settings: Settings) -> TitleJob:
    """The visual job: each title's representative frames in, the ``visual``, ``colour`` and ``layout``
    features (the registry's features computed together) out."""
    features = specs_computed_together("visual", settings)
    frames, device = shot_frames_spec(settings), settings.device

    def compute(video_id: str, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return title_visual_rows(inputs["frames"], features, device)

    return TitleJob("visual features", {
        "frames": SliceInput("shot_frames", frames.name, frames.version, ("shot_index", "thumbnail")),
    }, features, compute, required=("frames",))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: visual features for the given titles' representative frames."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], visual_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
