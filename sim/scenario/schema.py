"""The scenario schema: every parameter with its unit, range, default and source.

One pydantic model per concern. Defaults are the baseline county; each field's
description names its unit and where the default comes from (see
`../shared/targets/` and `data/targets/`). `docs/scenarios.md` is generated from
this module by `python run.py schema-doc`, so the reference cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

TIERS = ("village", "township", "county", "tertiary")
SEVERITIES = ("minor", "moderate", "severe", "critical")
AGE_BANDS = ("age_0_14", "age_15_44", "age_45_59", "age_60_74", "age_75_plus")
SCHEMES = ("resident", "employee")
SETTINGS = ("outpatient", "inpatient")


def F(default: Any, lo: float | None = None, hi: float | None = None, *, unit: str = "",
      doc: str = "", source: str = "", gt: float | None = None) -> Any:
    """A field with bounds, a unit and a source, all shown in the reference page."""
    extra = {"unit": unit, "source": source}
    kwargs: dict[str, Any] = {"description": doc, "json_schema_extra": extra}
    if lo is not None:
        kwargs["ge"] = lo
    if gt is not None:
        kwargs["gt"] = gt
    if hi is not None:
        kwargs["le"] = hi
    return Field(default, **kwargs)


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


def bounds(fld: Any) -> tuple[float | None, float | None, bool]:
    """A field's numeric bounds: (lower, upper, whether the lower bound is excluded)."""
    lo = hi = None
    strict_lo = False
    for meta in fld.metadata:
        if getattr(meta, "ge", None) is not None:
            lo = meta.ge
        if getattr(meta, "gt", None) is not None:
            lo, strict_lo = meta.gt, True
        if getattr(meta, "le", None) is not None:
            hi = meta.le
    return lo, hi, strict_lo


