"""Response models of the HTTP API: they document every output in the OpenAPI schema.

The bodies follow the CLI's ``--json`` contracts (README, "JSON contracts"); list endpoints add the
pagination fields of ``Page``. Times are seconds of the standardized encode, ``[start_s, end_s)``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Error(BaseModel):
    """Any 4xx/5xx answer: one human-readable message."""

    detail: str = Field(description="what was wrong, e.g. \"title 'nope' matches no ingested ok title\"")


class ValidationProblem(BaseModel):
    loc: list[str | int] = Field(description="where the bad value is, e.g. [\"query\", \"k\"]")
    msg: str
    type: str


class ValidationError(BaseModel):
    """A request whose parameters failed validation (422)."""

    detail: str = Field(description="every problem in one line, e.g. \"query parameter 'k' must be between 1 and 1000 (got 0)\"")
    errors: list[ValidationProblem] = Field(default_factory=list, description="the problems one by one")


class Page(BaseModel):
    """Pagination of a list: the list holds items ``[offset, offset + limit)`` of ``total``."""

    total: int = Field(description="items in the whole list")
    offset: int = Field(description="position of this page's first item in the whole list")
    limit: int = Field(description="most items a page holds")
    next_offset: int | None = Field(description="offset of the next page; null on the last page")


class ServedSnapshot(BaseModel):
    token: str = Field(description="the state's name, as the X-Reelhouse-Snapshot header of its answers gives it")
    snapshot_ids: dict[str, int | None] = Field(description="table -> Iceberg snapshot id the state reads (null: empty table)")
    loaded_at: float = Field(description="when the state was built, seconds since the Unix epoch")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    titles: int = Field(description="ok titles in the served state")
    snapshot: str = Field(description="token of the served state (every answer names its state in the X-Reelhouse-Snapshot header)")
    snapshot_ids: dict[str, int | None] = Field(description="table -> Iceberg snapshot id the served state reads")
    served_since: float = Field(description="when the served state was built, seconds since the Unix epoch")
    refresh_error: str | None = Field(description="why the last look for a newer snapshot failed (null: it did not)")
    recent: list[ServedSnapshot] = Field(description="the states served lately, oldest first, the current one last")
    shot_embeddings_snapshot_id: int | None = Field(description="the served snapshot of shot_embeddings")
    visual_index_snapshot_id: int | None = Field(description="snapshot the loaded visual index was built from (null: none yet)")


class Title(BaseModel):
    video_id: str = Field(description="content id: first 32 hex digits of the SHA-256 of the file's bytes")
    file_name: str = Field(description="source file name")
    duration_s: float | None
    shot_count: int = Field(description="shots of the current shots version")


class TitlePage(Page):
    titles: list[Title]


class Shot(BaseModel):
    shot_index: int
    start_frame: int = Field(description="first frame of the standardized encode (inclusive)")
    end_frame: int = Field(description="end frame (exclusive)")
    start_s: float
    end_s: float
    transition: Literal["cut", "gradual"] = Field(description="how the shot begins")


class ShotsBetween(Page):
    """A title's shots overlapping ``[start_s, end_s)`` (``shots-between --json``)."""

    video_id: str
    start_s: float | None = Field(description="as asked; null: from the start")
    end_s: float | None = Field(description="as asked; null: to the end")
    shots: list[Shot]


class ShotRun(BaseModel):
    """Consecutive shots of a title: shots ``[start_shot, end_shot)``, seconds ``[start_s, end_s)``."""

    start_shot: int = Field(description="first shot (inclusive)")
    end_shot: int = Field(description="last shot (exclusive)")
    start_s: float = Field(description="seconds")
    end_s: float = Field(description="seconds (exclusive)")


class Scene(ShotRun):
    scene_index: int = Field(description="0-based scene number within the title")


class Chapter(ShotRun):
    chapter_index: int = Field(description="0-based chapter number within the title")
    start_scene: int = Field(description="first scene (inclusive)")
    end_scene: int = Field(description="last scene (exclusive)")


class Scenes(BaseModel):
    """A title's scenes and chapters (``reelhouse scenes --json``): each level tiles the title's shots."""

    video_id: str
    feature_version: str
    scenes: list[Scene]
    chapters: list[Chapter]


class ShotTagScores(BaseModel):
    shot_index: int
    start_s: float = Field(description="seconds")
    end_s: float = Field(description="seconds (exclusive)")
    scores: dict[str, float] = Field(description="tag -> the probe's probability in [0, 1] (0.5: its threshold)")


