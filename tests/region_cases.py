"""Small regions for tests: two urban districts and three rural counties sharing two city
hospitals and a provincial one, a few thousand residents each, that run in a second or two.

`write_region(folder)` writes the scenario and its areas.csv and hospitals.csv (each part can
be replaced, for the bad-input tests); `small_region(folder)` loads it as a `Timeline`.
"""

from __future__ import annotations

from pathlib import Path

from sim.region.model import RegionModel
from sim.scenario.loader import load
from tests.conftest import SCENARIOS

AREAS = """\
# a small prefecture: two districts beside the city hospitals, three counties further out (the last far)
area_id,name,name_zh,kind,pooling_area,population,x_km,y_km
d1,District 1,一区,urban,city,4200,0,0
d2,District 2,二区,urban,city,3600,4,2
c1,County 1,一县,rural,city,4000,35,10
c2,County 2,二县,rural,city,3800,-30,40
c3,County 3,三县,rural,city,4400,10,-90
"""
POPULATION = 4200 + 3600 + 4000 + 3800 + 4400

HOSPITALS = """\
id,name,grade,pooling_area,area_id,serves,x_km,y_km
h1,City hospital 1,grade_3,city,d1,pooling_area,0.5,0.5
h2,City hospital 2,grade_3,city,d2,pooling_area,4,3
p1,Provincial hospital,grade_3,province,,province,160,0
"""


def scenario_text(days: int = 60, warmup: int = 20, seed: int = 11, extra: str = "",
                  pooling: str = f"    - {{id: city, population: {POPULATION}}}\n    - {{id: province}}\n") -> str:
    """The small region's scenario (extends the shipped baseline); `extra` is appended to `region:`'s
    end at the top level, e.g. a `changes:` list or `region.by_area` lines (indented by 2)."""
    return (f"extends: {SCENARIOS / 'baseline.yaml'}\n"
            "name: small_region\n"
            "description: a small prefecture for tests, two districts and three counties\n"
            f"seed: {seed}\ndays: {days}\nwarmup_days: {warmup}\n"
            "region:\n"
            "  pooling_areas:\n" + pooling +
            "  files: {areas: areas.csv, hospitals: hospitals.csv}\n" + extra)


def write_region(folder: Path, scenario: str | None = None, areas: str = AREAS, hospitals: str = HOSPITALS) -> Path:
    """Write the small region's files into `folder`; return the scenario's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "areas.csv").write_text(areas, encoding="utf-8")
    (folder / "hospitals.csv").write_text(hospitals, encoding="utf-8")
    path = folder / "region.yaml"
    path.write_text(scenario if scenario is not None else scenario_text(), encoding="utf-8")
    return path


def small_region(folder: Path, *sets: str, **text):
    """The small region as a `Timeline` (`text`: arguments of `scenario_text`; `sets`: --set overrides)."""
    return load(write_region(folder, scenario_text(**text)), list(sets))


def run_in_process(timeline, partitions: int) -> RegionModel:
    """A region run with its areas split into `partitions` groups, all in this process (no Dask)."""
    return RegionModel(timeline, partitions=partitions, in_process=True).run()

