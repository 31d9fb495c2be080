"""The read side: ``similar``, ``match-cuts``, ``shots-between``, ``search-text`` and ``serve`` (the HTTP API)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from reelhouse.config import Settings, get_settings
from reelhouse.cli._common import _console, _fail, _store


def cmd_similar(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.features.registry import searchable
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.search.ann import load_or_build

    if args.k < 1 or args.k > 1000:
        print("reelhouse similar: --k must be between 1 and 1000", file=sys.stderr)
        return 2
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    spec = searchable()[args.embedding](settings)
    try:
        index, _ = load_or_build(store, settings.index_root, spec)
        titles = args.titles.split(",") if args.titles else None
        hits = index.similar(args.video_id, args.shot_index, args.k, titles)
    except (KeyError, LookupError) as exc:
        print(f"reelhouse similar: {exc.args[0]}", file=sys.stderr)
        return 2
    doc = {
        "video_id": args.video_id,
        "shot_index": args.shot_index,
        "embedding": args.embedding,
        "feature": spec.name,
        "feature_version": index.feature_version,
        "snapshot_id": index.snapshot_id,
        "results": [{"video_id": h.video_id, "shot_index": h.shot_index, "score": round(h.score, 6)} for h in hits],
    }
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _print_similar(settings, store, doc)
    return 0


def _print_similar(settings: Settings, store, doc: dict) -> None:
    from rich.table import Table

    from reelhouse.features.rows import shot_rows

    cache: dict[str, dict[int, dict]] = {}

    def span(vid: str, idx: int) -> str:
        rows = cache.setdefault(vid, {r["shot_index"]: r for r in shot_rows(store, settings, vid)})
        r = rows.get(idx)
        return f"{r['start_s']:.2f}-{r['end_s']:.2f}s" if r else ""

    table = Table("rank", "video_id", "shot", "time", "cosine",
                  title=f"shots most like {doc['video_id'][:12]}… shot {doc['shot_index']} ({span(doc['video_id'], doc['shot_index'])}), "
                        f"by {doc['embedding']} embedding")
    for i, h in enumerate(doc["results"], 1):
        table.add_row(str(i), h["video_id"][:12] + "…", str(h["shot_index"]), span(h["video_id"], h["shot_index"]), f"{h['score']:.3f}")
    _console().print(table)


def cmd_match_cuts(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.search.match_cuts import UnknownFlavor, find_match_cuts
    from reelhouse.search.shot_lookup import UnknownTitle, cut_pictures, resolve_titles, shot_spans

    if not 1 <= args.k <= 1000:
        return _fail("match-cuts", "--k must be between 1 and 1000")
    if args.per_shot < 0:
        return _fail("match-cuts", "--per-shot must be 0 (no limit) or more")
    store = _store(settings)
    try:
        titles = resolve_titles(store, args.titles.split(","))
        if not titles:
            return _fail("match-cuts", "--titles names no title")
        found = find_match_cuts(store, settings, titles, args.flavor, n_pairs=args.k, candidates_per_shot=max(args.k, 10),
                                scope=args.scope, min_gap=args.min_gap, rank_by=args.rank_by,
                                max_per_shot=args.per_shot or None)
    except (UnknownTitle, UnknownFlavor) as exc:
        return _fail("match-cuts", str(exc))
    spans = shot_spans(store, settings, titles)

    def shot(vid: str, idx: int) -> dict:
        span = spans.get((vid, idx), {})
        return {"video_id": vid, "shot_index": idx, "start_s": span.get("start_s"), "end_s": span.get("end_s")}

    doc = {"flavor": found.flavor, "feature": found.feature, "feature_version": found.feature_version,
           "titles": found.video_ids, "shots_compared": found.shots_compared, "rank_by": found.rank_by,
           "per_shot": found.max_per_shot or 0,
           "pairs": [{"out": shot(p.video_id, p.shot_index), "in": shot(p.other_video_id, p.other_shot_index),
                      "score": round(p.score, 6), "csls": round(p.csls, 6),
                      "percentile": None if p.percentile is None else round(p.percentile, 3)} for p in found.pairs]}
    if args.sheet:
        from reelhouse.viz.match_sheet import match_cut_sheet, search_heading

        rows = cut_pictures(store, settings, found.pairs)
        heading = search_heading(found)
        match_cut_sheet(rows, args.sheet, heading)
        print(f"contact sheet: {args.sheet}", file=sys.stderr)
    if args.preview:
        from reelhouse.media.clip import write_segments
        from reelhouse.search.clips import REEL_SIZE, ClipError, reel_segments

        if not found.pairs:
            return _fail("match-cuts", "no pairs to preview")
        try:
            reel = write_segments(reel_segments(store, settings, found.pairs), args.preview, REEL_SIZE)
        except (ClipError, ValueError) as exc:
            return _fail("match-cuts", f"--preview: {exc}")
        doc["preview"] = {"out": str(reel.path), "frames": reel.frames, "duration_s": round(reel.duration_s, 6)}
        print(f"preview reel: {args.preview} ({len(found.pairs)} cuts, {reel.duration_s:.1f} s)", file=sys.stderr)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        from rich.table import Table

        table = Table("rank", "out", "in", "cosine", "csls", "percentile",
                      title=f"{found.flavor} match cuts, by {found.rank_by}"
                            + (f", each shot at most {found.max_per_shot}x" if found.max_per_shot else ""))
        for i, p in enumerate(doc["pairs"], 1):
            a, b = p["out"], p["in"]
            table.add_row(str(i), f"{a['video_id'][:10]}… #{a['shot_index']} {a['start_s']:.2f}s",
                          f"{b['video_id'][:10]}… #{b['shot_index']} {b['start_s']:.2f}s", f"{p['score']:.3f}",
                          f"{p['csls']:.3f}", f"{p['percentile']:.2f}")
        _console().print(table)
    return 0


def cmd_shots_between(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.features.rows import shot_rows
    from reelhouse.search.shot_lookup import UnknownTitle, resolve_titles, shots_between

    store = _store(settings)
    try:
        [vid] = resolve_titles(store, [args.video_id])
        shots = shots_between(shot_rows(store, settings, vid), args.start_s, args.end_s)
    except (UnknownTitle, ValueError) as exc:
        return _fail("shots-between", str(exc))
    keys = ("shot_index", "start_frame", "end_frame", "start_s", "end_s", "transition")
    doc = {"video_id": vid, "start_s": args.start_s, "end_s": args.end_s, "shots": [{k: s[k] for k in keys} for s in shots]}
    print(json.dumps(doc, indent=2) if args.json else "\n".join(
        f"shot {s['shot_index']:4d}  {s['start_s']:9.3f}-{s['end_s']:9.3f}s  {s['transition']}" for s in doc["shots"]))
    return 0


def cmd_search_text(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.search.shot_lookup import UnknownTitle, resolve_titles
    from reelhouse.search.text_search import search_text

    if not 1 <= args.k <= 1000:
        return _fail("search-text", "--k must be between 1 and 1000")
    store = _store(settings)
    try:
        titles = resolve_titles(store, args.titles.split(",")) if args.titles else None
        hits = search_text(store, settings, settings.index_root, args.words, args.k, titles,
                           "literal" if args.literal else "semantic")
    except (UnknownTitle, ValueError, LookupError) as exc:
        return _fail("search-text", str(exc.args[0]) if exc.args else str(exc))
    doc = {"query": args.words, "mode": "literal" if args.literal else "semantic",
           "results": [h.__dict__ for h in hits]}
    print(json.dumps(doc, indent=2) if args.json else "\n".join(
        f"{h.score:6.3f}  {h.video_id[:12]}…  shot {h.shot_index:4d}  {h.start_s:8.2f}s  {h.text!r}" for h in hits))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """The read-only HTTP API (FastAPI under uvicorn); OpenAPI at /openapi.json, docs at /docs.

    ``--workers`` and ``--refresh-s`` override ``serve.workers`` and ``serve.refresh_s``; several workers
    are separate processes (uvicorn's), each building its app from the environment, so the overrides
    travel as ``REELHOUSE_SERVE__*`` variables.
    """
    import uvicorn

    if args.workers is not None:
        os.environ["REELHOUSE_SERVE__WORKERS"] = str(args.workers)
    if args.refresh_s is not None:
        os.environ["REELHOUSE_SERVE__REFRESH_S"] = str(args.refresh_s)
    get_settings.cache_clear()  # read again, with the overrides
    try:
        settings = get_settings()
    except ValueError as exc:
        return _fail("serve", str(exc))
    workers = settings.serve.workers
    print(f"reelhouse API on http://{args.host}:{args.port} ({workers} worker{'s' * (workers > 1)}; docs: /docs, "
          "schema: /openapi.json)", file=sys.stderr)
    uvicorn.run("reelhouse.api.app:app_from_environment", factory=True, workers=workers, host=args.host,
                port=args.port, log_level="info" if args.verbose else "warning", access_log=bool(args.verbose))
    return 0


def cmd_regions(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from reelhouse.search.regions import RegionQuery, find_regions
    from reelhouse.search.shot_lookup import UnknownTitle, resolve_titles

    if not 1 <= args.k <= 1000:
        return _fail("regions", "--k must be between 1 and 1000")
    try:
        query = RegionQuery(args.label, args.min_area, args.max_area, args.x_min, args.x_max, args.y_min, args.y_max)
    except ValueError as exc:
        return _fail("regions", str(exc))
    store = _store(settings)
    try:
        titles = resolve_titles(store, args.titles.split(",")) if args.titles else None
    except UnknownTitle as exc:
        return _fail("regions", str(exc))
    hits = find_regions(store, settings, query, titles, args.k)
    doc = {"query": asdict(query), "results": [asdict(h) for h in hits]}
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    for h in hits:
        print(f"{h.video_id[:12]}  shot {h.shot_index:4d}  {h.t_s:9.3f}s  {h.label} {h.area:.2f} of the frame at "
              f"x {h.x0:.2f}-{h.x1:.2f}, y {h.y0:.2f}-{h.y1:.2f}")
    return 0