class Strict(BaseModel):
    """Base: unknown keys are errors, no silent type coercion (but 0 is a valid float)."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _keep_documented_defaults(cls, data: Any) -> Any:
        """A section given in part keeps the documented defaults of the keys it does not name.

        Sections whose defaults come from a factory (the two insurance schemes, the medical
        community's gains) would otherwise be rebuilt from bare field defaults.
        """
        if not isinstance(data, dict):
            return data
        for name, fld in cls.model_fields.items():
            if isinstance(data.get(name), dict) and fld.default_factory is not None:
                default = fld.default_factory()
                if isinstance(default, BaseModel):
                    data = {**data, name: _deep_merge(default.model_dump(), data[name])}
        return data


def _keyed(keys: tuple[str, ...], name: str, doc: str, unit: str, lo: float, hi: float | None,
           defaults: tuple[float, ...], source: str = "") -> type[Strict]:
    """A model with one float field per key (tier, severity or age band)."""
    fields = {key: (float, F(value, lo, hi, unit=unit, doc=f"{doc}: {key}", source=source))
              for key, value in zip(keys, defaults, strict=True)}
    return create_model(name, __base__=Strict, __doc__=doc, **fields)


def _tier_model(*args: Any, **kwargs: Any) -> type[Strict]:
    return _keyed(TIERS, *args, **kwargs)


def _severity_model(*args: Any, **kwargs: Any) -> type[Strict]:
    return _keyed(SEVERITIES, *args, **kwargs)


def _age_model(*args: Any, **kwargs: Any) -> type[Strict]:
    return _keyed(AGE_BANDS, *args, **kwargs)


# --------------------------------------------------------------------------- world

class TertiaryHospitalSpec(Strict):
    """An out-of-county tertiary hospital the county's patients travel to."""

    name: str = F("Prefecture City Hospital", doc="display name")
    distance_km: float = F(35.0, 1, 2000, unit="km", doc="road distance from the county seat")
    alliance: Literal["specialist_alliance", "telemedicine", "none"] = F(
        "specialist_alliance", doc="kind of referral tie with the county hospital")


class WorldFiles(Strict):
    """A planner's own county from CSV files instead of a synthetic one."""

    facilities: str = F(..., doc="path to facilities.csv (relative to the scenario file)")
    settlements: str = F(..., doc="path to settlements.csv (relative to the scenario file)")
    travel_times: str | None = F(None, doc="optional travel-time matrix CSV (settlement_id, facility_id, minutes)")
    referral_edges: str | None = F(None, doc="optional referral edge list CSV (from_id, to_id, kind)")


class World(Strict):
    """The county: its size, townships, villages and hospitals."""

    population: int = F(100_000, 100, 50_000_000, unit="residents",
                        doc="residents of the county", source="DESIGN.md: a county of about 100,000")
    townships: int = F(10, 1, 200, unit="townships", doc="townships, each with one township health centre")
    villages_per_township: int = F(12, 1, 500, unit="villages",
                                   doc="villages per township, each with a village clinic / family-doctor team")
    county_radius_km: float = F(30.0, 2, 300, unit="km", doc="radius of the county around its seat")
    county_hospitals: int = F(1, 1, 5, unit="hospitals",
                              doc="county-level hospitals at the county seat (general, TCM, ...)")
    tertiary: list[TertiaryHospitalSpec] = Field(
        default_factory=lambda: [
            TertiaryHospitalSpec(),
            TertiaryHospitalSpec(name="Provincial Hospital", distance_km=220.0, alliance="telemedicine"),
        ],
        description="out-of-county tertiary hospitals (at least one)", min_length=1, max_length=10)
    road_factor: float = F(1.3, 1, 3, unit="ratio", doc="road distance over straight-line distance")
    speed_rural_kmh: float = F(30.0, 5, 120, unit="km/h", doc="travel speed inside the county")
    speed_highway_kmh: float = F(70.0, 5, 150, unit="km/h", doc="travel speed to out-of-county hospitals")
    files: WorldFiles | None = F(None, doc="load the county from CSV files instead of generating it")


# ---------------------------------------------------------------------- population

HypertensionByAge = _age_model(
    "HypertensionByAge", "hypertension prevalence", "share", 0, 1, (0.0, 0.06, 0.25, 0.45, 0.55),
    "China Hypertension Survey 2012-15: about 23% of adults, rising with age")
DiabetesByAge = _age_model(
    "DiabetesByAge", "diabetes prevalence", "share", 0, 1, (0.0, 0.02, 0.09, 0.16, 0.18),
    "national surveys: about 11-12% of adults, rising with age")


class Income(Strict):
    """Per-capita annual disposable income, log-normal."""

    median: float = F(25_000.0, 1_000, 1_000_000, unit="yuan/year",
                      doc="median income of resident-insured people", source="NBS 2024: rural 23,119; national 41,314")
    sigma: float = F(0.6, 0.05, 2, unit="log-sd", doc="dispersion of log income")
    employee_ratio: float = F(1.8, 0.5, 5, unit="ratio", doc="median income of employee-insured over resident-insured")
    capacity_to_pay_share: float = F(0.6, 0.05, 1, unit="share",
                                     doc="share of income above subsistence (capacity to pay)",
                                     source="WHO catastrophic spending method")
    catastrophic_threshold: float = F(0.4, 0.05, 1, unit="share",
                                      doc="out-of-pocket above this share of capacity to pay is catastrophic",
                                      source="WHO: 40% of capacity to pay")


class Population(Strict):
    """Who lives in the county."""

    share_0_14: float = F(0.16, 0, 0.6, unit="share", doc="share aged 0-14", source="NBS 2024")
    share_60_plus: float = F(0.22, 0, 0.6, unit="share", doc="share aged 60+", source="NBS 2024: 22.0%")
    share_75_plus_of_60_plus: float = F(0.3, 0, 1, unit="share", doc="share of the 60+ who are 75+")
    employee_share: float = F(0.2, 0, 1, unit="share",
                              doc="share of residents in employee insurance (UEBMI); the rest are resident-insured",
                              source="NHSA 2024: 28.6% nationally, lower in counties")
    income: Income = Field(default_factory=Income)
    hypertension: HypertensionByAge = Field(default_factory=HypertensionByAge)
    diabetes: DiabetesByAge = Field(default_factory=DiabetesByAge)

    @model_validator(mode="after")
    def _ages_fit(self) -> "Population":
        if self.share_0_14 + self.share_60_plus > 0.95:
            raise ValueError("share_0_14 + share_60_plus must leave room for ages 15-59 (sum at most 0.95)")
        return self


# ----------------------------------------------------------------------- behaviour

AcuteIncidence = _age_model(
    "AcuteIncidence", "acute episodes per person-year", "episodes/person/year", 0, 50,
    (5.2, 3.6, 4.6, 6.3, 7.6), "calibrated to about 7 visits per person per year (NHC 2023-24: 6.8)")
SeverityShares = _severity_model(
    "SeverityShares", "share of acute episodes by severity", "share", 0, 1, (0.73, 0.215, 0.049, 0.006),
    "assumption: about 1 in 160 acute episodes is critical (stroke, infarction, major trauma, cancer surgery)")
InpatientProbability = _severity_model(
    "InpatientProbability", "probability that an acute episode needs admission", "probability", 0, 1,
    (0.002, 0.035, 0.4, 0.9), "calibrated to about 21 admissions per 100 per year (NHC 2023-24)")
QualityWeight = _severity_model(
    "QualityWeight", "utility weight on perceived quality", "utility per quality unit", 0, 50,
    (1.0, 2.5, 3.0, 4.0), "Yu 2021 (good treatment effect 4.5); Jia 2020 (provider weight rises with severity)")
TravelWeight = _severity_model(
    "TravelWeight", "utility lost per hour of travel", "utility/hour", 0, 50,
    (1.6, 1.1, 0.5, 0.25), "Yu 2021 (travel <= 1 h: 1.285); Jia 2020 (travel dominates for minor illness)")
ForgoUtility = _severity_model(
    "ForgoUtility", "utility of not seeking care (the outside option)", "utility", -50, 50,
    (-1.0, -3.0, -6.0, -9.0), "calibrated: many minor episodes are self-treated, almost no critical ones")


class TierPreference(Strict):
    """Alternative-specific constants: the 'trust' that makes people bypass the grassroots."""

    village: float = F(0.0, -20, 20, unit="utility", doc="constant for village clinics (reference)")
    township: float = F(0.2, -20, 20, unit="utility", doc="constant for township health centres")
    county: float = F(1.7, -20, 20, unit="utility", doc="constant for county hospitals")
    tertiary: float = F(0.8, -20, 20, unit="utility", doc="constant for tertiary hospitals")
    tertiary_admission: float = F(0.0, -20, 20, unit="utility",
                                  doc="extra constant for tertiary hospitals when the episode needs a bed "
                                      "(admissions are sought differently from clinic visits)")
    employee_hospital_bonus: float = F(0.3, -10, 10, unit="utility",
                                       doc="extra preference of employee-insured people for county and tertiary hospitals",
                                       source="assumption; Yang 2024 (OR 5.4) validates it, see validate-model")


class Choice(Strict):
    """The care-seeking multinomial logit (see sim/behaviour.py for the utility)."""

    quality: QualityWeight = Field(default_factory=QualityWeight)
    travel: TravelWeight = Field(default_factory=TravelWeight)
    cost: float = F(1.0, 0, 20, unit="utility per log(1 + OOP / daily income)",
                    doc="weight of expected out-of-pocket cost relative to income",
                    source="sign and relative size from Yu 2021 (OOP -0.168) and the CKB cost-sharing study")
    wait: float = F(0.15, 0, 10, unit="utility/hour", doc="weight of expected waiting time",
                    source="Yu 2021: short waits valued (p<0.001)")
    family_doctor: float = F(0.6, 0, 10, unit="utility",
                             doc="bonus for the signed family doctor and own township centre")
    deductible_spread_visits: float = F(4.0, 1, 100, unit="visits",
                                        doc="patients feel an annual outpatient deductible spread over this many visits")
    forgo: ForgoUtility = Field(default_factory=ForgoUtility)
    forgo_chronic: float = F(-1.5, -50, 50, unit="utility", doc="utility of skipping a chronic follow-up")
    preference: TierPreference = Field(default_factory=TierPreference)


class Trust(Strict):
    """Trust: each resident's perceived quality of each tier, learned from experience.

    A visit is a good experience with probability equal to the facility's actual quality;
    trust moves toward the outcome. So when the medical community raises grassroots
    quality, residents notice only as they use it (the lag the seeds describe).
    """

    initial_sd: float = F(0.3, 0, 2, unit="quality units", doc="spread of residents' initial trust around each tier's quality")
    learning_rate: float = F(0.1, 0, 1, unit="per visit", doc="weight of a new experience")
    referred_outcome: float = F(0.0, 0, 1, unit="quality units",
                                doc="outcome of being sent on because the facility could not treat")
    waiting_penalty: float = F(0.3, 0, 1, unit="quality units", doc="outcome lost by waiting a day or more")


class Behaviour(Strict):
    """Illness onset and care seeking."""

    acute_incidence: AcuteIncidence = Field(default_factory=AcuteIncidence)
    chronic_incidence_multiplier: float = F(1.3, 0.1, 10, unit="ratio",
                                            doc="acute episodes of people with hypertension/diabetes, relative")
    severity: SeverityShares = Field(default_factory=SeverityShares)
    older_severity_multiplier: float = F(1.8, 0.1, 10, unit="ratio",
                                         doc="odds of a severe or critical episode at 60+, relative")
    inpatient_probability: InpatientProbability = Field(default_factory=InpatientProbability)
    chronic_followup_days: int = F(30, 7, 365, unit="days", doc="interval between chronic follow-ups (one month of drugs)")
    chronic_in_care_share: float = F(0.45, 0, 1, unit="share",
                                     doc="share of unsigned hypertension/diabetes patients under regular treatment "
                                         "(signed ones always are: their family doctor manages them)",
                                     source="China Hypertension Survey 2012-15: treatment rate 45.8%")
    unmanaged_complication_multiplier: float = F(1.5, 1, 10, unit="ratio",
                                                 doc="severe/critical odds for chronic patients without recent follow-up")
    renege_probability: float = F(0.15, 0, 1, unit="per day", doc="chance a waiting patient gives up each day")
    choice: Choice = Field(default_factory=Choice)
    trust: Trust = Field(default_factory=Trust)

    @model_validator(mode="after")
    def _severity_sums(self) -> "Behaviour":
        total = sum(getattr(self.severity, s) for s in SEVERITIES)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"severity shares must sum to 1 (they sum to {total:.4f})")
        return self


