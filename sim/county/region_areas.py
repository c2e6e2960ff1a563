"""A region's areas as county scenarios of their own, and their worlds.

Each area of a `RegionPlan` runs as one county model: the region's scenario with the area's
population, the shape of its world (a rural county or an urban district, `world.kind`), the
shared hospitals its residents reach as its tertiary hospitals (in hospitals.csv order, with
their distance from the area's seat and their place for the insurance fund), a seed of its own
and the overrides for its kind and its id (`region.by_kind`, `region.by_area`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.county.build import build_world
from sim.county.routing import TERTIARY, distance_of
from sim.county.world import World
from sim.scenario.overrides import with_overrides
from sim.scenario.region_files import Area, RegionPlan
from sim.scenario.schema import Timeline

MIN_HOSPITAL_KM = 2.0   # a hospital in the area itself is still a trip across town
KM_PER_DEGREE = 111.2   # latitude; longitude shrinks with cos(latitude)


@dataclass
class AreaRun:
    """One area of a region: its index, its row, its county timeline and its shared hospitals."""

    index: int
    area: Area
    timeline: Timeline
    shared: list[int]            # region hospital index of the area world's tertiary hospitals H0, H1, ...
    initial_share: list[float]   # the area's share of each one's residents (sizes a given capacity)


def area_seed(seed: int, index: int) -> int:
    """The seed of area `index` (independent of how areas are split among workers)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] % (2**63 - 1))


def world_shape(area: Area) -> dict:
    """The world settings of an area: centres, stations, radius and hospitals from its kind and
    population unless areas.csv gives them.

    An urban district has a community health centre per 60,000 residents (Shanghai's rule: one per
    街道 or per 50,000-100,000) and a family-doctor team (station) per 5,000 (the national aim of 2-3
    general practitioners per 10,000 residents); a rural county a township centre per 35,000 and 15
    village clinics each, as the baseline county (10 townships, 12 villages, 100,000 residents) roughly has.
    """
    urban = area.kind == "urban"
    per_centre = 60_000 if urban else 35_000
    centres = area.centres or int(np.clip(round(area.population / per_centre), 2 if urban else 3, 60))
    radius = area.radius_km or float(np.clip((6.0 if urban else 30.0) * np.sqrt(area.population / 500_000),
                                             3.0 if urban else 10.0, 25.0 if urban else 80.0))
    return {"world.kind": "urban_district" if urban else "county", "world.population": area.population,
            "world.townships": centres, "world.villages_per_township": area.stations_per_centre or (12 if urban else 15),
            "world.county_radius_km": round(radius, 2), "world.county_hospitals": area.hospitals or (1 if urban else 2),
            "world.speed_rural_kmh": 20.0 if urban else 30.0}


def area_runs(timeline: Timeline, plan: RegionPlan) -> list[AreaRun]:
    """Every area's county timeline, in areas.csv order."""
    base = timeline.base
    region = base.region
    dist = distance_of(plan.coordinates)
    reach = [plan.reached(a) for a in plan.areas]
    reaching_pop = np.zeros(len(plan.hospitals))
    for area, ks in zip(plan.areas, reach):
        reaching_pop[ks] += area.population
    runs = []
    for index, (area, ks) in enumerate(zip(plan.areas, reach)):
        tertiary = []
        for k in ks:
            h = plan.hospitals[k]
            km = float(dist(np.array([h.xy]), np.array(area.xy))[0])
            own_pool = h.pooling_area == area.pooling_area
            tertiary.append({"name": h.name, "distance_km": round(max(km, MIN_HOSPITAL_KM), 2), "grade": h.grade,
                             "place": "pooling_area" if own_pool else "province",
                             "alliance": "specialist_alliance" if own_pool else "telemedicine"})
        settings = {"name": f"{base.name}/{area.id}", "seed": area_seed(base.seed, index), "region": None,
                    **world_shape(area), "world.tertiary": tertiary, **area.own_settings(region)}
        runs.append(AreaRun(index, area, with_overrides(timeline, settings, where=f"area {area.id}"), list(ks),
                            [area.population / reaching_pop[k] for k in ks]))
    return runs


def area_world(run: AreaRun, plan: RegionPlan, rng: np.random.Generator) -> World:
    """An area's world. A shared hospital's copy is sized for the area's residents divided among the
    hospitals of its kind the area reaches (those of its own pooling area; the others), so that a
    region's residents have the tertiary capacity per head of one county; where hospitals.csv gives
    capacity or beds, the copy has the area's share of its residents instead."""
    world = build_world(run.timeline.base, rng)
    tertiary = np.flatnonzero(world.fac_tier == TERTIARY)
    own = np.array([plan.hospitals[k].pooling_area == run.area.pooling_area for k in run.shared])
    world.fac_catchment = world.fac_catchment.copy()
    for f, mine in zip(tertiary, own):
        world.fac_catchment[f] /= max(int((own == mine).sum()), 1)
    for column, attr in (("fac_beds", "beds"), ("fac_capacity", "capacity")):
        given = [(f, getattr(plan.hospitals[k], attr), share)
                 for f, k, share in zip(tertiary, run.shared, run.initial_share)]
        if any(v is not None for _, v, _ in given):
            values = getattr(world, column)
            values = np.full(world.n_facilities, np.nan) if values is None else values.copy()
            for f, v, share in given:
                if v is not None:
                    values[f] = v * share
            setattr(world, column, values)
    return world


def to_region_xy(local_km: np.ndarray, seat: tuple[float, float], coordinates: str) -> np.ndarray:
    """Positions in an area's own km (its seat at 0, 0) in the region's coordinates."""
    local_km = np.asarray(local_km, dtype=np.float64).reshape(-1, 2)
    if coordinates == "km":
        return local_km + np.array(seat)
    lon, lat = seat
    return np.column_stack([lon + local_km[:, 0] / (KM_PER_DEGREE * np.cos(np.radians(lat))),
                            lat + local_km[:, 1] / KM_PER_DEGREE])
