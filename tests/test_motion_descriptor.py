"""The ``motion`` feature: the optical-flow direction descriptor (``models.visual.motion``) on textured
pictures moved by known amounts, its per-title job (``spark_jobs.shot_motion``) on a rendered title,
on Spark local[2], and what the registry derives from its one declaration."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pandas as pd
import pytest

from models.visual.motion import (
    MIN_MOTION_PX,
    MOTION_DIRECTIONS,
    MOTION_FPS,
    MOTION_GRID,
    MOTION_HEIGHT,
    MotionHistogram,
    frame_flow,
    motion_descriptor,
)

H, W = MOTION_HEIGHT, 128  # the size the job gives the model for a 16:9 title
DIM = MOTION_GRID[0] * MOTION_GRID[1] * MOTION_DIRECTIONS


def _panorama(rng: np.random.Generator, height: int = 220, width: int = 640) -> np.ndarray:
    """A large textured grey picture: smooth 6-pixel blobs plus fine grain."""
    coarse = rng.uniform(20, 235, size=(height // 6 + 1, width // 6 + 1))
    big = np.kron(coarse, np.ones((6, 6)))[:height, :width]
    return np.clip(big + rng.normal(0, 6, big.shape), 0, 255).astype(np.uint8)


def _window(big: np.ndarray, x: float, y: float, h: int = H, w: int = W) -> np.ndarray:
    """The ``h x w`` view of ``big`` whose top-left corner is at ``(x, y)`` (sub-pixel: bilinear)."""
    import cv2

    m = np.float32([[1, 0, -x], [0, 1, -y]])
    return cv2.warpAffine(big, m, (w, h), flags=cv2.INTER_LINEAR)


def _pan(seed: int, vx: float, vy: float, n: int = 8, noise: float = 0.0) -> np.ndarray:
    """A camera moving ``(vx, vy)`` pixels a frame over a texture: the content moves ``(-vx, -vy)``."""
    rng = np.random.default_rng(seed)
    big = _panorama(rng)
    x0, y0 = big.shape[1] / 2 - W / 2, big.shape[0] / 2 - H / 2
    frames = np.stack([_window(big, x0 + vx * k, y0 + vy * k) for k in range(n)])
    if noise:  # independent grain on every frame, as sensor noise or compression leave
        frames = np.clip(frames + rng.normal(0, noise, frames.shape), 0, 255).astype(np.uint8)
    return frames


def _zoom(seed: int, rate: float, n: int = 8) -> np.ndarray:
    """A camera zooming about the picture's centre by ``rate`` a frame (> 1: in, content grows outward)."""
    import cv2

    big = _panorama(np.random.default_rng(seed))
    cy, cx = big.shape[0] / 2, big.shape[1] / 2
    out = []
    for k in range(n):
        scale = 1.6 / rate**k  # the view spans 1.6 frames of texture at first
        h2, w2 = H * scale / 2, W * scale / 2
        crop = big[round(cy - h2):round(cy + h2), round(cx - w2):round(cx + w2)]
        out.append(cv2.resize(crop, (W, H), interpolation=cv2.INTER_AREA))
    return np.stack(out)


def _cells(v: np.ndarray) -> np.ndarray:
    return v.reshape(MOTION_GRID[0] * MOTION_GRID[1], MOTION_DIRECTIONS)


# The model ----------------------------------------------------------------------------------------
def test_flow_measures_a_known_shift_in_image_axes() -> None:
    big = _panorama(np.random.default_rng(0))
    a, b = _window(big, 200, 60), _window(big, 197, 62)  # camera left 3 and down 2: content right 3, up 2
    flow = frame_flow(a, b)
    assert flow.shape == (H, W, 2) and flow.dtype == np.float32
    inner = flow[12:-12, 12:-12].reshape(-1, 2)
    np.testing.assert_allclose(np.median(inner, axis=0), [3.0, -2.0], atol=0.2)
    np.testing.assert_array_equal(flow, frame_flow(a, b))  # deterministic


