"""``python -m reelhouse.cli``: the ``reelhouse`` command."""

from reelhouse.cli import main

raise SystemExit(main())
