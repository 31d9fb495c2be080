"""A feature slice: the unit of replacement in the feature store, ``(video_id, feature, feature_version)``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyiceberg.expressions import And, BooleanExpression, EqualTo, In, Or

# Predicates take keyword arguments: type checkers see pyiceberg's predicates as pydantic models, whose
# generated constructors take no positional arguments (apache/iceberg-python#3101).


#: Titles per ``IN`` list in a delete filter. pyiceberg's metrics evaluators give up on longer lists
#: (``IN_PREDICATE_LIMIT`` = 200): a file could then no longer be proven wholly inside the slices, and a
#: delete would read and rewrite every candidate file instead of dropping it.
IN_LIST_LIMIT = 200


@dataclass(frozen=True, order=True)
class FeatureSlice:
    """All rows of one feature version for one title."""

    video_id: str
    feature: str
    feature_version: str

    def __post_init__(self) -> None:
        for name in ("video_id", "feature", "feature_version"):
            if not getattr(self, name):
                raise ValueError(f"FeatureSlice.{name} must be a non-empty string")

    @property
    def row_filter(self) -> BooleanExpression:
        return And(
            EqualTo(term="feature", value=self.feature),
            And(EqualTo(term="video_id", value=self.video_id), EqualTo(term="feature_version", value=self.feature_version)),
        )


def slices_filter(slices: Iterable[FeatureSlice]) -> BooleanExpression:
    """An Iceberg row filter matching exactly the given slices.

    Raises:
        ValueError: if ``slices`` is empty (an empty filter would match nothing or everything).
    """
    items = sorted(set(slices))
    if not items:
        raise ValueError("at least one slice is required")
    groups: dict[tuple[str, str], list[str]] = {}
    for s in items:
        groups.setdefault((s.feature, s.feature_version), []).append(s.video_id)
    exprs = [
        And(
            EqualTo(term="feature", value=f),
            And(
                EqualTo(term="feature_version", value=v),
                In(term="video_id", literals=chunk) if len(chunk) > 1 else EqualTo(term="video_id", value=chunk[0]),
            ),
        )
        for (f, v), ids in groups.items()
        for chunk in (ids[i:i + IN_LIST_LIMIT] for i in range(0, len(ids), IN_LIST_LIMIT))
    ]
    return _balanced_or(exprs)


def _balanced_or(exprs: Sequence[BooleanExpression]) -> BooleanExpression:
    """``Or`` of ``exprs`` as a balanced tree: pyiceberg's visitors recurse, so a chain of thousands overflows."""
    if len(exprs) == 1:
        return exprs[0]
    mid = len(exprs) // 2
    return Or(_balanced_or(exprs[:mid]), _balanced_or(exprs[mid:]))
