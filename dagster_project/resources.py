"""Dagster resources: the feature store (Iceberg catalog) and Spark, configured from reelhouse settings."""

from __future__ import annotations

from typing import Optional

import dagster as dg

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore


class ReelhouseResource(dg.ConfigurableResource):
    """reelhouse settings and the feature store. Unset fields come from ``REELHOUSE_*`` / the YAML file."""

    home: Optional[str] = None
    catalog_uri: Optional[str] = None
    warehouse_uri: Optional[str] = None
    landing: Optional[str] = None
    spark_master: Optional[str] = None

    def settings(self) -> Settings:
        overrides = {
            k: v
            for k, v in {
                "home": self.home,
                "catalog_uri": self.catalog_uri,
                "warehouse_uri": self.warehouse_uri,
                "landing": self.landing,
                "spark_master": self.spark_master,
            }.items()
            if v is not None
        }
        return Settings(**overrides)

    def store(self) -> FeatureStore:
        return FeatureStore.from_settings(self.settings())
