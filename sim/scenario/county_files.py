"""Reading and checking a planner's county CSV files (formats: `sim.county.csv_county`).

`read_county(spec)` reads facilities.csv, settlements.csv and the optional travel_times.csv and
referral_edges.csv, and returns a `County` (the validated contents) or every problem at once,
each naming file, line and column. Building the World from a County is `sim.county.csv_county`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from sim.scenario.csv_table import KM, LONLAT, WHOLE_FILE, Row, Table, read_table
from sim.scenario.problems import Problem
from sim.scenario.schema import GRADES, PLACES, TIE_KINDS, TIERS
from sim.scenario.base import GRADE_NAMES_ZH
from sim.scenario.schema import World as WorldSpec

MAX_MINUTES = 24 * 60.0        # beyond a day's travel a facility is no option for daily care
MAX_SHARE_60 = 0.95            # leaves room for ages 0-59
VILLAGE, TOWNSHIP, COUNTY, TERTIARY = range(len(TIERS))
KINDS = TIE_KINDS              # referral_edges.csv kinds: the tie kinds of sim.county.routing.TIES
COORDINATE_NAMES = {LONLAT: "lonlat", KM: "km"}

FACILITY_COLUMNS = ("id", "name", "tier", "outpatient_capacity_per_day", "beds")
FACILITY_OPTIONAL = ("quality", "capability", "medical_community", "township", "grade", "place")
SETTLEMENT_COLUMNS = ("id", "name", "population", "share_60_plus")
SETTLEMENT_OPTIONAL = ("share_employee", "township")
TRAVEL_COLUMNS = ("settlement_id", "facility_id", "minutes")
EDGE_COLUMNS = ("from_id", "to_id")
EDGE_OPTIONAL = ("kind",)

# --------------------------------------------------------------------- reading

def coordinate_columns(table: Table, problems: list[Problem]) -> tuple[str, str] | None:
    """The coordinate pair a table uses (longitude/latitude or x_km/y_km)."""
    for pair in (LONLAT, KM):
        if all(table.has(c) for c in pair):
            return pair
    missing = [c for c in LONLAT if not table.has(c)]
    problems.append(Problem(table.file, table.header_line, missing[0],
                            f"missing column; allowed: longitude and latitude in degrees (or x_km and y_km); "
                            f"the header has: {', '.join(table.columns)}"))
    return None


def _coordinate(row: Row, pair: tuple[str, str]) -> tuple[float | None, float | None]:
    if pair == LONLAT:
        return (row.number("longitude", -180, 180, unit="degrees"),
                row.number("latitude", -90, 90, unit="degrees"))
    return row.number("x_km", -20_000, 20_000, unit="km"), row.number("y_km", -20_000, 20_000, unit="km")


# ---------------------------------------------------------------- the county

@dataclass
class County:
    """The validated contents of a county's CSV files, ready to assemble."""

    coordinates: str
    fac_id: list[str]
    fac_name: list[str]
    fac_tier: list[int]
    fac_xy: np.ndarray
    fac_capacity: np.ndarray
    fac_beds: np.ndarray
    fac_quality: np.ndarray
    fac_capability: np.ndarray
    fac_member: list[bool]
    fac_township: list[str | None]
    fac_grade: list[str | None]     # a name in GRADES; None: the tier's default grade
    fac_place: list[str | None]     # a name in PLACES; None: county (in county) or pooling_area
    set_id: list[str]
    set_name: list[str]
    set_population: np.ndarray
    set_share_60_plus: np.ndarray
    set_share_employee: np.ndarray | None
    set_xy: np.ndarray
    set_township: list[str | None]
    travel: dict[tuple[int, int], float] | None
    edges: list[tuple[int, int, str]] | None


