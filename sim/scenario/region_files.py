"""A region's areas and shared hospitals: read from areas.csv and hospitals.csv, or generated.

areas.csv, one row per county or urban district:
    area_id, name, kind (urban | rural), pooling_area (an id of region.pooling_areas), population,
    longitude, latitude (or x_km, y_km: the area's seat);
    optional: name_zh, radius_km, centres (township or community health centres), stations_per_centre
    (village clinics or community stations), hospitals (county or district hospitals), hospitals_reached
    (ids in hospitals.csv, separated by ";": the shared hospitals its residents use; blank: those of its
    pooling area and those serving the province), employee_share, income_median, share_60_plus, source.
hospitals.csv, one row per shared (city or provincial) hospital:
    id, name, grade (grade_3 or 三级 ...), longitude, latitude (or x_km, y_km);
    optional: name_zh, pooling_area (where it stands; blank: the first), area_id (the area it stands in),
    serves (pooling_area | province: who reaches it by default), beds, outpatient_capacity_per_day,
    real (true: a real hospital; false: synthetic), source.

`region_plan(scenario)` returns a `RegionPlan` or raises `ScenarioError` listing every problem with
file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.scenario.base import GRADE_NAMES_ZH, GRADES
from sim.scenario.csv_table import KM, LONLAT, Row, Table, read_table
from sim.scenario.problems import Problem, ScenarioError

AREA_COLUMNS = ("area_id", "name", "kind", "pooling_area", "population")
AREA_OPTIONAL = ("name_zh", "radius_km", "centres", "stations_per_centre", "hospitals", "hospitals_reached",
                 "employee_share", "income_median", "share_60_plus", "source")
HOSPITAL_COLUMNS = ("id", "name", "grade")
HOSPITAL_OPTIONAL = ("name_zh", "pooling_area", "area_id", "serves", "beds", "outpatient_capacity_per_day", "real",
                     "source")
KINDS = ("urban", "rural")
# Optional areas.csv columns that set the area's population parameters.
POPULATION_COLUMNS = {"employee_share": ("population.employee_share", 0, 1),
                      "income_median": ("population.income.median", 1_000, 1_000_000),
                      "share_60_plus": ("population.share_60_plus", 0, 0.6)}


@dataclass(frozen=True)
class Area:
    """One county or urban district of a region."""

    id: str
    name: str
    kind: str                     # "urban" or "rural"
    pooling_area: str
    population: int
    xy: tuple[float, float]       # its seat, in the region's coordinates
    name_zh: str = ""
    radius_km: float | None = None
    centres: int | None = None
    stations_per_centre: int | None = None
    hospitals: int | None = None
    reached: tuple[str, ...] | None = None   # shared hospital ids (None: the default set)
    settings: dict = field(default_factory=dict)  # population overrides from optional columns

    def own_settings(self, region) -> dict:
        """The area's own parameters (dotted key paths): its row's optional columns, then its kind's
        (`region.by_kind`), then its own (`region.by_area`), the later winning."""
        return {**self.settings, **region.by_kind.get(self.kind, {}), **region.by_area.get(self.id, {})}


@dataclass(frozen=True)
class SharedHospital:
    """A city or provincial hospital the areas share."""

    id: str
    name: str
    grade: str
    pooling_area: str
    xy: tuple[float, float]
    name_zh: str = ""
    area: str | None = None
    serves: str = "pooling_area"
    beds: float | None = None
    capacity: float | None = None
    real: bool = False
    source: str = ""


@dataclass
class RegionPlan:
    """The validated areas and shared hospitals of a region."""

    coordinates: str              # "lonlat" or "km"
    areas: list[Area]
    hospitals: list[SharedHospital]

    def reached(self, area: Area) -> list[int]:
        """Indices of the shared hospitals an area's residents use, in hospitals.csv order."""
        if area.reached is not None:
            return [k for k, h in enumerate(self.hospitals) if h.id in area.reached]
        return [k for k, h in enumerate(self.hospitals)
                if h.pooling_area == area.pooling_area or h.serves == "province"]

    @property
    def population(self) -> int:
        """Residents of every area."""
        return sum(a.population for a in self.areas)


def region_plan(scenario) -> RegionPlan:
    """The scenario's region (it must have one), checked; raises ScenarioError on any problem."""
    region = scenario.region
    if region.synthetic is not None:
        return synthetic_plan(region.synthetic, [p.id for p in region.pooling_areas][0])
    problems: list[Problem] = []
    plan = read_region(region.files.areas, region.files.hospitals, region, scenario.scale, problems)
    if problems or plan is None:
        raise ScenarioError(problems)
    return plan


