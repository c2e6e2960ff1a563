"""The pure rules by which a region's areas share their hospitals (sim/region/coupling.py), and
how areas are split among workers (`partition`).

With hypothesis: whole numbers are split exactly; a hospital never hands out more clinics or
beds than it has, nor NaN; a hospital only one area reaches is left alone (so a region of one
area is that county); areas are split into contiguous groups of about equal population.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.region.coupling import R, REPORT, couple, largest_remainder, split_beds, split_capacity
from sim.region.workers import expected_work, partition

FAST = settings(max_examples=200, deadline=None)
counts = st.integers(0, 5_000)
sizes = st.floats(0, 1e5, allow_nan=False, allow_infinity=False)


@FAST
@given(total=st.integers(-5, 10**9), weights=st.lists(st.floats(0, 1e9), min_size=1, max_size=20))
def test_largest_remainder_splits_exactly(total, weights):
    out = largest_remainder(total, np.array(weights))
    assert out.dtype == np.int64 and (out >= 0).all()
    assert int(out.sum()) == (total if total > 0 and sum(weights) > 0 else 0)
    if total > 0 and sum(weights) > 0:
        share = total * np.array(weights) / sum(weights)
        assert (np.abs(out - share) < 1 + 1e-6 * total).all()  # within one of its share


@FAST
@given(total=sizes, rows=st.lists(st.tuples(sizes, sizes), min_size=1, max_size=12))
def test_split_capacity_adds_up_and_is_never_nan(total, rows):
    demand, own = np.array(rows).T
    out = split_capacity(total, demand, own)
    assert np.isfinite(out).all() and (out >= 0).all()
    assert np.isclose(out.sum(), total, rtol=1e-9, atol=1e-9)


def test_split_capacity_with_no_demand_and_no_size_splits_evenly():
    assert split_capacity(0.0, np.zeros(3), np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert split_capacity(9.0, np.zeros(3), np.zeros(3)).tolist() == [3.0, 3.0, 3.0]


@st.composite
def bed_cases(draw):
    n = draw(st.integers(1, 10))
    own = np.array(draw(st.lists(st.integers(0, 300), min_size=n, max_size=n)))
    occupied = np.array([draw(st.integers(0, o)) for o in own])  # each copy's patients fit its own beds
    wanted = np.array(draw(st.lists(sizes, min_size=n, max_size=n)))
    return int(own.sum()), occupied, wanted, own


@FAST
@given(case=bed_cases())
def test_split_beds_hands_out_exactly_the_hospitals_beds(case):
    total, occupied, wanted, own = case
    beds = split_beds(total, occupied, wanted, own)
    assert int(beds.sum()) == total, "more (or fewer) beds than the hospital has"
    assert (beds >= occupied).all(), "an occupied bed was taken away"
    needy = (own > 0) & (occupied == 0)
    if needy.sum() <= total - occupied.sum():
        assert (beds[own > 0] >= 1).all(), "an area with beds of its own was left with none"


def test_split_beds_floor_comes_out_of_the_free_beds():
    """The case that broke the total: ten one-bed areas with no requests and one area asking for
    every free bed. Each keeps one bed; the asking area gets the rest, not one more."""
    own, wanted = np.ones(11, np.int64), np.array([0.0] * 10 + [50.0])
    beds = split_beds(11, np.zeros(11, np.int64), wanted, own)
    assert int(beds.sum()) == 11 and beds.tolist() == [1] * 11
    beds = split_beds(11, np.array([0] * 9 + [1, 0]), wanted, own)  # one occupied bed: it stays
    assert int(beds.sum()) == 11 and beds[9] == 1 and (beds >= [0] * 9 + [1, 0]).all()


def test_split_beds_when_more_are_occupied_than_there_are():
    """Beds cut by a policy change below those occupied: occupied beds stay, nothing more is given."""
    beds = split_beds(5, np.array([4, 3]), np.array([2.0, 2.0]), np.array([3, 2]))
    assert beds.tolist() == [4, 3]


def _report(own_capacity, own_beds, capacity, demand, waiting, bed_demand, occupied, load, expansion):
    return np.array([own_capacity, own_beds, capacity, demand, waiting, bed_demand, occupied, load, expansion])


@st.composite
def hospital_reports(draw, areas: int, hospitals: int):
    """Reports of `areas` areas about `hospitals` hospitals; each hospital reached by some areas."""
    reports = [np.full((hospitals, len(REPORT)), np.nan) for _ in range(areas)]
    for h in range(hospitals):
        reach = draw(st.lists(st.booleans(), min_size=areas, max_size=areas).filter(any))
        for a in np.flatnonzero(reach):
            own_beds = draw(st.integers(0, 200))
            reports[a][h] = _report(draw(sizes), own_beds, draw(sizes), draw(sizes), draw(sizes), draw(sizes),
                                    draw(st.integers(0, own_beds)), draw(st.floats(0, 5)), draw(st.floats(1, 3)))
    return reports


@FAST
@given(data=st.data(), areas=st.integers(1, 6), hospitals=st.integers(1, 4))
def test_couple_keeps_every_hospitals_totals(data, areas, hospitals):
    reports = data.draw(hospital_reports(areas, hospitals))
    out = np.stack(couple(reports))
    stack = np.stack(reports)
    for h in range(hospitals):
        a = np.flatnonzero(~np.isnan(stack[:, h, 0]))
        if len(a) == 1:
            assert np.isnan(out[:, h]).all(), "a hospital one area reaches is not shared: left alone"
            continue
        got = out[a, h]
        assert np.isfinite(got).all(), f"NaN in the settings of a shared hospital: {got}"
        assert np.isclose(got[:, 0].sum(), stack[a, h, R["own_capacity"]].sum(), rtol=1e-9, atol=1e-9)
        assert int(got[:, 1].sum()) == int(stack[a, h, R["own_beds"]].sum())
        assert (got[:, 2] == got[0, 2]).all() and (got[:, 3] == got[0, 3]).all(), "one load, one backlog"
        assert (np.isnan(out[np.setdiff1d(range(areas), a), h])).all()


def test_couple_with_copies_reporting_no_capacity_gives_no_nan():
    """Two copies whose clinics are all gone (capacity 0, no demand): numbers, not NaN."""
    zero = _report(0, 0, 0, 0, 0, 0, 0, 0.7, 1.0)
    out = couple([zero[None, :], zero[None, :]])
    assert all(np.isfinite(o).all() for o in out)
    assert out[0][0].tolist() == [0.0, 0.0, 0.7, 0.0, 1.0]


@FAST
@given(data=st.data(), hospitals=st.integers(1, 4))
def test_couple_leaves_a_single_copy_alone(data, hospitals):
    """One area: every row NaN, so the area's copies keep their own capacity, beds, load, backlog
    and expansion exactly (see test_region_model: a region of one area is that county)."""
    [report] = data.draw(hospital_reports(1, hospitals))
    assert np.isnan(couple([report])[0]).all()


@FAST
@given(data=st.data(), areas=st.integers(2, 6))
def test_couple_depends_only_on_the_reports_in_area_order(data, areas):
    reports = data.draw(hospital_reports(areas, 2))
    first, again = couple(reports), couple([r.copy() for r in reports])
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(first, again))


def _runs(populations, scale=1):
    return [SimpleNamespace(area=SimpleNamespace(population=p), index=k,
                            timeline=SimpleNamespace(base=SimpleNamespace(scale=scale)))
            for k, p in enumerate(populations)]


@FAST
@given(populations=st.lists(st.integers(1_000, 10_000_000), min_size=1, max_size=40), n=st.integers(-1, 50),
       scale=st.integers(1, 100))
def test_partition_covers_every_area_once_and_balances_the_work(populations, n, scale):
    runs = _runs(populations, scale)
    groups = partition(runs, n)
    assert sorted(r.index for g in groups for r in g) == list(range(len(runs))), "each area once"
    assert all(g == sorted(g, key=lambda r: r.index) for g in groups), "each group in area order"
    assert [g[0].index for g in groups] == sorted(g[0].index for g in groups), "groups by their first area"
    assert len(groups) == max(1, min(n, len(runs))), "as many groups as asked, at most one per area"
    assert all(groups), "no empty group"
    work = [sum(expected_work(r) for r in g) for g in groups]
    biggest = max(expected_work(r) for r in runs)
    assert max(work) <= sum(work) / len(groups) + biggest, "no group heavier than its share and an area"
    assert partition(list(reversed(runs)), n) == groups, "the same groups whatever order the areas come in"


def test_partition_balances_xinxiang_by_work_not_by_contiguity():
    """The 12 Xinxiang areas (2020 census) in two groups of 6, one with 2% more expected work than the
    other. Split in area order, one group had 8 areas and 15% more residents (it stepped 57.5 s
    against 48.0 s)."""
    populations = [833538, 239956, 158050, 378775, 350000, 398137, 542849, 443068, 704532, 452000, 845588, 905436]
    runs = _runs(populations)
    work = sorted(sum(expected_work(r) for r in g) for g in partition(runs, 2))
    assert work[1] / work[0] < 1.025
    assert sorted(len(g) for g in partition(runs, 2)) == [6, 6]


def test_partition_of_equal_areas_is_even():
    for n in (1, 2, 3, 4, 6, 12):
        assert [len(g) for g in partition(_runs([100_000] * 12), n)] == [12 // n] * n