def read_county(spec: WorldSpec) -> tuple[County | None, list[Problem]]:
    """Read and check a county's CSV files; the county is None when there are problems."""
    files = spec.files
    if files is None:
        raise ValueError("the scenario's world has no files (world.files)")
    problems: list[Problem] = []
    fac_table = read_table(files.facilities, FACILITY_COLUMNS, FACILITY_OPTIONAL, problems, coordinates=True)
    set_table = read_table(files.settlements, SETTLEMENT_COLUMNS, SETTLEMENT_OPTIONAL, problems, coordinates=True)
    fac_pair = coordinate_columns(fac_table, problems) if fac_table else None
    set_pair = coordinate_columns(set_table, problems) if set_table else None
    if fac_pair and set_pair and fac_pair != set_pair:
        problems.append(Problem(set_table.file, set_table.header_line, set_pair[0],
                                f"this file gives {' and '.join(set_pair)} but {fac_table.file} gives "
                                f"{' and '.join(fac_pair)}; allowed: the same kind of coordinates in both"))
    fac = _read_facilities(fac_table, fac_pair, problems) if fac_table and fac_pair else None
    sets = _read_settlements(set_table, set_pair, fac, problems) if set_table and set_pair else None
    if fac is not None and sets is not None:
        _check_townships(fac, sets, problems)
    if sets is not None and not any(p.file == sets["file"] for p in problems):
        total = sum(sets["population"])
        if total != spec.population:
            problems.append(Problem(sets["file"], None, "population",
                                    f"the settlements' populations sum to {total:,} but the scenario's "
                                    f"world.population is {spec.population:,}; allowed: the same number (set "
                                    f"world.population: {total} in the scenario; for a quicker run use scale, "
                                    "e.g. --set scale=10)"))
    travel = edges = None
    if files.travel_times is not None:
        table = read_table(files.travel_times, TRAVEL_COLUMNS, (), problems)
        if table is not None:
            travel = _read_travel(table, fac, sets, problems)
    if files.referral_edges is not None:
        table = read_table(files.referral_edges, EDGE_COLUMNS, EDGE_OPTIONAL, problems)
        if table is not None:
            edges = _read_edges(table, fac, sets, problems)
    if problems or fac is None or sets is None or fac_pair is None:
        return None, problems
    return County(
        coordinates=COORDINATE_NAMES[fac_pair], fac_id=fac["id"], fac_name=fac["name"], fac_tier=fac["tier"],
        fac_xy=np.array(fac["xy"], dtype=np.float64).reshape(-1, 2),
        fac_capacity=np.array(fac["capacity"], dtype=np.float64), fac_beds=np.array(fac["beds"], dtype=np.float64),
        fac_quality=np.array(fac["quality"], dtype=np.float64),
        fac_capability=np.array(fac["capability"], dtype=np.float64), fac_member=fac["member"],
        fac_grade=fac["grade"], fac_place=fac["place"],
        fac_township=fac["township"], set_id=sets["id"], set_name=sets["name"],
        set_population=np.array(sets["population"], dtype=np.int64),
        set_share_60_plus=np.array(sets["share_60_plus"], dtype=np.float64),
        set_share_employee=(np.array(sets["share_employee"], dtype=np.float64)
                            if set_table.has("share_employee") else None),
        set_xy=np.array(sets["xy"], dtype=np.float64).reshape(-1, 2), set_township=sets["township"],
        travel=travel, edges=edges), problems


def _nan(x: float | None) -> float:
    return np.nan if x is None else x


