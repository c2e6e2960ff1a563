"""The payers after the basic fund: 大病保险, 医疗救助, 门诊慢特病, and the heavy tail of critical bills."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.insurance import NO_CAP
from sim.engine.metrics import group
from sim.engine.payers import (banded_payment, chronic_special_quote, lowest_first, mean_one_lognormal,
                               split_after_fund)
from tests.conftest import run, small_scenario

EDGES = np.array([0.0, 30_000.0, 100_000.0])
RATES = np.array([0.6, 0.65, 0.75])
money = st.floats(0, 300_000, allow_nan=False)
share = st.floats(0, 1)


# ------------------------------------------------------------------ pure rules

def test_serious_illness_matches_the_worked_example():
    """[S9]: threshold 12,000 yuan, 150,000 yuan eligible -> 93,800 yuan paid."""
    assert banded_payment(0.0, 150_000.0, 12_000.0, EDGES, RATES) == pytest.approx(93_800.0)
    assert banded_payment(0.0, 11_999.0, 12_000.0, EDGES, RATES) == 0.0


@given(a=money, b=money, c=money, threshold=money)
def test_serious_illness_pays_the_same_bill_by_bill_as_at_once(a, b, c, threshold):
    """Accumulating a year's qualifying spending bill by bill pays what one bill would."""
    x, y, z = sorted((a, b, c))
    parts = banded_payment(x, y, threshold, EDGES, RATES) + banded_payment(y, z, threshold, EDGES, RATES)
    assert parts == pytest.approx(banded_payment(x, z, threshold, EDGES, RATES), abs=1e-6)
    assert 0.0 <= banded_payment(x, z, threshold, EDGES, RATES) <= z - x + 1e-9


@settings(max_examples=300)
@given(billed=money, in_policy=share, rate=share, fund_share=share, before=money, threshold=money, bonus=st.floats(0, 0.3),
       assist_rate=share, ded_left=st.floats(-1000, 10_000), cap_left=st.floats(-1000, 60_000), covered=st.booleans())
def test_every_yuan_is_paid_by_someone(billed, in_policy, rate, fund_share, before, threshold, bonus, assist_rate,
                                       ded_left, cap_left, covered):
    """billed = fund + 大病保险 + 医疗救助 + out of pocket; no payer pays a negative amount, none
    pays the out-of-policy part, assistance stays within its cap."""
    eligible = billed * in_policy
    fund = eligible * rate * fund_share
    sp = split_after_fund(np.array([billed]), np.array([eligible]), np.array([fund]), np.array([before]),
                          np.array([threshold if covered else NO_CAP]), (RATES + bonus)[None, :], EDGES,
                          np.array([assist_rate]), np.array([ded_left]), np.array([cap_left]))
    assert fund + sp.serious_illness[0] + sp.assistance[0] + sp.oop[0] == pytest.approx(billed, abs=1e-6)
    assert min(sp.serious_illness[0], sp.assistance[0]) >= 0.0
    assert sp.oop[0] >= billed - eligible - 1e-6
    assert sp.assistance[0] <= max(cap_left, 0.0) + 1e-9
    if not covered:
        assert sp.serious_illness[0] == 0.0


@given(eligible=money, basic=share, special=share)
def test_chronic_special_pays_at_least_the_general_rate_where_pooled(eligible, basic, special):
    paid, _ = chronic_special_quote(np.array([eligible]), np.array([basic]), special, np.zeros(1), np.array([NO_CAP]))
    assert paid[0] >= basic * eligible - 1e-6
    none, _ = chronic_special_quote(np.array([eligible]), np.zeros(1), special, np.zeros(1), np.array([NO_CAP]))
    assert none[0] == 0.0


def test_the_heavy_tail_keeps_the_mean_bill():
    z = np.random.default_rng(0).standard_normal(400_000)
    assert mean_one_lognormal(z, 1.0).mean() == pytest.approx(1.0, abs=0.02)
    assert mean_one_lognormal(z, 0.0).min() == mean_one_lognormal(z, 0.0).max() == 1.0


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50), share)
def test_the_lowest_incomes_are_flagged_first(incomes, fraction):
    income = np.array(incomes)
    flag = lowest_first(income, fraction)
    assert flag.sum() == round(fraction * len(income))
    if flag.any() and (~flag).any():
        assert income[flag].max() <= income[~flag].min()


