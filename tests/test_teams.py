"""Family-doctor teams that act: signing within panel capacity, delivery (履约), the network,
and followed residents' journeys."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.county.population import OLDER_BANDS
from sim.engine.agents import FamilyDoctor, Patient, TownshipHealthCentre
from sim.engine.model import TierFlowModel
from sim.engine.onset import MANAGED_WINDOW
from sim.engine.teams import delivery_rate
from tests.conftest import small_scenario

HIGH_TARGET = dict(signing__target_rate=0.9, signing__team__sign_beyond_capacity=3.0)


def managed_among_signed_chronic(model: TierFlowModel) -> float:
    """Share of signed chronic patients seen at the grassroots within the managed window."""
    ppl = model.people
    who = ppl.signed & ppl.chronic
    recent = ppl.last_followup[who] > model.day - 1 - MANAGED_WINDOW
    return float(recent.mean())


@given(st.floats(1, 1e4), st.floats(0, 1e5), st.floats(0, 5))
def test_delivery_is_full_within_capacity_and_falls_beyond(capacity, panel, elasticity):
    d = float(delivery_rate(np.array([capacity]), np.array([panel]), elasticity)[0])
    assert 0.0 <= d <= 1.0
    if panel <= capacity:
        assert d == 1.0
    more = float(delivery_rate(np.array([capacity]), np.array([panel * 2 + 1]), elasticity)[0])
    assert more <= d + 1e-12


@pytest.mark.slow
def test_halving_team_capacity_lowers_delivery_and_chronic_management_of_the_signed():
    """At a 90% target, teams of half the capacity sign as many but serve fewer."""
    gaps = []
    for seed in (1, 2, 3):
        full, half = (TierFlowModel(small_scenario(population=16_000, seed=seed, days=150,
                                                   signing__team__panel_per_member=per_member, **HIGH_TARGET),
                                    agents=False).run() for per_member in (250, 125))
        assert half.summary()["service_delivery_rate"] < full.summary()["service_delivery_rate"] - 0.1
        gaps.append(managed_among_signed_chronic(full) - managed_among_signed_chronic(half))
    assert min(gaps) > 0.005 and np.mean(gaps) > 0.015


def test_a_team_never_signs_beyond_its_panel_and_capacity_caps_the_rate():
    model = TierFlowModel(small_scenario(days=20, signing__target_rate=0.95, signing__team__members=1,
                                         signing__team__panel_per_member=200), agents=False)
    start = model.teams.panel.copy()
    model.run()
    teams = model.teams
    grew = teams.panel > start
    assert grew.any()
    assert np.all(teams.panel[grew] <= teams.capacity[grew])  # those that signed stopped at capacity
    per_team = np.bincount(teams.team_of[model.people.signed], minlength=len(teams.panel))
    assert np.array_equal(per_team, teams.panel)
    reachable = np.maximum(np.minimum(teams.capacity, teams.pop), start).sum() / model.people.n
    assert model.summary()["signing_rate"] <= reachable + 1e-9 < 0.95
    within = teams.panel <= teams.capacity
    assert np.all(teams.delivery[within] == 1.0) and np.all(teams.delivery[~within] < 1.0)


def test_old_and_chronic_are_signed_first():
    model = TierFlowModel(small_scenario(days=10, signing__initial_rate=0.0, signing__target_rate=0.3,
                                         signing__priority__age_60_plus=20.0, signing__priority__chronic=20.0),
                          agents=False).run()
    ppl = model.people
    older = np.isin(ppl.band, OLDER_BANDS)
    assert older[ppl.signed].mean() > older.mean() + 0.2
    assert ppl.chronic[ppl.signed].mean() > ppl.chronic.mean() + 0.2


def test_facility_agents_sit_on_their_nodes_and_exist_without_patients():
    model = TierFlowModel(small_scenario(days=5), agents=False)
    assert Patient not in model.agents_by_type
    facilities = [a for cls in (FamilyDoctor, TownshipHealthCentre) for a in model.agents_by_type[cls]]
    assert len(model.agents_by_type[FamilyDoctor]) == int((model.world.fac_tier == 0).sum())
    for agent in facilities:
        assert agent.cell is model.network[agent.node]
        assert agent in agent.cell.agents
    assert set(model.network.G.nodes) == set(model.world.graph.nodes)
    p = model.patient(3)
    assert p.cell is model.network[model.world.set_id[int(model.people.settlement[3])]]


def test_signing_is_run_by_the_family_doctor_agents(monkeypatch):
    sets = dict(days=10, signing__target_rate=0.6)
    acting = TierFlowModel(small_scenario(**sets), agents=False).run()
    monkeypatch.setattr(FamilyDoctor, "sign", lambda self, day, goal=None: 0)
    idle = TierFlowModel(small_scenario(**sets), agents=False).run()
    assert acting.summary()["signing_rate"] == pytest.approx(0.6, abs=0.01)
    assert idle.summary()["signing_rate"] == pytest.approx(idle.params.signing.initial_rate, abs=0.01)


def test_a_followed_residents_journey_matches_their_accounts():
    model = TierFlowModel(small_scenario(days=90), agents=True)
    ids = np.flatnonzero(model.people.chronic)[:15].tolist() + list(range(15))
    model.follow(ids)
    model.run()
    ppl = model.people
    seen = 0
    for i in ids:
        journey = model.journey(i)
        assert sum(r["paid"] for r in journey) == pytest.approx(float(ppl.oop[i]), rel=1e-4, abs=0.05)
        assert all(r["billed"] >= r["paid"] - 1e-6 for r in journey)
        assert all(0 <= r["day"] < 90 for r in journey)
        seen += len(journey)
    assert seen > 20
    assert model.patient(ids[0]).journey == model.journey(ids[0])
    assert model.patient(ids[0]) in model.agents_by_type[Patient]


def test_resident_panel_lists_the_followed_residents_episodes():
    from sim.outputs import resident_panel

    model = TierFlowModel(small_scenario(days=60), agents=False)
    ids = resident_panel.ensure_followed(model)
    assert ids and resident_panel.ensure_followed(model) == ids
    model.run()
    lines = {i: resident_panel.journey_lines(model, i) for i in ids}
    assert all(len(lines[i]) == max(1, len(model.journey(i))) for i in ids)
    assert any(line.startswith("Day ") for v in lines.values() for line in v)
    assert f"Resident {ids[0]}" in resident_panel.describe(model, ids[0])
