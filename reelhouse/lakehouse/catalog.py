"""Opening the Iceberg catalog named by configuration.

The embedded default is pyiceberg's SQL catalog on SQLite with a local warehouse folder. Any other
pyiceberg catalog (SQL on PostgreSQL, REST, ...) is selected by ``catalog_uri`` alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pyiceberg.catalog import Catalog, load_catalog
from sqlalchemy.engine import make_url

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


def jdbc_properties(uri: str) -> dict[str, str]:
    """The JDBC form of a SQLAlchemy catalog URL, as Iceberg's (Java) JDBC catalog takes it: ``uri``
    (``jdbc:sqlite:PATH`` or ``jdbc:postgresql://HOST:PORT/DB``), and ``jdbc.user``, ``jdbc.password`` and
    one ``jdbc.KEY`` per query parameter of the URL (``sslmode=require`` and the like mean the same to PgJDBC).

    Raises:
        ValueError: an in-memory SQLite catalog, which no other process can open.
    """
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("an in-memory SQLite catalog cannot be shared with another engine")
        # SQLAlchemy resolves a relative SQLite path against the working directory; so does this.
        return {"uri": f"jdbc:sqlite:{Path(url.database).expanduser().resolve()}"}
    host = url.host or "localhost"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = f":{url.port}" if url.port else ""
    props = {"uri": f"jdbc:postgresql://{host}{port}/{url.database or ''}"}
    if url.username:
        props["jdbc.user"] = url.username
    if url.password is not None:
        props["jdbc.password"] = str(url.password)
    for key, value in url.query.items():
        props[f"jdbc.{key}"] = value if isinstance(value, str) else value[-1]
    return props


def s3_path_style(props: Mapping[str, str]) -> bool:
    """Whether S3 is addressed by path (bucket in the path) rather than by virtual host, for pyiceberg
    FileIO ``props``: pyiceberg's ``s3.force-virtual-addressing``, else Iceberg/Trino's
    ``s3.path-style-access``; an explicit ``s3.endpoint`` (MinIO, Ceph, moto) defaults to path style,
    AWS itself to virtual hosts."""
    if "s3.force-virtual-addressing" in props:
        return str(props["s3.force-virtual-addressing"]).lower() != "true"
    return str(props.get("s3.path-style-access", "true" if props.get("s3.endpoint") else "false")).lower() == "true"
