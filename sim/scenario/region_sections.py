"""The scenario's region: several counties and urban districts sharing city and provincial hospitals.

A scenario without `region` is one county (the `world` section). With `region`, the run is a
prefecture (地级市: urban districts and counties, one pooling area) or a province (several
prefectures and the provincial hospitals): its areas are read from `areas.csv` and
`hospitals.csv` (formats in `sim.scenario.region_files`), or generated (`synthetic`). Every
area is a county world of its own (`world` gives the shape of the rest), and the hospitals
in hospitals.csv are shared: each area's residents reach them, and the areas are coupled
through their capacity and beds every day (`sim.region`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from sim.scenario.base import Strict
from sim.scenario.field_info import F


class PoolingArea(Strict):
    """An insurance pooling area (统筹区, usually a prefecture: 市级统筹) and its declared population."""

    id: str = F(..., doc="identifier the areas.csv `pooling_area` column uses")
    name: str = F("", doc="display name (e.g. 新乡市)")
    population: int | None = F(None, 0, 2_000_000_000, unit="residents",
                               doc="declared resident population: the areas of this pooling area must add up "
                                   "to it (blank: not checked)")


class RegionFiles(Strict):
    """A region from CSV files (relative to the scenario file)."""

    areas: str = F(..., doc="path to areas.csv: one row per county or urban district")
    hospitals: str = F(..., doc="path to hospitals.csv: the hospitals the areas share (city and provincial)")


class SyntheticRegion(Strict):
    """A generated prefecture: urban districts around the city, counties around them, city hospitals."""

    population: int = F(1_000_000, 1_000, 200_000_000, unit="residents", doc="residents of the prefecture")
    districts: int = F(2, 0, 50, unit="areas", doc="urban districts (市辖区)")
    counties: int = F(4, 0, 200, unit="areas", doc="counties and county-level cities")
    urban_share: float = F(0.35, 0, 1, unit="share", doc="share of residents living in the urban districts",
                           source="NBS 2020 census: 63.9% of China's residents urban, of whom many in counties' "
                                  "towns; prefecture cities' districts hold roughly a third of their residents")
    city_hospitals: int = F(3, 1, 30, unit="hospitals", doc="tertiary hospitals in the urban districts")
    radius_km: float = F(60.0, 5, 500, unit="km", doc="radius of the prefecture around the city")
    provincial_hospital_km: float = F(150.0, 1, 3000, unit="km",
                                      doc="distance from the city to the provincial hospital")


class Region(Strict):
    """Several counties and urban districts run together, sharing the city's (and the province's) hospitals.

    Give `files` (areas.csv and hospitals.csv; formats in docs/regions.md) or `synthetic`, not both.
    Each area is a county world shaped by `world`, changed by `by_kind` and `by_area`; the run is
    the same on any number of Dask workers (`--partitions N`)."""

    kind: Literal["prefecture", "province"] = F("prefecture", doc="a prefecture city or a province")
    name_zh: str = F("", doc="official Chinese name (e.g. 新乡市)")
    pooling_areas: list[PoolingArea] = Field(
        default_factory=lambda: [PoolingArea(id="city")],
        description="insurance pooling areas (prefectures under 市级统筹); areas name theirs", min_length=1)
    files: RegionFiles | None = F(None, doc="read the areas and shared hospitals from CSV files")
    synthetic: SyntheticRegion | None = F(None, doc="generate the areas and shared hospitals")
    by_kind: dict[Literal["urban", "rural"], dict[str, Any]] = F(
        {}, doc="parameter overrides (dotted key: value) for every urban district or every rural county")
    by_area: dict[str, dict[str, Any]] = F(
        {}, doc="parameter overrides (dotted key: value) for one area, by its area_id (policies that differ by area)")

    @model_validator(mode="after")
    def _one_source(self) -> "Region":
        if (self.files is None) == (self.synthetic is None):
            raise ValueError("give region.files (areas.csv and hospitals.csv) or region.synthetic, not both "
                             "and not neither")
        ids = [p.id for p in self.pooling_areas]
        if len(set(ids)) != len(ids):
            raise ValueError(f"pooling area ids must differ; found {ids}")
        return self
