"""Trino's catalog file for reelhouse's Iceberg catalog: the same catalog, warehouse and credentials.

A Trino server reads reelhouse's tables through its Iceberg connector, pointed at the catalog that
pyiceberg writes: the JDBC (SQL) catalog in PostgreSQL, or a REST catalog. Everything in the file is
derived from ``Settings``, so Trino and reelhouse cannot disagree on the catalog name, the database or
the warehouse. ``infra/scripts/trino.sh`` writes it into the server's ``etc/catalog/`` folder:

    python -m reelhouse.query.trino_catalog > etc/catalog/iceberg.properties

The file name (``iceberg``) is Trino's *catalog* name, the first part of ``iceberg.features.shots``;
reelhouse's ``trino.catalog`` setting must equal it. The embedded SQLite catalog cannot be shared
with Trino (no driver for it ships with Trino's Iceberg connector): ``catalog_properties`` refuses it.
"""

from __future__ import annotations

import sys
from urllib.parse import urlencode, urlsplit

from reelhouse.config import Settings
from reelhouse.lakehouse.catalog import jdbc_properties, s3_path_style

__all__ = ["catalog_properties", "render_properties"]

#: The JDBC catalog layout pyiceberg's SQL catalog creates (its ``iceberg_tables`` has the
#: ``iceberg_type`` column, which Trino calls schema version V1).
JDBC_SCHEMA_VERSION = "V1"


def _jdbc(uri: str) -> dict[str, str]:
    """Trino's JDBC-catalog connection properties for a SQLAlchemy PostgreSQL URL (``jdbc_properties``;
    Trino takes the URL's query parameters in the JDBC URL itself)."""
    jdbc = jdbc_properties(uri)
    if not jdbc["uri"].startswith("jdbc:postgresql:"):
        raise ValueError(
            "Trino reads reelhouse's tables through a JDBC catalog in PostgreSQL or a REST catalog; "
            f"the catalog is {uri.split(':', 1)[0]}. Set "
            "REELHOUSE_CATALOG_URI=postgresql+psycopg2://USER@HOST:PORT/DB (infra/scripts/postgres.sh starts one)")
    params = {k.removeprefix("jdbc."): v for k, v in jdbc.items() if k.startswith("jdbc.")}
    user, password = params.pop("user", None), params.pop("password", None)
    props = {"iceberg.jdbc-catalog.connection-url": jdbc["uri"] + (f"?{urlencode(params)}" if params else "")}
    if user:
        props["iceberg.jdbc-catalog.connection-user"] = user
    if password:
        props["iceberg.jdbc-catalog.connection-password"] = password
    return props


def _storage(settings: Settings) -> dict[str, str]:
    """Trino's file-system properties for the warehouse: native S3 (same endpoint and keys) or local."""
    scheme = urlsplit(settings.resolved_warehouse_uri).scheme
    props = settings.catalog_properties
    if scheme in ("s3", "s3a"):
        out = {"fs.native-s3.enabled": "true", "s3.region": props.get("s3.region", "us-east-1")}
        if props.get("s3.endpoint"):
            out["s3.endpoint"] = props["s3.endpoint"]
        out["s3.path-style-access"] = "true" if s3_path_style(props) else "false"
        if props.get("s3.access-key-id"):
            out["s3.aws-access-key"] = props["s3.access-key-id"]
            out["s3.aws-secret-key"] = props.get("s3.secret-access-key", "")
        return out
    if scheme == "file":
        return {"fs.native-local.enabled": "true", "local.location": "/"}
    raise ValueError(f"Trino cannot read the warehouse {settings.resolved_warehouse_uri!r}: use s3:// or file://")


def catalog_properties(settings: Settings) -> dict[str, str]:
    """The properties of Trino's Iceberg catalog over reelhouse's catalog and warehouse.

    Read-only use is enforced by the server's access control (``infra/scripts/trino.sh``), not here.

    Raises:
        ValueError: the catalog is not PostgreSQL or REST, or the warehouse is neither ``s3://`` nor
            ``file://``.
    """
    uri = settings.resolved_catalog_uri
    out: dict[str, str] = {"connector.name": "iceberg"}
    if uri.startswith(("http://", "https://")):
        out.update({"iceberg.catalog.type": "rest", "iceberg.rest-catalog.uri": uri,
                    "iceberg.rest-catalog.warehouse": settings.resolved_warehouse_uri})
    else:
        out.update({
            "iceberg.catalog.type": "jdbc",
            # Must equal pyiceberg's catalog name, or Trino lists no schemas.
            "iceberg.jdbc-catalog.catalog-name": settings.catalog_name,
            "iceberg.jdbc-catalog.driver-class": "org.postgresql.Driver",
            **_jdbc(uri),
            "iceberg.jdbc-catalog.default-warehouse-dir": settings.resolved_warehouse_uri,
            "iceberg.jdbc-catalog.schema-version": JDBC_SCHEMA_VERSION,
        })
    out.update(_storage(settings))
    return out


def render_properties(props: dict[str, str]) -> str:
    """``key=value`` lines (Java properties; values written as given)."""
    return "".join(f"{k}={v}\n" for k, v in props.items())


def main() -> int:
    """Print the catalog file for the settings of the environment (``REELHOUSE_*``, ``reelhouse.yaml``)."""
    try:
        sys.stdout.write(render_properties(catalog_properties(Settings())))
    except ValueError as err:
        print(f"trino_catalog: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
