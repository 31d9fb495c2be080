"""Asset jobs: what sensors, schedules and backfills launch."""

from __future__ import annotations

import dagster as dg

from dagster_project.assets import CATALOG_ASSETS, TITLE_ASSETS, contextual_model, titles

#: Every per-title feature of one title (one partition), from probing the file to dedup.
title_features = dg.define_asset_job(
    "title_features",
    selection=dg.AssetSelection.assets(*TITLE_ASSETS),
    partitions_def=titles,
    description="Every per-title feature of one title: probe, standardized encode, shots, frames, embeddings, dedup.",
)

#: Probe and validate one title's source file only (quick; quarantines bad files).
ingest_media = dg.define_asset_job(
    "ingest_media",
    selection=dg.AssetSelection.assets("media"),
    partitions_def=titles,
    description="Probe and validate one title's source file; bad files are quarantined with a reason.",
)

#: Catalog-wide serving assets (faiss indexes) rebuilt from the current snapshots.
serving_indexes = dg.define_asset_job(
    "serving_indexes",
    selection=dg.AssetSelection.assets(*CATALOG_ASSETS),
    description="faiss indexes over the current shot-embedding snapshot (reloaded when already built).",
)

#: Retrain the contextual encoder on the current catalog, then everything that reads its embeddings.
contextual_training = dg.define_asset_job(
    "contextual_training",
    selection=dg.AssetSelection.assets(contextual_model).downstream(),
    description="Train the contextual shot encoder on the current catalog (memoized when the data is unchanged), "
                "re-embed every title, and rebuild its index and match cuts.",
)

JOBS = [title_features, ingest_media, serving_indexes, contextual_training]
