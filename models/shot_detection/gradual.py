"""Gradual transitions found by fitting: dissolves, wipes and fades through a flat frame.

A frame-to-frame difference cannot see a slow dissolve: over 48 frames each step changes the
picture by a fiftieth, less than camera motion does. This module compares frames ``K`` apart
instead (``K`` in ``scales``), and then asks whether the frames between two endpoints ``A``
(frame ``p``) and ``B`` (frame ``q``) are explained by them:

- **dissolve**: frame ``m`` is ``(1 - a) A + a B`` for one scalar ``a`` in [0, 1];
- **wipe**: every cell of frame ``m`` is the same cell of ``A`` or of ``B``; when the cells switch
  from ``A`` to ``B`` in spatial order (a front sweeping across the frame) and both ends show a
  picture, the sweep itself is the evidence and the wipe is kept as it is; a front that sweeps
  out of a picture and back into it is something passing the lens, and no transition;
- **fade through a flat frame** (black, white, any uniform colour, held or not): a dissolve from
  ``A`` into the flat frame and one from it into ``B``, reported as one transition.

Frames are described by ``cell_vectors``: the mean RGB of each 4x4-pixel cell of a 64x36 frame
(16x9 cells, 432 values, 0-255). A fit's residual is the energy left after the best blend,
relative to ``|B - A|^2``: 0 for an exact blend, near 1 or more when the frames between are not a
mix of the two ends (camera motion, a subject moving). A transition is reported when the two ends
differ by at least ``min_change`` (root mean square, 0-255 scale divided by 255), the residual is at
most ``max_residual``, the blend weight rises monotonically, and no single frame step carries most
of the change (that is a cut, which the cut detectors own).

Frame numbers are 0-based in decode order; spans are ``[start, end)`` and hold the frames strictly
between the two endpoints, so ``start = p + 1`` and ``end = q``; a boundary's frame is the centre.
The finder streams: memory is bounded by ``history`` frames of twice 432 float32 values (about
3.5 KB a frame: the vectors, and a copy with brief events removed by a 5-frame temporal median
that candidates are also looked for in, so that a flash next to a slow dissolve does not hide it),
whatever the title's length.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from models.shot_detection.base import LUMA, ShotBoundary
from models.shot_detection.motion import moved_rms

_CELL = 4
_CELLS_H, _CELLS_W = 9, 16
VECTOR_SIZE = _CELLS_H * _CELLS_W * 3
# Fewer cells than this where the picture changes is too few to judge a wipe by.
_MIN_CHANGED_CELLS = 16


def cell_vectors(frames: np.ndarray) -> np.ndarray:
    """Mean RGB of each 4x4 cell of ``(n, 36, 64, 3)`` uint8 frames: float32 ``(n, 432)``, 0-255."""
    n = frames.shape[0]
    cells = frames.reshape(n, _CELLS_H, _CELL, _CELLS_W, _CELL, 3).mean(axis=(2, 4), dtype=np.float32)
    return cells.reshape(n, VECTOR_SIZE)


@dataclass(frozen=True)
class GradualParams:
    """Settings of ``GradualFinder`` (lengths in frames).

    Attributes:
        scales: frame distances ``K`` at which candidates are looked for (each >= 2).
        min_change: smallest rms difference of the two ends, as a fraction of 255.
        max_residual: largest mean fit residual (relative to the ends' difference energy). A
            transition's confidence is ``1 - residual / max_residual``.
        max_step_share: largest share of the ends' difference one frame step may carry.
        max_frames: longest transition (frames strictly between its ends).
        flat_std: a frame whose cells' luma standard deviation (0-255) is below this is flat.
        margin: frames searched beyond a candidate's ``K``-apart pair on each side.
        max_surround_ratio: the picture may change by at most this fraction of the transition's
            change over the same number of frames (up to 16) just before it and just after it:
            a transition stands out against steady shots, a slow pan or drift does not. The
            change over ``w`` frames is the median over distances 2..w of the change scaled to
            ``w`` (``_drift``), so a flash or a strobe next to the transition does not count.
        surround_shift: the surround test measures the picture's change after undoing the
            best translation of up to this many cells ``(rows, columns)`` (4 px each; (2, 4) is
            about a quarter of the frame either way), and the transition's own change likewise:
            a dissolve inside a panning shot stands out against the pan once the pan is undone,
            while a pan that looks like a blend leaves no change. ``(0, 0)``: no compensation.
        min_wipe_order: a wipe's cells must switch from ``A`` to ``B`` in spatial order: the
            correlation (absolute Pearson) of each cell's switch frame with its column or its row
            reaches this, in (0, 1]. A wipe that does is kept on its own evidence: its residual
            may reach ``max_wipe_residual``, a step may carry ``max_wipe_step_share`` of the
            change (a short wipe switches a whole row or column of cells at once), and the
            surround test is not applied (the sweep of a front across the frame is the evidence
            that the change is a join, not motion).
        min_wipe_detail: both ends of such a wipe must show a picture where the picture
            changes: the luma standard deviation (0-255) of the cells whose two ends differ
            clearly (a quarter of the mean cell difference energy), after each row's mean is
            removed, reaches this at each end. An object sweeping across the lens, into the
            frame or out of it, is a wipe from or into a plain (at most vertically shaded)
            surface over exactly those cells, however much of the picture stays uncovered.
            Among the candidate fits of one place, a wipe that passes this test wins over a
            wider change that is no ordered wipe, and it does not grow into one.
        end_weight: a dissolve's frames next to its ends whose blend weight lies within this of
            the end's own (0 or 1) are trimmed off: they belong to the shot. Motion inside a shot
            moves a frame away from the end picture but hardly along the transition's direction,
            so a fit that grew into a moving shot is trimmed back to where the blend begins.
    """

    scales: tuple[int, ...] = (6, 16, 32, 48)
    min_change: float = 0.12
    max_residual: float = 0.05
    max_step_share: float = 0.6
    max_frames: int = 60
    flat_std: float = 6.0
    margin: int = 8
    max_surround_ratio: float = 0.7
    min_wipe_order: float = 0.9
    max_wipe_residual: float = 0.08
    max_wipe_step_share: float = 0.8
    min_wipe_detail: float = 12.0
    end_weight: float = 0.08
    surround_shift: tuple[int, int] = (2, 4)

    def __post_init__(self) -> None:
        if not self.scales or min(self.scales) < 2:
            raise ValueError(f"scales must be >= 2 frames, got {self.scales}")
        if max(self.scales) > self.max_frames:
            raise ValueError(f"scales ({self.scales}) must not exceed max_frames ({self.max_frames})")
        if not 0.0 < self.min_change < 1.0:
            raise ValueError(f"min_change must be in (0, 1), got {self.min_change}")
        if not self.max_residual > 0.0:
            raise ValueError(f"max_residual must be > 0, got {self.max_residual}")
        if not 0.0 < self.max_step_share <= 1.0:
            raise ValueError(f"max_step_share must be in (0, 1], got {self.max_step_share}")
        if self.margin < 1 or self.flat_std <= 0:
            raise ValueError("margin must be >= 1 and flat_std > 0")
        if not (0 <= self.surround_shift[0] < _CELLS_H and 0 <= self.surround_shift[1] < _CELLS_W):
            raise ValueError(f"surround_shift must lie in [0, ({_CELLS_H}, {_CELLS_W})), got {self.surround_shift}")
        if not 0.0 <= self.end_weight < 0.5:
            raise ValueError(f"end_weight must be in [0, 0.5), got {self.end_weight}")


@dataclass(frozen=True)
class Fit:
    """The best blend of the frames strictly between ends ``p`` and ``q`` (absolute frames)."""

    p: int
    q: int
    change: float  # rms |B - A| / 255
    residual: float  # mean relative residual of the frames between
    monotone: bool
    step_share: float  # largest single-step share of |B - A|
    kind: str  # "dissolve" or "wipe"
    order: float = 0.0  # a wipe's spatial switch order (``GradualParams.min_wipe_order``), else 0
    detail: float = 0.0  # a wipe's lesser end detail where it changes (``GradualParams.min_wipe_detail``), else 0


def fit_blend(x: np.ndarray, p: int, q: int) -> Fit:
    """Fit the frames ``x[p+1:q]`` as blends of ``x[p]`` and ``x[q]`` (indices into ``x``)."""
    a, b = x[p], x[q]
    d = b - a
    energy = float(d @ d) + 1e-6
    change = float(np.sqrt(energy / d.size) / 255.0)
    mid = x[p + 1 : q]
    steps = np.diff(x[p : q + 1], axis=0)
    step_share = float(np.sqrt(np.square(steps).sum(axis=1).max() / energy))
    if len(mid) == 0:
        return Fit(p, q, change, 0.0, True, step_share, "dissolve")
    r = mid - a
    alpha = np.clip(r @ d / energy, 0.0, 1.0)
    dissolve = np.square(r - alpha[:, None] * d).sum(axis=1) / energy
    to_a = np.square(mid - a).reshape(len(mid), -1, 3).sum(axis=2)
    to_b = np.square(mid - b).reshape(len(mid), -1, 3).sum(axis=2)
    wipe = np.minimum(to_a, to_b).sum(axis=1) / energy
    if dissolve.mean() <= wipe.mean():
        progress, residual, kind = alpha, float(dissolve.mean()), "dissolve"
        monotone = bool(np.all(np.diff(progress) >= -0.15)) and _plateau(progress) < 4
    else:
        # A wipe switches each cell from A to B once: cells that switch back, or more than a few
        # cells that flicker, are motion.
        switched = to_b < to_a
        changed = _changed_cells(d)
        back = (switched[:-1] & ~switched[1:]).sum()
        progress, residual, kind = switched.mean(axis=1), float(wipe.mean()), "wipe"
        monotone = bool(back <= 0.02 * switched.shape[1] * max(1, len(mid) - 1) and progress[0] < 0.5 < progress[-1])
        return Fit(p, q, change, residual, monotone, step_share, kind, _switch_order(switched, changed),
                   min(_detail(a, changed), _detail(b, changed)))
    return Fit(p, q, change, residual, monotone, step_share, kind)


_ROWS, _COLS = np.divmod(np.arange(_CELLS_H * _CELLS_W), _CELLS_W)


def _detail(v: np.ndarray, cells: np.ndarray | None = None) -> float:
    """Luma standard deviation (0-255) of one frame's cells once each row's mean is removed;
    with ``cells`` (a boolean mask over the 144 cells), of those cells only (row means over them)."""
    luma = (v.reshape(-1, 3) @ LUMA).reshape(_CELLS_H, _CELLS_W)
    if cells is None:
        return float((luma - luma.mean(axis=1, keepdims=True)).std())
    mask = cells.reshape(_CELLS_H, _CELLS_W)
    rows = np.where(mask, luma, 0.0).sum(axis=1, keepdims=True) / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return float((luma - rows)[mask].std()) if mask.sum() >= _MIN_CHANGED_CELLS else 0.0


def _changed_cells(d: np.ndarray) -> np.ndarray:
    """The cells whose two ends differ clearly, for the ends' difference ``d`` (a cell vector):
    at least a quarter of the mean cell difference energy. Boolean ``(144,)``."""
    energy = np.square(d).reshape(-1, 3).sum(axis=1)
    return energy >= 0.25 * energy.mean()


def _switch_order(switched: np.ndarray, cells: np.ndarray) -> float:
    """How well each cell's switch frame follows its column or its row: the larger absolute
    Pearson correlation, over the ``cells`` where the picture changes (``_changed_cells``); 0
    when too few cells do or all switch at once."""
    if cells.sum() < _MIN_CHANGED_CELLS:
        return 0.0
    when = (~switched[:, cells]).sum(axis=0).astype(np.float64)  # frames before the cell switched
    if when.std() == 0.0:
        return 0.0
    best = 0.0
    for axis in (_COLS[cells], _ROWS[cells]):
        if axis.std() > 0.0:
            best = max(best, abs(float(np.corrcoef(when, axis)[0, 1])))
    return best


def _plateau(alpha: np.ndarray) -> int:
    """The longest run of steps along which a blend weight stands still part-way (between 0.15
    and 0.85; a step under a quarter of a uniform ramp's): a transition is one ramp, while a
    picture held between a fade in and the next fade out is two transitions."""
    still = (np.abs(np.diff(alpha)) < 0.25 / (len(alpha) + 1)) & (alpha[1:] > 0.15) & (alpha[1:] < 0.85)
    longest = run = 0
    for s in still:
        run = run + 1 if s else 0
        longest = max(longest, run)
    return longest


def _median5(x: np.ndarray) -> np.ndarray:
    """The median of each 5 consecutive rows of ``x``: ``(len(x) - 4, ...)``; row ``i`` is
    centred on row ``i + 2`` of ``x``."""
    return np.partition(np.lib.stride_tricks.sliding_window_view(x, 5, axis=0), 2, axis=-1)[..., 2]


def _drift(x: np.ndarray, end: int, side: int, w: int) -> float:
    """How much the picture changes over ``w`` frames next to row ``end`` of ``x`` (``side`` -1:
    before it, 1: after it), robust to a brief event there (a flash, a strobe): the median over
    distances ``o`` = 2..w of ``_rms(x[end], x[end + side * o]) * w / o`` (a steady drift grows
    in proportion to time)."""
    rates = [_rms(x[end], x[end + side * o]) * w / o for o in range(2, w + 1) if 0 <= end + side * o < len(x)]
    if not rates:
        return 0.0
    return float(np.median(rates))


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean square difference of two cell vectors, as a fraction of 255."""
    return float(np.sqrt(np.square(a - b).mean()) / 255.0)


class _Held(NamedTuple):
    """A transition the finder found but has not reported: a fade's second ramp may extend it."""

    start: int
    end: int
    confidence: float
    kind: str  # the fit's kind ("dissolve" or "wipe") of its first ramp

    def boundary(self) -> ShotBoundary:
        return ShotBoundary((self.start + self.end) // 2, "gradual", self.confidence, (self.start, self.end))


def _fit_at(x: np.ndarray, base: int, p: int, q: int) -> Fit:
    """``fit_blend`` on absolute frames ``p`` and ``q`` of a buffer whose first row is frame ``base``."""
    return replace(fit_blend(x, p - base, q - base), p=p, q=q)


class GradualFinder:
    """Streaming search for gradual transitions over a title's ``cell_vectors``.

    Push the frames' vectors in order with :meth:`push`, then call :meth:`finish`; each returns the
    transitions it could settle. A transition is reported once, when enough frames after it have
    arrived.
    """

    def __init__(self, params: GradualParams | None = None) -> None:
        self.params = params or GradualParams()
        k = max(self.params.scales)
        self.right = k // 2 + self.params.margin + 2  # frames needed after a candidate time
        self.history = self.params.max_frames + k + 2 * self.params.margin + self.right + 4
        self.buf = np.zeros((0, VECTOR_SIZE), np.float32)
        self.calm = self.buf  # ``buf`` with brief events (up to 2 frames) removed (``_median5``)
        self.base = 0  # absolute frame of buf[0]
        self.count = 0
        self.done = 0  # candidate times below this are decided
        self.last_end = -1  # end of the last transition found
        self.held: _Held | None = None  # found, not yet reported (a fade's second ramp may follow)

    def push(self, vectors: np.ndarray) -> list[ShotBoundary]:
        """Add the next frames' ``(n, 432)`` vectors; transitions settled so far."""
        new = vectors.astype(np.float32, copy=False)
        old = len(self.buf)
        self.buf = np.concatenate([self.buf, new])
        # The brief-event-free copy: rows whose 5-row window is complete get its median; the
        # last 2 rows stay as they are until the next push completes their windows.
        self.calm = np.concatenate([self.calm, new])
        lo, hi = max(2, old - 2), len(self.buf) - 2
        if hi > lo:
            self.calm[lo:hi] = _median5(self.buf[lo - 2 : hi + 2])
        self.count += len(vectors)
        found = self._scan(self.count - self.right)
        drop = max(0, len(self.buf) - self.history)
        if drop:
            self.buf = self.buf[drop:]
            self.calm = self.calm[drop:]
            self.base += drop
        return found

    def finish(self) -> list[ShotBoundary]:
        """Transitions left after the last frame."""
        return self._scan(self.count)

    def _scan(self, upto: int) -> list[ShotBoundary]:
        prm = self.params
        x, base = self.buf, self.base
        lo = self.done
        if upto <= lo:
            return []
        out: list[ShotBoundary] = []
        luma = (x.reshape(len(x), -1, 3) @ LUMA).std(axis=1)
        flat = luma < prm.flat_std
        candidates: set[tuple[int, int]] = set()
        # Candidates from the frames as they are, and from the frames with brief events (a
        # flash, a strobe frame: up to 2 frames) removed by a 5-frame temporal median, so that
        # one next to a slow transition does not take its local maximum.
        for y in (x, self.calm):
            for k in prm.scales:
                t0 = max(lo, base + k)
                t1 = min(upto, self.count)
                if t1 <= t0:
                    continue
                # The K-apart change over [t0, t1) and +-K/2 around it (what the buffer holds),
                # for the local-maximum test.
                full_lo, full_hi = max(base + k, t0 - k // 2), min(self.count, t1 + k // 2)
                fidx = np.arange(full_lo - base, full_hi - base)
                fchange = np.sqrt(np.square(y[fidx] - y[fidx - k]).mean(axis=1)) / 255.0
                change = fchange[t0 - full_lo : t1 - full_lo]
                for j in np.flatnonzero(change >= prm.min_change):
                    t = t0 + int(j)
                    a, b = t - k // 2 - full_lo, t + k // 2 + 1 - full_lo
                    window = fchange[max(0, a) : b]
                    if change[j] >= window.max():
                        candidates.add((t, k))
        for t, k in sorted(candidates):
            if t - k <= self.last_end:
                continue
            fit = self._best_fit(x, base, t, k)
            if fit is None:
                continue
            start, end = fit.p + 1, fit.q
            self.last_end = end
            confidence = 1.0 if self._wipe(fit) else float(np.clip(1.0 - fit.residual / prm.max_residual, 0.0, 1.0))
            if self.held is not None:
                held = self.held
                if "wipe" in (held.kind, fit.kind) and start - held.end <= 2 * prm.margin and self._returns(
                        x, base, held.start - 1, fit):
                    # A front swept out of a picture and back into it: something passed in front
                    # of the lens, not two joins. (Fades through a flat frame blend instead.)
                    self.held = None
                    continue
                between = range(held.end - 1, start)  # the held one's end frame .. this one's first end
                if held.end - 1 < start and start - held.end <= prm.max_frames and all(
                        base <= f < base + len(x) and flat[f - base] for f in between):
                    # Into a flat frame and out of it (every frame from the first ramp's end to the
                    # second's start is flat): one fade or dip through black, white or a colour.
                    self.held = held._replace(end=end, confidence=max(held.confidence, confidence))
                    continue
                out.append(held.boundary())
            self.held = _Held(start, end, confidence, fit.kind)
        if self.held is not None and (upto >= self.count or upto - self.held.end > prm.max_frames + prm.margin):
            out.append(self.held.boundary())
            self.held = None
        self.done = upto
        return out

    def _returns(self, x: np.ndarray, base: int, before: int, fit: Fit) -> bool:
        """True when ``fit`` ends on (nearly) the picture of frame ``before``, where an earlier
        transition began (closer to it than half of either transition's change), and what lay
        between them was a plain surface where the picture changes (detail under
        ``min_wipe_detail``): something passed in front of the lens."""
        if before < base:
            return False
        back = _rms(x[fit.q - base], x[before - base])
        first = _rms(x[fit.p - base], x[before - base])
        if back >= 0.5 * min(first, fit.change):
            return False
        # Something passing the lens covers the picture with a plain surface in between; a
        # picture there is a shot of its own (A, B, then a shot much like A: an edit).
        d = x[fit.q - base] - x[fit.p - base]
        return _detail(x[fit.p - base], _changed_cells(d)) < self.params.min_wipe_detail

    def _best_fit(self, x: np.ndarray, base: int, t: int, k: int) -> Fit | None:
        """The widest-change acceptable blend around the candidate pair ``(t - k, t)``."""
        prm = self.params
        lo = max(base, self.last_end, t - k - prm.margin)
        hi = min(base + len(x) - 1, t + prm.margin)
        best: Fit | None = None
        # A few starting pairs: the candidate pair itself and pairs widened by the margin. The
        # frames of a shot on either side fit a blend too (weight 0 or 1), so the candidate pair
        # usually holds the whole transition; growing and trimming below settle its ends.
        m = prm.margin
        for p, q in ((t - k, t), (t - k - m, t + m), (t - k - m, t), (t - k, t + m)):
            p, q = max(p, lo), min(q, hi)
            if q - p < 3 or q - p - 1 > prm.max_frames:
                continue  # at least two frames between the ends: one odd frame is a flash or a cut
            fit = _fit_at(x, base, p, q)
            # A front sweeping in order is stronger evidence than a wider change: such a fit
            # wins over any that is not one.
            if self._acceptable(fit) and (best is None or (self._wipe(fit), fit.change) > (self._wipe(best), best.change)):
                best = fit
        if best is None:
            return None
        # Grow the ends outwards while the blend still holds and the ends move further apart: a
        # long ramp can outrun the candidate's window. The residual a grown fit may leave is
        # bounded in absolute terms, by what the starting fit was allowed: relative to a growing
        # change it would let a fade from white run on into the next fade to black (white to
        # black explains a darkening picture well relative to their large difference).
        last = base + len(x) - 1
        allowed = prm.max_residual * best.change**2
        for step in (1, -1):
            while True:
                p, q = (best.p, best.q + 1) if step == 1 else (best.p - 1, best.q)
                if p < max(base, self.last_end) or q > last or q - p - 1 > prm.max_frames:
                    break  # (never back into the previous transition)
                fit = _fit_at(x, base, p, q)
                if (not self._acceptable(fit) or fit.change <= best.change or fit.residual * fit.change**2 > allowed
                        or self._wipe(best) and not self._wipe(fit)):  # (nor grow a wipe out of its order)
                    break
                best = fit
        best = self._trim(x, base, best)
        if self._wipe(best):
            return best
        w = min(best.q - best.p, 16)
        p, q = best.p - base, best.q - base
        allowed = prm.max_surround_ratio * best.change
        if any(_drift(x, end, side, w) > allowed for end, side in ((p, -1), (q, 1))):
            # The picture moves around the transition: compare like with like, the change
            # around it and the transition's own change, each with the best translation undone
            # (a pan seen as a blend leaves nothing once undone, a dissolve does).
            pairs = ((x[p], x[max(0, p - w)]), (x[min(len(x) - 1, q + w)], x[q]))
            allowed = prm.max_surround_ratio * self._moved(x[p], x[q])
            if any(self._moved(a, b) > allowed for a, b in pairs):
                return None
        return best

    def _moved(self, a: np.ndarray, b: np.ndarray) -> float:
        """``_rms`` of two cell vectors after the best translation up to ``surround_shift``."""
        grid = (_CELLS_H, _CELLS_W, 3)
        return moved_rms(a.reshape(grid), b.reshape(grid), self.params.surround_shift) / 255.0

    def _wipe(self, fit: Fit) -> bool:
        """A wipe whose front sweeps across the frame in order (``min_wipe_order``)."""
        prm = self.params
        return (fit.kind == "wipe" and fit.order >= prm.min_wipe_order and fit.detail >= prm.min_wipe_detail
                and fit.change >= prm.min_change
                and fit.residual <= prm.max_wipe_residual and fit.monotone and fit.step_share <= prm.max_wipe_step_share)

    def _acceptable(self, fit: Fit) -> bool:
        prm = self.params
        if self._wipe(fit):
            return True
        return (fit.change >= prm.min_change and fit.residual <= prm.max_residual and fit.monotone
                and fit.step_share <= prm.max_step_share)

    def _trim(self, x: np.ndarray, base: int, fit: Fit) -> Fit:
        """Move the ends inwards past frames that still belong to the shot on that side: frames
        (almost) equal to the end frame itself, and, in a dissolve, frames whose blend weight is
        within ``end_weight`` of the end's."""
        p, q = fit.p, fit.q
        a, b = x[p - base], x[q - base]
        d = b - a
        energy = float(d @ d) + 1e-6
        w = self.params.end_weight if fit.kind == "dissolve" else -1.0

        def near(f: int, end: np.ndarray, sign: float) -> bool:
            # Each frame is compared with the END itself, not with its neighbour: the steps of a
            # slow ramp are all small, and walking neighbour to neighbour would trim it away.
            r = x[f - base] - end
            return float(r @ r) / energy < 0.0025 or sign * float(r @ d) / energy < w

        while q - p > 3 and near(p + 1, a, 1.0):
            p += 1
        while q - p > 3 and near(q - 1, b, -1.0):
            q -= 1
        return replace(fit, p=p, q=q)
