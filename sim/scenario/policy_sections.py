"""The policy sections of the schema: insurance, referral, signing and the medical community.

Assembled into `Scenario` by `schema.py` (import them from there).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from sim.scenario.base import TIERS, Strict
from sim.scenario.field_info import F


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


class ChronicSpecial(Strict):
    """门诊慢特病: outpatient care of recognised chronic conditions, paid like an admission, with its
    own deductible and annual cap, apart from the general outpatient (门诊统筹) cap."""

    recognised_share: float = F(0.15, 0, 1, unit="share",
                                doc="share of hypertension/diabetes patients recognised (认定) for the benefit: "
                                    "diabetes with complications, grade-III hypertension",
                                source="illustrative; county lists name diabetes with complications and grade-III "
                                       "hypertension (Huantai [S19], Zhejiang [S20]); recognised shares not found")
    rate: float = F(0.7, 0, 1, unit="share",
                    doc="reimbursement of recognised patients' chronic outpatient bills (at least the general rate; "
                        "nothing where pooling does not apply)",
                    source="inpatient-like: resident inpatient about 70% in policy scope [S5]; local rates not found")
    deductible: float = F(0.0, 0, 100_000, unit="yuan/year", doc="annual deductible of the benefit",
                          source="illustrative; local deductibles not found (policy_parameters.md section 3)")
    annual_cap: float = F(5000.0, 0, 1_000_000, unit="yuan/year",
                          doc="most the fund pays a person per year for the benefit (separate from the outpatient cap)",
                          source="illustrative; local caps not found (policy_parameters.md section 3)")


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
        chronic_special=ChronicSpecial(rate=0.85, annual_cap=8000.0),
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
    chronic_special: ChronicSpecial = Field(default_factory=ChronicSpecial,
                                            description="门诊慢特病 (employee terms illustrative, above the residents')")


class SeriousIllness(Strict):
    """城乡居民大病保险: pays part of a resident-insured person's in-policy out-of-pocket (after the basic
    fund) above an annual threshold, in bands by the year's qualifying amount. Residents only: no
    source was found for the employees' supplementary cover (职工大额医疗补助)."""

    enabled: bool = F(True, doc="serious-illness insurance pays (resident scheme)")
    threshold_income_share: float = F(0.5, 0, 5, unit="share of income",
                                      doc="annual threshold (起付线) as a share of local per-capita disposable income "
                                          "(the county's mean income)",
                                      source="national rule: no higher than 50% of the previous year's local "
                                             "per-capita disposable income [S1]")
    rate: float = F(0.6, 0, 1, unit="share", doc="rate above the threshold, first band",
                    source="at least 60% [S1, S2]; 60% up to 30,000 yuan [S9]")
    rate_band2: float = F(0.65, 0, 1, unit="share", doc="rate on the year's qualifying amount from band2_from",
                          source="65% for 30,000-100,000 yuan [S9]")
    band2_from: float = F(30_000.0, 0, 10_000_000, unit="yuan/year", doc="qualifying amount where band 2 starts",
                          source="[S9]")
    rate_band3: float = F(0.75, 0, 1, unit="share", doc="rate on the year's qualifying amount from band3_from",
                          source="75% above 100,000 yuan [S8, S9]")
    band3_from: float = F(100_000.0, 0, 10_000_000, unit="yuan/year", doc="qualifying amount where band 3 starts",
                          source="[S8, S9]")
    assisted_bonus: float = F(0.05, 0, 1, unit="rate points", doc="higher rate for low-income residents",
                              source="+5 pp for 低保, 特困 and 返贫致贫 people [S1, S6]")
    assisted_threshold_factor: float = F(0.5, 0, 1, unit="ratio", doc="low-income residents' threshold, relative",
                                         source="deductible cut by 50% (待遇清单, 医保发〔2021〕5号) [S6, S7]")

    @model_validator(mode="after")
    def _bands_in_order(self) -> "SeriousIllness":
        if self.band3_from < self.band2_from:
            raise ValueError("band3_from must be at least band2_from")
        return self


class Assistance(Strict):
    """医疗救助: pays part of low-income residents' in-policy out-of-pocket after the basic fund and
    serious-illness insurance, up to an annual cap. Financed outside the insurance fund."""

    enabled: bool = F(True, doc="medical assistance pays (the low-income, see population.low_income_share)")
    rate: float = F(0.7, 0, 1, unit="share", doc="share of the remaining in-policy out-of-pocket paid",
                    source="广德 2024 [S11]: 特困 80%, 低保 75%, 返贫致贫 70%, 低保边缘/监测 60%; weighted by MCA 2023 "
                           "group sizes [S12] about 70% (derived); Shandong: above 70% (seed 002)")
    deductible: float = F(0.0, 0, 100_000, unit="yuan/year", doc="annual deductible of assistance",
                          source="none for 特困 and 低保, most of the low-income [S11, S12]")
    annual_cap: float = F(50_000.0, 0, 10_000_000, unit="yuan/year", doc="most assistance pays a person per year",
                          source="广德 2024: 50,000 yuan shared by 门诊慢特病 and inpatient care [S11]")


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
    serious_illness: SeriousIllness = Field(default_factory=SeriousIllness)
    assistance: Assistance = Field(default_factory=Assistance)
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
