"""Routes compiled from the county graph: the same arrays as before, and edits of the graph that
change the simulation (access edges, referral edges, tie kinds)."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.county.build import build_world
from sim.county.csv_county import load_world
from sim.county.routing import (MIN_TRAVEL_MINUTES, TELEMEDICINE_CAPABILITY_GAIN, TIE_KINDS, TIES, compile_routes,
                                rank_ties)
from sim.county.world import COUNTY, TERTIARY, TOWNSHIP, VILLAGE, World
from sim.engine.model import Streams, TierFlowModel
from sim.scenario.loader import load
from sim.scenario.schema import World as WorldSpec
from sim.scenario.schema import WorldFiles
from tests.conftest import SCENARIOS, small_scenario

ROUTE_ARRAYS = ("choice", "travel_minutes", "own_village_clinic", "own_township_centre", "fac_catchment",
                "referral_up")

# sha256 (first 16 hex digits) and shape of each array as `assemble` built it at commit 12bb190,
# before the graph became the source of routing.
AT_12BB190 = {
    "small": {"choice": "387b8ff8e6f4c6f6(24, 6)", "travel_minutes": "838276a3356cd511(24, 6)",
              "own_village_clinic": "a26f2589bc817e20(24,)", "own_township_centre": "4549d1755752b175(24,)",
              "fac_catchment": "8a8999ae90038b9f(31,)", "referral_up": "0ffda6c402bda8d5(31,)"},
    "two_county_hospitals": {"choice": "a8277b0aa63951af(24, 7)", "travel_minutes": "42f0e03e7774ccdf(24, 7)",
                             "own_village_clinic": "a26f2589bc817e20(24,)",
                             "own_township_centre": "4549d1755752b175(24,)",
                             "fac_catchment": "a5f438e23988a5f0(32,)", "referral_up": "53521549236639bf(32,)"},
    "baseline": {"choice": "90158ff60088ba49(120, 6)", "travel_minutes": "d5d97495ea5a3042(120, 6)",
                 "own_village_clinic": "7f029d8e2f46f926(120,)", "own_township_centre": "dc243b553658e503(120,)",
                 "fac_catchment": "8b471145f4f7ca73(133,)", "referral_up": "839e5c7ea561f14e(133,)"},
    "pingyang": {"choice": "80353c2df3135791(575, 7)", "travel_minutes": "c7289ae476c4b37a(575, 7)",
                 "own_village_clinic": "9a7082cc94b5430f(575,)", "own_township_centre": "afbbeb64147d8f20(575,)",
                 "fac_catchment": "4f5313d148c2c25b(595,)", "referral_up": "d483b9cf5878202e(595,)"},
    "template_with_matrix_and_edges": {
        "choice": "2368152ba1f4407a(4, 7)", "travel_minutes": "d4d36bcfec887ac6(4, 7)",
        "own_village_clinic": "0edb951a90ed696d(4,)", "own_township_centre": "6ab4ad0bc6b25134(4,)",
        "fac_catchment": "df763242ef39a7e2(10,)", "referral_up": "9fdccbd101ba857c(10,)"},
}


def fingerprint(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16] + str(a.shape)


def world_of(scenario) -> World:
    scenario = getattr(scenario, "base", scenario)
    return build_world(scenario, Streams(scenario.seed).get("world"))


def named_world(name: str) -> World:
    if name == "small":
        return world_of(small_scenario())
    if name == "two_county_hospitals":
        return world_of(small_scenario(population=5000, seed=3, world__county_hospitals=2))
    if name in ("baseline", "pingyang"):
        return world_of(load(SCENARIOS / ("pingyang_county.yaml" if name == "pingyang" else "baseline.yaml")))
    folder = SCENARIOS / "templates"
    names = ("facilities", "settlements", "travel_times", "referral_edges")
    return load_world(WorldSpec(population=36_000, files=WorldFiles(**{k: str(folder / f"{k}.csv") for k in names})))


@pytest.fixture
def small() -> World:
    """The small synthetic county of tests/conftest.py (4 townships x 6 villages, 1 county hospital)."""
    return world_of(small_scenario())


def index_of(world: World, fid: str) -> int:
    return world.fac_id.index(fid)


# ------------------------------------------------------------ the same arrays as before

@pytest.mark.parametrize("name", sorted(AT_12BB190))
def test_compiled_routes_are_the_arrays_assemble_gave_before(name):
    world = named_world(name)
    assert {k: fingerprint(getattr(world, k)) for k in ROUTE_ARRAYS} == AT_12BB190[name]
    # ... and they come from the graph alone: compiling it again (or a copy) gives them again.
    routes = compile_routes(world.graph.copy())
    for k in ROUTE_ARRAYS:
        assert np.array_equal(getattr(routes, k), getattr(world, k)), k
    again = World.from_graph(world.graph.copy())
    for k in ("fac_tier", "fac_xy", "fac_township", "fac_in_county", "fac_medical_community", "set_population",
              "set_xy", "set_township", "fac_capacity", "fac_beds", "fac_quality", "fac_capability",
              "set_share_60_plus", "set_share_employee", "referral_targets", "referral_tie", "fac_capability_gain"):
        a, b = getattr(world, k), getattr(again, k)
        assert (a is None and b is None) or np.array_equal(a, b, equal_nan=True), k
    assert (again.fac_id, again.set_id, again.coordinates, again.township_names) == \
        (world.fac_id, world.set_id, world.coordinates, world.township_names)


def test_default_county_ties_compile_to_the_alliance_and_a_telemedicine_gain():
    world = named_world("baseline")
    c0, h0, h1 = (index_of(world, f) for f in ("C0", "H0", "H1"))
    assert world.graph.edges["C0", "H0"]["tie"] == "specialist_alliance"
    assert world.graph.edges["C0", "H1"]["tie"] == "telemedicine"
    assert world.referral_up[c0] == h0 and TIE_KINDS[world.referral_tie[c0]] == "specialist_alliance"
    assert list(world.referral_targets[c0]) == [h0, h1]
    assert world.fac_capability_gain[c0] == TELEMEDICINE_CAPABILITY_GAIN
    # Village clinics and centres go up the medical community; only the county hospital gains.
    for f in np.flatnonzero(world.fac_tier < COUNTY):
        assert TIE_KINDS[world.referral_tie[f]] == "medical_community"
        assert world.fac_tier[world.referral_up[f]] == world.fac_tier[f] + 1
    assert np.flatnonzero(world.fac_capability_gain).tolist() == [c0]
    assert (world.referral_up[world.fac_tier == TERTIARY] == -1).all()


def test_every_access_edge_is_one_option_with_its_minutes(small):
    world = small
    for s, sid in enumerate(world.set_id):
        edges = {f: d["minutes"] for _, f, d in world.graph.out_edges(sid, data=True) if d["kind"] == "access"}
        options = {world.fac_id[f]: float(m) for f, m in zip(world.choice[s], world.travel_minutes[s]) if f >= 0}
        assert options == edges
        v, c = world.choice[s, :2]
        assert world.fac_tier[v] == VILLAGE and world.fac_township[v] == world.set_township[s]
        assert world.fac_tier[c] == TOWNSHIP and world.fac_township[c] == world.set_township[s]
        assert (world.own_village_clinic[s], world.own_township_centre[s]) == (v, c)
    # Catchments: the residents whose own clinic or centre a facility is; hospitals the county.
    grassroots = world.fac_tier <= TOWNSHIP
    assert world.fac_catchment[grassroots].sum() == 2 * world.population
    assert (world.fac_catchment[world.fac_tier == TERTIARY] == world.population).all()


# ------------------------------------------------------------ editing access edges

def visits_by_settlement(model: TierFlowModel) -> Counter:
    """Spy on the engine's choices: first visits counted by (settlement, facility)."""
    seen: Counter = Counter()
    seek = model.choice.seek

    def spy(eps, day, rng):
        went = seek(eps, day, rng)
        seen.update(zip(model.people.settlement[went.person].tolist(), went.facility.tolist()))
        return went

    model.choice.seek = spy
    return seen


