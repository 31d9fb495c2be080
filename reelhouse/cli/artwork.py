"""``reelhouse artwork``: a title's best frames for artwork."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reelhouse.cli._common import _console, _fail, _store
from reelhouse.config import Settings


def cmd_artwork(args: argparse.Namespace, settings: Settings) -> int:
    from rich.table import Table

    from reelhouse.features.rows import frame_thumbnails
    from reelhouse.features.specs import shot_frames_spec
    from reelhouse.search.artwork import NoArtwork, artwork_sheet_png, read_artwork
    from reelhouse.search.shot_lookup import UnknownTitle, resolve_titles
    from reelhouse.viz.contact_sheet import timecode

    store = _store(settings)
    try:
        [vid] = resolve_titles(store, [args.title])
        found = read_artwork(store, settings, vid, args.k)
    except (UnknownTitle, NoArtwork, ValueError) as exc:
        return _fail("artwork", str(exc))
    if args.sheet:
        thumbs = frame_thumbnails(store, shot_frames_spec(settings), vid)
        Path(args.sheet).write_bytes(artwork_sheet_png(found, thumbs, f"{vid[:12]}: {len(found)} artwork candidates"))
    if args.json:
        print(json.dumps({"video_id": vid, "candidates": [
            {"shot_index": c.shot_index, "time_s": c.time_s, "score": round(c.score, 6)} for c in found]}, indent=2))
        return 0
    table = Table("rank", "shot", "time", "score", "scene", title=f"{vid[:12]}…: artwork candidates")
    for c in found:
        table.add_row(str(c.rank), str(c.shot_index), timecode(c.time_s), f"{c.score:.3f}", str(c.scene_index))
    _console().print(table)
    return 0
