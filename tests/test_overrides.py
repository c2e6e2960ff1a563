"""One helper for each shared idea of the scenario floor: setting parameters by dotted key path
(`with_overrides`) and reading the schema's fields (`sim.scenario.fields`)."""

from __future__ import annotations

import ast
import pickle

import pytest

from sim.scenario import fields
from sim.scenario.loader import ScenarioError, load
from sim.scenario.overrides import split_path, with_overrides
from sim.scenario.schema import Scenario, Timeline
from tests.conftest import ROOT, SCENARIOS

RATE = "insurance.resident.outpatient.tertiary.rate"


def test_with_overrides_returns_a_new_validated_scenario():
    base = Scenario()
    out = with_overrides(base, {RATE: 0.3, "world.tertiary.1.distance_km": 90.0, "signing.ramp_days": 30})
    assert isinstance(out, Scenario)
    assert out.insurance.resident.outpatient.tertiary.rate == 0.3
    assert out.world.tertiary[1].distance_km == 90.0 and out.signing.ramp_days == 30
    assert base == Scenario()  # the input is untouched
    # every key it does not name keeps its documented default (factory defaults included)
    assert out.insurance.resident.outpatient.village.rate == base.insurance.resident.outpatient.village.rate


def test_with_overrides_on_plain_data_and_paths_as_tuples():
    data = {"days": 30, "world": {"population": 5000}}
    out = with_overrides(data, {("world", "townships"): 3, "seed": 4})
    assert out == {"days": 30, "seed": 4, "world": {"population": 5000, "townships": 3}}
    assert data == {"days": 30, "world": {"population": 5000}}


def test_with_overrides_on_a_timeline_sets_the_base_and_every_dated_change():
    timeline = load(SCENARIOS / "xinxiang_2025.yaml")
    assert timeline.changes, "the test needs a scenario with dated changes"
    before = timeline.base.signing.target_rate
    out = with_overrides(timeline, {"signing.target_rate": 0.8, "referral.downward.enabled": False})
    assert isinstance(out, Timeline)
    assert out.base.signing.target_rate == 0.8
    assert all(params.signing.target_rate == 0.8 for _, _, params in out.changes)
    assert [(d, label) for d, label, _ in out.changes] == [(d, label) for d, label, _ in timeline.changes]
    assert timeline.base.signing.target_rate == before != 0.8  # the input is untouched
    assert out.overrides[-2:] == ["signing.target_rate=0.8", "referral.downward.enabled=false"]


def test_with_overrides_reports_every_problem_with_the_loaders_messages(tmp_path):
    settings = {"signing.target_rat": 0.7, RATE: 1.5, "world.tertiary.5.distance_km": 9.0}
    with pytest.raises(ScenarioError) as err:
        with_overrides(Scenario(), settings, where="here")
    found = {p.path: p.message for p in err.value.problems}
    assert all(p.file == "here" for p in err.value.problems)
    assert set(found) == set(settings)
    # the same words as a mistaken --set on the command line
    (tmp_path / "s.yaml").write_text("name: t\n", encoding="utf-8")
    for key, value in settings.items():
        with pytest.raises(ScenarioError) as by_loader:
            load(tmp_path / "s.yaml", [f"{key}={value}"])
        assert by_loader.value.problems[0].message == found[key]
    assert "did you mean 'target_rate'" in found["signing.target_rat"]
    assert found[RATE] == "found 1.5; allowed: a number from 0 to 1 (share)"


def test_split_path_is_the_loaders():
    from sim.scenario import loader

    assert loader.split_path is split_path
    assert split_path("world.tertiary.0.distance_km") == ("world", "tertiary", 0, "distance_km")


def test_every_override_site_uses_the_helper():
    """No module sets a dotted key path by hand any more."""
    for path in ["sim/outputs/dashboard.py", "sim/studies/validation.py", "sim/studies/calibrate.py",
                 "tests/conftest.py", "tests/test_levers.py", "tests/test_rules.py"]:
        text = (ROOT / path).read_text(encoding="utf-8")
        assert 'split(".")' not in text and "split('.')" not in text, path
        assert "with_overrides" in text, path


# ------------------------------------------------------------------ introspection

def test_fields_walk_every_parameter_of_the_reference_page():
    page = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    params = list(fields.parameters())
    assert len(params) > 150
    for p in params:
        assert f"`{p.path}`" in page, p.path
    rate = fields.parameter(RATE)
    assert rate.bounds == (0, 1, False) and rate.unit == "share"
    assert rate.default == 0.5                       # the field's own default
    assert fields.default_value(RATE) == 0.4          # the resident scheme's documented default
    with pytest.raises(KeyError, match="did you mean 'rate'"):
        fields.parameter("insurance.resident.outpatient.tertiary.rat")


def test_calibration_ranges_lie_within_the_schema():
    from sim.studies.calibrate import PARAMETERS

    for p in PARAMETERS:
        if "." in p.name:
            lo, hi, _ = fields.parameter(p.name).bounds
            assert lo <= p.lower < p.upper <= hi, p.name


def test_dashboard_sliders_and_levers_use_the_schema():
    dashboard = pytest.importorskip("sim.outputs.dashboard")
    for name in ("tertiary_outpatient", "grassroots_outpatient", "signing_target"):
        low, high = dashboard.slider_range(name)
        lo, hi, _ = fields.parameter(dashboard.LEVERS[name][1][0]).bounds
        assert lo <= low < high <= min(hi, dashboard.SLIDER_MAX)
    moved = dashboard.with_settings(Scenario(), dashboard.lever_settings("signing_target", 0.6))
    assert moved.signing.target_rate == 0.6
    with pytest.raises(ScenarioError, match="allowed: a number from 0 to 1"):
        dashboard.with_settings(Scenario(), {"signing.target_rate": 1.4})


# ------------------------------------------------------------------ the schema's modules

def test_schema_public_names_still_import_from_schema():
    from sim.scenario.schema import (AGE_BANDS, FIXED_AT_START, MIN_AGENTS, SCHEMES, SETTINGS,  # noqa: F401
                                     SEVERITIES, TIERS, Change, Scenario, Timeline, World, bounds)

    assert bounds(fields.parameter("world.population").field) == (100, 50_000_000, False)


def test_scenarios_pickle_for_worker_processes():
    scenario = with_overrides(Scenario(), {"providers.quality.township": 0.6})
    assert pickle.loads(pickle.dumps(scenario)) == scenario


def test_scenario_floor_has_no_module_over_500_lines_or_function_over_80():
    for path in sorted((ROOT / "sim" / "scenario").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 500, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno + 1 <= 80, f"{path.name}: {node.name}"


def test_scenario_floor_modules_import_each_other_without_cycles():
    """Every import between sim/scenario's modules, deferred ones included, runs one way."""
    folder = ROOT / "sim" / "scenario"
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim.scenario."):
                deps.add(node.module.split(".")[2])
            elif isinstance(node, ast.ImportFrom) and node.module == "sim.scenario":
                deps |= {alias.name for alias in node.names}
        graph[path.stem] = deps - {path.stem}
    done: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> None:
        assert name not in stack, " -> ".join(stack + (name,))
        if name in done:
            return
        for dep in graph.get(name, ()):
            visit(dep, stack + (name,))
        done.add(name)

    for name in graph:
        visit(name, ())
