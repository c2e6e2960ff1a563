"""A planner's own county from CSV files (the scenario key `world.files`).

    world:
      files:
        facilities: my_county/facilities.csv      # required
        settlements: my_county/settlements.csv    # required
        travel_times: my_county/travel_times.csv  # optional: replaces the travel-time formula
        referral_edges: my_county/referral_edges.csv  # optional: replaces the default ties

Each file has a header row; column names are matched without regard to case or
surrounding spaces; other columns are ignored (a name close to a known one is reported
as a likely misspelling). Blank lines and lines whose first cell starts with `#` are
skipped. Text is UTF-8 (with or without a BOM) or GB18030/GBK, as Chinese Excel saves it.

facilities.csv, one row per facility:
    id, name                     text; ids are unique across both files
    tier                         village | township | county | tertiary
    longitude, latitude          degrees (WGS-84 or GCJ-02: the difference does not matter here);
                                 or x_km, y_km for positions in km on a plane (both files alike)
    outpatient_capacity_per_day  visits a day; blank: the scenario's providers.outpatient_capacity
                                 per 1,000 residents the facility serves
    beds                         beds; blank: the scenario's providers.beds per 1,000 residents served
    quality (optional)           0-1; blank: the scenario's providers.quality of the tier
    capability (optional)        0-3, the highest severity treated; blank: providers.capability
    medical_community (optional) true/false; blank: true except for tertiary hospitals
    township (optional)          the township a village clinic or township centre serves
    grade (optional)             hospital grade: ungraded | grade_1 | grade_2 | grade_3 (or
                                 未定级 | 一级 | 二级 | 三级); blank: by tier (village ungraded,
                                 township grade_1, county grade_2, tertiary grade_3).
                                 Insurance terms follow the grade
    place (optional)             county | pooling_area | province | out_of_province: where it is
                                 for the insurance fund; blank: county inside the county,
                                 pooling_area outside it (province and out_of_province are 异地)
A county hospital is inside the county, a tertiary hospital outside it. The first county
hospital is the county seat and leads the medical community. A township centre without a
township value is a township of its own (named by its id); a village clinic without one
belongs to the township of the nearest township centre.

settlements.csv, one row per village or community:
    id, name                     text
    population                   residents (a whole number)
    share_60_plus                share aged 60+, 0-0.95
    share_employee (optional)    share in employee insurance, 0-1; blank: the scenario's
                                 population.employee_share
    longitude, latitude          (or x_km, y_km)
    township (optional)          blank: the township of the nearest township centre
The county's population is the sum of the settlements'. The scenario's `world.population`
must equal it (checked): the run's header, manifest, figures and reports read it. The
other sizes of a synthetic county (townships, villages_per_township, county_radius_km,
county_hospitals, tertiary) are not used.

Travel time from a settlement to a facility, without a travel_times file:
    inside the county:  minutes = 60 x d(settlement, facility) x road_factor / speed_rural_kmh
    tertiary hospital:  minutes = 60 x [d(settlement, seat) x road_factor / speed_rural_kmh
                                        + d(seat, hospital) x road_factor / speed_highway_kmh]
with d the great-circle distance in km (haversine, Earth radius 6,371 km) for longitude/
latitude, the straight-line distance for x_km/y_km; `seat` the first county hospital;
road_factor and the speeds from the scenario's `world`; at least 5 minutes (from a
travel_times file too).

travel_times.csv (settlement_id, facility_id, minutes) replaces that formula: only the
pairs it lists are reachable, and "nearest" below means quickest.

Choice sets, as for a synthetic county: a settlement's own village clinic (the nearest in
its township), its township's centre, the nearest other township centre, every county
hospital and every tertiary hospital it can reach.

Referral ties, without a referral_edges file: a member village clinic -> its township's
centre (if a member) -> the first county hospital that is a member (kind
medical_community); every county hospital -> every tertiary hospital, nearest first
(kind referral). referral_edges.csv (from_id, to_id, optional kind: medical_community,
specialist_alliance, telemedicine, referral; blank: referral) replaces them. A case beyond
a facility's capability goes along its strongest upward tie (medical_community, then
specialist_alliance, then telemedicine, then referral; among ties of one kind the lowest
tier above, then the nearest, then the first listed); a facility with no upward tie sends
it to the nearest county hospital (a hospital: the nearest tertiary hospital). What
each kind of tie does is listed in `sim.county.routing.TIES`.

Every problem in the files is reported at once as a `ScenarioError` naming file, line
and column, before anything runs.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from sim.scenario.county_files import KINDS, County, read_county
from sim.county.world import COUNTY, TERTIARY, TOWNSHIP, VILLAGE, World, assemble
from sim.county.routing import distance_of
from sim.scenario.problems import ScenarioError
from sim.scenario.schema import GRADES, PLACES, TIERS
from sim.scenario.schema import World as WorldSpec

__all__ = ["KINDS", "County", "read_county", "load_world", "build", "default_edges",
           "write_world_csv"]

# ----------------------------------------------------------------- building

def load_world(spec: WorldSpec) -> World:
    """Build the county of a scenario's `world.files`; raise ScenarioError listing every problem."""
    county, problems = read_county(spec)
    if problems or county is None:
        raise ScenarioError(problems)
    return build(county, spec)


