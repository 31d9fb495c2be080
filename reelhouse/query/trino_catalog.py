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
from urllib.parse import urlsplit

from reelhouse.config import Settings

__all__ = ["catalog_properties", "render_properties"]

#: The JDBC catalog layout pyiceberg's SQL catalog creates (its ``iceberg_tables`` has the
#: ``iceberg_type`` column, which Trino calls schema version V1).
JDBC_SCHEMA_VERSION = "V1"


def _jdbc_url(sqlalchemy_url: str) -> tuple[str, dict[str, str]]:
    """``jdbc:postgresql://host:port/db`` and the user/password properties of a SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(
            f"Trino reads reelhouse's tables through a JDBC catalog in PostgreSQL or a REST catalog; "
            f"the catalog {url.render_as_string(hide_password=True)!r} is {url.get_backend_name()}. Set "
            "REELHOUSE_CATALOG_URI=postgresql+psycopg2://USER@HOST:PORT/DB (infra/scripts/postgres.sh starts one)")
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    props = {"iceberg.jdbc-catalog.connection-url": f"jdbc:postgresql://{host}{port}/{url.database or ''}"}
    if url.username:
        props["iceberg.jdbc-catalog.connection-user"] = url.username
    if url.password:
        props["iceberg.jdbc-catalog.connection-password"] = str(url.password)
    return props["iceberg.jdbc-catalog.connection-url"], props


def _storage(settings: Settings) -> dict[str, str]:
    """Trino's file-system properties for the warehouse: native S3 (same endpoint and keys) or local."""
    scheme = urlsplit(settings.resolved_warehouse_uri).scheme
    props = settings.catalog_properties
    if scheme in ("s3", "s3a"):
        out = {"fs.native-s3.enabled": "true", "s3.region": props.get("s3.region", "us-east-1")}
        if props.get("s3.endpoint"):
            out["s3.endpoint"] = props["s3.endpoint"]
        if "s3.force-virtual-addressing" in props:
            path_style = str(props["s3.force-virtual-addressing"]).lower() != "true"
        else:
            path_style = str(props.get("s3.path-style-access", "true" if props.get("s3.endpoint") else "false")).lower() == "true"
        out["s3.path-style-access"] = "true" if path_style else "false"
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
        _, jdbc = _jdbc_url(uri)
        out.update({
            "iceberg.catalog.type": "jdbc",
            # Must equal pyiceberg's catalog name, or Trino lists no schemas.
            "iceberg.jdbc-catalog.catalog-name": settings.catalog_name,
            "iceberg.jdbc-catalog.driver-class": "org.postgresql.Driver",
            **jdbc,
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