def test_pans_in_one_direction_agree_over_different_textures_and_speeds() -> None:
    content_right_2, content_right_4 = motion_descriptor(_pan(1, -2, 0)), motion_descriptor(_pan(2, -4, 0))
    content_left_2, content_left_3 = motion_descriptor(_pan(3, 2, 0)), motion_descriptor(_pan(4, 3.5, 0, noise=3))
    assert float(content_right_2 @ content_right_4) > 0.8
    assert float(content_left_2 @ content_left_3) > 0.8
    assert float(content_right_2 @ content_left_2) < 0.2 and float(content_right_4 @ content_left_3) < 0.2
    # The documented convention: bin 0 is content moving right, bin 2 down, 4 left, 6 up; every cell agrees.
    up, down = motion_descriptor(_pan(5, 0, 3)), motion_descriptor(_pan(6, 0, -3))
    for v, k in ((content_right_2, 0), (down, 2), (content_left_2, 4), (up, 6)):
        assert (_cells(v).argmax(axis=1) == k).all(), (k, _cells(v).round(2))
    assert float(up @ down) < 0.2 and float(up @ content_left_2) < 0.2


def test_zoom_in_and_zoom_out_point_opposite_ways_in_every_outer_cell() -> None:
    zoom_in, zoom_in_faster, zoom_out = (motion_descriptor(_zoom(7, 1.04)), motion_descriptor(_zoom(8, 1.06)),
                                         motion_descriptor(_zoom(9, 1 / 1.04)))
    assert float(zoom_in @ zoom_in_faster) > 0.8
    assert float(zoom_in @ zoom_out) < 0.2
    pan = motion_descriptor(_pan(1, -2, 0))
    assert float(zoom_in @ pan) < 0.5  # a zoom is no pan
    # Zooming in, the top-left cell's content moves up-left (bin 5), the bottom-right's down-right (bin 1).
    assert _cells(zoom_in)[0].argmax() in (4, 5, 6) and _cells(zoom_in)[-1].argmax() in (0, 1, 2)
    assert _cells(zoom_out)[0].argmax() in (0, 1, 2) and _cells(zoom_out)[-1].argmax() in (4, 5, 6)


def test_static_and_one_frame_shots_are_absent_and_a_slow_pan_is_not() -> None:
    still = _pan(10, 0, 0, noise=6)  # a still picture under strong grain: flow of a few hundredths of a pixel
    one = _pan(11, 2, 0, n=1)
    slow = _pan(12, 0.5, 0)  # half a pixel a sampled frame: about 3 px/s at 72 px high
    for frames in (still, one, still[:0]):
        v = motion_descriptor(frames)
        assert v.dtype == np.float32 and v.shape == (DIM,) and not v.any()
    moving = motion_descriptor(slow)
    assert abs(float(np.linalg.norm(moving)) - 1) < 1e-5 and (_cells(moving).argmax(axis=1) == 4).all()
    acc = MotionHistogram()
    for f in still:
        acc.push(f)
    assert acc.pairs == len(still) - 1 and acc.mean_magnitude() < MIN_MOTION_PX / 2
    assert not motion_descriptor(slow, min_motion_px=1.0).any()  # the threshold decides


def test_descriptor_shape_norm_rgb_and_options() -> None:
    frames = _pan(13, 2, 1)
    v = motion_descriptor(frames)
    assert v.dtype == np.float32 and v.shape == (DIM,) and abs(float(np.linalg.norm(v)) - 1) < 1e-5 and (v >= 0).all()
    rgb = np.repeat(frames[..., None], 3, axis=-1)  # grey RGB has the same luma
    np.testing.assert_allclose(motion_descriptor(rgb), v, atol=1e-6)
    assert motion_descriptor(frames, grid=(2, 4), directions=4).shape == (2 * 4 * 4,)
    # Twice the height: twice the pixels of motion, and a threshold that scales with the height.
    big = np.stack([np.kron(f, np.ones((2, 2), np.uint8)) for f in _pan(14, 0.5, 0)])
    assert motion_descriptor(big).any() and not motion_descriptor(np.stack([np.kron(f, np.ones((2, 2), np.uint8))
                                                                             for f in _pan(15, 0, 0, noise=6)])).any()


