"""The county and its referral graph: facilities, settlements, access and referral edges.

A `World` holds facilities and settlements as arrays (what the engine reads) and a
`networkx.DiGraph` (what plots, the dashboard and users inspect). Access edges run from
settlements to the facilities their residents may choose (travel minutes); referral
edges run between facilities (the kind of tie). Generation is linear in the number of
settlements: each settlement looks only at its own township and the county's few
hospitals, never at every other settlement.

A synthetic county is generated here (`synthesise`); a planner's own county is read
from CSV files by `sim.county.csv_county`. Both go through `assemble`.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.scenario.schema import TIERS, World as WorldSpec

VILLAGE, TOWNSHIP, COUNTY, TERTIARY = range(4)
MIN_TRAVEL_MINUTES = 5.0
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


@dataclass
class World:
    """Facilities, settlements, choice sets and the referral graph of one county."""

    fac_id: list[str]
    fac_name: list[str]
    fac_tier: np.ndarray          # int8, index into TIERS
    fac_xy: np.ndarray            # (F, 2) positions, in the units `coordinates` names
    fac_township: np.ndarray      # int32, -1 outside any township
    fac_catchment: np.ndarray     # float64, residents a facility's capacity is sized for
    fac_in_county: np.ndarray     # bool
    fac_medical_community: np.ndarray  # bool, member of the county medical community
    referral_up: np.ndarray       # int32, facility a case beyond capability is sent to (-1: none)
    set_id: list[str]
    set_name: list[str]
    set_population: np.ndarray    # int64 residents
    set_xy: np.ndarray
    set_township: np.ndarray      # int32
    set_share_60_plus: np.ndarray | None  # per-settlement ageing (CSV worlds), else None
    set_share_employee: np.ndarray | None
    choice: np.ndarray            # (S, K) int32 facility options per settlement, -1 padding
    travel_minutes: np.ndarray    # (S, K) float32
    own_township_centre: np.ndarray  # (S,) int32 the settlement's township health centre
    own_village_clinic: np.ndarray   # (S,) int32 the settlement's family-doctor team
    graph: nx.DiGraph
    # Facility values a planner supplied in facilities.csv (NaN where not given).
    fac_capacity: np.ndarray | None = None    # outpatient visits per day
    fac_beds: np.ndarray | None = None
    fac_quality: np.ndarray | None = None
    fac_capability: np.ndarray | None = None
    # "km": x, y in km on a plane (synthetic counties); "lonlat": longitude, latitude in degrees.
    coordinates: str = "km"
    township_names: list[str] | None = None   # by township index (CSV worlds)

    @property
    def n_facilities(self) -> int:
        """Number of facilities."""
        return len(self.fac_tier)

    @property
    def population(self) -> int:
        """Residents in all settlements."""
        return int(self.set_population.sum())


def planar_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Straight-line km between points on the synthetic county's plane."""
    return np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1)