# ------------------------------------------------------------------ the model

def _run(**sets):
    return run(small_scenario(population=8000, days=365, seed=5, **sets))


@pytest.fixture(scope="module")
def base():
    return _run()


def test_payers_conserve_money_and_match_their_accounts(base):
    d = base.daily()
    acc = base.billing.accounts
    parts = sum(group(d, g).sum() for g in ("reimbursed", "serious_illness", "assistance", "oop"))
    assert group(d, "billed").sum() == pytest.approx(parts, rel=1e-12)
    assert acc.assist_paid.sum() * base.params.scale == pytest.approx(group(d, "assistance").sum(), rel=1e-9)
    assert acc.assist_paid[~acc.low_income].sum() == 0.0
    assert acc.cs_paid.sum() * base.params.scale == pytest.approx(group(d, "chronic_special").sum(), rel=1e-9)
    s = base.summary()
    assert s["medical_costs"] == pytest.approx(group(d, "billed").sum())
    assert min(s["serious_illness_paid"], s["assistance_paid"], s["chronic_special_fund"]) > 0


HIGH_RATES = {f"insurance__serious_illness__{k}": 0.9 for k in ("rate", "rate_band2", "rate_band3")}
LOW_THRESHOLD = {"insurance__serious_illness__threshold_income_share": 0.2}  # about 7,000 yuan, cf. [S8] 6,269


def test_a_higher_serious_illness_rate_lowers_catastrophic_spending_of_the_severely_ill():
    """With a threshold well under the national ceiling, a higher rate brings some severely ill
    residents under the catastrophic line. (At the ceiling, 50% of income, whoever reaches the
    threshold has already spent more than 40% of capacity to pay: the rate then lowers what
    they pay, not how many are in catastrophe; see the next test.)"""
    low, high = _run(**LOW_THRESHOLD).summary(), _run(**LOW_THRESHOLD, **HIGH_RATES).summary()
    assert high["serious_illness_paid"] > low["serious_illness_paid"]
    assert high["catastrophic_share_severely_ill"] < low["catastrophic_share_severely_ill"]
    assert low["catastrophic_share_severely_ill"] > low["catastrophic_share"]


def test_a_higher_serious_illness_rate_lowers_what_the_severely_ill_pay(base):
    higher = _run(**HIGH_RATES)
    severe = base.billing.accounts.severe_admissions > 0
    np.testing.assert_array_equal(severe, higher.billing.accounts.severe_admissions > 0)  # the same people fell ill
    assert higher.people.oop[severe].sum() < 0.99 * base.people.oop[severe].sum()
    np.testing.assert_array_equal(higher.people.oop[base.people.scheme == 1], base.people.oop[base.people.scheme == 1])


def test_medical_assistance_lowers_out_of_pocket_of_the_low_income_only(base):
    without = _run(insurance__assistance__enabled=False)
    low = base.billing.accounts.low_income
    assert low.sum() == round(0.047 * base.people.n)
    assert base.people.oop[low].sum() < 0.9 * without.people.oop[low].sum()
    np.testing.assert_array_equal(base.people.oop[~low], without.people.oop[~low])


def test_chronic_special_recognition_lowers_recognised_patients_outpatient_out_of_pocket(base):
    none = _run(insurance__resident__chronic_special__recognised_share=0.0,
                insurance__employee__chronic_special__recognised_share=0.0)
    recognised = base.billing.accounts.recognised
    assert recognised.sum() > 50 and not none.billing.accounts.recognised.any()
    assert base.people.oop[recognised].sum() < 0.95 * none.people.oop[recognised].sum()
    assert group(base.daily(), "oop")[0].sum() < group(none.daily(), "oop")[0].sum()  # outpatient


@pytest.mark.slow
def test_a_heavy_tail_concentrates_the_out_of_county_fund_on_few_inpatients():
    """Top-10% out-of-county inpatients' fund share rises over a thin tail; the mean bill stays."""
    for seed in (5, 6):
        heavy = run(small_scenario(population=15000, days=365, seed=seed)).summary()
        thin = run(small_scenario(population=15000, days=365, seed=seed, providers__critical_bill_sigma=0.0)).summary()
        key = "top10_out_of_county_inpatients_fund_share"
        assert heavy[key] > thin[key] + 0.03
        assert heavy["medical_costs"] == pytest.approx(thin["medical_costs"], rel=0.1)