def build(county: County, spec: WorldSpec) -> World:
    """Assemble a checked county into a World (its graph, and the routes compiled from it)."""
    dist = distance_of(county.coordinates)
    tier = np.array(county.fac_tier)
    names, fac_township, set_township = townships(county, dist)
    fac_rows = [(county.fac_id[f], county.fac_name[f], int(tier[f]), float(county.fac_xy[f, 0]),
                 float(county.fac_xy[f, 1]), int(fac_township[f]), bool(tier[f] != TERTIARY),
                 bool(county.fac_member[f])) for f in range(len(tier))]
    seat = county.fac_xy[np.flatnonzero(tier == COUNTY)[0]]
    edges = county.edges if county.edges is not None else default_edges(county, fac_township, dist)
    supplied = {"capacity": county.fac_capacity, "beds": county.fac_beds, "quality": county.fac_quality,
                "capability": county.fac_capability}
    return assemble(fac_rows, county.set_id, county.set_name, county.set_population, county.set_xy, set_township,
                    spec, tertiary_km=dist(county.fac_xy[tier == TERTIARY], seat), travel=county.travel,
                    referral_edges=edges, set_share_60_plus=county.set_share_60_plus,
                    set_share_employee=county.set_share_employee, coordinates=county.coordinates,
                    supplied=supplied, township_names=names, labels=labels(county))


def labels(county: County) -> dict[str, dict]:
    """Grade and place of the facilities whose rows give them (node attributes; the rest default)."""
    out: dict[str, dict] = {}
    for fid, grade, place in zip(county.fac_id, county.fac_grade, county.fac_place):
        attrs = {k: v for k, v in (("grade", grade), ("place", place)) if v}
        if attrs:
            out[fid] = attrs
    return out