@pytest.mark.parametrize("bad", [
    np.zeros((4, H, W), np.float32),  # not uint8
    np.zeros((H, W), np.uint8),  # one frame, no N axis
    np.zeros((4, H, W, 4), np.uint8),  # not RGB
    np.zeros((4, 6, W), np.uint8),  # too small for the flow
])
def test_bad_frames_raise(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        motion_descriptor(bad)


def test_bad_options_and_flow_inputs_raise() -> None:
    frames = _pan(16, 1, 0, n=2)
    for kwargs in ({"grid": (0, 3)}, {"directions": 1}, {"min_motion_px": -1.0}):
        with pytest.raises(ValueError):
            motion_descriptor(frames, **kwargs)
    with pytest.raises(ValueError):
        frame_flow(frames[0], frames[1][:, :-2])
    with pytest.raises(ValueError):
        frame_flow(frames[0].astype(np.float32), frames[1])
    acc = MotionHistogram()
    acc.push(frames[0])
    with pytest.raises(ValueError, match="size changed"):
        acc.push(frames[1][:, :-2])


# The job ------------------------------------------------------------------------------------------
ENC_FPS, ENC_W, ENC_H = 24.0, 256, 144
#: ``(frames, camera velocity (vx, vy) in encode pixels per encode frame, texture seed)``; at 6 samples a
#: second and 72 px high, 2 px a frame is 4 px a sampled frame. Shot 3 is shorter than one sample step.
SHOTS = [(24, (0, 0), 20), (36, (-2, 0), 21), (36, (2, 0), 22), (3, (-2, 0), 23), (24, (-1.5, 0), 24)]
HAS_MOTION = [False, True, True, False, True]


def _render_title(path) -> list[tuple[int, int]]:
    """Encode the ``SHOTS`` title as H.264 MP4; returns each shot's ``[start, end)`` frames."""
    stream_frames, bounds, start = [], [], 0
    for n, (vx, vy), seed in SHOTS:
        big = _panorama(np.random.default_rng(seed), 300, 700)
        x0, y0 = 700 / 2 - ENC_W / 2, 300 / 2 - ENC_H / 2
        for k in range(n):
            grey = _window(big, x0 + vx * k, y0 + vy * k, ENC_H, ENC_W)
            stream_frames.append(np.repeat(grey[..., None], 3, axis=-1))
        bounds.append((start, start + n))
        start += n
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=Fraction(int(ENC_FPS)))
        video.width, video.height, video.pix_fmt = ENC_W, ENC_H, "yuv420p"
        video.options = {"crf": "18", "preset": "veryfast", "g": "24"}
        for rgb in stream_frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(video.encode())
    return bounds


@pytest.fixture(scope="module")
def title(tmp_path_factory):
    path = tmp_path_factory.mktemp("motion") / "title.mp4"
    bounds = _render_title(path)
    encode = {"uri": path.as_uri(), "width": ENC_W, "height": ENC_H, "fps": ENC_FPS}
    return encode, bounds


def _shots_frame(bounds: list[tuple[int, int]]) -> pd.DataFrame:
    return pd.DataFrame({"shot_index": range(len(bounds)), "start_frame": [a for a, _ in bounds],
                         "end_frame": [b for _, b in bounds]})


def _check_rows(rows: list[dict]) -> dict[int, np.ndarray]:
    assert [r["shot_index"] for r in sorted(rows, key=lambda r: r["shot_index"])] == list(range(len(SHOTS)))
    vectors = {}
    for r in rows:
        v = np.asarray(r["embedding"], dtype=np.float32)
        assert r["dim"] == DIM and v.shape == (DIM,) and r["model"] == "opencv-farneback"
        assert r["has_embedding"] == HAS_MOTION[r["shot_index"]], r["shot_index"]
        assert abs(float(np.linalg.norm(v)) - 1) < 1e-4 if r["has_embedding"] else not v.any()
        vectors[r["shot_index"]] = v
    assert float(vectors[1] @ vectors[4]) > 0.8  # both: content moving right, other textures and speeds
    assert float(vectors[1] @ vectors[2]) < 0.2  # right against left
    return vectors


