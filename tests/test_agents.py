"""Residents and providers are real Mesa agents that view the model's arrays."""

from __future__ import annotations

from sim.engine.agents import CountyHospital, FamilyDoctor, Patient, TertiaryHospital, TownshipHealthCentre
from sim.engine.model import TierFlowModel
from tests.conftest import small_scenario


def test_every_resident_and_facility_is_an_agent():
    m = TierFlowModel(small_scenario(population=3000, days=10))
    by_type = m.agents_by_type
    assert len(by_type[Patient]) == m.people.n == 3000
    assert len(by_type[FamilyDoctor]) == 24
    assert len(by_type[TownshipHealthCentre]) == 4
    assert len(by_type[CountyHospital]) == 1
    assert len(by_type[TertiaryHospital]) == 2


def test_agents_read_the_arrays():
    m = TierFlowModel(small_scenario(population=2000, days=20)).run()
    patient = next(iter(m.agents_by_type[Patient]))
    assert patient.age == int(m.people.age[patient.index])
    assert patient.scheme in ("resident", "employee")
    assert set(patient.trust) == {"village", "township", "county", "tertiary"}
    hospital = next(iter(m.agents_by_type[CountyHospital]))
    assert hospital.tier == "county" and hospital.revenue > 0
    assert hospital.node in m.world.graph and m.world.graph.nodes[hospital.node]["tier"] == "county"
