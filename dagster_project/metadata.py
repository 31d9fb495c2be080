"""What each materialization shows in the Dagster UI: rows, versions, snapshot ids, timings and previews.

Reads only (through the feature store); the pictures come from ``reelhouse.viz.previews``.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

import dagster as dg

from reelhouse.features import FeatureSpec
from reelhouse.features.outcome import StageOutcome
from reelhouse.lakehouse import FeatureSlice, FeatureStore
from reelhouse.lakehouse.title_reads import TitleReads
from reelhouse.viz.previews import histogram_png, line_png, thumbnail_grid_png

#: At most this many representative frames in a shot_frames preview.
PREVIEW_FRAMES = 24


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG shown inline in the UI (markdown with a data URI)."""
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})")


def slice_rows(store: TitleReads, table: str, slice_: FeatureSlice) -> int:
    """Rows the slice holds (reads one column)."""
    return store.slice_table(table, slice_, ("video_id",)).num_rows


def outcome_metadata(store: TitleReads, spec: FeatureSpec, outcome: StageOutcome, compute_s: float) -> dict[str, Any]:
    """Common metadata: memoized or not, rows in the slice, rows written, version, snapshot, wall time."""
    slice_ = FeatureSlice(outcome.video_id, spec.name, spec.version)
    meta: dict[str, Any] = {
        "memoized": outcome.memoized,
        "rows": slice_rows(store, spec.table, slice_),
        "rows_written": outcome.rows,
        "feature": spec.name,
        "feature_version": outcome.feature_version,
        "table": spec.table,
        "compute_s": round(compute_s, 3),
        "iceberg_snapshot_id": dg.MetadataValue.text(str(store.snapshot_id(spec.table) if outcome.memoized else outcome.snapshot_id)),
    }
    return meta


