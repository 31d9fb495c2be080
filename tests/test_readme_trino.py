"""The README's "Query with Trino" block, run as written: PostgreSQL and Trino started by the repo's
scripts, ``reelhouse run`` on the sample library into the PostgreSQL catalog, the queries on Trino.

Only what would collide with a developer's own setup is moved: the two ports (to free ones) and the
``.reelhouse/`` folder (to a temporary one, which ``REELHOUSE_HOME`` also points at).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.postgres_fixtures import _free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def readme_trino_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Query with Trino", 1)[1]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def test_readme_trino_block_runs_as_written():
    block = readme_trino_block()
    assert "reelhouse run" in block and "trino.sh start" in block and "--engine duckdb" in block
    folder = Path(tempfile.mkdtemp(prefix="reelhouse-readme-trino-", dir="/tmp"))
    folder.chmod(0o755)  # like a checkout's .reelhouse/: PostgreSQL runs as its own user and must enter it
    script = (block.replace("55432", str(_free_port())).replace("58080", str(_free_port()))
              .replace(".reelhouse/", f"{folder}/"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE_")}
    env.update(REELHOUSE_HOME=str(folder / "home"), PATH=f"{Path(sys.executable).parent}:{env['PATH']}")
    stops = [line for line in script.splitlines() if line.startswith("infra/scripts/trino.sh stop")]
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=1800)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    finally:
        for line in stops:  # the block's own last line stops both servers; again here if it failed before it
            subprocess.run(["bash", "-c", line.replace(" && ", " ; ")], cwd=ROOT, capture_output=True, timeout=180)
        shutil.rmtree(folder, ignore_errors=True)
    out = done.stdout
    # shots_per_title from Trino: a table with one row per title of the sample library
    assert "shot_count" in out and "median_shot_s" in out
    assert len(set(re.findall(r"\b[0-9a-f]{32}\b", out))) >= 2
    # feature_coverage on the embedded engine, over the same PostgreSQL catalog
    assert "coverage" in out
