"""Test media with known truth: generated clips and libraries, odd and bad input files, and real
clips shipped inside installed packages."""

from reelhouse.samples.generator import (
    AudioSegment,
    ClipSpec,
    Cue,
    GroundTruth,
    Look,
    Shot,
    generate_clip,
    ground_truth,
    write_srt,
)
from reelhouse.samples.composed_real import build_composed_set as build_composed_set
from reelhouse.samples.library import SampleTitle, build_sample_library, title_spec
from reelhouse.samples.real_clips import real_clips
from reelhouse.samples.variants import (
    Variant,
    make_audio_only,
    make_mkv,
    make_not_video,
    make_odd_aspect,
    make_rotated,
    make_truncated,
    make_undecodable_audio,
    make_unsupported_codec,
    make_vfr,
    make_zero_byte,
)

__all__ = [
    "AudioSegment",
    "ClipSpec",
    "Cue",
    "GroundTruth",
    "Look",
    "SampleTitle",
    "Shot",
    "Variant",
    "build_sample_library",
    "generate_clip",
    "ground_truth",
    "make_audio_only",
    "make_mkv",
    "make_not_video",
    "make_odd_aspect",
    "make_rotated",
    "make_truncated",
    "make_undecodable_audio",
    "make_unsupported_codec",
    "make_vfr",
    "make_zero_byte",
    "real_clips",
    "title_spec",
    "write_srt",
]
