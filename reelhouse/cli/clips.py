"""``reelhouse clip``: a shot, or a time span, of a title as a playable MP4."""

from __future__ import annotations

import argparse
import json

from reelhouse.cli._common import _fail, _store
from reelhouse.config import Settings


def clip_doc(video_id: str, result) -> dict:
    """The JSON of a written clip or reel (``reelhouse.media.clip.ClipResult``)."""
    return {"video_id": video_id, "out": str(result.path), "frames": result.frames, "fps": result.fps,
            "duration_s": round(result.duration_s, 6), "width": result.width, "height": result.height,
            "has_audio": result.has_audio}


def cmd_clip(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.media.clip import write_segments
    from reelhouse.search.clips import ClipError, shot_segment, span_segment
    from reelhouse.search.shot_lookup import UnknownTitle, resolve_titles

    if args.shot is not None and len(args.where) != 1:
        return _fail("clip", "with --shot N give only the output file: reelhouse clip TITLE --shot N OUT.mp4")
    if args.shot is None and len(args.where) != 3:
        return _fail("clip", "give a shot or a span: reelhouse clip TITLE --shot N OUT.mp4, or reelhouse clip TITLE START_S END_S OUT.mp4")
    out = args.where[-1]
    if not out.lower().endswith(".mp4"):
        return _fail("clip", f"the output must be an .mp4 file, got {out!r}")
    store = _store(settings)
    try:
        [vid] = resolve_titles(store, [args.title])
        if args.shot is not None:
            seg = shot_segment(store, settings, vid, args.shot)
        else:
            try:
                start_s, end_s = float(args.where[0]), float(args.where[1])
            except ValueError:
                return _fail("clip", f"START_S and END_S must be seconds, got {args.where[0]!r} {args.where[1]!r}")
            seg = span_segment(store, settings, vid, start_s, end_s)
        result = write_segments([seg], out)
    except (UnknownTitle, ClipError) as exc:
        return _fail("clip", str(exc))
    doc = {**clip_doc(vid, result), "start_frame": seg.start_frame, "end_frame": seg.end_frame,
           "start_s": seg.start_frame / seg.fps, "end_s": seg.end_frame / seg.fps}
    print(json.dumps(doc, indent=2) if args.json else
          f"{out}: frames [{seg.start_frame}, {seg.end_frame}) of {vid[:12]}, {result.duration_s:.3f} s")
    return 0
