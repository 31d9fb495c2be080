"""The feature registry is the one place a feature is declared: everything listed elsewhere is derived."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest

from reelhouse.config import Settings
from reelhouse.features import coverage, registry, specs


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("registry"))


def test_the_declarations_are_consistent(settings) -> None:
    assert registry.problems(settings) == []


def test_problems_name_a_misnamed_spec_a_late_upstream_and_a_twice_declared_name(settings) -> None:
    visual = registry.feature("visual")
    misnamed = dataclasses.replace(visual, name="framing")
    found = registry.problems(settings, [misnamed])
    assert any("'framing': its spec is named 'visual'" in p for p in found)
    assert any("declared before its upstream shot_frames" in p for p in found)
    media = registry.feature("media")
    assert registry.problems(settings, [media, media]) == ["feature 'media' is declared twice"]


def test_unknown_feature_lists_the_known_names() -> None:
    with pytest.raises(KeyError, match="unknown feature 'framing'; features: media, standardized_encode"):
        registry.feature("framing")


def test_one_name_per_feature_in_rows_assets_cli_api_and_flavors(settings) -> None:
    from dagster_project.definitions import defs
    from reelhouse.api.app import create_app
    from reelhouse.cli import build_parser
    from reelhouse.search.match_cuts import FLAVORS

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for f in registry.FEATURES:
        spec = f.spec(settings)
        assert spec.name == f.name and f.name in keys
        node = graph.get(dg.AssetKey(f.name))
        assert node.group_name == f.group
        if f.scope == "title":  # code version and deps come from the spec
            assert node.code_version == f.spec(Settings()).version
            assert {k.to_user_string() for k in node.parent_keys} == {u.name for u in spec.upstream}
    searchable = list(registry.searchable())
    assert searchable == [f.name for f in registry.FEATURES if f.search is not None]  # declaration order
    assert {"visual", "colour", "layout", "audio", "text", "contextual"} <= set(searchable)
    assert list(FLAVORS) == list(registry.flavors()) == [n for n in searchable if n != "text"]  # text is no flavor
    parser = build_parser()
    similar = parser.parse_args(["similar", "v", "0"])
    assert similar.embedding == "visual"
    with pytest.raises(SystemExit):
        parser.parse_args(["similar", "v", "0", "--embedding", "visual_embeddings"])
    assert parser.parse_args(["match-cuts", "--titles", "a"]).flavor == "visual"
    schema = create_app(settings).openapi()
    params = {p["name"]: p for p in schema["paths"]["/similar/{title}/{shot_index}"]["get"]["parameters"]}
    assert params["embedding"]["schema"]["enum"] == searchable


def test_title_checks_are_the_declared_ones() -> None:
    from dagster_project.checks import TITLE_CHECKS

    declared = {(f.name, c) for f in registry.title_features() for c in f.checks}
    built = {(k.asset_key.to_user_string(), k.name) for d in TITLE_CHECKS for k in d.check_keys}
    assert built == declared
    assert ("audio", "null_iff_silent") in built and ("shots", "tiles_title") in built


def test_coverage_and_contracts_follow_the_registry(settings) -> None:
    from reelhouse.quality.checks import embedding_contracts

    assert [s.name for s in coverage.title_feature_specs(settings)] == [f.name for f in registry.title_features()]
    contracts = embedding_contracts(settings)
    declared = {f.name: f.search for f in registry.FEATURES if f.search is not None and f.search.dim is not None}
    assert {n: (c.dim, c.absent_as) for n, c in contracts.items()} == {
        n: (s.dim(registry.feature(n).spec(settings)), s.absent) for n, s in declared.items()}
    assert {n: (c.dim, c.absent_as) for n, c in contracts.items() if n in ("visual", "colour", "layout", "audio", "text")} == {
        "visual": (1280, "zeros"), "colour": (128, "zeros"), "layout": (144, "zeros"), "audio": (512, "null"),
        "text": (384, "null")}
    assert list(registry.modality_specs(settings)) == ["visual", "audio", "text"]
    assert [u.name for u in specs.contextual_spec(settings).upstream] == ["visual", "audio", "text"]


def test_features_computed_together_are_selected_together() -> None:
    from dagster_project.assets import asset_keys_for

    assert [f.name for f in registry.computed_together("colour")] == ["visual", "colour", "layout"]
    assert [(s.name, s.version) for s in registry.specs_computed_together("layout", Settings())] == [
        (s.name, s.version) for s in (specs.visual_spec(Settings()), specs.colour_spec(Settings()), specs.layout_spec(Settings()))]
    assert [k.to_user_string() for k in asset_keys_for(["shot_audio", "shots"])] == ["audio", "shot_audio", "shots"]
    with pytest.raises(LookupError, match="'media' has no per-title step"):
        registry.computed_together("media")
