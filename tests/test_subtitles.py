"""Subtitles: robust .srt parsing, embedded text streams (SubRip, ASS, mov_text) and per-shot text."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest

from reelhouse.media.errors import NotVideoError
from reelhouse.media.subtitles import (
    Cue,
    clean_text,
    cues_for_range,
    read_embedded_subtitles,
    read_srt,
    read_subtitles,
    shot_text,
)
from reelhouse.samples import ClipSpec, Look, Shot, generate_clip, title_spec, write_srt

_ASS_HEADER = (
    "[Script Info]\nScriptType: v4.00+\nPlayResX: 384\nPlayResY: 288\n\n[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
    "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
    "MarginR, MarginV, Encoding\n"
    "Style: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\n\n"
    "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
).encode()

CUES = [
    Cue(0.5, 2.0, "Hello there,\nfriend!"),
    Cue(2.5, 3.9, "Second line"),
]


def mux_with_subtitles(out: Path, cues: list[Cue], codec: str) -> Path:
    """A 4-s, 24 fps H.264 clip with ``cues`` in one embedded subtitle stream of ``codec``.

    ``subrip`` and ``ass`` go into Matroska, ``mov_text`` into MP4. The first cue is written in
    italics ({\\i1}...{\\i0}) to check markup removal.
    """
    fmt = "mp4" if codec == "mov_text" else "matroska"
    with av.open(str(out), "w", format=fmt) as sink:
        video = sink.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        subs = sink.add_stream(codec)
        subs.codec_context.subtitle_header = _ASS_HEADER
        for _ in range(96):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            for packet in video.encode(frame):
                sink.mux(packet)
        for packet in video.encode(None):
            sink.mux(packet)
        tb = subs.time_base
        for i, cue in enumerate(cues):
            text = cue.text.replace("\n", "\\N")
            if i == 0:
                text = "{\\i1}" + text + "{\\i0}"
            pts, duration = round(cue.start_s / tb), round((cue.end_s - cue.start_s) / tb)
            subset = av.subtitles.subtitle.SubtitleSet.create(f"{i},0,Default,,0,0,0,,{text}".encode(), 0, duration, pts)
            packet = subs.codec_context.encode_subtitle(subset)
            packet.stream, packet.pts, packet.dts, packet.duration = subs, pts, pts, duration
            sink.mux(packet)
    return out


def _tiny_clip(out: Path) -> Path:
    spec = ClipSpec(width=64, height=64, shots=(Shot(look=Look(hue=0.3, layout="blobs"), frames=24),), with_audio=False)
    generate_clip(spec, out)
    return out


# --- .srt parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            b"1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> 00:00:03,900\nBye\n",
            [Cue(0.5, 2.0, "Hello"), Cue(2.5, 3.9, "Bye")],
            id="plain",
        ),
        pytest.param(
            b"\xef\xbb\xbf1\r\n00:00:01,000 --> 00:00:02,000\r\nWith BOM\r\nand CRLF\r\n\r\n",
            [Cue(1.0, 2.0, "With BOM\nand CRLF")],
            id="bom-crlf-multiline",
        ),
        pytest.param(
            b"1\n00:00:01,000 --> 00:00:02,000\nno final newline",
            [Cue(1.0, 2.0, "no final newline")],
            id="missing-final-blank-line",
        ),
        pytest.param(
            b'1\n00:00:01,000 --> 00:00:02,000\n<i>Ital</i> <b>bold</b> <font color="#ff0000">red</font> {\\an8}top\n',
            [Cue(1.0, 2.0, "Ital bold red top")],
            id="html-and-ass-tags",
        ),
        pytest.param(
            b"00:00:01.250 --> 00:00:02.5 X1:10 X2:20\nno index, dots, position\n\n\n\n"
            b"7\n01:02:03,004 --> 01:02:04,000\nhour\n",
            [Cue(1.25, 2.5, "no index, dots, position"), Cue(3723.004, 3724.0, "hour")],
            id="loose-format",
        ),
        pytest.param(
            b"2\n00:00:05,000 --> 00:00:06,000\nlater\n\n1\n00:00:01,000 --> 00:00:02,000\nearlier\n",
            [Cue(1.0, 2.0, "earlier"), Cue(5.0, 6.0, "later")],
            id="out-of-order",
        ),
        pytest.param(b"", [], id="empty-file"),
        pytest.param(b"1\n00:00:01,000 --> 00:00:02,000\n\n", [], id="cue-without-text"),
    ],
)
def test_read_srt_variants(tmp_path: Path, raw: bytes, expected: list[Cue]) -> None:
    path = tmp_path / "sub.srt"
    path.write_bytes(raw)
    cues = read_srt(path)
    assert [c.text for c in cues] == [c.text for c in expected]
    for got, want in zip(cues, expected):
        assert got.start_s == pytest.approx(want.start_s, abs=1e-6)
        assert got.end_s == pytest.approx(want.end_s, abs=1e-6)


def test_bad_blocks_are_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "bad.srt"
    path.write_bytes(
        b"1\n00:00:01,000 --> 00:00:02,000\ngood one\n\n"
        b"2\nthis is not a timing line\ngarbage\n\n"
        b"3\n00:00:05,000 --> 00:00:04,000\nends before it starts\n\n"
        b"4\n00:00:06,000 --> 00:00:07,000\ngood two\n"
    )
    with caplog.at_level(logging.WARNING, logger="reelhouse.media.subtitles"):
        cues = read_srt(path)
    assert [c.text for c in cues] == ["good one", "good two"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert any("no timing line" in w for w in warnings)
    assert any("before it starts" in w for w in warnings)


def test_cp1252_fallback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "latin.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nCafé crème – “quoted”\n".encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="reelhouse.media.subtitles"):
        cues = read_srt(path)
    assert cues == [Cue(1.0, 2.0, "Café crème – “quoted”")]
    assert any("cp1252" in r.getMessage() for r in caplog.records)


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "wide.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nÜber\n".encode("utf-16"))
    assert read_srt(path) == [Cue(1.0, 2.0, "Über")]


def test_missing_srt_is_empty_not_an_error(tmp_path: Path) -> None:
    assert read_srt(tmp_path / "nope.srt") == []


def test_generator_sidecar_round_trips(tmp_path: Path) -> None:
    spec = title_spec(0, seconds=12.0)
    path = write_srt(spec.subtitles, tmp_path / "t.srt")
    cues = read_srt(path)
    assert len(cues) == len(spec.subtitles) > 0
    for got, want in zip(cues, spec.subtitles):
        assert (got.start_s, got.end_s) == pytest.approx((want.start_s, want.end_s), abs=1e-3)
        assert got.text == clean_text(want.text)


# --- embedded streams ---------------------------------------------------------------------


@pytest.mark.parametrize("codec", [pytest.param("subrip", id="srt-mkv"), pytest.param("ass", id="ass-mkv"),
                                   pytest.param("mov_text", id="mov_text-mp4")])
def test_read_embedded_subtitles(tmp_path: Path, codec: str) -> None:
    ext = ".mp4" if codec == "mov_text" else ".mkv"
    path = mux_with_subtitles(tmp_path / f"clip{ext}", CUES, codec)
    cues = read_embedded_subtitles(path)
    assert [c.text for c in cues] == [c.text for c in CUES]
    for got, want in zip(cues, CUES):
        assert got.start_s == pytest.approx(want.start_s, abs=0.002)
        assert got.end_s == pytest.approx(want.end_s, abs=0.002)


def test_video_without_subtitles_has_no_cues(tmp_path: Path) -> None:
    assert read_embedded_subtitles(_tiny_clip(tmp_path / "plain.mp4")) == []


def test_embedded_read_of_a_non_video_raises_a_media_error(tmp_path: Path) -> None:
    path = tmp_path / "list.mp4"
    path.write_text("eggs\nmilk\n" * 50)
    with pytest.raises(NotVideoError):
        read_embedded_subtitles(path)


def test_sidecar_wins_over_embedded_and_embedded_is_the_fallback(tmp_path: Path) -> None:
    video = mux_with_subtitles(tmp_path / "title.mkv", CUES, "subrip")
    assert [c.text for c in read_subtitles(video)] == [c.text for c in CUES]  # no sidecar yet
    (tmp_path / "title.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nfrom the sidecar\n", encoding="utf-8")
    assert read_subtitles(video) == [Cue(0.0, 1.0, "from the sidecar")]


# --- per-shot text ------------------------------------------------------------------------


def test_cues_for_range_uses_half_open_overlap() -> None:
    cues = [Cue(0.0, 1.0, "a"), Cue(1.0, 2.0, "b"), Cue(3.0, 4.0, "c")]
    assert [c.text for c in cues_for_range(cues, 1.0, 3.0)] == ["b"]  # touching ends don't overlap
    assert [c.text for c in cues_for_range(cues, 0.5, 1.5)] == ["a", "b"]
    assert [c.text for c in cues_for_range(cues, 3.5, 3.6)] == ["c"]  # a cue covering the whole shot
    assert cues_for_range(cues, 2.0, 3.0) == []


def test_shot_text_joins_overlapping_cues_and_is_none_without_text() -> None:
    cues = [Cue(0.0, 1.0, "first"), Cue(0.8, 2.0, "second\nline"), Cue(5.0, 6.0, "later")]
    assert shot_text(cues, 0.5, 1.5) == "first\nsecond\nline"
    assert shot_text(cues, 2.0, 5.0) is None
    assert shot_text([], 0.0, 10.0) is None


def test_shot_text_on_a_generated_title(tmp_path: Path) -> None:
    spec = title_spec(1, seconds=12.0)
    cues = read_srt(write_srt(spec.subtitles, tmp_path / "t.srt"))
    first = spec.subtitles[0]
    assert shot_text(cues, first.start_s, first.end_s) == clean_text(first.text)
    assert shot_text(cues, 0.0, first.start_s) is None  # the title opens before its first cue
