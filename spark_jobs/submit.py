"""Shared command line of the ``spark-submit`` entry points: catalog, warehouse, titles, feature version."""

from __future__ import annotations

import argparse

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec


def job_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--catalog-uri", help="pyiceberg catalog URI (default: from REELHOUSE_* settings)")
    parser.add_argument("--warehouse-uri", help="Iceberg warehouse URI")
    parser.add_argument("--titles", required=True, help="comma-separated video ids")
    parser.add_argument("--feature-version", help="expected feature version (fails if the code's differs)")
    return parser


def job_settings(parser: argparse.ArgumentParser, args: argparse.Namespace, spec_of) -> tuple[Settings, list[str]]:
    """Settings with the command line's overrides, and the titles; checks ``--feature-version`` against
    ``spec_of(settings)`` (a FeatureSpec or a sequence of them)."""
    overrides = {k: v for k, v in {"catalog_uri": args.catalog_uri, "warehouse_uri": args.warehouse_uri}.items() if v}
    settings = Settings(**overrides)
    specs = spec_of(settings)
    versions = [specs.version] if isinstance(specs, FeatureSpec) else [s.version for s in specs]
    if args.feature_version and args.feature_version not in versions:
        parser.error(f"this code computes version {' / '.join(versions)}, not {args.feature_version}")
    return settings, [t for t in args.titles.split(",") if t]




def submit_title_job(description: str, job_of, argv=None) -> int:
    """The ``main`` of a per-title job's ``spark-submit`` entry point: parse the command line, run
    ``job_of(settings)`` (a ``spark_jobs.batch.TitleJob``) for the titles as one batch, print what it did.

    ``--feature-version`` is checked against the versions of the job's outputs.
    """
    from reelhouse.lakehouse import FeatureStore, new_run_id
    from spark_jobs.batch import run_batch
    from spark_jobs.session import get_spark

    parser = job_parser(description)
    args = parser.parse_args(argv)
    settings, titles = job_settings(parser, args, lambda s: list(job_of(s).outputs))
    store = FeatureStore.from_settings(settings)
    print(run_batch(get_spark(settings.spark_master, settings.spark_conf), store, job_of(settings), titles, new_run_id()))
    return 0
