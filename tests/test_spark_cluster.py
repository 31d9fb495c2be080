"""The feature jobs on a real Spark standalone cluster (a master and two workers on loopback),
selected by configuration alone (``REELHOUSE_SPARK_MASTER=spark://...``).

``infra/scripts/spark_cluster.sh`` starts the cluster from the pyspark distribution in the venv. The
main job runs as a user would run it (``reelhouse run``, a separate process, so its Spark driver is
new); the master's own status page then proves where the work ran.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelhouse.config import Settings
from reelhouse.features import registry
from reelhouse.lakehouse import FeatureStore

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "infra" / "scripts" / "spark_cluster.sh"


def _free_port_pair() -> int:
    """A port P with P + 1 also free (the master's web UI)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair")


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, int]]:
    folder = Path(tempfile.mkdtemp(prefix="reelhouse-spark-"))
    port = _free_port_pair()
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    started = subprocess.run(["bash", str(SCRIPT), "start", str(folder), str(port), "2"], capture_output=True, text=True,
                             timeout=300, env=env)
    try:
        if started.returncode != 0:
            raise RuntimeError(f"the Spark cluster did not start: {started.stderr[-2000:]}")
        yield started.stdout.strip().splitlines()[-1], port + 1
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _master_state(webui: int) -> dict:
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:{webui}/json/", timeout=5))


def test_the_main_job_runs_its_spark_jobs_on_the_cluster(cluster, tmp_path: Path):
    from reelhouse.samples import build_sample_library, real_clips

    master, webui = cluster
    state = _master_state(webui)
    assert sum(w["state"] == "ALIVE" for w in state["workers"]) == 2 and not state["completedapps"]
    home = tmp_path / "home"
    build_sample_library(home / "landing", seconds_per_title=6.0, n_titles=1, seed=4)
    shutil.copyfile(real_clips()["bikes"], home / "landing" / "bikes.mp4")
    env = {**os.environ, "REELHOUSE_HOME": str(home), "REELHOUSE_SPARK_MASTER": master, "PYSPARK_PYTHON": sys.executable,
           "REELHOUSE_CONTEXTUAL__OVERRIDES": json.dumps({"steps": 10})}
    run = subprocess.run([str(Path(sys.executable).with_name("reelhouse")), "run", "--no-samples"], env=env,
                         capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    store = FeatureStore.from_settings(Settings(home=home))
    ok = store.read("media", "status == 'ok'", selected_fields=("video_id",)).num_rows
    assert ok == 2
    shots = store.read("shots", selected_fields=("video_id", "shot_index")).num_rows
    embeddings = store.read("shot_embeddings", selected_fields=("feature",)).column("feature").to_pylist()
    # Every per-shot feature (visual, colour, layout, audio, text, contextual, ...) exists for every shot.
    assert shots > 0 and {f: embeddings.count(f) for f in set(embeddings)} == {f: shots for f in set(embeddings)}
    assert set(embeddings) == set(registry.searchable())
    # The master ran the driver's application on its workers; nothing ran in a local[*] master.
    apps = _master_state(webui)["completedapps"] + _master_state(webui)["activeapps"]
    assert [a["name"] for a in apps] == ["reelhouse"]
    assert apps[0]["cores"] >= 1
