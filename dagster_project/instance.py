"""The persistent Dagster instance under ``$REELHOUSE_HOME/dagster``, with reelhouse's concurrency limits.

``dagster.yaml`` is written on first use (and rewritten when reelhouse's managed keys change):

- **runs**: at most ``MAX_CONCURRENT_RUNS`` runs at once through the queued run coordinator, so
  sensors, schedules and backfills queue instead of starting several Spark drivers side by side;
- **pools**: every step that runs a Spark job or a model is in the ``spark`` pool (``SPARK_POOL``),
  limited to one step at a time across all runs (``pools.default_limit``): Spark's local master
  already uses every core for one task;
- **storage**: SQLite files under the instance folder, or PostgreSQL when ``dagster_storage_url`` is
  set (what a deployment with a Dagster webserver and daemon on several machines uses);
- **run monitoring** on: the daemon fails runs whose worker died and frees the pool slots of ended
  runs (runs executed in-process by ``reelhouse run`` are reaped by ``run_liveness`` instead);
- telemetry off.

Edit ``dagster.yaml`` by hand to change the limits: a file that no longer carries the
``# managed by reelhouse`` first line is left alone.
"""

from __future__ import annotations

import os

import dagster as dg

from reelhouse.config import Settings

#: Concurrency pool of every asset whose step runs Spark or a model.
SPARK_POOL = "spark"
MAX_CONCURRENT_RUNS = 1
POOL_LIMIT = 1

MANAGED_MARK = "# managed by reelhouse: delete this line to keep your own edits"


def instance_yaml(storage_url: str | None = None) -> str:
    """The ``dagster.yaml`` reelhouse writes (PostgreSQL storage when ``storage_url`` is given)."""
    storage = ""
    if storage_url:
        import json

        from reelhouse.lakehouse.catalog import with_psycopg2

        url = with_psycopg2(storage_url)
        storage = f"storage:\n  postgres:\n    postgres_url: {json.dumps(url)}\n"
    return (
        f"{MANAGED_MARK}\n"
        "telemetry:\n"
        "  enabled: false\n"
        f"{storage}"
        "concurrency:\n"
        "  runs:\n"
        f"    max_concurrent_runs: {MAX_CONCURRENT_RUNS}\n"
        "  pools:\n"
        f"    default_limit: {POOL_LIMIT}\n"
        "run_monitoring:\n"
        "  enabled: true\n"
        "  free_slots_after_run_end_seconds: 60\n"
    )


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent Dagster instance under ``settings.dagster_home`` (created on first use).

    Also sets ``DAGSTER_HOME`` for this process and the ones it starts (``dagster dev``).
    """
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    text = instance_yaml(settings.dagster_storage_url)
    if not cfg.exists() or (cfg.read_text().startswith(MANAGED_MARK) and cfg.read_text() != text):
        cfg.write_text(text)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()
