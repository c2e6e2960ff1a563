"""Where a county's patients are admitted sets the price level of their bills
(`providers.inpatient_price_factor`), and the indicators that read the fund's out-of-county share."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine.billing import KINDS, episode_class, place_price_factor
from sim.engine.metrics import group
from sim.engine.model import TierFlowModel
from sim.scenario.schema import PLACES, SEVERITIES
from tests.conftest import run, small_scenario

PROVINCE = PLACES.index("province")
DEAR = {"providers__inpatient_price_factor__province": 2.0}


def _kind_at(model: TierFlowModel, place: int) -> int:
    return int(model.billing.fac_kind[int(np.flatnonzero(model.world.fac_place == place)[0])])


def _bill(model: TierFlowModel, inpatient: bool, place: int, severity: int = 2) -> float:
    cls = episode_class(np.array([0]), np.array([inpatient]), np.array([False]), np.array([severity]),
                        np.array([False]))[0]
    return float(model.billing.bill_terms["amount"][cls * KINDS + _kind_at(model, place)])


@pytest.fixture(scope="module")
def models():
    return TierFlowModel(small_scenario(), agents=False), TierFlowModel(small_scenario(**DEAR), agents=False)


def test_the_default_price_level_is_the_tier_average_everywhere():
    assert place_price_factor(small_scenario()).tolist() == [1.0] * len(PLACES)


def test_a_dearer_place_prices_its_admissions_only(models):
    """Twice the price level in the province: its admissions cost twice, its visits and the
    prefecture city's admissions the same; patients expect the dearer bill when they choose."""
    base, dear = models
    city = PLACES.index("pooling_area")
    for sev in range(len(SEVERITIES)):
        assert _bill(dear, True, PROVINCE, sev) == pytest.approx(2 * _bill(base, True, PROVINCE, sev))
        assert _bill(dear, True, city, sev) == _bill(base, True, city, sev)
        assert _bill(dear, False, PROVINCE, sev) == _bill(base, False, PROVINCE, sev)
    k = _kind_at(base, PROVINCE)
    assert (dear.billing.expected_bill[:, k] >= base.billing.expected_bill[:, k]).all()
    assert (dear.billing.expected_bill[:, k] > base.billing.expected_bill[:, k]).any()


@settings(max_examples=30, deadline=None)
@given(st.floats(0.2, 10), st.integers(0, len(PLACES) - 1), st.integers(0, len(SEVERITIES) - 1),
       st.integers(0, 3))
def test_an_admission_scales_with_its_place_price_level(models, factor, place, severity, tier):
    billing = models[0].billing
    tables = billing.tables
    try:
        billing.tables = {**tables, "ip_place_factor": np.where(np.arange(len(PLACES)) == place, factor, 1.0)}
        one = lambda p: billing.amount(np.array([tier]), np.array([True]), np.array([severity]),  # noqa: E731
                                       np.array([False]), np.array([False]), np.array([p]))[0][0]
        assert one(place) == pytest.approx(factor * tables["ip_price"][tier] * tables["ip_severity_cost"][severity])
        assert one((place + 1) % len(PLACES)) == pytest.approx(tables["ip_price"][tier] *
                                                              tables["ip_severity_cost"][severity])
    finally:
        billing.tables = tables


@pytest.fixture(scope="module")
def year():
    sc = lambda **k: small_scenario(population=8000, days=365, seed=3, **k)  # noqa: E731
    return run(sc()), run(sc(**DEAR))


def test_money_is_conserved_at_a_dearer_place(year):
    d = year[1].daily()
    parts = sum(group(d, g).sum() for g in ("reimbursed", "serious_illness", "assistance", "oop"))
    assert group(d, "billed").sum() == pytest.approx(parts, rel=1e-12)


def test_a_dearer_place_raises_the_out_of_county_fund_share(year):
    """Dearer provincial admissions: each out-of-county admission costs the fund more, so the
    out-of-county share of the fund rises, though patients leave the county a little less."""
    base, dear = (m.summary() for m in year)
    db, dd = (m.daily() for m in year)
    per_admission = [(group(d, "reimbursed")[1, 3].sum() + group(d, "serious_illness")[1, 3].sum())
                     / group(d, "admissions")[3].sum() for d in (db, dd)]
    assert per_admission[1] > 1.1 * per_admission[0]
    assert dear["out_of_county_inpatient_fund_share"] > base["out_of_county_inpatient_fund_share"] + 0.01
    assert dear["out_of_county_inpatient_share"] <= base["out_of_county_inpatient_share"] + 0.005


def test_the_inpatient_fund_reading_is_never_below_the_whole_fund_reading(year):
    for m in year:
        s = m.summary()
        assert 0 < s["out_of_county_inpatient_fund_share"] <= s["out_of_county_share_of_inpatient_fund"] < 1