# ----------------------------------------------------------------------- providers

Quality = _tier_model("Quality", "perceived quality", "0-1 scale", 0, 1, (0.3, 0.5, 0.75, 1.0),
                      "Jia 2020 / Lv 2020: senior doctors and technology valued; tiers ordered")
Capability = _tier_model("Capability", "highest severity treated (0 minor ... 3 critical; fractions partial)",
                         "severity level", 0, 3, (0.3, 1.3, 2.5, 3.0))
OutpatientCapacity = _tier_model(
    "OutpatientCapacity", "outpatient visits per day per 1,000 county residents", "visits/day/1000", 0, None,
    (12.0, 8.0, 7.0, 2.4), "sized to the baseline's demand; tertiary: the share of its clinics open to this county")
Beds = _tier_model("Beds", "beds per 1,000 county residents", "beds/1000", 0, None, (0.0, 1.2, 4.0, 2.0),
                   "NHC 2024: 7.3 beds per 1,000 in all; tertiary: beds available to this county")
OutpatientPrice = _tier_model(
    "OutpatientPrice", "average price of an outpatient visit", "yuan", 0, None, (45.0, 90.0, 222.0, 333.0),
    "NHC 2019 Jan-Sep: tertiary 332.7, secondary 221.9; Shanghai 2009: township 72")
