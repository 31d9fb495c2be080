"""What the HTTP API serves: one immutable state per set of table snapshots, swapped whole by a refresher.

A :class:`ServedState` pins every table of the store (:class:`reelhouse.lakehouse.PinnedStore`) and
holds in memory what the hot endpoints need: the ok titles and how references resolve to them, each
title's file name, duration and shots, and the visual ANN index (memory-mapped, so the API's worker
processes share one copy). Other indexes, and the picked titles' vectors of a match-cut search, come
from the indexes of the same state, built or loaded on first use. Everything else an endpoint reads
goes through the pinned store, so it sees the same snapshots.

:class:`Served` keeps the current state and a refresher thread: every ``refresh_s`` seconds it compares
the catalog's snapshot ids with the state's and, when a table moved on, builds the next state beside the
current one (requests keep being answered from the current one meanwhile) and swaps it in with one
reference assignment. A request takes the current state once, at its start, and answers from it alone:
no request waits on a reload, and none mixes two snapshots. Each state has a ``token`` (a digest of its
snapshot ids) that every response carries in the ``X-Reelhouse-Snapshot`` header; ``/health`` maps the
recent tokens to their snapshot ids.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TypeVar

import numpy as np
import orjson
from pyiceberg.expressions import And, EqualTo

from reelhouse.api.models import Shot
from reelhouse.config import Settings
from reelhouse.features import FeatureSpec
from reelhouse.lakehouse import FeatureStore, PinnedStore, snapshot_ids

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The response header naming the served state an answer came from.
SNAPSHOT_HEADER = "X-Reelhouse-Snapshot"
#: Tries at pinning the tables while no commit lands (then the last pin is served: see ``PinnedStore``).
PIN_ATTEMPTS = 3
#: Titles whose shots' JSON a state keeps (most recently asked).
SHOTS_JSON_CACHE = 4096
#: The fields of a shot an answer gives.
SHOT_FIELDS = tuple(Shot.model_fields)
#: Computed answers a state keeps (``ServedState.memo``).
ANSWERS_KEPT = 64
#: Recent states remembered for ``/health`` (token -> snapshot ids).
RECENT_STATES = 32


def request_thread() -> None:
    """Make the calling thread's faiss searches single-threaded: a request searches for one shot, where
    OpenMP's team start costs more than it saves (3x at 15k vectors), and the API's concurrency comes
    from its threads and processes. OpenMP's thread count is per calling thread: other threads (an
    index build in the refresher) keep theirs."""
    import faiss

    faiss.omp_set_num_threads(1)


def single_threaded_numpy_blas():  # noqa: ANN201
    """Limit numpy's BLAS (OpenBLAS on pthreads, one thread count per process) to one thread, as
    ``request_thread`` does faiss's: a match-cut search's cosine matrix is one matrix product per request,
    and the API's concurrency comes from its requests. Returns the limiter (``restore_original_limits()``
    undoes it). faiss's own BLAS follows each thread's OpenMP count and is not touched (an index build in
    the refresher keeps every core)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(prefix="libscipy_openblas").limit(limits=1)  # criteria are OR-ed: prefix only


