"""The ``reelhouse`` command line: ingest, shots, sql, similar, run and ui.

JSON output (``--json``) is a stable contract for tools; human output is drawn with rich.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from reelhouse.config import Settings, get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent


def _console(stderr: bool = False):
    """Rich console for human-readable output (``stderr=True`` keeps stdout clean for ``--json``)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# ingest ------------------------------------------------------------------------------------
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.lakehouse import FeatureStore, new_run_id
    from reelhouse.pipeline.media import ingest_file

    store = FeatureStore.from_settings(settings)
    store.ensure_tables(["media"])
    run_id = new_run_id()
    results = [ingest_file(store, Path(p), run_id) for p in args.paths]
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2))
    else:
        from rich.table import Table

        table = Table("path", "video_id", "status", "error")
        for r in results:
            table.add_row(r.path, r.video_id or "", r.status, r.error or "")
        _console().print(table)
    return 0 if all(r.status == "ok" for r in results) else 1


# shots -------------------------------------------------------------------------------------
def cmd_shots(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.media.errors import MediaError
    from models.shot_detection import DEFAULT_DETECTOR
    from reelhouse.media.segment import segment_file

    try:
        seg = segment_file(Path(args.video), args.detector or DEFAULT_DETECTOR)
    except MediaError as exc:
        print(f"reelhouse shots: {args.video}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # missing, a directory, unreadable
        print(f"reelhouse shots: {args.video}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    doc = {
        "video": args.video,
        "fps": seg.fps,
        "frames": seg.frames,
        "detector": seg.detector,
        "shots": [
            {"start": s.start, "end": s.end, "start_s": s.start_s, "end_s": s.end_s, "transition": s.transition,
             "confidence": round(s.confidence, 4)}
            for s in seg.shots
        ],
    }
    if args.sheet:
        from reelhouse.viz.contact_sheet import shot_sheet

        shot_sheet(args.video, doc["shots"], seg.fps, args.sheet)
        print(f"contact sheet: {args.sheet}", file=sys.stderr)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        from rich.table import Table

        table = Table("#", "start", "end", "start_s", "end_s", "transition", title=f"{args.video}: {len(seg.shots)} shots")
        for i, s in enumerate(doc["shots"]):
            table.add_row(str(i), str(s["start"]), str(s["end"]), f"{s['start_s']:.3f}", f"{s['end_s']:.3f}", s["transition"])
        _console().print(table)
    return 0


# sql ---------------------------------------------------------------------------------------
def _sql_text(query_or_file: str) -> str:
    for candidate in (Path(query_or_file), REPO_ROOT / "sql" / query_or_file, REPO_ROOT / "sql" / f"{query_or_file}.sql"):
        if candidate.suffix == ".sql" and candidate.is_file():
            return candidate.read_text()
    return query_or_file


def _parse_params(pairs: Sequence[str]) -> dict[str, object]:
    """``NAME=text`` binds a string; ``NAME:=json`` binds a JSON value (number, bool, null, list)."""
    params: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"reelhouse sql: --param expects NAME=TEXT or NAME:=JSON, got {pair!r}")
        if name.endswith(":"):
            try:
                params[name[:-1]] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"reelhouse sql: --param {name[:-1]}: invalid JSON {value!r} ({exc.msg})") from None
        else:
            params[name] = value
    return params


def run_sql(settings: Settings, sql: str, params: dict[str, object], fmt: str, out=None) -> None:
    """Run Trino-dialect ``sql`` on the configured engine and write the result to ``out``."""
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.query.engine import open_engine
    from reelhouse.query.output import write_result

    catalog = None
    if settings.sql_engine == "duckdb":  # Trino reads the catalog itself
        store = FeatureStore.from_settings(settings)
        store.ensure_tables()
        catalog = store.catalog
    with open_engine(settings, catalog) as engine:
        write_result(engine.stream(sql, params), fmt, out or sys.stdout)


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.query.errors import QueryError

    if args.engine:
        settings = settings.model_copy(update={"sql_engine": args.engine})
    from reelhouse.query import nullable_params

    text = _sql_text(args.query)
    params = _parse_params(args.param)
    try:
        # Parameters a query documents as "NULL for ..." may be left out (they mean "all" or a default).
        params = {name: None for name in nullable_params(text)} | params
        run_sql(settings, text, params, args.format)
    except QueryError as exc:
        print(f"reelhouse sql: {exc}", file=sys.stderr)
        return 2
    return 0