def read_region(areas_path: str, hospitals_path: str, region, scale: int,
                problems: list[Problem]) -> RegionPlan | None:
    """Read and check areas.csv and hospitals.csv; problems are appended."""
    pooling = {p.id: p for p in region.pooling_areas}
    area_table = read_table(areas_path, AREA_COLUMNS, AREA_OPTIONAL, problems, coordinates=True)
    hosp_table = read_table(hospitals_path, HOSPITAL_COLUMNS, HOSPITAL_OPTIONAL, problems, coordinates=True)
    if area_table is None or hosp_table is None:
        return None
    pair = _pair(area_table, problems)
    if pair is None or _pair(hosp_table, problems, pair) is None:
        return None
    areas = _read_areas(area_table, pair, pooling, scale, problems)
    hospitals = _read_hospitals(hosp_table, pair, pooling, {a.id for a in areas}, problems)
    known = {h.id for h in hospitals}
    for line, cells in area_table.rows:
        for hid in _ids(cells.get("hospitals_reached", "")):
            if hid not in known:
                problems.append(Problem(area_table.file, line, "hospitals_reached",
                                        f"no hospital {hid!r} in {hosp_table.file}; allowed: ids from its id column "
                                        f"({', '.join(sorted(known)) or 'none'})"))
    if len(areas) == len(area_table.rows):  # a row refused above would only make its pooling area short
        _check_totals(area_table, areas, region, problems)
    plan = RegionPlan("lonlat" if pair == LONLAT else "km", areas, hospitals)
    for area, (line, _) in zip(areas, area_table.rows):
        if not plan.reached(area) and not problems:
            problems.append(Problem(area_table.file, line, "hospitals_reached",
                                    "this area reaches no shared hospital; allowed: ids from "
                                    f"{hosp_table.file}, or a pooling area that has hospitals"))
    return None if problems else plan


def _pair(table: Table, problems: list[Problem], want: tuple[str, str] | None = None):
    for pair in (LONLAT, KM):
        if all(table.has(c) for c in pair):
            if want is not None and pair != want:
                problems.append(Problem(table.file, table.header_line, pair[0],
                                        f"this file gives {' and '.join(pair)}; allowed: {' and '.join(want)}, "
                                        "as in areas.csv"))
                return None
            return pair
    problems.append(Problem(table.file, table.header_line, LONLAT[0],
                            "missing column; allowed: longitude and latitude in degrees (or x_km and y_km)"))
    return None


def _ids(text: str) -> list[str]:
    return [t.strip() for t in text.split(";") if t.strip()]


def _xy(row: Row, pair: tuple[str, str]) -> tuple[float, float] | None:
    if pair == LONLAT:
        x, y = row.number("longitude", -180, 180, unit="degrees"), row.number("latitude", -90, 90, unit="degrees")
    else:
        x, y = row.number("x_km", -20_000, 20_000, unit="km"), row.number("y_km", -20_000, 20_000, unit="km")
    return None if x is None or y is None else (x, y)


def _known(row: Row, column: str, pooling: dict, required: bool = True) -> str | None:
    value = row.text(column, required)
    if value is not None and value not in pooling:
        row.problem(column, f"unknown pooling area {value!r}; allowed: {', '.join(pooling)} "
                            "(the ids in the scenario's region.pooling_areas)")
        return None
    return value


def _read_areas(table: Table, pair, pooling: dict, scale: int, problems: list[Problem]) -> list[Area]:
    out, seen = [], set()
    for line, cells in table.rows:
        row = Row(table, line, cells, problems)
        aid = row.text("area_id")
        if aid in seen:
            row.problem("area_id", f"area {aid!r} is listed twice; allowed: each area once")
        seen.add(aid)
        kind = row.one_of("kind", KINDS)
        pool = _known(row, "pooling_area", pooling)
        pop = row.number("population", max(1_000, 100 * scale), 200_000_000, whole=True, unit="residents")
        xy = _xy(row, pair)
        opt = {c: row.number(c, 1, 500, required=False, whole=c != "radius_km")
               for c in ("radius_km", "centres", "stations_per_centre", "hospitals")}
        if opt["hospitals"] is not None and opt["hospitals"] > 5:
            row.problem("hospitals", f"found {opt['hospitals']:g}; allowed: 1 to 5 county or district hospitals")
        settings = {}
        for col, (key, lo, hi) in POPULATION_COLUMNS.items():
            value = row.number(col, lo, hi, required=False)
            if value is not None:
                settings[key] = value
        if row.ok and aid and kind and pool and pop and xy:
            reached = tuple(_ids(cells.get("hospitals_reached", ""))) or None
            out.append(Area(aid, row.text("name"), kind, pool, int(pop), xy, name_zh=cells.get("name_zh", ""),
                            radius_km=opt["radius_km"], centres=_int(opt["centres"]),
                            stations_per_centre=_int(opt["stations_per_centre"]), hospitals=_int(opt["hospitals"]),
                            reached=reached, settings=settings))
    return out


