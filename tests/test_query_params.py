"""``:name`` parameters: discovery, clear errors when missing, and binding as literals only."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlglot

from reelhouse.query import ParameterError, bind_params, prepare, required_params
from reelhouse.query.duckdb_engine import DuckDBEngine
from tests.test_query_fixtures import VID_A, VID_B, shared_catalog, shared_engine, shared_root  # noqa: F401  (fixtures)

INJECTION = "x' OR 1=1 --"


def test_required_params_in_order_without_repeats():
    sql = "SELECT * FROM shots WHERE (:video_id IS NULL OR video_id = :video_id) AND start_s >= :from_s AND ':no' = ':no'"
    assert required_params(sql) == ["video_id", "from_s"]
    assert required_params("SELECT 1") == []


def test_missing_parameter_lists_every_required_name(shared_engine: DuckDBEngine):
    sql = "SELECT * FROM shots WHERE video_id = :video_id AND start_s >= :from_s"
    with pytest.raises(ParameterError, match=r"missing value for parameter\(s\) :from_s; this query requires: :video_id, :from_s"):
        shared_engine.execute(sql, {"video_id": VID_A})
    with pytest.raises(ParameterError, match=r"missing .* :video_id, :from_s;"):
        shared_engine.execute(sql)


def test_positional_parameters_are_refused():
    with pytest.raises(ParameterError, match="use|write named parameters as :name"):
        prepare("SELECT * FROM shots WHERE video_id = ?", {})


def test_injection_attempt_is_bound_as_one_string_literal(shared_engine: DuckDBEngine):
    sql = "SELECT count(*) AS n FROM shots WHERE video_id = :video_id"
    assert shared_engine.execute(sql, {"video_id": INJECTION}).column("n")[0].as_py() == 0
    bound = prepare(sql, {"video_id": INJECTION}).tree
    assert bound is not None
    literal = bound.find(sqlglot.exp.Literal)
    assert literal is not None and literal.is_string and literal.this == INJECTION
    assert "'x'' OR 1=1 --'" in bound.sql("trino")
    # The string still matches itself when it is a stored value: it is data, not SQL.
    assert shared_engine.execute("SELECT :v AS v", {"v": INJECTION}).column("v")[0].as_py() == INJECTION


def test_injection_cannot_add_a_statement(shared_engine: DuckDBEngine):
    evil = "'; DROP TABLE shots; --"
    assert shared_engine.execute("SELECT :v AS v", {"v": evil}).column("v")[0].as_py() == evil
    assert shared_engine.execute("SELECT count(*) AS n FROM shots").column("n")[0].as_py() > 0


@pytest.mark.parametrize(
    ("value", "sql_type"),
    [
        pytest.param(None, None, id="null"),
        pytest.param(True, "BOOLEAN", id="bool"),
        pytest.param(42, "INTEGER", id="int"),
        pytest.param(2**40, "BIGINT", id="bigint"),
        pytest.param(0.25, "DOUBLE", id="float"),
        pytest.param(decimal.Decimal("1.50"), "DECIMAL(3,2)", id="decimal"),
        pytest.param("O'Brien", "VARCHAR", id="str"),
        pytest.param(dt.date(2024, 5, 1), "DATE", id="date"),
        pytest.param(dt.datetime(2024, 5, 1, 12, 30), "TIMESTAMP", id="datetime"),
        pytest.param(dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc), "TIMESTAMP WITH TIME ZONE", id="aware"),
        pytest.param([1.0, 2.5], "DOUBLE[]", id="list"),
    ],
)
def test_values_bind_as_typed_literals(shared_engine: DuckDBEngine, value, sql_type):
    row = shared_engine.execute("SELECT :v AS v, typeof(:v) AS t", {"v": value}).to_pylist()[0]
    assert row["v"] == value
    if sql_type is not None:
        assert row["t"] == sql_type


def test_nan_binds_as_double(shared_engine: DuckDBEngine):
    value = shared_engine.execute("SELECT :v AS v", {"v": float("nan")}).column("v")[0].as_py()
    assert value != value


def test_unbindable_type_is_a_clear_error():
    with pytest.raises(ParameterError, match=r":v: values of type dict cannot be bound"):
        bind_params(sqlglot.parse_one("SELECT :v", read="trino"), {"v": {"a": 1}})


def test_extra_parameters_are_ignored(shared_engine: DuckDBEngine):
    n = shared_engine.execute("SELECT count(*) AS n FROM shots WHERE video_id = :v", {"v": VID_B, "unused": 1})
    assert n.column("n")[0].as_py() == 4