# compact -----------------------------------------------------------------------------------
def cmd_compact(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from reelhouse.lakehouse import FeatureStore

    results = FeatureStore.from_settings(settings).compact_all()
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for r in results:
            print(r)
    return 0


# similar -----------------------------------------------------------------------------------
def cmd_similar(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.pipeline.registry import searchable
    from reelhouse.search.ann import load_or_build

    if args.k < 1 or args.k > 1000:
        print("reelhouse similar: --k must be between 1 and 1000", file=sys.stderr)
        return 2
    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    feature = searchable()[args.embedding](settings).name
    try:
        index, _ = load_or_build(store, settings.index_root, feature)
        titles = args.titles.split(",") if args.titles else None
        hits = index.similar(args.video_id, args.shot_index, args.k, titles)
    except (KeyError, LookupError) as exc:
        print(f"reelhouse similar: {exc.args[0]}", file=sys.stderr)
        return 2
    doc = {
        "video_id": args.video_id,
        "shot_index": args.shot_index,
        "embedding": args.embedding,
        "feature": feature,
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

    from reelhouse.pipeline.shots import shot_rows

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


# match cuts, time ranges, subtitle search ----------------------------------------------------
def _fail(command: str, message: str) -> int:
    print(f"reelhouse {command}: {message}", file=sys.stderr)
    return 2


def _store(settings: Settings):
    from reelhouse.lakehouse import FeatureStore

    store = FeatureStore.from_settings(settings)
    store.ensure_tables()
    return store


def cmd_match_cuts(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.search.match_cuts import UnknownFlavor, find_match_cuts
    from reelhouse.search.shot_lookup import UnknownTitle, cut_pictures, resolve_titles, shot_spans

    if not 1 <= args.k <= 1000:
        return _fail("match-cuts", "--k must be between 1 and 1000")
    store = _store(settings)
    try:
        titles = resolve_titles(store, args.titles.split(","))
        if not titles:
            return _fail("match-cuts", "--titles names no title")
        found = find_match_cuts(store, settings, titles, args.flavor, n_pairs=args.k, per_shot=max(args.k, 10),
                                scope=args.scope, min_gap=args.min_gap)
    except (UnknownTitle, UnknownFlavor) as exc:
        return _fail("match-cuts", str(exc))
    spans = shot_spans(store, settings, titles)

    def shot(vid: str, idx: int) -> dict:
        span = spans.get((vid, idx), {})
        return {"video_id": vid, "shot_index": idx, "start_s": span.get("start_s"), "end_s": span.get("end_s")}

    doc = {"flavor": found.flavor, "feature": found.feature, "feature_version": found.feature_version,
           "titles": found.video_ids, "shots_compared": found.shots_compared,
           "pairs": [{"out": shot(p.video_id, p.shot_index), "in": shot(p.other_video_id, p.other_shot_index),
                      "score": round(p.score, 6)} for p in found.pairs]}
    if args.sheet:
        from reelhouse.viz.match_sheet import match_cut_sheet

        rows = cut_pictures(store, settings, found.pairs)
        heading = f"{found.flavor} match cuts ({found.feature}) among {len(titles)} title(s), {found.shots_compared} shots"
        match_cut_sheet(rows, args.sheet, heading)
        print(f"contact sheet: {args.sheet}", file=sys.stderr)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        from rich.table import Table

        table = Table("rank", "out", "in", "score", title=f"{found.flavor} match cuts")
        for i, p in enumerate(doc["pairs"], 1):
            a, b = p["out"], p["in"]
            table.add_row(str(i), f"{a['video_id'][:10]}… #{a['shot_index']} {a['start_s']:.2f}s",
                          f"{b['video_id'][:10]}… #{b['shot_index']} {b['start_s']:.2f}s", f"{p['score']:.3f}")
        _console().print(table)
    return 0


def cmd_shots_between(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.search.shot_lookup import UnknownTitle, resolve_titles, shots_between

    store = _store(settings)
    try:
        [vid] = resolve_titles(store, [args.video_id])
        shots = shots_between(store, settings, vid, args.start_s, args.end_s)
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


# serve -------------------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """The read-only HTTP API (FastAPI under uvicorn); OpenAPI at /openapi.json, docs at /docs."""
    import uvicorn

    from reelhouse.api import create_app

    print(f"reelhouse API on http://{args.host}:{args.port} (docs: /docs, schema: /openapi.json)", file=sys.stderr)
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info" if args.verbose else "warning")
    return 0


# run ---------------------------------------------------------------------------------------
def ensure_sample_library(settings: Settings, console) -> None:
    """Fill an empty landing folder with the generated sample titles plus a real clip from a package."""
    from reelhouse.pipeline.landing import VIDEO_SUFFIXES
    from reelhouse.samples import build_sample_library, real_clips

    landing = settings.resolved_landing
    landing.mkdir(parents=True, exist_ok=True)
    if any(p.suffix.lower() in VIDEO_SUFFIXES for p in landing.rglob("*")):
        return
    console.print(f"[bold]Landing folder {landing} is empty: adding the sample library[/bold]")
    build_sample_library(landing)
    clip = real_clips().get("bikes")
    if clip is not None:
        shutil.copyfile(clip, landing / "bikes.mp4")


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from rich.table import Table

    from dagster_project.library_run import run_library
    from reelhouse.lakehouse import FeatureStore, WarehouseUnavailable
    from reelhouse.pipeline.media import media_row
    from reelhouse.pipeline.shots import shot_rows

    console = _console()
    if not args.no_samples:
        ensure_sample_library(settings, console)
    try:
        report = run_library(settings, progress=lambda m: console.print(m))
    except WarehouseUnavailable as err:
        console.print(f"[bold red]error:[/bold red] {err}")
        return 2
    store = FeatureStore.from_settings(settings)

    titles = Table("video_id", "file", "status", "duration", "size", "shots", title="Titles")
    for vid, path in report.titles.items():
        row = media_row(store, vid) or {}
        status = row.get("status", "failed") if vid not in report.failed else "failed"
        status += " (memoized)" if vid in report.memoized else ""
        n = len(shot_rows(store, settings, vid)) if vid in report.ok and vid not in report.failed else 0
        dur = f"{row['duration_s']:.1f}s" if row.get("duration_s") else ""
        size = f"{row['display_width']}x{row['display_height']}" if row.get("display_width") else ""
        titles.add_row(vid[:12] + "…", os.path.basename(path), status, dur, size, str(n))
    console.print(titles)
    for vid, reason in {**report.quarantined, **report.failed}.items():
        console.print(f"  {os.path.basename(report.titles[vid])}: {reason}")
    if report.catalog_failed:
        console.print(f"  catalog assets (contextual model, indexes, match cuts): {report.catalog_failed}")

    console.print("\n[bold]sql/shots_per_title.sql[/bold] (Trino dialect, embedded engine)")
    run_sql(settings, _sql_text("shots_per_title.sql"), {}, "table")

    good = [v for v in report.ok if v not in report.failed]
    if good:
        shots = shot_rows(store, settings, good[0])
        probe_shot = shots[len(shots) // 2]["shot_index"]
        for embedding in ("visual", "contextual"):
            console.print()
            ns = argparse.Namespace(video_id=good[0], shot_index=probe_shot, k=5, titles=None, json=False, embedding=embedding)
            cmd_similar(ns, settings)
    return 0 if not report.failed and not report.catalog_failed else 1


# backfill ----------------------------------------------------------------------------------
def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.backfill import BackfillError, backfill_feature

    console = _console(stderr=args.json)
    titles = [t for t in args.titles.split(",") if t] if args.titles else None
    try:
        report = backfill_feature(settings, args.feature, args.version, titles, dry_run=args.dry_run,
                                  progress=console.print)
    except BackfillError as err:
        print(f"reelhouse backfill: {err}", file=sys.stderr)
        return 2
    doc = {"feature": report.feature, "version": report.version, "dry_run": args.dry_run,
           "computed": report.computed, "memoized": report.memoized, "failed": report.failed}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        verb = "would compute" if args.dry_run else "computed"
        console.print(f"{report.feature}@{report.version}: {verb} {len(report.computed) - len(report.failed)}, "
                      f"memoized {len(report.memoized)}, failed {len(report.failed)}")
    return 1 if report.failed else 0


# ui ----------------------------------------------------------------------------------------
def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from dagster_project.instance import dagster_instance

    dagster_instance(settings)  # creates DAGSTER_HOME and sets the env var
    exe = Path(sys.executable).with_name("dagster")
    cmd = [str(exe), "dev", "-m", "dagster_project.definitions", "-h", args.host, "-p", str(args.port)]
    os.chdir(REPO_ROOT)
    # A shell's background job starts with SIGINT ignored, and exec keeps "ignored". `dagster dev` maps
    # SIGTERM to its SIGINT handler, so it would then ignore both and only SIGKILL (leaving the webserver
    # and daemon behind) could stop it. With the defaults restored, either signal shuts it down cleanly.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover


def build_parser() -> argparse.ArgumentParser:
    from reelhouse.pipeline import registry  # the features' names: --embedding, --flavor, --feature

    parser = argparse.ArgumentParser(prog="reelhouse", description="Media ML feature platform on a data lakehouse.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="probe, validate and register video files")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("shots", help="detect shots in a video file")
    p.add_argument("video")
    p.add_argument("--detector", default=None, help="shot detector: hybrid (default), fast or transnetv2")
    p.add_argument("--json", action="store_true")
    p.add_argument("--sheet", metavar="PNG", help="also draw a contact sheet of the shots")
    p.set_defaults(func=cmd_shots)

    p = sub.add_parser("sql", help="run Trino-dialect SQL over the feature store (read-only)")
    p.add_argument("query", help="SQL text, a .sql file, or the name of a query in sql/")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="bind :NAME to TEXT, or NAME:=JSON for numbers, booleans, null")
    p.add_argument("--engine", choices=["duckdb", "trino"], help="embedded DuckDB (default) or the configured Trino (REELHOUSE_TRINO__HOST, ...)")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("compact", help="merge the feature tables' small files (rows are unchanged)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compact)

    p = sub.add_parser("similar", help="shots most similar to a shot (faiss)")
    p.add_argument("video_id")
    p.add_argument("shot_index", type=int)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--titles", help="comma-separated video ids to search among")
    p.add_argument("--embedding", choices=list(registry.searchable()), default="visual",
                   help="which shot embedding to compare: visual (EfficientNet, default), colour, layout, audio, text, "
                        "or contextual (the encoder trained on the catalog: shots in similar context)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("match-cuts", help="match-cut candidates among the titles you pick (query time)")
    p.add_argument("--titles", required=True, help="comma-separated video ids, id prefixes or file names")
    p.add_argument("--flavor", default="visual", help="the embedding compared: visual (default: EfficientNet embeddings, "
                   "framing and content), layout (edge layout), colour, audio or contextual (the contextual encoder's)")
    p.add_argument("--k", type=int, default=20, help="pairs to return, best first")
    p.add_argument("--scope", choices=["all", "within", "across"], default="all", help="pairs within a title, across titles, or both")
    p.add_argument("--min-gap", type=int, default=1, help="within a title, shots at most this many apart never pair")
    p.add_argument("--sheet", metavar="PNG", help="also draw the pairs side by side")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_match_cuts)

    p = sub.add_parser("shots-between", help="a title's shots overlapping a time range")
    p.add_argument("video_id", help="video id, id prefix or file name")
    p.add_argument("start_s", type=float)
    p.add_argument("end_s", type=float)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_shots_between)

    p = sub.add_parser("search-text", help="shots whose subtitles match words (by meaning, or --literal)")
    p.add_argument("words")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--titles", help="comma-separated titles to search among")
    p.add_argument("--literal", action="store_true", help="every word must appear (default: semantic search)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search_text)

    p = sub.add_parser("serve", help="serve the read-only HTTP API (similar, match cuts, shots, subtitle search)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("run", help="materialize every feature for the landing folder (the main job)")
    p.add_argument("--no-samples", action="store_true", help="do not add the sample library to an empty landing folder")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="compute one feature (and its missing upstream features) for every title")
    p.add_argument("--feature", required=True, help="feature name (its asset key): "
                   + ", ".join(f.name for f in registry.title_features() if f.name != "media") + ", contextual")
    p.add_argument("--version", help="the version to fill; must be the one this code computes (default: that one)")
    p.add_argument("--titles", help="comma-separated video ids (default: every ok title)")
    p.add_argument("--dry-run", action="store_true", help="only say which titles and assets would run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("ui", help="start the Dagster UI on 127.0.0.1")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return int(args.func(args, get_settings()) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
