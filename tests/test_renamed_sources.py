"""A title whose file was renamed or moved within the landing folder after ingest is still computed
from the same bytes (found by content id); a title whose bytes are gone gets a clear error."""

from __future__ import annotations

import re
import shutil

import pytest

from reelhouse.features.outcome import TitleFailures
from reelhouse.features.rows import media_row
from reelhouse.features.specs import subtitles_spec
from reelhouse.lakehouse import FeatureSlice, new_run_id
from reelhouse.pipeline import encode, media, text
from spark_jobs.encode import source_file
from reelhouse.samples import generate_clip, title_spec


@pytest.fixture
def ingested(settings, store):
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    generate_clip(title_spec(1, 3.0, seed=5, width=96, height=64), landing / "clip.mp4")  # writes clip.srt too
    assert (landing / "clip.srt").is_file()
    result = media.ingest_file(store, landing / "clip.mp4", new_run_id())
    assert result.status == "ok"
    return result.video_id


def test_a_renamed_and_moved_title_is_encoded_and_its_moved_sidecar_read(settings, store, ingested):
    landing = settings.resolved_landing
    (landing / "season1").mkdir()
    shutil.move(landing / "clip.mp4", landing / "season1" / "pilot.mp4")
    shutil.move(landing / "clip.srt", landing / "season1" / "pilot.srt")

    row = media_row(store, ingested)
    assert source_file(row, settings) == landing / "season1" / "pilot.mp4"
    [out] = encode.standardize_titles(settings, store, [ingested], new_run_id())
    assert not out.memoized and out.rows == 1
    [subs] = text.extract_subtitles(settings, store, [ingested], new_run_id())
    assert subs.rows > 0
    spec = subtitles_spec()
    sources = set(store.read_slice("subtitle_cues", FeatureSlice(ingested, spec.name, spec.version)).column("source").to_pylist())
    assert sources == {"sidecar"}


def test_a_title_whose_bytes_are_gone_says_so(settings, store, ingested):
    (settings.resolved_landing / "clip.mp4").unlink()
    with pytest.raises(TitleFailures) as failed:
        encode.standardize_titles(settings, store, [ingested], new_run_id())
    assert list(failed.value.failed) == [ingested]
    assert re.search("TitleNotReady: the source of title .* is gone: it was .*clip.mp4", failed.value.failed[ingested])
