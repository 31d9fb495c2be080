"""Query results as text: an aligned table, a JSON array of objects, or RFC 4180 CSV.

``json`` and ``csv`` stream record batch by record batch; ``table`` must see every row to
align columns, so it materializes the result.

Value conventions: lists become JSON arrays (in CSV, a JSON array text); timestamps and
dates are ISO 8601; NaN and infinities become JSON ``null``; SQL NULL is ``null`` in JSON,
an empty field in CSV and ``NULL`` in the table.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import io
import json
import math
from collections.abc import Iterable
from typing import Any, Literal, TextIO

import pyarrow as pa

__all__ = ["OutputFormat", "write_result", "to_json_value"]

OutputFormat = Literal["table", "json", "csv"]

Result = pa.Table | pa.RecordBatchReader | Iterable[pa.RecordBatch]


def write_result(result: Result, fmt: OutputFormat, out: TextIO) -> int:
    """Write a query result to ``out`` in the chosen format.

    Args:
        result: a table, a record batch reader (as :meth:`SqlEngine.stream` returns) or any
            iterable of record batches.
        fmt: ``table`` (aligned text), ``json`` (array of objects) or ``csv`` (RFC 4180,
            CRLF line ends, header row; open files with ``newline=""``).
        out: text stream to write to.

    Returns:
        The number of data rows written.

    Raises:
        ValueError: ``fmt`` is not one of the three formats.
    """
    if fmt == "json":
        return _write_json(result, out)
    if fmt == "csv":
        return _write_csv(result, out)
    if fmt == "table":
        return _write_table(result, out)
    raise ValueError(f"unknown output format {fmt!r}; choose table, json or csv")


def to_json_value(value: Any) -> Any:
    """A Python value from Arrow as a JSON-ready value (see the module docstring)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # Arrow maps come back as lists of (key, value) tuples.
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): to_json_value(v) for k, v in value}
        return [to_json_value(v) for v in value]
    return str(value)


def _schema_and_batches(result: Result) -> tuple[pa.Schema | None, Iterable[pa.RecordBatch]]:
    if isinstance(result, pa.Table):
        return result.schema, result.to_batches()
    if isinstance(result, pa.RecordBatch):
        return result.schema, [result]
    return getattr(result, "schema", None), result


def _rows(batch: pa.RecordBatch) -> Iterable[dict[str, Any]]:
    return batch.to_pylist()


def _write_json(result: Result, out: TextIO) -> int:
    _, batches = _schema_and_batches(result)
    count = 0
    out.write("[")
    for batch in batches:
        for row in _rows(batch):
            out.write(",\n" if count else "\n")
            out.write(json.dumps({k: to_json_value(v) for k, v in row.items()}, ensure_ascii=False, allow_nan=False))
            count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _csv_field(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[repr(value)]
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(to_json_value(value), ensure_ascii=False, allow_nan=False)
    json_value = to_json_value(value)
    return json_value if isinstance(json_value, str) else str(json_value)


def _write_csv(result: Result, out: TextIO) -> int:
    schema, batches = _schema_and_batches(result)
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    header_written = False
    if schema is not None:
        writer.writerow(schema.names)
        header_written = True
    count = 0
    for batch in batches:
        if not header_written:
            writer.writerow(batch.schema.names)
            header_written = True
        for row in _rows(batch):
            writer.writerow([_csv_field(v) for v in row.values()])
            count += 1
    return count


def _table_cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(to_json_value(value), ensure_ascii=False)
    if isinstance(value, float) and math.isfinite(value):
        # The human-readable table shows 10 significant digits; json and csv keep full precision.
        return f"{value:.10g}"
    return _csv_field(value)


def _write_table(result: Result, out: TextIO) -> int:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    schema, batches = _schema_and_batches(result)
    rows: list[list[str]] = []
    names = list(schema.names) if schema is not None else []
    numeric: list[bool] = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
                           for f in schema] if schema is not None else []
    for batch in batches:
        if not names:
            names = list(batch.schema.names)
            numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) for f in batch.schema]
        rows.extend([_table_cell(v) for v in row.values()] for row in _rows(batch))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, highlight=False)
    for name, is_number in zip(names, numeric):
        table.add_column(name, justify="right" if is_number else "left", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    widths = [max([len(n), *(len(r[i]) for r in rows)]) for i, n in enumerate(names)]
    buffer = io.StringIO()
    console = Console(file=buffer, width=max(80, sum(widths) + 3 * len(widths) + 4), color_system=None,
                      force_terminal=False, no_color=True, emoji=False, markup=False, highlight=False,
                      soft_wrap=False)
    console.print(table)
    out.writelines(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
    out.write(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")
    return len(rows)
