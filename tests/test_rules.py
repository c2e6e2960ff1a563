"""The pure rules, tested alone with hypothesis (choice, severity, reimbursement, trust)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.engine.behaviour import (FORGO, can_treat, choose, cost_disutility, draw_severity, experience, learn,
                           logit_probabilities)
from sim.engine.episodes import rank_within, unique_rounds
from sim.engine.insurance import Rules, effective_rate, reimburse
from sim.scenario.overrides import with_overrides
from sim.scenario.schema import Scenario
from tests.conftest import dotted

money = st.floats(0, 1e6, allow_nan=False)
share = st.floats(0, 1, allow_nan=False)


@given(bill=money, rate=share, deductible=money, cap=money)
def test_reimbursement_never_exceeds_bill_rate_or_cap(bill, rate, deductible, cap):
    paid, used = reimburse(np.array([bill]), np.array([rate]), np.array([deductible]), np.array([cap]))
    assert 0 <= paid[0] <= min(bill * rate, cap) + 1e-6
    assert 0 <= used[0] <= min(bill, deductible) + 1e-9
    if rate > 0 and bill > deductible and cap >= bill:
        assert abs(paid[0] - rate * (bill - deductible)) < 1e-6


@given(bill=money, deductible=money)
def test_no_pooling_means_no_deductible_used(bill, deductible):
    paid, used = reimburse(np.array([bill]), np.array([0.0]), np.array([deductible]), np.array([1e9]))
    assert paid[0] == 0 and used[0] == 0


def _rules(**sets) -> Rules:
    return Rules.from_scenario(with_overrides(Scenario(), dotted(sets), where="_rules"))


@given(tier=st.integers(0, 3), grade=st.integers(0, 3), scheme=st.integers(0, 1), place=st.integers(0, 3),
       referred=st.booleans(), signed=st.booleans(), chronic=st.booleans(), setting=st.integers(0, 1))
def test_effective_rate_is_a_share_and_pooling_off_is_zero(tier, grade, scheme, place, referred, signed, chronic,
                                                           setting):
    a = lambda v: np.array([v])  # noqa: E731
    rules = _rules()
    rate = effective_rate(rules, a(scheme), setting, a(tier), a(grade), a(place), a(referred), a(signed), a(chronic))
    assert 0.0 <= rate[0] <= 1.0
    off = _rules(insurance__resident__outpatient__tertiary__pooled=False)
    # Pooling off at 三级 reaches any facility of that grade, whatever its tier.
    r = effective_rate(off, a(0), 0, a(tier), a(3), a(place), a(referred), a(signed), a(chronic))
    assert r[0] == 0.0


def test_unreferred_out_of_county_care_is_reimbursed_less():
    a = lambda v: np.array([v])  # noqa: E731
    rules = _rules()
    for place in (1, 2, 3):
        referred = effective_rate(rules, a(0), 1, a(3), a(3), a(place), a(True), a(False), a(False))
        unreferred = effective_rate(rules, a(0), 1, a(3), a(3), a(place), a(False), a(False), a(False))
        assert unreferred[0] < referred[0]
    required = _rules(referral__required_for_out_of_county=True)
    assert effective_rate(required, a(0), 1, a(3), a(3), a(1), a(False), a(False), a(False))[0] == 0.0


@given(u=arrays(np.float64, 50, elements=st.floats(0, 0.999999)), odds=st.floats(0.1, 10))
def test_severity_is_a_valid_class_and_odds_shift_it_up(u, odds):
    shares = np.array([0.73, 0.215, 0.045, 0.01])
    base = draw_severity(u, shares, np.ones(50))
    shifted = draw_severity(u, shares, np.full(50, odds))
    assert base.min() >= 0 and base.max() <= 3
    if odds >= 1:
        assert (shifted >= 2).sum() >= (base >= 2).sum()


def test_severity_shares_match_in_large_samples():
    rng = np.random.default_rng(0)
    shares = np.array([0.6, 0.25, 0.1, 0.05])
    sev = draw_severity(rng.random(200_000), shares, np.ones(200_000))
    assert np.allclose(np.bincount(sev, minlength=4) / 200_000, shares, atol=0.005)


@settings(max_examples=50)
@given(utility=arrays(np.float64, (5, 4), elements=st.floats(-10, 10)), outside=st.floats(-10, 10))
def test_logit_draws_follow_closed_form_probabilities(utility, outside):
    rng = np.random.default_rng(1)
    n = 4000
    util = np.repeat(utility[:1], n, axis=0)
    out = np.full(n, outside)
    picks = choose(util, out, rng.random(n))
    freq = np.bincount(np.where(picks == FORGO, 4, picks), minlength=5) / n
    assert np.allclose(freq, logit_probabilities(util[:1], out[:1])[0], atol=0.04)


@given(valid=arrays(bool, (20, 4)))
def test_choice_never_picks_an_invalid_option(valid):
    rng = np.random.default_rng(2)
    picks = choose(np.where(valid, 0.0, -np.inf), np.full(20, -50.0), rng.random(20))
    chosen = picks[picks != FORGO]
    assert valid[np.flatnonzero(picks != FORGO), chosen].all()


@given(cap=st.floats(0, 3), sev=st.integers(0, 3))
def test_capability_is_monotone(cap, sev):
    u = np.linspace(0, 0.999, 101)
    treated = can_treat(np.full(101, cap), np.full(101, sev), u).mean()
    more = can_treat(np.full(101, min(cap + 0.5, 3.0)), np.full(101, sev), u).mean()
    assert more >= treated
    if cap >= sev:
        assert treated == 1.0


@given(oop=money, income=st.floats(1, 1e6))
def test_cost_is_felt_more_by_the_poor(oop, income):
    poor = cost_disutility(np.array([[oop]]), np.array([income / 2]))
    rich = cost_disutility(np.array([[oop]]), np.array([income]))
    assert poor[0, 0] >= rich[0, 0] >= 0


@given(trust=share, satisfied=st.booleans(), rate=share)
def test_trust_moves_toward_the_outcome(trust, satisfied, rate):
    outcome = experience(np.array([satisfied]), np.array([False]), np.array([False]), 0.3, 0.0)
    new = learn(np.float32(trust), outcome, rate)[0]
    lo, hi = sorted((trust, float(outcome[0])))
    assert lo - 1e-6 <= new <= hi + 1e-6


@given(group=arrays(np.int64, st.integers(1, 60), elements=st.integers(0, 5)))
def test_rank_within_and_unique_rounds(group):
    key = np.arange(len(group))[::-1].astype(float)
    rank = rank_within(group, key)
    for g in np.unique(group):
        assert sorted(rank[group == g]) == list(range((group == g).sum()))
    rounds = unique_rounds(group)
    assert sorted(np.concatenate(rounds)) == list(range(len(group)))
    for r in rounds:
        assert len(np.unique(group[r])) == len(r)
