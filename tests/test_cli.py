"""The CLI contract: `reelhouse ingest --json` over a mixed batch, and `reelhouse shots --json`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reelhouse.cli import main
from reelhouse.samples import (
    generate_clip,
    make_mkv,
    make_not_video,
    make_odd_aspect,
    make_rotated,
    make_truncated,
    make_undecodable_audio,
    make_unsupported_codec,
    make_vfr,
    make_zero_byte,
    title_spec,
)


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("batch")
    good = d / "good.mp4"
    generate_clip(title_spec(0, 4.0, seed=3), good)
    files = {
        "good": good,
        "rotated": make_rotated(d / "rotated.mp4", 90).path,
        "odd_aspect": make_odd_aspect(d / "anamorphic.mp4", (4, 3)).path,
        "vfr": make_vfr(d / "vfr.mp4").path,
        "mkv": make_mkv(d / "clip.mkv").path,
        "empty_file": make_zero_byte(d / "empty.mp4").path,
        "truncated": make_truncated(good, d / "truncated.mp4", 0.6).path,
        "not_video": make_not_video(d / "notes.mp4").path,
        "undecodable_audio": make_undecodable_audio(d / "badaudio.mkv").path,
        "unsupported_codec": make_unsupported_codec(d / "weird.mp4").path,
    }
    return files


def test_ingest_batch_gives_specific_errors_and_lands_the_good_files(batch, capsys, settings):
    from reelhouse.lakehouse import FeatureStore

    code = main(["ingest", *map(str, batch.values()), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # some were quarantined
    by_path = {r["path"]: r for r in out}
    assert set(out[0]) == {"path", "video_id", "status", "error"}
    store = FeatureStore.from_settings(settings)
    media = {r["video_id"]: r for r in store.read("media").to_pylist()}
    for kind, path in batch.items():
        rec = by_path[str(path)]
        assert len(rec["video_id"]) == 32
        if kind in ("good", "rotated", "odd_aspect", "vfr", "mkv"):
            assert rec["status"] == "ok" and rec["error"] is None, (kind, rec)
            assert media[rec["video_id"]]["status"] == "ok"
        else:
            assert rec["status"] == "quarantined" and rec["error"], (kind, rec)
            assert media[rec["video_id"]]["error_code"] == kind
    assert len(media) == len(batch)  # one row per file, nothing partial
    # the odd files were read correctly
    rot = media[by_path[str(batch["rotated"])]["video_id"]]
    assert rot["rotation"] == 90 and rot["display_width"] < rot["display_height"]
    assert media[by_path[str(batch["vfr"])]["video_id"]]["is_vfr"] is True
    assert media[by_path[str(batch["odd_aspect"])]["video_id"]]["sample_aspect_ratio"] == pytest.approx(4 / 3)


def test_ingest_all_good_exits_zero_and_content_id_survives_rename(batch, capsys, tmp_path):
    renamed = tmp_path / "renamed.mp4"
    renamed.write_bytes(batch["good"].read_bytes())
    os.utime(renamed, (1_000_000, 1_000_000))
    assert main(["ingest", str(batch["good"]), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)[0]
    assert main(["ingest", str(renamed), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)[0]
    assert first["video_id"] == second["video_id"]


def test_shots_json_contract_on_a_generated_clip(tmp_path, capsys):
    clip = tmp_path / "cuts.mp4"
    truth = generate_clip(title_spec(1, 8.0, seed=5), clip)
    assert main(["shots", str(clip), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"video", "fps", "frames", "shots"}
    assert doc["frames"] == truth.frame_count and doc["fps"] == pytest.approx(truth.fps)
    shots = doc["shots"]
    assert shots[0]["start"] == 0 and shots[-1]["end"] == doc["frames"]
    assert all(a["end"] == b["start"] for a, b in zip(shots, shots[1:]))
    assert all(set(s) >= {"start", "end", "start_s", "end_s", "transition"} for s in shots)
    assert {s["transition"] for s in shots} <= {"cut", "gradual"}
    starts = [s["start"] for s in shots]
    for b in truth.boundaries:
        if b["type"] == "cut":
            assert min(abs(b["frame"] - s) for s in starts) <= 1
    for s in shots:
        assert s["start_s"] == pytest.approx(s["start"] / truth.fps, abs=1e-3)


def test_shots_on_a_bad_file_is_a_clear_error(tmp_path, capsys):
    bad = make_not_video(tmp_path / "x.mp4").path
    assert main(["shots", str(bad), "--json"]) == 2
    assert "x.mp4" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["missing.mp4", "."], ids=["missing", "directory"])
def test_shots_on_a_missing_file_or_a_directory_is_a_clear_error(tmp_path, capsys, name):
    target = tmp_path / name
    assert main(["shots", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("reelhouse shots: ") and "Traceback" not in err
    assert ("No such file" in err) if name == "missing.mp4" else ("directory" in err)
