"""Signing changes the sequence of care, not only the utility: served residents contact their own
family doctor first, who treats or refers them on (`signing.first_contact`); the Xiamen chronic-care
package books chronic follow-ups at the township centre (`signing.chronic_care`)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.engine.behaviour import to_team, top_up
from sim.engine.metrics import group
from sim.engine.model import TierFlowModel
from sim.studies.validation_measures import _chronic_grassroots_share, _first_contact_level
from tests.conftest import small_scenario

unit = st.floats(0, 1)


@given(unit, unit)
def test_top_up_reaches_the_target_and_never_takes_away(share, target):
    h = float(top_up(np.array([share]), target)[0])
    assert 0.0 <= h <= 1.0
    assert share + (1.0 - share) * h >= min(target, 1.0) - 1e-9 or share >= 1.0 - 1e-12
    if share >= target:
        assert h == 0.0


@given(unit, unit, unit)
def test_top_up_falls_as_the_choice_already_sends_more(a, b, target):
    lo, hi = sorted((a, b))
    assert top_up(np.array([hi]), target)[0] <= top_up(np.array([lo]), target)[0] + 1e-12


@given(st.lists(st.tuples(unit, unit, st.booleans(), st.booleans(), unit), min_size=1, max_size=30), unit)
def test_to_team_sends_only_to_a_member_of_the_own_team(rows, target):
    shares = np.array([[r[0], r[1]] for r in rows]) * 0.5
    team = np.array([[r[2], r[3]] for r in rows])
    u = np.array([r[4] for r in rows])
    member = to_team(shares, team, target, u)
    assert np.all(member[~team.any(axis=1)] == -1)
    chosen = member >= 0
    assert np.all(team[np.flatnonzero(chosen), member[chosen]])


def _run(days: int = 150, **sets) -> tuple[dict, dict, int]:
    m = TierFlowModel(small_scenario(days=days, signing__initial_rate=0.6, signing__target_rate=0.6, **sets),
                      agents=False).run()
    return m.summary(), m.daily(), m.day


def test_first_contact_lowers_the_tier_of_first_contact_and_brings_visits_to_the_villages():
    s0, d0, n = _run(signing__first_contact__share=0.0)
    s1, d1, _ = _run(signing__first_contact__share=0.8)
    assert _first_contact_level(s1, d1, 0, n) < _first_contact_level(s0, d0, 0, n) - 0.05
    village_first = lambda d: group(d, "first_visits", 0, n)[0] / group(d, "first_visits", 0, n).sum()  # noqa: E731
    assert village_first(d1) > village_first(d0)
    village_visits = lambda d: group(d, "visits", 0, n)[0].sum() / group(d, "visits", 0, n).sum()  # noqa: E731
    assert village_visits(d1) > village_visits(d0)


def test_matched_drug_list_and_specialists_bring_chronic_follow_ups_to_the_centre():
    s0, d0, n = _run()
    s1, d1, _ = _run(signing__chronic_care__drug_list_matched=True)
    s2, d2, _ = _run(signing__chronic_care__specialist_quality=0.5)
    base = _chronic_grassroots_share(s0, d0, 0, n)
    assert _chronic_grassroots_share(s1, d1, 0, n) > base + 0.03
    assert _chronic_grassroots_share(s2, d2, 0, n) > base
