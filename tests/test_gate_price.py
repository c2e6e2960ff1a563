"""A referral gate at the county hospital, claims, and service fees by seniority with a fund share.

Pure rules are checked with hypothesis; the mechanisms' directions on a small county with
paired seeds (the lever run and its baseline share illnesses and choices' random numbers).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.insurance import INPATIENT, OUTPATIENT, Rules, effective_rate, fee_paid
from sim.engine.metrics import group
from sim.engine.model import TierFlowModel
from sim.scenario.loader import over_defaults
from sim.scenario.overrides import with_overrides
from sim.scenario.schema import SCHEMES, SETTINGS, TIERS, Scenario

GATE = {"referral.required_at_county_hospital": True}
FEES = {"providers.registration_fee_by_severity.severe": 1.6, "providers.registration_fee_by_severity.critical": 2.0,
        "insurance.resident.outpatient.tertiary.fee_covered": 40.0,
        "insurance.employee.outpatient.tertiary.fee_covered": 40.0}
COUNTY, RESIDENT = TIERS.index("county"), SCHEMES.index("resident")
_RUNS: dict[tuple, dict] = {}


def daily(sets: dict | None = None, seed: int = 1) -> dict[str, np.ndarray]:
    """Daily columns of a small county (12,000 residents, 120 days after a 30-day warm-up)."""
    key = (seed, tuple(sorted((sets or {}).items())))
    if key not in _RUNS:
        data = over_defaults({"seed": seed, "days": 120, "warmup_days": 30,
                              "world": {"population": 12_000, "townships": 4, "villages_per_township": 6}})
        scenario = Scenario.model_validate(with_overrides(data, sets or {}, where="test"))
        _RUNS[key] = TierFlowModel(scenario, agents=False).run().daily()
    return _RUNS[key]


def cell(d: dict, name: str, tier: int, scheme: int = RESIDENT) -> float:
    return float(group(d, name)[tier, scheme].sum())


# ------------------------------------------------------------------ pure rules

def test_new_levers_are_neutral_by_default():
    s = Scenario()
    assert not s.referral.required_at_county_hospital
    assert all(getattr(s.providers.registration_fee_by_severity, k) == 1.0
               for k in ("minor", "moderate", "severe", "critical"))
    assert all(getattr(getattr(s.insurance, sch).outpatient, t).fee_covered == 0.0
               for sch in SCHEMES for t in TIERS)


@settings(max_examples=60, deadline=None)
@given(tier=st.integers(0, 3), setting=st.sampled_from([OUTPATIENT, INPATIENT]), referred=st.booleans(),
       scheme=st.integers(0, 1), signed=st.booleans())
def test_gate_zeroes_only_unreferred_outpatient_care_at_the_county_hospital(tier, setting, referred, scheme, signed):
    open_rules = Rules.from_scenario(Scenario())
    gated_rules = Rules.from_scenario(Scenario.model_validate(with_overrides(over_defaults({}), GATE, where="test")))
    args = (np.array([scheme]), setting, np.array([tier]), np.array([tier]), np.array([0]), np.array([referred]),
            np.array([signed]), np.array([False]))
    before, after = effective_rate(open_rules, *args)[0], effective_rate(gated_rules, *args)[0]
    if tier == COUNTY and setting == OUTPATIENT and not referred:
        assert after == 0.0 < before
    else:
        assert after == before


@settings(max_examples=100, deadline=None)
@given(fee=st.floats(0, 500), covered=st.floats(0, 500), rate=st.floats(0, 1), outpatient=st.booleans())
def test_the_fund_pays_at_most_the_fee_and_its_cover_and_only_on_a_reimbursed_visit(fee, covered, rate, outpatient):
    paid = fee_paid(np.array([fee]), np.array([covered]), np.array([rate]), np.array([outpatient]))[0]
    assert 0.0 <= paid <= min(fee, covered) + 1e-9
    if rate == 0 or not outpatient:
        assert paid == 0.0
    else:
        assert paid == pytest.approx(min(fee, covered))


# ------------------------------------------------------------------ mechanisms (small county)

def test_unreferred_visits_at_a_gated_county_hospital_are_paid_in_cash_not_claimed():
    """Claims fall far more than visits: most patients pay rather than fetch a slip."""
    base, gate = daily(), daily(GATE)
    visits = cell(gate, "visits", COUNTY) / cell(base, "visits", COUNTY)
    claims = cell(gate, "claims", COUNTY) / cell(base, "claims", COUNTY)
    assert claims < 0.5 and claims < visits - 0.3, (claims, visits)
    fund = [float(group(d, "reimbursed")[SETTINGS.index("outpatient"), COUNTY, RESIDENT].sum()) for d in (base, gate)]
    assert fund[1] < 0.5 * fund[0], fund


@pytest.mark.slow
def test_gating_the_county_hospital_moves_residents_to_the_grassroots():
    """Fewer resident visits at the county hospital, more at the grassroots, summed over seeds."""
    seeds = (1, 2)
    county = [sum(cell(daily(s, seed), "visits", COUNTY) for seed in seeds) for s in (None, GATE)]
    grassroots = [sum(cell(daily(s, seed), "visits", 0) + cell(daily(s, seed), "visits", 1) for seed in seeds)
                  for s in (None, GATE)]
    assert county[1] < county[0], county
    assert grassroots[1] > grassroots[0], grassroots


def test_slips_make_the_township_the_first_contact_and_refer_up():
    base, gate = daily(), daily(GATE)
    township = TIERS.index("township")
    assert group(gate, "referrals_up")[township].sum() > group(base, "referrals_up")[township].sum()
    assert group(gate, "first_visits")[township].sum() > group(base, "first_visits")[township].sum()


@pytest.mark.parametrize("sets", [GATE, FEES], ids=["gate", "fees"])
def test_money_is_conserved(sets):
    """billed = basic fund + 大病保险 + 医疗救助 + out of pocket, with the new levers on."""
    d = daily(sets)
    billed, paid, oop = group(d, "billed").sum(), group(d, "reimbursed").sum(), group(d, "oop").sum()
    other = group(d, "serious_illness").sum() + group(d, "assistance").sum()
    assert billed == pytest.approx(paid + other + oop, rel=1e-9)


def test_seniority_fees_with_a_fund_share_raise_the_funds_and_lower_patients_share_at_tertiary():
    base, fees = daily(), daily(FEES)
    tertiary, op = TIERS.index("tertiary"), SETTINGS.index("outpatient")
    per_visit = lambda d, name: float(group(d, name)[op, tertiary].sum()) / float(
        group(d, "visits")[tertiary].sum())
    assert per_visit(fees, "reimbursed") > per_visit(base, "reimbursed") + 20.0
    assert per_visit(fees, "oop") < per_visit(base, "oop")
    assert per_visit(fees, "billed") > per_visit(base, "billed")  # severe cases see senior doctors
