"""Benchmark: match-cut quality of every flavor on a labelled generated catalog, and match-cut
candidates above the exact-search size (``ann.EXACT_MAX``) against faiss exact search.

**Quality** (``ap_*``). ``--titles`` (6) generated titles of ``--shots-per-title`` (12) 2 s shots,
each shot drawn with its own random details from 6 hue classes x 4 layouts (blobs, stripes, blocks,
horizon) and, independently, one of 5 sound classes over exactly its 2 s (``sine``, ``harmonic``,
``pulses``, ``white`` and ``brown`` noise: ``reelhouse.samples.generator.SOUNDS``), each with its own
random pitch (the tones), level (-28 to -8 dBFS peak), phase, pulse rate and noise seed. The titles go
through the real pipeline (``reelhouse run``: encode, shots, frames, visual and audio embeddings);
each detected shot takes the labels of the generated shot under its midpoint. Every pair of shots
(not the same shot, not adjacent shots of one title) is scored by each flavor's cosine, per task:

- framing and layout: positives share a layout, on pairs of *different* hue class (colour is the
  nuisance); the framing task is the ``visual`` flavor's (EfficientNet-Lite0, 1280-d), the layout
  task the ``layout`` flavor's (16x9 Sobel edges, 144-d);
- colour: positives share a hue class, on pairs of *different* layout (HSV histogram, 128-d);
- audio: positives share a sound class, on pairs of different hue class *and* layout, with their
  pitch, level and phase drawn apart (aisfx, 512-d);
- baselines in the same run on the same stored inputs: random scores, and one simple heuristic per
  task (framing and layout: correlation of 8x8 grey thumbnails of the shot's first stored frame;
  colour: cosine of its mean RGB; audio: cosine of the shot's mean log power in 20 log-spaced bands
  125 Hz-8 kHz, mean removed, from the standardized encode's 16 kHz track);
- AP over all pairs of the task, and precision over its 20 best pairs. ``ap_random`` is the mean of
  the four tasks' random AP. Nothing is tuned here (AP needs no threshold); the flavors were chosen
  on this benchmark's earlier catalog (seed ``TUNE_SEED`` = 11), and it evaluates on ``--seed``
  (default 23, an independent draw). The ``contextual`` flavor is not graded: it needs an encoder
  trained on the catalog.

**Hubs** (``hub_occupancy_top20_real``, ``k_occurrence_skew_raw``, ``k_occurrence_skew_reranked``,
``ap_framing_reranked``). The real clips that packages ship (``reelhouse.samples.real_clips``: bikes,
Big Buck Bunny, TransNetV2's 212 s test video, two one-shot clips) go through the pipeline; their
visual vectors get each shot's ``K`` candidates (``MIN_GAP``, near-duplicate guard on, scope all)
ranked four ways: raw cosine; cosine after centring the vectors (the usual first fix for hubs, the
baseline); CSLS (production, ``reelhouse.search.hubness``); and CSLS with each shot in at most one
pair of the list (as served). For each: the skewness of the k-occurrence distribution (how many
candidate lists name each shot) and the largest share of the best 20 pairs one shot takes part in.
The headline occupancy is CSLS's own, before the one-pair-per-shot cap (with the cap it is at most
1/20 by construction; printed beside it). The same figures on the generated catalog's shots, and
``ap_<task>_reranked``: each task's AP with the flavor's cosine re-ranked by CSLS (densities over all
the catalog's shots). Before/after sheets of the real titles' best 20 pairs (raw cosine, no cap;
as served) are written to ``--sheets`` (``benchmarks/sheets``).

**Scale** (``recall_vs_exact``, ``speedup_vs_faiss_exact``). For each size in ``--sizes`` (default
200,000: four times ``EXACT_MAX``, so the production path builds and searches the approximate index
``ann.build_index`` makes above it) a clustered catalog of ``--dim`` (default 1280: the framing
flavor's EfficientNet-Lite0 dimension; ``scale_catalog``: genres -> looks -> scenes -> shots,
Zipf-popular looks, as in ``benchmarks/ann.py``; titles of 2,000 shots), with two planted kinds of
pairs the exclusions must handle: 2% of shots get a next shot in their title at cosine about 0.89
(only the ``min_gap`` rule excludes it) and 1% are near-copies (cosine about 0.995) of a random shot
(only the near-duplicate guard excludes them).

- production: ``candidate_arrays`` over *every* shot (k = 10, ``min_gap`` 1, the guard on with the
  vectors themselves and ``models.dedup.DEFAULT_THRESHOLD``, as ``find_match_cuts`` does for the
  framing flavor): index build included, one call, wall time.
- baseline: ``faiss.knn`` (the brute-force inner-product search of ``IndexFlatIP``) over-fetching
  ``k + 2 * min_gap + 8`` neighbours (four times more for a query whose exclusions leave fewer than
  k), then the same three exclusion rules (not itself; not its title within ``min_gap``; guard cosine
  below the threshold), first k kept. Exact search of every shot against every shot costs
  ``n^2 d``: 200k x 200k x 1280 is over an hour on 2 cores, so the baseline runs on ``--sample``
  (2,000) random query shots against the full catalog (half of them just before the production
  pass, half just after, so both see the same machine load), and its time for all n shots is
  extrapolated linearly (exact search costs the same per query). recall = mean over the sampled
  shots of |production top-10 and exact top-10| / 10; speed-up = extrapolated exact wall time /
  production wall time (the same ratio of process CPU time is printed too: steadier on a shared
  machine).
- checks: below ``EXACT_MAX`` (the first ``--check-n`` = 20,000 shots) production (flat, exact) and
  the baseline must return the same candidates for every shot (agreement printed, must be >= 0.999,
  ties aside), and at full size every production candidate must obey the three rules and every shot
  must get k candidates.
- both are warmed on a small catalog first; the load average is printed with the timings.
- ``--store-titles`` (default 0, off: writing a catalog to Iceberg takes minutes here): store that
  many 2,000-shot titles of the catalog in Iceberg as the framing feature, pick 10 and time
  ``find_match_cuts`` end to end (read + candidates + best pairs; ``subset_query_s``, worst of 3).

What the default does *not* run, and why: 2,000,000 shots. At 1280-d one copy of the vectors is
10.2 GB and ``candidate_arrays`` holds about three (the input, the index's own copy, the gathered
query rows): over the 24 GiB machine, and the run refuses sizes needing over 12 GiB. At 144-d
(``--dim 144``, the layout flavor's size) 2M fits in a few GiB, but the production pass over every
shot costs ten times the 200k pass or more: far past the time budget on 2 shared cores
(``--sizes 200000,2000000 --dim 144`` runs it).

    .venv/bin/python -m benchmarks.match_cuts                       # default: 20 min wall at load ~10, peak RSS 4.1 GiB
    .venv/bin/python -m benchmarks.match_cuts --sizes 60000 --dim 144 --titles 3 --shots-per-title 8 --sample 500
    .venv/bin/python -m benchmarks.match_cuts --skip-scale | --skip-quality | --skip-hubs

Measured (default run, 2 cores shared at load average ~10): 20 min wall, of which the pipeline over
the labelled titles 8 min and the 200k production pass 500 s wall / 300 s CPU; peak RSS 4.1 GiB. The
quick run above takes a few minutes.

Last line: {"shots", "recall_vs_exact", "speedup_vs_faiss_exact", "ap_framing", "ap_colour",
"ap_layout", "ap_audio", "ap_random", "hub_occupancy_top20_real", "k_occurrence_skew_raw",
"k_occurrence_skew_reranked", "ap_framing_reranked" (the last four: issue 21), then per-task heuristic/random AP and P@20, per-size figures
("scale"), "peak_rss_gib", "loadavg"}. ``shots``, recall and speed-up are the largest size's.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HUES = 6
LAYOUTS = ("blobs", "stripes", "blocks", "horizon")
#: The seed of the catalog the flavors were chosen on (this benchmark's earlier version).
TUNE_SEED = 11
#: Candidates per shot, and within a title shots at most this far apart never pair (production defaults).
K, MIN_GAP = 10, 1
SHOT_S, FPS = 2.0, 24


@dataclass(frozen=True)
class ShotLabel:
    """What a generated shot is, by construction."""

    hue: int  # hue class, 0..HUES-1
    layout: str  # one of LAYOUTS
    sound: str  # one of generator.SOUNDS


def load() -> str:
    """The 1/5/15-minute load average, as printed next to timings."""
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# --- quality ---------------------------------------------------------------------------------


def labelled_titles(folder: Path, titles: int, shots_per_title: int, seed: int) -> dict[str, list[ShotLabel]]:
    """Generate the titles into ``folder``; returns ``file name -> [ShotLabel]`` per generated shot."""
    from reelhouse.samples.generator import SOUNDS, AudioSegment, ClipSpec, Look, Shot, generate_clip

    rng = np.random.default_rng(seed)
    frames = round(SHOT_S * FPS)
    truth = {}
    for t in range(titles):
        labels, shots, audio = [], [], []
        prev = None
        for s in range(shots_per_title):
            while True:  # adjacent shots differ in picture, so every cut is visible
                hue, layout = int(rng.integers(HUES)), LAYOUTS[int(rng.integers(len(LAYOUTS)))]
                if (hue, layout) != prev:
                    break
            prev = (hue, layout)
            sound = SOUNDS[int(rng.integers(len(SOUNDS)))]
            hue_value = (hue / HUES + rng.uniform(0, 0.03)) % 1.0
            shots.append(Shot(look=Look(hue=hue_value, layout=layout, seed=int(rng.integers(1 << 30))), frames=frames))
            freq = {"sine": (200, 2000), "harmonic": (110, 880), "pulses": (300, 1500)}.get(sound)
            audio.append(AudioSegment(
                start_s=s * SHOT_S, end_s=(s + 1) * SHOT_S, sound=sound,
                freq_hz=float(np.exp(rng.uniform(np.log(freq[0]), np.log(freq[1])))) if freq else None,
                amplitude=float(10 ** rng.uniform(-28 / 20, -8 / 20)), phase=float(rng.uniform(0, 2 * np.pi)),
                rate_hz=float(rng.uniform(3, 8)), seed=int(rng.integers(1 << 30))))
            labels.append(ShotLabel(hue, layout, sound))
        name = f"labelled_{t:02d}.mp4"
        generate_clip(ClipSpec(width=320, height=176, fps=FPS, shots=tuple(shots), audio=tuple(audio)), folder / name)
        truth[name] = labels
    return truth


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """AP of ranking pairs by ``scores`` (descending) for binary ``labels``."""
    order = np.argsort(-scores, kind="stable")
    hits = labels[order].astype(np.float64)
    if hits.sum() == 0:
        return 0.0
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def precision_at(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    return float(labels[np.argsort(-scores, kind="stable")[:k]].mean())


def band_profile(clip: np.ndarray, rate: int, bands: int = 20, n_fft: int = 1024) -> np.ndarray:
    """A clip's mean log power (log10) in ``bands`` log-spaced bands from 125 Hz to ``rate / 2``,
    mean removed (so the level drops out) and L2-normalized: the audio heuristic's vector."""
    usable = len(clip) // n_fft * n_fft
    frames = clip[:usable].reshape(-1, n_fft).astype(np.float64) * np.hanning(n_fft)
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).mean(axis=0)
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    edges = np.geomspace(125.0, rate / 2, bands + 1)
    energy = np.array([power[(freqs >= a) & (freqs < b)].sum() for a, b in zip(edges[:-1], edges[1:])])
    v = np.log10(energy + 1e-12)
    v -= v.mean()
    return v / (np.linalg.norm(v) + 1e-12)


