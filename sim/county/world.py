"""The county as a graph: facilities, settlements, access and referral edges.

The graph (`World.graph`, a `networkx.DiGraph`; nodes, edges and attributes described in
`sim.county.routing`) is what a county *is*. Access edges run from settlements to the
facilities their residents may choose (travel minutes); referral edges run between
facilities (the kind of tie). Every array the engine reads about routes (choice sets,
travel minutes, own clinic and centre, catchments, referral targets, gains from ties) is
compiled from the graph alone by `sim.county.routing.compile_routes`; the facility and
settlement arrays are read off its nodes. Edit the graph and recompile:

    edited = world.graph.copy()
    edited.remove_edge("S00003", "C0")        # village 3 can no longer reach the county hospital
    edited.edges["C0", "H1"]["tie"] = "specialist_alliance"
    world = world.with_graph(edited)

A synthetic county is generated here (`synthesise`); a planner's own county is read from
CSV files by `sim.county.csv_county`. Both build their graph with `assemble`, in named
steps: the nodes (`county_graph`), the sites and who can reach what (`Sites`), each
settlement's own clinic and centre (`own_facilities`), its options (`access_options`) and
the minutes to them (`Sites.minutes`) as access edges, then the referral ties
(`default_ties` unless given). Generation is linear in the number of settlements: each
settlement looks only at its own township and the county's few hospitals.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import networkx as nx
import numpy as np

from sim.county.routing import (COUNTY, MIN_TRAVEL_MINUTES, TERTIARY, TOWNSHIP, VILLAGE, Routes, compile_routes,
                                distance_of, great_circle_km, nodes_of, planar_km)
from sim.scenario.schema import GRADES, PLACES, TIERS, World as WorldSpec, grade_index

__all__ = ["COUNTY", "TERTIARY", "TOWNSHIP", "VILLAGE", "MIN_TRAVEL_MINUTES", "World", "assemble", "synthesise",
           "great_circle_km", "planar_km", "county_graph", "default_ties"]

SUPPLIED = ("capacity", "beds", "quality", "capability")  # facility values a planner may give (facilities.csv)


@dataclass
class World:
    """Facilities, settlements, routes and the referral graph of one county (see the module docstring).

    Everything here is read off `graph` (`World.from_graph`); the routing arrays are those
    `compile_routes` gives (meanings in `sim.county.routing.Routes`).
    """

    fac_id: list[str]
    fac_name: list[str]
    fac_tier: np.ndarray          # int8, index into TIERS
    fac_xy: np.ndarray            # (F, 2) positions, in the units `coordinates` names
    fac_township: np.ndarray      # int32, -1 outside any township
    fac_in_county: np.ndarray     # bool
    fac_medical_community: np.ndarray  # bool, member of the county medical community
    fac_grade: np.ndarray         # int8, index into GRADES (node attribute "grade"; default by tier)
    fac_place: np.ndarray         # int8, index into PLACES (node attribute "place"; default county or pooling area)
    set_id: list[str]
    set_name: list[str]
    set_population: np.ndarray    # int64 residents
    set_xy: np.ndarray
    set_township: np.ndarray      # int32
    set_share_60_plus: np.ndarray | None  # per-settlement ageing (CSV worlds), else None
    set_share_employee: np.ndarray | None
    # Compiled from the graph by compile_routes (sim.county.routing.Routes):
    choice: np.ndarray            # (S, K) int32 facility options per settlement, -1 padding
    travel_minutes: np.ndarray    # (S, K) float32
    own_township_centre: np.ndarray  # (S,) int32 the settlement's township health centre
    own_village_clinic: np.ndarray   # (S,) int32 the settlement's family-doctor team
    fac_catchment: np.ndarray     # float64, residents a facility's capacity is sized for
    referral_up: np.ndarray       # int32, facility a case beyond capability is sent to (-1: none)
    referral_targets: np.ndarray  # (F, R) int32, every upward tie's target, best first (-1 padding)
    referral_tie: np.ndarray      # (F,) int8, index in routing.TIE_KINDS of the tie to referral_up (-1: fallback)
    fac_capability_gain: np.ndarray  # (F,) float64, capability gained from ties (telemedicine)
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

    @classmethod
    def from_graph(cls, graph: nx.DiGraph) -> World:
        """The county a graph describes: node attributes as arrays, routes compiled from its edges."""
        facilities, settlements = nodes_of(graph, "facility"), nodes_of(graph, "settlement")
        fac = [graph.nodes[f] for f in facilities]
        sets = [graph.nodes[s] for s in settlements]

        def column(rows: list[dict], key: str, dtype) -> np.ndarray | None:
            if not any(key in r for r in rows):
                return None
            return np.array([r.get(key, np.nan) for r in rows], dtype=dtype)

        routes = compile_routes(graph)
        return cls(
            fac_id=list(facilities), fac_name=[f["name"] for f in fac],
            fac_tier=np.array([TIERS.index(f["tier"]) for f in fac], dtype=np.int8),
            fac_xy=np.array([f["pos"] for f in fac], dtype=np.float64).reshape(-1, 2),
            fac_township=np.array([f.get("township", -1) for f in fac], dtype=np.int32),
            fac_in_county=np.array([f["in_county"] for f in fac], dtype=bool),
            fac_medical_community=np.array([f.get("medical_community", False) for f in fac], dtype=bool),
            fac_grade=np.array([grade_index(f.get("grade", GRADES[TIERS.index(f["tier"])])) for f in fac], np.int8),
            fac_place=np.array([PLACES.index(f.get("place", "county" if f["in_county"] else "pooling_area"))
                                for f in fac], dtype=np.int8),
            set_id=list(settlements), set_name=[s["name"] for s in sets],
            set_population=np.array([s["population"] for s in sets], dtype=np.int64),
            set_xy=np.array([s["pos"] for s in sets], dtype=np.float64).reshape(-1, 2),
            set_township=np.array([s.get("township", -1) for s in sets], dtype=np.int32),
            set_share_60_plus=column(sets, "share_60_plus", np.float64),
            set_share_employee=column(sets, "share_employee", np.float64),
            fac_capacity=column(fac, "capacity", np.float64), fac_beds=column(fac, "beds", np.float64),
            fac_quality=column(fac, "quality", np.float64), fac_capability=column(fac, "capability", np.float64),
            coordinates=graph.graph.get("coordinates", "km"), township_names=graph.graph.get("township_names"),
            graph=graph, **{f.name: getattr(routes, f.name) for f in fields(Routes)})

    def with_graph(self, graph: nx.DiGraph) -> World:
        """This county after an edit of its graph: everything read and compiled again from `graph`."""
        return World.from_graph(graph)

    def recompiled(self) -> World:
        """This county compiled again from its own graph (after editing `self.graph` in place)."""
        return World.from_graph(self.graph)


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to weights, exactly (largest remainder)."""
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    short = total - out.sum()
    if short:
        out[np.argsort(raw - out, kind="stable")[::-1][:short]] += 1
    return out


