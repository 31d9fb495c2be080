"""The feature specs of the mesh, built from settings: the parameters and upstream features that make
each feature's version (the assets' code versions). ``reelhouse.features.registry`` declares the
rest of what each feature is."""

from __future__ import annotations

from models.shot_detection import DEFAULT_DETECTOR
from reelhouse.config import Settings
from reelhouse.features import FeatureSpec


def media_spec() -> FeatureSpec:
    """Probe metadata and validation status of a source file."""
    return FeatureSpec("media", "media", "1", {"probe": "pyav", "validate": True})


def encode_spec(settings: Settings) -> FeatureSpec:
    """The standardized encode, versioned by its recipe."""
    recipe = settings.encode.model_dump()
    algo = recipe.pop("version")
    return FeatureSpec("standardized_encode", "encodes", algo, recipe, (media_spec(),))


def shots_spec(settings: Settings, detector: str = DEFAULT_DETECTOR) -> FeatureSpec:
    """The canonical shot segmentation from ``detector`` over the standardized encode."""
    from models.shot_detection import get_detector

    det = get_detector(detector)
    params = {"detector": det.name, "detector_version": det.version, **det.params()}
    return FeatureSpec("shots", "shots", "1", params, (encode_spec(settings),))


def shot_frames_spec(settings: Settings) -> FeatureSpec:
    """Representative frames per shot after the quality filter."""
    from dataclasses import asdict

    from models.visual.frame_quality import CANDIDATE_POSITIONS, FRAME_HEIGHT, JPEG_QUALITY, QualityPolicy

    params = {"candidates": list(CANDIDATE_POSITIONS), "frame_height": FRAME_HEIGHT, "jpeg_quality": JPEG_QUALITY,
              **asdict(QualityPolicy())}
    return FeatureSpec("shot_frames", "shot_frames", "1", params, (shots_spec(settings),))


def visual_spec(settings: Settings) -> FeatureSpec:
    """EfficientNet-Lite0 shot embeddings, mean-pooled over the shot's representative frames."""
    from models.cards import VISUAL_MODEL_NAME, VISUAL_MODEL_VERSION

    params = {"model": f"{VISUAL_MODEL_NAME}@{VISUAL_MODEL_VERSION}"}
    return FeatureSpec("visual", "shot_embeddings", "1", params, (shot_frames_spec(settings),))


def colour_spec(settings: Settings) -> FeatureSpec:
    """Joint HSV colour histogram per shot (the colour match-cut flavor)."""
    return FeatureSpec("colour", "shot_embeddings", "1", {"bins": [8, 4, 4], "hsv": "pillow"}, (shot_frames_spec(settings),))


def layout_spec(settings: Settings) -> FeatureSpec:
    """Low-resolution Sobel edge layout per shot (composition: the layout match-cut flavor)."""
    return FeatureSpec("layout", "shot_embeddings", "1", {"grid": [16, 9], "luma_resize": "pillow-box"}, (shot_frames_spec(settings),))


def motion_spec(settings: Settings) -> FeatureSpec:
    """Direction-of-motion descriptor per shot from dense optical flow (the action match-cut flavor)."""
    from models.visual.motion import MIN_MOTION_PX, MOTION_DIRECTIONS, MOTION_FPS, MOTION_GRID, MOTION_HEIGHT

    params = {"fps": MOTION_FPS, "height": MOTION_HEIGHT, "grid": list(MOTION_GRID), "directions": MOTION_DIRECTIONS,
              "min_motion_px": MIN_MOTION_PX, "flow": "opencv-farneback"}
    return FeatureSpec("motion", "shot_embeddings", "1", params, (shots_spec(settings),))


def audio_spec(settings: Settings) -> FeatureSpec:
    """aisfx sound embeddings per shot (512-d; null for silent shots)."""
    from models.cards import AUDIO_MODEL_NAME, AUDIO_MODEL_VERSION, SILENCE_DBFS

    params = {"model": f"{AUDIO_MODEL_NAME}@{AUDIO_MODEL_VERSION}", "silence_dbfs": SILENCE_DBFS}
    return FeatureSpec("audio", "shot_embeddings", "1", params, (shots_spec(settings),))


def shot_audio_spec(settings: Settings) -> FeatureSpec:
    """Speech ratio and loudness per shot (silero-vad)."""
    from models.cards import SPEECH_MODEL_NAME, SPEECH_MODEL_VERSION

    params = {"model": f"{SPEECH_MODEL_NAME}@{SPEECH_MODEL_VERSION}"}
    return FeatureSpec("shot_audio", "shot_audio", "1", params, (shots_spec(settings),))


def subtitles_spec() -> FeatureSpec:
    """Subtitle cues of a title (sidecar .srt, else embedded text subtitles)."""
    return FeatureSpec("subtitles", "subtitle_cues", "1", {"reader": "srt+embedded"}, (media_spec(),))


def text_spec(settings: Settings) -> FeatureSpec:
    """MiniLM embeddings of the subtitle text overlapping each shot (null when there is none)."""
    from models.cards import TEXT_MODEL_NAME, TEXT_MODEL_VERSION

    params = {"model": f"{TEXT_MODEL_NAME}@{TEXT_MODEL_VERSION}"}
    return FeatureSpec("text", "shot_embeddings", "1", params, (shots_spec(settings), subtitles_spec()))


