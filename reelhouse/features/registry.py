"""The feature registry: one declaration per feature, everything else derived from it.

A :class:`Feature` says what one feature is, once: its name (the ``feature`` value of its rows, its
Dagster asset key, its CLI and API choice and, for a per-shot embedding, its match-cut flavor), the
function that builds its versioned :class:`~reelhouse.features.FeatureSpec` (parameters that make
the version, upstream features, table), its Dagster group, kinds and description, the per-title
function that computes it, how it is searched (dimension, what "absent" means, whether it is a
match-cut flavor, a contextual-encoder input or trained on the catalog) and its per-title checks.

Derived from :data:`FEATURES`, and from nowhere else:

- ``reelhouse.features.coverage``: the per-title features, their coverage, memoization and the
  nightly fill and backfills (``title_features``);
- ``dagster_project.assets`` and ``dagster_project.checks``: the per-title assets (one per feature,
  or one multi-asset per ``step``), their deps, code versions, pools and checks; the index and
  match-cut assets' inputs;
- ``reelhouse.quality.checks.embedding_contracts``: the dimension and absent-vector contract;
- the contextual encoder's modalities (``modalities``), the faiss index flavors, the match-cut
  flavors (``flavors``) and the CLI's and API's embedding choices (``searchable``).

Adding a per-shot feature: a model in ``models/``, a spec function in ``specs``, a ``spark_jobs`` module
with its per-title job and step (``motion``: ``models.visual.motion``, ``specs.motion_spec``,
``spark_jobs.shot_motion``), one :class:`Feature` line here, and their tests.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from models.cards import AUDIO_EMBEDDING_DIM, TEXT_EMBEDDING_DIM, VISUAL_EMBEDDING_DIM
from reelhouse.config import Settings
from reelhouse.features import FeatureSpec, specs

if TYPE_CHECKING:
    from reelhouse.features.outcome import StageOutcome
    from reelhouse.lakehouse import FeatureStore

SpecOf = Callable[[Settings], FeatureSpec]
#: ``(settings, store, video_ids, run_id) -> outcomes``: computes a step's features for titles.
Compute = Callable[[Settings, "FeatureStore", Sequence[str], str], Sequence["StageOutcome"]]

#: The checks every per-shot embedding has (names of ``dagster_project.checks.TITLE_CHECK_KINDS``).
EMBEDDING_CHECKS = ("one_row_per_shot", "dims_and_norms", "is_current")


@dataclass(frozen=True)
class Search:
    """How a per-shot embedding (table ``shot_embeddings``) is searched.

    Attributes:
        dim: the vector length, from the feature's spec (model cards, descriptor parameters); None
            when a trained model decides it.
        absent: how a shot without the modality (``has_embedding = false``) stores its vector:
            ``"null"``, or ``"zeros"`` (a ``dim``-long all-zero vector, what mean-pooling leaves).
        flavor: usable as a match-cut flavor (``reelhouse match-cuts --flavor NAME``).
        modality: an input of the contextual shot encoder.
        trained: comes from a model trained on the catalog: its version moves with the model, not
            with the code.
    """

    dim: Callable[[FeatureSpec], int] | None
    absent: Literal["null", "zeros"]
    flavor: bool = True
    modality: bool = False
    trained: bool = False


@dataclass(frozen=True)
class Feature:
    """One feature of the mesh.

    Attributes:
        name: the one name of the feature: ``feature`` column, asset key, CLI/API choice, flavor.
        spec: builds the feature's spec at its current version from settings; its name is ``name``.
        group: Dagster asset group.
        kinds: Dagster kinds (tools it runs on), shown in the UI.
        description: one line for the UI and ``--help``.
        scope: ``"title"``: computed per title (partitioned by title, covered, backfilled per title);
            ``"catalog"``: computed over the catalog by its own asset (a trained model's features).
        step: the per-title step computing it (``"module:function"``: a :data:`Compute`, a batch of
            titles per call); features naming the same step are computed together (one multi-asset).
            None: ingested by the landing sensor (``media``) or computed by a catalog asset.
        heavy: the step runs Spark, a model or a transcode (the ``spark`` concurrency pool).
        search: how a per-shot embedding is searched; None for other features.
        checks: per-title check names (``dagster_project.checks.TITLE_CHECK_KINDS``), in order.
        picture: a ``dagster_project.metadata`` function adding a picture to the asset's metadata.
    """

    name: str
    spec: SpecOf
    group: str
    kinds: frozenset[str]
    description: str
    scope: Literal["title", "catalog"] = "title"
    step: str | None = None
    heavy: bool = True
    search: Search | None = None
    checks: tuple[str, ...] = ()
    picture: str | None = None

    def compute(self) -> Compute:
        """The step's function (imported on first use).

        Raises:
            LookupError: the feature has no per-title step.
        """
        if self.step is None:
            raise LookupError(f"feature {self.name!r} has no per-title step")
        module, _, function = self.step.partition(":")
        return getattr(importlib.import_module(module), function)


def _k(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


#: Every feature, upstream before downstream.
FEATURES: tuple[Feature, ...] = (
    Feature("media", lambda s: specs.media_spec(), "media", _k("pyav", "iceberg"),
            "Probe and validation status of the title's source file.", heavy=False),
    Feature("standardized_encode", specs.encode_spec, "media", _k("spark", "pyav", "iceberg"),
            "Fixed-height, constant-fps yuv420p H.264 encode with mono audio: what every feature reads.",
            step="reelhouse.pipeline.encode:standardize_titles"),
    Feature("shots", specs.shots_spec, "shots", _k("spark", "pytorch", "iceberg"),
            "Canonical shot segmentation: [start, end) frames of the standardized encode, with transition types.",
            step="reelhouse.pipeline.shots:segment_titles", checks=("tiles_title", "is_current"), picture="shots_metadata"),
    Feature("shot_frames", specs.shot_frames_spec, "shots", _k("spark", "iceberg"),
            "Representative frames per shot, skipping black, blurred and flash frames, with JPEG thumbnails.",
            step="reelhouse.pipeline.shot_frames:select_shot_frames", checks=("frames_inside_shots", "is_current"),
            picture="shot_frames_metadata"),
    Feature("visual", specs.visual_spec, "embeddings", _k("spark", "pytorch", "iceberg"),
            "EfficientNet-Lite0 shot embeddings (1280-d, L2-normalized), mean-pooled over the representative frames.",
            step="reelhouse.pipeline.visual:embed_titles", checks=EMBEDDING_CHECKS,
            search=Search(lambda spec: VISUAL_EMBEDDING_DIM, "zeros", modality=True)),
    Feature("colour", specs.colour_spec, "embeddings", _k("spark", "iceberg"),
            "Joint HSV colour histogram per shot.",
            step="reelhouse.pipeline.visual:embed_titles", checks=EMBEDDING_CHECKS,
            search=Search(lambda spec: math.prod(spec.params["bins"]), "zeros")),
    Feature("layout", specs.layout_spec, "embeddings", _k("spark", "iceberg"),
            "Low-resolution Sobel edge layout per shot (composition).",
            step="reelhouse.pipeline.visual:embed_titles", checks=EMBEDDING_CHECKS,
            search=Search(lambda spec: math.prod(spec.params["grid"]), "zeros")),
    Feature("motion", specs.motion_spec, "embeddings", _k("spark", "opencv", "iceberg"),
            "Direction-of-motion histograms per shot from dense optical flow (the action match-cut flavor).",
            step="spark_jobs.shot_motion:motion_titles", checks=EMBEDDING_CHECKS,
            search=Search(lambda spec: math.prod(spec.params["grid"]) * spec.params["directions"], "zeros")),
    Feature("audio", specs.audio_spec, "embeddings", _k("spark", "pytorch", "iceberg"),
            "aisfx sound embeddings per shot (512-d; null for silent shots).",
            step="reelhouse.pipeline.audio:audio_titles", checks=(*EMBEDDING_CHECKS, "null_iff_silent"),
            search=Search(lambda spec: AUDIO_EMBEDDING_DIM, "null", modality=True)),
    Feature("shot_audio", specs.shot_audio_spec, "embeddings", _k("spark", "pytorch", "iceberg"),
            "Speech ratio (silero-vad), loudness and silence per shot.",
            step="reelhouse.pipeline.audio:audio_titles", checks=("one_row_per_shot", "is_current")),
    Feature("subtitles", lambda s: specs.subtitles_spec(), "media", _k("spark", "iceberg"),
            "Subtitle cues from the title's .srt sidecar, else its embedded text subtitle stream.",
            step="reelhouse.pipeline.text:extract_subtitles"),
    Feature("text", specs.text_spec, "embeddings", _k("spark", "pytorch", "iceberg"),
            "MiniLM embeddings of the subtitle text overlapping each shot; null when a shot has no text.",
            step="reelhouse.pipeline.text:embed_text_titles", checks=(*EMBEDDING_CHECKS, "null_iff_no_subtitle_text"),
            search=Search(lambda spec: TEXT_EMBEDDING_DIM, "null", flavor=False, modality=True)),
    Feature("shot_dedup", specs.dedup_spec, "embeddings", _k("spark", "iceberg"),
            "Near-duplicate shot groups (cosine of visual embeddings over a threshold); the earliest shot is kept.",
            step="reelhouse.pipeline.dedup:dedup_titles"),
    Feature("scenes", specs.scenes_spec, "applications", _k("spark", "iceberg"),
            "Scenes (consecutive shots that belong together) and chapters (consecutive scenes) of the title, from its "
            "visual, audio and text embeddings and subtitle continuity.",
            step="reelhouse.pipeline.scenes:scene_titles", checks=("scenes_tile_title", "is_current"),
            picture="scenes_metadata"),
    Feature("artwork", specs.artwork_spec, "applications", _k("spark", "iceberg"),
            "Artwork candidates of the title: sharp, well exposed frames clear of transitions, no two alike, spread "
            "over its scenes.",
            step="reelhouse.pipeline.artwork:artwork_titles", checks=("artwork_frames_usable", "is_current"),
            picture="artwork_metadata"),
    Feature("regions", specs.regions_spec, "applications", _k("spark", "pytorch", "iceberg"),
            "Faces on the title's representative frames (MTCNN, the weights facenet-pytorch ships), as boxes in "
            "normalized frame coordinates.",
            step="reelhouse.pipeline.regions:region_titles", checks=("boxes_in_frame", "is_current"),
            picture="regions_metadata"),
    Feature("contextual", specs.contextual_spec, "contextual", _k("spark", "pytorch", "iceberg"),
            "MediaFM-style contextual shot embeddings from the encoder trained on the catalog.",
            scope="catalog", search=Search(None, "zeros", trained=True)),
    Feature("tags", specs.tags_spec, "applications", _k("scikit-learn", "iceberg"),
            "Per-shot tag scores from one probe per tag, trained on the team's labels (reelhouse tags train) over the "
            "visual, audio and text embeddings.",
            scope="catalog", heavy=False),
)

_BY_NAME = {f.name: f for f in FEATURES}


def feature(name: str) -> Feature:
    """The feature called ``name``.

    Raises:
        KeyError: no such feature (the message lists the known names).
    """
    if name not in _BY_NAME:
        raise KeyError(f"unknown feature {name!r}; features: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def title_features() -> list[Feature]:
    """The per-title features, upstream before downstream."""
    return [f for f in FEATURES if f.scope == "title"]


def searchable() -> dict[str, SpecOf]:
    """Per-shot embeddings searchable by similarity: name -> spec (CLI ``--embedding``, API ``embedding``)."""
    return {f.name: f.spec for f in FEATURES if f.search is not None}


def flavors() -> dict[str, SpecOf]:
    """Match-cut flavors: name -> the spec of the embedding it compares."""
    return {f.name: f.spec for f in FEATURES if f.search is not None and f.search.flavor}


def trained() -> frozenset[str]:
    """Names of the features computed by a model trained on the catalog."""
    return frozenset(f.name for f in FEATURES if f.search is not None and f.search.trained)


def modalities() -> dict[str, SpecOf]:
    """The contextual encoder's inputs: name -> spec."""
    return {f.name: f.spec for f in FEATURES if f.search is not None and f.search.modality}


def modality_specs(settings: Settings) -> dict[str, FeatureSpec]:
    """The contextual encoder's inputs at their current versions: name -> spec."""
    return {name: spec_of(settings) for name, spec_of in modalities().items()}


def steps() -> dict[str, list[Feature]]:
    """Per-title steps (``Feature.step``) -> the features each computes, in declaration order."""
    out: dict[str, list[Feature]] = {}
    for f in title_features():
        if f.step is not None:
            out.setdefault(f.step, []).append(f)
    return out


def computed_together(name: str) -> list[Feature]:
    """The features computed by the step that computes feature ``name`` (itself included), in order.

    Raises:
        KeyError: no such feature.
        LookupError: the feature has no per-title step.
    """
    step = feature(name).step
    if step is None:
        raise LookupError(f"feature {name!r} has no per-title step")
    return steps()[step]


def specs_computed_together(name: str, settings: Settings) -> list[FeatureSpec]:
    """The specs, at their current versions, of the features computed together with feature ``name``
    (``computed_together``): what its step memoizes and writes."""
    return [f.spec(settings) for f in computed_together(name)]


def problems(settings: Settings, features: Sequence[Feature] = FEATURES) -> list[str]:
    """What is wrong with the declarations (empty when nothing): a spec named differently from its
    feature, a feature declared before its upstream features, a name used twice."""
    out: list[str] = []
    seen: set[str] = set()
    for f in features:
        spec = f.spec(settings)
        if spec.name != f.name:
            out.append(f"feature {f.name!r}: its spec is named {spec.name!r}")
        late = [u.name for u in spec.upstream if u.name not in seen]
        if late:
            out.append(f"feature {f.name!r} is declared before its upstream {', '.join(late)}")
        if f.name in seen:
            out.append(f"feature {f.name!r} is declared twice")
        seen.add(f.name)
    return out