InpatientPrice = _tier_model(
    "InpatientPrice", "price of a typical admission (a severe case)", "yuan", 0, None, (0.0, 2800.0, 6400.0, 13500.0),
    "NHC 2019 Jan-Sep: tertiary 13,539, secondary 6,386; Shanghai 2009 township 1,938")
RegistrationFee = _tier_model(
    "RegistrationFee", "registration / service fee per visit, not reimbursed", "yuan", 0, None,
    (0.0, 5.0, 20.0, 40.0), "Beijing 2017 reform: service fees of 20/40/60")
LengthOfStay = _tier_model("LengthOfStay", "mean length of stay (a moderate case)", "days", 1, 60,
                           (3.0, 5.0, 7.0, 9.0), "NHC 2024: average 8.6 days")
BaseWait = _tier_model("BaseWait", "waiting time at light load", "hours", 0, 48, (0.1, 0.3, 0.5, 0.8))
OutpatientSeverityCost = _severity_model(
    "OutpatientSeverityCost", "outpatient price multiplier by severity", "ratio", 0, 50, (0.8, 1.2, 1.8, 2.5))
InpatientSeverityCost = _severity_model(
    "InpatientSeverityCost", "inpatient price multiplier by severity", "ratio", 0, 50, (0.5, 0.75, 1.0, 4.0),
    "assumption: a critical admission (ICU, major surgery, cancer) costs about four typical ones")