def test_removing_an_access_edge_removes_the_option_and_the_visits(small):
    timeline = small_scenario(days=60)
    busiest = int(np.argmax(small.set_population))
    sid, c0 = small.set_id[busiest], index_of(small, "C0")
    edited = small.graph.copy()
    edited.remove_edge(sid, "C0")
    world = small.with_graph(edited)
    assert c0 not in world.choice[busiest] and c0 in small.choice[busiest]   # the original is untouched
    assert (world.choice[np.arange(len(world.set_id)) != busiest] == small.choice[
        np.arange(len(small.set_id)) != busiest]).all()
    before = TierFlowModel(timeline, world=small, agents=False)
    seen_before = visits_by_settlement(before)
    before.run()
    after = TierFlowModel(timeline, world=world, agents=False)
    seen_after = visits_by_settlement(after)
    after.run()
    assert seen_before[(busiest, c0)] > 0
    assert seen_after[(busiest, c0)] == 0
    assert sum(n for (s, _), n in seen_after.items() if s == busiest) > 0   # they still seek care elsewhere


def test_an_added_access_edge_is_an_option(small):
    s = int(np.argmax(small.set_population))
    centres = [f for f in np.flatnonzero(small.fac_tier == TOWNSHIP) if f not in small.choice[s]]
    far = small.fac_id[centres[0]]
    edited = small.graph.copy()
    edited.add_edge(small.set_id[s], far, kind="access", minutes=2.0)
    world = small.with_graph(edited)
    k = list(world.choice[s]).index(centres[0])
    assert k == 2 and world.travel_minutes[s, k] == MIN_TRAVEL_MINUTES   # quicker than the old other centre
    assert world.choice.shape[1] == small.choice.shape[1] + 1             # one more column for everyone
    assert world.own_township_centre[s] == small.own_township_centre[s]   # not its township's centre


