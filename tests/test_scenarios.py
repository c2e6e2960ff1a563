"""The scenario library and its reference page.

Every file in scenarios/ validates, names the real policy it mirrors, states only what
differs from the file it extends, and runs (shrunk: 3,000 residents, just past its last
dated change); so do the templates a planner copies. docs/scenarios.md is exactly what the schema renders.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pytest
import yaml

from sim.outputs.runs import make_model
from sim.scenario.loader import load, load_yaml, split_path
from sim.scenario.reference_page import render
from sim.scenario.region_files import region_plan
from tests.conftest import ROOT, SCENARIOS

FILES = sorted(SCENARIOS.glob("*.yaml"))
TEMPLATES = sorted((SCENARIOS / "templates").glob("*.yaml"))  # what a planner copies: a county, a region
POLICIES = [p for p in FILES if load_yaml(p)[0].get("changes")]  # dated policy changes: a before/after story
REFERENCE = ROOT / "docs" / "scenarios.md"
REGENERATE = ".venv/bin/python run.py schema-doc"


def _leaves(data: dict, prefix: tuple = ()):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _leaves(value, prefix + (key,))
        else:
            yield prefix + (key,), value


def _value(scenario, path: tuple):
    value = scenario
    for part in path:
        if value is None:
            return None  # e.g. world.files in a scenario that generates its county
        value = value[part] if isinstance(part, int) else getattr(value, part)
    return value


def test_the_library_holds_every_policy_of_the_issue():
    names = {p.stem for p in FILES}
    assert {"baseline", "xinxiang_2025", "state_council_2025", "shanghai_family_doctor",
            "pingyang_medical_community", "referral_enforcement", "combined_package"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_validates_and_names_its_source(path: Path):
    timeline = load(path)
    assert timeline.base.name == path.stem
    assert len(timeline.base.description.split()) >= 10, "description: tell the story in words"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = "\n".join(itertools.takewhile(lambda line: line.startswith("#"), lines))
    assert header.count("\n") >= 4, "the file opens with a comment naming the policy it mirrors"
    if path in POLICIES:
        assert re.search(r"\b20\d\d\b", lines[0]), "the first line names the policy, place and year"
        assert re.search(r"[Ss]eed 00\d", header), "the header names the seed article it mirrors"
        assert "The story" in header, "the header tells the story a teacher can show"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_template_validates_and_explains_itself(path: Path):
    timeline = load(path)
    assert timeline.base.name.startswith("my_"), "a template names the planner's copy, not itself"
    assert len(timeline.base.description.split()) >= 10
    header = "".join(itertools.takewhile(lambda line: line.startswith("#"), path.open(encoding="utf-8")))
    assert "python run.py validate" in header and "docs/" in header


def test_the_region_template_names_every_column_in_english_and_chinese():
    from sim.scenario.region_files import AREA_COLUMNS, AREA_OPTIONAL, HOSPITAL_COLUMNS, HOSPITAL_OPTIONAL

    folder = SCENARIOS / "templates" / "region"
    for name, columns in (("areas.csv", AREA_COLUMNS + AREA_OPTIONAL),
                          ("hospitals.csv", HOSPITAL_COLUMNS + HOSPITAL_OPTIONAL)):
        comments = [ln for ln in (folder / name).read_text(encoding="utf-8").splitlines() if ln.startswith("#")]
        for column in columns:
            named = [ln for ln in comments if re.search(rf"#\s+(\S+, )*{column}\b", ln)]
            assert named, f"{name}: column {column} is not explained"
            assert any(re.search(r"[\u4e00-\u9fff]", ln) for ln in named), f"{name}: {column} has no Chinese"
    plan = region_plan(load(SCENARIOS / "templates" / "region_template.yaml").base)
    assert [a.kind for a in plan.areas].count("urban") == 2 and [a.kind for a in plan.areas].count("rural") == 3
    assert len(plan.hospitals) == 3 and {h.serves for h in plan.hospitals} == {"pooling_area", "province"}


def test_policy_scenarios_extend_the_baseline():
    """A policy extends the baseline county, or a region that extends it (xinxiang_city.yaml)."""
    def root(path: Path) -> str | None:
        parent = load_yaml(path)[0].get("extends")
        return parent if parent in (None, "baseline.yaml") else root(path.parent / parent)
    assert POLICIES and all(root(p) == "baseline.yaml" for p in POLICIES)


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_policy_scenario_states_only_what_differs(path: Path):
    """Every value a policy file sets, at the top or in a dated change, differs from the value
    in effect before it (from the file it extends, or before the change)."""
    own, _ = load_yaml(path)
    timeline = load(path)
    parent = load(path.parent / own["extends"]).base
    for key, value in _leaves({k: v for k, v in own.items() if k not in ("extends", "name", "description",
                                                                          "changes")}):
        assert _value(parent, key) != value, f"{'.'.join(key)} repeats the baseline's value {value!r}"
    in_effect = timeline.base
    for change, (day, _, after) in zip(own.get("changes", []), timeline.changes, strict=True):
        assert change["day"] == day and change.get("label"), "each change is dated and labelled"
        for dotted, value in change["set"].items():
            key = split_path(dotted)
            assert _value(in_effect, key) != value, f"changes on day {day}: {dotted} is already {value!r}"
            assert _value(after, key) == value
        in_effect = after


@pytest.mark.parametrize("path", FILES + TEMPLATES, ids=lambda p: p.stem)
def test_scenario_runs_through_its_changes(path: Path):
    """A short run: 3,000 residents, ten days of warm-up, five days past the last change."""
    full = load(path)
    days = (full.changes[-1][0] + 5) if full.changes else 30
    if full.base.region is not None:  # a region keeps its areas; one agent stands for many (100 in the smallest)
        shrink = f"scale={min(a.population for a in region_plan(full.base).areas) // 100}"
    elif full.base.world.files is None:
        shrink = "world.population=3000"
    else:  # a county from CSV files keeps its residents; one agent stands for many
        shrink = f"scale={max(1, full.base.world.population // 3000)}"
    timeline = load(path, [shrink, "warmup_days=10"], days=days)
    model = make_model(timeline, agents=False).run()
    summary = model.summary()
    assert [c["day"] for c in summary["changes"]] == [day for day, _, _ in full.changes]
    if full.base.region is None:
        assert model.params == (timeline.changes[-1][2] if timeline.changes else timeline.base)
    for key in ("grassroots_share", "in_county_share", "out_of_county_fund_share", "chronic_management_rate"):
        assert 0.0 < summary[key] < 1.0, key
    assert all(math.isfinite(v) for v in summary.values() if isinstance(v, float))
    if full.changes:
        assert set(summary["periods"]) == {"before", "after"}


@pytest.mark.parametrize("path", FILES + TEMPLATES, ids=lambda p: p.stem)
def test_resolved_scenario_loads_back_to_the_same_parameters(path: Path, tmp_path: Path):
    """The scenario saved with each run (`scenario.yaml`) is complete: it loads back unchanged."""
    timeline = load(path)
    saved = tmp_path / "scenario.yaml"
    saved.write_text(yaml.safe_dump(timeline.resolved(), sort_keys=False, allow_unicode=True), encoding="utf-8")
    again = load(saved)
    assert again.base == timeline.base
    assert [(d, label, s) for d, label, s in again.changes] == timeline.changes


def test_reference_page_matches_the_schema():
    assert REFERENCE.exists(), f"docs/scenarios.md is missing; write it with `{REGENERATE}`"
    committed = REFERENCE.read_text(encoding="utf-8")
    assert committed == render(), (f"docs/scenarios.md is out of date with the schema; "
                                   f"regenerate it with `{REGENERATE}` and commit the result")


def test_reference_page_documents_every_parameter():
    """Every leaf parameter of a default scenario appears in the reference with its key path."""
    from sim.scenario.schema import Scenario

    page = render()
    data = Scenario().model_dump()
    for key, _ in _leaves({k: v for k, v in data.items() if k != "changes"}):
        shown = ".".join(key)
        if key[:2] == ("world", "tertiary"):
            continue  # a list: documented as world.tertiary[i].<key>
        assert f"`{shown}`" in page, shown
    for name in ("name", "distance_km", "alliance"):
        assert f"`world.tertiary[i].{name}`" in page
    for words in ("extends:", "changes:", "--set"):
        assert words in page