def great_circle_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle km between (longitude, latitude) points in degrees (haversine)."""
    lon1, lat1 = np.radians(np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0))
    lon2, lat2 = np.radians(np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to weights, exactly (largest remainder)."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    short = total - out.sum()
    if short:
        out[np.argsort(raw - out, kind="stable")[::-1][:short]] += 1
    return out


def synthesise(spec: WorldSpec, rng: np.random.Generator) -> World:
    """Generate a synthetic county: townships on a disc, villages around their centres."""
    n_t, n_v = spec.townships, spec.villages_per_township
    radius = spec.county_radius_km
    # Township 0 is the county seat (a town, so its centre is a community health centre).
    angles = rng.uniform(0, 2 * np.pi, n_t)
    dist = radius * np.sqrt(rng.uniform(0.1, 0.8, n_t))
    centres = np.column_stack([dist * np.cos(angles), dist * np.sin(angles)])
    centres[0] = 0.0
    town_weight = rng.lognormal(0.0, 0.35, n_t)
    town_weight[0] *= 2.5
    town_pop = _split(spec.population, town_weight)
    spread = radius / np.sqrt(n_t) * 0.8

    set_xy = np.repeat(centres, n_v, axis=0) + rng.normal(0.0, spread / 2, (n_t * n_v, 2))
    set_township = np.repeat(np.arange(n_t, dtype=np.int32), n_v)
    set_pop = np.concatenate([_split(int(p), rng.lognormal(0.0, 0.5, n_v)) for p in town_pop])

    fac_rows: list[tuple[str, str, int, float, float, int, bool, bool]] = []
    for s in range(n_t * n_v):
        fac_rows.append((f"V{s:05d}", f"Village clinic {s}", VILLAGE, *set_xy[s], int(set_township[s]), True, True))
    for t in range(n_t):
        label = "Community health centre (county seat)" if t == 0 else f"Township health centre {t}"
        fac_rows.append((f"T{t:03d}", label, TOWNSHIP, *centres[t], t, True, True))
    for c in range(spec.county_hospitals):
        label = "County People's Hospital" if c == 0 else f"County hospital {c + 1} (TCM)"
        fac_rows.append((f"C{c}", label, COUNTY, 0.0, 0.5 * c, -1, True, True))
    for k, tert in enumerate(spec.tertiary):
        fac_rows.append((f"H{k}", tert.name, TERTIARY, tert.distance_km, 0.0, -1, False, False))
    tertiary_km = np.array([t.distance_km for t in spec.tertiary])
    alliances = [t.alliance for t in spec.tertiary]
    return assemble(fac_rows, [f"S{s:05d}" for s in range(n_t * n_v)],
                    [f"Village {s}" for s in range(n_t * n_v)], set_pop, set_xy, set_township,
                    spec, tertiary_km=tertiary_km, alliances=alliances)


def assemble(fac_rows: list[tuple], set_ids: list[str], set_names: list[str], set_pop: np.ndarray,
             set_xy: np.ndarray, set_township: np.ndarray, spec: WorldSpec, *,
             tertiary_km: np.ndarray | None = None, alliances: list[str] | None = None,
             travel: dict[tuple[int, int], float] | None = None,
             referral_edges: list[tuple[int, int, str]] | None = None,
             set_share_60_plus: np.ndarray | None = None, set_share_employee: np.ndarray | None = None,
             distance=None) -> World:
    """Build choice sets, travel times, referral targets and the graph from facility rows.

    `fac_rows` are (id, name, tier, x, y, township, in_county, medical_community).
    A settlement may choose its own village clinic (the nearest of its township), its
    own township centre, the nearest other township centre, every county hospital and
    every tertiary hospital. A facility's catchment (what its capacity per 1,000
    residents is sized for) is the population of the settlements it is the own clinic
    or centre of; hospitals serve the whole county.

    Synthetic worlds measure km on a plane; CSV worlds pass `distance` (great-circle for
    longitude/latitude). Travel minutes come from distance x road factor / speed, an
    out-of-county hospital being reached through the county seat (`tertiary_km`: its
    road distance from there). A `travel` table (settlement, facility) -> minutes
    replaces that formula: then only the pairs it lists are reachable, and "nearest"
    means quickest. `referral_edges` (from, to, kind) replace the default ties.
    """
    fac_id = [r[0] for r in fac_rows]
    fac_tier = np.array([r[2] for r in fac_rows], dtype=np.int8)
    fac_xy = np.array([[r[3], r[4]] for r in fac_rows], dtype=np.float64)
    fac_township = np.array([r[5] for r in fac_rows], dtype=np.int32)
    fac_in = np.array([r[6] for r in fac_rows], dtype=bool)
    fac_mc = np.array([r[7] for r in fac_rows], dtype=bool)
    n_set = len(set_ids)
    dist = distance or planar_km

    villages = np.flatnonzero(fac_tier == VILLAGE)
    centres = np.flatnonzero(fac_tier == TOWNSHIP)
    hospitals = np.flatnonzero(fac_tier == COUNTY)
    tertiary = np.flatnonzero(fac_tier == TERTIARY)
    centre_of = {int(fac_township[c]): int(c) for c in centres}
    seat = fac_xy[hospitals[0]] if len(hospitals) else np.zeros(2)

    reach: list[dict[int, float]] | None = None
    if travel is not None:
        reach = [{} for _ in range(n_set)]
        for (s, f), value in travel.items():
            reach[s][f] = value

    def reachable(s: int, pool: np.ndarray) -> np.ndarray:
        return pool if reach is None else pool[[int(f) in reach[s] for f in pool]]

    def nearest(s: int, pool: np.ndarray) -> int:
        pool = reachable(s, pool)
        if not len(pool):
            return -1
        if reach is None:
            return int(pool[np.argmin(dist(fac_xy[pool], set_xy[s]))])
        return int(pool[np.argmin([reach[s][int(f)] for f in pool])])

    # Each settlement's own clinic: the nearest village clinic of its township (any
    # village clinic if its township has none it can reach).
    own_village = np.full(n_set, -1, dtype=np.int32)
    by_town: dict[int, np.ndarray] = {}
    for t in np.unique(fac_township[villages]):
        by_town[int(t)] = villages[fac_township[villages] == t]
    for s in range(n_set):
        own_village[s] = nearest(s, by_town.get(int(set_township[s]), villages))
        if own_village[s] < 0:
            own_village[s] = nearest(s, villages)
    own_centre = np.array([centre_of.get(int(t), -1) for t in set_township], dtype=np.int32)
    if reach is not None:
        own_centre = np.array([c if c >= 0 and c in reach[s] else -1 for s, c in enumerate(own_centre)],
                              dtype=np.int32)
    fac_catch = np.zeros(len(fac_id))
    np.add.at(fac_catch, own_village[own_village >= 0], set_pop[own_village >= 0])
    np.add.at(fac_catch, own_centre[own_centre >= 0], set_pop[own_centre >= 0])
    total = float(np.sum(set_pop))
    fac_catch[hospitals] = total / max(len(hospitals), 1)
    fac_catch[tertiary] = total

    # Nearest *other* township centre: bypassing one's own township is common.
    k_other = 1 if len(centres) > 1 else 0
    width = 2 + k_other + len(hospitals) + len(tertiary)
    choice = np.full((n_set, width), -1, dtype=np.int32)
    minutes = np.zeros((n_set, width), dtype=np.float32)
    road, v_rural, v_fast = spec.road_factor, spec.speed_rural_kmh, spec.speed_highway_kmh
    for s in range(n_set):
        opts = [own_village[s], own_centre[s]]
        if k_other:
            opts.append(nearest(s, centres[centres != own_centre[s]]))
        opts += [int(f) if reach is None or int(f) in reach[s] else -1 for f in (*hospitals, *tertiary)]
        for k, f in enumerate(opts):
            if f < 0:
                continue
            choice[s, k] = f
            if reach is not None:
                minutes[s, k] = reach[s][int(f)]
            elif fac_tier[f] == TERTIARY and tertiary_km is not None:
                to_seat = float(dist(seat, set_xy[s])) * road / v_rural
                minutes[s, k] = 60 * (to_seat + tertiary_km[int(np.flatnonzero(tertiary == f)[0])] * road / v_fast)
            else:
                km = float(dist(fac_xy[f], set_xy[s])) * road
                minutes[s, k] = 60 * km / (v_fast if fac_tier[f] == TERTIARY else v_rural)
    np.maximum(minutes, MIN_TRAVEL_MINUTES, out=minutes, where=choice >= 0)

    graph = nx.DiGraph()
    for f, fid in enumerate(fac_id):
        graph.add_node(fid, kind="facility", tier=TIERS[fac_tier[f]], name=fac_rows[f][1],
                       pos=tuple(fac_xy[f]), in_county=bool(fac_in[f]), index=f)
    for s, sid in enumerate(set_ids):
        graph.add_node(sid, kind="settlement", name=set_names[s], population=int(set_pop[s]),
                       pos=tuple(set_xy[s]), index=s)
        for k in range(width):
            if choice[s, k] >= 0:
                graph.add_edge(sid, fac_id[choice[s, k]], kind="access", minutes=float(minutes[s, k]))

    if referral_edges is None:
        referral_edges = []
        for v in villages:
            c = centre_of.get(int(fac_township[v]))
            if c is not None:
                referral_edges.append((int(v), c, "medical_community"))
        for c in centres:
            for h in hospitals[:1]:
                referral_edges.append((int(c), int(h), "medical_community"))
        for h in hospitals:
            for k, t in enumerate(tertiary):
                tie = alliances[k] if alliances else "specialist_alliance"
                if tie != "none":
                    referral_edges.append((int(h), int(t), tie))
    referral_up = np.full(len(fac_id), -1, dtype=np.int32)
    for a, b, tie in referral_edges:
        graph.add_edge(fac_id[a], fac_id[b], kind="referral", tie=tie)
        if fac_tier[b] > fac_tier[a] and (referral_up[a] < 0 or fac_tier[b] < fac_tier[referral_up[a]]):
            referral_up[a] = b
    # A facility without an upward referral edge sends patients to the nearest county
    # hospital (a hospital: the nearest tertiary hospital), as a patient would go on their own.
    for f in range(len(fac_id)):
        if referral_up[f] < 0 and fac_tier[f] < TERTIARY:
            pool = hospitals if fac_tier[f] < COUNTY and len(hospitals) else tertiary
            if len(pool):
                referral_up[f] = int(pool[np.argmin(dist(fac_xy[pool], fac_xy[f]))])

    return World(
        fac_id=fac_id, fac_name=[r[1] for r in fac_rows], fac_tier=fac_tier, fac_xy=fac_xy,
        fac_township=fac_township, fac_catchment=fac_catch, fac_in_county=fac_in,
        fac_medical_community=fac_mc, referral_up=referral_up, set_id=set_ids, set_name=set_names,
        set_population=np.asarray(set_pop, dtype=np.int64), set_xy=np.asarray(set_xy, dtype=np.float64),
        set_township=np.asarray(set_township, dtype=np.int32), set_share_60_plus=set_share_60_plus,
        set_share_employee=set_share_employee, choice=choice, travel_minutes=minutes,
        own_township_centre=own_centre, own_village_clinic=own_village, graph=graph)

