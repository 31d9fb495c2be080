"""Opening the Iceberg catalog named by configuration.

The embedded default is pyiceberg's SQL catalog on SQLite with a local warehouse folder. Any other
pyiceberg catalog (SQL on PostgreSQL, REST, ...) is selected by ``catalog_uri`` alone.
"""

from __future__ import annotations

from pathlib import Path

from pyiceberg.catalog import Catalog, load_catalog

from reelhouse.config import Settings


def with_psycopg2(url: str) -> str:
    """``postgresql://...`` as ``postgresql+psycopg2://...``: SQLAlchemy 2.1 maps a bare ``postgresql://``
    to psycopg 3, while reelhouse ships psycopg2 (what dagster-postgres uses). Other URLs are unchanged."""
    return "postgresql+psycopg2://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


def catalog_properties(settings: Settings) -> dict[str, str]:
    """The pyiceberg properties for ``settings`` (uri, warehouse, plus ``catalog_properties``)."""
    props = {
        "uri": with_psycopg2(settings.resolved_catalog_uri),
        "warehouse": settings.resolved_warehouse_uri,
    }
    props.update(settings.catalog_properties)
    return props


def open_catalog(settings: Settings) -> Catalog:
    """Open (and for local SQLite/warehouse, create) the configured Iceberg catalog."""
    props = catalog_properties(settings)
    if props["uri"].startswith("sqlite:///"):
        Path(props["uri"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if props["warehouse"].startswith("file://"):
        Path(props["warehouse"].removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    return load_catalog(settings.catalog_name, **props)
