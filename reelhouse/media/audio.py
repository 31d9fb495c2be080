"""Audio access: mono float32 PCM in [-1, 1] at a requested rate, whole or streamed in chunks."""

from __future__ import annotations

import os
from collections.abc import Iterator

import av
import av.audio.stream
import av.container
import numpy as np

from reelhouse.media._container import open_input
from reelhouse.media.errors import UndecodableAudioError


class AudioDecodeTally:
    """Decides when an audio stream's decode failures make it unusable.

    Isolated bad packets are tolerated (they happen in real files); the stream is declared
    undecodable once at least ``min_errors`` packets failed and failures outnumber successes,
    or when it ends having produced no samples at all.
    """

    def __init__(self, stream: av.audio.stream.AudioStream, min_errors: int = 8) -> None:
        self.stream = stream
        self.min_errors = min_errors
        self.packets = 0
        self.errors = 0
        self.frames = 0
        self.last_error = ""

    def decode(self, packet: av.Packet | None) -> list[av.AudioFrame]:
        """Decode one packet (``None`` flushes); count failures and raise when the stream is hopeless.

        Raises:
            UndecodableAudioError: the failure policy above is met.
        """
        if packet is not None:
            self.packets += 1
        try:
            frames = self.stream.decode(packet)
        except av.FFmpegError as exc:
            self.errors += 1
            self.last_error = exc.strerror or str(exc)
            if self.errors >= self.min_errors and self.errors * 2 > self.packets:
                raise self._error("most packets fail to decode") from exc
            return []
        self.frames += len(frames)
        return frames

    def finish(self) -> None:
        """Raise if decode attempts ended with errors and no audio at all."""
        if self.frames == 0 and self.errors > 0:
            raise self._error("no packet decoded")

    def _error(self, what: str) -> UndecodableAudioError:
        s = self.stream
        return UndecodableAudioError(
            f"audio stream #{s.index} ({s.codec_context.name}): {what}: {self.errors} of {self.packets} "
            f"packets failed (last error: {self.last_error})",
            s.container.name,
        )


def select_audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    """The title's main audio stream (default disposition first), or ``None`` when there is none.

    Raises:
        UndecodableAudioError: the chosen stream's codec has no decoder in this FFmpeg build.
    """
    streams = list(container.streams.audio)
    if not streams:
        return None
    defaults = [s for s in streams if s.disposition & av.stream.Disposition.default]
    stream = (defaults or streams)[0]
    if stream.codec_context is None:
        raise UndecodableAudioError(
            f"audio stream #{stream.index}: codec is unknown to this FFmpeg build, no decoder", container.name
        )
    return stream


def iter_audio(path: str | os.PathLike[str], rate: int = 16000, chunk_s: float = 1.0) -> Iterator[np.ndarray]:
    """Stream the main audio track as mono float32 chunks in [-1, 1].

    Channels are downmixed and the signal resampled to ``rate`` by FFmpeg's resampler.
    Memory is bounded by one chunk plus one decoded frame.

    Args:
        path: media file.
        rate: output sample rate in Hz.
        chunk_s: chunk length in seconds; every chunk has ``round(chunk_s * rate)`` samples except
            possibly the last.

    Yields:
        1-D ``float32`` arrays. Nothing is yielded for a file without audio.

    Raises:
        ValueError: ``rate`` or ``chunk_s`` is not positive.
        UndecodableAudioError: the audio cannot be decoded.
        MediaError: the file itself is unusable (see :func:`reelhouse.media.probe.probe`).
    """
    if rate <= 0 or chunk_s <= 0:
        raise ValueError(f"rate and chunk_s must be positive, got rate={rate}, chunk_s={chunk_s}")
    chunk = max(1, round(chunk_s * rate))
    with open_input(path) as container:
        stream = select_audio_stream(container)
        if stream is None:
            return
        tally = AudioDecodeTally(stream)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        pending: list[np.ndarray] = []
        n_pending = 0

        def emit(frames: list[av.AudioFrame]) -> Iterator[np.ndarray]:
            nonlocal pending, n_pending
            for out in frames:
                samples = out.to_ndarray().reshape(-1)
                pending.append(samples)
                n_pending += samples.size
            while n_pending >= chunk:
                buf = np.concatenate(pending)
                yield np.clip(buf[:chunk], -1.0, 1.0).astype(np.float32, copy=False)
                rest = buf[chunk:]
                pending, n_pending = [rest], rest.size

        # demux() ends with an empty packet that flushes the decoder.
        for packet in container.demux(stream):
            for frame in tally.decode(packet):
                yield from emit(resampler.resample(frame))
        tally.finish()
        yield from emit(resampler.resample(None))
        if n_pending:
            yield np.clip(np.concatenate(pending), -1.0, 1.0).astype(np.float32, copy=False)


def read_audio(path: str | os.PathLike[str], rate: int = 16000) -> np.ndarray:
    """The whole main audio track as one mono float32 array in [-1, 1] at ``rate`` Hz.

    Returns an empty array for a file without audio. See :func:`iter_audio` for errors.
    """
    chunks = list(iter_audio(path, rate=rate, chunk_s=30.0))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
