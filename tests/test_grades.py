"""Money as the policies define it: insurance by hospital grade and pooling place (异地), the
indirect cost of going far, and where the county's employees and incomes live."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.county.build import build_world
from sim.county.population import synthesise
from sim.engine.behaviour import indirect_cost, logit_probabilities
from sim.engine.billing import KINDS, episode_class
from sim.engine.metrics import group
from sim.engine.model import TierFlowModel
from sim.engine.streams import Streams
from sim.scenario.schema import GRADES, PLACES
from tests.conftest import run, small_scenario

XINXIANG = {"insurance__resident__outpatient__tertiary__pooled": False}


def county_resident_visits(model: TierFlowModel) -> float:
    """Resident outpatient visits at the county hospital (tier county), after the warm-up."""
    return float(model.ledger.group("visits")[2, 0])


def test_xinxiang_rule_reaches_a_grade_3_county_hospital_only():
    """三级 outpatient pooling off: a 三级 county hospital loses resident outpatients (about 3% in
    this county: chronic follow-ups and the outpatient cap blunt it), a 二级 one gains a few."""
    for grade, loses in (("grade_3", True), ("grade_2", False)):
        before = sum(county_resident_visits(run(small_scenario(seed=s, world__county_hospital_grade=grade)))
                     for s in (1, 2))
        after = sum(county_resident_visits(run(small_scenario(seed=s, world__county_hospital_grade=grade, **XINXIANG)))
                    for s in (1, 2))
        if loses:
            assert after < 0.985 * before, (grade, before, after)
        else:
            assert after >= before, (grade, before, after)


def test_chinese_grade_names_are_accepted():
    sc = small_scenario(world__county_hospital_grade="三级")
    world = build_world(sc, Streams(sc.seed).get("world"))
    assert (world.fac_grade[world.fac_tier == 2] == GRADES.index("grade_3")).all()


def hospitals(model: TierFlowModel) -> tuple[int, int]:
    """The prefecture city hospital (pooling area) and the provincial one (elsewhere in the province)."""
    place = model.world.fac_place
    return int(np.flatnonzero(place == PLACES.index("pooling_area"))[0]), \
        int(np.flatnonzero(place == PLACES.index("province"))[0])


def unreferred_rate(model: TierFlowModel, f: int) -> float:
    """The rate a resident pays a severe unreferred admission at facility f on."""
    b = model.billing
    cls = episode_class(np.array([0]), np.array([True]), np.array([False]), np.array([2]), np.array([False]))[0]
    return float(b.bill_terms["rate"][(cls * KINDS + b.fac_kind[f]) * 2 + 0])


def test_pooling_area_hospital_is_not_cut_by_the_out_of_area_penalty():
    """The unreferred 异地 cut falls on the provincial hospital, not on the prefecture's (same pooling area)."""
    mild = TierFlowModel(small_scenario(insurance__out_of_area__province__unreferred_cut=0.0), agents=False)
    harsh = TierFlowModel(small_scenario(insurance__out_of_area__province__unreferred_cut=0.2), agents=False)
    city, provincial = hospitals(mild)
    assert unreferred_rate(harsh, city) == unreferred_rate(mild, city) > 0
    assert unreferred_rate(harsh, provincial) == pytest.approx(unreferred_rate(mild, provincial) - 0.2)
    registered = TierFlowModel(small_scenario(insurance__out_of_area__province__registration_required=True),
                               agents=False)
    assert unreferred_rate(registered, provincial) == 0.0 < unreferred_rate(registered, city)


def admissions_at(model: TierFlowModel, f: int) -> float:
    return float(model.facility_table()["admissions"][f])


def admissions_in_pool(model: TierFlowModel) -> float:
    """Admissions in the county and at the pooling area's (prefecture) hospitals: not 异地."""
    local = model.world.fac_place <= PLACES.index("pooling_area")
    return float(np.asarray(model.facility_table()["admissions"])[local].sum())


def test_registration_rules_keep_admissions_in_the_pooling_area():
    """No pooled money for unregistered 异地 care: the provincial hospital admits fewer, and the
    pooling area (the county's hospitals and the prefecture's) more."""
    strict = {"insurance__out_of_area__province__registration_required": True,
              "insurance__out_of_area__out_of_province__registration_required": True}
    pool_gain = provincial_loss = 0.0
    for seed in (1, 2):
        base = run(small_scenario(seed=seed, population=12000))
        rule = run(small_scenario(seed=seed, population=12000, **strict))
        provincial = hospitals(base)[1]
        pool_gain += admissions_in_pool(rule) - admissions_in_pool(base)
        provincial_loss += admissions_at(base, provincial) - admissions_at(rule, provincial)
    assert provincial_loss > 0 and pool_gain > 0


def test_travel_and_lodging_costs_lower_out_of_county_use():
    free = {"behaviour__indirect_costs__travel_per_hour": 0.0, "behaviour__indirect_costs__lodging_per_night": 0.0,
            "behaviour__indirect_costs__companion_income_share": 0.0}
    dear = {"behaviour__indirect_costs__travel_per_hour": 200.0, "behaviour__indirect_costs__lodging_per_night": 400.0}
    a, b = run(small_scenario(**free)), run(small_scenario(**dear))
    out = lambda m: m.ledger.group("visits")[3].sum() + m.ledger.group("admissions")[3].sum()  # noqa: E731
    assert out(b) < 0.9 * out(a)
    assert a.summary()["indirect_cost_per_capita"] == 0.0 < b.summary()["indirect_cost_per_capita"]