# ------------------------------------------------------------ editing referral edges

def upward_referrals(model: TierFlowModel, source: str) -> dict[str, float]:
    table = model.referral_table()
    return {to: n for a, to, d, n in zip(table["from_id"], table["to_id"], table["direction"], table["count"])
            if a == source and d == "up"}


def busiest_centre(world: World) -> str:
    """The township centre with the most residents."""
    centres = np.flatnonzero(world.fac_tier == TOWNSHIP)
    return world.fac_id[int(centres[np.argmax(world.fac_catchment[centres])])]


def test_retargeting_removing_and_adding_referral_edges_moves_referrals():
    timeline = small_scenario(population=20000, days=90, world__county_hospitals=2)
    world = world_of(timeline)
    centre = busiest_centre(world)
    f = index_of(world, centre)
    assert world.fac_id[world.referral_up[f]] == "C0"
    # Retarget: the centre's medical-community tie leads to the second county hospital.
    retargeted = world.graph.copy()
    retargeted.remove_edge(centre, "C0")
    retargeted.add_edge(centre, "C1", kind="referral", tie="medical_community")
    # Remove: no upward tie left, the nearest county hospital (C0, at the seat) takes the cases.
    removed = world.graph.copy()
    removed.remove_edge(centre, "C0")
    # Add: a weaker tie beside the medical community's changes nothing; a stronger one does not exist.
    added = world.graph.copy()
    added.add_edge(centre, "C1", kind="referral", tie="referral")
    up = {name: World.from_graph(g).referral_up[f] for name, g in
          (("retargeted", retargeted), ("removed", removed), ("added", added))}
    assert world.fac_id[up["retargeted"]] == "C1" and world.fac_id[up["removed"]] == "C0"
    assert world.fac_id[up["added"]] == "C0"
    assert World.from_graph(removed).referral_tie[f] == -1   # the fallback, not a tie
    assert list(World.from_graph(added).referral_targets[f][:2]) == [index_of(world, "C0"), index_of(world, "C1")]

    base = upward_referrals(TierFlowModel(timeline, world=world, agents=False).run(), centre)
    moved = upward_referrals(TierFlowModel(timeline, world=World.from_graph(retargeted), agents=False).run(), centre)
    assert base.get("C0", 0) > 0 and "C1" not in base
    assert moved.get("C1", 0) > 0 and "C0" not in moved


