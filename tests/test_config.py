"""Settings: environment, YAML file, and rejection of unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from reelhouse.config import Settings


def test_defaults_live_under_home(tmp_path: Path):
    s = Settings(home=tmp_path)
    assert s.resolved_catalog_uri == f"sqlite:///{tmp_path / 'catalog.db'}"
    assert s.resolved_warehouse_uri == (tmp_path / "warehouse").as_uri()
    assert s.resolved_landing == tmp_path / "landing"
    assert s.spark_master == "local[*]" and s.sql_engine == "duckdb"


def test_environment_overrides_nested(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REELHOUSE_ENCODE__HEIGHT", "480")
    monkeypatch.setenv("REELHOUSE_CATALOG_URI", "postgresql+psycopg2://u:p@127.0.0.1/cat")
    monkeypatch.setenv("REELHOUSE_SPARK_MASTER", "spark://127.0.0.1:7077")
    s = Settings()
    assert s.encode.height == 480
    assert s.resolved_catalog_uri.startswith("postgresql")
    assert s.spark_master == "spark://127.0.0.1:7077"


def test_yaml_file_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = tmp_path / "rh.yaml"
    cfg.write_text("namespace: media_features\nencode:\n  fps: 25\n  height: 240\nsql_engine: trino\n")
    monkeypatch.setenv("REELHOUSE_CONFIG", str(cfg))
    monkeypatch.setenv("REELHOUSE_ENCODE__HEIGHT", "720")  # env beats the file
    s = Settings()
    assert s.namespace == "media_features" and s.encode.fps == 25 and s.sql_engine == "trino"
    assert s.encode.height == 720


@pytest.mark.parametrize(
    "yaml_text",
    [pytest.param("bogus: 1\n", id="top-level"), pytest.param("encode:\n  hieght: 240\n", id="nested-typo")],
)
def test_unknown_keys_are_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str):
    cfg = tmp_path / "rh.yaml"
    cfg.write_text(yaml_text)
    monkeypatch.setenv("REELHOUSE_CONFIG", str(cfg))
    with pytest.raises(ValidationError):
        Settings()


def test_invalid_values_are_rejected():
    with pytest.raises(ValidationError):
        Settings(encode={"height": 0})
    with pytest.raises(ValidationError):
        Settings(sql_engine="mysql")


def test_postgres_urls_use_the_shipped_driver_and_dagster_storage_goes_to_postgres():
    import yaml

    from dagster_project.instance import instance_yaml
    from reelhouse.lakehouse.catalog import catalog_properties, with_psycopg2

    assert with_psycopg2("postgresql://u@db:5432/x") == "postgresql+psycopg2://u@db:5432/x"
    assert with_psycopg2("postgresql+psycopg2://u@db/x") == "postgresql+psycopg2://u@db/x"
    assert with_psycopg2("sqlite:///tmp/c.db") == "sqlite:///tmp/c.db"
    assert catalog_properties(Settings(catalog_uri="postgresql://u@db/cat"))["uri"] == "postgresql+psycopg2://u@db/cat"
    plain = yaml.safe_load(instance_yaml())
    assert "storage" not in plain and plain["concurrency"]["runs"]["max_concurrent_runs"] == 1
    pg = yaml.safe_load(instance_yaml("postgresql://dagster:s3cret@db:5432/dagster"))
    assert pg["storage"] == {"postgres": {"postgres_url": "postgresql+psycopg2://dagster:s3cret@db:5432/dagster"}}