def dedup_spec(settings: Settings) -> FeatureSpec:
    """Near-duplicate shot groups from the visual embeddings."""
    from models.dedup import DEFAULT_THRESHOLD

    return FeatureSpec("shot_dedup", "shot_dedup", "1", {"threshold": DEFAULT_THRESHOLD}, (visual_spec(settings),))


def scenes_spec(settings: Settings) -> FeatureSpec:
    """The title's scenes (consecutive shots) and chapters (consecutive scenes), from its visual, audio and
    text shot embeddings and its subtitle cues (``models.scenes``)."""
    from dataclasses import asdict

    from models.scenes import MAX_CHAPTERS, MAX_SCENE_SHOTS, MIN_NEIGHBOUR_SIMILARITY, SceneParams

    params = {**asdict(SceneParams()), "max_scene_shots": MAX_SCENE_SHOTS, "max_chapters": MAX_CHAPTERS,
              "min_neighbour_similarity": MIN_NEIGHBOUR_SIMILARITY}
    return FeatureSpec("scenes", "scenes", "1", params,
                       (shots_spec(settings), visual_spec(settings), audio_spec(settings), text_spec(settings),
                        subtitles_spec()))


def artwork_spec(settings: Settings) -> FeatureSpec:
    """The title's artwork candidates (``models.artwork``) from its representative frames, shots, visual
    embeddings and scenes."""
    from dataclasses import asdict

    from models.artwork import COLOURFUL, MID_GREY, ArtworkPolicy

    params = {**asdict(ArtworkPolicy()), "colourful": COLOURFUL, "mid_grey": MID_GREY}
    return FeatureSpec("artwork", "artwork", "2", params,
                       (shots_spec(settings), shot_frames_spec(settings), visual_spec(settings), scenes_spec(settings)))


def regions_spec(settings: Settings) -> FeatureSpec:
    """Faces on each stored representative frame (``models.regions``), as normalized boxes."""
    from models.regions import FACE_DETECTOR, MIN_FACE_PROB, MIN_FACE_PX

    params = {"detector": FACE_DETECTOR, "min_face_px": MIN_FACE_PX, "min_face_prob": MIN_FACE_PROB}
    return FeatureSpec("regions", "regions", "1", params, (shot_frames_spec(settings),))


#: The contextual feature's model tag while no encoder has been trained on the catalog.
UNTRAINED = "untrained"


def contextual_spec(settings: Settings, content_version: str | None = None) -> FeatureSpec:
    """MediaFM-style contextual shot embeddings from the encoder trained on the catalog (``models.contextual``).

    The version hashes the encoder artifact's content version (config, weights, algorithm), so a
    retrained encoder makes every title's contextual embeddings stale at once: vectors of two
    different encoders never share a version, and are never compared.

    Args:
        content_version: the artifact's; default the current one
            (``reelhouse.features.model_registry``), or ``UNTRAINED`` when none is trained.
    """
    from models.contextual.config import ALGORITHM_VERSION
    from reelhouse.features.model_registry import current_model
    from reelhouse.features.registry import modalities

    if content_version is None:
        current = current_model(settings)
        content_version = current.content_version if current else UNTRAINED
    return FeatureSpec("contextual", "shot_embeddings", ALGORITHM_VERSION, {"model": content_version},
                       tuple(spec_of(settings) for spec_of in modalities().values()))


def tags_spec(settings: Settings, content_version: str | None = None) -> FeatureSpec:
    """Per-shot tag scores from the probes trained on the team's labels (``models.tags``).

    The version hashes the probe set's content version (labels, the embedding versions trained on,
    weights), so retraining on new labels makes every title's scores stale at once.

    Args:
        content_version: the probe set's; default the current one (``reelhouse.features.tag_models``),
            or ``UNTRAINED`` when none is trained.
    """
    from models.tags import ALGORITHM_VERSION
    from reelhouse.features.registry import modalities
    from reelhouse.features.tag_models import current_tags

    if content_version is None:
        current = current_tags(settings)
        content_version = current.content_version if current else UNTRAINED
    return FeatureSpec("tags", "shot_tags", ALGORITHM_VERSION, {"probes": content_version},
                       tuple(spec_of(settings) for spec_of in modalities().values()))


#: How stored match-cut candidates are chosen (see ``reelhouse.search.match_cuts.match_cut_candidates``):
#: each shot's ``candidates_per_shot`` best, ranked by ``rank_by`` (CSLS: hub-aware).
MATCH_CUT_PARAMS = {"candidates_per_shot": 10, "min_gap": 1, "scope": "all", "rank_by": "csls"}


def match_cuts_spec(settings: Settings, flavor: str) -> FeatureSpec:
    """Each shot's stored top match-cut candidates in one flavor, over the whole catalog.

    Raises:
        KeyError: an unknown flavor.
    """
    from models.dedup import DEFAULT_THRESHOLD
    from reelhouse.features.registry import flavors

    params = {**MATCH_CUT_PARAMS, "flavor": flavor, "dup_threshold": DEFAULT_THRESHOLD}
    return FeatureSpec(f"match_cuts_{flavor}", "match_cuts", "2", params,
                       (flavors()[flavor](settings), visual_spec(settings)))