NAMES = {  # display names of a synthetic area's facilities and settlements, by world.kind
    "county": {"village": "Village clinic {}", "seat": "Community health centre (county seat)",
               "township": "Township health centre {}", "hospital": "County People's Hospital",
               "hospital_n": "County hospital {} (TCM)", "settlement": "Village {}"},
    "urban_district": {"village": "Community health station {}", "seat": "Community health centre (district seat)",
                       "township": "Community health centre {}", "hospital": "District People's Hospital",
                       "hospital_n": "District hospital {}", "settlement": "Neighbourhood {}"},
}


def synthesise(spec: WorldSpec, rng: np.random.Generator) -> World:
    """Generate a synthetic county (or urban district, `spec.kind`): townships (communities) on a
    disc, villages (neighbourhoods) around their centres."""
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

    names = NAMES[spec.kind]
    fac_rows: list[tuple[str, str, int, float, float, int, bool, bool]] = []
    for s in range(n_t * n_v):
        fac_rows.append((f"V{s:05d}", names["village"].format(s), VILLAGE, *set_xy[s], int(set_township[s]), True,
                         True))
    for t in range(n_t):
        label = names["seat"] if t == 0 else names["township"].format(t)
        fac_rows.append((f"T{t:03d}", label, TOWNSHIP, *centres[t], t, True, True))
    for c in range(spec.county_hospitals):
        label = names["hospital"] if c == 0 else names["hospital_n"].format(c + 1)
        fac_rows.append((f"C{c}", label, COUNTY, 0.0, 0.5 * c, -1, True, True))
    labels: dict[str, dict] = {f"C{c}": {"grade": GRADES[grade_index(spec.county_hospital_grade)]}
                               for c in range(spec.county_hospitals)}
    for k, tert in enumerate(spec.tertiary):
        fac_rows.append((f"H{k}", tert.name, TERTIARY, tert.distance_km, 0.0, -1, False, False))
        labels[f"H{k}"] = {"grade": GRADES[grade_index(tert.grade)], "place": tert.place}
    tertiary_km = np.array([t.distance_km for t in spec.tertiary])
    alliances = [t.alliance for t in spec.tertiary]
    return assemble(fac_rows, [f"S{s:05d}" for s in range(n_t * n_v)],
                    [names["settlement"].format(s) for s in range(n_t * n_v)], set_pop, set_xy, set_township,
                    spec, tertiary_km=tertiary_km, alliances=alliances, labels=labels)




