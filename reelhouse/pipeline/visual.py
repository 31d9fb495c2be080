"""The visual shot-embedding feature: gathers shot references and hands them to the Spark job."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore
from reelhouse.pipeline.encode import encode_row
from reelhouse.pipeline.outcome import StageOutcome, TitleNotReady
from reelhouse.pipeline.shots import shot_rows
from reelhouse.pipeline.specs import visual_spec


def shot_refs(store: FeatureStore, settings: Settings, video_ids: Sequence[str]) -> list:
    """The shots of ``video_ids`` with their encode locations, ready for the Spark job.

    Raises:
        TitleNotReady: if a title has no encode or no shots yet.
    """
    from spark_jobs.visual_embeddings import ShotRef

    refs = []
    for vid in video_ids:
        enc = encode_row(store, settings, vid)
        shots = shot_rows(store, settings, vid)
        if not shots:
            raise TitleNotReady(f"title {vid} has no shots for the current shots version")
        refs.extend(
            ShotRef(vid, enc["uri"], enc["width"], enc["height"], s["shot_index"], s["start_s"], s["end_s"]) for s in shots
        )
    return refs


def embed_titles(settings: Settings, store: FeatureStore, video_ids: Sequence[str], run_id: str) -> list[StageOutcome]:
    """Compute visual embeddings for the titles that lack the current version (one Spark job, one commit)."""
    from spark_jobs.session import get_spark
    from spark_jobs.visual_embeddings import run_visual_embeddings

    spec = visual_spec(settings)
    present = store.present_video_ids("shot_embeddings", spec.name, spec.version)
    todo = [v for v in video_ids if v not in present]
    outcomes = [StageOutcome(v, spec.name, spec.version, True, 0) for v in video_ids if v in present]
    if not todo:
        return outcomes
    refs = shot_refs(store, settings, todo)
    spark = get_spark(settings.spark_master, settings.spark_conf)
    result = run_visual_embeddings(spark, store, refs, spec.name, spec.version, spec.params["model"], run_id,
                                   settings.device, dict(settings.catalog_properties))
    per_title: dict[str, int] = {}
    for r in refs:
        per_title[r.video_id] = per_title.get(r.video_id, 0) + 1
    outcomes += [StageOutcome(v, spec.name, spec.version, False, per_title[v], result.snapshot_id) for v in todo]
    return outcomes
