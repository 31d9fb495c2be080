"""reelhouse's Iceberg catalog as a Spark catalog, for Spark sessions that are not reelhouse's own.

A user's ``pyspark`` shell, notebook or ``spark-submit`` job on Spark 4.0 or 4.1 reads the feature
tables as ``<catalog_name>.<namespace>.<table>`` (``reelhouse.features.shots`` by default) through
Iceberg's ``SparkCatalog``, configured here from the same :class:`~reelhouse.config.Settings` pyiceberg
uses (Iceberg has no Spark runtime for later Spark versions yet: see :data:`ICEBERG_SPARK_RUNTIMES`):

* pyiceberg's SQL catalog on SQLite or PostgreSQL is Iceberg's JDBC catalog: the same tables
  (``iceberg_tables``, ``iceberg_namespace_properties``) and columns. pyiceberg 0.12 creates
  ``iceberg_tables`` in the "V1" layout (an ``iceberg_type`` column, ``'TABLE'`` on its rows) and keeps
  an older catalog's "V0" layout (no such column); the Java catalog finds which by looking for the
  column, and changes the layout only when asked to (``jdbc.schema-version=V1``), which is never done
  here. The Java catalog keys its rows by its own name, which in Spark is the Spark catalog's name and
  cannot be set apart from it; so the Spark catalog is named ``catalog_name``, exactly the name
  pyiceberg writes into the ``catalog_name`` column.
* A REST catalog (``catalog_uri`` ``http(s)://...``) is Iceberg's REST catalog.
* An ``s3://`` warehouse is read with Iceberg's ``S3FileIO`` (the ``iceberg-aws-bundle`` jar); pyiceberg's
  ``s3.*`` properties are translated to their Java names.

The jars (Iceberg's Spark runtime, the JDBC driver, the AWS bundle when needed) are pinned below and
downloaded once from Maven Central into a cache folder shared by every reelhouse home, each checked
against the SHA-1 Maven publishes beside it. Nothing here imports Spark.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from reelhouse.config import Settings
from reelhouse.lakehouse.catalog import catalog_properties, jdbc_properties

#: JDBC driver for the SQLite catalog (the embedded default).
SQLITE_JDBC_VERSION = "3.54.1.0"
#: JDBC driver for the PostgreSQL catalog.
POSTGRESQL_JDBC_VERSION = "42.7.14"
#: The Spark minor version :func:`spark_catalog_conf` configures for unless told otherwise.
DEFAULT_SPARK_VERSION = "4.1"

#: Where the jars come from unless a mirror is named.
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"

#: Seconds to wait on Maven Central before a download counts as failed (per connection attempt and read).
DOWNLOAD_TIMEOUT_S = 60.0

SPARK_CATALOG_CLASS = "org.apache.iceberg.spark.SparkCatalog"
SPARK_EXTENSIONS_CLASS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
S3_FILE_IO_CLASS = "org.apache.iceberg.aws.s3.S3FileIO"

#: pyiceberg property names whose Java (Iceberg ``S3FileIO`` / AWS client) name differs.
_PY_TO_JAVA_PROPERTY = {"s3.region": "client.region"}
#: pyiceberg properties that are handled here (translated) or mean nothing to the Java catalog.
_NOT_PASSED = {"uri", "warehouse", "type", "py-io-impl", "s3.force-virtual-addressing"}


@dataclass(frozen=True)
class MavenJar:
    """One jar on a Maven repository, by its coordinates."""

    group: str
    artifact: str
    version: str

    @property
    def file_name(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def path(self) -> str:
        """Path below a Maven repository's root (``org/apache/iceberg/.../x-1.0.jar``)."""
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.file_name}"

    def __str__(self) -> str:
        return f"{self.group}:{self.artifact}:{self.version}"


#: Iceberg's Spark runtime for each Spark minor version (Scala 2.13): the newest Iceberg release that
#: publishes one. Iceberg publishes none for Spark 4.2 or later, and the 4.1 runtime does not load on
#: Spark 4.3: there ``connector.catalog.View`` is a class, no longer an interface, and Spark refuses a
#: catalog of tables and views that does not implement ``RelationCatalog`` (``SparkCatalog`` does both).
#: pyspark 4.3.0, the one reelhouse's own jobs run on, therefore cannot read the tables this way.
ICEBERG_SPARK_RUNTIMES: dict[str, MavenJar] = {
    "4.0": MavenJar("org.apache.iceberg", "iceberg-spark-runtime-4.0_2.13", "1.11.0"),
    "4.1": MavenJar("org.apache.iceberg", "iceberg-spark-runtime-4.1_2.13", "1.12.0"),
}
SQLITE_JDBC = MavenJar("org.xerial", "sqlite-jdbc", SQLITE_JDBC_VERSION)
POSTGRESQL_JDBC = MavenJar("org.postgresql", "postgresql", POSTGRESQL_JDBC_VERSION)


