"""A synthetic catalog with latent scene and mood structure, for the contextual shot encoder.

Used by ``benchmarks/mediafm.py`` (which scores embeddings against the hidden labels) and by the
tests, which write it into a real feature store (:func:`write_scene_catalog`) under the pipeline's own
feature names and versions, so training and inference run exactly as on a real catalog.

Generation (:func:`make_scene_catalog`): each title is a sequence of scenes of ``2 + Poisson(6)``
consecutive shots. Latent space of ``LATENT`` dimensions: ``MOODS`` unit mood vectors shared by the
whole catalog; per title a unit "style" vector; per scene a unit scene vector and a mood label (the
title's own mood with probability 0.6, else uniform). A shot's latent is
``SCENE_W * scene + MOOD_W * mood + STYLE_W * style + SHOT_W * shot`` (each term a unit vector;
``shot`` is drawn per shot). Each modality embedding is ``normalize(P_m @ latent + NOISE_W * |latent| * n)``
with a fixed random projection ``P_m`` (orthonormal columns) and per-shot isotropic noise ``n`` of
unit expected norm, so a single shot carries only a weak scene and mood signal and its neighbours
carry the rest. Missing modalities: ``AUDIO_MISSING`` of shots have no audio (independently); a scene
has dialogue with probability ``DIALOGUE_SCENE`` and then each of its shots has text with
probability ``TEXT_IN_DIALOGUE``. Shot lengths are log-normal (median 3 s), independent of scenes.
Nothing in the inputs marks scene boundaries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureSlice, FeatureStore

LATENT = 64
MOODS = 6
SCENE_W, MOOD_W, STYLE_W, SHOT_W = 1.0, 0.5, 0.5, 1.4
NOISE_W = 2.5
AUDIO_MISSING = 0.15
DIALOGUE_SCENE, TEXT_IN_DIALOGUE = 0.6, 0.8
FPS = 24.0


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit L2 norm, as float32."""
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


@dataclass
class SceneTitle:
    """One title's inputs and the labels (used only for scoring).

    Attributes:
        visual, audio, text: float32 ``(n, dim)`` unit rows; zero rows where absent.
        audio_present, text_present: bool ``(n,)``.
        durations_s: float64 ``(n,)`` shot lengths in seconds.
        scene: int ``(n,)`` scene number within the title; ``mood``: the shot's scene's mood.
    """

    visual: np.ndarray
    audio: np.ndarray
    text: np.ndarray
    audio_present: np.ndarray
    text_present: np.ndarray
    durations_s: np.ndarray
    scene: np.ndarray
    mood: np.ndarray

    @property
    def n_shots(self) -> int:
        return len(self.scene)


def make_scene_catalog(n_titles: int, seed: int, dims: dict[str, int],
                       shots_per_title: tuple[int, int] = (60, 201)) -> list[SceneTitle]:
    """The catalog described in the module docstring; ``shots_per_title`` is ``[low, high)`` (a title
    is a whole number of scenes, so it may run a few shots over)."""
    rng = np.random.default_rng(seed)
    moods = unit_rows(rng.standard_normal((MOODS, LATENT)))
    proj = {m: np.linalg.qr(rng.standard_normal((d, LATENT)))[0].astype(np.float32) for m, d in dims.items()}
    titles = []
    for _ in range(n_titles):
        target = int(rng.integers(*shots_per_title))
        sizes: list[int] = []
        while sum(sizes) < target:
            sizes.append(2 + int(rng.poisson(6)))
        n = sum(sizes)
        title_mood = int(rng.integers(MOODS))
        style = unit_rows(rng.standard_normal(LATENT))
        scene_mood = np.where(rng.random(len(sizes)) < 0.6, title_mood, rng.integers(MOODS, size=len(sizes)))
        scene_vec = unit_rows(rng.standard_normal((len(sizes), LATENT)))
        scene = np.repeat(np.arange(len(sizes)), sizes)
        mood = scene_mood[scene]
        latent = (SCENE_W * scene_vec[scene] + MOOD_W * moods[mood] + STYLE_W * style
                  + SHOT_W * unit_rows(rng.standard_normal((n, LATENT))))
        emb = {}
        for m, d in dims.items():
            noise = rng.standard_normal((n, d)).astype(np.float32) / np.sqrt(d)
            emb[m] = unit_rows(latent @ proj[m].T + NOISE_W * np.linalg.norm(latent, axis=1, keepdims=True) * noise)
        audio_present = rng.random(n) >= AUDIO_MISSING
        dialogue = rng.random(len(sizes)) < DIALOGUE_SCENE
        text_present = dialogue[scene] & (rng.random(n) < TEXT_IN_DIALOGUE)
        emb["audio"][~audio_present] = 0.0
        emb["text"][~text_present] = 0.0
        durations = np.exp(rng.normal(np.log(3.0), 0.6, size=n))
        titles.append(SceneTitle(emb["visual"], emb["audio"], emb["text"], audio_present, text_present,
                                 durations, scene, mood))
    return titles


