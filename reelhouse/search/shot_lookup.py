"""Looking shots up for people: titles by id, prefix or file name, shot time spans, and pictures.

Shots are ``(video_id, shot_index)``; times are seconds of the standardized encode, ``[start_s, end_s)``.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from reelhouse.config import Settings
from reelhouse.features.rows import shot_frame_rows, shot_rows, title_statuses
from reelhouse.lakehouse import FeatureStore
from reelhouse.search.match_cuts import MatchCut


class UnknownTitle(LookupError):
    """A title reference that matches no ingested title, or more than one."""


def file_name_of(source_uri: str) -> str:
    """The file name a title is known by: the last part of its source URI's path, unquoted."""
    return PurePosixPath(unquote(urlparse(source_uri).path)).name


def title_names(store: FeatureStore) -> dict[str, str]:
    """``video_id -> source file name`` of every ingested title."""
    rows = store.read("media", selected_fields=("video_id", "source_uri")).to_pylist()
    return {r["video_id"]: file_name_of(r["source_uri"]) for r in rows}


def title_resolver(store: FeatureStore) -> Callable[[str], str]:
    """A function from one reference (a video id, a unique id prefix of 6+ characters, or a source file
    name) to its video id, over the ``ok`` titles as they are now (the store is read once, here).

    The function raises:
        UnknownTitle: a reference matching no ok title, or several (the message lists them).
    """
    ok = sorted(v for v, r in title_statuses(store).items() if r["status"] == "ok")
    ok_set = set(ok)
    by_name: dict[str, list[str]] = {}
    for v, name in title_names(store).items():
        if v in ok_set:
            by_name.setdefault(name, []).append(v)

    def resolve(ref: str) -> str:
        hits = [ref] if ref in ok_set else sorted(by_name.get(ref, []))
        if not hits and len(ref) >= 6:  # the ids starting with ref are one run of the sorted list
            start = bisect.bisect_left(ok, ref)
            hits = list(itertools.takewhile(lambda v: v.startswith(ref), ok[start:start + 1000]))
        if len(hits) != 1:
            what = "matches no ingested ok title" if not hits else f"is ambiguous: {', '.join(h[:12] for h in hits)}"
            raise UnknownTitle(f"title {ref!r} {what}")
        return hits[0]

    return resolve


def resolve_titles(store: FeatureStore, refs: Iterable[str]) -> list[str]:
    """Video ids of ``refs`` (see :func:`title_resolver`; blank references skipped, repeats once).

    Only ``ok`` titles resolve. Raises:
        UnknownTitle: a reference matching no ok title, or several (the message lists them).
    """
    return resolve_refs(title_resolver(store), refs)


def resolve_refs(resolve: Callable[[str], str], refs: Iterable[str]) -> list[str]:
    """Video ids of ``refs`` by ``resolve`` (one reference -> one video id, raising
    :class:`UnknownTitle`), stripped, blank references skipped, repeats once, in first-seen order."""
    out: list[str] = []
    for ref in refs:
        ref = ref.strip()
        if not ref:
            continue
        vid = resolve(ref)
        if vid not in out:
            out.append(vid)
    return out


def shot_spans(store: FeatureStore, settings: Settings, video_ids: Sequence[str]) -> dict[tuple[str, int], dict]:
    """``(video_id, shot_index) -> shot row`` (``start_s``, ``end_s``, frames, transition) for the titles."""
    return {(v, r["shot_index"]): r for v in video_ids for r in shot_rows(store, settings, v)}


def shots_between(shots: Iterable[dict], start_s: float, end_s: float) -> list[dict]:
    """The shots (a title's shot rows, as ``features.rows.shot_rows`` gives them) overlapping
    ``[start_s, end_s)`` seconds, in their order.

    Raises:
        ValueError: ``end_s <= start_s`` or a negative start.
    """
    if start_s < 0 or end_s <= start_s:
        raise ValueError(f"need 0 <= start_s < end_s, got [{start_s}, {end_s})")
    return [r for r in shots if r["start_s"] < end_s and r["end_s"] > start_s]


@dataclass(frozen=True)
class ShotPicture:
    """One frame of a shot for a contact sheet (a stored representative frame, JPEG)."""

    video_id: str
    title: str
    shot_index: int
    start_s: float
    end_s: float
    frame_s: float | None
    jpeg: bytes | None


def _pictures(store: FeatureStore, settings: Settings,
              wanted: set[tuple[tuple[str, int], str]]) -> dict[tuple[tuple[str, int], str], ShotPicture]:
    """``((video_id, shot_index), "first"|"last") -> picture``, reading each title's names, shots and frames once."""
    shots = {key for key, _ in wanted}
    vids = sorted({v for v, _ in shots})
    names = title_names(store)
    spans = shot_spans(store, settings, vids)
    frames: dict[tuple[str, int], list[dict]] = {}
    for vid in vids:
        for r in shot_frame_rows(store, settings, vid, with_thumbnails=True):
            if (vid, r["shot_index"]) in shots:
                frames.setdefault((vid, r["shot_index"]), []).append(r)
    out = {}
    for key, which in wanted:
        span = spans.get(key, {"start_s": float("nan"), "end_s": float("nan")})
        reps = sorted(frames.get(key, []), key=lambda r: r["rank"])
        pick = (reps[0] if which == "first" else reps[-1]) if reps else None
        out[(key, which)] = ShotPicture(key[0], names.get(key[0], key[0][:12]), key[1], span["start_s"], span["end_s"],
                                        pick["t_s"] if pick else None, pick["thumbnail"] if pick else None)
    return out


def shot_pictures(store: FeatureStore, settings: Settings, shots: Iterable[tuple[str, int]], which: str) -> dict[tuple[str, int], ShotPicture]:
    """A picture per shot: its ``first`` or ``last`` representative frame (the frames nearest a cut)."""
    return {key: pic for (key, _), pic in _pictures(store, settings, {(key, which) for key in shots}).items()}


def cut_pictures(store: FeatureStore, settings: Settings,
                 pairs: Sequence[MatchCut]) -> list[tuple[ShotPicture, ShotPicture, MatchCut]]:
    """For match-cut pairs: the outgoing shot's last frame, the incoming shot's first, the pair itself."""
    outs = [((p.video_id, p.shot_index), "last") for p in pairs]
    ins = [((p.other_video_id, p.other_shot_index), "first") for p in pairs]
    pics = _pictures(store, settings, set(outs) | set(ins))
    return [(pics[o], pics[i], p) for o, i, p in zip(outs, ins, pairs)]