def state_token(ids: dict[str, int | None]) -> str:
    """A short, stable name of a set of table snapshots: 16 hex digits of the SHA-256 of the sorted ids."""
    return hashlib.sha256(json.dumps(sorted(ids.items())).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TitleInfo:
    """One ok title as ``/titles`` lists it."""

    video_id: str
    file_name: str
    duration_s: float | None
    shot_count: int


class ServedState:
    """One set of table snapshots and the lookups built from it (immutable once built).

    Args:
        settings: the library's settings.
        store: the store to pin (read at the moment this is called).
        warm: embeddings whose index is loaded (or built once and saved) now rather than on first use.
    """

    def __init__(self, settings: Settings, store: FeatureStore, warm: Sequence[str] = ("visual",)) -> None:
        from reelhouse.features.specs import media_spec, shots_spec
        from reelhouse.search.shot_lookup import file_name_of, title_resolver

        self.settings = settings
        for _ in range(PIN_ATTEMPTS):  # pinned while no commit landed: one moment of the catalog
            self.store = PinnedStore(store)
            self.snapshot_ids = self.store.snapshot_ids()
            if snapshot_ids(store) == self.snapshot_ids:
                break
        self.token = state_token(self.snapshot_ids)
        self.resolve = title_resolver(self.store)

        media = self.store.read("media", f"feature_version == '{media_spec().version}'",
                                selected_fields=("video_id", "source_uri", "status", "duration_s"))
        spec = shots_spec(settings)
        shots = self.store.read("shots", And(EqualTo("feature", spec.name), EqualTo("feature_version", spec.version)),
                                selected_fields=("video_id", *SHOT_FIELDS))
        shots = shots.sort_by([("video_id", "ascending"), ("shot_index", "ascending")])
        self._shot_columns = [shots.column(f).to_numpy(zero_copy_only=False) for f in SHOT_FIELDS]
        vids = shots.column("video_id").to_numpy(zero_copy_only=False)
        bounds = np.flatnonzero(np.r_[True, vids[1:] != vids[:-1], True]) if len(vids) else np.zeros(1, np.int64)
        self._shot_runs = {str(vids[a]): (int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])}

        ok = sorted({r["video_id"]: r for r in media.to_pylist() if r["status"] == "ok"}.items())
        self.titles = [TitleInfo(v, file_name_of(r["source_uri"]), r["duration_s"], self.shot_count(v)) for v, r in ok]
        #: Each title as the JSON object ``/titles`` lists, in ``titles`` order (pages are joined slices).
        self.title_json = [orjson.dumps(asdict(t)) for t in self.titles]
        self._title_json_by_id = {t.video_id: j for t, j in zip(self.titles, self.title_json)}
        self.shots_json = functools.lru_cache(maxsize=SHOTS_JSON_CACHE)(self._shots_json)
        from reelhouse.features.registry import searchable

        #: The searchable embeddings' specs at their current versions (computed once: not per request).
        self.specs: dict[str, FeatureSpec] = {name: make(settings) for name, make in searchable().items()}
        self._indexes: dict[str, object] = {}
        self._index_lock = threading.Lock()
        self.text_lock = threading.Lock()  # semantic search may build and save the text index
        self._answers: OrderedDict[tuple, object] = OrderedDict()
        self._answers_lock = threading.Lock()
        self.loaded_at = time.time()
        for name in warm:
            try:
                self.index(name)
            except LookupError:
                pass  # no such embeddings yet: their endpoints answer 503 from this state

    # titles and shots ----------------------------------------------------------------------
    def shot_count(self, video_id: str) -> int:
        a, b = self._shot_runs.get(video_id, (0, 0))
        return b - a

    def shot_rows(self, video_id: str) -> list[dict]:
        """The title's shots (current shots version) ordered by shot index, each a dict of ``SHOT_FIELDS``
        (``shot_index``, frames ``[start_frame, end_frame)``, seconds ``[start_s, end_s)``, ``transition``)."""
        a, b = self._shot_runs.get(video_id, (0, 0))
        return [dict(zip(SHOT_FIELDS, values)) for values in zip(*(c[a:b].tolist() for c in self._shot_columns))]

    def title_json_of(self, video_id: str) -> bytes:
        return self._title_json_by_id[video_id]

    def _shots_json(self, video_id: str) -> list[bytes]:
        """The title's shots, each as the JSON object ``/titles/{t}/shots`` lists (kept for the
        ``SHOTS_JSON_CACHE`` titles asked most recently)."""
        return [orjson.dumps(r) for r in self.shot_rows(video_id)]

    def shot_spans(self, video_ids: Sequence[str]) -> dict[tuple[str, int], dict]:
        """``(video_id, shot_index) -> shot`` (``shot_rows``) of the titles."""
        return {(v, r["shot_index"]): r for v in video_ids for r in self.shot_rows(v)}

    # indexes and vectors -------------------------------------------------------------------
    def index(self, embedding: str = "visual"):
        """The ANN index of ``embedding`` (a name of ``registry.searchable``) at this state's
        ``shot_embeddings`` snapshot: loaded memory-mapped, or built once and saved by the first process
        that needs it.

        Raises:
            LookupError: no such embeddings are stored in this state.
        """
        from reelhouse.search import ann

        spec = self.specs[embedding]
        found = self._indexes.get(spec.name)
        if found is None:
            with self._index_lock:
                found = self._indexes.get(spec.name)
                if found is None:
                    found, _ = ann.load_or_build(self.store, self.settings.index_root, spec, mmap=True)
                    self._indexes[spec.name] = found
        return found

    def shot_vectors(self, spec: FeatureSpec, video_ids: Sequence[str]):
        """The titles' vectors of ``spec`` (``match_cuts.ShotVectors``) from this state's index of that
        embedding when it holds ``spec``'s version, else read from the pinned store."""
        from reelhouse.search.match_cuts import ShotVectors, load_shot_vectors

        names = {s.name: name for name, s in self.specs.items()}
        if spec.name in names:
            try:
                index = self.index(names[spec.name])
            except LookupError:
                index = None
            if index is not None and index.feature_version == spec.version:
                vids, shots, vectors = index.title_vectors(sorted(set(video_ids)))
                return ShotVectors(vids, shots, vectors)
        return load_shot_vectors(self.store, spec, video_ids)

    def memo(self, key: tuple, compute: Callable[[], T]) -> T:
        """``compute()``'s answer, kept for this state under ``key`` (the ``ANSWERS_KEPT`` most recently
        used): a state never changes, so neither does an answer computed from it (a match-cut search
        asked again for its next page, or drawn as a sheet, is not searched again)."""
        with self._answers_lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                return self._answers[key]  # type: ignore[return-value]
        value = compute()
        with self._answers_lock:
            self._answers[key] = value
            while len(self._answers) > ANSWERS_KEPT:
                self._answers.popitem(last=False)
        return value

    @property
    def visual_snapshot_id(self) -> int | None:
        from reelhouse.features.specs import visual_spec

        index = self._indexes.get(visual_spec(self.settings).name)
        return getattr(index, "snapshot_id", None)

    def describe(self) -> dict:
        return {"token": self.token, "snapshot_ids": self.snapshot_ids, "loaded_at": self.loaded_at}


