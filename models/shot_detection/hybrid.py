"""Fast candidates, TransNetV2 verdicts: the fast detector's features at high recall propose
boundaries, and TransNetV2 runs only on short frame windows around the ones it is unsure of.

One pass over frames at 64x36 (the fast detector's size):

1. The fast detector's scan runs with a low absolute floor (its adaptive ratio and flash test
   unchanged), so it proposes nearly every cut and gradual transition, plus some motion.
2. A proposed cut whose score clears ``accept_score`` (the fast detector's own floor) is kept
   as it is: on real and generated footage those are cuts, and TransNetV2 would only cost time.
3. A gradual candidate that passes through flat frames from one picture to a different one (a
   dip or a fade through black, white or a plain colour) is kept as it is, and so is a gradual
   transition the blend fit of ``gradual.GradualFinder`` explains closely (``fit_accept``).
   Every other candidate (weak cuts, other gradual ones) is verified by TransNetV2 on a window
   of ``context`` frames either side of it. Frames are kept in a bounded ring buffer,
   so detection stays streaming, and area-downscaled to 48x27 when a window is cut out of it.
   Candidates close together share one window. The network runs in reduced precision where
   the hardware supports it natively (``transnetv2.reduced_precision``).
4. A verified candidate keeps TransNetV2's decision: when the network is confident it also
   takes the network's position, transition type and gradual span; a weak cut that the
   network and the fast score together vouch for is kept at the fast detector's frame.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterable, Iterator
import functools
import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from models.shot_detection.base import ShotBoundary, ShotDetector, enforce_min_shot_length
from models.shot_detection.fast import (
    FastShotDetector,
    _Featurizer,
    _FrameFeatures,
    _merge_overlapping,
    _Scan,
    frame_batches,
)
from models.shot_detection.gradual import GradualFinder, GradualParams, cell_vectors
from models.shot_detection.motion import translation_residual

if TYPE_CHECKING:
    import torch

    from models.device import DevicePreference

_TN_WIDTH, _TN_HEIGHT = 48, 27
# TransNetV2 windows of the reference implementation are 100 frames; longer gradual spans get
# a longer window (the network is convolutional in time).
_MAX_WINDOW = 100
# TransNetV2 marks the last frame of the outgoing shot; a cut at frame f shows up at f-1, and
# the two detectors disagree by a frame now and then.
_CUT_SLACK = 2


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` weights of an area (box) resize along one axis."""
    scale = n_in / n_out
    weights = np.zeros((n_out, n_in), np.float32)
    for o in range(n_out):
        lo, hi = o * scale, (o + 1) * scale
        for i in range(int(lo), min(n_in, int(np.ceil(hi)))):
            weights[o, i] = min(hi, i + 1) - max(lo, i)
    return weights / scale


class _AreaResize:
    """Area downscale of RGB uint8 frames by two small matrix products (no image library)."""

    def __init__(self, src: tuple[int, int], dst: tuple[int, int]) -> None:
        (sw, sh), (dw, dh) = src, dst
        self.shape = (dh, dw, 3)
        self.rows = _area_matrix(sh, dh)  # (dh, sh)
        # Columns act on the interleaved (x, channel) axis: kron with a 3x3 identity.
        self.cols = np.kron(_area_matrix(sw, dw).T, np.eye(3, dtype=np.float32))  # (3 sw, 3 dw)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        h = frame.shape[0]
        out = self.rows @ frame.reshape(h, -1).astype(np.float32) @ self.cols
        out += 0.5  # round to nearest; the weights sum to 1, so the result stays in [0, 255.5)
        return out.astype(np.uint8).reshape(self.shape)


@dataclass
class _Candidate:
    boundary: ShotBoundary  # as proposed by the fast scan
    lo: int  # first frame TransNetV2 must judge
    hi: int  # one past the last frame it must judge


