"""The read-only HTTP API (``reelhouse serve``): the CLI's lookups over HTTP, with an OpenAPI schema.

Endpoints (all ``GET``; any other method is answered 405):

- ``/health``; ``/titles`` and ``/titles/{title}``; ``/titles/{title}/shots?start_s=&end_s=`` (shots-between);
  ``/titles/{title}/scenes`` (scenes and chapters); ``/titles/{title}/artwork?k=`` (artwork candidates);
  ``/titles/{title}/tags`` (tag scores per shot); ``/tags`` (the trained tags) and ``/tags/{tag}/shots?k=&titles=``;
- ``/similar/{title}/{shot_index}?k=&titles=&embedding=`` (faiss: visual by default, or any shot embedding);
- ``/match-cuts?titles=&flavor=&k=&scope=&min_gap=`` and ``/match-cuts/sheet.png`` (the contact sheet);
- ``/search/text?q=&k=&mode=&titles=`` (subtitle search);
- ``/regions?label=&min_area=&max_area=&x_min=&x_max=&y_min=&y_max=&titles=&k=`` (shots by where a face is).

Titles are video ids, unique id prefixes (6+ characters) or file names, as in the CLI. List answers
are paginated with ``limit`` and ``offset`` and say ``total`` and ``next_offset`` (null on the last
page). Errors are ``{"detail": message}``: 404 for an unknown title or shot, 422 for a bad parameter,
503 while the features a lookup needs are not stored yet.

Answers come from a served state (``reelhouse.api.served``): every table pinned at one snapshot, the
hot lookups and the visual index in memory, swapped whole by a refresher when the catalog moves on;
each answer names its state in the ``X-Reelhouse-Snapshot`` header. Every answer is computed by the
same library functions the CLI calls (``reelhouse.search``), so the two agree on the same snapshot.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Literal

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from reelhouse.api import models as m
from reelhouse.api.served import SNAPSHOT_HEADER, Served, ServedState, request_thread
from reelhouse.config import Settings
from reelhouse.features.registry import searchable
from reelhouse.search.match_cuts import FLAVORS

#: Largest ``k`` (results computed) and ``limit`` (results per page).
MAX_K = 1000
#: Largest number of pairs drawn on one match-cut sheet.
MAX_SHEET_PAIRS = 200


# Parameters --------------------------------------------------------------------------------
Limit = Annotated[int, Query(ge=1, le=MAX_K, description="most items on this page")]
Offset = Annotated[int, Query(ge=0, description="position of the page's first item in the whole list")]
K = Annotated[int, Query(ge=1, le=MAX_K, description=f"results to compute, best first (1-{MAX_K}); pages are cut from them")]
TitleRef = Annotated[str, PathParam(description="video id, unique id prefix (6+ characters) or file name")]
#: One ``titles`` value: at least one title reference (a character that is neither a comma nor a space),
#: so ``titles=`` and ``titles=,`` are refused by the schema itself, as the OpenAPI document declares.
TitleRefs = Annotated[str, StringConstraints(pattern=r"[^,\s]")]
TitlesParam = Annotated[list[TitleRefs] | None, Query(
    min_length=1, description="titles to search among: comma-separated and/or repeated video ids, id prefixes or "
                              "file names; when given, it must name at least one title")]

# Documented as an enum but checked by match_cuts.flavor_spec, so a bad flavor gets its message.
Flavor = Annotated[str, Query(description=f"the similarity: {', '.join(FLAVORS)} (see reelhouse.search.match_cuts)",
                              json_schema_extra={"enum": list(FLAVORS)})]
Embedding = Annotated[Literal[tuple(searchable())], Query(  # type: ignore[valid-type]  # the registry's names
    description="the shot embedding compared: " + ", ".join(searchable()) + " (contextual: the encoder trained on "
                "the catalog)")]
Scope = Annotated[Literal["all", "within", "across"], Query(description="pairs within a title, across titles, or both")]
MinGap = Annotated[int, Query(ge=0, le=MAX_K, description="within a title, shots at most this many apart never pair")]
PickedTitles = Annotated[list[TitleRefs], Query(
    min_length=1, description="comma-separated and/or repeated video ids, id prefixes or file names (at least one)")]
PerShot = Annotated[int, Query(ge=0, le=MAX_K, description="each shot in at most this many returned pairs, as "
                                                            "either side (0: no limit)")]
RankBy = Annotated[Literal["csls", "cosine"], Query(description="csls (hub-aware: no shot is everyone's match) or raw "
                                                                "cosine")]
SheetK = Annotated[int, Query(ge=1, le=MAX_SHEET_PAIRS, description=f"pairs to draw (1-{MAX_SHEET_PAIRS})")]
StartS = Annotated[float | None, Query(allow_inf_nan=False, description="seconds of the standardized encode; default 0")]
EndS = Annotated[float | None, Query(allow_inf_nan=False, description="seconds, exclusive; default: the title's end")]
Words = Annotated[str, Query(min_length=1, max_length=1000, description="the words")]
Mode = Annotated[Literal["semantic", "literal"], Query(description="semantic: by meaning; literal: every word must appear")]
ShotIndex = Annotated[int, PathParam(ge=0, description="the shot's number in its title, from 0")]
Unit = Annotated[float, Query(ge=0.0, le=1.0, allow_inf_nan=False, description="a share of the frame (0-1): area, or "
                                                                              "x from the left edge, y from the top")]


def served_of(app: FastAPI) -> Served:
    """The app's :class:`Served` (made, and its refresher started, here if the app runs without its lifespan)."""
    served = app.state.served
    if served is None:
        with app.state.lock:
            served = app.state.served
            if served is None:
                served = Served(app.state.settings)
                served.start()
                app.state.served = served
    return served