class CapacityExpansion(Strict):
    """Tertiary hospitals add clinics and beds when crowded: a driver of siphoning."""

    enabled: bool = F(False, doc="let tertiary capacity grow with demand")
    utilisation_threshold: float = F(0.9, 0.1, 2, unit="ratio", doc="expand when utilisation exceeds this")
    growth: float = F(0.05, 0, 1, unit="share", doc="capacity added at each review")
    review_days: int = F(30, 1, 365, unit="days", doc="days between reviews")
    max_multiplier: float = F(2.0, 1, 10, unit="ratio", doc="most capacity can grow over the start")


class Providers(Strict):
    """Facilities by tier: capability, quality, capacity and prices."""

    quality: Quality = Field(default_factory=Quality)
    capability: Capability = Field(default_factory=Capability)
    outpatient_capacity: OutpatientCapacity = Field(default_factory=OutpatientCapacity)
    beds: Beds = Field(default_factory=Beds)
    outpatient_price: OutpatientPrice = Field(default_factory=OutpatientPrice)
    inpatient_price: InpatientPrice = Field(default_factory=InpatientPrice)
    registration_fee: RegistrationFee = Field(default_factory=RegistrationFee)
    length_of_stay: LengthOfStay = Field(default_factory=LengthOfStay)
    base_wait_hours: BaseWait = Field(default_factory=BaseWait)
    outpatient_severity_cost: OutpatientSeverityCost = Field(default_factory=OutpatientSeverityCost)
    inpatient_severity_cost: InpatientSeverityCost = Field(default_factory=InpatientSeverityCost)
    chronic_drug_cost_per_day: float = F(3.0, 0, 1000, unit="yuan/day",
                                         doc="drug cost of a day's chronic medication (essential drugs)")
    capacity_expansion: CapacityExpansion = Field(default_factory=CapacityExpansion)


# ----------------------------------------------------------------------- insurance

class TierRule(Strict):
    """Reimbursement at one tier for one scheme and setting."""

    rate: float = F(0.5, 0, 1, unit="share", doc="pooled reimbursement rate above the deductible")
    deductible: float = F(0.0, 0, 1_000_000, unit="yuan",
                          doc="deductible (起付线): per year for outpatient care, per admission for inpatient care")
    annual_cap: float | None = F(None, 0, 100_000_000, unit="yuan/year",
                                 doc="most the fund pays a person per year at this tier (null: no cap)")
    pooled: bool = F(True, doc="pooled (统筹) reimbursement applies at this tier at all")


def _rules(rates: tuple[float, float, float, float], deductibles: tuple[float, float, float, float],
           pooled: tuple[bool, bool, bool, bool] = (True, True, True, True)) -> dict[str, TierRule]:
    return {t: TierRule(rate=r, deductible=d, pooled=p) for t, r, d, p in zip(TIERS, rates, deductibles, pooled)}


class SettingRules(Strict):
    """Rules for one setting (outpatient or inpatient) of one scheme."""

    village: TierRule = Field(default_factory=TierRule)
    township: TierRule = Field(default_factory=TierRule)
    county: TierRule = Field(default_factory=TierRule)
    tertiary: TierRule = Field(default_factory=TierRule)
    annual_cap: float | None = F(None, 0, 100_000_000, unit="yuan/year",
                                 doc="most the fund pays a person per year in this setting, all tiers together "
                                     "(Pingyang outpatient: 1,500)")


def _resident() -> "Scheme":
    return Scheme(
        premium_per_year=1070.0,
        outpatient=SettingRules(**_rules((0.6, 0.55, 0.5, 0.4), (0, 0, 200, 300)), annual_cap=1500.0),
        inpatient=SettingRules(**_rules((0.0, 0.85, 0.7, 0.55), (0, 200, 500, 1000))),
        chronic_drug_rate=0.75,
        in_policy_share=0.8,
    )