def iceberg_spark_runtime(spark_version: str = DEFAULT_SPARK_VERSION) -> MavenJar:
    """Iceberg's Spark runtime jar for a Spark version (``"4.1"`` or a full ``"4.1.4"``).

    Raises:
        ValueError: Iceberg publishes no runtime for that Spark version.
    """
    minor = ".".join(spark_version.split(".")[:2])
    if minor not in ICEBERG_SPARK_RUNTIMES:
        raise ValueError(
            f"no Iceberg Spark runtime for Spark {spark_version}: Iceberg publishes one for Spark "
            f"{' and '.join(ICEBERG_SPARK_RUNTIMES)} (Scala 2.13), none yet for later versions; "
            "read the tables from one of those"
        )
    return ICEBERG_SPARK_RUNTIMES[minor]


def iceberg_aws_bundle(spark_version: str = DEFAULT_SPARK_VERSION) -> MavenJar:
    """Iceberg's AWS bundle (``S3FileIO`` and the AWS SDK) of the same Iceberg release as the runtime."""
    return MavenJar("org.apache.iceberg", "iceberg-aws-bundle", iceberg_spark_runtime(spark_version).version)


class JarDownloadError(RuntimeError):
    """A pinned jar is not in the cache and could not be downloaded (offline, refused, or a bad checksum)."""