class TitleTags(BaseModel):
    """A title's shots with their score per tag (``reelhouse tags TITLE --json``)."""

    video_id: str
    feature_version: str
    tags: list[str]
    shots: list[ShotTagScores]


class TaggedShot(BaseModel):
    video_id: str
    shot_index: int
    start_s: float = Field(description="seconds")
    end_s: float = Field(description="seconds (exclusive)")
    score: float = Field(description="the probe's probability in [0, 1] that the shot carries the tag")


class TagSearch(BaseModel):
    """The shots scoring highest for a tag, best first (``reelhouse search-tag TAG --json``)."""

    tag: str
    results: list[TaggedShot]


class TagInfo(BaseModel):
    tag: str
    positives: int = Field(description="labelled shots carrying the tag it was trained on")
    negatives: int = Field(description="labelled shots not carrying it")
    cv_ap: float | None = Field(description="average precision of its cross-validated scores over whole titles "
                                            "(null when the labels allow no cross-validation)")


class TagSet(BaseModel):
    """The current tag probes (trained by ``reelhouse tags train LABELS.csv``)."""

    content_version: str
    feature_version: str
    tags: list[TagInfo]


class ArtworkCandidate(BaseModel):
    shot_index: int
    time_s: float = Field(description="the frame's time, seconds of the standardized encode")
    score: float = Field(description="artwork score in [0, 1]: sharpness rank, exposure, colourfulness")


class Artwork(BaseModel):
    """A title's best frames for artwork, best first (``reelhouse artwork --json``)."""

    video_id: str
    candidates: list[ArtworkCandidate]


class RegionHit(BaseModel):
    video_id: str
    shot_index: int
    frame_index: int = Field(description="frame of the standardized encode the region was found on")
    t_s: float = Field(description="the frame's time, seconds")
    label: str
    x0: float = Field(description="left edge, 0 (frame's left) to 1 (right)")
    y0: float = Field(description="top edge, 0 (frame's top) to 1 (bottom)")
    x1: float = Field(description="right edge (exclusive)")
    y1: float = Field(description="bottom edge (exclusive)")
    area: float = Field(description="the box's share of the frame, 0-1")
    score: float = Field(description="the detector's probability")


class Regions(BaseModel):
    """Shots with a matching region, largest first (``reelhouse regions --json``)."""

    query: dict
    results: list[RegionHit]


class Neighbour(BaseModel):
    video_id: str
    shot_index: int
    score: float = Field(description="cosine similarity")


class Similar(Page):
    """Shots most like one shot (``similar --json``), best first."""

    video_id: str
    shot_index: int
    embedding: str = Field(description="the shot embedding compared (a searchable feature of the registry)")
    feature: str = Field(description="the feature name of that embedding in shot_embeddings")
    feature_version: str | None = Field(description="the one version of the feature the index holds (the current one)")
    snapshot_id: int | None = Field(description="shot_embeddings snapshot the index was built from")
    results: list[Neighbour]


class ShotRef(BaseModel):
    video_id: str
    shot_index: int
    start_s: float | None
    end_s: float | None


class MatchCutPair(BaseModel):
    out: ShotRef = Field(description="the outgoing shot")
    in_: ShotRef = Field(alias="in", description="the incoming shot")
    score: float = Field(description="cosine similarity in the flavor's feature, [-1, 1]")
    csls: float = Field(description="hub-aware score 2 cos - r(out) - r(in), [-4, 4]; r = a shot's mean cosine to its "
                                    "10 nearest shots among the picked titles (reelhouse.search.hubness)")
    percentile: float = Field(description="where the cosine stands among the pairs of the picked titles' shots that "
                                          "could be candidates (in scope, outside min_gap), 0-100")

    model_config = {"populate_by_name": True}  # FastAPI serializes by alias: the key is "in"


class MatchCuts(Page):
    """Match-cut candidates among the picked titles (``match-cuts --json``), best first."""

    flavor: str
    feature: str
    feature_version: str
    titles: list[str] = Field(description="video ids of the picked titles")
    shots_compared: int
    rank_by: str = Field(description="csls or cosine: what ranks the pairs")
    per_shot: int = Field(description="each shot is in at most this many pairs of the list (0: no limit)")
    pairs: list[MatchCutPair]


class TextHit(BaseModel):
    video_id: str
    shot_index: int
    start_s: float | None
    end_s: float | None
    text: str = Field(description="the shot's subtitle text")
    score: float = Field(description="cosine similarity (semantic) or 1.0 (literal)")


class TextSearch(Page):
    """Shots whose subtitles match the query (``search-text --json``), best first."""

    query: str
    mode: Literal["semantic", "literal"]
    results: list[TextHit]