def _employee() -> "Scheme":
    return Scheme(
        premium_per_year=4200.0,
        outpatient=SettingRules(**_rules((0.75, 0.75, 0.7, 0.6), (0, 0, 300, 500)), annual_cap=6000.0),
        inpatient=SettingRules(**_rules((0.0, 0.92, 0.87, 0.82), (0, 200, 500, 1000))),
        chronic_drug_rate=0.8,
        in_policy_share=0.88,
    )


class Scheme(Strict):
    """One insurance scheme (resident or employee)."""

    premium_per_year: float = F(1070.0, 0, 100_000, unit="yuan/person/year",
                                doc="pooled fund income per enrolee (individual + subsidy)",
                                source="resident scheme 2024: 400 individual + 670 government subsidy; "
                                       "employee default illustrative (pooled part of payroll contributions)")
    outpatient: SettingRules = Field(default_factory=SettingRules)
    inpatient: SettingRules = Field(default_factory=SettingRules)
    chronic_drug_rate: float = F(0.75, 0, 1, unit="share",
                                 doc="reimbursement of hypertension/diabetes drugs at the grassroots",
                                 source="Shandong 2025: 75% for residents (seed 002)")
    in_policy_share: float = F(0.8, 0, 1, unit="share",
                               doc="share of a bill inside the policy list (政策范围内); rates apply to it, "
                                   "the rest is paid out of pocket",
                               source="NHSA bulletins: in-policy vs actual inpatient reimbursement, about 0.8 "
                                      "(resident) and 0.88 (employee: 84.6% in-policy rate, 2023)")


class Insurance(Strict):
    """The two schemes, in-county rules and the fund."""

    resident: Scheme = Field(
        default_factory=_resident, description="urban-rural resident insurance (URRBMI)",
        json_schema_extra={"source": "Shandong 2025 (seed 002): grassroots outpatient 65% (here village 60% and "
                                     "township 55%, plus 5 points for the signed), grassroots inpatient above 85%; "
                                     "deductibles: an illustrative city example (calibration_targets.md D); "
                                     "outpatient cap: Pingyang 1,500 yuan (seed 001)"})
    employee: Scheme = Field(
        default_factory=_employee, description="employee insurance (UEBMI)",
        json_schema_extra={"source": "NHSA 2023: employee in-policy inpatient rate 84.6%; other terms illustrative, "
                                     "above the resident scheme's (calibration_targets.md D)"})
    initial_fund_balance: float = F(0.0, -1e12, 1e12, unit="yuan",
                                    doc="fund reserve on day 0 (summary: fund_reserve_end adds the run's balance)")


# ------------------------------------------------------------------ referral rules

class DownwardReferral(Strict):
    """Downward referral (下转) after the acute phase."""

    enabled: bool = F(True, doc="hospitals send patients down after the acute phase")
    county: float = F(0.04, 0, 1, unit="probability", doc="share of county inpatients sent to a township centre")
    tertiary: float = F(0.06, 0, 1, unit="probability",
                        doc="share of tertiary inpatients sent back to the county",
                        source="NHC 2017: 0.9% of tertiary inpatients to the grassroots; higher with alliances")
    chronic: float = F(0.1, 0, 1, unit="probability",
                       doc="share of hospital chronic follow-ups sent back to the family doctor")
    rehab_days: float = F(5.0, 1, 60, unit="days", doc="stay after a downward referral")


class Referral(Strict):
    """Two-way referral (双向转诊) and the rules that enforce it."""

    required_for_out_of_county: bool = F(False, doc="out-of-county care without referral gets no pooled reimbursement")
    unreferred_out_of_county_penalty: float = F(0.1, 0, 1, unit="rate points",
                                                doc="reimbursement rate cut for unreferred out-of-county care")
    downward: DownwardReferral = Field(default_factory=DownwardReferral)


# ------------------------------------------------------------------ family doctors

class SigningPriority(Strict):
    """Who family doctors sign first."""

    age_60_plus: float = F(3.0, 0, 100, unit="weight", doc="relative weight of residents aged 60+")
    chronic: float = F(3.0, 0, 100, unit="weight", doc="relative weight of residents with hypertension/diabetes")