def scene_video_id(n: int, seed: int) -> str:
    """The ``n``-th title's content id (32 hex characters)."""
    return hashlib.sha256(f"scene-catalog:{seed}:{n}".encode()).hexdigest()[:32]


def write_scene_catalog(store: FeatureStore, settings: Settings, titles: list[SceneTitle], run_id: str,
                        seed: int = 0, first: int = 0) -> list[str]:
    """Write ``titles`` as ``ok`` titles holding shots, visual, audio and text shot embeddings and the
    no-subtitles marker row at the versions ``settings`` compute (one commit per table). Returns their
    video ids, in order.

    Titles are numbered from ``first`` (so a later call can add more titles to the same catalog).
    """
    from reelhouse.features import registry, specs

    media, shots, subtitles = specs.media_spec(), specs.shots_spec(settings), specs.subtitles_spec()
    modality = registry.modality_specs(settings)
    ids = [scene_video_id(first + i, seed) for i in range(len(titles))]
    media_rows, shot_rows, emb_rows, cue_rows = {}, {}, {}, {}
    for vid, t in zip(ids, titles):
        media_rows[FeatureSlice(vid, media.name, media.version)] = pa.Table.from_pylist([{
            "source_uri": f"file:///scene-catalog/{vid}.mp4", "size_bytes": 1, "status": "ok",
            "duration_s": float(t.durations_s.sum()), "fps": FPS}])
        cue_rows[FeatureSlice(vid, subtitles.name, subtitles.version)] = pa.Table.from_pylist([
            {"cue_index": -1, "start_s": 0.0, "end_s": 0.0, "text": "", "source": "none"}])
        ends = np.cumsum(t.durations_s)
        starts = ends - t.durations_s
        shot_rows[FeatureSlice(vid, shots.name, shots.version)] = pa.table({
            "shot_index": pa.array(np.arange(t.n_shots, dtype=np.int32)),
            "start_frame": pa.array(np.round(starts * FPS).astype(np.int64)),
            "end_frame": pa.array(np.round(ends * FPS).astype(np.int64)),
            "start_s": starts, "end_s": ends, "fps": np.full(t.n_shots, FPS),
            "transition": ["cut"] * t.n_shots, "confidence": np.ones(t.n_shots), "detector": ["scene-catalog"] * t.n_shots,
        })
        for name, spec in modality.items():
            x = getattr(t, name)
            present = np.ones(t.n_shots, dtype=bool) if name == "visual" else getattr(t, f"{name}_present")
            emb_rows[FeatureSlice(vid, spec.name, spec.version)] = pa.table({
                "shot_index": pa.array(np.arange(t.n_shots, dtype=np.int32)),
                "model": [spec.params.get("model", spec.name)] * t.n_shots,
                "dim": pa.array(np.full(t.n_shots, x.shape[1], dtype=np.int32)),
                "has_embedding": present,
                "embedding": pa.array([row if p else None for row, p in zip(x, present)], type=pa.list_(pa.float32())),
            })
    store.replace_slices("media", media_rows, run_id)
    store.replace_slices("shots", shot_rows, run_id)
    store.replace_slices("shot_embeddings", emb_rows, run_id)
    store.replace_slices("subtitle_cues", cue_rows, run_id)
    return ids
