"""The reelhouse Dagster code location (``dagster dev -m dagster_project.definitions``).

- assets: the per-title feature mesh (partitioned by content id) and the catalog-wide faiss index;
- the landing sensor adds titles and requests their runs; the automation sensor keeps derived
  partitions current (upstream updates, bumped feature versions); the nightly schedule fills
  anything still missing or stale, and ``nightly_compaction`` then merges the tables' small files;
- asset checks (``dagster_project.checks``) run with each materialization: shots tile the title,
  one row per shot per feature, embedding dimensions and norms, current versions, a current index;
- resources: Iceberg catalog, Spark, SQL engine and ANN store, each configured from the environment.
"""

from __future__ import annotations

import dagster as dg

from dagster_project.assets import CATALOG_ASSETS, TITLE_ASSETS
from dagster_project.checks import ASSET_CHECKS
from dagster_project.jobs import JOBS
from dagster_project.maintenance import compact_tables, nightly_compaction
from dagster_project.resources import default_resources
from dagster_project.schedules import SCHEDULES
from dagster_project.sensors import SENSORS

#: Evaluates every asset's automation condition (``assets.FEATURE_AUTOMATION``) every 30 s.
feature_automation = dg.AutomationConditionSensorDefinition(
    "feature_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes derived partitions when upstream partitions update or a feature version is bumped.",
)

#: Steps of a run share one process, so one Spark session (and its worker daemon) serves every step;
#: the ``spark`` pool and the run queue (``dagster_project.instance``) bound the concurrency.
defs = dg.Definitions(
    executor=dg.in_process_executor,
    assets=[*TITLE_ASSETS, *CATALOG_ASSETS],
    asset_checks=ASSET_CHECKS,
    jobs=[*JOBS, compact_tables],
    sensors=[*SENSORS, feature_automation],
    schedules=[*SCHEDULES, nightly_compaction],
    resources=default_resources(),
)
