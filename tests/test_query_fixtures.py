"""Fixtures for the ``test_query_*`` suites: a real SQLite Iceberg catalog with known rows.

Holds no tests itself; the suites import its fixtures. Tables are created here (schemas from
docs/ARCHITECTURE.md) so the SQL surface is tested independently of the write path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog

from reelhouse.query.duckdb_engine import DuckDBEngine

NAMESPACE = "features"
UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

VID_A = "a" * 32
VID_B = "b" * 32
VID_C = "c" * 32  # media only, no shots

FEATURE_COLUMNS = [
    ("video_id", pa.string()), ("feature", pa.string()), ("feature_version", pa.string()),
    ("run_id", pa.string()), ("written_at", pa.timestamp("us", tz="UTC")),
]
SHOTS_SCHEMA = pa.schema(FEATURE_COLUMNS + [
    ("shot_index", pa.int32()), ("start_frame", pa.int64()), ("end_frame", pa.int64()),
    ("start_s", pa.float64()), ("end_s", pa.float64()), ("fps", pa.float64()),
    ("transition", pa.string()), ("confidence", pa.float64()), ("detector", pa.string()),
])
MEDIA_SCHEMA = pa.schema(FEATURE_COLUMNS + [
    ("source_uri", pa.string()), ("size_bytes", pa.int64()), ("container", pa.string()),
    ("duration_s", pa.float64()), ("fps", pa.float64()), ("is_vfr", pa.bool_()), ("frame_count", pa.int64()),
    ("width", pa.int32()), ("height", pa.int32()), ("display_width", pa.int32()), ("display_height", pa.int32()),
    ("rotation", pa.int32()), ("sample_aspect_ratio", pa.float64()), ("video_codec", pa.string()),
    ("pix_fmt", pa.string()), ("has_audio", pa.bool_()), ("audio_codec", pa.string()), ("status", pa.string()),
    ("error_code", pa.string()), ("error_message", pa.string()),
])
EMBEDDINGS_SCHEMA = pa.schema(FEATURE_COLUMNS + [
    ("shot_index", pa.int32()), ("model", pa.string()), ("dim", pa.int32()),
    ("embedding", pa.list_(pa.float32())), ("has_embedding", pa.bool_()),
])

# Shot boundaries in seconds per (video, version); lengths are the differences.
SHOT_CUTS: dict[tuple[str, str], list[float]] = {
    (VID_A, "1-old00000"): [0.0, 2.0, 5.0, 9.0, 12.0],            # superseded slice
    (VID_A, "2-new00000"): [0.0, 1.5, 4.0, 4.5, 10.0, 41.0],       # latest: 1.5, 2.5, 0.5, 5.5, 31.0
    (VID_B, "1-old00000"): [0.0, 3.25, 4.0, 6.0, 7.2],             # only slice: 3.25, 0.75, 2.0, 1.2
}
SLICE_WRITTEN_AT = {
    (VID_A, "1-old00000"): T0,
    (VID_A, "2-new00000"): T0 + dt.timedelta(hours=1),
    (VID_B, "1-old00000"): T0 + dt.timedelta(minutes=5),
}
LATEST_VERSION = {VID_A: "2-new00000", VID_B: "1-old00000"}
MEDIA = {
    VID_A: {"source_uri": "file:///landing/a.mp4", "duration_s": 41.0},
    VID_B: {"source_uri": "file:///landing/b.mp4", "duration_s": 7.25},
    VID_C: {"source_uri": "file:///landing/c.mp4", "duration_s": 3.0},
}
EMBEDDINGS = {0: [1.0, 0.0, 0.0], 1: [0.6, 0.8, 0.0], 2: [0.0, 0.0, 1.0]}


def shot_lengths(video_id: str, version: str) -> list[float]:
    cuts = SHOT_CUTS[(video_id, version)]
    return [end - start for start, end in zip(cuts, cuts[1:])]


def shots_table() -> pa.Table:
    rows = []
    for (vid, version), cuts in SHOT_CUTS.items():
        for i, (start, end) in enumerate(zip(cuts, cuts[1:])):
            rows.append(dict(
                video_id=vid, feature="shots", feature_version=version, run_id=f"run-{version}",
                written_at=SLICE_WRITTEN_AT[(vid, version)], shot_index=i, start_frame=round(start * 24),
                end_frame=round(end * 24), start_s=start, end_s=end, fps=24.0, transition="cut",
                confidence=0.9, detector="test@1",
            ))
    return pa.Table.from_pylist(rows, schema=SHOTS_SCHEMA)


def media_table() -> pa.Table:
    rows = []
    for i, (vid, meta) in enumerate(MEDIA.items()):
        rows.append(dict(
            video_id=vid, feature="media", feature_version="1-media000", run_id="run-media",
            written_at=T0, size_bytes=1000 + i, container="mp4", fps=24.0, is_vfr=False,
            frame_count=round(meta["duration_s"] * 24), width=640, height=360, display_width=640,
            display_height=360, rotation=0, sample_aspect_ratio=1.0, video_codec="h264", pix_fmt="yuv420p",
            has_audio=True, audio_codec="aac", status="ok", error_code=None, error_message=None, **meta,
        ))
    return pa.Table.from_pylist(rows, schema=MEDIA_SCHEMA)


def embeddings_table() -> pa.Table:
    rows = [dict(video_id=VID_A, feature="shot_embeddings", feature_version="1-emb00000", run_id="run-emb",
                 written_at=T0, shot_index=i, model="test", dim=3, embedding=vec, has_embedding=True)
            for i, vec in EMBEDDINGS.items()]
    return pa.Table.from_pylist(rows, schema=EMBEDDINGS_SCHEMA)


def create_table(catalog: Catalog, name: str, data: pa.Table) -> None:
    """Create ``features.<name>`` partitioned like reelhouse's tables and append ``data``."""
    table = catalog.create_table(f"{NAMESPACE}.{name}", schema=data.schema)
    with table.update_spec() as spec:
        spec.add_identity("feature")
        spec.add_identity("video_id")
    table.append(data)


def build_catalog(root: Path) -> Catalog:
    """A SQLite catalog under ``root`` holding features.shots, features.media and features.shot_embeddings."""
    warehouse = root / "warehouse"
    warehouse.mkdir(parents=True)
    cat = SqlCatalog("reelhouse", uri=f"sqlite:///{root / 'catalog.db'}", warehouse=warehouse.as_uri())
    cat.create_namespace(NAMESPACE)
    create_table(cat, "shots", shots_table())
    create_table(cat, "media", media_table())
    create_table(cat, "shot_embeddings", embeddings_table())
    return cat


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """A fresh catalog per test, for tests that write to it."""
    return build_catalog(tmp_path)


@pytest.fixture
def engine(catalog: Catalog) -> Iterator[DuckDBEngine]:
    with DuckDBEngine(catalog) as eng:
        yield eng


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("query-catalog")


@pytest.fixture(scope="module")
def shared_catalog(shared_root: Path) -> Catalog:
    """One catalog per test module, for tests that only read (opening an engine costs ~0.5 s)."""
    return build_catalog(shared_root)


@pytest.fixture(scope="module")
def shared_engine(shared_catalog: Catalog) -> Iterator[DuckDBEngine]:
    with DuckDBEngine(shared_catalog) as eng:
        yield eng
