"""Spark job: the canonical shot segmentation of each title's standardized encode.

It runs on the batch runner (``spark_jobs.batch``): one group per title streams the encode once at the detector's analysis size
(``reelhouse.media.segment.segment_file``), so the detector's models (TransNetV2 for the hybrid
default) live in the Python worker, never in the driver. The executor reads the title's encode row
itself and writes its slice as Parquet; the driver commits the batch in one atomic Iceberg commit.

Run standalone with ``spark-submit spark_jobs/shots.py --help``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.features.specs import DEFAULT_DETECTOR, encode_spec, shots_spec
from reelhouse.lakehouse.plan import SliceInput
from spark_jobs.batch import TitleJob


def title_shot_rows(path: str, fps: float, detector: str) -> pa.Table:
    """The ``shots`` rows of one encode: frames ``[start_frame, end_frame)`` and seconds ``[start_s, end_s)``."""
    from reelhouse.media.segment import segment_file

    seg = segment_file(path, detector)
    return pa.Table.from_pylist(
        [
            {
                "shot_index": s.index,
                "start_frame": s.start,
                "end_frame": s.end,
                "start_s": s.start_s,
                "end_s": s.end_s,
                "fps": fps,
                "transition": s.transition,
                "confidence": s.confidence,
                "detector": seg.detector,
            }
            for s in seg.shots
        ]
    )


def encode_and_shots(settings: Settings, encode_columns: tuple[str, ...], shot_columns: tuple[str, ...],
                     detector: str = DEFAULT_DETECTOR) -> dict[str, SliceInput]:
    """The inputs of a per-shot job computed from the title's media: ``encode`` (its standardized
    encode's ``encodes`` row) and ``shots`` (its current shots; frames ``[start_frame, end_frame)``,
    seconds ``[start_s, end_s)``), with the given columns."""
    encode, shots = encode_spec(settings), shots_spec(settings, detector)
    return {"encode": SliceInput("encodes", encode.name, encode.version, encode_columns),
            "shots": SliceInput("shots", shots.name, shots.version, shot_columns)}


def shots_job(settings: Settings, detector: str = DEFAULT_DETECTOR) -> TitleJob:
    """The shots job: each title's standardized encode in, its shots out."""
    spec, encode = shots_spec(settings, detector), encode_spec(settings)
    io_properties = dict(settings.catalog_properties)

    def compute(video_id: str, inputs: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        from reelhouse.media.location import localize

        enc = inputs["encode"].to_pylist()[0]
        return {spec.name: title_shot_rows(str(localize(enc["uri"], io_properties=io_properties)), float(enc["fps"]), detector)}

    return TitleJob("shots", {"encode": SliceInput("encodes", encode.name, encode.version, ("uri", "fps"))}, [spec],
                    compute, required=("encode",))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: shots for the given titles' standardized encodes."""
    from spark_jobs.submit import submit_title_job

    return submit_title_job(__doc__.splitlines()[0], shots_job, argv)


if __name__ == "__main__":
    raise SystemExit(main())
