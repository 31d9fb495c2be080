"""The reelhouse Dagster code location (``dagster dev -m dagster_project.definitions``)."""

from __future__ import annotations

import dagster as dg

from dagster_project.assets import CATALOG_ASSETS, TITLE_ASSETS
from dagster_project.resources import ReelhouseResource

defs = dg.Definitions(
    assets=[*TITLE_ASSETS, *CATALOG_ASSETS],
    resources={"reelhouse": ReelhouseResource()},
)
