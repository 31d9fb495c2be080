"""Feature definitions and their versions.

A feature's version is ``"{algorithm_version}-{hash}"`` where the hash covers its parameters *and the
versions of the features it is computed from*. Changing an encode recipe therefore changes the version
of shots and of every embedding downstream: memoization stays correct, and Dagster (which uses the
version as the asset's code version) marks exactly those assets stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def params_hash(params: Mapping[str, Any]) -> str:
    """First 8 hex digits of the SHA-256 of the canonical JSON of ``params``."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class FeatureSpec:
    """A named, versioned feature.

    Attributes:
        name: feature name as stored in the ``feature`` column.
        table: the Iceberg table holding it.
        algorithm_version: bumped by hand when the algorithm changes.
        params: parameters that change the output.
        upstream: specs this feature is computed from.
    """

    name: str
    table: str
    algorithm_version: str
    params: Mapping[str, Any] = field(default_factory=dict)
    upstream: tuple[FeatureSpec, ...] = ()

    @property
    def version(self) -> str:
        key = {"params": dict(self.params), "upstream": {u.name: u.version for u in self.upstream}}
        return f"{self.algorithm_version}-{params_hash(key)}"

    def lineage(self) -> list[FeatureSpec]:
        """This feature and everything it is computed from, upstream first, each once."""
        seen: dict[str, FeatureSpec] = {}

        def visit(spec: FeatureSpec) -> None:
            for up in spec.upstream:
                visit(up)
            seen.setdefault(spec.name, spec)

        visit(self)
        return list(seen.values())
