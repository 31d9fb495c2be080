"""The landing sensor on a temporary landing folder, evaluated by real Dagster against a real instance.

Dagster's daemon applies a sensor's dynamic-partition requests and persists its cursor between ticks;
``tick`` does the same here, so each test reads like a sequence of daemon ticks.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.assets import titles
from dagster_project.resources import resources_for
from dagster_project.sensors import landing_sensor, parse_cursor
from reelhouse.config import Settings
from reelhouse.media.content_id import content_id
from reelhouse.samples import generate_clip, title_spec


class Daemon:
    """Ticks the sensor like the daemon does: persists the cursor and applies partition requests."""

    def __init__(self, settings: Settings) -> None:
        self.instance = dg.DagsterInstance.ephemeral()
        self.resources = resources_for(settings)
        self.cursor: str | None = None

    def tick(self) -> dg.SensorResult:
        with dg.build_sensor_context(instance=self.instance, cursor=self.cursor, resources=self.resources) as ctx:
            result = landing_sensor(ctx)
        for req in result.dynamic_partitions_requests:
            self.instance.add_dynamic_partitions(req.partitions_def_name, list(req.partition_keys))
        self.cursor = result.cursor
        return result


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clips") / "a.mp4"
    generate_clip(title_spec(0, 2.0, seed=3, width=96, height=64), path)
    return path


def _age(path: Path, seconds: float = 120.0) -> None:
    """Make a file look as if it was last written ``seconds`` ago."""
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_a_new_file_adds_a_partition_and_requests_one_run(settings, clip):
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    shutil.copyfile(clip, landing / "a.mp4")
    _age(landing / "a.mp4")
    daemon = Daemon(settings)

    result = daemon.tick()

    vid = content_id(clip)
    assert [(r.partition_key, r.run_key) for r in result.run_requests] == [(vid, vid)]
    assert result.run_requests[0].tags["reelhouse/source"].endswith("a.mp4")
    assert daemon.instance.get_dynamic_partitions(titles.name) == [vid]
    assert daemon.tick().run_requests == []  # nothing new on the next tick


def test_renamed_touched_and_reuploaded_copies_trigger_nothing(settings, clip):
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    shutil.copyfile(clip, landing / "a.mp4")
    _age(landing / "a.mp4")
    daemon = Daemon(settings)
    assert len(daemon.tick().run_requests) == 1

    (landing / "a.mp4").rename(landing / "renamed.mp4")
    assert daemon.tick().run_requests == []
    _age(landing / "renamed.mp4", 60.0)  # touched: new mtime, same bytes
    assert daemon.tick().run_requests == []
    (landing / "sub").mkdir()
    shutil.copyfile(clip, landing / "sub" / "again.mp4")  # re-uploaded under another name
    _age(landing / "sub" / "again.mp4")
    assert daemon.tick().run_requests == []
    assert daemon.instance.get_dynamic_partitions(titles.name) == [content_id(clip)]


def test_a_file_still_being_written_waits_until_it_settles(settings, clip, monkeypatch):
    monkeypatch.setenv("REELHOUSE_LANDING_SETTLE_S", "30")
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    data = clip.read_bytes()
    growing = landing / "growing.mp4"
    growing.write_bytes(data[: len(data) // 2])
    daemon = Daemon(settings)

    first = daemon.tick()  # just written: waits, and is not hashed
    assert first.run_requests == []
    assert list(parse_cursor(daemon.cursor)) == [str(growing)]
    assert not (settings.home / "landing-index.json").read_text().count("growing")

    with growing.open("ab") as f:  # the copy goes on; an old mtime must not fool the sensor
        f.write(data[len(data) // 2:])
    _age(growing)
    assert daemon.tick().run_requests == []  # size changed since the last tick

    [request] = daemon.tick().run_requests  # unchanged since the last tick and old enough
    assert request.partition_key == content_id(clip)
    assert parse_cursor(daemon.cursor) == {}


def test_the_cursor_survives_a_restart(settings, clip):
    """A new daemon process starts from the persisted cursor and the persisted partitions."""
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    shutil.copyfile(clip, landing / "a.mp4")
    _age(landing / "a.mp4")
    (landing / "b.mp4").write_bytes(clip.read_bytes()[:1000])  # young: waits
    daemon = Daemon(settings)
    assert len(daemon.tick().run_requests) == 1
    saved_cursor, instance = daemon.cursor, daemon.instance

    restarted = Daemon(settings)
    restarted.instance, restarted.cursor = instance, saved_cursor
    assert parse_cursor(restarted.cursor).keys() == {str(landing / "b.mp4")}
    assert restarted.tick().run_requests == []


def test_non_video_names_and_hidden_partial_uploads_are_ignored(settings, clip):
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    shutil.copyfile(clip, landing / ".a.mp4.partial")
    (landing / "notes.txt").write_text("not a video")
    _age(landing / ".a.mp4.partial")
    assert Daemon(settings).tick().run_requests == []
