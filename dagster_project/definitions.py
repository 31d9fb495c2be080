"""The reelhouse Dagster code location (``dagster dev -m dagster_project.definitions``)."""

from __future__ import annotations

import dagster as dg

from dagster_project.assets import CATALOG_ASSETS, TITLE_ASSETS
from dagster_project.jobs import JOBS
from dagster_project.resources import default_resources

defs = dg.Definitions(
    assets=[*TITLE_ASSETS, *CATALOG_ASSETS],
    jobs=JOBS,
    resources=default_resources(),
)