@dataclass
class HybridStats:
    """What one ``detect`` call did; ``HybridShotDetector.last_stats`` keeps the latest.

    ``network_frames`` counts the frames TransNetV2 ran on (padding included): the cost that
    the hybrid saves against running the network over every frame twice, as the reference does.
    """

    frames: int = 0
    candidates: int = 0
    accepted_fast: int = 0
    verified: int = 0
    rejected: int = 0
    windows: int = 0
    network_frames: int = 0
    network_dtype: str | None = None  # what TransNetV2 ran in; None when it never ran
    by_frame: list[tuple[int, str, float]] = field(default_factory=list)  # (frame, outcome, evidence)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "by_frame"}


class HybridShotDetector(ShotDetector):
    """Fast-detector candidates at high recall, verified by TransNetV2 only where it matters.

    Frames are RGB uint8 at ``analysis_size`` = (64, 36); the detector area-downscales them to
    48x27 for TransNetV2 itself. Memory is bounded by a ring buffer of about
    ``max_gradual_frames + 2 * context + 100`` frames (about 2 MB) and the fast features of one
    batch of ``fast.BATCH_FRAMES`` frames (about 7 MB), whatever the title's length.
    """

    name = "hybrid"
    version = "1.3.0"
    analysis_size = FastShotDetector.analysis_size

    def __init__(
        self,
        *,
        candidate_min_score: float = 0.12,
        candidate_threshold: float = 3.0,
        accept_score: float = 0.3,
        network_threshold: float = 0.5,
        gradual_threshold: float = 0.3,
        context: int = 12,
        min_shot_frames: int = 8,
        device: "DevicePreference" = "auto",
        windows_per_batch: int | None = None,
        precision: Literal["auto", "float32", "bfloat16", "float16"] = "auto",
        fit_accept: float = 0.5,
        min_network_vote: float = 0.05,
        max_pan_residual: float = 0.4,
    ) -> None:
        """Configure the detector (TransNetV2 loads on first use).

        Args:
            candidate_min_score: Fast-scan floor for proposing a boundary, in (0, 1).
            candidate_threshold: Fast-scan adaptive ratio for proposing a cut (> 1).
            accept_score: A proposed cut scoring at least this is kept without verification,
                in ``[candidate_min_score, 1]``; 1 verifies every candidate.
            network_threshold: TransNetV2's own decision threshold, in (0, 1). A weak proposed
                cut is kept when the two detectors' evidence adds up to one full vote:
                ``fast_score / accept_score + network_probability / network_threshold >= 1``.
                So a fast score of 0 needs a confident network, and a score just under
                ``accept_score`` needs only a little agreement from it (at least
                ``min_network_vote``).
            gradual_threshold: TransNetV2 probability in (0, 1) (single-frame or
                all-frames head, anywhere in the span) at or above which a proposed gradual
                transition is kept.
            context: Frames of context TransNetV2 sees on either side of a candidate
                (8-50). The reference uses 25; on the composed-real tuning split 12 gave the
                same F1 (0.945 against 0.944) with about 40% fewer network frames.
            min_shot_frames: Minimum shot length in frames (>= 1).
            device: ``"auto"``, ``"cpu"`` or ``"cuda"`` for TransNetV2.
            windows_per_batch: Candidate windows per forward pass (>= 1); defaults to 1 on
                CPU and 16 on CUDA. Queued windows are copies, so memory stays bounded by
                this many windows (under 1 MB each) on top of the ring buffer.
            precision: ``"auto"`` runs TransNetV2 in float16 on CUDA and in bfloat16 on CPUs
                with native bfloat16 arithmetic, float32 elsewhere; ``"float32"``,
                ``"bfloat16"`` and ``"float16"`` force that dtype (reduced ones by autocast).
                Reduced precision moves the network's probabilities by up to about 0.02, which
                rarely moves a boundary. ``params`` records a forced dtype by name and
                ``"auto"`` as the policy (``"native-reduced"``; resolving it would load torch
                whenever a feature version is computed); ``last_stats`` and ``provenance`` the
                dtype the network actually ran in.
            fit_accept: A gradual transition found by the blend fit (``gradual.GradualFinder``:
                slow dissolves, wipes, fades through a flat frame) is kept without the network
                when its fit confidence is at least this, in [0, 1]; below it, the network
                verifies it like any gradual candidate.
            min_network_vote: The least TransNetV2 probability, in [0, 1), with which a weak
                proposed cut can be kept: a near-zero vote is no agreement, however close the
                fast score came to ``accept_score``. Chosen on the tuning footage: 0.2 removed
                5 false cuts where an object sweeps past the lens in the composed tuning clips
                but lost 7 real cuts of transnetv2's test clip (F1 0.984 -> 0.956); 0.05 keeps
                those cuts.
            max_pan_residual: A proposed cut is camera motion (a whip pan), not a cut, when one
                translation of the frame before it explains its change down to this share
                (``motion.translation_residual``), in [0, 1); 0 turns the test off. On the
                tuning footage real cuts left at least 0.55 (transnetv2's test clip: 0.74),
                fast pans at 24 fps at most 0.34.

        Raises:
            ValueError: An argument is out of range.
            RuntimeError: ``device="cuda"`` but CUDA is not available.
        """
        if not 0.0 < candidate_min_score < 1.0:
            raise ValueError(f"candidate_min_score must be in (0, 1), got {candidate_min_score}")
        if not candidate_threshold > 1.0:
            raise ValueError(f"candidate_threshold must be > 1, got {candidate_threshold}")
        if not candidate_min_score <= accept_score <= 1.0:
            raise ValueError(f"accept_score must be in [candidate_min_score, 1], got {accept_score}")
        for label, value in (("network_threshold", network_threshold), ("gradual_threshold", gradual_threshold)):
            if not 0.0 < value < 1.0:
                raise ValueError(f"{label} must be in (0, 1), got {value}")
        if not 8 <= context <= 50:
            raise ValueError(f"context must be in [8, 50] frames, got {context}")
        if min_shot_frames < 1:
            raise ValueError(f"min_shot_frames must be >= 1, got {min_shot_frames}")
        if windows_per_batch is not None and windows_per_batch < 1:
            raise ValueError(f"windows_per_batch must be >= 1, got {windows_per_batch}")
        if precision not in ("auto", "float32", "bfloat16", "float16"):
            raise ValueError(f"precision must be 'auto', 'float32', 'bfloat16' or 'float16', got {precision!r}")
        self.candidate_min_score = float(candidate_min_score)
        self.candidate_threshold = float(candidate_threshold)
        self.accept_score = float(accept_score)
        self.network_threshold = float(network_threshold)
        self.gradual_threshold = float(gradual_threshold)
        self.context = int(context)
        self.min_shot_frames = int(min_shot_frames)
        if not 0.0 <= fit_accept <= 1.0:
            raise ValueError(f"fit_accept must be in [0, 1], got {fit_accept}")
        self.precision = precision
        self.fit_accept = float(fit_accept)
        if not 0.0 <= min_network_vote < 1.0:
            raise ValueError(f"min_network_vote must be in [0, 1), got {min_network_vote}")
        self.min_network_vote = float(min_network_vote)
        if not 0.0 <= max_pan_residual < 1.0:
            raise ValueError(f"max_pan_residual must be in [0, 1), got {max_pan_residual}")
        self.max_pan_residual = float(max_pan_residual)
        self._device_preference = device
        self._windows_per_batch = windows_per_batch
        self._device: torch.device | None = None
        if device == "cuda":
            _ = self.device  # fail now, not at the first candidate, when CUDA is missing
        # The proposal scan: the fast detector's features and flash test at high recall. Its
        # own minimum shot length is 1 so that weak and strong candidates compete here.
        self._proposer = FastShotDetector(
            min_score=self.candidate_min_score,
            threshold=self.candidate_threshold,
            gradual_min_score=min(0.04, self.candidate_min_score / 2),
            min_shot_frames=1,
        )
        self._resize = _AreaResize(self.analysis_size, (_TN_WIDTH, _TN_HEIGHT))
        self.gradual_params = GradualParams()  # the blend fit's settings (part of params())
        self.last_stats = HybridStats()

    @property
    def device(self) -> "torch.device":
        """The torch device TransNetV2 runs on, chosen (and torch imported) on first use."""
        if self._device is None:
            from models.device import select_device

            self._device = select_device(self._device_preference)
        return self._device

    @property
    def windows_per_batch(self) -> int:
        """Candidate windows per forward pass: 16 on CUDA, 1 on CPU unless set."""
        return self._windows_per_batch or (16 if self.device.type == "cuda" else 1)

    @functools.cached_property
    def network_dtype(self) -> "torch.dtype | None":
        """The reduced precision TransNetV2 runs in on this device, or ``None`` for float32."""
        import torch

        from models.shot_detection.transnetv2 import reduced_precision

        if self.precision == "auto":
            return reduced_precision(self.device)
        return None if self.precision == "float32" else getattr(torch, self.precision)

    @property
    def network_dtype_name(self) -> str:
        """``"float32"``, ``"bfloat16"`` or ``"float16"``: what TransNetV2 runs in here."""
        dtype = self.network_dtype
        return "float32" if dtype is None else str(dtype).removeprefix("torch.")

    def params(self) -> dict[str, Any]:
        # The device and batching change speed, not results, so they don't version the output.
        # The precision does (reduced precision nudges the network's probabilities). A forced
        # dtype is recorded by name; "auto" as the policy, because resolving it needs torch and
        # computing a feature version must stay light (tests/test_planning_is_light.py). What
        # actually ran is stored with each title's rows (``provenance``).
        return {
            "candidate_min_score": self.candidate_min_score,
            "candidate_threshold": self.candidate_threshold,
            "accept_score": self.accept_score,
            "network_threshold": self.network_threshold,
            "gradual_threshold": self.gradual_threshold,
            "context": self.context,
            "min_shot_frames": self.min_shot_frames,
            "fit_accept": self.fit_accept,
            "min_network_vote": self.min_network_vote,
            "max_pan_residual": self.max_pan_residual,
            "gradual_fit": {"method": "cell blend fit v3", **dataclasses.asdict(self.gradual_params)},
            "transnetv2_input": "area-resized 64x36 -> 48x27",
            "transnetv2_precision": "native-reduced" if self.precision == "auto" else self.precision,
        }

    def provenance(self) -> str:
        """``hybrid@<version>``, and ``+transnetv2:<dtype>`` when the last ``detect`` ran the
        network (in that dtype)."""
        dtype = self.last_stats.network_dtype
        return super().provenance() + (f"+transnetv2:{dtype}" if dtype else "")

    def detect(self, frames: Iterable[np.ndarray], fps: float) -> list[ShotBoundary]:
        self.check_fps(fps)
        run = _Run(self, frames)
        boundaries = run.run()
        self.last_stats = run.stats
        return enforce_min_shot_length(_merge_overlapping(boundaries), self.min_shot_frames)


