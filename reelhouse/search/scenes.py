"""Reading a title's stored scenes and chapters (the read side of ``reelhouse.pipeline.scenes``).

Shots are ``[start_shot, end_shot)`` shot numbers, times ``[start_s, end_s)`` seconds of the
standardized encode; a chapter also names its scenes ``[start_scene, end_scene)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.expressions import And, EqualTo

from reelhouse.config import Settings
from reelhouse.features import specs
from reelhouse.lakehouse import FeatureStore


class NoScenes(LookupError):
    """The title holds no scenes at the current version (not computed yet)."""


@dataclass(frozen=True)
class SceneGroup:
    """One scene or chapter: shots ``[start_shot, end_shot)``, seconds ``[start_s, end_s)``, scenes ``[start_scene, end_scene)``."""

    index: int
    start_shot: int
    end_shot: int
    start_s: float
    end_s: float
    start_scene: int
    end_scene: int


@dataclass(frozen=True)
class TitleScenes:
    """A title's scenes and chapters, each in time order, and the feature version they come from."""

    video_id: str
    feature_version: str
    scenes: list[SceneGroup]
    chapters: list[SceneGroup]

    def as_json(self) -> dict:
        """``{"video_id", "feature_version", "scenes": [{"scene_index", "start_shot", "end_shot", "start_s", "end_s"}],
        "chapters": [{"chapter_index", "start_shot", "end_shot", "start_s", "end_s", "start_scene", "end_scene"}]}``."""
        def shots(g: SceneGroup) -> dict:
            return {"start_shot": g.start_shot, "end_shot": g.end_shot, "start_s": g.start_s, "end_s": g.end_s}

        return {"video_id": self.video_id, "feature_version": self.feature_version,
                "scenes": [{"scene_index": g.index, **shots(g)} for g in self.scenes],
                "chapters": [{"chapter_index": g.index, **shots(g), "start_scene": g.start_scene, "end_scene": g.end_scene}
                             for g in self.chapters]}


def read_scenes(store: FeatureStore, settings: Settings, video_id: str) -> TitleScenes:
    """The title's scenes and chapters at the current scenes version.

    Raises:
        NoScenes: it holds none.
    """
    spec = specs.scenes_spec(settings)
    rows = store.read("scenes", And(And(EqualTo("video_id", video_id), EqualTo("feature", spec.name)),
                                    EqualTo("feature_version", spec.version))).to_pylist()
    if not rows:
        raise NoScenes(f"title {video_id} has no scenes at version {spec.version} yet (run `reelhouse run`, or "
                       "`reelhouse backfill --feature scenes`)")
    return title_scenes(video_id, spec.version, rows)


def title_scenes(video_id: str, feature_version: str, rows: list[dict]) -> TitleScenes:
    """A title's scenes and chapters from its ``scenes`` rows (any order)."""
    def level(name: str) -> list[SceneGroup]:
        return [SceneGroup(r["group_index"], r["start_shot"], r["end_shot"], r["start_s"], r["end_s"], r["start_scene"],
                           r["end_scene"]) for r in sorted((r for r in rows if r["level"] == name), key=lambda r: r["group_index"])]

    return TitleScenes(video_id, feature_version, level("scene"), level("chapter"))
