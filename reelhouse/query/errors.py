"""Exceptions raised by the SQL surface (``reelhouse.query``)."""

from __future__ import annotations


class QueryError(Exception):
    """A query could not be prepared or run; the message says why and what to change."""


class ReadOnlyViolation(QueryError):
    """The SQL is not a read-only query (a write, DDL, session change, file access, ...).

    Raised by the validator before anything reaches an engine.
    """


class ParameterError(QueryError):
    """A ``:name`` parameter is missing, unknown in form, or has a type that cannot be bound."""


class UnsupportedQueryError(QueryError):
    """Valid Trino SQL that the embedded engine (DuckDB) cannot run."""


class UnknownTableError(QueryError):
    """A table reference does not resolve to a registered Iceberg table."""
