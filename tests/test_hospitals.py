"""Providers that act (sim/engine/agents/hospitals.py) and referrals as the policies define them.

The county hospital heads the medical community and decides from its running budget
balance; tertiary hospitals expand by demand and revenue and recruit from the county;
a case beyond capability gets a referral slip only sometimes (formal vs self-referral).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.county.world import COUNTY, TERTIARY, TOWNSHIP
from sim.engine.agents import CountyHospital, TertiaryHospital, TownshipHealthCentre
from sim.engine.agents.hospitals import budget_effort, rehire
from sim.engine.metrics import group
from sim.engine.model import TierFlowModel
from sim.outputs.plots.flows import aggregate_routes
from tests.conftest import small_scenario

BUDGET = {"medical_community__enabled": True, "medical_community__global_budget__enabled": True}
BUSY = {"providers__capacity_expansion__utilisation_threshold": 0.5}  # a county whose tertiary hospital is busy


def run(days: int = 365, seed: int = 1, population: int = 20000, **sets) -> TierFlowModel:
    return TierFlowModel(small_scenario(population=population, days=days, seed=seed, **sets), agents=False).run()


@given(st.floats(-1, 1), st.floats(0, 20), st.floats(1, 10))
def test_effort_rises_with_deficit_and_stays_within_bounds(share, response, most):
    effort = budget_effort(share, response, most)
    assert 0.0 <= effort <= most
    assert budget_effort(share - 0.1, response, most) >= effort


@given(st.floats(0, 1), st.floats(0, 1))
def test_rehiring_moves_staff_towards_full(staff, share):
    assert staff <= rehire(staff, share) <= 1.0 + 1e-12


def test_facility_agents_exist_without_patient_agents():
    model = TierFlowModel(small_scenario(population=3000, days=5), agents=False)
    assert len(model.agents_by_type[CountyHospital]) >= 1
    assert len(model.agents_by_type[TertiaryHospital]) >= 1
    assert len(model.agents_by_type[TownshipHealthCentre]) >= 1
    assert len(model.agents) == model.world.n_facilities


@pytest.mark.slow
def test_tighter_budget_makes_the_head_hospital_refer_down_more():
    for seed in (1, 2):
        loose = run(seed=seed, medical_community__global_budget__per_capita=1700, **BUDGET)
        tight = run(seed=seed, medical_community__global_budget__per_capita=1000, **BUDGET)
        assert tight.summary()["referrals_down"] > 1.2 * loose.summary()["referrals_down"]
        assert tight.down_boost > loose.down_boost and tight.keep_in_county > loose.keep_in_county


@pytest.mark.slow
def test_disabling_tertiary_expansion_lowers_the_tertiary_share():
    for seed in (1, 2):
        off = run(days=730, seed=seed, **BUSY)
        on = run(days=730, seed=seed, providers__capacity_expansion__enabled=True, **BUSY)
        assert on.fac.expansion[on.fac.tier == TERTIARY].max() > 1.2
        assert off.summary()["tertiary_share"] < on.summary()["tertiary_share"] - 0.003


@pytest.mark.slow
def test_a_lower_expansion_cap_lowers_the_tertiary_share():
    on = {"providers__capacity_expansion__enabled": True, **BUSY}
    capped = run(days=730, providers__capacity_expansion__max_multiplier=1.1, **on)
    free = run(days=730, providers__capacity_expansion__max_multiplier=3.0, **on)
    assert capped.fac.expansion[capped.fac.tier == TERTIARY].max() <= 1.1 + 1e-9
    assert capped.summary()["tertiary_share"] < free.summary()["tertiary_share"]


@pytest.mark.slow
def test_staff_recruited_away_lowers_county_and_township_quality():
    on = {"providers__capacity_expansion__enabled": True, **BUSY}
    recruiting = run(days=365, providers__capacity_expansion__recruitment=1.0, **on)
    not_recruiting = run(days=365, providers__capacity_expansion__recruitment=0.0, **on)
    fac = recruiting.fac
    lower = (fac.tier >= TOWNSHIP) & (fac.tier <= COUNTY) & recruiting.world.fac_in_county
    assert (fac.quality[lower] < not_recruiting.fac.quality[lower]).all()
    assert (fac.capacity[lower] < not_recruiting.fac.capacity[lower]).all()
    assert np.allclose(fac.quality[fac.tier == 0], not_recruiting.fac.quality[fac.tier == 0])  # villages untouched


def _in_county_visits(model: TierFlowModel) -> np.ndarray:
    return group(model.daily(), "visits").sum(axis=1)[:3]  # village, township, county


@pytest.mark.slow
def test_both_medical_community_outcomes_are_reachable():
    """Sanming / Hubei (county keeps the volume) and Funan (volume goes down) from one lever."""
    fast = {"medical_community__ramp_days": 120, **BUDGET}
    for seed in (1, 2):
        base = _in_county_visits(run(seed=seed))
        keep = _in_county_visits(run(seed=seed, medical_community__head__keep_volume_weight=0.95, **fast))
        send = _in_county_visits(run(seed=seed, medical_community__head__keep_volume_weight=0.05, **fast))
        county_share = lambda v: v[2] / v.sum()  # noqa: E731
        # Keeping volume: county visits grow more than grassroots visits, so the county's share rises.
        assert keep[2] - base[2] > keep[:2].sum() - base[:2].sum()
        assert county_share(keep) > county_share(base)
        # Sending it down: the grassroots share rises.
        assert 1 - county_share(send) > 1 - county_share(base)


@pytest.fixture(scope="module")
def baseline():
    return run(days=365, seed=3, population=30000)


def test_formal_upward_referrals_per_100_in_the_national_range(baseline):
    """NHC 2023: 1.11 up-referrals per 100 residents; 2024 about 1.3 (36 m two-way at 2023's split)."""
    s = baseline.summary()
    assert 0.9 <= s["referrals_up_per_100"] <= 1.6
    assert s["self_referrals"] > 5 * s["referrals_up"]


def test_referrals_up_counts_only_formal_referrals(baseline):
    table = baseline.referral_table()
    kinds = np.array(table["kind"])
    up = np.array(table["direction"]) == "up"
    count = np.array(table["count"])
    assert set(kinds) == {"formal", "self"}
    assert count[up & (kinds == "formal")].sum() == pytest.approx(baseline.summary()["referrals_up"])
    assert count[up & (kinds == "self")].sum() == pytest.approx(baseline.summary()["self_referrals"])
    assert not (~up & (kinds == "self")).any()  # nobody is sent down without a slip


def test_a_medical_community_issues_several_times_the_national_rate_of_slips():
    base = run(days=200, seed=4).summary()
    community = run(days=200, seed=4, medical_community__enabled=True).summary()
    assert community["referrals_up_per_100"] > 3 * base["referrals_up_per_100"]


def test_no_slips_means_no_formal_upward_referrals():
    s = run(days=120, seed=5, population=8000, referral__formal_share=0.0).summary()
    assert s["referrals_up"] == 0 and s["self_referrals"] > 0


def test_network_figure_reads_the_kind_of_referral(baseline):
    """The referral network figure draws self-referrals (dashed) apart from formal ones."""
    tables = {"facilities": baseline.facility_table(), "referrals": baseline.referral_table(),
              "settlements": baseline.settlement_table()}
    kinds = {kind for (_, _, _, kind) in aggregate_routes(tables)}
    assert kinds == {"formal", "self"}
