"""Explicit Iceberg schemas for every reelhouse table.

Every feature table starts with the same slice-key and audit columns (``video_id``, ``feature``,
``feature_version``, ``run_id``, ``written_at``) and is partitioned by ``identity(feature)`` and
``truncate(2, video_id)``. A write adds one file per slice, so replacing a freshly written slice drops
whole files; after compaction (``FeatureStore.compact``) merged a partition's titles into one file, the
replace rewrites that file without the slice's rows (copy-on-write), in the same atomic commit. A
partition per title would leave a 10,000-title catalog with 10,000 files per feature, which every
reader pays for.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform, TruncateTransform
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

#: Titles are partitioned by the first characters of their content id (uniform hex): 2 characters make
#: 256 partitions per feature, so a catalog of 10,000 titles has ~40 titles per partition, not one file each.
VIDEO_ID_PREFIX_CHARS = 2

#: Columns every feature row carries, in order.
AUDIT_COLUMNS = ("video_id", "feature", "feature_version", "run_id", "written_at")


@dataclass(frozen=True)
class TableDef:
    """One Iceberg table: its name in the namespace, schema and partitioning."""

    name: str
    schema: Schema
    partition_spec: PartitionSpec
    doc: str

    @property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema data files must have (no field ids, as ``add_files`` requires)."""
        return schema_to_pyarrow(self.schema, include_field_ids=False)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.schema.fields]


def _table(name: str, doc: str, payload: list[tuple[str, IcebergType, bool, str]]) -> TableDef:
    """Build a table with the audit columns first, then ``payload`` (name, type, required, doc)."""
    fields = [
        NestedField(1, "video_id", StringType(), required=True, doc="content id: sha256 of the source bytes, 32 hex"),
        NestedField(2, "feature", StringType(), required=True, doc="feature name"),
        NestedField(3, "feature_version", StringType(), required=True, doc="algorithm version + parameter hash"),
        NestedField(4, "run_id", StringType(), required=True, doc="the run that wrote the row"),
        NestedField(5, "written_at", TimestamptzType(), required=True, doc="UTC time of the write"),
    ]
    next_id = 6
    for col, typ, required, col_doc in payload:
        if isinstance(typ, ListType):
            typ = ListType(next_id + 1, typ.element_type, element_required=typ.element_required)
            fields.append(NestedField(next_id, col, typ, required=required, doc=col_doc))
            next_id += 2
        else:
            fields.append(NestedField(next_id, col, typ, required=required, doc=col_doc))
            next_id += 1
    schema = Schema(*fields)
    spec = PartitionSpec(
        PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="feature"),
        PartitionField(source_id=1, field_id=1002, transform=TruncateTransform(VIDEO_ID_PREFIX_CHARS), name="video_id_prefix"),
    )
    return TableDef(name=name, schema=schema, partition_spec=spec, doc=doc)


def _list(element: IcebergType) -> ListType:
    # element id is reassigned in _table
    return ListType(0, element, element_required=False)


MEDIA = _table(
    "media",
    "One row per ingested file: probe metadata and status (ok or quarantined with a reason).",
    [
        ("source_uri", StringType(), True, "where the bytes were last seen"),
        ("size_bytes", LongType(), True, "file size in bytes"),
        ("status", StringType(), True, "'ok' or 'quarantined'"),
        ("error_code", StringType(), False, "machine-readable quarantine reason"),
        ("error_message", StringType(), False, "human-readable quarantine reason"),
        ("container", StringType(), False, "container format"),
        ("duration_s", DoubleType(), False, "duration in seconds"),
        ("fps", DoubleType(), False, "average frame rate, frames per second"),
        ("is_vfr", BooleanType(), False, "variable frame rate"),
        ("frame_count", LongType(), False, "number of video frames"),
        ("width", IntegerType(), False, "coded width, pixels"),
        ("height", IntegerType(), False, "coded height, pixels"),
        ("display_width", IntegerType(), False, "width after rotation and sample aspect ratio"),
        ("display_height", IntegerType(), False, "height after rotation and sample aspect ratio"),
        ("rotation", IntegerType(), False, "display rotation, degrees clockwise"),
        ("sample_aspect_ratio", DoubleType(), False, "pixel aspect ratio"),
        ("video_codec", StringType(), False, "video codec name"),
        ("pix_fmt", StringType(), False, "pixel format"),
        ("has_audio", BooleanType(), False, "has at least one audio stream"),
        ("audio_codec", StringType(), False, "first audio stream's codec"),
        ("audio_streams", StringType(), False, "JSON list of audio streams"),
        ("subtitle_streams", StringType(), False, "JSON list of subtitle streams"),
        ("subtitle_uri", StringType(), False, "sidecar .srt next to the source, if any"),
    ],
)

