"""The visual shot-embedding feature: gathers shot references and hands them to the Spark job."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome, TitleNotReady, split_memoized
from reelhouse.features.registry import specs_computed_together
from reelhouse.features.rows import shot_frame_rows
from reelhouse.lakehouse import FeatureStore


def shot_frame_images(store: FeatureStore, settings: Settings, video_ids: Sequence[str]) -> list:
    """The stored representative frames (JPEG) of ``video_ids``, ready for the Spark job.

    Raises:
        TitleNotReady: if a title has no representative frames yet.
    """
    from spark_jobs.visual_embeddings import ShotFrame

    frames = []
    for vid in video_ids:
        rows = shot_frame_rows(store, settings, vid, with_thumbnails=True)
        if not rows:
            raise TitleNotReady(f"title {vid} has no representative frames for the current shot_frames version")
        frames.extend(ShotFrame(vid, r["shot_index"], r["thumbnail"]) for r in rows)
    return frames


def visual_features(settings: Settings) -> list:
    """The VisualFeature descriptors the Spark job computes, from their specs."""
    from spark_jobs.visual_embeddings import VisualFeature

    return [VisualFeature(s.name, s.version, s.params.get("model", s.name), s.name)
            for s in specs_computed_together("visual", settings)]


def embed_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Compute the visual features of titles missing any of them (one Spark job, one commit).

    Returns one outcome per (title, feature).
    """
    from spark_jobs.session import get_spark
    from spark_jobs.visual_embeddings import run_visual_embeddings

    features = visual_features(settings)
    outcomes, todo = split_memoized(store, specs_computed_together("visual", settings), video_ids)
    if not todo:
        return outcomes
    frames = shot_frame_images(store, settings, todo)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    result = run_visual_embeddings(spark, store, frames, features, run_id, settings.device)
    shots = {v: len({f.shot_index for f in frames if f.video_id == v}) for v in todo}
    outcomes += [StageOutcome(v, f.name, f.version, False, shots[v], result.snapshot_id) for v in todo for f in features]
    return outcomes