class Served:
    """The API's current :class:`ServedState` and the refresher that replaces it.

    Args:
        settings: the library's settings (``settings.serve.refresh_s``: seconds between looks).
        on_swap: called with each new state once it is current (tests and logs).
    """

    def __init__(self, settings: Settings, on_swap: Callable[[ServedState], None] | None = None) -> None:
        self.settings = settings
        self._store = FeatureStore.from_settings(settings)
        self._store.ensure_tables()
        self._on_swap = on_swap
        self.recent: OrderedDict[str, dict] = OrderedDict()
        self.refresh_error: str | None = None
        self._refresh_lock = threading.Lock()
        #: Where searches run, off the event loop: ``serve.threads`` threads, each searching single-threaded.
        self.pool = ThreadPoolExecutor(settings.serve.threads, thread_name_prefix="reelhouse-search",
                                       initializer=request_thread)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._blas = single_threaded_numpy_blas()
        self.current = self._swap(ServedState(settings, self._store))

    def _swap(self, state: ServedState) -> ServedState:
        self.recent[state.token] = state.describe()
        self.recent.move_to_end(state.token)
        while len(self.recent) > RECENT_STATES:
            self.recent.popitem(last=False)
        self.current = state  # one reference assignment: a request sees the old state or the new, whole
        if self._on_swap:
            self._on_swap(state)
        return state

    def refresh(self) -> bool:
        """Build and swap in a new state if any table moved on since the current one. Returns True
        when it swapped. A failure (catalog unreachable, an index that cannot be built) is kept in
        ``refresh_error`` and logged; the current state goes on being served."""
        with self._refresh_lock:
            try:
                if snapshot_ids(self._store) == self.current.snapshot_ids:
                    self.refresh_error = None
                    return False
                state = ServedState(self.settings, self._store)
            except Exception as exc:  # noqa: BLE001  # the API keeps serving what it has
                self.refresh_error = f"{type(exc).__name__}: {exc}"
                log.warning("refresh failed, still serving %s: %s", self.current.token, self.refresh_error)
                return False
            self.refresh_error = None
            if state.snapshot_ids == self.current.snapshot_ids:
                return False
            self._swap(state)
            log.info("serving %s (%s)", state.token, state.snapshot_ids)
            return True

    async def off_loop(self, fn: Callable[[], T]) -> T:
        """``fn()`` run on the search pool (the event loop goes on serving meanwhile)."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn)

    def start(self) -> None:
        """Start the refresher thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="reelhouse-refresher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.serve.refresh_s):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self._blas.restore_original_limits()