def _read_facilities(table: Table, pair: tuple[str, str], problems: list[Problem]) -> dict:
    """Facility rows; every row with an id is kept (for cross-file checks) even if it has problems."""
    out: dict = {k: [] for k in ("id", "name", "tier", "xy", "capacity", "beds", "quality", "capability",
                                 "member", "township", "grade", "place", "line")}
    first: dict[str, int] = {}
    tiers_seen: set[int] = set()
    for line, cells in table.rows:
        row = Row(table, line, cells, problems)
        fid = row.text("id")
        name = row.text("name")
        tier_name = row.one_of("tier", TIERS)
        x, y = _coordinate(row, pair)
        capacity = row.number("outpatient_capacity_per_day", 0, required=False, unit="visits/day")
        beds = row.number("beds", 0, required=False, whole=True, unit="beds")
        quality = row.number("quality", 0, 1, required=False)
        capability = row.number("capability", 0, 3, required=False, unit="(0 minor ... 3 critical)")
        member = row.flag("medical_community")
        township = row.text("township", required=False)
        grade = row.one_of("grade", GRADES + tuple(GRADE_NAMES_ZH)) if row.cells.get("grade") else None
        place = row.one_of("place", PLACES) if row.cells.get("place") else None
        if fid is not None and fid in first:
            row.problem("id", f"duplicate id {fid!r} (first at line {first[fid]}); allowed: each id once")
            continue
        if fid is None:
            continue
        first[fid] = line
        tier = TIERS.index(tier_name) if tier_name else -1
        if tier >= 0:
            tiers_seen.add(tier)
        out["id"].append(fid)
        out["name"].append(name or fid)
        out["tier"].append(tier)
        out["xy"].append((_nan(x), _nan(y)))
        out["capacity"].append(_nan(capacity))
        out["beds"].append(_nan(beds))
        out["quality"].append(_nan(quality))
        out["capability"].append(_nan(capability))
        out["member"].append(member if member is not None else tier != TERTIARY)
        out["township"].append(township if tier in (VILLAGE, TOWNSHIP) else None)
        out["grade"].append(GRADE_NAMES_ZH.get(grade, grade) if grade else None)
        out["place"].append(place)
        out["line"].append(line)
    tier_problem = any(p.file == table.file and p.path == "tier" for p in problems)
    for tier, what in ((COUNTY, "county hospital"), (TERTIARY, "tertiary hospital")):
        if tier not in tiers_seen and not tier_problem:
            where = "inside the county; the first is the county seat" if tier == COUNTY else \
                "outside the county, where residents go for severe illness"
            problems.append(Problem(table.file, None, "tier", f"no {what}; allowed: at least one row with tier "
                                                              f"{TIERS[tier]} ({where})"))
    out["index"] = {fid: k for k, fid in enumerate(out["id"])}
    out["file"] = table.file
    return out


def _read_settlements(table: Table, pair: tuple[str, str], fac: dict | None, problems: list[Problem]) -> dict:
    out: dict = {k: [] for k in ("id", "name", "population", "share_60_plus", "share_employee", "xy",
                                 "township", "line")}
    first: dict[str, int] = {}
    fac_line = dict(zip(fac["id"], fac["line"])) if fac else {}
    for line, cells in table.rows:
        row = Row(table, line, cells, problems)
        sid = row.text("id")
        name = row.text("name")
        population = row.number("population", 0, whole=True, unit="residents")
        share_60 = row.number("share_60_plus", 0, MAX_SHARE_60)
        share_emp = row.number("share_employee", 0, 1, required=False)
        x, y = _coordinate(row, pair)
        township = row.text("township", required=False)
        if sid is None:
            continue
        if sid in first:
            row.problem("id", f"duplicate id {sid!r} (first at line {first[sid]}); allowed: each id once")
            continue
        if sid in fac_line:
            row.problem("id", f"id {sid!r} is also a facility id ({fac['file']} line {fac_line[sid]}); "
                              "allowed: ids unique across both files")
        first[sid] = line
        out["id"].append(sid)
        out["name"].append(name or sid)
        out["population"].append(int(population or 0))
        out["share_60_plus"].append(_nan(share_60))
        out["share_employee"].append(_nan(share_emp))
        out["xy"].append((_nan(x), _nan(y)))
        out["township"].append(township)
        out["line"].append(line)
    if not table.rows:
        problems.append(Problem(table.file, None, WHOLE_FILE, "no settlements; allowed: at least one row"))
    elif out["id"] and sum(out["population"]) == 0 and not any(p.file == table.file for p in problems):
        problems.append(Problem(table.file, None, "population", "every settlement has population 0; allowed: "
                                                                "residents in at least one"))
    out["index"] = {sid: k for k, sid in enumerate(out["id"])}
    out["file"] = table.file
    return out


