"""A small deterministic library of generated titles with ground truth, for demos and tests.

Titles share some scene looks, so cross-title similar-shot search has true matches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelhouse.samples.generator import (
    AudioSegment,
    ClipSpec,
    Cue,
    GroundTruth,
    Look,
    Shot,
    generate_clip,
    ground_truth,
    write_srt,
)

_LAYOUTS = ("blobs", "stripes", "blocks", "horizon")
_TONES_HZ = (220.0, 330.0, 440.0, 660.0, 880.0, 1320.0)
_LINES = (
    "The harbour lights came on one by one.",
    "We should have left before the storm.",
    "Nobody remembers the name of that street.",
    "Keep the engine running, I will be quick.",
    "The garden looks different in the rain.",
    "She painted the whole wall blue overnight.",
    "Did you hear the train whistle at midnight?",
    "Every map of this city is wrong.",
    "Bring the red notebook to the meeting.",
    "The sun sets late here in summer.",
)


@dataclass(frozen=True)
class SampleTitle:
    """One generated title.

    Attributes:
        name: file stem (``title_00``...).
        path: the ``.mp4``.
        srt_path: its subtitle sidecar.
        truth_path: the ground truth as JSON.
        truth: the ground truth.
    """

    name: str
    path: Path
    srt_path: Path
    truth_path: Path
    truth: GroundTruth


def _look(k: int, seed: int) -> Look:
    """Look ``k`` of the library's pool: hues spread by the golden ratio, layouts in turn."""
    rng = np.random.default_rng([seed, 1_000_003, k])
    return Look(
        hue=float((0.61803398875 * k + rng.uniform(0, 0.05)) % 1.0),
        layout=_LAYOUTS[k % 4],
        seed=int(rng.integers(1 << 30)),
    )


def title_spec(
    index: int, seconds: float, seed: int = 0, width: int = 320, height: int = 176, fps: float = 24.0
) -> ClipSpec:
    """The spec of title ``index``: about ``seconds`` long, 1.5-3.5 s shots, mostly cuts plus one
    dissolve and one fade, one flash and one fast pan, alternating tones and silences, subtitles.

    Title ``i`` uses one look shared by all titles and four of its own, two of which title ``i + 1``
    reuses; with five or more shots every look appears.
    """
    looks = [_look(0, seed)] + [_look(1 + 2 * index + j, seed) for j in range(4)]
    rng = np.random.default_rng([seed, index])
    target = round(seconds * fps)
    shots: list[Shot] = []
    order = rng.permutation(len(looks))  # cycling a permutation never repeats a look back to back
    total = 0
    while total < target:
        shortest, remaining = round(1.5 * fps), target - total
        frames = int(rng.integers(shortest, round(3.5 * fps)))
        if remaining - frames < shortest:  # the last shot absorbs the remainder
            frames = remaining
        k = len(shots)
        kwargs: dict[str, object] = {}
        if k == 2:
            kwargs = {"transition_in": "dissolve", "transition_frames": 12}
        elif k == 4:
            kwargs = {"transition_in": "fade", "transition_frames": 16}
        if k == 1:
            kwargs["flashes"] = (frames // 2,)
        if k == 3:
            kwargs["pan"] = (frames // 4, frames // 4 + round(0.5 * fps))
        shots.append(Shot(look=looks[order[k % len(looks)]], frames=frames, **kwargs))  # type: ignore[arg-type]
        total += frames
    duration = total / fps
    audio: list[AudioSegment] = []
    t = 0.0
    while t < duration - 0.5:
        length = float(rng.uniform(1.5, 3.0))
        audio.append(AudioSegment(start_s=t, end_s=min(duration, t + length), freq_hz=float(rng.choice(_TONES_HZ))))
        t = min(duration, t + length + float(rng.uniform(0.5, 1.0)))  # then a silence
    cues = [
        Cue(start_s=c, end_s=c + 2.0, text=_LINES[int(rng.integers(len(_LINES)))])
        for c in np.arange(0.5, duration - 2.0, 3.0).tolist()
    ]
    return ClipSpec(width=width, height=height, fps=fps, shots=tuple(shots), audio=tuple(audio), subtitles=tuple(cues))


def build_sample_library(
    out_dir: str | os.PathLike[str], seconds_per_title: float = 20.0, n_titles: int = 3, seed: int = 0
) -> list[SampleTitle]:
    """Write ``n_titles`` titles (``title_NN.mp4`` + ``.srt`` + ``.truth.json``) into ``out_dir``.

    Deterministic given ``seed`` and idempotent: a title whose files exist and whose stored
    ground truth equals the expected one is not rendered again.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    titles = []
    for i in range(n_titles):
        spec = title_spec(i, seconds_per_title, seed)
        name = f"title_{i:02d}"
        path, srt, truth_path = out / f"{name}.mp4", out / f"{name}.srt", out / f"{name}.truth.json"
        expected = ground_truth(spec)
        current = truth_path.read_text() if truth_path.exists() else None
        if not (path.exists() and srt.exists() and current == expected.to_json()):
            generate_clip(spec, path)
            write_srt(spec.subtitles, srt)
            truth_path.write_text(expected.to_json())
        titles.append(SampleTitle(name, path, srt, truth_path, expected))
    return titles


def sample_library_labels(seconds_per_title: float = 20.0, n_titles: int = 3, seed: int = 0) -> str:
    """Tag labels of the sample library (``reelhouse tags train`` CSV: ``title,start_s,end_s,tag``), from
    how it is built, never from a model: one row per shot, its span ``[start, end)`` of the ground truth
    (seconds) and its look's layout (``blobs``, ``stripes``, ``blocks`` or ``horizon``) as the tag.
    ``reelhouse/samples/sample_library_tags.csv`` is this text for the defaults."""
    lines = ["title,start_s,end_s,tag"]
    for i in range(n_titles):
        spec = title_spec(i, seconds_per_title, seed)
        truth = ground_truth(spec)
        for shot, (start, end) in zip(spec.shots, truth.shots):
            lines.append(f"title_{i:02d}.mp4,{start / spec.fps:.4f},{end / spec.fps:.4f},{shot.look.layout}")
    return "\n".join(lines) + "\n"
