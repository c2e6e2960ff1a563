"""A policy's effect, not the calendar's: a run with dated changes also runs without them (same seed)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.cli import main
from sim.outputs.results import load_run
from sim.outputs.runs import difference, run_scenario, summary_table
from tests.conftest import ROOT, load_small


@pytest.fixture(scope="module")
def xinxiang(tmp_path_factory):
    """Xinxiang 2025 at 20,000 residents: the policy day is 183."""
    return run_scenario(load_small("xinxiang_2025.yaml"), tmp_path_factory.mktemp("runs"), draw=False, quiet=True)


@pytest.mark.slow
def test_xinxiang_effect_moves_residents_out_of_tertiary(xinxiang):
    s = load_run(xinxiang)["summary"]
    assert s["policy_effect_window"] == [183, 365]
    effect = s["policy_effect"]
    assert effect["visits_by_tier_scheme"]["tertiary"]["resident"] < 0  # residents leave the city hospitals
    assert effect["visits_by_tier_scheme"]["village"]["resident"] + effect["visits_by_tier_scheme"]["county"][
        "resident"] > 0  # ... for the county's own facilities
    assert effect["oop_per_tertiary_outpatient_visit_resident"] > 0  # those who stay pay more
    with_, without = s["periods"]["after"], s["periods"]["without_policy"]
    assert effect["grassroots_share"] == pytest.approx(with_["grassroots_share"] - without["grassroots_share"])
    assert len(effect["oop_per_capita_by_income_quintile"]) == 5  # nested like the summary, lists too


@pytest.mark.slow
def test_counterfactual_shares_the_days_before_the_policy(xinxiang):
    run = load_run(xinxiang)
    with_, without = run["daily"], run["daily_without_policy"]
    assert set(with_) == set(without)
    assert all((with_[c][:183] == without[c][:183]).all() for c in with_)  # common random numbers
    assert any((with_[c][183:] != without[c][183:]).any() for c in with_)
    assert "daily_without_policy" not in run["tables"]


def test_scenario_without_changes_runs_once(tmp_path, monkeypatch):
    import sim.outputs.runs as runs

    def no_counterfactual(*a, **k):
        raise AssertionError("a scenario without changes has no counterfactual")
    monkeypatch.setattr(runs, "counterfactual", no_counterfactual)
    folder = run_scenario(load_small("baseline.yaml", population=2000, days=40), tmp_path, draw=False, quiet=True)
    s = json.loads((folder / "summary.json").read_text())
    assert "policy_effect" not in s and "policy_effect_window" not in s
    assert not (folder / "daily_without_policy.csv").exists()


@pytest.mark.slow
def test_terminal_shows_without_with_effect(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main([str(ROOT / "scenarios/xinxiang_2025.yaml"), "--set", "world.population=3000", "--days", "240",
              "--out", str(tmp_path), "--no-figures"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    head = next(line for line in out.splitlines() if "whole run" in line)
    for words in ("without policy", "with policy", "effect", "before day 183", "from day 183"):
        assert words in head
    assert "calendar and chance included" in out
    assert head.index("without policy") < head.index("effect") < head.index("before day 183")


def test_table_in_chinese_has_the_effect_columns():
    s = {"grassroots_share": 0.5, "changes": [{"day": 10, "label": "x"}]}
    from sim.engine.indicators import HEADLINE_ROWS
    base = {ind.key: 1.0 for ind in HEADLINE_ROWS}
    summary = {**base, "changes": s["changes"], "periods": {"before": base, "after": base, "without_policy": base},
               "policy_effect": {k: 0.0 for k in base}, "policy_effect_window": [10, 20]}
    zh = summary_table(summary, "zh")
    assert "无政策" in zh and "有政策" in zh and "政策效应" in zh and "第10天前" in zh


numbers = st.floats(-1e6, 1e6, allow_nan=False)
nested = st.recursive(numbers, lambda inner: st.lists(inner, min_size=1, max_size=3)
                      | st.dictionaries(st.sampled_from("abc"), inner, min_size=1), max_leaves=8)


@given(nested)
def test_difference_of_a_summary_with_itself_is_zero(x):
    def leaves(v):
        if isinstance(v, dict):
            return [y for w in v.values() for y in leaves(w)]
        if isinstance(v, list):
            return [y for w in v for y in leaves(w)]
        return [v]
    assert all(v == 0 for v in leaves(difference(x, x)))
