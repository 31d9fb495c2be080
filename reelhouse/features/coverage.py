"""Feature coverage: which titles hold each per-title feature at its current version.

A title *misses* a feature when no rows of the feature's current version exist for it; it is *stale*
when it holds only other (older) versions. Feature versions hash their upstream versions, so a bumped
feature makes every feature downstream of it missing too: the missing set is closed downstream.
Quarantined titles are never counted as missing anything beyond their media row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pyiceberg.expressions import EqualTo

from reelhouse.config import Settings
from reelhouse.features import FeatureSpec, registry, specs
from reelhouse.lakehouse import FeatureStore


def title_feature_specs(settings: Settings) -> list[FeatureSpec]:
    """Every per-title feature of the mesh (``registry.title_features``), upstream before downstream."""
    return [f.spec(settings) for f in registry.title_features()]


def feature_spec(settings: Settings, name: str) -> FeatureSpec:
    """The per-title feature called ``name``.

    Raises:
        KeyError: no such per-title feature (the message lists the known names).
    """
    names = [f.name for f in registry.title_features()]
    if name not in names:
        raise KeyError(f"unknown feature {name!r}; features: {', '.join(names)}")
    return registry.feature(name).spec(settings)


@dataclass(frozen=True)
class FeatureCoverage:
    """Coverage of one feature over the titles asked about.

    Attributes:
        present: titles holding the current version.
        stale: titles holding only other versions (``video_id -> sorted versions held``).
        missing: titles holding no version at all.
    """

    feature: str
    version: str
    present: frozenset[str]
    stale: dict[str, list[str]] = field(default_factory=dict)
    missing: frozenset[str] = frozenset()

    @property
    def todo(self) -> frozenset[str]:
        """Titles that need this feature computed: missing or stale."""
        return self.missing | frozenset(self.stale)


def feature_coverage(store: FeatureStore, spec: FeatureSpec, video_ids: Iterable[str]) -> FeatureCoverage:
    """Coverage of ``spec`` over ``video_ids`` (one scan of the feature's rows, two columns)."""
    wanted = set(video_ids)
    rows = store.read(spec.table, EqualTo(term="feature", value=spec.name), selected_fields=("video_id", "feature_version"))
    held: dict[str, set[str]] = {}
    for vid, ver in zip(rows.column("video_id").to_pylist(), rows.column("feature_version").to_pylist()):
        if vid in wanted:
            held.setdefault(vid, set()).add(ver)
    present = frozenset(v for v, vers in held.items() if spec.version in vers)
    stale = {v: sorted(vers) for v, vers in sorted(held.items()) if spec.version not in vers}
    return FeatureCoverage(spec.name, spec.version, present, stale, frozenset(wanted - set(held)))


def ok_titles(store: FeatureStore) -> list[str]:
    """Titles whose current media row says ``ok`` (quarantined titles excluded), sorted."""
    spec = specs.media_spec()
    rows = store.read("media", f"feature_version == '{spec.version}' and status == 'ok'", selected_fields=("video_id",))
    return sorted(set(rows.column("video_id").to_pylist()))


def todo_by_title(store: FeatureStore, settings: Settings, video_ids: Iterable[str] | None = None,
                  features: Iterable[str] | None = None) -> dict[str, list[str]]:
    """``video_id -> features to compute`` (missing or stale), for titles that need any.

    Args:
        video_ids: titles to look at; default every ``ok`` title.
        features: feature names to look at; default every per-title feature except ``media``.
    """
    ids = ok_titles(store) if video_ids is None else sorted(set(video_ids))
    wanted = None if features is None else set(features)
    todo: dict[str, list[str]] = {}
    for spec in title_feature_specs(settings):
        if spec.name == "media" or (wanted is not None and spec.name not in wanted):
            continue
        for vid in sorted(feature_coverage(store, spec, ids).todo):
            todo.setdefault(vid, []).append(spec.name)
    return dict(sorted(todo.items()))


def eligible_titles(store: FeatureStore, settings: Settings, video_ids: Sequence[str] | None = None) -> list[str]:
    """``ok`` titles (of ``video_ids``, default all) holding the current version of every modality, sorted."""
    wanted = ok_titles(store) if video_ids is None else sorted(set(video_ids) & set(ok_titles(store)))
    have = set(wanted)
    for spec in registry.modality_specs(settings).values():
        have &= feature_coverage(store, spec, wanted).present
    return sorted(have)
