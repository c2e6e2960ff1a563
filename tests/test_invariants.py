"""Invariants of any run: every episode accounted for, money balances, shares in range, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.metrics import group
from sim.engine.model import TierFlowModel
from tests.conftest import run, small_scenario


def test_every_episode_ends_somewhere(baseline_small):
    """New episodes = treated + admitted + forgone + gave up + still waiting (warm-up included)."""
    m = baseline_small
    new = m.ledger.group("episodes").sum()
    ended = m.ledger.group("treated").sum() + m.ledger.group("forgone").sum() + m.ledger.group("reneged").sum()
    assert m.ledger.group("forgone_quintile").sum() == pytest.approx(
        m.ledger.group("forgone").sum() + m.ledger.group("reneged").sum())
    waiting = len(m.flow.queue) + len(m.flow.transfers)
    assert new > 1000
    assert new == pytest.approx(ended + waiting, abs=1e-6)


def test_billed_equals_what_every_payer_paid(baseline_small):
    """billed = basic fund + 大病保险 + 医疗救助 + out of pocket, and each payer paid something."""
    d = baseline_small.daily()
    billed, paid, oop = group(d, "billed").sum(), group(d, "reimbursed").sum(), group(d, "oop").sum()
    serious, assist = group(d, "serious_illness").sum(), group(d, "assistance").sum()
    assert billed > 0 and serious > 0 and assist > 0
    assert billed == pytest.approx(paid + serious + assist + oop, rel=1e-9)


def test_people_accounts_match_the_ledger(baseline_small):
    m = baseline_small
    d = m.daily()
    assert float(m.people.oop.astype(np.float64).sum()) == pytest.approx(group(d, "oop").sum(), rel=1e-4)


def test_fund_balance_is_premiums_minus_spending(baseline_small):
    s = baseline_small.summary()
    d = baseline_small.daily()
    # 大病保险 is bought from the resident fund's premiums: it is fund spending; 医疗救助 is not.
    spending = group(d, "reimbursed").sum() + d["settlement"].sum() + group(d, "serious_illness").sum()
    assert s["fund_balance"] == pytest.approx(d["premiums"].sum() - spending, rel=1e-9)
    assert s["fund_spending"] == pytest.approx(spending, rel=1e-9)


def _shares(summary: dict):
    for key, value in summary.items():
        if key.endswith(("_share", "_rate")) and not isinstance(value, dict):
            yield key, value


def test_shares_lie_between_zero_and_one(baseline_small):
    s = baseline_small.summary()
    found = dict(_shares(s))
    assert {"grassroots_share", "in_county_share", "catastrophic_share", "signing_rate"} <= set(found)
    for key, value in found.items():
        assert 0.0 <= value <= 1.0, key


def test_beds_never_overfilled(baseline_small):
    d = baseline_small.daily()
    for tier in ("township", "county", "tertiary"):
        assert (d[f"beds_occupied_{tier}"] <= d[f"beds_{tier}"] + 1e-9).all()


def test_same_seed_same_daily_and_different_seed_differs(tmp_path):
    from sim.outputs.results import write_daily

    paths = []
    for i, seed in enumerate((3, 3, 4)):
        m = run(small_scenario(population=4000, days=60, seed=seed))
        paths.append(tmp_path / f"daily{i}.csv")
        write_daily(paths[-1], m.daily())
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_scale_factor_counts_are_scaled_back():
    """One agent per 4 residents gives about the same per-capita rates as full resolution."""
    full = run(small_scenario(population=40000, days=120, seed=2)).summary()
    scaled = run(small_scenario(population=40000, days=120, seed=2, scale=4)).summary()
    assert scaled["visits_per_capita"] == pytest.approx(full["visits_per_capita"], rel=0.05)
    assert scaled["admissions_per_100"] == pytest.approx(full["admissions_per_100"], rel=0.12)


def test_scale_factor_pools_small_clinics_visit_capacity():
    """At scale 10 a village clinic has under one agent's worth of visits a day, and arrivals
    come in lumps of 10 residents. Pooled over 10 days, its capacity keeps waits for a visit
    near full resolution (one day at a time, they were 800 to 1,100 agent-days instead of 1 to 4)."""
    full = run(small_scenario(population=60000, days=120, seed=3))
    scaled = run(small_scenario(population=60000, days=120, seed=3, scale=10))
    village = lambda m: float(m.ledger.group("wait_days")[0])  # noqa: E731
    assert village(scaled) <= village(full) + 50
    assert scaled.summary()["forgone_share"] == pytest.approx(full.summary()["forgone_share"], abs=0.005)


def test_daily_trust_columns_follow_the_residents(baseline_small):
    m = baseline_small
    d = m.daily()
    for t, name in enumerate(("village", "township", "county", "tertiary")):
        assert d[f"trust_{name}"][-1] == pytest.approx(float(m.people.trust[:, t].mean()), abs=1e-4)


def test_signing_campaign_reaches_every_township_alike():
    """Without priority weights, a campaign signs residents evenly across the county."""
    m = run(small_scenario(population=8000, days=60, signing__target_rate=0.6, signing__ramp_days=30,
                           signing__priority__age_60_plus=0.0, signing__priority__chronic=0.0))
    township = m.world.set_township[m.people.settlement.astype(np.int64)]
    rates = [m.people.signed[township == t].mean() for t in np.unique(township)]
    assert max(rates) - min(rates) < 0.08


def test_periods_need_their_totals_kept():
    m = run(small_scenario(population=3000, days=40))
    with pytest.raises(ValueError, match="keep_totals_from"):
        m.summary_between(20, 40)
    kept = TierFlowModel(small_scenario(population=3000, days=40), agents=False)
    kept.keep_totals_from(20)
    kept.run()
    early = kept.summary_between(0, 20)
    stopped = TierFlowModel(small_scenario(population=3000, days=40), agents=False).run(until=20)
    assert early["catastrophic_share"] == stopped.summary_between(0, 20)["catastrophic_share"]