def _check_townships(fac: dict, sets: dict, problems: list[Problem]) -> None:
    """Each township has at most one centre; clinics and settlements name townships that have one."""
    centre_line: dict[str, tuple[str, int]] = {}
    for fid, tier, town, line in zip(fac["id"], fac["tier"], fac["township"], fac["line"]):
        if tier != TOWNSHIP:
            continue
        label = town or fid
        if label in centre_line:
            other, other_line = centre_line[label]
            problems.append(Problem(fac["file"], line, "township",
                                    f"township {label!r} already has a township centre ({other}, line {other_line}); "
                                    "allowed: one centre per township (give this centre a township name of its "
                                    "own and use it for the settlements it serves)"))
        else:
            centre_line[label] = (fid, line)
    labels = sorted(centre_line)

    def unknown(file: str, line: int, town: str) -> None:
        close = difflib.get_close_matches(town, labels, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        listed = ", ".join(labels[:12]) + (" ..." if len(labels) > 12 else "")
        problems.append(Problem(file, line, "township", f"no township centre serves township {town!r}; {hint}"
                                                        f"allowed: a township of a centre in {fac['file']} "
                                                        f"({listed or 'there is none'})"))

    for tier, town, line in zip(fac["tier"], fac["township"], fac["line"]):
        if tier == VILLAGE and town is not None and town not in centre_line:
            unknown(fac["file"], line, town)
    for town, line in zip(sets["township"], sets["line"]):
        if town is not None and town not in centre_line:
            unknown(sets["file"], line, town)


def _read_travel(table: Table, fac: dict | None, sets: dict | None,
                 problems: list[Problem]) -> dict[tuple[int, int], float]:
    travel: dict[tuple[int, int], float] = {}
    first: dict[tuple[int, int], int] = {}
    reaches_county: set[int] = set()
    fac_index = fac["index"] if fac else {}
    set_index = sets["index"] if sets else {}
    for line, cells in table.rows:
        row = Row(table, line, cells, problems)
        sid = row.text("settlement_id")
        fid = row.text("facility_id")
        minutes = row.number("minutes", 0, MAX_MINUTES, unit="minutes")
        s = set_index.get(sid) if sid is not None else None
        f = fac_index.get(fid) if fid is not None else None
        if sid is not None and s is None and sets is not None:
            is_facility = " (it is a facility id: the columns may be swapped)" if sid in fac_index else ""
            row.problem("settlement_id", f"no settlement {sid!r} in {sets['file']}{is_facility}; allowed: "
                                         "a settlement id")
        if fid is not None and f is None and fac is not None:
            row.problem("facility_id", f"no facility {fid!r} in {fac['file']}; allowed: a facility id")
        if s is None or f is None:
            continue
        if (s, f) in first:
            row.problem("facility_id", f"a second time for settlement {sid!r} (first at line {first[(s, f)]}); "
                                       "allowed: one row per settlement and facility")
            continue
        first[(s, f)] = line
        if fac["tier"][f] != TERTIARY:  # (an unreadable tier, -1, is reported already)
            reaches_county.add(s)
        if minutes is not None:
            travel[(s, f)] = minutes
    if sets is not None and fac is not None:
        for s, (sid, line) in enumerate(zip(sets["id"], sets["line"])):
            if s not in reaches_county:
                problems.append(Problem(sets["file"], line, "id",
                                        f"settlement {sid!r} can reach no facility in the county: {table.file} "
                                        "lists no village clinic, township centre or county hospital for it; "
                                        "allowed: at least one such row (a travel-time file lists every "
                                        "reachable pair)"))
    return travel


def _read_edges(table: Table, fac: dict | None, sets: dict | None,
                problems: list[Problem]) -> list[tuple[int, int, str]]:
    edges: list[tuple[int, int, str]] = []
    first: dict[tuple[int, int], int] = {}
    fac_index = fac["index"] if fac else {}
    set_index = sets["index"] if sets else {}
    for line, cells in table.rows:
        row = Row(table, line, cells, problems)
        ends = []
        for column in ("from_id", "to_id"):
            fid = row.text(column)
            f = fac_index.get(fid) if fid is not None else None
            if fid is not None and f is None and fac is not None:
                what = " (it is a settlement: referral ties join facilities)" if fid in set_index else ""
                row.problem(column, f"no facility {fid!r} in {fac['file']}{what}; allowed: a facility id")
            ends.append(f)
        kind = row.one_of("kind", KINDS) if row.cells.get("kind") else "referral"
        a, b = ends
        if a is None or b is None:
            continue
        if a == b:
            row.problem("to_id", f"a facility referring to itself ({fac['id'][a]!r}); allowed: another facility")
            continue
        if (a, b) in first:
            row.problem("to_id", f"the same tie again (first at line {first[(a, b)]}); allowed: each tie once")
            continue
        first[(a, b)] = line
        if kind is not None:
            edges.append((a, b, kind))
    return edges


def check_world_files(spec: WorldSpec) -> list[Problem]:
    """Every problem in a scenario's county files (empty when they are fine); builds nothing."""
    return read_county(spec)[1]
