"""Stored match-cut candidates: each shot's top candidates per flavor over the whole catalog.

Computed from the current ``shot_embeddings`` snapshot for every ok title holding the flavor's feature,
and written per query title as ``(video_id, match_cuts_<flavor>, version)`` slices in one commit per
flavor; each row records the ``source_snapshot_id`` it was computed from. Memoized on that snapshot:
while ``shot_embeddings`` has not moved and every title has its slice, nothing is recomputed. Editors'
arbitrary subsets are served at query time instead (``reelhouse.search.match_cuts.find_match_cuts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyiceberg.expressions import And, EqualTo

from reelhouse.config import Settings
from reelhouse.features import coverage, registry, specs
from reelhouse.lakehouse import FeatureSlice, FeatureStore
from reelhouse.lakehouse.schemas import table_def
from reelhouse.search.match_cuts import cosine_percentiles, load_shot_vectors, match_cut_candidates


@dataclass(frozen=True)
class MatchCutOutcome:
    """What storing one flavor's candidates did."""

    flavor: str
    feature: str
    feature_version: str
    memoized: bool
    titles: int
    rows: int
    source_snapshot_id: int | None
    snapshot_id: int | None = None


def _current(store: FeatureStore, spec, titles: Sequence[str], source: int | None) -> bool:
    """True when the titles' stored candidates were all computed from snapshot ``source``.

    Every flavor is written for all titles in one commit, so rows from ``source`` mean that write covered
    every title that had the feature then, and an unmoved snapshot means no title has gained it since.
    """
    rows = store.read("match_cuts", And(EqualTo("feature", spec.name), EqualTo("feature_version", spec.version)),
                      selected_fields=("video_id", "source_snapshot_id")).to_pylist()
    wanted = set(titles)
    sources = {r["source_snapshot_id"] for r in rows if r["video_id"] in wanted}
    return sources == {source}


def store_match_cuts(settings: Settings, store: FeatureStore, run_id: str,
                     flavors: Sequence[str] = tuple(registry.flavors())) -> list[MatchCutOutcome]:
    """Compute and store every flavor's candidates for every ok title that has the flavor's feature."""
    from models.dedup import DEFAULT_THRESHOLD

    store.ensure_tables(["match_cuts", "shot_embeddings", "media"])
    source = store.snapshot_id("shot_embeddings")
    ok = coverage.ok_titles(store)
    visual = load_shot_vectors(store, specs.visual_spec(settings), ok)
    out = []
    schema = table_def("match_cuts").arrow_schema
    payload = [n for n in schema.names if n not in ("video_id", "feature", "feature_version", "run_id", "written_at")]
    for flavor in flavors:
        spec = specs.match_cuts_spec(settings, flavor)
        feature = registry.flavors()[flavor](settings)
        titles = sorted(coverage.feature_coverage(store, feature, ok).present)
        if source is None or not titles or _current(store, spec, titles, source):
            out.append(MatchCutOutcome(flavor, spec.name, spec.version, True, len(titles), 0, source))
            continue
        shots = load_shot_vectors(store, feature, titles)
        params = specs.MATCH_CUT_PARAMS
        cands = match_cut_candidates(shots, params["candidates_per_shot"], visual, DEFAULT_THRESHOLD, params["min_gap"],
                                     params["scope"], rerank=params["rank_by"])
        percentiles = cosine_percentiles(shots, np.asarray([c.score for c in cands], np.float64), params["scope"],
                                         params["min_gap"])
        by_title: dict[str, list[dict]] = {v: [] for v in titles}
        for c, pct in zip(cands, percentiles):
            by_title[c.video_id].append({"flavor": flavor, "shot_index": c.shot_index, "other_video_id": c.other_video_id,
                                         "other_shot_index": c.other_shot_index, "score": c.score, "rank": c.rank,
                                         "source_snapshot_id": source, "csls": c.csls, "percentile": float(pct)})
        sub = pa.schema([schema.field(n) for n in payload])
        tables = {FeatureSlice(v, spec.name, spec.version): pa.Table.from_pylist(rows, schema=sub)
                  for v, rows in by_title.items()}
        # A title with no candidates (a one-shot title) still gets an empty slice: nothing to pair.
        write = store.replace_slices("match_cuts", tables, run_id)
        out.append(MatchCutOutcome(flavor, spec.name, spec.version, False, len(titles), len(cands), source, write.snapshot_id))
    return out


def match_cuts_current(settings: Settings, store: FeatureStore, flavors: Sequence[str] = tuple(registry.flavors())) -> bool:
    """True when every flavor's stored candidates were computed from the current ``shot_embeddings`` snapshot."""
    store.ensure_tables(["match_cuts", "shot_embeddings", "media"])
    source = store.snapshot_id("shot_embeddings")
    ok = coverage.ok_titles(store)
    for flavor in flavors:
        titles = sorted(coverage.feature_coverage(store, registry.flavors()[flavor](settings), ok).present)
        if source is not None and titles and not _current(store, specs.match_cuts_spec(settings, flavor), titles, source):
            return False
    return True
