"""Shared fixtures: every test runs against its own REELHOUSE_HOME with a real SQLite Iceberg catalog."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point REELHOUSE_HOME (and so the catalog, warehouse and landing) at a fresh folder."""
    from reelhouse.config import get_settings

    home = tmp_path / "rh"
    monkeypatch.setenv("REELHOUSE_HOME", str(home))
    monkeypatch.delenv("REELHOUSE_CONFIG", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def settings(_isolated_home: Path):
    from reelhouse.config import Settings

    return Settings(home=_isolated_home, spark_master="local[2]")


@pytest.fixture
def store(settings):
    from reelhouse.lakehouse import FeatureStore

    fs = FeatureStore.from_settings(settings)
    fs.ensure_tables()
    return fs
