"""Routes compiled from the county's graph: where residents may go, and where a case is referred.

The graph (`World.graph`, a `networkx.DiGraph`) is the one source of routing. Edit it and
recompile (`world.with_graph(edited)`) and the simulation follows the edit.

Nodes
    facility    kind="facility", index (0..F-1, the row in every `fac_*` array), tier (a name
                in TIERS), name, pos (x, y), township (-1: none), in_county, medical_community;
                optional grade (in GRADES; default by tier: ungraded, grade_1, grade_2, grade_3)
                and place (in PLACES; default county when in_county, else pooling_area);
                CSV counties also capacity, beds, quality, capability (NaN: not supplied)
    settlement  kind="settlement", index (0..S-1), name, population, pos, township;
                CSV counties also share_60_plus and share_employee
Edges
    access      settlement -> facility, kind="access", minutes: a facility its residents may
                choose and the travel time to it
    referral    facility -> facility, kind="referral", tie: one of TIES below
Graph attributes
    coordinates "km" (x, y on a plane) or "lonlat" (degrees); township_names (CSV counties)

`compile_routes(graph)` turns these into the arrays the engine reads (`Routes`). Rules:

Choice sets. A settlement's options are its access edges, laid out in columns:
    0  its own village clinic (family-doctor team): the quickest village clinic of its own
       township it has an access edge to (else the quickest village clinic at all)
    1  its own township centre: the centre of its township, if it has an access edge to it
    then the other village clinics it may choose, quickest first (none in a generated county)
    then the other township centres, quickest first
    then one column per county hospital and one per tertiary hospital, in facility order
Columns a settlement has no option for hold -1 (travel minutes 0). Travel minutes are at least
MIN_TRAVEL_MINUTES. Among equally quick options the nearer (straight line), then the
first facility, comes first.

Catchments. A village clinic or township centre is sized for the residents whose own
clinic or centre it is; a county hospital for the county's residents shared among the county
hospitals; a tertiary hospital for the whole county.

Referral targets. A case beyond a facility's capability goes along one of its upward
referral ties (to a higher tier; ties to the same or a lower tier carry no upward referrals):
the strongest kind of tie first (the order of TIES), then the lowest tier, then the nearest,
then the first listed. A facility without an upward tie sends the case where a patient would
go on their own: a village clinic or township centre to the nearest county hospital (the
nearest tertiary hospital if there is none), a county hospital to the nearest tertiary one.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.scenario.schema import TIE_KINDS, TIERS

VILLAGE, TOWNSHIP, COUNTY, TERTIARY = range(4)
MIN_TRAVEL_MINUTES = 5.0
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)

# Severity levels (on the 0-3 capability scale) a facility gains from a telemedicine tie to a
# higher tier. Remote consultations with the higher hospital's specialists let the lower one
# treat some cases just above what it could alone (NHC/SATCM, 远程医疗服务管理规范（试行）, 2018:
# telemedicine is a consultation between institutions, the patient stays where they are). No
# study we know measures the gain on this scale: 0.1 is an assumption, the size of the
# scenario's default medical_community.telemedicine_capability at township centres, so a tie and
# that lever are on one scale. Calibrate before reading results off it.
TELEMEDICINE_CAPABILITY_GAIN = 0.1


@dataclass(frozen=True)
class Tie:
    """A kind of referral tie between two facilities and what it does."""

    kind: str
    effect: str                 # for planners: what the tie changes in the simulation
    capability_gain: float = 0.0  # severity levels the lower facility gains (fac_capability_gain)


# The kinds of referral tie, strongest first: a facility refers along its strongest upward tie.
TIES: dict[str, Tie] = {tie.kind: tie for tie in (
    Tie("medical_community",
        "县域医共体: one organisation from village clinic to county hospital. The first choice for "
        "referrals: a case goes up the community's chain before any other tie."),
    Tie("specialist_alliance",
        "专科联盟: a hospital's departments allied with a higher hospital's. Referrals go there "
        "when the facility has no medical-community tie upward."),
    Tie("telemedicine",
        "远程医疗: remote consultations with a higher hospital. The lower facility treats slightly "
        f"more severe cases (+{TELEMEDICINE_CAPABILITY_GAIN} capability); referrals go there only "
        "when it has no medical-community or alliance tie upward.",
        capability_gain=TELEMEDICINE_CAPABILITY_GAIN),
    Tie("referral",
        "an agreed referral path without closer cooperation: used when no stronger tie leads up."),
)}
assert tuple(TIES) == TIE_KINDS, "TIES must describe the schema's TIE_KINDS, strongest first"


@dataclass
class Routes:
    """Every routing array the engine reads, compiled from a county graph.

    Facilities (F) and settlements (S) are indexed by their nodes' `index`.
    """

    choice: np.ndarray               # (S, K) int32 facility options per settlement, -1 padding (columns above)
    travel_minutes: np.ndarray       # (S, K) float32 minutes to each option, 0 where none
    own_village_clinic: np.ndarray   # (S,) int32 the settlement's family-doctor team, -1 none
    own_township_centre: np.ndarray  # (S,) int32 the settlement's township health centre, -1 none
    fac_catchment: np.ndarray        # (F,) float64 residents a facility's capacity is sized for
    referral_up: np.ndarray          # (F,) int32 where a case beyond capability is sent, -1 none
    referral_targets: np.ndarray     # (F, R) int32 every upward tie's target, best first, -1 padding
    referral_tie: np.ndarray         # (F,) int8 index in TIE_KINDS of the tie to referral_up, -1 none (fallback)
    fac_capability_gain: np.ndarray  # (F,) float64 capability gained from ties (telemedicine)


def planar_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Straight-line km between points on the synthetic county's plane."""
    return np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1)


