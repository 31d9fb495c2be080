"""The landing location: where users drop videos (and ``.srt`` sidecars).

Scanning it maps each file to its content id. Hashes are cached by ``(path, size, mtime_ns)`` so an
unchanged library costs a ``stat`` per file; a renamed or touched file is re-hashed, gets the same
content id, and so triggers nothing downstream.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reelhouse.media.content_id import content_id

#: File name suffixes treated as videos (anything else in the landing folder is ignored).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".mxf", ".wmv", ".flv", ".3gp", ".ogv"}
)


class PathEscapesLanding(ValueError):
    """A requested path resolves outside the landing location."""


@dataclass(frozen=True)
class LandingFile:
    """A video file in the landing location and its content id."""

    path: Path
    video_id: str
    size_bytes: int
    mtime_ns: int

    @property
    def subtitle_path(self) -> Path | None:
        """The ``.srt`` sidecar with the same stem, if present."""
        srt = self.path.with_suffix(".srt")
        return srt if srt.is_file() else None


def resolve_in_landing(landing: Path, relative: str | os.PathLike[str]) -> Path:
    """Resolve ``relative`` inside ``landing``, following symlinks.

    Raises:
        PathEscapesLanding: if the result is outside ``landing`` (``..``, absolute paths, symlinks out).
    """
    root = landing.resolve()
    candidate = (root / relative).resolve()
    if candidate != root and root not in candidate.parents:
        raise PathEscapesLanding(f"{relative!s} resolves outside the landing location {root}")
    return candidate


def _video_entries(root: Path) -> Iterator[tuple[Path, Path, os.stat_result]]:
    """``(path, resolved path, stat)`` of every video file below ``root`` (hidden names and links out skipped)."""
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")):
        try:
            real = resolve_in_landing(root, path.relative_to(root))
            st = real.stat()
        except (PathEscapesLanding, FileNotFoundError):
            continue
        if real.is_file():
            yield path, real, st


def _identify(entries: Iterable[tuple[Path, Path, os.stat_result]], cache_file: Path) -> list[LandingFile]:
    """Content ids of ``entries``, hashing only files whose (size, mtime) the cache has not seen."""
    cache = _load_cache(cache_file)
    fresh: dict[str, list] = {}
    found: list[LandingFile] = []
    for path, real, st in entries:
        key = str(path)
        cached = cache.get(key)
        if cached and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
            vid = cached[2]
        else:
            vid = content_id(real)
        fresh[key] = [st.st_size, st.st_mtime_ns, vid]
        found.append(LandingFile(path, vid, st.st_size, st.st_mtime_ns))
    _save_cache(cache_file, fresh)
    return found


def scan_landing(landing: Path, cache_file: Path) -> list[LandingFile]:
    """Every video below ``landing`` with its content id, sorted by path.

    Args:
        landing: the landing folder (created if missing).
        cache_file: JSON cache of content ids keyed by path, size and mtime.
    """
    landing.mkdir(parents=True, exist_ok=True)
    return _identify(_video_entries(landing.resolve()), cache_file)


@dataclass(frozen=True)
class SettledScan:
    """A scan that leaves files still being written alone.

    Attributes:
        ready: settled videos with their content ids, sorted by path.
        waiting: ``path -> [size_bytes, mtime_ns]`` of videos that may still be growing; pass it
            back as ``waiting_before`` on the next scan.
    """

    ready: list[LandingFile]
    waiting: dict[str, list[int]]


def scan_settled(landing: Path, cache_file: Path, waiting_before: Mapping[str, Sequence[int]], settle_s: float,
                 now: float | None = None) -> SettledScan:
    """Like ``scan_landing``, but only for files that have stopped changing.

    A file is ready when it was last modified at least ``settle_s`` seconds ago and, if the previous
    scan was waiting for it, its size and mtime are the same as then. Anything else waits (and is not
    hashed), so a file still being copied never gets a content id of its partial bytes.
    """
    landing.mkdir(parents=True, exist_ok=True)
    now = time.time() if now is None else now
    ready, waiting = [], {}
    for path, real, st in _video_entries(landing.resolve()):
        stat = [st.st_size, st.st_mtime_ns]
        before = waiting_before.get(str(path))
        if now - st.st_mtime < settle_s or (before is not None and list(before) != stat):
            waiting[str(path)] = stat
        else:
            ready.append((path, real, st))
    return SettledScan(_identify(ready, cache_file), waiting)


def _load_cache(cache_file: Path) -> dict[str, list]:
    try:
        data = json.loads(cache_file.read_text())
        return data if isinstance(data, dict) else {}
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _save_cache(cache_file: Path, cache: dict[str, list]) -> None:
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=".landing-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(cache, f)
    os.replace(tmp, cache_file)
