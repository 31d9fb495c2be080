"""``reelhouse ingest`` and ``reelhouse shots``: files in, shots out (no store needed for shots)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from reelhouse.config import Settings
from reelhouse.cli._common import _console


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.lakehouse import FeatureStore, new_run_id
    from reelhouse.pipeline.media import ingest_files

    store = FeatureStore.from_settings(settings)
    store.ensure_tables(["media"])
    run_id = new_run_id()
    results = ingest_files(store, [Path(p) for p in args.paths], run_id)  # one commit
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2))
    else:
        from rich.table import Table

        table = Table("path", "video_id", "status", "error")
        for r in results:
            table.add_row(r.path, r.video_id or "", r.status, r.error or "")
        _console().print(table)
    return 0 if all(r.status == "ok" for r in results) else 1


def cmd_shots(args: argparse.Namespace, settings: Settings) -> int:
    from models.shot_detection import DEFAULT_DETECTOR
    from reelhouse.media.errors import MediaError
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
