"""The Dagster deployment `make ui` (`dagster dev`) starts: webserver + daemon over the reelhouse instance.

A real ``dagster-webserver`` and a real ``dagster-daemon`` are started as subprocesses on a temporary
``REELHOUSE_HOME`` (with the ``dagster.yaml`` reelhouse writes: queued runs, pool limits, telemetry
off). One small generated title is dropped in the landing folder and registered as a ``titles``
partition; the ``ingest_media`` job is launched for it through GraphQL. The instance queues runs, so
only the daemon can start it: the run going from ``RUN_ENQUEUED`` to SUCCESS shows
the daemon works, and the title's ``media`` row in the real feature store shows the asset ran.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reelhouse.config import Settings, get_settings

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULE = "dagster_project.definitions"

#: Bounded waits, generous for a 2-core CI machine (every process imports dagster and the project).
SERVER_READY_S = 120.0
RUN_DONE_S = 180.0
STOP_S = 30.0

#: What a webserver or daemon without a DAGSTER_HOME would leave in its working directory.
DAGSTER_DROPPINGS = ("storage", "history", "schedules", "logs", ".logs_queue", ".telemetry", ".nux", "dagster.yaml")


def _bin(name: str) -> str:
    """A console script of this venv (next to the interpreter running the tests)."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is not installed next to {sys.executable}"
    return str(path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    """A started subprocess, in its own process group, logging to ``log``."""

    name: str
    proc: subprocess.Popen
    log: Path

    def tail(self, chars: int = 8000) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return text[-chars:]


def _start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Service:
    log = log_dir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return Service(name, proc, log)


def _stop(service: Service) -> None:
    """SIGTERM the service's process group, wait, then SIGKILL what is left."""
    pgid = service.proc.pid  # start_new_session: the leader's pid is the group id
    for sig, wait_s in ((signal.SIGTERM, STOP_S), (signal.SIGKILL, STOP_S)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        try:
            service.proc.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    # Children (code servers, run workers) share the group; make sure none outlives the test.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _graphql(port: int, query: str, variables: dict | None = None, timeout: float = 10.0) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


WORKSPACE_QUERY = """
query {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
        }
      }
    }
  }
}
"""

DAEMON_HEALTH_QUERY = """
query {
  instance { daemonHealth { allDaemonStatuses { daemonType required healthy lastHeartbeatErrors { message } } } }
}
"""


def _wait_for_webserver(port: int, services: list[Service]) -> None:
    """Until ``/server_info`` answers and the code location is loaded (bounded)."""
    deadline = time.monotonic() + SERVER_READY_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        for s in services:
            if s.proc.poll() is not None:
                pytest.fail(f"{s.name} exited early with {s.proc.returncode}:\n{s.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as resp:
                info = json.loads(resp.read())
            assert "dagster_webserver_version" in info or "dagster_version" in info, info
            ws = _graphql(port, WORKSPACE_QUERY)["data"]["workspaceOrError"]
            entries = ws.get("locationEntries") or []
            last = json.dumps(ws)
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                errors = [e for e in entries if e["locationOrLoadError"]["__typename"] != "RepositoryLocation"]
                if errors:
                    pytest.fail(f"code location failed to load: {json.dumps(errors, indent=1)}")
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError, KeyError) as exc:
            last = repr(exc)
        time.sleep(1.0)
    pytest.fail(f"webserver not ready after {SERVER_READY_S:.0f} s ({last}):\n"
                + "\n".join(f"--- {s.name} ---\n{s.tail()}" for s in services))


def _event_log(instance, run_id: str) -> str:
    """The run's event log, one line per event, with errors in full."""
    lines = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        kind = event.event_type_value if event else "LOG"
        lines.append(f"{kind:<24} {entry.step_key or '':<12} {entry.user_message or (event.message if event else '') or ''}")
        error = getattr(event.event_specific_data, "error", None) if event else None
        if error is not None:
            lines.append(error.to_string())
    return "\n".join(lines)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh REELHOUSE_HOME; DAGSTER_HOME is restored afterwards (``dagster_instance`` sets it)."""
    home = tmp_path / "home"
    monkeypatch.setenv("REELHOUSE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.delenv("REELHOUSE_CONFIG", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def title(home: Path) -> str:
    """One small generated title (about 3 s, 160x96) in the landing folder; returns its content id."""
    from reelhouse.media.landing import scan_landing
    from reelhouse.samples import generate_clip, title_spec

    settings = Settings(home=home)
    generate_clip(title_spec(0, 3.0, seed=11, width=160, height=96), settings.resolved_landing / "tiny.mp4")
    [found] = scan_landing(settings.resolved_landing, home / "landing-index.json")
    return found.video_id


@pytest.fixture
def instance(home: Path, title: str) -> Iterator:
    """The reelhouse Dagster instance (its dagster.yaml written), with the title as a ``titles`` partition."""
    from dagster_project.instance import dagster_instance

    inst = dagster_instance(Settings(home=home))
    try:
        inst.add_dynamic_partitions("titles", [title])
        yield inst
    finally:
        inst.dispose()


@pytest.fixture
def deployment(home: Path, instance, tmp_path: Path) -> Iterator[int]:
    """``dagster-webserver`` and ``dagster-daemon`` on the instance; yields the webserver's port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REELHOUSE_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home / "dagster"), REELHOUSE_HOME=str(home), PYTHONUNBUFFERED="1")
    logs = tmp_path / "logs"
    logs.mkdir()
    port = _free_port()
    before = {p.name for p in REPO_ROOT.iterdir()}
    services = [
        _start("webserver", [_bin("dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-m", MODULE], env, logs),
        _start("daemon", [_bin("dagster-daemon"), "run", "-m", MODULE], env, logs),
    ]
    try:
        _wait_for_webserver(port, services)
        yield port
    finally:
        for s in services:
            _stop(s)
        for s in services:
            print(f"--- {s.name} (exit {s.proc.returncode}) ---\n{s.tail(4000)}")
    for s in services:
        assert s.proc.poll() is not None, f"{s.name} (pid {s.proc.pid}) is still running"
    new = {p.name for p in REPO_ROOT.iterdir()} - before
    dropped = sorted(n for n in new if n in DAGSTER_DROPPINGS or n.startswith(".tmp_dagster"))
    assert not dropped, f"the webserver or daemon wrote into the repository: {dropped}"


def test_daemon_dequeues_a_graphql_launched_partition_run(home: Path, title: str, instance, deployment: int):
    from dagster import DagsterEventType, DagsterRunStatus
    from dagster_graphql import DagsterGraphQLClient

    from reelhouse.features.rows import media_row
    from reelhouse.lakehouse import FeatureStore

    # The instance really is the one reelhouse configures: runs are queued for the daemon.
    yaml_text = (home / "dagster" / "dagster.yaml").read_text()
    assert "max_concurrent_runs: 1" in yaml_text and "enabled: false" in yaml_text
    assert title in instance.get_dynamic_partitions("titles")

    client = DagsterGraphQLClient("127.0.0.1", port_number=deployment, timeout=60)
    run_id = client.submit_job_execution("ingest_media", tags={"dagster/partition": title})

    terminal = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
    deadline = time.monotonic() + RUN_DONE_S
    status = client.get_run_status(run_id)
    while status not in terminal and time.monotonic() < deadline:
        time.sleep(1.0)
        status = client.get_run_status(run_id)

    if status != DagsterRunStatus.SUCCESS:
        try:
            health = json.dumps(_graphql(deployment, DAEMON_HEALTH_QUERY), indent=1)
        except Exception as exc:  # diagnostics only
            health = repr(exc)
        pytest.fail(f"run {run_id} ended {status} (waited up to {RUN_DONE_S:.0f} s)\n"
                    f"--- daemon health ---\n{health}\n--- event log ---\n{_event_log(instance, run_id)}")

    run = instance.get_run_by_id(run_id)
    assert run.job_name == "ingest_media"
    assert run.tags.get("dagster/partition") == title
    kinds = [e.dagster_event.event_type for e in instance.all_logs(run_id) if e.dagster_event]
    # Queued by the webserver, then launched (RUN_STARTING) by the daemon's queued-run coordinator.
    assert DagsterEventType.RUN_ENQUEUED in kinds and DagsterEventType.RUN_STARTING in kinds, kinds
    assert kinds.index(DagsterEventType.RUN_ENQUEUED) < kinds.index(DagsterEventType.RUN_STARTING), kinds
    assert "QUEUED_RUN_COORDINATOR" in instance.get_daemon_heartbeats(), instance.get_daemon_heartbeats()
    materialized = [e for e in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)]
    assert [e.dagster_event.asset_key.to_user_string() for e in materialized] == ["media"]
    assert materialized[0].dagster_event.partition == title

    # The effect, read back through the real feature store.
    row = media_row(FeatureStore.from_settings(Settings(home=home)), title)
    assert row is not None, "the run succeeded but wrote no media row"
    assert row["status"] == "ok", row
    assert row["source_uri"].endswith("/landing/tiny.mp4")
    assert row["duration_s"] == pytest.approx(3.0, abs=0.5)


def _ignore_interrupts() -> None:
    """What a shell's background job gives its children: SIGINT (and here SIGTERM too) ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_reelhouse_ui_stops_cleanly_on_a_signal_even_from_a_background_job(home: Path, tmp_path: Path, sig) -> None:
    port = _free_port()
    env = {**os.environ, "REELHOUSE_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    # What a trained contextual encoder leaves in the home; the code location must still load (it once
    # imported from the home folder, where this folder shadowed the `models` package).
    (home / "models" / "contextual").mkdir(parents=True, exist_ok=True)
    log = tmp_path / "ui.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([_bin("reelhouse"), "ui", "--port", str(port)], cwd=REPO_ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_ignore_interrupts)
    ui = Service("reelhouse ui", proc, log)
    try:
        _wait_for_webserver(port, [ui])
        os.kill(proc.pid, sig)  # the dagster dev process itself (reelhouse ui execs it), not its group
        try:
            proc.wait(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"reelhouse ui ignored {sig.name} for {STOP_S:.0f} s:\n{ui.tail()}")
        deadline = time.monotonic() + STOP_S  # its webserver, daemon and code servers go with it
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"processes of reelhouse ui outlived it by {STOP_S:.0f} s:\n{ui.tail()}")
    finally:
        _stop(ui)
