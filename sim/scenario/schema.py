"""The scenario schema: every parameter with its unit, range, default and source.

One pydantic model per concern. Defaults are the baseline county; each field's
description names its unit and where the default comes from (see
`../shared/targets/` and `data/targets/`). `docs/scenarios.md` is generated from
this module by `python run.py schema-doc`, so the reference cannot drift.

The sections live in `county_sections.py` and `policy_sections.py`, their base and the
named categories in `base.py`, field declaration (`F`, `bounds`) in `field_info.py` and
introspection in `fields.py`; every public name is importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import Field, model_validator

from sim.scenario.base import (  # noqa: F401  (re-exported)
    AGE_BANDS, GRADES, PLACES, SCHEMES, SETTINGS, SEVERITIES, TIE_KINDS, TIERS, Strict, grade_index, _age_model, _deep_merge, _keyed, _severity_model,
    _tier_model)
from sim.scenario.county_sections import (  # noqa: F401  (re-exported)
    AcuteIncidence, BaseWait, Beds, Behaviour, Capability, CapacityExpansion, Choice, DiabetesByAge, ForgoUtility,
    HypertensionByAge, Income, IndirectCosts, InpatientPrice, InpatientPriceFactor, InpatientProbability,
    InpatientSeverityCost, LengthOfStay,
    OutpatientCapacity, OutpatientPrice, OutpatientSeverityCost, Population, Providers, Quality, QualityWeight,
    RegistrationFee, SeverityShares, TertiaryHospitalSpec, TierPreference, TravelWeight, Trust, World, WorldFiles)
from sim.scenario.field_info import F, bounds  # noqa: F401  (re-exported)
from sim.scenario.region_sections import PoolingArea, Region, RegionFiles, SyntheticRegion  # noqa: F401
from sim.scenario.policy_sections import (  # noqa: F401  (re-exported)
    DownwardReferral, GlobalBudget, Insurance, MedicalCommunity, OutOfArea, OutOfAreaPlace, Referral, Scheme,
    SettingRules, Signing, SigningBenefits, SigningChronicCare, SigningFirstContact, SigningPriority, SigningTeam,
    TierGains, TierRule, _employee, _resident, _rules)

# ------------------------------------------------------------------------ scenario

MIN_AGENTS = 100  # fewer agents than this leave settlements empty and the indicators meaningless


class Change(Strict):
    """Parameters that change on a given day (a policy shock inside one run)."""

    day: int = F(..., 0, 36_500, unit="day", doc="day the change takes effect (0 is the first day)")
    label: str = F("", doc="what the change is, for figures and reports")
    set: dict[str, Any] = F(..., doc="dotted parameter paths and their new values")


class Scenario(Strict):
    """A county and its policies."""

    name: str = F("baseline", doc="scenario name, used for the results folder")
    description: str = F("", doc="what the scenario shows, in words")
    seed: int = F(20251, 0, 2**63 - 1, doc="random seed")
    days: int = F(365, 1, 36_500, unit="days", doc="days to simulate")
    warmup_days: int = F(90, 0, 3650, unit="days",
                         doc="days simulated before day 0 and not recorded, so queues, beds, trust and chronic "
                             "follow-ups start in their usual state")
    scale: int = F(1, 1, 10_000, unit="residents per agent",
                   doc="one agent stands for this many residents (counts are scaled back)")
    world: World = Field(default_factory=World)
    population: Population = Field(default_factory=Population)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    providers: Providers = Field(default_factory=Providers)
    insurance: Insurance = Field(default_factory=Insurance)
    referral: Referral = Field(default_factory=Referral)
    signing: Signing = Field(default_factory=Signing)
    medical_community: MedicalCommunity = Field(default_factory=MedicalCommunity)
    region: Region | None = F(None, doc="run a prefecture or province of several areas instead of one county "
                                        "(sim/scenario/region_sections.py)")
    changes: list[Change] = Field(default_factory=list, description="dated policy changes, in order")

    @model_validator(mode="after")
    def _enough_agents(self) -> "Scenario":
        if self.world.files is None and self.region is None and self.world.population < MIN_AGENTS * self.scale:
            raise ValueError(f"world.population {self.world.population:,} at scale {self.scale:,} leaves fewer than "
                             f"{MIN_AGENTS} agents; allowed: scale at most {self.world.population // MIN_AGENTS:,} "
                             "for this population")
        return self


FIXED_AT_START = ("name", "description", "seed", "days", "warmup_days", "scale", "world", "population", "region",
                  "changes")


@dataclass
class Timeline:
    """The validated scenario and the parameter sets that take over on given days."""

    base: Scenario
    changes: list[tuple[int, str, Scenario]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)

    @property
    def first_change_day(self) -> int | None:
        """Day of the first dated change, or None."""
        return self.changes[0][0] if self.changes else None

    def resolved(self) -> dict[str, Any]:
        """The fully resolved scenario as plain data (saved with each run)."""
        return self.base.model_dump(mode="json")
