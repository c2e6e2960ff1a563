"""A region's areas and their own parameters, checked when the scenario loads.

`region.by_kind` (urban, rural) and `region.by_area` (by area id) give dotted key paths of the
county scenario, e.g. `medical_community.enabled: true`. Each key path must be a parameter an
area may have of its own, each value must fit it, each area id must be in areas.csv, and every
area's scenario (the region's, with its kind's and its own values) must be valid, as must every
dated change on top of it. Problems name the file, line and key path as written, like every other
scenario problem, so a typo is found before anything runs.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sim.scenario.fields import key_path_problem
from sim.scenario.messages import locate, validate
from sim.scenario.overrides import NoSuchPath, set_in
from sim.scenario.problems import Path_, Problem, ScenarioError, Where, split_path
from sim.scenario.region_files import RegionPlan, read_region, region_plan
from sim.scenario.schema import Scenario

# Parameters that cannot differ by area, and where each area's value comes from instead.
SET_FOR_THE_REGION = {
    ("name",): "the region's name (areas are named <name>/<area_id>)",
    ("description",): "the region's description",
    ("seed",): "the region's seed (each area's is drawn from it and the area's row)",
    ("days",): "the region's days (every area runs every day)",
    ("warmup_days",): "the region's warmup_days",
    ("scale",): "the region's scale",
    ("region",): "the region section itself",
    ("changes",): "the region's dated changes (they apply to every area)",
    ("world", "population"): "areas.csv (the population column)",
    ("world", "kind"): "areas.csv (the kind column)",
    ("world", "tertiary"): "hospitals.csv (and areas.csv's hospitals_reached)",
    ("world", "files"): "areas.csv (an area is generated from its row)",
}
AREA_WORLDS = {"urban": "urban_district", "rural": "county"}  # an area's world.kind (sim/county/region_areas.py)
ALLOWED = ("allowed: a parameter an area may have of its own, e.g. insurance.resident.outpatient.tertiary.rate, "
           "medical_community.enabled, world.townships (see docs/scenarios.md)")


def check_region(base: Scenario, changed: list[Scenario], lines: dict[Path_, Where], top: Where,
                 problems: list[Problem]) -> RegionPlan | None:
    """Read the region's areas (files or synthetic) and check its by-kind and by-area parameters
    against them, for the base and each dated change (`changed`); problems are appended. Returns
    the region's plan, or None when its files could not be read."""
    region = base.region
    plan = None
    if region.files is not None:
        plan = read_region(region.files.areas, region.files.hospitals, region, base.scale, problems)
    else:
        try:
            plan = region_plan(base)
        except ScenarioError as err:
            problems += err.problems
    problems += override_problems(base, changed, plan, lines, top)
    return plan


def override_problems(base: Scenario, changed: list[Scenario], plan: RegionPlan | None,
                      lines: dict[Path_, Where], top: Where) -> list[Problem]:
    """Every problem with `region.by_kind` and `region.by_area` (area ids only when `plan` is given)."""
    region = base.region
    data = _county_data(base)
    problems: list[Problem] = []
    sections = [("by_kind", group, values) for group, values in region.by_kind.items()]
    sections += [("by_area", group, values) for group, values in region.by_area.items()]
    for section, group, values in sections:
        for key, value in values.items():
            problem = _key_problem(data, section, group, str(key), value, lines, top)
            if problem is not None:
                problems.append(problem)
    if plan is None:
        return problems
    ids = [a.id for a in plan.areas]
    source = Path(region.files.areas).name if region.files is not None else "the synthetic region"
    for group in region.by_area:
        if group not in ids:
            file, line = locate(("region", "by_area", group), lines, top)
            shown = ", ".join(ids[:12]) + (" ..." if len(ids) > 12 else "")
            problems.append(Problem(file, line, f"region.by_area.{group}",
                                    f"no area {group!r} in {source}; allowed: an area_id from it ({shown})"))
    if not problems:
        problems += _area_problems(base, changed, plan, lines, top)
    return problems


def _county_data(scenario: Scenario) -> dict[str, Any]:
    """A region's scenario as one area's plain data (no region section)."""
    data = scenario.model_dump()
    data["region"] = None
    data["changes"] = []
    return data


def _key_problem(data: dict, section: str, group: str, key: str, value: Any, lines: dict[Path_, Where],
                 top: Where) -> Problem | None:
    """Why one `key: value` of region.<section>.<group> cannot be set, or None."""
    file, line = locate(("region", section, group, key), lines, top)
    shown = f"region.{section}.{group}.{key}"
    path = split_path(key)
    for fixed, instead in SET_FOR_THE_REGION.items():
        if path[:len(fixed)] == fixed:
            return Problem(file, line, shown, f"{'.'.join(fixed)} cannot differ by area: it comes from {instead}; "
                                              f"{ALLOWED}")
    reason = key_path_problem(path)
    if reason is None:
        trial = copy.deepcopy(data)
        try:
            set_in(trial, path, copy.deepcopy(value))
        except NoSuchPath as exc:
            reason = str(exc)
        else:
            _, invalid = validate(trial, {}, (file, line), rename=(path, shown))
            # the value itself only: rules across keys are checked on each area's values together
            invalid = [p for p in invalid if p.path.startswith(shown)]
            if invalid:
                return Problem(file, line, invalid[0].path, invalid[0].message)
    return None if reason is None else Problem(file, line, shown, reason)


def _area_problems(base: Scenario, changed: list[Scenario], plan: RegionPlan, lines: dict[Path_, Where],
                   top: Where) -> list[Problem]:
    """Each area's scenario (with its kind's and its own values), and each dated change's, validated
    (areas with the same values are checked once)."""
    region, problems, seen = base.region, [], set()
    for area in plan.areas:
        settings = {"world.population": area.population, "world.kind": AREA_WORLDS[area.kind],
                    **area.own_settings(region)}
        key = repr(sorted(settings.items()))
        if key in seen:
            continue
        seen.add(key)
        where = ("region", "by_area", area.id) if area.id in region.by_area else ("region", "by_kind", area.kind)
        file, line = locate(where, lines, top)
        for scenario in [base, *changed]:
            data = _county_data(scenario)
            for path, value in settings.items():
                set_in(data, split_path(str(path)), copy.deepcopy(value))
            _, invalid = validate(data, {}, (file, line))
            when = "" if scenario is base else " after a dated change"
            problems += [Problem(file, line, ".".join(str(w) for w in where),
                                 f"area {area.id}{when}: {p.path + ': ' if p.path else ''}{p.message}")
                         for p in invalid]
            if invalid:
                break
    return problems
