"""Dagster resources: the Iceberg catalog, Spark, the SQL engine and the ANN store.

Each is a ``ConfigurableResource`` whose unset fields fall back to reelhouse's settings, which come from
``REELHOUSE_*`` environment variables, then ``$REELHOUSE_HOME/reelhouse.yaml`` (or
``REELHOUSE_CONFIG``), then the local default: SQLite catalog and file warehouse under the home
folder, Spark ``local[*]``, the embedded DuckDB engine, faiss indexes under ``<home>/indexes``.
``ReelhouseResource`` combines them into one ``Settings`` for the feature computations, so the same
assets run on a laptop or against PostgreSQL/REST catalogs, object storage, a Spark cluster and Trino
through configuration alone.
"""

# (No ``from __future__ import annotations``: Dagster resolves nested resource types at runtime.)

from pathlib import Path
from typing import Any, Optional

import dagster as dg
from pydantic import Field

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore


def _set(**fields: Any) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


class IcebergCatalogResource(dg.ConfigurableResource):
    """The Iceberg catalog and warehouse holding every feature table.

    Unset fields use ``REELHOUSE_CATALOG_URI`` / ``REELHOUSE_WAREHOUSE_URI`` / ``REELHOUSE_NAMESPACE``,
    else SQLite and a file warehouse under the home folder.
    """

    catalog_uri: Optional[str] = Field(None, description="pyiceberg catalog URI: sqlite:///..., postgresql+psycopg2://..., http(s):// (REST)")
    warehouse_uri: Optional[str] = Field(None, description="warehouse location: file://... or s3://...")
    namespace: Optional[str] = Field(None, description="Iceberg namespace (Trino schema) of the feature tables")

    def overrides(self) -> dict[str, Any]:
        return _set(catalog_uri=self.catalog_uri, warehouse_uri=self.warehouse_uri, namespace=self.namespace)


class SparkResource(dg.ConfigurableResource):
    """The Spark session the feature jobs run on: ``local[*]`` by default, or a cluster master."""

    master: Optional[str] = Field(None, description="Spark master URL: local[*], spark://host:7077, k8s://...")
    conf: Optional[dict[str, str]] = Field(None, description="extra Spark configuration, passed verbatim")

    def overrides(self) -> dict[str, Any]:
        return _set(spark_master=self.master, spark_conf=self.conf)


class SqlEngineResource(dg.ConfigurableResource):
    """The SQL engine for Trino-dialect queries: embedded DuckDB by default, or a Trino cluster."""

    engine: Optional[str] = Field(None, description="duckdb (embedded) or trino; anything else is rejected")
    trino_host: Optional[str] = None
    trino_port: Optional[int] = None
    trino_user: Optional[str] = None
    trino_catalog: Optional[str] = None

    def overrides(self) -> dict[str, Any]:
        trino = _set(host=self.trino_host, port=self.trino_port, user=self.trino_user, catalog=self.trino_catalog)
        return _set(sql_engine=self.engine, trino=trino or None)


class AnnStoreResource(dg.ConfigurableResource):
    """Where faiss indexes are persisted, one folder per (feature, ``shot_embeddings`` snapshot)."""

    root: Optional[str] = Field(None, description="index folder; default <home>/indexes")

    def index_root(self, settings: Settings) -> Path:
        return Path(self.root).expanduser().resolve() if self.root else settings.index_root


class ReelhouseResource(dg.ConfigurableResource):
    """reelhouse settings composed from the four resources, plus the home and landing folders."""

    home: Optional[str] = Field(None, description="data folder (REELHOUSE_HOME); default .reelhouse")
    landing: Optional[str] = Field(None, description="folder where videos are dropped; default <home>/landing")
    catalog: IcebergCatalogResource
    spark: SparkResource
    sql: SqlEngineResource
    ann: AnnStoreResource

    def settings(self) -> Settings:
        """The settings every feature computation takes (validated: a bad engine name is rejected)."""
        own = _set(home=self.home, landing=self.landing)
        updates = {**self.catalog.overrides(), **self.spark.overrides(), **self.sql.overrides()}
        if not updates:
            return Settings(**own)
        if "trino" in updates:
            updates["trino"] = {**Settings(**own).trino.model_dump(), **updates["trino"]}
        return Settings(**own, **updates)

    def store(self) -> FeatureStore:
        return FeatureStore.from_settings(self.settings())

    def index_root(self) -> Path:
        return self.ann.index_root(self.settings())


def resources_for(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resource dict for ``settings`` (the main job and the CLI pin every field explicitly)."""
    catalog = IcebergCatalogResource(catalog_uri=settings.catalog_uri, warehouse_uri=settings.warehouse_uri,
                                     namespace=settings.namespace)
    spark = SparkResource(master=settings.spark_master, conf=dict(settings.spark_conf) or None)
    sql = SqlEngineResource(engine=settings.sql_engine, trino_host=settings.trino.host, trino_port=settings.trino.port,
                            trino_user=settings.trino.user, trino_catalog=settings.trino.catalog)
    ann = AnnStoreResource(root=str(settings.index_root))
    reelhouse = ReelhouseResource(home=str(settings.home), landing=str(settings.resolved_landing),
                                  catalog=catalog, spark=spark, sql=sql, ann=ann)
    return {"reelhouse": reelhouse, "catalog": catalog, "spark": spark, "sql_engine": sql, "ann_store": ann}


def default_resources() -> dict[str, dg.ConfigurableResource]:
    """The code location's resources: everything unset, so the environment decides at run time."""
    catalog, spark, sql, ann = IcebergCatalogResource(), SparkResource(), SqlEngineResource(), AnnStoreResource()
    return {"reelhouse": ReelhouseResource(catalog=catalog, spark=spark, sql=sql, ann=ann),
            "catalog": catalog, "spark": spark, "sql_engine": sql, "ann_store": ann}