class _Run:
    """One streaming pass: the fast scan pulls frames through ``_feed``, which also fills the
    ring buffer and verifies candidates once their window has arrived."""

    def __init__(self, detector: HybridShotDetector, frames: Iterable[np.ndarray]) -> None:
        self.d = detector
        self.frames = frames
        proposer = detector._proposer
        lookahead = max(proposer.window, proposer.flash_frames)
        # A gradual candidate is proposed up to max_gradual_frames + lookahead frames after its
        # start, and its window reaches context frames beyond both ends.
        self.capacity = proposer.max_gradual_frames + lookahead + 2 * detector.context + _MAX_WINDOW + 8
        self.ring: deque[np.ndarray] = deque(maxlen=self.capacity)
        self.first = 0  # absolute index of ring[0]
        self.count = 0
        self.pending: deque[_Candidate] = deque()
        # Windows cut out of the ring buffer, waiting for a batched forward pass:
        # (frames, absolute frame of frames[0], candidates judged in it).
        self.batch: list[tuple[np.ndarray, int, list[_Candidate]]] = []
        self.out: list[ShotBoundary] = []
        # Frames owned by recently proposed gradual transitions (their spans widened by
        # _CUT_SLACK): cuts there belong to them.
        self.owned: deque[tuple[int, int]] = deque(maxlen=16)
        self.gradual = GradualFinder(detector.gradual_params)
        self.stats = HybridStats()
        self.scan = _Scan(detector._proposer, self._feed())

    def run(self) -> list[ShotBoundary]:
        for boundary in self.scan.run():
            self._propose(boundary)
        self.stats.frames = self.count
        while self.pending:
            self._take_window()
        self._run_batch()
        return self.out

    def _feed(self) -> Iterator[_FrameFeatures]:
        """Features of each frame for the scan. Features are computed a batch of frames at a
        time, but frames enter the ring buffer, and windows are cut, one frame at a time, in
        step with the scan."""
        featurize = _Featurizer(self.d._proposer.black_level)
        for frames in frame_batches(self.frames, self.d.check_frame):
            fitted = self.gradual.push(cell_vectors(frames))
            for frame, features in zip(frames, featurize(frames)):
                if len(self.ring) == self.capacity:
                    self.first += 1
                self.ring.append(frame)
                self.count += 1
                while self.pending and self._ready(self.pending[0]):
                    self._take_window()
                    if len(self.batch) >= self.d.windows_per_batch:
                        self._run_batch()
                yield features
            for boundary in fitted:
                self._propose_fitted(boundary)
        for boundary in self.gradual.finish():
            self._propose_fitted(boundary)

    def _propose_fitted(self, boundary: ShotBoundary) -> None:
        """A gradual transition the blend fit found: kept as it is when the fit is close (its
        confidence reaches ``fit_accept``), otherwise verified by the network like the scan's."""
        if boundary.confidence >= self.d.fit_accept:
            self.stats.candidates += 1
            self.stats.accepted_fast += 1
            self.stats.by_frame.append((boundary.frame, "fit", boundary.confidence))
            self._claim(boundary.span)
            self.out.append(boundary)
        else:
            self._propose(boundary)

    def _claim(self, span: tuple[int, int]) -> None:
        """A gradual transition over ``span`` owns it: cuts found or pending inside it, or within
        ``_CUT_SLACK`` frames of its ends, are dropped (the scan finds cuts on a fade's ramps and
        where a fade leaves a flat frame, as the fast detector does), and later ones too."""
        lo, hi = span[0] - _CUT_SLACK, span[1] + _CUT_SLACK
        self.owned.append((lo, hi))
        self.out = [b for b in self.out if not (b.transition == "cut" and lo <= b.frame < hi)]
        self.pending = deque(c for c in self.pending if not (c.boundary.transition == "cut" and lo <= c.boundary.frame < hi))

    def _propose(self, boundary: ShotBoundary) -> None:
        self.stats.candidates += 1
        if boundary.transition == "cut" and self._panned(boundary.frame):
            self.stats.rejected += 1
            self.stats.by_frame.append((boundary.frame, "pan", boundary.confidence))
            return
        if boundary.transition == "cut" and boundary.confidence >= self.d.accept_score:
            self.stats.accepted_fast += 1
            self.stats.by_frame.append((boundary.frame, "fast", boundary.confidence))
            self.out.append(boundary)
            return
        if boundary.transition == "cut" and self._after_motion(boundary.frame, boundary.confidence):
            self.stats.rejected += 1
            self.stats.by_frame.append((boundary.frame, "motion", boundary.confidence))
            return
        if boundary.transition == "gradual" and self._through_flat(boundary.span):
            self.stats.accepted_fast += 1
            self.stats.by_frame.append((boundary.frame, "flat", boundary.confidence))
            self._claim(boundary.span)
            self.out.append(boundary)
            return
        if boundary.transition == "gradual":
            self._claim(boundary.span)
        if boundary.transition == "cut":
            lo, hi = boundary.frame - _CUT_SLACK - 1, boundary.frame + _CUT_SLACK
        else:
            lo, hi = boundary.span[0] - _CUT_SLACK, boundary.span[1] + _CUT_SLACK
        candidate = _Candidate(boundary, max(0, lo), hi)
        # Keep pending candidates ordered by their first frame: a gradual transition is
        # proposed when it closes, after cuts that follow its start.
        at = len(self.pending)
        while at > 0 and self.pending[at - 1].lo > candidate.lo:
            at -= 1
        self.pending.insert(at, candidate)

    def _through_flat(self, span: tuple[int, int]) -> bool:
        """True when a proposed gradual transition passes through flat frames (a dip or a fade
        through black, white or any plain colour) from one picture to a different one: frames
        ``span[0] - 1`` and ``span[1]`` show detail and differ by at least the blend fit's
        ``min_change``, and some frame between them is flat (its pixels' luma standard deviation
        under the fit's ``flat_std``). A flash comes back to the same picture; it still goes to
        the network."""
        prm = self.gradual.params
        start, end = span
        if start - 1 < self.first or end >= self.count:
            return False
        frames = [self.ring[i - self.first].astype(np.float32) for i in range(start - 1, end + 1)]
        spread = [float(f.mean(axis=2).std()) for f in frames]
        if spread[0] < prm.flat_std or spread[-1] < prm.flat_std or min(spread[1:-1]) >= prm.flat_std:
            return False
        return float(np.sqrt(np.square(frames[-1] - frames[0]).mean())) / 255.0 >= prm.min_change

    def _panned(self, frame: int) -> bool:
        """True when frame ``frame`` is frame ``frame - 1`` moved: one translation explains
        its change down to ``max_pan_residual``."""
        if frame - 1 < self.first or frame >= self.count or self.d.max_pan_residual == 0.0:
            return False
        before, after = self.ring[frame - 1 - self.first], self.ring[frame - self.first]
        return translation_residual(before, after) <= self.d.max_pan_residual

    def _after_motion(self, frame: int, score: float) -> bool:
        """True when a weak cut stands out only against one side of it: the end or start of
        fast motion (a pan stopping) rather than a change of shot. The adaptive test of the
        scan compares with the median of both sides together; a weak cut must clear it
        against each side on its own. (The scan decides ``frame`` only once ``window`` frames
        after it have arrived, so both sides are in its history.)"""
        proposer = self.d._proposer
        w = proposer.window
        before = self.scan._baseline(frame - w, frame)
        after = self.scan._baseline(frame + 1, frame + w + 1)
        return score < proposer.threshold * max(before, after)

    def _ready(self, c: _Candidate) -> bool:
        """The first pending candidate's window has arrived in full (waiting for a whole
        ``_MAX_WINDOW`` lets nearby candidates share it). The ring buffer outlasts the wait."""
        ctx = self.d.context
        return self.count >= max(max(0, c.lo - ctx) + _MAX_WINDOW, c.hi + ctx)

    def _take_window(self) -> None:
        """Cut one window out of the ring buffer, starting at the first pending candidate and
        covering every pending candidate that fits, and queue it for the network."""
        ctx = self.d.context
        first = self.pending[0]
        start = max(0, first.lo - ctx, self.first)
        limit = max(start + _MAX_WINDOW, first.hi + ctx)
        group = [first]
        for c in list(self.pending)[1:]:
            if c.hi + ctx <= limit:
                group.append(c)
        for _ in group:
            self.pending.popleft()
        end = min(self.count, max(c.hi for c in group) + ctx)
        window = [self.d._resize(self.ring[i - self.first]) for i in range(start, end)]
        # Pad like the reference at the ends of the stream; elsewhere the window has context.
        left = max(0, ctx - (first.lo - start))
        right = max(0, max(c.hi for c in group) + ctx - end)
        window = [window[0]] * left + window + [window[-1]] * right
        self.batch.append((np.stack(window), start - left, group))

    def _run_batch(self) -> None:
        """One forward pass over the queued windows (padded to one length), then the verdicts."""
        if not self.batch:
            return
        length = max(len(w) for w, _, _ in self.batch)
        inputs = np.stack([np.concatenate([w, np.repeat(w[-1:], length - len(w), 0)]) for w, _, _ in self.batch])
        single, many = self._predict(inputs)
        for row, (window, offset, group) in enumerate(self.batch):
            self.stats.windows += 1
            self.stats.network_frames += len(window)
            self._judge(group, single[row], many[row], offset)
        self.batch.clear()

    def _judge(self, group: list[_Candidate], single: np.ndarray, many: np.ndarray, offset: int) -> None:
        for c in group:
            b = c.boundary
            if b.transition == "cut" and any(lo <= b.frame < hi for lo, hi in self.owned):
                continue  # a gradual transition proposed after this window was queued owns it
            decided, evidence = self._decide(c, single, many, offset)
            self.stats.verified += 1
            if decided is None:
                self.stats.rejected += 1
                self.stats.by_frame.append((c.boundary.frame, "rejected", evidence))
            else:
                self.stats.by_frame.append((decided.frame, "verified", evidence))
                self.out.append(decided)

    def _decide(
        self, c: _Candidate, single: np.ndarray, many: np.ndarray, offset: int
    ) -> tuple[ShotBoundary | None, float]:
        """The verdict on one candidate, and the network's evidence (its peak probability)."""
        d = self.d
        b = c.boundary
        lo, hi = c.lo - offset, c.hi - offset
        peak = lo + int(np.argmax(single[lo:hi]))
        p = float(single[peak])
        if b.transition == "cut":
            evidence = b.confidence / d.accept_score + p / d.network_threshold
            keep = evidence >= 1.0 and p >= d.min_network_vote
        else:
            evidence = max(p, float(many[lo:hi].max()))
            keep = evidence >= d.gradual_threshold
        if not keep:
            return None, evidence
        return self._refine(b, single, many, offset, peak), evidence

    def _refine(self, b: ShotBoundary, single: np.ndarray, many: np.ndarray, offset: int, peak: int) -> ShotBoundary:
        threshold = self.d.network_threshold
        p = float(single[peak])
        if p < threshold:
            # The network is unsure but does not object: keep the fast detector's reading.
            return ShotBoundary(b.frame, b.transition, max(b.confidence, p), b.span)
        # The network is confident: take its position, type and span (as TransNetV2Detector does).
        start, last = peak, peak
        while start - 1 >= 0 and many[start - 1] > threshold:
            start -= 1
        while last + 1 < len(many) and many[last + 1] > threshold:
            last += 1
        confidence = min(1.0, max(p, b.confidence))
        if last + 1 - start >= 4:
            span = (start + offset, last + 1 + offset)
            return ShotBoundary((span[0] + span[1]) // 2, "gradual", confidence, span)
        frame = peak + 1 + offset
        if frame <= 0 or frame >= self.count:
            return ShotBoundary(b.frame, b.transition, confidence, b.span)
        return ShotBoundary(frame, "cut", confidence, (frame, frame + 1))

    def _predict(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(single, all_frames)`` probabilities, ``(B, T)``, for windows ``(B, T, 27, 48, 3)``."""
        import torch

        from models.shot_detection.transnetv2 import load_transnetv2

        model = load_transnetv2(self.d.device)
        inputs = torch.from_numpy(windows).to(self.d.device)
        dtype = self.d.network_dtype
        autocast = contextlib.nullcontext() if dtype is None else torch.autocast(self.d.device.type, dtype=dtype)
        with torch.inference_mode(), autocast:
            single, extra = model(inputs)
        self.stats.network_dtype = self.d.network_dtype_name
        return (
            torch.sigmoid(single[..., 0]).float().cpu().numpy(),
            torch.sigmoid(extra["many_hot"][..., 0]).float().cpu().numpy(),
        )