def test_title_rows_one_per_shot_without_spark(title, settings) -> None:
    from reelhouse.features.specs import motion_spec
    from spark_jobs.shot_motion import title_motion_rows

    encode, bounds = title
    shots = _shots_frame(bounds).iloc[::-1]  # any order
    table = title_motion_rows(encode, shots, motion_spec(settings), {})
    assert [str(t) for t in table.schema.types] == ["int32", "string", "int32", "bool", "list<item: float>"]
    assert table.column_names == ["shot_index", "model", "dim", "has_embedding", "embedding"]
    _check_rows(table.to_pylist())
    spec = motion_spec(settings)
    assert spec.params["fps"] == MOTION_FPS and spec.params["height"] == MOTION_HEIGHT


@pytest.mark.slow
def test_step_on_spark_local_writes_checked_rows_and_memoizes(title, store, settings) -> None:
    from reelhouse.features.specs import encode_spec, motion_spec, shots_spec
    from reelhouse.lakehouse import FeatureSlice, new_run_id
    from reelhouse.quality.checks import embedding_contracts, embedding_dims_and_norms, one_row_per_shot
    from spark_jobs.shot_motion import motion_titles

    encode, bounds = title
    vid = "d" * 32
    enc = encode_spec(settings)
    store.replace_slice("encodes", FeatureSlice(vid, enc.name, enc.version), [{
        **encode, "frame_count": bounds[-1][1], "duration_s": bounds[-1][1] / ENC_FPS, "has_audio": False,
        "size_bytes": 1, "recipe_json": "{}"}], new_run_id())
    shots = shots_spec(settings)
    store.replace_slice("shots", FeatureSlice(vid, shots.name, shots.version), [
        {"shot_index": i, "start_frame": a, "end_frame": b, "start_s": a / ENC_FPS, "end_s": b / ENC_FPS, "fps": ENC_FPS,
         "transition": "cut", "confidence": 1.0, "detector": "test@1"} for i, (a, b) in enumerate(bounds)], new_run_id())

    spec = motion_spec(settings)
    [outcome] = motion_titles(settings, store, [vid], new_run_id())
    assert (outcome.feature, outcome.feature_version, outcome.memoized, outcome.rows) == ("motion", spec.version, False,
                                                                                          len(SHOTS))
    _check_rows(store.read_slice("shot_embeddings", FeatureSlice(vid, spec.name, spec.version)).to_pylist())
    assert one_row_per_shot(store, settings, vid, spec).passed
    contract = embedding_contracts(settings)["motion"]
    assert (contract.dim, contract.absent_as) == (DIM, "zeros")
    assert embedding_dims_and_norms(store, vid, contract).passed
    [again] = motion_titles(settings, store, [vid], new_run_id())
    assert again.memoized


# The registry -------------------------------------------------------------------------------------
def test_the_registry_derives_the_flavor_the_asset_and_its_checks(settings) -> None:
    import dagster as dg

    from dagster_project.checks import TITLE_CHECKS
    from dagster_project.definitions import defs
    from reelhouse.cli import build_parser
    from reelhouse.features import registry
    from reelhouse.search.match_cuts import FLAVORS

    assert registry.problems(settings) == []
    assert "motion" in registry.flavors() and "motion" in registry.searchable() and "motion" in FLAVORS
    assert "motion" not in registry.modalities()
    assert [f.name for f in registry.computed_together("motion")] == ["motion"]
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("motion"))
    assert node.group_name == "embeddings" and {k.to_user_string() for k in node.parent_keys} == {"shots"}
    checks = {k.name for d in TITLE_CHECKS for k in d.check_keys if k.asset_key == dg.AssetKey("motion")}
    assert checks == {"one_row_per_shot", "dims_and_norms", "is_current"}
    assert build_parser().parse_args(["match-cuts", "--titles", "a", "--flavor", "motion"]).flavor == "motion"