def test_changing_a_tie_kind_changes_target_and_gain(small):
    c0, h0, h1 = (index_of(small, f) for f in ("C0", "H0", "H1"))
    swapped = small.graph.copy()
    swapped.edges["C0", "H0"]["tie"] = "telemedicine"
    swapped.edges["C0", "H1"]["tie"] = "specialist_alliance"
    world = small.with_graph(swapped)
    assert world.referral_up[c0] == h1 and list(world.referral_targets[c0]) == [h1, h0]
    assert world.fac_capability_gain[c0] == TELEMEDICINE_CAPABILITY_GAIN
    plain = small.graph.copy()
    plain.edges["C0", "H1"]["tie"] = "referral"
    world = small.with_graph(plain)
    assert world.referral_up[c0] == h0 and world.fac_capability_gain[c0] == 0.0
    # The model follows the swapped tie: the county hospital's referrals go to the provincial hospital.
    timeline = small_scenario(population=20000, days=90)
    moved = upward_referrals(TierFlowModel(timeline, world=small.with_graph(swapped), agents=False).run(), "C0")
    assert moved.get("H1", 0) > 0 and "H0" not in moved


def test_an_unknown_tie_kind_is_refused(small):
    bad = small.graph.copy()
    bad.edges["C0", "H1"]["tie"] = "friendship"
    with pytest.raises(ValueError, match="friendship.*allowed: medical_community"):
        small.with_graph(bad)


def test_every_tie_kind_is_documented():
    assert TIE_KINDS == ("medical_community", "specialist_alliance", "telemedicine", "referral")
    for tie in TIES.values():
        assert len(tie.effect) > 40 and tie.capability_gain >= 0
    assert TIES["telemedicine"].capability_gain == TELEMEDICINE_CAPABILITY_GAIN > 0


# ------------------------------------------------------------ the rules, with hypothesis

TIE = st.tuples(st.sampled_from(TIE_KINDS), st.integers(1, 3), st.floats(0, 500, allow_nan=False))


@given(st.lists(TIE, max_size=8), st.randoms())
def test_the_strongest_tie_then_the_lowest_tier_then_the_nearest_is_chosen(ties, rnd):
    listed = [(kind, tier, km, order) for order, (kind, tier, km) in enumerate(ties)]
    ranked = rank_ties(listed)
    assert sorted(ranked) == list(range(len(listed)))
    if listed:
        best = listed[ranked[0]]
        assert all(TIE_KINDS.index(best[0]) <= TIE_KINDS.index(t[0]) for t in listed)
        same_kind = [t for t in listed if t[0] == best[0]]
        assert best[1] == min(t[1] for t in same_kind)
        assert best[2] == min(t[2] for t in same_kind if t[1] == best[1])
    # The ranking depends on the ties, not on the order they are handed over in.
    shuffled = listed[:]
    rnd.shuffle(shuffled)
    assert [shuffled[k] for k in rank_ties(shuffled)] == [listed[k] for k in ranked]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 10_000), max_size=12), st.lists(st.integers(0, 10_000), max_size=6))
def test_any_removal_of_edges_compiles_to_consistent_routes(small, drop_access, drop_referral):
    graph = small.graph.copy()
    access = [(a, b) for a, b, d in graph.edges(data=True) if d["kind"] == "access"]
    referral = [(a, b) for a, b, d in graph.edges(data=True) if d["kind"] == "referral"]
    graph.remove_edges_from({access[k % len(access)] for k in drop_access})
    graph.remove_edges_from({referral[k % len(referral)] for k in drop_referral})
    world = small.with_graph(graph)
    for s, sid in enumerate(world.set_id):
        reachable = {world.fac_id.index(f) for f in graph.successors(sid)}
        assert set(world.choice[s][world.choice[s] >= 0]) == reachable
        assert world.own_village_clinic[s] == world.choice[s, 0] and world.own_township_centre[s] == world.choice[s, 1]
    assert ((world.travel_minutes >= MIN_TRAVEL_MINUTES) == (world.choice >= 0)).all()
    served = sum(world.set_population[own >= 0].sum() for own in (world.own_village_clinic, world.own_township_centre))
    assert world.fac_catchment[world.fac_tier <= TOWNSHIP].sum() == served
    for f in range(world.n_facilities):
        up = world.referral_up[f]
        tied = [world.fac_id.index(b) for b in graph.successors(world.fac_id[f])
                if world.fac_tier[world.fac_id.index(b)] > world.fac_tier[f]]
        assert (world.referral_tie[f] >= 0) == bool(tied)
        if tied:
            assert up in tied
        elif world.fac_tier[f] < TERTIARY:
            assert world.fac_tier[up] == (COUNTY if world.fac_tier[f] < COUNTY else TERTIARY)