def shots_metadata(store: TitleReads, spec: FeatureSpec, video_id: str) -> dict[str, Any]:
    """Shot count, title duration, shot-length statistics and a shot-length histogram."""
    rows = store.slice_table(spec.table, FeatureSlice(video_id, spec.name, spec.version), ("start_s", "end_s", "transition"))
    if rows.num_rows == 0:
        return {}
    start, end = rows.column("start_s").to_pylist(), rows.column("end_s").to_pylist()
    lengths = sorted(e - s for s, e in zip(start, end))
    gradual = sum(t == "gradual" for t in rows.column("transition").to_pylist())
    return {
        "shots": len(lengths),
        "gradual_transitions": gradual,
        "title_duration_s": round(max(end), 3),
        "median_shot_s": round(lengths[len(lengths) // 2], 3),
        "shot_length_histogram": png_markdown(histogram_png(lengths, "shot length", "s"), "shot-length histogram"),
    }


def shot_frames_metadata(store: TitleReads, spec: FeatureSpec, video_id: str) -> dict[str, Any]:
    """A contact-sheet preview: the first representative frame of up to ``PREVIEW_FRAMES`` shots."""
    rows = store.slice_table(spec.table, FeatureSlice(video_id, spec.name, spec.version),
                             ("shot_index", "rank", "t_s", "thumbnail"))
    firsts = sorted((r for r in rows.to_pylist() if r["rank"] == 1), key=lambda r: r["shot_index"])
    if not firsts:
        return {}
    step = max(1, -(-len(firsts) // PREVIEW_FRAMES))
    shown = firsts[::step][:PREVIEW_FRAMES]
    png = thumbnail_grid_png([r["thumbnail"] for r in shown], [f"#{r['shot_index']} {r['t_s']:.1f}s" for r in shown],
                             title=f"{len(firsts)} shots" + (f", every {step}th shown" if step > 1 else ""))
    return {"contact_sheet": png_markdown(png, "representative frames")}


def match_cut_preview(store: FeatureStore, settings, flavor: str = "visual", pairs: int = 6, titles: int = 4) -> dict[str, Any]:
    """Before/after match-cut sheets for the same titles (the first ``titles`` with stored candidates):
    ranked by raw cosine with no limit per shot, and as served (CSLS, each shot at most once)."""
    from pyiceberg.expressions import And, EqualTo

    from reelhouse.features import specs
    from reelhouse.search.match_cuts import find_match_cuts
    from reelhouse.search.shot_lookup import cut_pictures
    from reelhouse.viz.match_sheet import match_cut_sheet_png, search_heading

    spec = specs.match_cuts_spec(settings, flavor)
    held = store.read("match_cuts", And(EqualTo("feature", spec.name), EqualTo("feature_version", spec.version)),
                      selected_fields=("video_id",)).column("video_id").to_pylist()
    picked = sorted(set(held))[:titles]
    if not picked:
        return {}
    out = {}
    for name, rank_by, per_shot in (("before", "cosine", None), ("after", "csls", 1)):
        found = find_match_cuts(store, settings, picked, flavor, n_pairs=pairs, rank_by=rank_by, max_per_shot=per_shot)
        png = match_cut_sheet_png(cut_pictures(store, settings, found.pairs), search_heading(found))
        out[f"{flavor}_match_cuts_{name}"] = png_markdown(png, f"{flavor} match cuts, {name} hub-aware ranking")
    return out


def training_metadata(outcome, compute_s: float) -> dict[str, Any]:
    """What training the contextual encoder did (a ``reelhouse.pipeline.contextual.TrainingOutcome``),
    with its loss curve when it trained now."""
    meta: dict[str, Any] = {
        "content_version": outcome.content_version, "memoized": outcome.memoized, "titles": outcome.titles,
        "shots": outcome.shots, "steps": outcome.steps, "final_loss": round(outcome.final_loss, 5),
        "train_shots_per_s": round(outcome.train_shots_per_s, 1), "device": outcome.device,
        "resumed_from_step": outcome.resumed_from_step, "compute_s": round(compute_s, 3),
        "training_snapshots": dg.MetadataValue.json({k: str(v) for k, v in outcome.training_snapshots.items()}),
    }
    if outcome.losses:
        meta["loss_curve"] = png_markdown(line_png(outcome.losses, "masked-shot loss", "steps"), "training loss")
    return meta


#: At most this many titles listed in a batch run's per-title metadata.
PER_TITLE_LISTED = 500


def batch_metadata(store: FeatureStore, spec: FeatureSpec, outcomes: list[StageOutcome], compute_s: float) -> dict[str, Any]:
    """Metadata of a run over several titles: totals, and one line per title (rows written, memoized).

    Dagster records it on each title's partition; the per-title line says what the run did to that one.
    """
    computed = [o for o in outcomes if not o.memoized]
    snapshots = {o.snapshot_id for o in computed if o.snapshot_id is not None}
    return {
        "titles": len(outcomes),
        "titles_computed": len(computed),
        "memoized": not computed,
        "rows_written": sum(o.rows for o in computed),
        "feature": spec.name,
        "feature_version": spec.version,
        "table": spec.table,
        "compute_s": round(compute_s, 3),
        "iceberg_snapshot_id": dg.MetadataValue.text(str(max(snapshots) if snapshots else store.snapshot_id(spec.table))),
        "per_title": dg.MetadataValue.json({o.video_id: {"rows_written": o.rows, "memoized": o.memoized}
                                            for o in outcomes[:PER_TITLE_LISTED]}),
    }


def scenes_metadata(store: TitleReads, spec: FeatureSpec, video_id: str) -> dict[str, Any]:
    """Scene and chapter counts, a scene-length histogram and the scene strip: the first representative frame
    of each scene, labelled with its chapter, scene, shots and start."""
    from reelhouse.features.rows import first_frame_thumbnails
    from reelhouse.search.scenes import title_scenes
    from reelhouse.viz.scene_strip import scene_strip_png

    rows = store.slice_table(spec.table, FeatureSlice(video_id, spec.name, spec.version),
                             ("level", "group_index", "start_shot", "end_shot", "start_s", "end_s", "start_scene", "end_scene"))
    if rows.num_rows == 0:
        return {}
    found = title_scenes(video_id, spec.version, rows.to_pylist())
    thumbs = first_frame_thumbnails(store, next(s for s in spec.lineage() if s.name == "shot_frames"), video_id)
    lengths = [s.end_s - s.start_s for s in found.scenes]
    out: dict[str, Any] = {"scenes": len(found.scenes), "chapters": len(found.chapters),
                           "median_scene_s": round(sorted(lengths)[len(lengths) // 2], 3),
                           "scene_length_histogram": png_markdown(histogram_png(lengths, "scene length", "s"), "scene lengths")}
    if thumbs:
        out["scene_strip"] = png_markdown(scene_strip_png(found, thumbs), "first frame of each scene")
    return out


def artwork_metadata(store: TitleReads, spec: FeatureSpec, video_id: str) -> dict[str, Any]:
    """The artwork candidates as a sheet, best first, and their count."""
    from reelhouse.features.rows import frame_thumbnails
    from reelhouse.search.artwork import artwork_sheet_png, candidates_from_rows

    found = candidates_from_rows(store.slice_table(spec.table, FeatureSlice(video_id, spec.name, spec.version), (
        "rank", "shot_index", "frame_index", "time_s", "score", "scene_index")).to_pylist())
    if not found:
        return {"candidates": 0}
    thumbs = frame_thumbnails(store, next(s for s in spec.upstream if s.name == "shot_frames"), video_id)
    png = artwork_sheet_png(found, thumbs, f"{video_id[:12]}: {len(found)} artwork candidates")
    return {"candidates": len(found), "artwork_sheet": png_markdown(png, "artwork candidates")}


def regions_metadata(store: TitleReads, spec: FeatureSpec, video_id: str) -> dict[str, Any]:
    """Region counts, and up to 12 frames with regions, their boxes drawn."""
    from reelhouse.features.rows import frame_thumbnails
    from reelhouse.viz.regions import frames_with_boxes_png

    rows = store.slice_table(spec.table, FeatureSlice(video_id, spec.name, spec.version),
                             ("shot_index", "frame_index", "label", "x0", "y0", "x1", "y1", "score")).to_pylist()
    found = [r for r in rows if r["label"] != "none"]
    out: dict[str, Any] = {"frames": len({(r["shot_index"], r["frame_index"]) for r in rows}), "regions": len(found),
                           "frames_with_regions": len({(r["shot_index"], r["frame_index"]) for r in found})}
    if found:
        [frames] = spec.upstream
        out["regions_sheet"] = png_markdown(frames_with_boxes_png(found, frame_thumbnails(store, frames, video_id)),
                                            "regions found")
    return out


def catalog_feature_metadata(store: FeatureStore, spec: FeatureSpec, outcomes: list[StageOutcome], compute_s: float,
                             computed_key: str = "titles_computed") -> dict[str, Any]:
    """What a catalog-wide feature's run did (contextual embeddings, tags): titles, how many were computed
    (under ``computed_key``) rather than memoized, rows written, and the table's snapshot after it."""
    computed = [o for o in outcomes if not o.memoized]
    return {"feature": spec.name, "feature_version": spec.version, "titles": len(outcomes), computed_key: len(computed),
            "memoized": not computed, "rows_written": sum(o.rows for o in computed), "compute_s": round(compute_s, 3),
            "iceberg_snapshot_id": dg.MetadataValue.text(str(store.snapshot_id(spec.table)))}


def tag_training_metadata(training, compute_s: float) -> dict[str, Any]:
    """What training the tag probes did (a ``reelhouse.pipeline.tags.TagTraining``): per tag, its labelled
    shots, the regularization chosen and its cross-validated average precision over titles."""
    lines = ["| tag | positives | negatives | C | cross-validated AP |", "| --- | ---: | ---: | ---: | ---: |"]
    for tag, t in training.per_tag.items():
        cv = "n/a" if t["cv_ap"] is None else f"{t['cv_ap']:.3f}"
        lines.append(f"| {tag} | {t['positives']} | {t['negatives']} | {t['c']} | {cv} |")
    return {"content_version": training.content_version, "memoized": training.memoized, "titles": training.titles,
            "shots": training.shots, "tags": len(training.per_tag), "labels_digest": training.labels_digest,
            "per_tag": dg.MetadataValue.md("\n".join(lines)), "compute_s": round(compute_s, 3)}


@functools.cache
def _blank_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (128, 72), (24, 24, 24)).save(out, format="PNG")
    return out.getvalue()


def tag_top_shots(store: FeatureStore, settings, per_tag: int = 6, tags: int = 8) -> dict[str, Any]:
    """A sheet of the catalog's best-scoring shots for each tag (up to ``tags`` tags, ``per_tag`` shots
    each, one row per tag), from their first representative frames."""
    from reelhouse.features.rows import first_frame_thumbnails
    from reelhouse.features.specs import shot_frames_spec
    from reelhouse.search.tags import probe_set, search_tag

    frames = shot_frames_spec(settings)
    thumbs: dict[str, dict[int, bytes]] = {}
    images, labels = [], []
    for info in probe_set(settings).tags[:tags]:
        row = 0
        for hit in search_tag(store, settings, info.tag, per_tag):
            if hit.video_id not in thumbs:
                thumbs[hit.video_id] = first_frame_thumbnails(store, frames, hit.video_id)
            jpeg = thumbs[hit.video_id].get(hit.shot_index)
            if jpeg is not None:
                images.append(jpeg)
                labels.append(f"{info.tag[:14]} {hit.score:.2f}")
                row += 1
        while row and row < per_tag:  # keep one row per tag
            images.append(_blank_png())
            labels.append("")
            row += 1
    if not images:
        return {}
    png = thumbnail_grid_png(images, labels, columns=per_tag, title="best-scoring shots per tag (first frame)")
    return {"top_shots_per_tag": png_markdown(png, "best-scoring shots per tag")}
