"""Frame access: RGB uint8 ``(H, W, 3)`` frames by decoded order, on a constant-rate grid, or at
given timestamps."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import av
import av.video.reformatter
import av.container
import av.video.stream
import numpy as np

from reelhouse.media._container import decode_video, first_video_frame, open_input, rotation_cw, select_video_stream
from reelhouse.media._geometry import coded_target, upright
from reelhouse.media._timeline import CfrResampler
from reelhouse.media.errors import CorruptMediaError

#: ``frames_at`` seeks instead of decoding forward when the next timestamp is this far ahead (s).
SEEK_GAP_S = 5.0


@dataclass(frozen=True)
class Frame:
    """One picture.

    Attributes:
        index: 0-based position in the file's decoded-frame order, or on the ``fps`` grid when
            resampling (grid frame ``index`` is at ``index / fps`` seconds).
        t_s: presentation time in seconds from the start of the video stream (``index / fps`` on a grid).
        rgb: ``uint8`` array ``(H, W, 3)``, RGB.
    """

    index: int
    t_s: float
    rgb: np.ndarray


class _Converter:
    """Turns decoded frames into RGB arrays of one size and orientation, converting each frame once."""

    def __init__(self, size: tuple[int, int] | None, rotation: int) -> None:
        self.size = size
        self.rotation = rotation
        self._last: tuple[av.VideoFrame | None, np.ndarray | None] = (None, None)
        # One swscale context for the whole stream: building one per frame (what
        # ``VideoFrame.to_ndarray(width=, height=)`` does) costs more than the scaling itself.
        self._scaler = av.video.reformatter.VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        if self._last[0] is frame:
            return self._last[1]  # type: ignore[return-value]
        if self.size is None:
            rgb = self._scaler.reformat(frame, format="rgb24").to_ndarray()
        else:
            w, h = coded_target(*self.size, self.rotation)
            rgb = self._scaler.reformat(frame, width=w, height=h, format="rgb24").to_ndarray()
        rgb = upright(rgb, self.rotation)
        self._last = (frame, rgb)
        return rgb


def _open_video(
    path: str | os.PathLike[str], apply_rotation: bool, skip_loop_filter: bool = False
) -> tuple[av.container.InputContainer, av.video.stream.VideoStream, int]:
    container = open_input(path)
    try:
        stream = select_video_stream(container)
        if skip_loop_filter:  # a decoder option: it must be set before the first decode opens the codec
            stream.codec_context.options = {**stream.codec_context.options, "skip_loop_filter": "all"}
        rotation = rotation_cw(first_video_frame(container, stream)) if apply_rotation else 0
    except BaseException:
        container.close()
        raise
    return container, stream, rotation


def iter_frames(
    path: str | os.PathLike[str],
    size: tuple[int, int] | None = None,
    fps: float | None = None,
    start_s: float = 0.0,
    end_s: float | None = None,
    apply_rotation: bool = False,
    skip_loop_filter: bool = False,
) -> Iterator[Frame]:
    """Decode frames in ``[start_s, end_s)`` with threaded decoding.

    Without ``fps`` every decoded frame is yielded with its exact index in the file's decoded
    order (the file is decoded from its start to count them). With ``fps`` the stream is resampled
    to a constant rate: grid frame ``k`` (``k / fps >= start_s``) shows the latest source frame
    with time ``<= k / fps``; decoding starts from the keyframe before ``start_s``.

    Args:
        path: media file.
        size: ``(width, height)`` of the output (after rotation); scaled by FFmpeg's swscale.
            ``None`` keeps the decoded size.
        fps: output frame rate for constant-rate resampling, or ``None`` for decoded frames.
        start_s: first time (s) to include.
        end_s: end time (s, exclusive), or ``None`` for the end of the stream.
        apply_rotation: turn frames upright using the display rotation (raw sources; the
            standardized encode is already upright).
        skip_loop_filter: skip the decoder's in-loop deblocking filter (H.264, HEVC): about
            15% faster decoding, at the cost of faint block edges that build up until the next
            keyframe. Meant for analysis at thumbnail sizes (shot detection), where downscaling
            hides them; not for frames anyone looks at.

    Yields:
        :class:`Frame` objects in time order.

    Raises:
        ValueError: bad ``fps``, ``size`` or time range.
        MediaError: the file is unusable.
    """
    if fps is not None and fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if size is not None and (size[0] <= 0 or size[1] <= 0):
        raise ValueError(f"size must be positive (width, height), got {size}")
    if start_s < 0 or (end_s is not None and end_s <= start_s):
        raise ValueError(f"need 0 <= start_s < end_s, got start_s={start_s}, end_s={end_s}")
    container, stream, rotation = _open_video(path, apply_rotation, skip_loop_filter)
    convert = _Converter(size, rotation)
    with container:
        if fps is None:
            for index, (t, _, frame) in enumerate(decode_video(container, stream)):
                if end_s is not None and t >= end_s:
                    break
                if t >= start_s:
                    yield Frame(index, t, convert(frame))
            return
        if start_s > 0:
            _seek(container, stream, start_s)
        grid = CfrResampler[av.VideoFrame](fps, CfrResampler.first_index_at(start_s, fps), end_s)
        for t, dur, frame in decode_video(container, stream):
            for k, tk, f in grid.push(t, dur, frame):
                yield Frame(k, tk, convert(f))
            if grid.done:
                return
        for k, tk, f in grid.finish():
            yield Frame(k, tk, convert(f))


def frames_at(
    path: str | os.PathLike[str],
    timestamps_s: Sequence[float] | np.ndarray,
    size: tuple[int, int] | None = None,
    apply_rotation: bool = False,
) -> np.ndarray:
    """The frames shown at the given times: for each time, the latest frame with time ``<= t``.

    Timestamps are visited in sorted order in one forward decode; the decoder seeks only when the
    next timestamp is more than ``SEEK_GAP_S`` ahead. Times before the first frame give the first
    frame, times after the last give the last.

    Args:
        path: media file.
        timestamps_s: times in seconds from the start of the video stream, any order.
        size: ``(width, height)`` of the output, or ``None`` for the decoded size of the first frame.
        apply_rotation: turn frames upright using the display rotation.

    Returns:
        ``uint8`` array ``(N, H, W, 3)`` in the order of ``timestamps_s``.

    Raises:
        MediaError: the file is unusable.
    """
    ts = np.asarray(timestamps_s, dtype=np.float64).reshape(-1)
    order = np.argsort(ts, kind="stable")
    container, stream, rotation = _open_video(path, apply_rotation)
    with container:
        if size is None:
            first = first_video_frame(container, stream)
            size = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        convert = _Converter(size, rotation)
        out = np.empty((ts.size, size[1], size[0], 3), dtype=np.uint8)
        j = 0
        prev: tuple[float, av.VideoFrame] | None = None
        frames = decode_video(container, stream)
        seeked_for = -1
        while j < ts.size:
            target = ts[order[j]]
            if prev is not None and target - prev[0] > SEEK_GAP_S and seeked_for != j:
                frames.close()
                _seek(container, stream, target)
                frames, prev, seeked_for = decode_video(container, stream), None, j
                continue
            item = next(frames, None)
            if item is None:
                break
            t, _, frame = item
            while j < ts.size and ts[order[j]] < t:
                out[order[j]] = convert(prev[1] if prev is not None else frame)
                j += 1
            prev = (t, frame)
        frames.close()
        if j < ts.size:
            if prev is None:
                raise CorruptMediaError("no video frame decodes", str(path))
            out[order[j:]] = convert(prev[1])
    return out


def _seek(container: av.container.InputContainer, stream: av.video.stream.VideoStream, t_s: float) -> None:
    """Seek to the keyframe at or before ``t_s`` (seconds from the stream start)."""
    tb = stream.time_base
    start = stream.start_time or 0
    container.seek(start + int(t_s / tb), stream=stream, backward=True)
