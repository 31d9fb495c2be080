"""Planning work (feature versions, the Dagster definitions) must not load torch or any model."""

from __future__ import annotations

import subprocess
import sys


def test_feature_versions_and_dagster_definitions_do_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from reelhouse.config import Settings\n"
        "from reelhouse.features import registry\n"
        "s = Settings()\n"
        "for f in registry.FEATURES:\n"
        "    f.spec(s)\n"
        "import dagster_project.definitions\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
