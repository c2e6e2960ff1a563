"""The county's sections of the schema: world, population, behaviour and providers.

Assembled into `Scenario` by `schema.py` (import them from there).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.scenario.base import SEVERITIES, Strict, _age_model, _severity_model, _tier_model
from sim.scenario.field_info import F


# --------------------------------------------------------------------------- world

GradeName = Literal["ungraded", "grade_1", "grade_2", "grade_3", "未定级", "一级", "二级", "三级"]


class TertiaryHospitalSpec(Strict):
    """An out-of-county tertiary hospital the county's patients travel to."""

    name: str = F("Prefecture City Hospital", doc="display name")
    distance_km: float = F(35.0, 1, 2000, unit="km", doc="road distance from the county seat")
    alliance: Literal["specialist_alliance", "telemedicine", "none"] = F(
        "specialist_alliance", doc="kind of referral tie with the county hospital")
    grade: GradeName = F("grade_3", doc="hospital grade (医院等级): insurance terms follow it",
                         source="policy_parameters.md section 4: prefecture and provincial hospitals 三级 [S28, S30]")
    place: Literal["pooling_area", "province", "out_of_province"] = F(
        "pooling_area", doc="where it is for the insurance fund: in the pooling area (市级统筹: the prefecture), "
                            "elsewhere in the province (省内异地) or out of the province (跨省异地)",
        source="policy_parameters.md section 5: most areas pool at prefecture level [S36]")


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
            TertiaryHospitalSpec(name="Provincial Hospital", distance_km=220.0, alliance="telemedicine",
                                 place="province"),
        ],
        description="out-of-county tertiary hospitals (at least one)", min_length=1, max_length=10)
    road_factor: float = F(1.3, 1, 3, unit="ratio", doc="road distance over straight-line distance")
    speed_rural_kmh: float = F(30.0, 5, 120, unit="km/h", doc="travel speed inside the county")
    speed_highway_kmh: float = F(70.0, 5, 150, unit="km/h", doc="travel speed to out-of-county hospitals")
    county_hospital_grade: GradeName = F(
        "grade_2", doc="grade of the synthetic county's hospitals (三级: a county hospital at tertiary level)",
        source="千县工程: 1,309 county hospitals met the recommended (tertiary-level) standard in 2024 "
               "(policy_parameters.md section 4, [S26], [S26b])")
    files: WorldFiles | None = F(None, doc="load the county from CSV files instead of generating it")
    kind: Literal["county", "urban_district"] = F(
        "county", doc="a rural county (township health centres, village clinics) or an urban district (市辖区: "
                      "community health centres and stations, district hospitals); the tiers are the same")


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
    seat_employee_ratio: float = F(
        3.0, 1, 20, unit="ratio",
        doc="synthetic counties: employee share in the county seat (township 0) over that in rural townships; "
            "the county's employee_share is kept",
        source="assumption: county seat vs township employee shares not found (policy_parameters.md section 10); "
               "employees concentrate in towns (28.6% nationally [S55], lower in counties)")
    seat_income_ratio: float = F(
        2.34, 1, 10, unit="ratio",
        doc="synthetic counties: mean income in the county seat over that in rural townships (the county's "
            "mean income is kept)", source="NBS 2024 urban/rural per-capita disposable income 54,188 / 23,119 "
                                           "= 2.34 (policy_parameters.md section 10, [S56])")
    low_income_share: float = F(0.047, 0, 1, unit="share",
                                doc="share of residents flagged low-income (低保, 特困, 低保边缘...): the lowest incomes "
                                    "first; they get medical assistance and better serious-illness terms",
                                source="MCA Oct 2023: about 66 million monitored low-income people, 4.7% [S12]")
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
    """The care-seeking multinomial logit (see sim/engine/behaviour.py for the utility)."""

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


class IndirectCosts(Strict):
    """What going far costs besides the bill (policy_parameters.md section 8): felt in the choice
    (added to the expected cost) and reported as indirect_cost_per_capita."""

    travel_per_hour: float = F(
        20.0, 0, 1000, unit="yuan/hour of one-way travel", doc="fares and fuel, paid there and back",
        source="assumption sized on [S54]: transport about 1.7% of a rural admission's 4,194 yuan OOP; "
               "out-of-county patients travel about 74 km further [S52]")
    lodging_per_night: float = F(
        80.0, 0, 5000, unit="yuan/night", doc="a companion's lodging and food per night of an out-of-county stay",
        source="assumption sized on [S53]: indirect cost 930 yuan per cancer admission (Anhui 2014); "
               "non-medical costs about 18% of older people's inpatient costs [S51]")
    companion_income_share: float = F(
        0.5, 0, 2, unit="share of daily income/day",
        doc="a companion's lost income per day of an admission, as a share of the patient's daily income",
        source="assumption: caregivers' lost income not found (policy_parameters.md section 8)")


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
    indirect_costs: IndirectCosts = Field(default_factory=IndirectCosts)

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
RegistrationFeeSeverity = _severity_model(
    "RegistrationFeeSeverity", "hospital service-fee multiplier by severity: the more severe the case, the more "
    "senior the doctor it sees (普通/副主任/主任/知名专家) and the higher the fee; applies at county and tertiary "
    "hospitals, 1: one fee per tier", "ratio", 0, 10, (1.0, 1.0, 1.0, 1.0),
    "neutral by default; Beijing 2017 医事服务费 at 三级 hospitals 50/60/80/100 yuan by seniority (京政发〔2017〕11号), "
    "i.e. 1.0/1.2/1.6/2.0 of the 普通 fee")