async def state_of(request: Request) -> ServedState:
    """The state this request is answered from: the current one, taken once (its token goes in the
    response's ``X-Reelhouse-Snapshot`` header)."""
    served = request.app.state.served
    if served is None:
        served = await run_in_threadpool(served_of, request.app)
    state = served.current
    request.scope[_SCOPE_KEY] = state.token
    return state


State = Annotated[ServedState, Depends(state_of)]
#: Where a request's scope keeps the token of the state that answers it.
_SCOPE_KEY = "reelhouse.snapshot"


class ServingHeaders:
    """ASGI middleware: refuses every method but GET (405, ``Allow: GET``), and stamps each response with
    the token of the state that answered it (``X-Reelhouse-Snapshot``; absent when no state was taken)."""

    def __init__(self, app) -> None:  # noqa: ANN001  # any ASGI app
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] != "GET":
            response = JSONResponse({"detail": f"the reelhouse API is read-only: {scope['method']} is not allowed, "
                                               "only GET"}, status_code=405, headers={"Allow": "GET"})
            await response(scope, receive, send)
            return

        async def stamped(message) -> None:  # noqa: ANN001
            if message["type"] == "http.response.start" and _SCOPE_KEY in scope:
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (SNAPSHOT_HEADER.lower().encode(), scope[_SCOPE_KEY].encode())]
            await send(message)

        await self.app(scope, receive, stamped)


NOT_FOUND = {404: {"model": m.Error, "description": "unknown or ambiguous title, or unknown shot"}}
INVALID = {422: {"model": m.ValidationError, "description": "a parameter is out of range or malformed"}}
NOT_READY = {503: {"model": m.Error, "description": "the features this lookup needs are not stored yet"}}


def _refs(values: Sequence[str] | None) -> list[str] | None:
    """``["a,b", "c"] -> ["a", "b", "c"]``; None stays None (no restriction)."""
    if values is None:
        return None
    return [r.strip() for v in values for r in v.split(",") if r.strip()]


def _page(items: Sequence, offset: int, limit: int) -> tuple[list, dict]:
    total = len(items)
    end = offset + limit
    return list(items[offset:end]), {"total": total, "offset": offset, "limit": limit,
                                     "next_offset": end if end < total else None}


def _json(doc: dict) -> Response:
    """``doc`` as a JSON answer (orjson; the route's ``response_model`` documents its shape)."""
    return Response(orjson.dumps(doc), media_type="application/json")


def _joined(items: Sequence[bytes]) -> orjson.Fragment:
    """JSON objects already serialized, as one JSON array inside an answer."""
    return orjson.Fragment(b"[" + b",".join(items) + b"]")


def _not_found(exc: Exception) -> HTTPException:
    return HTTPException(404, str(exc.args[0]) if exc.args else str(exc))


