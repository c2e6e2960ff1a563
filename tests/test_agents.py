"""Residents and providers are Mesa agents whose views agree with the model's own accounts."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.agents import FACILITY_CLASSES, CountyHospital, FamilyDoctor, Patient, TertiaryHospital, \
    TownshipHealthCentre
from sim.engine.metrics import group
from sim.engine.model import TierFlowModel
from tests.conftest import small_scenario


@pytest.fixture(scope="module")
def model() -> TierFlowModel:
    return TierFlowModel(small_scenario(population=3000, days=60, seed=3)).run()


def test_every_resident_and_facility_is_an_agent(model):
    by_type = model.agents_by_type
    assert len(by_type[Patient]) == model.people.n == 3000
    assert (len(by_type[FamilyDoctor]), len(by_type[TownshipHealthCentre]), len(by_type[CountyHospital]),
            len(by_type[TertiaryHospital])) == (24, 4, 1, 2)
    assert sorted(a.index for a in by_type[Patient]) == list(range(3000))


def test_providers_revenue_adds_up_to_the_ledgers_bills_by_tier(model):
    billed = group(model.daily(), "billed").sum(axis=0)  # settings x tiers -> by tier
    for tier, cls in enumerate(FACILITY_CLASSES):
        agents = model.agents_by_type[cls]
        assert sum(a.revenue for a in agents) == pytest.approx(billed[tier], rel=1e-9)
        assert {a.tier for a in agents} == {("village", "township", "county", "tertiary")[tier]}


def test_residents_out_of_pocket_adds_up_to_the_ledger(model):
    paid = sum(p.out_of_pocket for p in model.agents_by_type[Patient]) * model.params.scale
    assert paid == pytest.approx(group(model.daily(), "oop").sum(), rel=1e-6) and paid > 0


def test_patients_trust_is_live_state_not_a_copy():
    m = TierFlowModel(small_scenario(population=2000, days=40, seed=5))
    patients = list(m.agents_by_type[Patient])
    before = np.array([list(p.trust.values()) for p in patients])
    m.run()
    after = np.array([list(p.trust.values()) for p in patients])
    assert (after != before).any(axis=1).mean() > 0.05  # residents who used care learned from it
    np.testing.assert_array_equal(after, m.people.trust.astype(after.dtype))


def test_each_provider_sits_on_its_graph_node_and_residents_reach_their_clinic(model):
    graph = model.world.graph
    for agent in model.agents_by_type[CountyHospital]:
        assert graph.nodes[agent.node]["tier"] == "county" and graph.nodes[agent.node]["index"] == agent.index
    clinic_of = {a.index: a.node for a in model.agents_by_type[FamilyDoctor]}
    for p in list(model.agents_by_type[Patient])[:200]:
        own = int(model.world.own_village_clinic[int(model.people.settlement[p.index])])
        assert graph.has_edge(p.settlement, clinic_of[own])