def great_circle_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle km between (longitude, latitude) points in degrees (haversine)."""
    lon1, lat1 = np.radians(np.moveaxis(np.asarray(a, dtype=np.float64), -1, 0))
    lon2, lat2 = np.radians(np.moveaxis(np.asarray(b, dtype=np.float64), -1, 0))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def distance_of(coordinates: str):
    """The km function of a coordinate system ("km" or "lonlat")."""
    return great_circle_km if coordinates == "lonlat" else planar_km


def nodes_of(graph: nx.DiGraph, kind: str) -> list:
    """The graph's nodes of one kind ("facility" or "settlement") in `index` order (checked 0..n-1)."""
    found = sorted((data["index"], node) for node, data in graph.nodes(data=True) if data.get("kind") == kind)
    if [i for i, _ in found] != list(range(len(found))):
        raise ValueError(f"the graph's {kind} nodes must have indices 0..{len(found) - 1}, each once")
    return [node for _, node in found]


def compile_routes(graph: nx.DiGraph) -> Routes:
    """Every routing array, from the graph alone (rules in the module docstring)."""
    facilities, settlements = nodes_of(graph, "facility"), nodes_of(graph, "settlement")
    nodes = graph.nodes
    tier = np.array([TIERS.index(nodes[f]["tier"]) for f in facilities], dtype=np.int8)
    fac_xy = np.array([nodes[f]["pos"] for f in facilities], dtype=np.float64).reshape(-1, 2)
    dist = distance_of(graph.graph.get("coordinates", "km"))
    index = {f: i for i, f in enumerate(facilities)}
    choice, minutes = choice_sets(graph, settlements, index, tier, fac_xy, dist)
    own_v, own_c = choice[:, 0].copy(), choice[:, 1].copy()
    population = np.array([nodes[s]["population"] for s in settlements], dtype=np.int64)
    targets, tie_of = _upward_ties(graph, facilities, index, tier, fac_xy, dist)
    referral_up, referral_tie = _referral_up(targets, tie_of, tier, fac_xy, dist)
    return Routes(choice=choice, travel_minutes=minutes, own_village_clinic=own_v, own_township_centre=own_c,
                  fac_catchment=catchments(tier, own_v, own_c, population), referral_up=referral_up,
                  referral_targets=_padded(targets), referral_tie=referral_tie,
                  fac_capability_gain=capability_gains(tie_of))


def choice_sets(graph: nx.DiGraph, settlements: list, index: dict, tier: np.ndarray, fac_xy: np.ndarray,
                dist) -> tuple[np.ndarray, np.ndarray]:
    """(S, K) options and minutes from the access edges, in the columns of the module docstring."""
    nodes = graph.nodes
    fac_town = np.full(len(index), -1, dtype=np.int64)
    for f, i in index.items():
        fac_town[i] = nodes[f].get("township", -1)
    options = [_access(graph, s, index) for s in settlements]
    own_village, own_centre, extra_villages, extra_centres = [], [], [], []
    for s, opts in zip(settlements, options):
        pos, town = np.asarray(nodes[s]["pos"], dtype=np.float64), nodes[s].get("township", -1)
        villages = _quickest_first([(f, m) for f, m in opts if tier[f] == VILLAGE], fac_xy, pos, dist)
        centres = _quickest_first([(f, m) for f, m in opts if tier[f] == TOWNSHIP], fac_xy, pos, dist)
        own = next((v for v in villages if fac_town[v[0]] == town), villages[0] if villages else None)
        centre = next((c for c in centres if fac_town[c[0]] == town), None)
        own_village.append(own)
        own_centre.append(centre)
        extra_villages.append([v for v in villages if v is not own])
        extra_centres.append([c for c in centres if c is not centre])
    hospitals = np.r_[np.flatnonzero(tier == COUNTY), np.flatnonzero(tier == TERTIARY)]
    n_v = max(map(len, extra_villages), default=0)
    n_c = max(map(len, extra_centres), default=0)
    choice = np.full((len(settlements), 2 + n_v + n_c + len(hospitals)), -1, dtype=np.int32)
    minutes = np.zeros(choice.shape, dtype=np.float32)
    column_of_hospital = {int(h): 2 + n_v + n_c + k for k, h in enumerate(hospitals)}
    for s, opts in enumerate(options):
        placed = [(0, own_village[s]), (1, own_centre[s])]
        placed += [(2 + k, v) for k, v in enumerate(extra_villages[s])]
        placed += [(2 + n_v + k, c) for k, c in enumerate(extra_centres[s])]
        placed += [(column_of_hospital[f], (f, m)) for f, m in opts if tier[f] >= COUNTY]
        for column, option in placed:
            if option is not None:
                choice[s, column], minutes[s, column] = option
    np.maximum(minutes, MIN_TRAVEL_MINUTES, out=minutes, where=choice >= 0)
    return choice, minutes