def _int(x: float | None) -> int | None:
    return None if x is None else int(x)


def _read_hospitals(table: Table, pair, pooling: dict, area_ids: set[str],
                    problems: list[Problem]) -> list[SharedHospital]:
    out, seen = [], set()
    grades = tuple(GRADES) + tuple(GRADE_NAMES_ZH)
    for line, cells in table.rows:
        row = Row(table, line, cells, problems)
        hid = row.text("id")
        if hid in seen:
            row.problem("id", f"hospital {hid!r} is listed twice; allowed: each id once")
        seen.add(hid)
        grade = row.one_of("grade", grades)
        pool = _known(row, "pooling_area", pooling, required=False) or next(iter(pooling))
        area = cells.get("area_id") or None
        if area is not None and area not in area_ids:
            row.problem("area_id", f"no area {area!r} in areas.csv; allowed: an area_id from areas.csv, or blank")
        serves = row.one_of("serves", ("pooling_area", "province")) if cells.get("serves") else "pooling_area"
        beds = row.number("beds", 1, 100_000, required=False, whole=True, unit="beds")
        cap = row.number("outpatient_capacity_per_day", 1, 1_000_000, required=False, unit="visits/day")
        xy = _xy(row, pair)
        real = row.flag("real")
        if row.ok and hid and grade and xy:
            out.append(SharedHospital(hid, row.text("name"), GRADE_NAMES_ZH.get(grade, grade), pool, xy,
                                      name_zh=cells.get("name_zh", ""), area=area, serves=serves or "pooling_area",
                                      beds=beds, capacity=cap, real=bool(real), source=cells.get("source", "")))
    return out


def _check_totals(table: Table, areas: list[Area], region, problems: list[Problem]) -> None:
    """Each pooling area's declared population must be its areas' sum."""
    for pool in region.pooling_areas:
        if pool.population is None:
            continue
        mine = [a for a in areas if a.pooling_area == pool.id]
        total = sum(a.population for a in mine)
        if total != pool.population:
            lines = [line for (line, cells) in table.rows if cells.get("pooling_area") == pool.id]
            problems.append(Problem(table.file, lines[-1] if lines else table.header_line, "population",
                                    f"the areas of pooling area {pool.id!r} add up to {total:,} residents but "
                                    f"region.pooling_areas declares {pool.population:,}; allowed: the same number "
                                    f"(off by {total - pool.population:+,})"))


def synthetic_plan(spec, pooling_area: str) -> RegionPlan:
    """A generated prefecture: urban districts on a ring around the city centre, counties further out,
    city hospitals in the districts and one provincial hospital (deterministic: no random draws)."""
    n_d, n_c = spec.districts, spec.counties
    urban = int(round(spec.population * spec.urban_share)) if n_c else spec.population
    if not n_d:
        urban = 0
    pops = _split(urban, n_d) + _split(spec.population - urban, n_c)
    areas = []
    for k in range(n_d + n_c):
        district = k < n_d
        ring = (0.08 if district else 0.6) * spec.radius_km
        turn = 2 * np.pi * (k if district else k - n_d) / max(n_d if district else n_c, 1)
        xy = (round(ring * np.cos(turn), 3), round(ring * np.sin(turn), 3))
        name = f"District {k + 1}" if district else f"County {k - n_d + 1}"
        areas.append(Area(f"D{k + 1}" if district else f"C{k - n_d + 1}", name, "urban" if district else "rural",
                          pooling_area, pops[k], xy))
    hospitals = [SharedHospital(f"H{j + 1}", f"City hospital {j + 1}", "grade_3", pooling_area,
                                areas[j % n_d].xy if n_d else (0.0, 0.0), area=areas[j % n_d].id if n_d else None)
                 for j in range(spec.city_hospitals)]
    hospitals.append(SharedHospital("P1", "Provincial hospital", "grade_3", "province_capital",
                                    (spec.provincial_hospital_km, 0.0), serves="province"))
    return RegionPlan("km", areas, hospitals)


def _split(total: int, n: int) -> list[int]:
    """`total` in `n` near-equal whole parts."""
    return [total // n + (1 if k < total % n else 0) for k in range(n)] if n else []
