"""``reelhouse backfill``: compute one feature for every title, through Dagster.

For each ``ok`` title, the runs cover the feature and whichever of its upstream features the title
lacks at their current versions (``reelhouse.pipeline.coverage``); titles already holding the
feature's current version are reported as memoized and start no run. Runs execute in this process
against the persistent Dagster instance, so they appear in the UI like any other run, one title at a
time (the instance's run and ``spark`` pool limits hold for the daemon's runs too).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.pipeline import coverage

from dagster_project.assets import FEATURE_ASSET_KEYS, TITLE_ASSETS, asset_keys_for, titles
from dagster_project.checks import TITLE_CHECKS
from dagster_project.instance import dagster_instance
from dagster_project.library_run import QUIET, first_failure
from dagster_project.resources import resources_for


class BackfillError(ValueError):
    """The backfill cannot run as asked (unknown feature, a version this code does not compute)."""


@dataclass
class BackfillReport:
    """What a backfill did: the feature and version, and the titles computed, memoized or failed."""

    feature: str
    version: str
    computed: dict[str, list[str]] = field(default_factory=dict)  # video_id -> asset keys materialized
    memoized: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def resolve_feature(settings: Settings, name: str, version: str | None = None) -> FeatureSpec:
    """The feature named ``name`` (a feature name or its asset key), checked against ``version``.

    Raises:
        BackfillError: unknown name, or ``version`` is not the version this code computes.
    """
    by_asset = {asset: feat for feat, asset in FEATURE_ASSET_KEYS.items()}
    try:
        spec = coverage.feature_spec(settings, by_asset.get(name, name))
    except KeyError as err:
        raise BackfillError(f"{err.args[0]}; asset keys: {', '.join(by_asset)}") from None
    if version is not None and version != spec.version:
        raise BackfillError(f"{spec.name} is at version {spec.version} in this code and settings; version {version} "
                            "is computed by other code or settings (check out that code, or leave --version out)")
    return spec


def backfill_feature(settings: Settings, name: str, version: str | None = None, video_ids: Sequence[str] | None = None,
                     dry_run: bool = False, progress: Callable[[str], None] = print) -> BackfillReport:
    """Compute feature ``name`` (and its missing upstream features) for every ``ok`` title, or ``video_ids``."""
    spec = resolve_feature(settings, name, version)
    instance = dagster_instance(settings)
    resources = resources_for(settings)
    store = resources["reelhouse"].store()
    store.ensure_tables()
    ok = coverage.ok_titles(store)
    if video_ids is not None:
        unknown = sorted(set(video_ids) - set(ok))
        if unknown:
            raise BackfillError(f"not an ingested ok title: {', '.join(unknown)}")
        ok = sorted(set(video_ids))
    lineage = [s.name for s in spec.lineage() if s.name != "media"]
    todo = coverage.todo_by_title(store, settings, ok, features=lineage)
    report = BackfillReport(spec.name, spec.version, memoized=[v for v in ok if spec.name not in todo.get(v, [])])
    todo = {v: f for v, f in todo.items() if spec.name in f}
    progress(f"{spec.name}@{spec.version}: {len(ok)} title(s), {len(report.memoized)} already current, {len(todo)} to compute")
    new = [v for v in todo if not instance.has_dynamic_partition(titles.name, v)]
    if new and not dry_run:
        instance.add_dynamic_partitions(titles.name, new)
    for n, (vid, features) in enumerate(todo.items(), 1):
        keys = asset_keys_for(features)
        report.computed[vid] = [k.to_user_string() for k in keys]
        progress(f"[{n}/{len(todo)}] {vid[:12]}: {', '.join(report.computed[vid])}")
        if dry_run:
            continue
        res = dg.materialize([*TITLE_ASSETS, *TITLE_CHECKS], selection=keys, partition_key=vid, instance=instance, resources=resources,
                             run_config=QUIET, raise_on_error=False, tags={"reelhouse/backfill": f"{spec.name}@{spec.version}"})
        if not res.success:
            report.failed[vid] = first_failure(res)
            progress(f"  failed: {report.failed[vid]}")
    return report