def assemble(fac_rows: list[tuple], set_ids: list[str], set_names: list[str], set_pop: np.ndarray,
             set_xy: np.ndarray, set_township: np.ndarray, spec: WorldSpec, *,
             tertiary_km: np.ndarray | None = None, alliances: list[str] | None = None,
             travel: dict[tuple[int, int], float] | None = None,
             referral_edges: list[tuple[int, int, str]] | None = None,
             set_share_60_plus: np.ndarray | None = None, set_share_employee: np.ndarray | None = None,
             coordinates: str = "km", supplied: dict[str, np.ndarray] | None = None,
             township_names: list[str] | None = None, labels: dict[str, dict] | None = None) -> World:
    """Build a county's graph from facility rows and settlements, and compile its World from it.

    `fac_rows` are (id, name, tier, x, y, township, in_county, medical_community). A
    settlement may choose its own village clinic (the nearest of its township), its own
    township centre, the nearest other township centre, every county hospital and every
    tertiary hospital (`access_options`).

    Synthetic worlds measure km on a plane; CSV worlds may give longitude/latitude
    (`coordinates="lonlat"`: great-circle km). Travel minutes come from distance x road
    factor / speed, an out-of-county hospital being reached through the county seat
    (`tertiary_km`: its road distance from there). A `travel` table (settlement, facility)
    -> minutes replaces that formula: then only the pairs it lists are reachable, and
    "nearest" means quickest. `referral_edges` (from, to, kind) replace the default ties
    (`default_ties`; `alliances`: the tie of each tertiary hospital, "none" for no tie).
    `supplied` holds facilities.csv values by name (SUPPLIED), NaN where not given; `labels`
    more node attributes by facility id (grade, place).
    """
    graph = county_graph(fac_rows, set_ids, set_names, set_pop, set_xy, set_township, coordinates=coordinates,
                         supplied=supplied, township_names=township_names,
                         shares={"share_60_plus": set_share_60_plus, "share_employee": set_share_employee})
    for fid, attrs in (labels or {}).items():
        graph.nodes[fid].update(attrs)
    sites = Sites.of(fac_rows, set_xy, set_township, spec, travel, coordinates, tertiary_km)
    own_village, own_centre = own_facilities(sites)
    for s, sid in enumerate(set_ids):
        opts = access_options(sites, s, own_village[s], own_centre[s])
        graph.add_edges_from((sid, sites.fac_id[f], {"kind": "access", "minutes": m})
                             for f, m in zip(opts, sites.minutes(s, opts)))
    if referral_edges is None:
        referral_edges = default_ties(sites, alliances)
    for a, b, tie in referral_edges:
        graph.add_edge(sites.fac_id[a], sites.fac_id[b], kind="referral", tie=tie)
    return World.from_graph(graph)


