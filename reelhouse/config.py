"""Typed configuration for reelhouse: environment variables plus an optional YAML file.

Precedence, highest first: constructor arguments, ``REELHOUSE_*`` environment variables
(nested with ``__``, e.g. ``REELHOUSE_ENCODE__HEIGHT=480``), the YAML file named by
``REELHOUSE_CONFIG`` (or ``$REELHOUSE_HOME/reelhouse.yaml`` when it exists), then defaults.
Unknown keys are rejected everywhere.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EncodeRecipe(StrictModel):
    """The standardized-encode recipe every downstream feature reads.

    Attributes:
        height: output height in pixels; width follows the display aspect ratio, rounded to even.
            A source shorter than this keeps its own (even) height unless ``upscale`` is set:
            upscaling adds pixels to encode and decode but no information.
        upscale: scale sources shorter than ``height`` up to it.
        fps: constant output frame rate in frames per second.
        pix_fmt: output pixel format.
        video_codec: FFmpeg encoder name for video.
        crf: x264 constant rate factor (lower is better quality).
        preset: x264 speed preset. ``superfast`` encodes 1.4-1.9x faster than ``veryfast`` for
            files about 1.5x larger: the encode is an analysis proxy, and encoding is the
            pipeline's largest single cost.
        audio_rate: mono audio sample rate in Hz.
        audio_codec: FFmpeg encoder name for audio.
        version: bump when the recipe's algorithm changes; parameters are hashed separately.
    """

    height: int = Field(360, ge=32, le=4320)
    upscale: bool = False
    fps: float = Field(24.0, gt=0, le=240)
    pix_fmt: Literal["yuv420p"] = "yuv420p"
    video_codec: str = "libx264"
    crf: int = Field(23, ge=0, le=51)
    preset: str = "superfast"
    audio_rate: int = Field(16000, ge=8000, le=96000)
    audio_codec: str = "aac"
    version: str = "1"


class TrinoConfig(StrictModel):
    """Connection to a Trino coordinator (used when ``sql_engine == "trino"``)."""

    host: str = "localhost"
    port: int = 8080
    user: str = "reelhouse"
    catalog: str = "iceberg"
    http_scheme: Literal["http", "https"] = "http"


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask; all of the machine's where unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class ServeConfig(StrictModel):
    """The HTTP API (``reelhouse serve``).

    Attributes:
        refresh_s: seconds between the refresher's looks at the catalog; when a table has a newer
            snapshot, the next served state is built beside the current one and swapped in.
        workers: API processes; they map one index file each (shared pages), so memory does not grow
            with them. More than one pays where Python-side work (JSON, routing) outgrows one core;
            each keeps the keep-alive connections it accepted, and they split unevenly (whichever
            process accepts first takes more), so the clients of the busier one wait longer
            (measured on 2 cores, 16 clients: match cuts p99 772 ms with 2 processes, 499 ms with 1).
        threads: searches one process runs at once (the rest wait in line); default: the cores this
            process may run on. faiss and numpy release the GIL, so one process with a thread per core
            keeps every core busy; more threads only share the cores and lengthen the tail (measured
            on 2 cores, 1 process, 16 clients, 1M x 1280-d: 2 threads ``/similar`` p99 19.1 ms at
            1,553/s and match cuts over 10 titles p99 450 ms at 47/s; 4 threads 23.2 ms at 1,507/s
            and 499 ms at 45/s).
    """

    refresh_s: float = Field(2.0, ge=0.05, le=3600)
    workers: int = Field(1, ge=1, le=64)
    threads: int = Field(default_factory=usable_cores, ge=1, le=256)


class ContextualTraining(StrictModel):
    """How the platform trains its contextual shot encoder (``models.contextual``) on the catalog.

    Attributes:
        preset: ``cpu_small`` (tiny, seconds on a laptop), ``gpu_default`` (production size, bf16 on
            CUDA) or ``auto``: ``gpu_default`` when CUDA is present, else ``cpu_small``.
        overrides: ``ContextualConfig`` fields replacing the preset's (validated there), e.g.
            ``{"steps": 5000}``.
        min_titles: fewest titles holding every modality's embeddings before a model is trained.
        checkpoint_every: optimizer steps between resumable checkpoints.
    """

    preset: Literal["auto", "cpu_small", "gpu_default"] = "auto"
    overrides: dict[str, Any] = Field(default_factory=dict)
    min_titles: int = Field(1, ge=1)
    checkpoint_every: int = Field(100, ge=1)


class Settings(BaseSettings):
    """All reelhouse settings.

    Attributes:
        home: data directory; everything local lives below it.
        catalog_name: Iceberg catalog name (Trino's JDBC catalog-name must equal it).
        catalog_uri: pyiceberg catalog URI; default is SQLite under ``home``.
            ``postgresql+psycopg2://...`` gives the SQL catalog on PostgreSQL, ``http(s)://...`` a REST catalog.
        warehouse_uri: Iceberg warehouse location (``file://`` or ``s3://``); default under ``home``.
        namespace: Iceberg namespace (Trino schema) holding reelhouse's tables.
        landing: folder where videos (and ``.srt`` sidecars) are dropped.
        landing_settle_s: seconds a landed file must go unmodified (and unchanged between two sensor
            ticks) before the landing sensor hashes it: a file still being copied waits.
        spark_master: Spark master URL (``local[*]``, ``spark://host:7077``, ...).
        spark_conf: extra Spark configuration passed verbatim.
        sql_engine: ``duckdb`` (embedded) or ``trino``.
        serve: the HTTP API's refresh interval and processes (``ServeConfig``).
        device: ``auto`` picks CUDA when present, else CPU.
        contextual: training of the contextual shot encoder (``ContextualTraining``).
        backfill_chunk_titles: titles per chunk when a catalog-wide feature (the contextual
            embeddings) is computed for many titles: per chunk, one Spark job and one commit, so memory
            is bounded by the chunk and a killed backfill resumes after its last committed chunk.
        dagster_storage_url: PostgreSQL URL of Dagster's run, event and schedule storage (e.g.
            ``postgresql://dagster@db:5432/dagster``); default: SQLite files under ``dagster_home``.
    """

    model_config = SettingsConfigDict(
        env_prefix="REELHOUSE_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    home: Path = Path(".reelhouse")
    catalog_name: str = "reelhouse"
    catalog_uri: str | None = None
    catalog_properties: dict[str, str] = Field(default_factory=dict)
    warehouse_uri: str | None = None
    namespace: str = "features"
    landing: Path | None = None
    landing_settle_s: float = Field(10.0, ge=0)
    spark_master: str = "local[*]"
    spark_conf: dict[str, str] = Field(default_factory=dict)
    sql_engine: Literal["duckdb", "trino"] = "duckdb"
    trino: TrinoConfig = TrinoConfig()
    serve: ServeConfig = ServeConfig()
    encode: EncodeRecipe = EncodeRecipe()
    device: Literal["auto", "cpu", "cuda"] = "auto"
    contextual: ContextualTraining = ContextualTraining()
    backfill_chunk_titles: int = Field(256, ge=1, le=100_000)
    dagster_storage_url: str | None = None

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    # Derived locations -------------------------------------------------------------
    @property
    def resolved_catalog_uri(self) -> str:
        return self.catalog_uri or f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def resolved_warehouse_uri(self) -> str:
        return self.warehouse_uri or (self.home / "warehouse").as_uri()

    @property
    def resolved_landing(self) -> Path:
        return (self.landing or self.home / "landing").expanduser().resolve()

    @property
    def media_root(self) -> Path:
        """Local folder for standardized encodes when the warehouse is local."""
        return self.home / "media"

    @property
    def index_root(self) -> Path:
        """Local folder where faiss indexes are persisted."""
        return self.home / "indexes"

    @property
    def model_root(self) -> Path:
        """Local folder where trained model artifacts (the contextual encoder) are kept."""
        return self.home / "models"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"


class _YamlSource(PydanticBaseSettingsSource):
    """Reads ``REELHOUSE_CONFIG`` (or ``$REELHOUSE_HOME/reelhouse.yaml``) if present."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = os.environ.get("REELHOUSE_CONFIG")
        if path is None:
            candidate = Path(os.environ.get("REELHOUSE_HOME", ".reelhouse")) / "reelhouse.yaml"
            if not candidate.exists():
                return {}
            path = str(candidate)
        data = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: top level of a reelhouse config must be a mapping")
        return data


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings from the environment (cached; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
