"""The shot-dedup feature: near-duplicate groups of a title's shots from its visual embeddings."""

from __future__ import annotations

import numpy as np

from reelhouse.config import Settings
from reelhouse.features.outcome import StageOutcome, TitleNotReady
from reelhouse.features.specs import dedup_spec, visual_spec
from reelhouse.lakehouse import FeatureSlice, FeatureStore


def dedup_title(settings: Settings, store: FeatureStore, video_id: str, run_id: str) -> StageOutcome:
    """Group the title's near-duplicate shots and store the groups (memoized).

    Raises:
        TitleNotReady: if the title has no visual embeddings of the current version.
    """
    from models.dedup import near_duplicate_groups

    spec = dedup_spec(settings)
    slice_ = FeatureSlice(video_id, spec.name, spec.version)
    if store.has_slice("shot_dedup", slice_):
        return StageOutcome(video_id, spec.name, spec.version, True, 0)
    vis = visual_spec(settings)
    rows = store.read_slice("shot_embeddings", FeatureSlice(video_id, vis.name, vis.version)).to_pylist()
    if not rows:
        raise TitleNotReady(f"title {video_id} has no {vis.name} embeddings for version {vis.version}")
    rows.sort(key=lambda r: r["shot_index"])
    shots = [r["shot_index"] for r in rows]
    group, sim = near_duplicate_groups(np.asarray([r["embedding"] for r in rows], np.float32), spec.params["threshold"])
    out = [
        {"shot_index": s, "group_shot_index": shots[g], "is_kept": int(g) == i, "similarity": float(x),
         "threshold": spec.params["threshold"], "source_feature": vis.name}
        for i, (s, g, x) in enumerate(zip(shots, group, sim))
    ]
    write = store.replace_slice("shot_dedup", slice_, out, run_id)
    return StageOutcome(video_id, spec.name, spec.version, False, len(out), write.snapshot_id)
