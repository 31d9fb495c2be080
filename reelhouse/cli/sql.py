"""``reelhouse sql`` (the named queries of ``sql/`` ship in the package) and ``reelhouse compact``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from reelhouse.config import Settings


def sql_text(query_or_file: str) -> str:
    """The SQL of ``query_or_file``: a ``.sql`` file, the name of a query that ships in the package
    (``sql/NAME.sql``, with or without ``.sql``), or else the SQL text itself."""
    named = resources.files("reelhouse") / "sql"
    for candidate in (Path(query_or_file), named / query_or_file, named / f"{query_or_file}.sql"):
        if candidate.name.endswith(".sql") and candidate.is_file():
            return candidate.read_text()
    return query_or_file


def _parse_params(pairs: Sequence[str]) -> dict[str, object]:
    """``NAME=text`` binds a string; ``NAME:=json`` binds a JSON value (number, bool, null, list)."""
    params: dict[str, object] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"reelhouse sql: --param expects NAME=TEXT or NAME:=JSON, got {pair!r}")
        if name.endswith(":"):
            try:
                params[name[:-1]] = json.loads(value)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"reelhouse sql: --param {name[:-1]}: invalid JSON {value!r} ({exc.msg})") from None
        else:
            params[name] = value
    return params


def run_sql(settings: Settings, sql: str, params: dict[str, object], fmt: str, out=None) -> None:
    """Run Trino-dialect ``sql`` on the configured engine and write the result to ``out``."""
    from reelhouse.lakehouse import FeatureStore
    from reelhouse.query.engine import open_engine
    from reelhouse.query.output import write_result

    catalog = None
    if settings.sql_engine == "duckdb":  # Trino reads the catalog itself
        store = FeatureStore.from_settings(settings)
        store.ensure_tables()
        catalog = store.catalog
    with open_engine(settings, catalog) as engine:
        write_result(engine.stream(sql, params), fmt, out or sys.stdout)


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from reelhouse.query.errors import QueryError

    if args.engine:
        settings = settings.model_copy(update={"sql_engine": args.engine})
    from reelhouse.query import nullable_params

    text = sql_text(args.query)
    params = _parse_params(args.param)
    try:
        # Parameters a query documents as "NULL for ..." may be left out (they mean "all" or a default).
        params = {name: None for name in nullable_params(text)} | params
        run_sql(settings, text, params, args.format)
    except QueryError as exc:
        print(f"reelhouse sql: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_compact(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import asdict

    from reelhouse.lakehouse import FeatureStore

    results = FeatureStore.from_settings(settings).compact_all()
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for r in results:
            print(r)
    return 0
