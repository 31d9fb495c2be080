"""The deployment files in infra/ agree with each other and with reelhouse's settings.

No Docker engine runs here, so the compose stack itself is not started; what can be checked without
it is: every file parses, reelhouse's settings file is accepted by ``Settings`` (which rejects unknown
keys), and the names one service's config uses for another match.
"""

from __future__ import annotations

from pathlib import Path

import yaml

INFRA = Path(__file__).resolve().parents[1] / "infra"


def _properties(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def test_the_stack_has_every_service_the_issue_names():
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "objectstore", "trino", "spark-master", "spark-worker", "dagster-webserver", "dagster-daemon"} <= set(services)
    worker = services["spark-worker"]
    assert worker["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert (INFRA / "spark" / "gpu_discovery.sh").is_file() and (INFRA / "docker" / "Dockerfile").is_file()


def test_reelhouse_settings_of_the_stack_are_valid_and_match_trino_and_dagster():
    from reelhouse.config import Settings
    from reelhouse.lakehouse.catalog import with_psycopg2

    settings = Settings(**yaml.safe_load((INFRA / "reelhouse.yaml").read_text()))
    assert settings.warehouse_uri.startswith("s3://") and settings.spark_master.startswith("spark://")
    from reelhouse.query.trino_catalog import catalog_properties

    trino = _properties(INFRA / "trino" / "etc" / "catalog" / "iceberg.properties")
    assert trino == catalog_properties(settings)  # the file is what the settings render
    assert trino["iceberg.jdbc-catalog.connection-url"].endswith(settings.catalog_uri.rsplit("@", 1)[1])
    assert settings.trino.catalog == "iceberg"  # the file name of the Trino catalog
    config = _properties(INFRA / "trino" / "etc" / "config.properties")
    controls = config["access-control.config-files"].split(",")
    assert [_properties(INFRA / "trino" / "etc" / Path(c).name)["access-control.name"] for c in controls] == ["file", "read-only"]
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())
    script = (INFRA / "scripts" / "trino.sh").read_text()
    assert compose["services"]["trino"]["image"].rsplit(":", 1)[1] == script.split("\nversion=", 1)[1].split("\n", 1)[0]
    dagster = yaml.safe_load((INFRA / "dagster" / "dagster.yaml").read_text())
    assert dagster["storage"]["postgres"]["postgres_url"] == with_psycopg2(settings.dagster_storage_url)
    assert "CREATE DATABASE dagster" in (INFRA / "postgres" / "init.sql").read_text()