costs = st.floats(0, 1e5, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(trip=st.lists(costs, min_size=3, max_size=3), extra=costs, lodging=costs, nights=st.floats(0, 30),
       inpatient=st.booleans(), income=st.floats(1, 2000), share=st.floats(0, 2), j=st.integers(0, 2),
       base=st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_a_dearer_trip_never_makes_an_option_more_likely(trip, extra, lodging, nights, inpatient, income, share, j,
                                                        base):
    """Pure rule: raising one option's indirect cost never raises its choice probability."""
    trips = np.array([trip])
    lodge, night = np.full((1, 3), lodging), np.full((1, 3), nights)
    args = (np.array([inpatient]), np.array([income]), share)
    before = indirect_cost(trips, lodge, night, *args)
    dearer = trips.copy()
    dearer[0, j] += extra
    after = indirect_cost(dearer, lodge, night, *args)
    assert (after >= before).all() and after[0, j] >= before[0, j] + extra - 1e-6
    u = lambda cost: np.array(base)[None, :] - np.log1p(cost / income)  # noqa: E731  (the choice's cost term)
    p0 = logit_probabilities(u(before), np.array([0.0]))
    p1 = logit_probabilities(u(after), np.array([0.0]))
    assert p1[0, j] <= p0[0, j] + 1e-12


def test_county_seat_is_richer_and_more_often_employee_insured():
    sc = small_scenario(population=40000)
    world = build_world(sc, Streams(sc.seed).get("world"))
    ppl = synthesise(sc, world, np.random.default_rng(5))
    seat = world.set_township[ppl.settlement.astype(np.int64)] == 0
    employee = ppl.scheme == 1
    assert employee[seat].mean() > 2 * employee[~seat].mean()
    assert ppl.income[seat].mean() / ppl.income[~seat].mean() == pytest.approx(2.34, rel=1e-3)
    flat = small_scenario(population=40000, population__seat_employee_ratio=1.0, population__seat_income_ratio=1.0)
    even = synthesise(flat, world, np.random.default_rng(5))
    assert employee.mean() == pytest.approx((even.scheme == 1).mean(), abs=0.01)  # the county's share is kept
    assert ppl.income.mean() == pytest.approx(even.income.mean(), rel=0.03)
    assert even.income[seat].mean() / even.income[~seat].mean() < 2.0


def test_money_is_conserved_with_grades_and_out_of_area_terms():
    m = run(small_scenario(world__county_hospital_grade="grade_3", insurance__out_of_area__province__referred_cut=0.1,
                           insurance__out_of_area__province__deductible_multiplier=3.0))
    d = m.daily()
    billed, paid, oop = group(d, "billed").sum(), group(d, "reimbursed").sum(), group(d, "oop").sum()
    others = group(d, "serious_illness").sum() + group(d, "assistance").sum()  # 大病保险 and 医疗救助
    assert billed > 0 and billed == pytest.approx(paid + others + oop, rel=1e-9)
    assert float(m.people.oop.astype(np.float64).sum()) == pytest.approx(oop, rel=1e-4)


def test_registering_before_an_out_of_area_admission_gets_the_referred_terms():
    """备案: with everyone registered, the fund pays more of tertiary admissions (the provincial
    hospital's, 省内异地, at 5 rather than 15 points off; the prefecture hospital's are unchanged)."""
    def fund_share_of_bills(share: float) -> float:
        m = run(small_scenario(insurance__out_of_area__province__registered_share=share))
        d = m.daily()
        return group(d, "reimbursed")[1, 3].sum() / group(d, "billed")[1, 3]
    assert fund_share_of_bills(1.0) > fund_share_of_bills(0.0) + 0.005


def scheme_rate(model: TierFlowModel, f: int, scheme: int) -> float:
    """The rate a scheme's enrolee pays a severe unreferred admission at facility f on."""
    b = model.billing
    cls = episode_class(np.array([scheme]), np.array([True]), np.array([False]), np.array([2]), np.array([False]))[0]
    return float(b.bill_terms["rate"][(cls * KINDS + b.fac_kind[f]) * 2 + 0])


def test_provincial_pooling_makes_the_province_local_for_that_scheme_only():
    """省级统筹 of employee insurance: at the provincial hospital employees get the pooling area's
    terms (no 异地 cut, the local deductible); residents keep the 异地 terms."""
    base = TierFlowModel(small_scenario(), agents=False)
    pooled = TierFlowModel(small_scenario(insurance__employee__pooling_level="province"), agents=False)
    city, provincial = hospitals(base)
    employee, resident = 1, 0
    cut = base.rules.unreferred_cut
    assert scheme_rate(pooled, provincial, employee) == pytest.approx(
        scheme_rate(base, provincial, employee) + cut[PLACES.index("province")] - cut[PLACES.index("pooling_area")])
    assert scheme_rate(pooled, provincial, resident) == scheme_rate(base, provincial, resident)
    assert scheme_rate(pooled, city, employee) == scheme_rate(base, city, employee)
    assert pooled.rules.place_of[employee, PLACES.index("province")] == PLACES.index("pooling_area")
    assert pooled.rules.place_of[resident, PLACES.index("province")] == PLACES.index("province")


def test_county_pooling_puts_the_prefecture_hospital_out_of_area_for_that_scheme():
    """县级统筹 (the old NCMS): the prefecture city hospital is 省内异地 for residents, not for employees."""
    base = TierFlowModel(small_scenario(), agents=False)
    county = TierFlowModel(small_scenario(insurance__resident__pooling_level="county"), agents=False)
    city, _ = hospitals(base)
    employee, resident = 1, 0
    assert scheme_rate(county, city, resident) < scheme_rate(base, city, resident)
    assert scheme_rate(county, city, employee) == scheme_rate(base, city, employee)
    assert county.rules.place_of[resident, PLACES.index("pooling_area")] == PLACES.index("province")
