"""The API answers from one state at a time while another process commits: ``reelhouse serve`` (two
worker processes, a fast refresher) on a small synthetic store at the registry's versions, clients
asking ``/similar``, ``/titles`` pages and the shots of titles being added, while new titles are
committed table by table (media, shots, embeddings). Every answer must succeed and agree with the
catalog at the snapshots its ``X-Reelhouse-Snapshot`` names (``benchmarks.api.mixed_answers``, tokens
resolved from the catalog's history, not from the server), and the new titles must end up served.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmarks import api as bench
from reelhouse.config import Settings
from reelhouse.lakehouse import FeatureStore, snapshot_ids
from reelhouse.samples.synthetic_catalog import video_id, write_synthetic_catalog

ROOT = Path(__file__).resolve().parents[1]
TITLES, NEW, BATCHES = 40, 6, 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served_store(tmp_path):
    settings = Settings(home=tmp_path / "home")
    spec = bench.catalog_spec(settings, TITLES, 12, 16)
    store = FeatureStore.from_settings(settings)
    write_synthetic_catalog(store, spec, titles_per_commit=TITLES, tables=bench.SERVED_TABLES, compact=False)
    port = _free_port()
    env = {**os.environ, "REELHOUSE_HOME": str(settings.home), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "reelhouse.cli", "serve", "--port", str(port), "--workers", "2",
                             "--refresh-s", "0.2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        bench.wait_ready(proc, port, timeout_s=180)
        yield settings, spec, store, port
    finally:
        bench.stop_server(proc)


def _get(port: int, path: str) -> tuple[int, dict, dict]:
    status, headers, body = asyncio.run(bench._one(port, path))
    return status, headers, json.loads(body)


def test_commits_while_clients_query_give_no_error_and_no_mixed_answer(served_store):
    settings, spec, store, port = served_store
    status, _, page = _get(port, "/titles?limit=1000")
    assert status == 200 and page["total"] == TITLES
    titles = page["titles"]
    new = [video_id(n, spec.seed) for n in range(TITLES, TITLES + NEW)]
    rng = random.Random(3)
    paths = []
    for i in range(3000):
        t = rng.choice(titles)
        paths.append([f"/similar/{t['video_id']}/{rng.randrange(t['shot_count'])}?k=5",
                      f"/titles?limit=10&offset={rng.randrange(TITLES)}", f"/titles/{new[i % NEW]}/shots"][i % 3])
    before = snapshot_ids(store)
    records: list[tuple] = []
    done = threading.Event()

    def clients() -> None:
        while not done.is_set():
            records.extend(bench.run_load(port, paths, 4, 1.5, keep_bodies=True))

    worker = threading.Thread(target=clients)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not records:  # the clients are asking before the first commit
            assert time.monotonic() < deadline and worker.is_alive()
            time.sleep(0.1)
        per = NEW // BATCHES
        for b in range(BATCHES):  # each batch: one commit per table, media first
            write_synthetic_catalog(store, spec, titles=range(TITLES + b * per, TITLES + (b + 1) * per),
                                    tables=bench.SERVED_TABLES, compact=False)
            time.sleep(0.7)
        deadline = time.monotonic() + 60
        while _get(port, "/titles?limit=1")[2]["total"] != TITLES + NEW:
            assert time.monotonic() < deadline, "the new titles were not served within 60 s"
            time.sleep(0.2)
        time.sleep(1.5)  # both workers: the refresh interval, with room
    finally:
        done.set()
        worker.join(timeout=120)
    assert len(records) > 300
    errors = [r[:3] for r in records if r[2] not in (200, 404) or (r[2] == 404 and not r[0].startswith("/titles/"))]
    assert errors == []
    tokens = {r[3] for r in records}
    assert len(tokens) >= 2  # the commits were served while the clients asked ...
    new_asked = [r[2] for r in records if r[0].startswith("/titles/")]
    assert 404 in new_asked and 200 in new_asked  # ... from before the first new title to after
    states = bench.catalog_states(store, before, tokens)
    mixed, examples = bench.mixed_answers(records, states, store, settings, new)
    assert mixed == 0, examples
    # at the end, the new titles and their shots are served
    for vid in new:
        status, _, doc = _get(port, f"/titles/{vid}/shots")
        assert status == 200 and doc["total"] > 0
        status, _, doc = _get(port, f"/similar/{vid}/0?k=3")
        assert status == 200 and doc["snapshot_id"] == store.snapshot_id("shot_embeddings")


def test_a_pinned_store_reads_the_snapshots_it_pinned_and_refuses_writes(tmp_path):
    from reelhouse.lakehouse import PinnedStore, ReadOnlyStore, new_run_id

    settings = Settings(home=tmp_path / "home")
    spec = bench.catalog_spec(settings, 5, 4, 8)
    store = FeatureStore.from_settings(settings)
    write_synthetic_catalog(store, spec, tables=bench.SERVED_TABLES, compact=False)
    pinned = PinnedStore(store)
    before = pinned.snapshot_ids()
    assert before == snapshot_ids(store)
    write_synthetic_catalog(store, spec, titles=range(5, 7), tables=bench.SERVED_TABLES, compact=False)
    assert snapshot_ids(store)["media"] != before["media"]
    assert pinned.snapshot_ids() == before  # later commits are not seen through the view
    assert pinned.read("media").num_rows == 5 and store.read("media").num_rows == 7
    with pytest.raises(ReadOnlyStore):
        pinned.replace_slices("media", {}, new_run_id())
