"""Analyst-query latency on a 1M-shot / 10,000-title feature store: embedded engine vs pyiceberg + pandas.

Run: ``.venv/bin/python -m benchmarks.sql [--titles 10000] [--shots-per-title 100]``

Builds (once; reused while its shape is unchanged) a synthetic feature store through the real write
path (``reelhouse.samples.synthetic_catalog``: every table, stale versions, quarantined titles, compacted
as maintained catalogs are), then runs every query in ``sql/`` on the embedded engine (DuckDB over the
Iceberg tables, Trino SQL translated by sqlglot): one cold run, then the median of three warm runs. The
baseline computes the same answers the way one would without an engine: pyiceberg table scans (with the
same filters pushed down) into pandas. Both answers are compared (row counts) so neither side is skipping
work. Target: every query under 1 s. Last line: ``{"max_query_s", "speedup_vs_baseline"}`` where the
speedup is the baseline's total time over the embedded engine's total (warm) time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from pyiceberg.expressions import And, EqualTo, In

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore
from reelhouse.query import required_params
from reelhouse.query.duckdb_engine import DuckDBEngine
from reelhouse.samples.synthetic_catalog import VISUAL_FEATURE, SyntheticCatalogSpec, write_synthetic_catalog

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
TABLES = ("media", "encodes", "shots", "shot_frames", "shot_embeddings", "shot_audio", "subtitle_cues", "shot_dedup", "match_cuts")


def build(home: Path, spec: SyntheticCatalogSpec) -> FeatureStore:
    marker = home / "synthetic-spec.json"
    store = FeatureStore.from_settings(Settings(home=home))
    if marker.exists() and marker.read_text() == spec.model_dump_json():
        print(f"reusing the synthetic store in {home}")
        return store
    if home.exists():
        import shutil

        shutil.rmtree(home)
    home.mkdir(parents=True)
    store = FeatureStore.from_settings(Settings(home=home))
    t0 = time.perf_counter()
    cat = write_synthetic_catalog(store, spec, titles_per_commit=2000, progress=lambda m: print("  " + m, flush=True))
    print(f"built in {time.perf_counter() - t0:.0f} s: " + ", ".join(f"{k} {v:,}" for k, v in cat.rows.items()))
    marker.write_text(spec.model_dump_json())
    return store


# pandas baselines: the same answers from pyiceberg scans -------------------------------------------
def latest(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows of each key's most recently written feature_version."""
    slices = df.groupby([*keys, "feature_version"], as_index=False).written_at.max()
    best = slices.sort_values(["written_at", "feature_version"]).groupby(keys).tail(1)[[*keys, "feature_version"]]
    return df.merge(best, on=[*keys, "feature_version"])


def names(store: FeatureStore) -> pd.DataFrame:
    media = store.read("media", selected_fields=("video_id", "source_uri", "written_at", "feature_version", "status", "duration_s")).to_pandas()
    media = media.sort_values(["written_at", "feature_version"]).groupby("video_id").tail(1)
    return media.assign(title=media.source_uri.str.rsplit("/", n=1).str[-1])


def base_shots_per_title(store, p):
    shots = store.read("shots", selected_fields=("video_id", "feature_version", "written_at", "start_s", "end_s")).to_pandas()
    shots = latest(shots, ["video_id"]).assign(shot_s=lambda d: d.end_s - d.start_s)
    stats = shots.groupby(["video_id", "feature_version"]).shot_s.agg(["count", "sum", "mean", "median", "min", "max"]).reset_index()
    return stats.merge(names(store)[["video_id", "source_uri", "duration_s"]], on="video_id", how="left")


def base_shot_length_distribution(store, p):
    shots = latest(store.read("shots", selected_fields=("video_id", "feature_version", "written_at", "start_s", "end_s")).to_pandas(), ["video_id"])
    bucket = np.clip(np.floor((shots.end_s - shots.start_s).to_numpy()).astype(int) + 1, 1, 31)
    return pd.Series(bucket).value_counts().sort_index()


