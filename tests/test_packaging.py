"""A non-editable install works: the wheel carries the named SQL queries and the CLI package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_wheel_install_runs_a_named_query_outside_the_repository(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for name in ("reelhouse", "models", "spark_jobs", "dagster_project", "sql"):
        shutil.copytree(REPO / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src)],
                   check=True, timeout=300, capture_output=True)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), *map(str, wheels.glob("*.whl"))],
                   check=True, timeout=300, capture_output=True)
    assert sorted(p.name for p in (site / "reelhouse" / "sql").glob("*.sql")) == sorted(p.name for p in (REPO / "sql").glob("*.sql"))
    assert not (site / "reelhouse" / "sql").is_symlink()  # real files, not a link back into a checkout
    # Run from an empty folder, with the installed copy first on the path and no checkout in sight.
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE_")}
    env.update(PYTHONPATH=str(site), REELHOUSE_HOME=str(tmp_path / "home"), PYTHONSAFEPATH="1")
    out = subprocess.run([sys.executable, "-c", "import reelhouse.cli; print(reelhouse.cli.__file__)"], cwd=work, env=env,
                         capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip().startswith(str(site))
    out = subprocess.run([sys.executable, "-m", "reelhouse.cli", "sql", "shots_per_title", "--format", "json"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []  # the named query ran (on an empty store), not the word "shots_per_title"
