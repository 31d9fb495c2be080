"""A title's scenes as a strip of pictures: the first representative frame of each scene, labelled with its
chapter, scene, shots and start time."""

from __future__ import annotations

from collections.abc import Mapping

from reelhouse.search.scenes import TitleScenes
from reelhouse.viz.contact_sheet import timecode
from reelhouse.viz.previews import thumbnail_grid_png

#: At most this many scenes are drawn (evenly spread over the title when it has more).
MAX_SCENES_SHOWN = 36


def scene_strip_png(title: TitleScenes, thumbnails: Mapping[int, bytes], heading: str = "") -> bytes:
    """PNG of the scenes' first frames, in time order.

    Args:
        title: the title's scenes and chapters.
        thumbnails: shot index -> JPEG of its first representative frame (``shot_frames`` rank 1).
        heading: drawn above (default: the title's id and counts).
    """
    chapter_of = {s: c.index for c in title.chapters for s in range(c.start_scene, c.end_scene)}
    scenes = [s for s in title.scenes if s.start_shot in thumbnails]
    step = max(1, -(-len(scenes) // MAX_SCENES_SHOWN))
    shown = scenes[::step]
    heading = heading or (f"{title.video_id[:12]}: {len(title.scenes)} scenes, {len(title.chapters)} chapters"
                          + (f" (every {step}th scene shown)" if step > 1 else ""))
    return thumbnail_grid_png([thumbnails[s.start_shot] for s in shown],
                              [f"C{chapter_of.get(s.index, 0)} S{s.index} #{s.start_shot}-{s.end_shot - 1} {timecode(s.start_s)}"
                               for s in shown], columns=6, title=heading)