def county_graph(fac_rows: list[tuple], set_ids: list[str], set_names: list[str], set_pop: np.ndarray,
                 set_xy: np.ndarray, set_township: np.ndarray, *, coordinates: str = "km",
                 supplied: dict[str, np.ndarray] | None = None, township_names: list[str] | None = None,
                 shares: dict[str, np.ndarray | None] | None = None) -> nx.DiGraph:
    """The county's nodes (facilities, then settlements) with their attributes; no edges yet."""
    graph = nx.DiGraph(coordinates=coordinates)
    if township_names is not None:
        graph.graph["township_names"] = list(township_names)
    set_xy = np.asarray(set_xy, dtype=np.float64)
    for f, (fid, name, tier, x, y, town, in_county, member) in enumerate(fac_rows):
        extra = {k: float(v[f]) for k, v in (supplied or {}).items() if v is not None}
        graph.add_node(fid, kind="facility", tier=TIERS[tier], name=name, pos=(np.float64(x), np.float64(y)),
                       in_county=bool(in_county), index=f, township=int(town), medical_community=bool(member),
                       **extra)
    for s, sid in enumerate(set_ids):
        extra = {k: float(v[s]) for k, v in (shares or {}).items() if v is not None}
        graph.add_node(sid, kind="settlement", name=set_names[s], population=int(set_pop[s]),
                       pos=tuple(set_xy[s]), index=s, township=int(set_township[s]), **extra)
    return graph


@dataclass
class Sites:
    """Where facilities and settlements are, and who can reach what (the inputs of the access edges)."""

    fac_id: list[str]
    tier: np.ndarray
    xy: np.ndarray
    township: np.ndarray
    set_xy: np.ndarray
    set_township: np.ndarray
    spec: WorldSpec
    reach: list[dict[int, float]] | None   # travel table by settlement; None: the formula, all reachable
    dist: object
    tertiary_km: np.ndarray | None

    @classmethod
    def of(cls, fac_rows: list[tuple], set_xy: np.ndarray, set_township: np.ndarray, spec: WorldSpec,
           travel: dict[tuple[int, int], float] | None, coordinates: str, tertiary_km: np.ndarray | None) -> Sites:
        reach = None
        if travel is not None:
            reach = [{} for _ in range(len(set_township))]
            for (s, f), value in travel.items():
                reach[s][f] = value
        return cls(fac_id=[r[0] for r in fac_rows], tier=np.array([r[2] for r in fac_rows], dtype=np.int8),
                   xy=np.array([[r[3], r[4]] for r in fac_rows], dtype=np.float64).reshape(-1, 2),
                   township=np.array([r[5] for r in fac_rows], dtype=np.int32),
                   set_xy=np.asarray(set_xy, dtype=np.float64), set_township=np.asarray(set_township),
                   spec=spec, reach=reach, dist=distance_of(coordinates), tertiary_km=tertiary_km)

    def __post_init__(self) -> None:
        self.pools = [np.flatnonzero(self.tier == t) for t in range(len(TIERS))]
        hospitals = self.pools[COUNTY]
        self.seat = self.xy[hospitals[0]] if len(hospitals) else np.zeros(2)

    def of_tier(self, tier: int) -> np.ndarray:
        """Facilities of one tier, in facility order."""
        return self.pools[tier]

    def can_reach(self, s: int, f: int) -> bool:
        """Whether settlement s can reach facility f (always, without a travel table)."""
        return self.reach is None or int(f) in self.reach[s]

    def nearest(self, s: int, pool: np.ndarray) -> int:
        """The nearest (with a travel table: quickest) facility of `pool` that s can reach; -1 none."""
        if self.reach is not None:
            pool = pool[[int(f) in self.reach[s] for f in pool]]
        if not len(pool):
            return -1
        if self.reach is None:
            return int(pool[np.argmin(self.dist(self.xy[pool], self.set_xy[s]))])
        return int(pool[np.argmin([self.reach[s][int(f)] for f in pool])])

    def minutes(self, s: int, opts: list[int]) -> list[float]:
        """Travel minutes from settlement s to each facility of `opts` (at least MIN_TRAVEL_MINUTES,
        rounded to float32 as the engine keeps them)."""
        if self.reach is not None:
            values = [self.reach[s][f] for f in opts]
        else:
            road, rural, fast = self.spec.road_factor, self.spec.speed_rural_kmh, self.spec.speed_highway_kmh
            km = self.dist(self.xy[opts], self.set_xy[s]) if opts else []
            to_seat = None
            values = []
            for f, d in zip(opts, km):
                if self.tier[f] == TERTIARY and self.tertiary_km is not None:
                    if to_seat is None:
                        to_seat = float(self.dist(self.seat, self.set_xy[s])) * road / rural
                    k = int(np.searchsorted(self.pools[TERTIARY], f))
                    values.append(60 * (to_seat + self.tertiary_km[k] * road / fast))
                else:
                    values.append(60 * (float(d) * road) / (fast if self.tier[f] == TERTIARY else rural))
        floor = np.float32(MIN_TRAVEL_MINUTES)
        return [float(max(np.float32(v), floor)) for v in values]