def _resolve(state: ServedState, refs: Sequence[str]) -> list[str]:
    """Video ids of ``refs`` in the state (blank references skipped, repeats once); 404 for an unknown one."""
    from reelhouse.search.shot_lookup import UnknownTitle, resolve_refs

    try:
        return resolve_refs(state.resolve, refs)
    except UnknownTitle as exc:
        raise _not_found(exc) from None


def _resolve_optional(state: ServedState, titles: Sequence[str] | None) -> list[str] | None:
    refs = _refs(titles)  # never empty: each value names a title (``TitleRefs``)
    return None if refs is None else _resolve(state, refs)


def _title_of(state: ServedState, ref: str) -> str:
    [vid] = _resolve(state, [ref])
    return vid


# Validation messages -----------------------------------------------------------------------
def _bounds(request: Request, name: str) -> tuple[float | None, float | None]:
    """The ``ge``/``le`` bounds the matched route declares for parameter ``name``."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    fields = [*getattr(dependant, "query_params", []), *getattr(dependant, "path_params", [])]
    for f in fields:
        if name in (getattr(f, "alias", None), getattr(f, "name", None)):
            lo = next((x.ge for x in f.field_info.metadata if hasattr(x, "ge")), None)
            hi = next((x.le for x in f.field_info.metadata if hasattr(x, "le")), None)
            return lo, hi
    return None, None


def _problem(request: Request, err: dict) -> str:
    loc = [str(x) for x in err.get("loc", ()) if not isinstance(x, int)]  # ("query", "titles", 0): the list item
    where, name = (loc[0], loc[-1]) if len(loc) >= 2 else ("request", loc[-1] if loc else "")
    kind = {"query": "query parameter", "path": "path parameter"}.get(where, where)
    got = err.get("input")
    got_text = "" if got is None or isinstance(got, dict) else f" (got {got!r})"
    if err.get("type") in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        lo, hi = _bounds(request, name)
        if lo is not None and hi is not None:
            return f"{kind} '{name}' must be between {lo:g} and {hi:g}{got_text}"
    if err.get("type") == "string_pattern_mismatch" and name == "titles":
        return f"{kind} 'titles' names no title{got_text}"
    if err.get("type") == "missing":
        return f"{kind} '{name}' is required"
    return f"{kind} '{name}': {err.get('msg', 'invalid')}{got_text}"


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
    detail = "; ".join(_problem(request, e) for e in exc.errors())
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)


# The app -----------------------------------------------------------------------------------
def create_app(settings: Settings) -> FastAPI:
    """The read-only API over the library under ``settings`` (store and index opened in the lifespan)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.serve.threads
        served = await run_in_threadpool(Served, settings)  # the first state, visual index warm
        served.start()
        app.state.served = served
        yield
        app.state.served = None
        await run_in_threadpool(served.stop)

    app = FastAPI(
        title="reelhouse",
        version="0.1.0",
        summary="Read-only lookups over a reelhouse library: titles, shots, similar shots, match cuts, subtitle search.",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.lock = threading.Lock()
    app.state.served = None
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_middleware(ServingHeaders)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    @app.get("/health", response_model=m.Health, tags=["meta"], summary="Liveness and the snapshots served")
    def health(request: Request, state: State) -> m.Health:
        served = served_of(request.app)
        return m.Health(titles=len(state.titles), snapshot=state.token, snapshot_ids=state.snapshot_ids,
                        served_since=state.loaded_at, refresh_error=served.refresh_error,
                        recent=[m.ServedSnapshot(**d) for d in served.recent.values()],
                        shot_embeddings_snapshot_id=state.snapshot_ids.get("shot_embeddings"),
                        visual_index_snapshot_id=state.visual_snapshot_id)

    # titles and shots ----------------------------------------------------------------------
    @app.get("/titles", response_model=m.TitlePage, tags=["titles"], summary="The library's ok titles, by video id", responses=INVALID)
    async def titles(state: State, limit: Limit = 100, offset: Offset = 0) -> Response:
        chunk, page = _page(state.title_json, offset, limit)
        return _json({"titles": _joined(chunk), **page})

    @app.get("/titles/{title}", response_model=m.Title, tags=["titles"], summary="One title", responses={**NOT_FOUND, **INVALID})
    async def title(state: State, title: TitleRef) -> Response:
        return Response(state.title_json_of(_title_of(state, title)), media_type="application/json")

    @app.get("/titles/{title}/shots", response_model=m.ShotsBetween, tags=["titles"], responses={**NOT_FOUND, **INVALID},
             summary="A title's shots overlapping [start_s, end_s) (shots-between)")
    async def shots(state: State, title: TitleRef,
                    start_s: StartS = None, end_s: EndS = None,
                    limit: Limit = 100, offset: Offset = 0) -> Response:
        from reelhouse.search.shot_lookup import shots_between

        vid = _title_of(state, title)
        frags = state.shots_json(vid)
        if start_s is not None or end_s is not None:
            rows = state.shot_rows(vid)  # in order, as frags
            try:
                found = {r["shot_index"] for r in shots_between(rows, 0.0 if start_s is None else start_s,
                                                                math.inf if end_s is None else end_s)}
            except ValueError as exc:
                raise HTTPException(422, f"bad time range: {exc}") from None
            frags = [f for r, f in zip(rows, frags) if r["shot_index"] in found]
        chunk, page = _page(frags, offset, limit)
        return _json({"video_id": vid, "start_s": start_s, "end_s": end_s, "shots": _joined(chunk), **page})

    @app.get("/titles/{title}/scenes", response_model=m.Scenes, tags=["titles"], responses={**NOT_FOUND, **INVALID, **NOT_READY},
             summary="A title's scenes and chapters (reelhouse scenes)")
    def title_scenes(state: State, title: TitleRef) -> m.Scenes:
        from reelhouse.search.scenes import NoScenes, read_scenes

        vid = _title_of(state, title)
        try:
            return m.Scenes(**read_scenes(state.store, state.settings, vid).as_json())
        except NoScenes as exc:
            raise HTTPException(503, str(exc)) from None

    @app.get("/titles/{title}/tags", response_model=m.TitleTags, tags=["titles"], responses={**NOT_FOUND, **INVALID, **NOT_READY},
             summary="A title's shots with their score per tag (reelhouse tags TITLE)")
    def title_tags(state: State, title: TitleRef) -> m.TitleTags:
        from reelhouse.features.tag_models import NoTagProbes
        from reelhouse.search.tags import title_tags

        vid = _title_of(state, title)
        try:
            return m.TitleTags(**title_tags(state.store, state.settings, vid).as_json())
        except NoTagProbes as exc:
            raise HTTPException(503, str(exc)) from None

    @app.get("/tags", response_model=m.TagSet, tags=["search"], responses={**NOT_READY},
             summary="The trained tags, with their cross-validated average precision")
    def tag_set(state: State) -> m.TagSet:

        from reelhouse.features.tag_models import NoTagProbes
        from reelhouse.search.tags import probe_set

        try:
            probes = probe_set(state.settings)
        except NoTagProbes as exc:
            raise HTTPException(503, str(exc)) from None
        return m.TagSet(content_version=probes.content_version, feature_version=probes.feature_version,
                        tags=[m.TagInfo(**asdict(t)) for t in probes.tags])

    @app.get("/tags/{tag}/shots", response_model=m.TagSearch, tags=["search"], responses={**NOT_FOUND, **INVALID, **NOT_READY},
             summary="The shots scoring highest for a tag, best first (reelhouse search-tag)")
    def tag_shots(state: State, tag: Annotated[str, PathParam(min_length=1, max_length=64)],
                  k: Annotated[int, Query(ge=1, le=MAX_K, description="most shots")] = 10,
                  titles: Annotated[list[TitleRefs] | None, Query(description="titles to search among")] = None) -> m.TagSearch:
        from reelhouse.features.tag_models import NoTagProbes
        from reelhouse.search.tags import UnknownTag, search_tag

        try:
            hits = search_tag(state.store, state.settings, tag, k, _resolve_optional(state, titles))
        except UnknownTag as exc:
            raise HTTPException(404, str(exc)) from None
        except NoTagProbes as exc:
            raise HTTPException(503, str(exc)) from None
        return m.TagSearch(tag=tag, results=[m.TaggedShot(**h.as_json()) for h in hits])

    @app.get("/titles/{title}/artwork", response_model=m.Artwork, tags=["titles"], responses={**NOT_FOUND, **INVALID, **NOT_READY},
             summary="A title's best frames for artwork (reelhouse artwork)")
    def title_artwork(state: State, title: TitleRef,
                      k: Annotated[int, Query(ge=1, le=12, description="how many, best first")] = 6) -> m.Artwork:
        from reelhouse.search.artwork import NoArtwork, read_artwork

        vid = _title_of(state, title)
        try:
            found = read_artwork(state.store, state.settings, vid, k)
        except NoArtwork as exc:
            raise HTTPException(503, str(exc)) from None
        return m.Artwork(video_id=vid, candidates=[m.ArtworkCandidate(shot_index=c.shot_index, time_s=c.time_s,
                                                                      score=round(c.score, 6)) for c in found])

    @app.get("/regions", response_model=m.Regions, tags=["search"], responses={**NOT_FOUND, **INVALID},
             summary="Shots by region: where on the frame a face is and how much of it it fills (reelhouse regions)")
    def regions(state: State, label: Annotated[str, Query(min_length=1, max_length=40, description="region label")] = "face",
                min_area: Unit = 0.0, max_area: Unit = 1.0, x_min: Unit = 0.0, x_max: Unit = 1.0, y_min: Unit = 0.0,
                y_max: Unit = 1.0, titles: Annotated[list[TitleRefs] | None, Query(description="titles to search among")] = None,
                k: Annotated[int, Query(ge=1, le=MAX_K, description="most shots")] = 50) -> m.Regions:

        from reelhouse.search.regions import RegionQuery, find_regions

        try:
            query = RegionQuery(label, min_area, max_area, x_min, x_max, y_min, y_max)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        hits = find_regions(state.store, state.settings, query, _resolve_optional(state, titles), k)
        return m.Regions(query=asdict(query), results=[m.RegionHit(**asdict(h)) for h in hits])

    # similar -------------------------------------------------------------------------------
    @app.get("/similar/{title}/{shot_index}", response_model=m.Similar, tags=["search"],
             responses={**NOT_FOUND, **INVALID, **NOT_READY}, summary="Shots most like one shot (faiss over the chosen shot embedding)")
    async def similar(request: Request, state: State, title: TitleRef, shot_index: ShotIndex, k: K = 10,
                      titles: TitlesParam = None, embedding: Embedding = "visual", limit: Limit = 100,
                      offset: Offset = 0) -> Response:
        vid = _title_of(state, title)
        among = _resolve_optional(state, titles)

        def search():  # off the event loop: faiss (and, on first use, loading another embedding's index)
            try:
                index = state.index(embedding)
            except LookupError as exc:
                raise HTTPException(503, str(exc)) from None
            try:
                return index, index.similar(vid, shot_index, k, among)
            except KeyError as exc:
                raise _not_found(exc) from None

        index, hits = await served_of(request.app).off_loop(search)
        chunk, page = _page(hits, offset, limit)
        return _json({"video_id": vid, "shot_index": shot_index, "embedding": embedding, "feature": index.feature,
                      "feature_version": index.feature_version, "snapshot_id": index.snapshot_id,
                      "results": [{"video_id": h.video_id, "shot_index": h.shot_index, "score": round(h.score, 6)}
                                  for h in chunk], **page})

    # match cuts ----------------------------------------------------------------------------
    def _match_cuts(state: ServedState, titles: list[str], flavor: str, k: int, scope: str, min_gap: int,
                    per_shot: int, rank_by: str):
        from reelhouse.search.match_cuts import UnknownFlavor, find_match_cuts, flavor_spec

        request_thread()
        try:
            flavor_spec(state.settings, flavor)
        except UnknownFlavor as exc:
            raise HTTPException(422, str(exc)) from None
        ids = _resolve(state, _refs(titles) or [])  # PickedTitles: at least one value, each naming a title
        found = state.memo(("match-cuts", tuple(sorted(ids)), flavor, k, scope, min_gap, per_shot, rank_by), lambda: find_match_cuts(
            state.store, state.settings, ids, flavor, n_pairs=k, candidates_per_shot=max(k, 10), scope=scope,
            min_gap=min_gap, rank_by=rank_by, max_per_shot=per_shot or None, vectors=state.shot_vectors))
        return ids, found

    @app.get("/match-cuts", response_model=m.MatchCuts, tags=["search"], responses={**NOT_FOUND, **INVALID},
             summary="Match-cut candidates among the picked titles (computed at query time)")
    async def match_cuts(request: Request, state: State, titles: PickedTitles, flavor: Flavor = "visual", k: K = 20,
                         scope: Scope = "all", min_gap: MinGap = 1, per_shot: PerShot = 1, rank_by: RankBy = "csls",
                         limit: Limit = 100, offset: Offset = 0) -> m.MatchCuts:
        ids, found = await served_of(request.app).off_loop(
            lambda: _match_cuts(state, titles, flavor, k, scope, min_gap, per_shot, rank_by))
        chunk, page = _page(found.pairs, offset, limit)
        spans = state.shot_spans(ids)

        def shot(vid: str, idx: int) -> m.ShotRef:
            span = spans.get((vid, idx), {})
            return m.ShotRef(video_id=vid, shot_index=idx, start_s=span.get("start_s"), end_s=span.get("end_s"))

        return m.MatchCuts(flavor=found.flavor, feature=found.feature, feature_version=found.feature_version,
                           titles=found.video_ids, shots_compared=found.shots_compared, rank_by=found.rank_by,
                           per_shot=found.max_per_shot or 0,
                           pairs=[m.MatchCutPair(out=shot(p.video_id, p.shot_index), in_=shot(p.other_video_id, p.other_shot_index),
                                                 score=round(p.score, 6), csls=round(p.csls, 6),
                                                 percentile=round(p.percentile or 0.0, 3)) for p in chunk], **page)

    @app.get("/match-cuts/sheet.png", response_class=Response, tags=["search"],
             responses={200: {"content": {"image/png": {}}, "description": "the pairs, best first: the outgoing shot's last "
                              "representative frame next to the incoming shot's first, with score and timecodes"}, **NOT_FOUND, **INVALID},
             summary="Match-cut candidates drawn as a contact sheet (PNG)")
    async def match_cut_sheet_png(request: Request, state: State, titles: PickedTitles, flavor: Flavor = "visual",
                                  k: SheetK = 20, scope: Scope = "all", min_gap: MinGap = 1, per_shot: PerShot = 1,
                                  rank_by: RankBy = "csls") -> Response:
        from reelhouse.search.shot_lookup import cut_pictures
        from reelhouse.viz.match_sheet import match_cut_sheet_png, search_heading

        def draw() -> bytes:  # off the event loop: the search, then decoding frames
            ids, found = _match_cuts(state, titles, flavor, k, scope, min_gap, per_shot, rank_by)
            return match_cut_sheet_png(cut_pictures(state.store, state.settings, found.pairs), search_heading(found))

        return Response(await served_of(request.app).off_loop(draw), media_type="image/png")

    # subtitle search -----------------------------------------------------------------------
    @app.get("/search/text", response_model=m.TextSearch, tags=["search"], responses={**NOT_FOUND, **INVALID, **NOT_READY},
             summary="Shots whose subtitles match words, by meaning (MiniLM) or literally")
    def search_text(state: State, q: Words, k: K = 10, mode: Mode = "semantic",
                    titles: TitlesParam = None, limit: Limit = 100, offset: Offset = 0) -> m.TextSearch:
        from reelhouse.search.text_search import search_text as search

        request_thread()
        among = _resolve_optional(state, titles)
        try:
            if mode == "semantic":
                with state.text_lock:
                    hits = search(state.store, state.settings, state.settings.index_root, q, k, among, mode)
            else:
                hits = search(state.store, state.settings, state.settings.index_root, q, k, among, mode)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        except LookupError as exc:
            raise HTTPException(503, str(exc.args[0]) if exc.args else str(exc)) from None
        chunk, page = _page(hits, offset, limit)
        return m.TextSearch(query=q, mode=mode, results=[m.TextHit(**h.__dict__) for h in chunk], **page)

    return app


def app_from_environment() -> FastAPI:
    """The app over the library the environment names (``REELHOUSE_*``, the config file): the factory
    ``reelhouse serve`` hands uvicorn, so each worker process builds its own."""
    from reelhouse.config import get_settings

    return create_app(get_settings())