def base_feature_coverage(store, p):
    parts = [store.read(t, selected_fields=("video_id", "feature", "feature_version", "written_at")).to_pandas().assign(table_name=t)
             for t in TABLES]
    rows = pd.concat(parts)
    media = names(store)
    ok = set(media.video_id[media.status == "ok"])
    slices = rows.groupby(["table_name", "feature", "feature_version", "video_id"]).written_at.agg(["count", "min", "max"]).reset_index()
    versions = slices.groupby(["table_name", "feature", "feature_version"]).agg(titles=("video_id", "size"), last=("max", "max")).reset_index()
    newest = versions.sort_values(["last", "feature_version"]).groupby(["table_name", "feature"]).tail(1)
    held = slices.merge(newest[["table_name", "feature", "feature_version"]], on=["table_name", "feature", "feature_version"])
    newest_holders = held.groupby(["table_name", "feature"]).video_id.agg(set)
    versions["missing"] = [len(ok - newest_holders[(t, f)]) for t, f in zip(versions.table_name, versions.feature)]
    return versions


def base_top_match_cuts(store, p):
    cuts = latest(store.read("match_cuts", selected_fields=("video_id", "feature", "feature_version", "written_at", "flavor",
                                                            "shot_index", "other_video_id", "other_shot_index", "score")).to_pandas(),
                  ["video_id", "feature"])
    first = (cuts.video_id < cuts.other_video_id) | ((cuts.video_id == cuts.other_video_id) & (cuts.shot_index <= cuts.other_shot_index))
    pairs = pd.DataFrame({"flavor": cuts.flavor, "score": cuts.score,
                          "a": np.where(first, cuts.video_id, cuts.other_video_id), "ai": np.where(first, cuts.shot_index, cuts.other_shot_index),
                          "b": np.where(first, cuts.other_video_id, cuts.video_id), "bi": np.where(first, cuts.other_shot_index, cuts.shot_index)})
    top = pairs.groupby(["flavor", "a", "ai", "b", "bi"], as_index=False).score.max().sort_values("score", ascending=False).groupby("flavor").head(20)
    ids = list(set(top.a) | set(top.b))
    shots = latest(store.read("shots", In("video_id", ids), ("video_id", "feature_version", "written_at", "shot_index", "start_s", "end_s")).to_pandas(), ["video_id"])
    title = names(store)[["video_id", "title"]]
    return (top.merge(title, left_on="a", right_on="video_id", how="left")
            .merge(shots, left_on=["a", "ai"], right_on=["video_id", "shot_index"], how="left"))


def base_shots_in_time_range(store, p):
    media = names(store)
    vid = media.video_id[(media.video_id == p["title"]) | media.video_id.str.startswith(p["title"]) | (media.title == p["title"])].iloc[0]
    shots = latest(store.read("shots", EqualTo("video_id", vid)).to_pandas(), ["video_id"])
    shots = shots[(shots.start_s < p["end_s"]) & (shots.end_s > p["start_s"])]
    cues = latest(store.read("subtitle_cues", EqualTo("video_id", vid)).to_pandas(), ["video_id"])
    cues = cues[(cues.start_s < p["end_s"]) & (cues.end_s > p["start_s"])]
    shots["subtitle_text"] = [" ".join(cues.text[(cues.start_s < e) & (cues.end_s > s)]) or None for s, e in zip(shots.start_s, shots.end_s)]
    return shots


def base_near_duplicate_groups(store, p):
    dedup = latest(store.read("shot_dedup", selected_fields=("video_id", "feature_version", "written_at", "shot_index", "group_shot_index", "similarity")).to_pandas(), ["video_id"])
    groups = dedup.groupby(["video_id", "group_shot_index"]).agg(size=("shot_index", "size"), shots=("shot_index", list), sim=("similarity", "min")).reset_index()
    return groups[groups["size"] >= 2].merge(names(store)[["video_id", "title"]], on="video_id", how="left")


def base_subtitle_search(store, p):
    cues = latest(store.read("subtitle_cues").to_pandas(), ["video_id"])
    hits = cues[(cues.cue_index >= 0) & cues.text.str.lower().str.contains(p["phrase"].lower(), regex=False)]
    shots = latest(store.read("shots", In("video_id", list(set(hits.video_id))), ("video_id", "feature_version", "written_at", "shot_index", "start_s", "end_s")).to_pandas(), ["video_id"])
    merged = hits.merge(shots, on="video_id", suffixes=("", "_shot"))
    merged = merged[(merged.start_s >= merged.start_s_shot) & (merged.start_s < merged.end_s_shot)]
    return hits.merge(merged[["video_id", "cue_index", "shot_index"]], on=["video_id", "cue_index"], how="left")


