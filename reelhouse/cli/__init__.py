"""The ``reelhouse`` command line: ingest, shots, sql, similar, match-cuts, scenes, tags, artwork, clip, run and ui.

JSON output (``--json``) is a stable contract for tools; human output is drawn with rich.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from reelhouse.cli.artwork import cmd_artwork
from reelhouse.cli.clips import cmd_clip
from reelhouse.cli.jobs import cmd_backfill, cmd_run, cmd_ui
from reelhouse.cli.media import cmd_ingest, cmd_shots
from reelhouse.cli.scenes import cmd_scenes
from reelhouse.cli.search import cmd_match_cuts, cmd_regions, cmd_search_text, cmd_serve, cmd_shots_between, cmd_similar
from reelhouse.cli.spark import cmd_spark_conf
from reelhouse.cli.sql import cmd_compact, cmd_sql
from reelhouse.cli.tags import cmd_search_tag, cmd_tags
from reelhouse.config import get_settings


def build_parser() -> argparse.ArgumentParser:
    from reelhouse.features import registry  # the features' names: --embedding, --flavor, --feature

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

    p = sub.add_parser("spark-conf", help="the Spark configuration (jars, catalog) that reads the tables from your own Spark")
    p.add_argument("--format", choices=["args", "properties", "json"], default="args",
                   help="spark-submit/pyspark arguments (default), a --properties-file, or JSON")
    p.add_argument("--spark-version", default="4.1", help="your Spark's version: 4.0 or 4.1 (default)")
    p.add_argument("--jar-cache", metavar="DIR", help="where the jars are downloaded (default ~/.cache/reelhouse/jars)")
    p.set_defaults(func=cmd_spark_conf)

    p = sub.add_parser("similar", help="shots most similar to a shot (faiss)")
    p.add_argument("video_id")
    p.add_argument("shot_index", type=int)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--titles", help="comma-separated video ids to search among")
    p.add_argument("--embedding", choices=list(registry.searchable()), default="visual",
                   help="which shot embedding to compare (default visual); contextual is the encoder trained on the "
                        "catalog: shots in similar context")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("match-cuts", help="match-cut candidates among the titles you pick (query time)")
    p.add_argument("--titles", required=True, help="comma-separated video ids, id prefixes or file names")
    p.add_argument("--flavor", default="visual", help="the embedding compared: visual (default: EfficientNet embeddings, "
                   "framing and content), layout (edge layout), colour, audio or contextual (the contextual encoder's)")
    p.add_argument("--k", type=int, default=20, help="pairs to return, best first")
    p.add_argument("--scope", choices=["all", "within", "across"], default="all", help="pairs within a title, across titles, or both")
    p.add_argument("--min-gap", type=int, default=1, help="within a title, shots at most this many apart never pair")
    p.add_argument("--per-shot", type=int, default=1,
                   help="each shot in at most this many returned pairs, as either side (default 1; 0: no limit)")
    p.add_argument("--rank-by", choices=["csls", "cosine"], default="csls",
                   help="csls (default: cosine discounted by how close each shot is to everything, so no shot is "
                        "everyone's match) or raw cosine")
    p.add_argument("--sheet", metavar="PNG", help="also draw the pairs side by side")
    p.add_argument("--preview", metavar="MP4", help="also write the pairs as one reel: each outgoing shot's last 1.5 s "
                   "then the incoming shot's first 1.5 s")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_match_cuts)

    p = sub.add_parser("shots-between", help="a title's shots overlapping a time range")
    p.add_argument("video_id", help="video id, id prefix or file name")
    p.add_argument("start_s", type=float)
    p.add_argument("end_s", type=float)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_shots_between)

    p = sub.add_parser("scenes", help="a title's scenes (shots that belong together) and chapters")
    p.add_argument("title", help="video id, id prefix or file name")
    p.add_argument("--json", action="store_true")
    p.add_argument("--sheet", metavar="PNG", help="also draw the first frame of each scene")
    p.set_defaults(func=cmd_scenes)

    p = sub.add_parser("tags", help="train tags from your labels (tags train LABELS.csv), or a title's tag scores (tags TITLE)",
                       description="reelhouse tags train LABELS.csv: rows title,start_s,end_s,tag (seconds, [start_s, "
                                   "end_s)); a title the file names is labelled in full (its shots outside a tag's spans "
                                   "are that tag's negatives). Trains one probe per tag on the visual, audio and text "
                                   "embeddings and scores every title. reelhouse tags TITLE: each shot's score per tag.")
    p.add_argument("target", metavar="TITLE|train", help="a title (video id, id prefix or file name), or 'train'")
    p.add_argument("labels", nargs="?", metavar="LABELS.csv", help="with 'train': the label file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tags)

    p = sub.add_parser("search-tag", help="the shots scoring highest for a tag, across titles")
    p.add_argument("tag")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--titles", help="comma-separated titles to search among")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search_tag)

    p = sub.add_parser("artwork", help="a title's best frames for artwork: sharp, well exposed, clear of transitions, "
                                       "no two alike, spread over its scenes")
    p.add_argument("title", help="video id, id prefix or file name")
    p.add_argument("--k", type=int, default=6, help="how many, best first (1-12, default 6)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--sheet", metavar="PNG", help="also draw them")
    p.set_defaults(func=cmd_artwork)

    p = sub.add_parser("regions", help="shots by region: where a face is on the frame and how much of it it fills",
                       description="Boxes are in frame coordinates: x 0 (left edge) to 1 (right), y 0 (top) to 1 "
                                   "(bottom); a box is in an area when its centre is. 'A face filling more than a fifth "
                                   "of the frame, in its left third': --min-area 0.2 --x-max 0.3333.")
    p.add_argument("--label", default="face", help="region label (default face)")
    for name, default, what in (("--min-area", 0.0, "smallest share of the frame the box covers"),
                                ("--max-area", 1.0, "largest share of the frame"),
                                ("--x-min", 0.0, "box centre at least this far from the left edge"),
                                ("--x-max", 1.0, "box centre at most this far from the left edge"),
                                ("--y-min", 0.0, "box centre at least this far from the top"),
                                ("--y-max", 1.0, "box centre at most this far from the top")):
        p.add_argument(name, type=float, default=default, help=f"{what} (0-1, default {default:g})")
    p.add_argument("--titles", help="comma-separated titles to search among")
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_regions)

    p = sub.add_parser("clip", help="write a shot, or a time span, of a title as a playable MP4 (frame-exact)",
                       description="reelhouse clip TITLE --shot N OUT.mp4, or reelhouse clip TITLE START_S END_S OUT.mp4: "
                                   "frames of the title's standardized encode, re-encoded so the clip starts on the "
                                   "shot's (or span's) first frame; the span [START_S, END_S) is covered to within one frame.")
    p.add_argument("title", help="video id, id prefix or file name")
    p.add_argument("where", nargs="+", metavar="[START_S END_S] OUT.mp4")
    p.add_argument("--shot", type=int, help="the shot's number in its title")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_clip)

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
    p.add_argument("--workers", type=int, help="API processes (default: serve.workers, 1); they share one mapped index")
    p.add_argument("--refresh-s", type=float, help="seconds between looks for newer snapshots (default: serve.refresh_s, 2)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("run", help="materialize every feature for the landing folder (the main job)")
    p.add_argument("--no-samples", action="store_true", help="do not add the sample library to an empty landing folder")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="compute one feature (and its missing upstream features) for every title")
    p.add_argument("--feature", required=True, help="feature name (its asset key): "
                   + ", ".join(f.name for f in registry.FEATURES if f.name != "media"))
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
