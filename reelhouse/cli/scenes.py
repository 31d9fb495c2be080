"""``reelhouse scenes``: a title's scenes and chapters."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reelhouse.cli._common import _console, _fail, _store
from reelhouse.config import Settings


def cmd_scenes(args: argparse.Namespace, settings: Settings) -> int:
    from rich.table import Table

    from reelhouse.features.rows import first_frame_thumbnails
    from reelhouse.features.specs import shot_frames_spec
    from reelhouse.search.scenes import NoScenes, read_scenes
    from reelhouse.search.shot_lookup import UnknownTitle, resolve_titles
    from reelhouse.viz.contact_sheet import timecode
    from reelhouse.viz.scene_strip import scene_strip_png

    store = _store(settings)
    try:
        [vid] = resolve_titles(store, [args.title])
        found = read_scenes(store, settings, vid)
    except (UnknownTitle, NoScenes) as exc:
        return _fail("scenes", str(exc))
    if args.sheet:
        Path(args.sheet).write_bytes(scene_strip_png(found, first_frame_thumbnails(store, shot_frames_spec(settings), vid)))
    if args.json:
        print(json.dumps(found.as_json(), indent=2))
        return 0
    table = Table(title=f"{vid[:12]}…: {len(found.scenes)} scenes in {len(found.chapters)} chapters")
    for col in ("chapter", "scene", "shots", "start", "end", "length"):
        table.add_column(col)
    chapter_of = {s: c.index for c in found.chapters for s in range(c.start_scene, c.end_scene)}
    for s in found.scenes:
        table.add_row(str(chapter_of.get(s.index, "")), str(s.index), f"{s.start_shot}-{s.end_shot - 1}", timecode(s.start_s),
                      timecode(s.end_s), f"{s.end_s - s.start_s:.1f}s")
    _console().print(table)
    return 0