def base_similar_shots(store, p):
    emb = latest(store.read("shot_embeddings", And(EqualTo("feature", p["feature"]), EqualTo("video_id", p["video_id"]))).to_pandas(), ["video_id"])
    vectors = np.stack(emb.embedding.to_numpy()).astype(np.float64)
    query = vectors[emb.shot_index.to_numpy() == p["shot_index"]][0]
    sims = vectors @ query / np.linalg.norm(vectors, axis=1) / np.linalg.norm(query)
    emb = emb.assign(similarity=sims)
    return emb[emb.shot_index != p["shot_index"]].nlargest(p.get("top_n") or 10, "similarity")


BASELINES: dict[str, Callable] = {
    "shots_per_title": base_shots_per_title, "shot_length_distribution": base_shot_length_distribution,
    "feature_coverage": base_feature_coverage, "top_match_cuts": base_top_match_cuts,
    "shots_in_time_range": base_shots_in_time_range, "near_duplicate_groups": base_near_duplicate_groups,
    "subtitle_search": base_subtitle_search, "similar_shots": base_similar_shots,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--titles", type=int, default=10_000)
    ap.add_argument("--shots-per-title", type=int, default=100)
    ap.add_argument("--home", type=Path, default=Path(".reelhouse/bench/sql-store"))
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()
    spec = SyntheticCatalogSpec(titles=args.titles, shots_per_title=args.shots_per_title, dim=64, cues_per_title=20,
                                match_cuts_per_shot=3, stale_share=0.1, quarantined_share=0.01, seed=0)
    store = build(args.home, spec)
    shots = store.read("shots", selected_fields=("video_id",))
    vid = shots.column("video_id")[0].as_py()
    print(f"catalog: {shots.num_rows:,} shots over {len(set(shots.column('video_id').to_pylist())):,} titles")
    params = {
        "shots_in_time_range": {"title": vid[:10], "start_s": 60.0, "end_s": 180.0},
        "subtitle_search": {"phrase": "river bridge"},
        "similar_shots": {"feature": VISUAL_FEATURE, "video_id": vid, "shot_index": 8},
        "top_match_cuts": {"flavor": "framing"},
    }
    t0 = time.perf_counter()
    engine = DuckDBEngine(store.catalog)
    print(f"engine open: {time.perf_counter() - t0:.2f} s")
    results = {}
    for path in sorted(SQL_DIR.glob("*.sql")):
        text = path.read_text()
        bound = {p: None for p in required_params(text)} | params.get(path.stem, {})
        t = time.perf_counter()
        table = engine.execute(text, bound)
        cold = time.perf_counter() - t
        warm = []
        for _ in range(3):
            t = time.perf_counter()
            engine.execute(text, bound)
            warm.append(time.perf_counter() - t)
        base_s = None
        base_rows = None
        if not args.skip_baseline:
            t = time.perf_counter()
            base = BASELINES[path.stem](store, bound)
            base_s = time.perf_counter() - t
            base_rows = len(base)
        results[path.stem] = {"rows": table.num_rows, "cold_s": cold, "warm_s": statistics.median(warm),
                              "baseline_s": base_s, "baseline_rows": base_rows}
        r = results[path.stem]
        ratio = f"{base_s / r['warm_s']:6.1f}x" if base_s else "   n/a"
        print(f"{path.stem:26s} rows {r['rows']:>6} | cold {cold:6.3f} s | warm {r['warm_s']:6.3f} s | "
              f"pyiceberg+pandas {base_s if base_s is not None else float('nan'):7.2f} s ({base_rows} rows) | {ratio}", flush=True)
    engine.close()
    max_query = max(r["warm_s"] for r in results.values())
    max_cold = max(r["cold_s"] for r in results.values())
    total = sum(r["warm_s"] for r in results.values())
    base_total = sum(r["baseline_s"] or 0 for r in results.values())
    speedup = base_total / total if base_total else None
    print(f"max warm query {max_query:.3f} s (target < 1 s: {'met' if max_query < 1 else 'NOT met'}); max cold {max_cold:.3f} s; "
          f"total {total:.2f} s vs baseline {base_total:.1f} s")
    print(json.dumps({"max_query_s": round(max_query, 3), "speedup_vs_baseline": round(speedup, 1) if speedup else None,
                      "max_cold_query_s": round(max_cold, 3), "shots": shots.num_rows, "titles": args.titles}))


if __name__ == "__main__":
    main()