def _access(graph: nx.DiGraph, settlement, index: dict) -> list[tuple[int, float]]:
    """A settlement's access edges as (facility index, minutes)."""
    out = []
    for _, f, data in graph.out_edges(settlement, data=True):
        if data.get("kind") != "access":
            continue
        if f not in index:
            raise ValueError(f"access edge {settlement!r} -> {f!r}: access edges lead to facilities")
        if "minutes" not in data:
            raise ValueError(f"access edge {settlement!r} -> {f!r} has no minutes (the travel time)")
        out.append((index[f], float(data["minutes"])))
    return out


def _quickest_first(opts: list[tuple[int, float]], fac_xy: np.ndarray, pos: np.ndarray, dist) -> list:
    """Options by minutes, then straight-line distance, then facility order."""
    if len(opts) < 2:
        return opts
    km = dist(fac_xy[[f for f, _ in opts]], pos)
    return [opts[k] for k in sorted(range(len(opts)), key=lambda k: (np.float32(opts[k][1]), km[k], opts[k][0]))]


def catchments(tier: np.ndarray, own_village: np.ndarray, own_centre: np.ndarray,
               population: np.ndarray) -> np.ndarray:
    """Residents each facility's capacity is sized for (see the module docstring)."""
    out = np.zeros(len(tier))
    for own in (own_village, own_centre):
        np.add.at(out, own[own >= 0], population[own >= 0])
    total = float(np.sum(population))
    hospitals = tier == COUNTY
    out[hospitals] = total / max(int(hospitals.sum()), 1)
    out[tier == TERTIARY] = total
    return out


def _upward_ties(graph: nx.DiGraph, facilities: list, index: dict, tier: np.ndarray, fac_xy: np.ndarray,
                 dist) -> tuple[list[list[int]], list[list[str]]]:
    """Each facility's upward tie targets and their kinds, best first (see `rank_ties`)."""
    targets, kinds = [], []
    for a, node in enumerate(facilities):
        ups = []
        for order, (_, to, data) in enumerate(graph.out_edges(node, data=True)):
            if data.get("kind") != "referral":
                continue
            tie = data.get("tie", "referral")
            if tie not in TIES:
                raise ValueError(f"referral edge {node!r} -> {to!r} has tie {tie!r}; allowed: {', '.join(TIES)}")
            b = index.get(to)
            if b is None:
                raise ValueError(f"referral edge {node!r} -> {to!r}: referral edges join facilities")
            if tier[b] > tier[a]:
                ups.append((b, tie, order))
        km = dist(fac_xy[[b for b, _, _ in ups]], fac_xy[a]) if len(ups) > 1 else [0.0] * len(ups)
        ranked = rank_ties([(tie, int(tier[b]), float(d), order) for (b, tie, order), d in zip(ups, km)])
        targets.append([ups[k][0] for k in ranked])
        kinds.append([ups[k][1] for k in ranked])
    return targets, kinds


def rank_ties(ties: list[tuple[str, int, float, int]]) -> list[int]:
    """Positions of (kind, target tier, km, listing order) ties, best referral target first:
    the strongest kind (TIES order), then the lowest tier, the nearest, the first listed."""
    return sorted(range(len(ties)), key=lambda k: (TIE_KINDS.index(ties[k][0]), *ties[k][1:]))


def _referral_up(targets: list[list[int]], kinds: list[list[str]], tier: np.ndarray, fac_xy: np.ndarray,
                 dist) -> tuple[np.ndarray, np.ndarray]:
    """The referral target of each facility and the kind of tie it goes along (-1: fallback)."""
    up = np.array([t[0] if t else -1 for t in targets], dtype=np.int32)
    tie = np.array([TIE_KINDS.index(k[0]) if k else -1 for k in kinds], dtype=np.int8)
    hospitals, tertiary = np.flatnonzero(tier == COUNTY), np.flatnonzero(tier == TERTIARY)
    for f in np.flatnonzero((up < 0) & (tier < TERTIARY)):
        pool = hospitals if tier[f] < COUNTY and len(hospitals) else tertiary
        if len(pool):
            up[f] = int(pool[np.argmin(dist(fac_xy[pool], fac_xy[f]))])
    return up, tie


def capability_gains(kinds: list[list[str]]) -> np.ndarray:
    """Capability each facility gains from its upward ties: the largest gain among them (ties do not add up)."""
    return np.array([max((TIES[k].capability_gain for k in ks), default=0.0) for ks in kinds], dtype=np.float64)


def _padded(rows: list[list[int]]) -> np.ndarray:
    out = np.full((len(rows), max(map(len, rows), default=0) or 1), -1, dtype=np.int32)
    for f, row in enumerate(rows):
        out[f, :len(row)] = row
    return out