class SigningBenefits(Strict):
    """What a signed resident gets."""

    grassroots_rate_bonus: float = F(0.05, 0, 1, unit="rate points",
                                     doc="higher outpatient reimbursement at the grassroots for signed residents")
    long_prescription_days: int = F(60, 7, 365, unit="days",
                                    doc="drug supply per chronic follow-up for signed residents (long prescriptions)")
    priority_referral: bool = F(True, doc="signed residents' referrals go first (reserved specialist slots)")
    complication_reduction: float = F(0.2, 0, 1, unit="share",
                                      doc="fewer severe/critical episodes among signed chronic patients",
                                      source="Jing 2021: signing lowers admissions")


class Signing(Strict):
    """Family-doctor signing (家庭医生签约)."""

    initial_rate: float = F(0.35, 0, 1, unit="share", doc="share of residents signed on day 0",
                            source="national key-group signing above 60%; all residents about a third")
    target_rate: float = F(0.35, 0, 1, unit="share",
                           doc="share the signing campaign reaches (signing only grows: a lower target signs no one)")
    ramp_days: int = F(0, 0, 3650, unit="days", doc="days to move from the current to the target rate")
    priority: SigningPriority = Field(default_factory=SigningPriority)
    benefits: SigningBenefits = Field(default_factory=SigningBenefits)


# --------------------------------------------------------- county medical community

class TierGains(Strict):
    """Gains at the community's tiers, reached after the ramp."""

    village: float = F(0.0, 0, 3, doc="gain at village clinics")
    township: float = F(0.0, 0, 3, doc="gain at township health centres")
    county: float = F(0.0, 0, 3, doc="gain at the county hospital (city experts and alliances supporting it)")


class GlobalBudget(Strict):
    """总额付费、结余留用: the fund pays the community a budget; it keeps the surplus."""

    enabled: bool = F(False, doc="pay the medical community a global budget")
    per_capita: float = F(1500.0, 0, 100_000, unit="yuan/resident/year", doc="budget per resident")
    overspend_share: float = F(0.5, 0, 1, unit="share", doc="share of an overspend the fund still covers")
    keep_in_county: float = F(0.25, 0, 1, unit="severity levels",
                              doc="how much further the county hospital stretches before referring out")
    down_referral_boost: float = F(1.0, 0, 10, unit="ratio", doc="extra downward referral (1 doubles it)")


class MedicalCommunity(Strict):
    """紧密型县域医共体: county hospital leads township centres and village clinics."""

    enabled: bool = F(False, doc="the county runs a tight medical community")
    ramp_days: int = F(365, 0, 3650, unit="days", doc="days for experts, telemedicine and labs to take full effect")
    experts_quality: TierGains = Field(default_factory=lambda: TierGains(village=0.05, township=0.15, county=0.05),
                                       description="quality gain from experts sent down (下沉)")
    experts_capability: TierGains = Field(default_factory=lambda: TierGains(village=0.1, township=0.5, county=0.2),
                                          description="capability gain from experts sent down")
    telemedicine_capability: TierGains = Field(default_factory=lambda: TierGains(village=0.2, township=0.1),
                                               description="capability gain from telemedicine consultations")
    shared_labs_quality: TierGains = Field(default_factory=lambda: TierGains(village=0.05, township=0.1),
                                           description="quality gain from shared labs and imaging")
    global_budget: GlobalBudget = Field(default_factory=GlobalBudget)

    @model_validator(mode="after")
    def _budget_needs_community(self) -> "MedicalCommunity":
        if self.global_budget.enabled and not self.enabled:
            raise ValueError("global_budget.enabled: true needs enabled: true (the budget is paid to the "
                             "medical community; without one it would do nothing)")
        return self


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
    changes: list[Change] = Field(default_factory=list, description="dated policy changes, in order")

    @model_validator(mode="after")
    def _enough_agents(self) -> "Scenario":
        if self.world.files is None and self.world.population < MIN_AGENTS * self.scale:
            raise ValueError(f"world.population {self.world.population:,} at scale {self.scale:,} leaves fewer than "
                             f"{MIN_AGENTS} agents; allowed: scale at most {self.world.population // MIN_AGENTS:,} "
                             "for this population")
        return self


FIXED_AT_START = ("name", "description", "seed", "days", "warmup_days", "scale", "world", "population", "changes")


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