ENCODES = _table(
    "encodes",
    "The standardized encode of each title (fixed height, constant fps, yuv420p H.264, mono audio).",
    [
        ("uri", StringType(), True, "location of the standardized encode"),
        ("width", IntegerType(), True, "pixels"),
        ("height", IntegerType(), True, "pixels"),
        ("fps", DoubleType(), True, "constant frame rate"),
        ("frame_count", LongType(), True, "frames in the encode"),
        ("duration_s", DoubleType(), True, "seconds"),
        ("has_audio", BooleanType(), True, "audio track present"),
        ("audio_rate", IntegerType(), False, "mono audio sample rate, Hz"),
        ("size_bytes", LongType(), True, "encode size in bytes"),
        ("recipe_json", StringType(), True, "the recipe's parameters"),
    ],
)

SHOTS = _table(
    "shots",
    "Canonical shot segmentation: [start_frame, end_frame) in standardized-encode frames.",
    [
        ("shot_index", IntegerType(), True, "0-based shot number within the title"),
        ("start_frame", LongType(), True, "first frame, inclusive (standardized encode)"),
        ("end_frame", LongType(), True, "last frame, exclusive (standardized encode)"),
        ("start_s", DoubleType(), True, "start time, seconds"),
        ("end_s", DoubleType(), True, "end time, seconds (exclusive)"),
        ("fps", DoubleType(), True, "frame rate the frame numbers count in"),
        ("transition", StringType(), True, "how the shot begins: 'cut' or 'gradual'"),
        ("confidence", DoubleType(), True, "confidence of the boundary that starts the shot"),
        ("detector", StringType(), True, "detector name and version"),
    ],
)

SHOT_FRAMES = _table(
    "shot_frames",
    "Representative frames per shot after the quality filter (black, blurred and flash frames avoided).",
    [
        ("shot_index", IntegerType(), True, "0-based shot number within the title"),
        ("rank", IntegerType(), True, "1-based position among the shot's representatives, in time order"),
        ("frame_index", LongType(), True, "frame of the standardized encode"),
        ("t_s", DoubleType(), True, "time of the frame, seconds"),
        ("brightness", DoubleType(), True, "mean luma, 0-255"),
        ("sharpness", DoubleType(), True, "variance of the Laplacian of luma"),
        ("is_black", BooleanType(), True, "frame is black"),
        ("is_blurred", BooleanType(), True, "frame is blurred"),
        ("is_flash", BooleanType(), True, "frame is a flash"),
        ("thumbnail", BinaryType(), True, "the frame as JPEG (RGB), 224 px high: what the visual features and contact sheets use"),
    ],
)

SHOT_EMBEDDINGS = _table(
    "shot_embeddings",
    "Per-shot embeddings (visual, audio, text, contextual), L2-normalized; null when absent.",
    [
        ("shot_index", IntegerType(), True, "0-based shot number within the title"),
        ("model", StringType(), True, "model name and version"),
        ("dim", IntegerType(), True, "embedding dimension"),
        ("has_embedding", BooleanType(), True, "false when the modality is absent for this shot"),
        ("embedding", _list(FloatType()), False, "L2-normalized vector, or null"),
    ],
)

SHOT_AUDIO = _table(
    "shot_audio",
    "Per-shot audio measures: speech ratio (silero-vad), loudness and silence.",
    [
        ("shot_index", IntegerType(), True, "0-based shot number within the title"),
        ("speech_ratio", DoubleType(), True, "fraction of the shot's duration with speech, 0-1"),
        ("rms_dbfs", DoubleType(), True, "RMS level in dBFS (-120 for digital silence)"),
        ("is_silent", BooleanType(), True, "below the silence threshold (no audio embedding then)"),
    ],
)

SUBTITLE_CUES = _table(
    "subtitle_cues",
    "Subtitle cues of each title, from its .srt sidecar or embedded text subtitle stream "
    "(a title without subtitles has one row with cue_index -1 and source 'none').",
    [
        ("cue_index", IntegerType(), True, "0-based cue number in time order"),
        ("start_s", DoubleType(), True, "cue start, seconds"),
        ("end_s", DoubleType(), True, "cue end, seconds (exclusive)"),
        ("text", StringType(), True, "cue text, markup removed"),
        ("source", StringType(), True, "'sidecar', 'embedded', or 'none' for the no-subtitles marker"),
    ],
)

SHOT_DEDUP = _table(
    "shot_dedup",
    "Near-duplicate shot groups within a title; the earliest shot of each group is kept.",
    [
        ("shot_index", IntegerType(), True, "0-based shot number within the title"),
        ("group_shot_index", IntegerType(), True, "the group's earliest shot (the one kept)"),
        ("is_kept", BooleanType(), True, "true for the earliest shot of its group"),
        ("similarity", DoubleType(), True, "cosine similarity to the kept shot"),
        ("threshold", DoubleType(), True, "cosine threshold used"),
        ("source_feature", StringType(), True, "embedding feature compared"),
    ],
)

