"""The head county hospital as a provider paid on real terms, and keeping patients in the county
bounded by what its member centres can treat (sim/engine/agents/hospitals.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.county.world import COUNTY, TERTIARY
from sim.engine.agents.hospitals import absorption, keep_weight, payment_weight
from sim.engine.metrics import group
from sim.engine.model import TierFlowModel
from sim.scenario.overrides import with_overrides
from tests.conftest import small_scenario

BUDGET = {"medical_community__enabled": True, "medical_community__global_budget__enabled": True}


def run(seed: int = 1, days: int = 365, **sets) -> TierFlowModel:
    return TierFlowModel(small_scenario(population=20000, days=days, seed=seed, **sets), agents=False).run()


def admissions(model: TierFlowModel) -> np.ndarray:
    return group(model.daily(), "admissions").sum(axis=-1)


@given(st.floats(0, 1), st.floats(0, 1), st.booleans())
def test_payment_weight_is_a_share_and_rises_with_own_fees(fees, surplus, budget):
    w = payment_weight(fees, surplus, budget)
    assert 0.0 <= w <= 1.0
    assert payment_weight(min(fees + 0.1, 1.0), surplus, budget) >= w - 1e-12


def test_even_terms_are_neutral_with_and_without_a_budget():
    assert payment_weight(0.5, 0.5, True) == pytest.approx(0.5)
    assert payment_weight(0.5, 0.5, False) == pytest.approx(0.5)
    assert payment_weight(1.0, 0.0, False) == pytest.approx(1.0)  # paid per service, nothing to save
    assert payment_weight(1.0, 1.0, True) > 0.5  # Sanming: its own fees and the whole surplus
    assert payment_weight(0.0, 1.0, True) < 0.5  # salaried, keeps the surplus: sends cases down


def test_baseline_head_weight_is_the_lever_as_set():
    p = small_scenario(population=3000, days=5)
    assert not p.medical_community.enabled
    assert keep_weight(p) == pytest.approx(p.medical_community.head.keep_volume_weight)
    q = with_overrides(p, {"medical_community.enabled": True, "medical_community.head.keep_volume_weight": 0.3})
    assert keep_weight(q) == pytest.approx(0.3)


@given(st.lists(st.floats(0, 3), min_size=1, max_size=20))
def test_absorption_rises_with_member_capability(caps):
    a = np.array(caps)
    assert 0.0 <= absorption(a) <= 1.0
    assert absorption(a + 0.5) >= absorption(a)


@pytest.mark.slow
def test_a_low_capability_county_keeps_fewer_patients_in_county():
    """Same community and budget: weak township centres leave the head less room to keep cases."""
    for seed in (1, 2):
        low = run(seed=seed, providers__capability__township=0.9, **BUDGET)
        high = run(seed=seed, providers__capability__township=1.7, **BUDGET)
        head = lambda m: m.fac.stretch[m.fac.tier == COUNTY].max()  # noqa: E731
        assert head(low) < head(high)
        share = lambda m: admissions(m)[TERTIARY] / admissions(m).sum()  # noqa: E731
        low_base = run(seed=seed, providers__capability__township=0.9)
        high_base = run(seed=seed, providers__capability__township=1.7)
        # the out-of-county share falls less (in pp) where the townships cannot treat
        assert share(low_base) - share(low) < share(high_base) - share(high) + 0.01


@pytest.mark.slow
def test_a_head_paid_for_its_own_volume_grows_its_admissions():
    """An alliance without a budget (Hubei 'Y County'): fee-for-service to the head keeps volume."""
    on = {"medical_community__enabled": True}
    for seed in (1, 2):
        even = run(seed=seed, **on)
        fees = run(seed=seed, medical_community__head__own_fees=1.0, **on)
        assert admissions(fees)[COUNTY] > admissions(even)[COUNTY]
        assert fees.fac.stretch[fees.fac.tier == COUNTY].max() > 0.0 == even.fac.stretch.max()