LengthOfStay = _tier_model("LengthOfStay", "mean length of stay (a moderate case)", "days", 1, 60,
                           (3.0, 5.0, 7.0, 9.0), "NHC 2024: average 8.6 days")
BaseWait = _tier_model("BaseWait", "waiting time at light load", "hours", 0, 48, (0.1, 0.3, 0.5, 0.8))
OutpatientSeverityCost = _severity_model(
    "OutpatientSeverityCost", "outpatient price multiplier by severity", "ratio", 0, 50, (0.8, 1.2, 1.8, 2.5))
InpatientSeverityCost = _severity_model(
    "InpatientSeverityCost", "inpatient price multiplier by severity", "ratio", 0, 50, (0.5, 0.75, 1.0, 4.0),
    "assumption: a critical admission (ICU, major surgery, cancer) costs about four typical ones")


class InpatientPriceFactor(Strict):
    """Price level of admissions outside the county, over the tier's `inpatient_price` (a national
    average): the city hospitals a county's patients go to may charge more for the same case."""

    pooling_area: float = F(1.0, 0.2, 10, unit="ratio",
                            doc="hospitals elsewhere in the pooling area (the prefecture city's)",
                            source="1: the national tier average (NHC 2019, calibration_targets.md section C); "
                                   "a local figure replaces it")
    province: float = F(1.0, 0.2, 10, unit="ratio", doc="hospitals elsewhere in the province (省内异地)",
                        source="1: the national tier average; a local figure replaces it")
    out_of_province: float = F(1.0, 0.2, 10, unit="ratio", doc="hospitals out of the province (跨省异地)",
                               source="1: the national tier average; e.g. Shanghai 三级 18,348 yuan per admission "
                                      "already in 2009 against the national tertiary 13,539 in 2019 "
                                      "(calibration_targets.md section C)")


class CapacityExpansion(Strict):
    """Tertiary hospitals add clinics and beds when crowded: a driver of siphoning."""

    enabled: bool = F(False, doc="let tertiary capacity grow with demand")
    utilisation_threshold: float = F(0.9, 0.1, 2, unit="ratio", doc="expand when utilisation exceeds this")
    growth: float = F(0.05, 0, 1, unit="share", doc="capacity added at each review")
    review_days: int = F(30, 1, 365, unit="days", doc="days between reviews")
    max_multiplier: float = F(2.0, 1, 10, unit="ratio",
                              doc="cap on tertiary expansion: most capacity and beds can grow over the start",
                              source="NHC 2021-2025 plans cap beds of public hospitals (公立医院单体规模)")
    revenue_elasticity: float = F(1.0, 0, 5, unit="ratio",
                                  doc="growth x (revenue per bed / tertiary mean) ^ this: money drives expansion",
                                  source="assumption")
    recruitment: float = F(0.5, 0, 1, unit="share",
                           doc="share of the capacity a tertiary hospital adds that is staffed by senior doctors "
                               "recruited from the county's county hospital and township centres",
                           source="assumption; county doctors move to city hospitals (虹吸 of staff, seed 001)")
    rehire: float = F(0.05, 0, 1, unit="share", doc="share of lost staff a county facility replaces per review")


class Providers(Strict):
    """Facilities by tier: capability, quality, capacity and prices."""

    quality: Quality = Field(default_factory=Quality)
    capability: Capability = Field(default_factory=Capability)
    outpatient_capacity: OutpatientCapacity = Field(default_factory=OutpatientCapacity)
    beds: Beds = Field(default_factory=Beds)
    outpatient_price: OutpatientPrice = Field(default_factory=OutpatientPrice)
    inpatient_price: InpatientPrice = Field(default_factory=InpatientPrice)
    registration_fee: RegistrationFee = Field(default_factory=RegistrationFee)
    registration_fee_by_severity: RegistrationFeeSeverity = Field(default_factory=RegistrationFeeSeverity)
    length_of_stay: LengthOfStay = Field(default_factory=LengthOfStay)
    base_wait_hours: BaseWait = Field(default_factory=BaseWait)
    outpatient_severity_cost: OutpatientSeverityCost = Field(default_factory=OutpatientSeverityCost)
    inpatient_severity_cost: InpatientSeverityCost = Field(default_factory=InpatientSeverityCost)
    inpatient_price_factor: InpatientPriceFactor = Field(
        default_factory=InpatientPriceFactor,
        description="price level of admissions by place outside the county, over the tier's inpatient_price")
    chronic_drug_cost_per_day: float = F(3.0, 0, 1000, unit="yuan/day",
                                         doc="drug cost of a day's chronic medication (essential drugs)")
    critical_bill_sigma: float = F(1.0, 0, 3, unit="log-sd",
                                   doc="spread of a critical admission's bill: a log-normal multiplier with mean 1 "
                                       "per admission (a few very costly cases; 0: every bill the same)",
                                   source="assumption: hospital bills are right-skewed, about log-normal; log-sd 1 "
                                          "(coefficient of variation 1.3). Pingyang (seed 001: 10% of out-of-area "
                                          "inpatients take over 40% of the fund) is a check, not a target")
    capacity_expansion: CapacityExpansion = Field(default_factory=CapacityExpansion)