MATCH_CUTS = _table(
    "match_cuts",
    "Top-K match-cut candidates per shot and flavor, within and across titles.",
    [
        ("flavor", StringType(), True, "the feature compared: visual, layout, colour, audio, contextual"),
        ("shot_index", IntegerType(), True, "the query shot"),
        ("other_video_id", StringType(), True, "the candidate's title"),
        ("other_shot_index", IntegerType(), True, "the candidate shot"),
        ("score", DoubleType(), True, "cosine similarity in [-1, 1], higher is better"),
        ("rank", IntegerType(), True, "1-based rank among the query shot's candidates, by csls"),
        ("source_snapshot_id", LongType(), False, "the shot_embeddings snapshot the candidates were computed from"),
        ("csls", DoubleType(), False, "hub-aware score 2 cos - r(shot) - r(candidate) in [-4, 4], r the mean cosine to "
                                      "the 10 nearest shots (reelhouse.search.hubness); NULL before algorithm version 2"),
        ("percentile", DoubleType(), False, "where the cosine stands among the catalog's shot pairs that could be "
                                            "candidates (outside min_gap), 0-100; NULL before algorithm version 2"),
    ],
)

SCENES = _table(
    "scenes",
    "Each title's shots grouped into consecutive scenes, and its scenes into chapters; each level tiles the title's shots.",
    [
        ("level", StringType(), True, "'scene' or 'chapter'"),
        ("group_index", IntegerType(), True, "0-based scene (or chapter) number within the title, in time order"),
        ("start_shot", IntegerType(), True, "first shot, inclusive"),
        ("end_shot", IntegerType(), True, "last shot, exclusive"),
        ("start_s", DoubleType(), True, "start time of the first shot, seconds"),
        ("end_s", DoubleType(), True, "end time of the last shot, seconds (exclusive)"),
        ("start_scene", IntegerType(), True, "first scene, inclusive (a scene row: its own number)"),
        ("end_scene", IntegerType(), True, "last scene, exclusive (a scene row: its number + 1)"),
    ],
)

ARTWORK = _table(
    "artwork",
    "Each title's artwork candidates: sharp, well exposed frames clear of transitions, no two alike, spread over its scenes.",
    [
        ("rank", IntegerType(), True, "1-based pick order (the first k are the k best picks); 0 on the one row of a "
                                      "title without any usable frame"),
        ("shot_index", IntegerType(), True, "the frame's shot"),
        ("frame_index", LongType(), True, "frame of the standardized encode"),
        ("time_s", DoubleType(), True, "time of the frame, seconds"),
        ("score", DoubleType(), True, "artwork score in [0, 1] (models.artwork)"),
        ("scene_index", IntegerType(), True, "the shot's scene"),
        ("brightness", DoubleType(), True, "mean luma, 0-255"),
        ("sharpness", DoubleType(), True, "variance of the Laplacian of luma"),
        ("colourfulness", DoubleType(), True, "Hasler-Suesstrunk colourfulness of the frame"),
    ],
)

REGIONS = _table(
    "regions",
    "Regions found on each stored representative frame (faces), as boxes in normalized coordinates: x from the "
    "left edge (0) to the right (1), y from the top (0) to the bottom (1). A frame where nothing was found has one "
    "row with label 'none' and an empty box, so every frame searched is listed.",
    [
        ("shot_index", IntegerType(), True, "the frame's shot"),
        ("rank", IntegerType(), True, "the frame's rank among its shot's representatives (shot_frames.rank)"),
        ("frame_index", LongType(), True, "frame of the standardized encode"),
        ("t_s", DoubleType(), True, "time of the frame, seconds"),
        ("label", StringType(), True, "'face', or 'none' on a frame where nothing was found"),
        ("x0", DoubleType(), True, "left edge of the box, 0-1 of the frame's width"),
        ("y0", DoubleType(), True, "top edge, 0-1 of the frame's height"),
        ("x1", DoubleType(), True, "right edge (exclusive), 0-1"),
        ("y1", DoubleType(), True, "bottom edge (exclusive), 0-1"),
        ("area", DoubleType(), True, "the box's share of the frame, 0-1 (0 on a 'none' row)"),
        ("score", DoubleType(), True, "the detector's probability, 0-1 (0 on a 'none' row)"),
    ],
)

SHOT_TAGS = _table(
    "shot_tags",
    "Each shot's score for every tag of the probe set trained on the team's labels (reelhouse tags train): one row "
    "per shot and tag. The feature_version names the probe set, so one title's rows of one version are all from one "
    "training.",
    [
        ("shot_index", IntegerType(), True, "the shot"),
        ("tag", StringType(), True, "the tag, as the label file names it"),
        ("score", DoubleType(), True, "the probe's probability in [0, 1] that the shot carries the tag (0.5: its "
                                      "decision threshold)"),
    ],
)

ALL_TABLES: dict[str, TableDef] = {t.name: t for t in (MEDIA, ENCODES, SHOTS, SHOT_FRAMES, SHOT_EMBEDDINGS, SHOT_AUDIO,
                                                       SUBTITLE_CUES, SHOT_DEDUP, MATCH_CUTS, SCENES, ARTWORK, REGIONS,
                                                       SHOT_TAGS)}


def table_def(name: str) -> TableDef:
    """Look up a table definition by name.

    Raises:
        KeyError: with the list of known tables.
    """
    try:
        return ALL_TABLES[name]
    except KeyError:
        raise KeyError(f"unknown reelhouse table {name!r}; known: {sorted(ALL_TABLES)}") from None