def own_facilities(sites: Sites) -> tuple[np.ndarray, np.ndarray]:
    """Each settlement's own village clinic (the nearest of its township it can reach, else the
    nearest it can reach) and own township centre (its township's, if reachable); -1: none."""
    villages = sites.of_tier(VILLAGE)
    by_town = {int(t): villages[sites.township[villages] == t] for t in np.unique(sites.township[villages])}
    centre_of = {int(sites.township[c]): int(c) for c in sites.of_tier(TOWNSHIP)}
    n_set = len(sites.set_township)
    own_village = np.full(n_set, -1, dtype=np.int32)
    own_centre = np.full(n_set, -1, dtype=np.int32)
    for s in range(n_set):
        own_village[s] = sites.nearest(s, by_town.get(int(sites.set_township[s]), villages))
        if own_village[s] < 0:
            own_village[s] = sites.nearest(s, villages)
        c = centre_of.get(int(sites.set_township[s]), -1)
        own_centre[s] = c if c >= 0 and sites.can_reach(s, c) else -1
    return own_village, own_centre


def access_options(sites: Sites, s: int, own_village: int, own_centre: int) -> list[int]:
    """Settlement s's options: own clinic, own centre, the nearest other centre, every hospital it can reach."""
    centres = sites.of_tier(TOWNSHIP)
    opts = [own_village, own_centre]
    if len(centres) > 1:
        opts.append(sites.nearest(s, centres[centres != own_centre]))
    opts += [int(f) for f in (*sites.of_tier(COUNTY), *sites.of_tier(TERTIARY)) if sites.can_reach(s, f)]
    return [int(f) for f in opts if f >= 0]


def default_ties(sites: Sites, alliances: list[str] | None) -> list[tuple[int, int, str]]:
    """A synthetic county's referral ties: every village clinic to its township centre and every
    centre to the first county hospital (medical_community); every county hospital to each
    tertiary hospital with the tie its `alliances` entry names (default specialist_alliance;
    "none": no tie)."""
    centre_of = {int(sites.township[c]): int(c) for c in sites.of_tier(TOWNSHIP)}
    hospitals = sites.of_tier(COUNTY)
    edges = []
    for v in sites.of_tier(VILLAGE):
        c = centre_of.get(int(sites.township[v]))
        if c is not None:
            edges.append((int(v), c, "medical_community"))
    for c in sites.of_tier(TOWNSHIP):
        edges += [(int(c), int(h), "medical_community") for h in hospitals[:1]]
    for h in hospitals:
        for k, t in enumerate(sites.of_tier(TERTIARY)):
            tie = alliances[k] if alliances else "specialist_alliance"
            if tie != "none":
                edges.append((int(h), int(t), tie))
    return edges