def audio_heuristic(store, settings, keys: list[tuple[str, int]]) -> np.ndarray:
    """``band_profile`` of each shot's audio, read from the standardized encodes the pipeline wrote."""
    from models.audio.embedding import AUDIO_RATE
    from reelhouse.features.rows import encoded_shots
    from reelhouse.media.audio import iter_audio
    from reelhouse.media.location import localize
    from spark_jobs.audio_features import shot_clips

    profiles = {}
    for vid in sorted({v for v, _ in keys}):
        encode, shots = encoded_shots(store, settings, vid)
        shots = sorted(shots, key=lambda s: s["start_s"])
        chunks = iter_audio(localize(encode["uri"]), rate=AUDIO_RATE, chunk_s=10.0)
        for idx, clip in shot_clips(chunks, [(s["shot_index"], s["start_s"], s["end_s"]) for s in shots], AUDIO_RATE):
            profiles[(vid, idx)] = band_profile(clip, AUDIO_RATE)
    return np.stack([profiles[k] for k in keys])


def quality(work: Path, titles: int, shots_per_title: int, seed: int) -> tuple[dict[str, float], object]:
    """AP of every graded flavor and its baselines on a generated catalog run through the pipeline;
    and the catalog's visual ``ShotVectors``."""
    from PIL import Image

    from reelhouse.search.hubness import csls

    from dagster_project.library_run import run_library
    from reelhouse.config import Settings
    from reelhouse.features import registry
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.search.match_cuts import load_shot_vectors
    from reelhouse.search.shot_lookup import shot_pictures, shot_spans, title_names

    settings = Settings(home=work / "quality")
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    print(f"generating the labelled catalog (seed {seed}; flavors were chosen on seed {TUNE_SEED}) ...", flush=True)
    t0 = time.perf_counter()
    truth = labelled_titles(landing, titles, shots_per_title, seed)
    print(f"generated {titles} titles in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    report = run_library(settings, progress=lambda _m: None)
    print(f"pipeline over {len(report.ok)} titles: {time.perf_counter() - t0:.0f} s ({load()})", flush=True)
    store = FeatureStore.from_settings(settings)
    names = title_names(store)
    spans = shot_spans(store, settings, report.ok)
    label_of = {}
    for (vid, idx), s in spans.items():  # the generated shot under the detected shot's midpoint
        gen = truth[names[vid]]
        label_of[(vid, idx)] = gen[min(len(gen) - 1, int(((s["start_s"] + s["end_s"]) / 2) // SHOT_S))]
    print(f"shots: {len(spans)} detected, {sum(len(v) for v in truth.values())} generated")
    # task -> the flavor (feature) that serves it: "framing" (shared composition) is the visual flavor's task.
    flavors = {"framing": "visual", "layout": "layout", "colour": "colour", "audio": "audio"}
    loaded = {task: load_shot_vectors(store, registry.flavors()[f](settings), report.ok) for task, f in flavors.items()}
    keys = sorted(set(label_of).intersection(*(set(sv.keys()) for sv in loaded.values())))
    if len(keys) < len(label_of):
        print(f"note: {len(label_of) - len(keys)} shots lack a vector of some flavor and are left out")
    vectors = {}
    for f, sv in loaded.items():
        pos = {k: i for i, k in enumerate(sv.keys())}
        vectors[f] = np.stack([sv.vectors[pos[k]] for k in keys])
    pics = shot_pictures(store, settings, keys, "first")
    tiny, mean_rgb = [], []
    for k in keys:
        img = Image.open(io.BytesIO(pics[k].jpeg)).convert("RGB")
        g = np.asarray(img.convert("L").resize((8, 8), Image.BOX), dtype=np.float64).ravel()
        g -= g.mean()
        tiny.append(g / (np.linalg.norm(g) + 1e-9))
        m = np.asarray(img, dtype=np.float64).reshape(-1, 3).mean(0)
        mean_rgb.append(m / np.linalg.norm(m))
    heuristics = {"framing": ("8x8 grey", np.stack(tiny)), "layout": ("8x8 grey", np.stack(tiny)),
                  "colour": ("mean RGB", np.stack(mean_rgb)), "audio": ("log-band spectrum", audio_heuristic(store, settings, keys))}

    i, j = np.triu_indices(len(keys), 1)
    lab = [label_of[k] for k in keys]
    same_title = np.array([keys[a][0] == keys[b][0] for a, b in zip(i, j)])
    gap = np.array([abs(keys[a][1] - keys[b][1]) for a, b in zip(i, j)])
    usable = ~(same_title & (gap <= MIN_GAP))
    same = {attr: np.array([getattr(lab[a], attr) == getattr(lab[b], attr) for a, b in zip(i, j)])
            for attr in ("hue", "layout", "sound")}
    tasks = {  # task -> (pairs graded, positive)
        "framing": (usable & ~same["hue"], same["layout"]),
        "layout": (usable & ~same["hue"], same["layout"]),
        "colour": (usable & ~same["layout"], same["hue"]),
        "audio": (usable & ~same["hue"] & ~same["layout"], same["sound"]),
    }
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    print(f"\n{'task':<9}{'scorer':<34}{'pairs':>7}{'positive':>10}{'AP':>8}{'P@20':>8}")
    for task, (mask, labels) in tasks.items():
        y = labels[mask]
        scorers = {f"reelhouse {flavors[task]} flavor": vectors[task]}
        if task in ("framing", "layout"):
            other = "layout" if task == "framing" else "framing"
            scorers[f"reelhouse {flavors[other]} flavor"] = vectors[other]
        if task == "colour":
            scorers["reelhouse visual flavor"] = vectors["framing"]
        hname, hvec = heuristics[task]
        scorers[f"heuristic ({hname})"] = hvec
        rows = {}
        for name, vec in scorers.items():
            sims = np.einsum("ij,ij->i", vec[i[mask]], vec[j[mask]])
            rows[name] = (average_precision(sims, y), precision_at(sims, y, 20))
        # The flavor's cosine re-ranked as production ranks it (CSLS, densities over all the catalog's shots).
        density = shot_density(vectors[task])
        hub_aware = csls(np.einsum("ij,ij->i", vectors[task][i[mask]], vectors[task][j[mask]]),
                         density[i[mask]], density[j[mask]])
        rows[f"reelhouse {flavors[task]} flavor, CSLS"] = (average_precision(hub_aware, y), precision_at(hub_aware, y, 20))
        rand = rng.random(len(y))
        rows["random"] = (average_precision(rand, y), precision_at(rand, y, 20))
        for name, (ap, p20) in rows.items():
            print(f"{task:<9}{name:<34}{len(y):7d}{y.mean():10.3f}{ap:8.3f}{p20:8.3f}")
        out[f"ap_{task}"] = rows[f"reelhouse {flavors[task]} flavor"][0]
        out[f"p20_{task}"] = rows[f"reelhouse {flavors[task]} flavor"][1]
        out[f"ap_{task}_reranked"] = rows[f"reelhouse {flavors[task]} flavor, CSLS"][0]
        out[f"ap_{task}_heuristic"] = rows[f"heuristic ({hname})"][0]
        out[f"ap_random_{task}"] = rows["random"][0]
    out["ap_random"] = float(np.mean([out[f"ap_random_{t}"] for t in tasks]))
    print("\nAP over random / over the heuristic: " + ", ".join(
        f"{t} x{out[f'ap_{t}'] / out[f'ap_random_{t}']:.2f} / x{out[f'ap_{t}'] / out[f'ap_{t}_heuristic']:.2f}" for t in tasks))
    return out, loaded["framing"]


def shot_density(vectors: np.ndarray) -> np.ndarray:
    """Each row's mean cosine to its ``DENSITY_K`` nearest other rows, by brute force (CSLS's r)."""
    from reelhouse.search.hubness import DENSITY_K

    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    k = min(DENSITY_K, len(vectors) - 1)
    return np.sort(sims, axis=1)[:, -k:].mean(axis=1)


# --- hubs ------------------------------------------------------------------------------------


def centred(shots):
    """The baseline a sceptic reaches for first: vectors minus the selection's mean, re-normalized."""
    from reelhouse.search.match_cuts import ShotVectors

    v = shots.vectors - shots.vectors.mean(axis=0, keepdims=True)
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return ShotVectors(shots.video_ids, shots.shot_indices, np.ascontiguousarray(v, dtype=np.float32))


def occupancy(pairs) -> float:
    """The largest share of ``pairs`` that one shot takes part in (as either side)."""
    if not pairs:
        return 0.0
    counts: dict[tuple, int] = {}
    for p in pairs:
        for key in {(p.video_id, p.shot_index), (p.other_video_id, p.other_shot_index)}:
            counts[key] = counts.get(key, 0) + 1
    return max(counts.values()) / len(pairs)


def hub_figures(shots, label: str, top: int = 20) -> tuple[dict[str, float], dict[str, list]]:
    """Hubness of one selection's candidates (k = ``K``, ``MIN_GAP``, near-duplicate guard on, scope all),
    ranked three ways: raw cosine, cosine after centring (baseline), CSLS (production); and the list as
    served (CSLS, each shot once). Returns the figures and each ranking's best ``top`` pairs."""
    from models.dedup import DEFAULT_THRESHOLD
    from reelhouse.search.hubness import k_occurrence, skewness
    from reelhouse.search.match_cuts import best_pairs, candidate_arrays, with_percentiles

    out: dict[str, float] = {}
    lists: dict[str, list] = {}
    print(f"\n{label}: {len(shots)} shots of {len(set(shots.video_ids))} titles; k = {K}, top {top} pairs")
    print(f"{'ranking':<28}{'k-occ skew':>11}{'max k-occ':>10}{'top-20 occupancy':>18}")
    for name, vectors, rerank, cap in (("raw", shots, "cosine", None), ("centred", centred(shots), "cosine", None),
                                       ("reranked", shots, "csls", None), ("served", shots, "csls", 1)):
        c = candidate_arrays(vectors, K, shots, DEFAULT_THRESHOLD, MIN_GAP, "all", rerank=rerank)
        occ = k_occurrence(c.other[None, :], len(vectors))
        pairs = with_percentiles(shots, best_pairs(vectors, c, top, max_per_shot=cap), "all", MIN_GAP)
        lists[name] = pairs
        out[f"k_occurrence_skew_{name}_{label}"] = skewness(occ)
        out[f"hub_occupancy_top{top}_{name}_{label}"] = occupancy(pairs)
        note = f"  (each shot once: at most 1/{len(pairs)} by construction)" if cap and pairs else ""
        print(f"{name + (' (' + rerank + ')'):<28}{skewness(occ):11.2f}{int(occ.max()):10d}{occupancy(pairs):18.2f}{note}")
    return out, lists


def real_library(work: Path) -> tuple:
    """The real clips from packages (``reelhouse.samples.real_clips``) through the pipeline; their store."""
    from dagster_project.library_run import run_library
    from reelhouse.config import Settings
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.samples import real_clips

    settings = Settings(home=work / "real")
    landing = settings.resolved_landing
    landing.mkdir(parents=True)
    clips = real_clips()
    for name, path in clips.items():
        shutil.copyfile(path, landing / f"{name}{path.suffix}")
    t0 = time.perf_counter()
    report = run_library(settings, progress=lambda _m: None)
    print(f"\nreal clips ({', '.join(sorted(clips))}) through the pipeline: {time.perf_counter() - t0:.0f} s ({load()})",
          flush=True)
    return settings, FeatureStore.from_settings(settings), sorted(report.ok)


def hubs(work: Path, sheets: Path | None, generated_shots=None) -> dict[str, float]:
    """Hubness before and after re-ranking, on real footage (and on the generated catalog when given);
    before/after sheets of the real titles into ``sheets``."""
    from reelhouse.features import specs
    from reelhouse.search.match_cuts import load_shot_vectors
    from reelhouse.search.shot_lookup import cut_pictures
    from reelhouse.viz.match_sheet import match_cut_sheet

    settings, store, titles = real_library(work)
    shots = load_shot_vectors(store, specs.visual_spec(settings), titles)
    out, lists = hub_figures(shots, "real")
    if sheets is not None:
        for name, heading in (("raw", "raw cosine, no limit per shot (before)"),
                              ("served", "CSLS, each shot once (after, as served)")):
            path = match_cut_sheet(cut_pictures(store, settings, lists[name]), sheets / f"match_cuts_real_{name}.png",
                                   f"visual match cuts among {len(titles)} real titles: {heading}")
            print(f"sheet: {path}")
    if generated_shots is not None:
        gen, _ = hub_figures(generated_shots, "generated")
        out.update(gen)
    return out


# --- scale -----------------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32, copy=False)


def _offset(base: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """``base`` moved by a random offset of norm ``scale``, renormalized (cosine ``1 / sqrt(1 + scale^2)``)."""
    return _unit(base + scale * _unit(rng.standard_normal(base.shape, dtype=np.float32)))


def title_ids(n_titles: int) -> np.ndarray:
    """Content-id-like video ids (64 hex characters), sorted, so row order = ``(video_id, shot_index)`` order."""
    return np.sort(np.asarray([hashlib.sha256(f"title-{t:05d}".encode()).hexdigest() for t in range(n_titles)], dtype=object))


def scale_catalog(n: int, dim: int, seed: int, shots_per_title: int = 2000):
    """A clustered catalog (``ShotVectors``, rows ordered by title): 100 genres -> 4,000 looks (offset
    0.8, picked with Zipf(0.8) popularity, so a few looks are crowded) -> 40 scenes per title (offset
    0.3) -> shots (offset 0.7), unit vectors at every step; then planted pairs: 2% of shots become a
    look-alike of the previous shot of their title (offset 0.5: cosine ~0.89) and 1% near-copies of a
    random shot (offset 0.1: cosine ~0.995)."""
    from reelhouse.search.match_cuts import ShotVectors

    rng = np.random.default_rng(seed)
    titles = -(-n // shots_per_title)
    genres = _unit(rng.standard_normal((100, dim), dtype=np.float32))
    looks = _offset(genres[rng.integers(100, size=4000)], 0.8, rng)
    popularity = 1.0 / np.arange(1, 4001) ** 0.8
    scenes = _offset(looks[rng.choice(4000, size=(titles, 40), p=popularity / popularity.sum())], 0.3, rng)
    title = np.minimum(np.arange(n) // shots_per_title, titles - 1)
    x = np.empty((n, dim), np.float32)
    step = max(1, (1 << 23) // dim)
    for lo in range(0, n, step):
        t = title[lo:lo + step]
        x[lo:lo + step] = _offset(scenes[t, rng.integers(40, size=len(t))], 0.7, rng)
    shot = np.arange(n) - np.searchsorted(title, title)  # shot number within the title
    nxt = rng.choice(np.flatnonzero(shot > 0), n // 50, replace=False)
    x[nxt] = _offset(x[nxt - 1], 0.5, rng)
    copies = rng.choice(n, n // 100, replace=False)
    x[copies] = _offset(x[rng.integers(0, n, len(copies))], 0.1, rng)
    return ShotVectors(title_ids(titles)[title], shot.astype(np.int64), x)


def exact_candidates(shots, queries: np.ndarray, k: int, min_gap: int, dup_threshold: float,
                     block: int = 1024) -> np.ndarray:
    """Exact top-``k`` candidate rows ``(len(queries), k)`` of each query row, by ``faiss.knn`` over all of
    ``shots`` and the production exclusion rules (not itself; not its title within ``min_gap``; the
    guard, here the vectors themselves, below ``dup_threshold``); -1 pads when fewer exist."""
    import faiss

    x, n = shots.vectors, len(shots)
    titles = np.unique(shots.video_ids, return_inverse=True)[1]
    out = np.full((len(queries), k), -1, np.int64)
    pending, fetch = np.arange(len(queries)), min(n, k + 2 * min_gap + 8)
    while len(pending):
        q = queries[pending]
        _scores, rows = faiss.knn(x[q], x, fetch, metric=faiss.METRIC_INNER_PRODUCT)
        short = []
        for lo in range(0, len(q), block):
            qb, rb, pb = q[lo:lo + block], rows[lo:lo + block], pending[lo:lo + block]
            r = np.maximum(rb, 0)
            valid = (rb >= 0) & (rb != qb[:, None])
            valid &= ~((titles[r] == titles[qb][:, None]) & (np.abs(shots.shot_indices[r] - shots.shot_indices[qb][:, None]) <= min_gap))
            valid &= np.einsum("md,mfd->mf", x[qb], x[r]) < dup_threshold
            done = (valid.sum(1) >= k) | (fetch >= n)
            short.append(pb[~done])
            for a in np.flatnonzero(done):
                got = rb[a][valid[a]][:k]
                out[pb[a], :len(got)] = got
        pending, fetch = np.concatenate(short), min(n, fetch * 4)
    return out


def candidate_sets(c, rows: np.ndarray) -> list[set[int]]:
    """Production candidates (``CandidateArrays``, sorted by query) of each of ``rows``, as sets of rows."""
    lo, hi = np.searchsorted(c.query, rows, "left"), np.searchsorted(c.query, rows, "right")
    return [set(c.other[a:b].tolist()) for a, b in zip(lo, hi)]


def check_rules(shots, c, k: int, min_gap: int, dup_threshold: float, chunk: int = 1 << 16) -> None:
    """Every shot got ``k`` candidates, none itself, none of its title within ``min_gap``, none a near-duplicate."""
    x = shots.vectors
    counts = np.bincount(c.query, minlength=len(shots))
    assert (counts == k).all(), f"{int((counts != k).sum())} shots without {k} candidates"
    assert not (c.query == c.other).any(), "a shot paired with itself"
    near = (shots.video_ids[c.query] == shots.video_ids[c.other]) & (np.abs(shots.shot_indices[c.query] - shots.shot_indices[c.other]) <= min_gap)
    assert not near.any(), f"{int(near.sum())} pairs within min_gap of one title"
    for lo in range(0, len(c.query), chunk):
        q, o = c.query[lo:lo + chunk], c.other[lo:lo + chunk]
        dup = np.einsum("md,md->m", x[q], x[o]) >= dup_threshold
        assert not dup.any(), f"{int(dup.sum())} near-duplicate pairs"


def overlap(found: list[set[int]], exact: np.ndarray) -> np.ndarray:
    """Per query, |found and exact| / |exact| (exact rows of -1 ignored)."""
    return np.array([len(f & set(e[e >= 0].tolist())) / max(1, int((e >= 0).sum())) for f, e in zip(found, exact)])


def scale_one(n: int, dim: int, sample: int, check_n: int, seed: int) -> dict:
    """One catalog size: production candidates of every shot vs faiss exact on ``sample`` shots."""
    from models.dedup import DEFAULT_THRESHOLD
    from reelhouse.search.ann import EXACT_MAX
    from reelhouse.search.match_cuts import ShotVectors, candidate_arrays

    t0 = time.perf_counter()
    shots = scale_catalog(n, dim, seed)
    print(f"\n{n:,} shots x {dim}-d ({n // 2000} titles): generated in {time.perf_counter() - t0:.0f} s", flush=True)

    # Agreement below EXACT_MAX: production's flat (exact) path and the baseline must pick the same shots.
    m = min(check_n, EXACT_MAX, n)
    small = ShotVectors(shots.video_ids[:m], shots.shot_indices[:m], np.ascontiguousarray(shots.vectors[:m]))
    ref = candidate_arrays(small, K, small, DEFAULT_THRESHOLD, MIN_GAP)
    base = exact_candidates(small, np.arange(m), K, MIN_GAP, DEFAULT_THRESHOLD)
    agree = float(overlap(candidate_sets(ref, np.arange(m)), base).mean())
    print(f"agreement with production's exact path on the first {m:,} shots (flat index): {agree:.5f}")
    assert agree >= 0.999, "the baseline does not apply the production exclusions"
    del small, ref, base

    rng = np.random.default_rng(seed + 2)
    queries = np.sort(rng.choice(n, min(sample, n), replace=False))
    halves = (queries[0::2], queries[1::2])  # exact on half the sample before production, half after
    exact_parts, exact_s, exact_cpu = [], 0.0, 0.0
    for h, when in ((0, "before"), (None, None), (1, "after")):
        t0, c0 = time.perf_counter(), time.process_time()
        if h is None:
            c = candidate_arrays(shots, K, shots, DEFAULT_THRESHOLD, MIN_GAP)
            ours_s, ours_cpu, ours_load = time.perf_counter() - t0, time.process_time() - c0, load()
            continue
        exact_parts.append(exact_candidates(shots, halves[h], K, MIN_GAP, DEFAULT_THRESHOLD))
        exact_s += time.perf_counter() - t0
        exact_cpu += time.process_time() - c0
        print(f"  exact on {len(halves[h]):,} sampled shots {when} production: {time.perf_counter() - t0:.1f} s ({load()})", flush=True)
    exact = np.empty((len(queries), K), np.int64)
    exact[0::2], exact[1::2] = exact_parts
    check_rules(shots, c, K, MIN_GAP, DEFAULT_THRESHOLD)
    per = overlap(candidate_sets(c, queries), exact)
    scale_up = n / len(queries)
    exact_all_s, exact_all_cpu = exact_s * scale_up, exact_cpu * scale_up
    kind = "flat" if n <= EXACT_MAX else "ann"
    print(f"production candidate_arrays ({kind}, all {n:,} shots, index build included): {ours_s:.1f} s wall, "
          f"{ours_cpu:.0f} s CPU ({ours_load})")
    print(f"faiss exact + same exclusions on {len(queries):,} sampled shots: {exact_s:.1f} s wall, {exact_cpu:.0f} s CPU; "
          f"for all {n:,} (x{scale_up:.0f}, extrapolated): {exact_all_s:.0f} s wall, {exact_all_cpu:.0f} s CPU")
    print(f"recall against exact: {per.mean():.4f} ({int((per < 1).sum())} of {len(per):,} sampled shots miss one or more; "
          f"worst {per.min():.1f}); speed-up x{exact_all_s / ours_s:.2f} wall, x{exact_all_cpu / ours_cpu:.2f} CPU; "
          f"peak RSS {peak_rss_gib():.1f} GiB", flush=True)
    return {"shots": n, "dim": dim, "index": kind, "recall_vs_exact": float(per.mean()),
            "speedup_vs_faiss_exact": exact_all_s / ours_s, "speedup_cpu": exact_all_cpu / ours_cpu,
            "production_s": ours_s, "production_cpu_s": ours_cpu, "exact_sampled_s": exact_s,
            "exact_sampled_queries": int(len(queries)), "exact_all_s_extrapolated": exact_all_s,
            "agreement_below_exact_max": agree}


def warm_up(dim: int) -> None:
    """Run both paths once on a small catalog (IVF forced), so neither pays first-call costs in the timings."""
    from models.dedup import DEFAULT_THRESHOLD
    from reelhouse.search.match_cuts import candidate_arrays

    shots = scale_catalog(6000, dim, seed=99)
    candidate_arrays(shots, K, shots, DEFAULT_THRESHOLD, MIN_GAP, exact_max=2000)
    exact_candidates(shots, np.arange(200), K, MIN_GAP, DEFAULT_THRESHOLD)


def subset_query(work: Path, shots, titles: int) -> float:
    """Store ``titles`` titles of ``shots`` as the visual feature in Iceberg; worst wall time (s) of
    3 ``find_match_cuts`` over 10 picked titles."""
    import pyarrow as pa

    from reelhouse.config import Settings
    from reelhouse.features import specs
    from reelhouse.lakehouse import FeatureSlice, FeatureStore, new_run_id
    from reelhouse.lakehouse.schemas import table_def
    from reelhouse.search.match_cuts import find_match_cuts

    settings = Settings(home=work / "scale")
    store = FeatureStore.from_settings(settings)
    store.ensure_tables(["shot_embeddings", "media"])
    spec = specs.visual_spec(settings)
    schema = table_def("shot_embeddings").arrow_schema
    sub = pa.schema([schema.field(f) for f in ("shot_index", "model", "dim", "has_embedding", "embedding")])
    vids = list(dict.fromkeys(shots.video_ids.tolist()))[:titles]
    dim = shots.vectors.shape[1]
    t0 = time.perf_counter()
    batch: dict = {}
    for v in vids:
        rows = np.flatnonzero(shots.video_ids == v)
        emb = pa.FixedSizeListArray.from_arrays(pa.array(shots.vectors[rows].ravel(), pa.float32()), dim)
        batch[FeatureSlice(v, spec.name, spec.version)] = pa.table(
            {"shot_index": pa.array(shots.shot_indices[rows].astype(np.int32)), "model": pa.array(["visual"] * len(rows)),
             "dim": pa.array(np.full(len(rows), dim, np.int32)), "has_embedding": pa.array(np.ones(len(rows), bool)),
             "embedding": emb.cast(sub.field("embedding").type)}, schema=sub)
        if len(batch) == 20:
            store.replace_slices("shot_embeddings", batch, new_run_id())
            batch = {}
    if batch:
        store.replace_slices("shot_embeddings", batch, new_run_id())
    print(f"stored {len(vids)} titles ({sum(int((shots.video_ids == v).sum()) for v in vids):,} shots) in Iceberg "
          f"in {time.perf_counter() - t0:.0f} s")
    picked = [vids[i] for i in np.random.default_rng(3).choice(len(vids), min(10, len(vids)), replace=False)]
    timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        found = find_match_cuts(store, settings, picked, "visual", n_pairs=50)
        timings.append(time.perf_counter() - t0)
    assert {p.video_id for p in found.pairs} | {p.other_video_id for p in found.pairs} <= set(picked)
    print(f"find_match_cuts, 10 titles picked from {len(vids)} ({found.shots_compared:,} shots compared): "
          f"{min(timings):.2f} s best, {max(timings):.2f} s worst of 3 ({load()})")
    return max(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--seed", type=int, default=23, help="generator seed of the labelled catalog (evaluation)")
    parser.add_argument("--titles", type=int, default=6, help="labelled titles")
    parser.add_argument("--shots-per-title", type=int, default=12)
    parser.add_argument("--sizes", default="200000", help="comma-separated catalog sizes (shots) for the scale test")
    parser.add_argument("--dim", type=int, default=1280, help="vector dimension of the scale catalogs (framing: 1280)")
    parser.add_argument("--sample", type=int, default=2000, help="query shots the exact baseline runs on")
    parser.add_argument("--check-n", type=int, default=20_000, help="shots of the below-EXACT_MAX agreement check")
    parser.add_argument("--store-titles", type=int, default=0, help="titles stored in Iceberg for find_match_cuts (0: skip)")
    parser.add_argument("--skip-hubs", action="store_true", help="skip hubness on real clips and the generated catalog")
    parser.add_argument("--sheets", type=Path, default=Path("benchmarks/sheets"),
                        help="folder for the before/after match-cut sheets of the real titles")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    for n in sizes:
        need = 3 * n * args.dim * 4 / 2**30
        if need > 12:
            parser.error(f"{n:,} shots x {args.dim}-d needs about {need:.0f} GiB (three copies of the vectors); limit 12")
    work = Path(tempfile.mkdtemp(prefix="reelhouse-mc-"))
    started = time.perf_counter()
    figures: dict = {}
    try:
        generated = None
        if not args.skip_quality:
            found, generated = quality(work, args.titles, args.shots_per_title, args.seed)
            figures.update(found)
        if not args.skip_hubs:
            figures.update(hubs(work, args.sheets, generated))
        runs = []
        if not args.skip_scale:
            warm_up(args.dim)
            for n in sizes:
                runs.append(scale_one(n, args.dim, args.sample, args.check_n, seed=5))
            if args.store_titles:
                figures["subset_query_s"] = subset_query(work, scale_catalog(sizes[-1], args.dim, 5), args.store_titles)
        head = runs[-1] if runs else {}
        line = {"shots": head.get("shots"), "recall_vs_exact": head.get("recall_vs_exact"),
                "speedup_vs_faiss_exact": head.get("speedup_vs_faiss_exact")}
        for key in ("ap_framing", "ap_colour", "ap_layout", "ap_audio", "ap_random"):
            line[key] = figures.get(key)
        # Hubs (issue targets): real footage; the occupancy is CSLS's own, before the one-pair-per-shot cap
        # (with the cap it is at most 1/20 by construction: hub_occupancy_top20_served_real).
        line["hub_occupancy_top20_real"] = figures.get("hub_occupancy_top20_reranked_real")
        line["k_occurrence_skew_raw"] = figures.get("k_occurrence_skew_raw_real")
        line["k_occurrence_skew_reranked"] = figures.get("k_occurrence_skew_reranked_real")
        line["ap_framing_reranked"] = figures.get("ap_framing_reranked")
        line.update({k: v for k, v in figures.items() if k not in line})
        line["scale"] = runs
        line["eval_seed"], line["tune_seed"] = args.seed, TUNE_SEED
        line["peak_rss_gib"] = peak_rss_gib()
        line["wall_s"] = time.perf_counter() - started
        line["loadavg"] = list(os.getloadavg())

        def rounded(v):
            if isinstance(v, float):
                return round(v, 4)
            if isinstance(v, dict):
                return {k: rounded(x) for k, x in v.items()}
            if isinstance(v, list):
                return [rounded(x) for x in v]
            return v

        print(json.dumps(rounded(line)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
