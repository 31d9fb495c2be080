"""``reelhouse tags``: train tags from a team's labels, a title's tag scores; ``reelhouse search-tag``."""

from __future__ import annotations

import argparse
import json

from reelhouse.cli._common import _console, _fail, _store
from reelhouse.config import Settings


def cmd_tags(args: argparse.Namespace, settings: Settings) -> int:
    if args.target == "train":
        if not args.labels:
            return _fail("tags", "usage: reelhouse tags train LABELS.csv (rows title,start_s,end_s,tag)")
        return train(args, settings)
    if args.labels:
        return _fail("tags", f"unexpected argument {args.labels!r} (reelhouse tags TITLE, or reelhouse tags train LABELS.csv)")
    return show(args, settings)


def train(args: argparse.Namespace, settings: Settings) -> int:
    from rich.table import Table

    from dagster_project.library_run import materialize_tags
    from reelhouse.pipeline.tags import LabelError, install_labels
    from reelhouse.search.tags import probe_set

    store = _store(settings)
    console = _console(stderr=args.json)
    try:
        labels = install_labels(settings, store, args.labels)
    except LabelError as exc:
        return _fail("tags", str(exc))
    console.print(f"{len(labels)} labelled span(s) of {len({lb.video_id for lb in labels})} title(s), "
                  f"{len({lb.tag for lb in labels})} tag(s): training the probes and scoring every title")
    failed = materialize_tags(settings, progress=lambda m: console.print(f"  {m}"))
    if failed:
        return _fail("tags", f"training or scoring failed: {failed}")
    probes = probe_set(settings)
    if args.json:
        print(json.dumps({"content_version": probes.content_version, "feature_version": probes.feature_version,
                          "tags": [{"tag": t.tag, "positives": t.positives, "negatives": t.negatives, "cv_ap": t.cv_ap}
                                   for t in probes.tags]}, indent=2))
        return 0
    table = Table(title=f"tag probes {probes.content_version}")
    for col in ("tag", "positive shots", "negative shots", "cross-validated AP"):
        table.add_column(col)
    for t in probes.tags:
        table.add_row(t.tag, str(t.positives), str(t.negatives), "n/a" if t.cv_ap is None else f"{t.cv_ap:.3f}")
    console.print(table)
    return 0


def show(args: argparse.Namespace, settings: Settings) -> int:
    from rich.table import Table

    from reelhouse.search.shot_lookup import UnknownTitle, resolve_titles
    from reelhouse.features.tag_models import NoTagProbes
    from reelhouse.search.tags import title_tags
    from reelhouse.viz.contact_sheet import timecode

    store = _store(settings)
    try:
        [vid] = resolve_titles(store, [args.target])
        found = title_tags(store, settings, vid)
    except (UnknownTitle, NoTagProbes) as exc:
        return _fail("tags", str(exc))
    if args.json:
        print(json.dumps(found.as_json(), indent=2))
        return 0
    table = Table(title=f"{vid[:12]}…: tag scores per shot (probability; 0.5 is the probes' threshold)")
    for col in ("shot", "start", "end", *found.tags):
        table.add_column(col)
    for shot, row in zip(found.shots, found.scores):
        table.add_row(str(shot["shot_index"]), timecode(shot["start_s"]), timecode(shot["end_s"]),
                      *(f"[bold]{v:.2f}[/bold]" if v >= 0.5 else f"{v:.2f}" for v in row))
    _console().print(table)
    return 0


def cmd_search_tag(args: argparse.Namespace, settings: Settings) -> int:
    from rich.table import Table

    from reelhouse.search.shot_lookup import UnknownTitle, resolve_titles
    from reelhouse.features.tag_models import NoTagProbes
    from reelhouse.search.tags import UnknownTag, search_tag
    from reelhouse.viz.contact_sheet import timecode

    if args.k < 1:
        return _fail("search-tag", f"--k must be at least 1, got {args.k}")
    store = _store(settings)
    try:
        titles = resolve_titles(store, args.titles.split(",")) if args.titles else None
        hits = search_tag(store, settings, args.tag, args.k, titles)
    except (UnknownTitle, NoTagProbes, UnknownTag) as exc:
        return _fail("search-tag", str(exc))
    if args.json:
        print(json.dumps({"tag": args.tag, "results": [h.as_json() for h in hits]}, indent=2))
        return 0
    table = Table(title=f"shots scoring highest for {args.tag!r}")
    for col in ("video_id", "shot", "start", "end", "score"):
        table.add_column(col)
    for h in hits:
        table.add_row(h.video_id[:12] + "…", str(h.shot_index), timecode(h.start_s), timecode(h.end_s), f"{h.score:.3f}")
    _console().print(table)
    return 0