def default_jar_cache() -> Path:
    """``$XDG_CACHE_HOME/reelhouse/jars`` (``~/.cache/reelhouse/jars`` by default).

    The jars are pinned and immutable, so one cache serves every reelhouse home and every test run.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reelhouse" / "jars"


def _catalog_kind(uri: str) -> str:
    """``sqlite``, ``postgresql`` or ``rest`` for a pyiceberg catalog URI; ``ValueError`` for anything else."""
    if uri.startswith(("http://", "https://")):
        return "rest"
    backend = make_url(uri).get_backend_name()
    if backend in ("sqlite", "postgresql"):
        return backend
    raise ValueError(f"Spark can read reelhouse's SQL catalog on SQLite or PostgreSQL, or a REST catalog; not {uri.split(':')[0]}://")


def _is_s3(warehouse: str) -> bool:
    return warehouse.startswith(("s3://", "s3a://", "s3n://"))


def required_jars(settings: Settings, spark_version: str = DEFAULT_SPARK_VERSION) -> list[MavenJar]:
    """The jars a Spark session of ``spark_version`` needs to read ``settings``' catalog: Iceberg's Spark
    runtime, the JDBC driver of a SQL catalog, and Iceberg's AWS bundle for an ``s3://`` warehouse.

    Raises:
        ValueError: no Iceberg runtime for ``spark_version``, or a catalog Spark cannot read.
    """
    props = catalog_properties(settings)
    kind = _catalog_kind(props["uri"])
    jars = [iceberg_spark_runtime(spark_version)]
    if kind == "sqlite":
        jars.append(SQLITE_JDBC)
    elif kind == "postgresql":
        jars.append(POSTGRESQL_JDBC)
    if _is_s3(props["warehouse"]):
        jars.append(iceberg_aws_bundle(spark_version))
    return jars


def _fetch(url: str, timeout_s: float) -> Any:
    """The open response for ``url`` (``https://`` or, for a local mirror, ``file://``)."""
    try:
        return urllib.request.urlopen(url, timeout=timeout_s)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise JarDownloadError(f"cannot download {url}: {reason}") from exc


def download_jar(jar: MavenJar, cache_dir: Path | None = None, *, repository: str = MAVEN_CENTRAL,
                 timeout_s: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """The local path of ``jar`` in ``cache_dir``, downloading it first if it is not there.

    The download is checked against the ``.sha1`` file the repository publishes beside the jar, and
    moved into place only once complete and verified, so a cached jar is always whole (concurrent
    downloads of the same jar are harmless).

    Args:
        jar: the artifact.
        cache_dir: folder of cached jars (default :func:`default_jar_cache`).
        repository: root URL of a Maven repository (Maven Central, or a mirror of it).
        timeout_s: seconds to wait on the network per connection and per read.

    Returns:
        The absolute path of the jar file.

    Raises:
        JarDownloadError: the jar is not cached and could not be fetched, or its SHA-1 does not match.
    """
    cache = (cache_dir or default_jar_cache()).expanduser().resolve()
    target = cache / jar.file_name
    if target.is_file():
        return target
    url = f"{repository.rstrip('/')}/{jar.path}"
    hint = f"; without network access, put {jar} ({url}) at {target} by hand"
    try:
        with _fetch(url + ".sha1", timeout_s) as resp:
            expected = resp.read().decode("ascii", "replace").split()[0].strip().lower()
        cache.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1()
        fd, tmp = tempfile.mkstemp(prefix=f".{jar.file_name}.", suffix=".part", dir=cache)
        try:
            with os.fdopen(fd, "wb") as out, _fetch(url, timeout_s) as resp:
                while chunk := resp.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
            if digest.hexdigest() != expected:
                raise JarDownloadError(f"{url}: SHA-1 {digest.hexdigest()} does not match the published {expected}")
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep the jar from other users of a shared cache
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except JarDownloadError as exc:
        raise JarDownloadError(f"{exc}{hint}") from exc.__cause__
    except (OSError, IndexError) as exc:  # a read cut off mid-way, an empty .sha1
        raise JarDownloadError(f"cannot download {url}: {exc}{hint}") from exc
    return target


def iceberg_jars(settings: Settings, cache_dir: Path | None = None, *, spark_version: str = DEFAULT_SPARK_VERSION,
                 repository: str = MAVEN_CENTRAL) -> list[Path]:
    """Local paths of :func:`required_jars`, each downloaded once into ``cache_dir`` (default
    :func:`default_jar_cache`).

    Raises:
        JarDownloadError: a jar is missing from the cache and cannot be downloaded.
        ValueError: see :func:`required_jars`.
    """
    return [download_jar(jar, cache_dir, repository=repository) for jar in required_jars(settings, spark_version)]


def _java_catalog_properties(props: Mapping[str, str]) -> dict[str, str]:
    """Iceberg (Java) catalog properties equivalent to pyiceberg's ``props``."""
    uri, warehouse = props["uri"], props["warehouse"]
    if _catalog_kind(uri) == "rest":
        java = {"type": "rest", "uri": uri, "warehouse": warehouse}
    else:
        java = {"type": "jdbc", **jdbc_properties(uri), "warehouse": warehouse}
    for key, value in props.items():
        if key not in _NOT_PASSED:
            java[_PY_TO_JAVA_PROPERTY.get(key, key)] = value
    if _is_s3(warehouse):
        java["io-impl"] = S3_FILE_IO_CLASS
        # pyiceberg addresses a custom endpoint by path (bucket in the path, not the host name); so must Java.
        if "s3.endpoint" in props and props.get("s3.force-virtual-addressing", "false").lower() != "true":
            java.setdefault("s3.path-style-access", "true")
    return java


def spark_catalog_properties(settings: Settings) -> dict[str, str]:
    """Spark configuration that declares reelhouse's catalog, without the jars.

    Returns ``spark.sql.catalog.<catalog_name>`` (Iceberg's ``SparkCatalog``), its
    ``spark.sql.catalog.<catalog_name>.*`` properties (type, URI, warehouse, credentials, storage) and
    ``spark.sql.extensions`` (Iceberg's SQL extensions: ``CALL`` procedures and Iceberg's DDL).

    Raises:
        ValueError: the catalog is neither a SQL catalog on SQLite or PostgreSQL nor a REST catalog.
    """
    prefix = f"spark.sql.catalog.{settings.catalog_name}"
    conf = {"spark.sql.extensions": SPARK_EXTENSIONS_CLASS, prefix: SPARK_CATALOG_CLASS}
    for key, value in _java_catalog_properties(catalog_properties(settings)).items():
        conf[f"{prefix}.{key}"] = value
    return conf


def spark_catalog_conf(settings: Settings, jars: Sequence[Path] | None = None, *, spark_version: str = DEFAULT_SPARK_VERSION,
                       cache_dir: Path | None = None) -> dict[str, str]:
    """Everything a fresh Spark session needs to read reelhouse's tables as ``<catalog_name>.<namespace>.<table>``.

    That is :func:`spark_catalog_properties` plus ``spark.jars``: the comma-separated local paths of
    ``jars``, by default :func:`iceberg_jars` for ``spark_version`` (downloaded into ``cache_dir`` on first
    use). Set it before
    the session's JVM starts (``SparkSession.builder.config(map=...)`` in a new process, or
    ``spark-submit --conf``): a running JVM does not load jars named later.

    Raises:
        JarDownloadError: ``jars`` is not given and a jar cannot be downloaded.
        ValueError: no Iceberg runtime for ``spark_version``, or a catalog Spark cannot read.
    """
    conf = spark_catalog_properties(settings)
    paths = iceberg_jars(settings, cache_dir, spark_version=spark_version) if jars is None else list(jars)
    conf["spark.jars"] = ",".join(str(Path(p).resolve()) for p in paths)
    return conf