def townships(county: County, dist) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Township names (numbered in the order of their centres in facilities.csv) and the township
    number of each facility and settlement (unnamed: the township of the nearest centre)."""
    tier = np.array(county.fac_tier)
    centres = np.flatnonzero(tier == TOWNSHIP)
    names = [county.fac_township[c] or county.fac_id[c] for c in centres]
    number = {name: t for t, name in enumerate(names)}

    def township_of(label: str | None, xy: np.ndarray) -> int:
        if label is not None:
            return number[label]
        if not len(centres):
            return -1
        return int(np.argmin(dist(county.fac_xy[centres], xy)))

    fac_township = np.full(len(tier), -1, dtype=np.int32)
    for f in np.flatnonzero((tier == VILLAGE) | (tier == TOWNSHIP)):
        label = county.fac_township[f] if tier[f] == VILLAGE else names[int(np.flatnonzero(centres == f)[0])]
        fac_township[f] = township_of(label, county.fac_xy[f])
    set_township = np.array([township_of(label, county.set_xy[s]) for s, label in enumerate(county.set_township)],
                            dtype=np.int32)
    return names, fac_township, set_township


def default_edges(county: County, fac_township: np.ndarray, dist) -> list[tuple[int, int, str]]:
    """Referral ties from medical-community membership (see the module docstring)."""
    tier = np.array(county.fac_tier)
    member = np.array(county.fac_member, dtype=bool)
    centre_of = {int(fac_township[c]): int(c) for c in np.flatnonzero(tier == TOWNSHIP)}
    leads = np.flatnonzero((tier == COUNTY) & member)
    edges: list[tuple[int, int, str]] = []
    for v in np.flatnonzero((tier == VILLAGE) & member):
        c = centre_of.get(int(fac_township[v]))
        if c is not None and member[c]:
            edges.append((int(v), c, "medical_community"))
    if len(leads):
        for c in np.flatnonzero((tier == TOWNSHIP) & member):
            edges.append((int(c), int(leads[0]), "medical_community"))
    tertiary = np.flatnonzero(tier == TERTIARY)
    for h in np.flatnonzero(tier == COUNTY):
        order = tertiary[np.argsort(dist(county.fac_xy[tertiary], county.fac_xy[h]), kind="stable")]
        edges += [(int(h), int(t), "referral") for t in order]
    return edges


# ------------------------------------------------------------------ writing

def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else repr(float(value))  # repr: read back to the same number
    return str(value)


def _write(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])


def write_world_csv(world: World, folder: str | Path, share_60_plus: float | None = None) -> dict[str, Path]:
    """Write a county as facilities.csv, settlements.csv, travel_times.csv and referral_edges.csv.

    Read back (with the same road factor and speeds) it gives the same county: the same
    choice sets, travel minutes and referral ties. A synthetic county has no per-settlement
    ageing: pass the scenario's `population.share_60_plus`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    share_60 = world.set_share_60_plus
    if share_60 is None:
        if share_60_plus is None:
            raise ValueError("this county has no per-settlement share aged 60+: pass share_60_plus "
                             "(the scenario's population.share_60_plus)")
        share_60 = np.full(len(world.set_id), float(share_60_plus))
    xy = ["longitude", "latitude"] if world.coordinates == "lonlat" else ["x_km", "y_km"]

    def town(t: int) -> str | None:
        if t < 0:
            return None
        return world.township_names[t] if world.township_names else f"township {t}"

    def column(values: np.ndarray | None, f: int):
        return None if values is None else float(values[f])

    paths = {name: folder / f"{name}.csv" for name in ("facilities", "settlements", "travel_times", "referral_edges")}
    _write(paths["facilities"],
           ["id", "name", "tier", *xy, "outpatient_capacity_per_day", "beds", "quality", "capability",
            "medical_community", "township", "grade", "place"],
           ([world.fac_id[f], world.fac_name[f], TIERS[world.fac_tier[f]], float(world.fac_xy[f, 0]),
             float(world.fac_xy[f, 1]), column(world.fac_capacity, f), column(world.fac_beds, f),
             column(world.fac_quality, f), column(world.fac_capability, f),
             bool(world.fac_medical_community[f]),
             town(int(world.fac_township[f])) if world.fac_tier[f] in (VILLAGE, TOWNSHIP) else None,
             GRADES[world.fac_grade[f]], PLACES[world.fac_place[f]]]
            for f in range(world.n_facilities)))
    employee = world.set_share_employee
    _write(paths["settlements"],
           ["id", "name", "population", "share_60_plus", *(["share_employee"] if employee is not None else []),
            *xy, "township"],
           ([world.set_id[s], world.set_name[s], int(world.set_population[s]), float(share_60[s]),
             *([float(employee[s])] if employee is not None else []), float(world.set_xy[s, 0]),
             float(world.set_xy[s, 1]), town(int(world.set_township[s]))]
            for s in range(len(world.set_id))))
    _write(paths["travel_times"], ["settlement_id", "facility_id", "minutes"],
           ([world.set_id[s], world.fac_id[f], float(world.travel_minutes[s, k])]
            for s, k in zip(*np.nonzero(world.choice >= 0)) for f in [int(world.choice[s, k])]))
    _write(paths["referral_edges"], ["from_id", "to_id", "kind"],
           ([a, b, data.get("tie", "referral")] for fid in world.fac_id
            for a, b, data in world.graph.out_edges(fid, data=True) if data.get("kind") == "referral"))
    return paths
