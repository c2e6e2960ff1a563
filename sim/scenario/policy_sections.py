"""The policy sections of the schema: insurance, referral, signing and the medical community.

Assembled into `Scenario` by `schema.py` (import them from there).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.scenario.base import TIERS, Strict
from sim.scenario.field_info import F


# ----------------------------------------------------------------------- insurance

class TierRule(Strict):
    """Reimbursement at one hospital grade for one scheme and setting."""

    rate: float = F(0.5, 0, 1, unit="share", doc="pooled reimbursement rate above the deductible")
    deductible: float = F(0.0, 0, 1_000_000, unit="yuan",
                          doc="deductible (起付线): per year for outpatient care, per admission for inpatient care")
    annual_cap: float | None = F(None, 0, 100_000_000, unit="yuan/year",
                                 doc="most the fund pays a person per year at this tier (null: no cap)")
    pooled: bool = F(True, doc="pooled (统筹) reimbursement applies at this tier at all")
    fee_covered: float = F(0.0, 0, 1000, unit="yuan/visit",
                           doc="outpatient only: the part of each visit's service fee (providers.registration_fee) "
                               "the fund pays, outside the deductible and caps, where the visit is reimbursed",
                           source="neutral by default; Beijing 2017: 40 yuan of the 医事服务费 at 三级 hospitals paid "
                                  "by insurance (京政发〔2017〕11号)")


def _rules(rates: tuple[float, float, float, float], deductibles: tuple[float, float, float, float],
           pooled: tuple[bool, bool, bool, bool] = (True, True, True, True)) -> dict[str, TierRule]:
    return {t: TierRule(rate=r, deductible=d, pooled=p) for t, r, d, p in zip(TIERS, rates, deductibles, pooled)}


class SettingRules(Strict):
    """Rules for one setting (outpatient or inpatient) of one scheme, by hospital grade (医院等级):
    insurance keys its terms by a facility's grade, not its place in the chain. The keys name
    the grade each tier has by default: `village` is ungraded (未定级), `township` 一级, `county`
    二级, `tertiary` 三级 (so a 三级 county hospital is paid on the `tertiary` terms)."""

    village: TierRule = Field(default_factory=TierRule, description="未定级 (ungraded: village clinics)")
    township: TierRule = Field(default_factory=TierRule, description="一级 (grade 1: township health centres)")
    county: TierRule = Field(default_factory=TierRule, description="二级 (grade 2: county hospitals by default)")
    tertiary: TierRule = Field(default_factory=TierRule, description="三级 (grade 3: city and provincial "
                                                                      "hospitals, 三级 county hospitals)")
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
    pooling_level: Literal["county", "prefecture", "province"] = F(
        "prefecture", doc="level at which the scheme's fund is pooled (统筹层次): at the province (省级统筹), care "
                          "elsewhere in the province (省内异地) is local care for its enrolees, on the pooling "
                          "area's terms; at the county (县级统筹, the old NCMS), the prefecture's hospitals are "
                          "省内异地 too",
        source="most areas pool at prefecture level [S36]; URRBMI in principle at prefecture level (国发〔2016〕3号); "
               "NCMS pooled by county (国办发〔2003〕3号); employee insurance pooled at province level in a "
               "staggered rollout (王乔 2023, 中国卫生政策研究 16(9):36-43)")


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


class OutOfAreaPlace(Strict):
    """Terms for care outside the pooling area (异地就医) at one kind of place."""

    referred_cut: float = F(0.05, 0, 1, unit="rate points",
                            doc="rate cut when referred or registered (备案); national rule: at most 10 points")
    unreferred_cut: float = F(0.15, 0, 1, unit="rate points",
                              doc="rate cut when neither referred nor registered; national rule: at most 20 points "
                                  "(replaces referral.unreferred_out_of_county_penalty here)")
    deductible_multiplier: float = F(2.0, 0, 20, unit="ratio", doc="deductible there over the local one")
    registration_required: bool = F(False, doc="no pooled reimbursement without referral or registration (备案)")
    registered_share: float = F(0.65, 0, 1, unit="share",
                                doc="share of residents who register (备案) before an admission there; a "
                                    "registered admission is paid on the referred terms",
                                source="cross-province inpatient direct settlement (which needs 备案) rose from "
                                       "under 5% (2017) to about 65% (2022) [S40]; 8.04 million online filings "
                                       "in 2023 [S39]")


def _out_of_province() -> OutOfAreaPlace:
    return OutOfAreaPlace(referred_cut=0.10, unreferred_cut=0.20, deductible_multiplier=2.0)


class OutOfArea(Strict):
    """异地就医: care outside the pooling area. Care elsewhere in the pooling area (the
    prefecture city hospital under 市级统筹) is local care, not 异地."""

    province: OutOfAreaPlace = Field(
        default_factory=OutOfAreaPlace, description="省内异地: elsewhere in the province",
        json_schema_extra={"source": "医保发〔2022〕22号: referred or emergency at most -10 points, unreferred at "
                                     "most -20 [S31, S32]; Anhui city 2024: in province deductible doubled and "
                                     "-5 points, a further -10 if not registered [S33]"})
    out_of_province: OutOfAreaPlace = Field(
        default_factory=_out_of_province, description="跨省异地: out of the province",
        json_schema_extra={"source": "Anhui city 2024: out of province -10 points if referred, -20 if not [S33]; "
                                     "Inner Mongolia: unreferred 10 points below referred [S35]; deductible "
                                     "multiplier an assumption (Anhui: 20% of the bill, 2,000-10,000 yuan)"})


class Insurance(Strict):
    """The two schemes, in-county rules, care outside the pooling area and the fund."""

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
    out_of_area: OutOfArea = Field(default_factory=OutOfArea)
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

    required_for_out_of_county: bool = F(False, doc="out-of-county care without referral gets no pooled reimbursement "
                                                    "(in the pooling area and 异地 alike)")
    unreferred_out_of_county_penalty: float = F(0.1, 0, 1, unit="rate points",
                                                doc="reimbursement rate cut for unreferred out-of-county care "
                                                    "in the pooling area (异地 care: insurance.out_of_area)")
    required_at_county_hospital: bool = F(
        False, doc="outpatient care at the county hospital without a referral slip from primary care gets no "
                   "pooled reimbursement (a gate inside the county; the patient pays it all out of pocket and no "
                   "claim reaches the fund)",
        source="NCMS gatekeeping pilot 2012-14: a referral from primary care was a condition of reimbursement "
               "for hospital care, the county hospital included (Xu, Powell-Jackson & Mills 2020, BMJ Glob "
               "Health 5:e002792)")
    formal_share: float = F(0.04, 0, 1, unit="share",
                            doc="share of cases beyond a facility's capability that get a referral slip (转诊); "
                                "the rest are told to go elsewhere and go on unreferred (自行转诊)",
                            source="NHC 2023: 15.60 m up-referrals = 1.11 per 100 residents; 2024 about 36 m "
                                   "two-way (seed 000) = about 1.3 up per 100 at 2023's split; a county's cases "
                                   "beyond capability are about 33 per 100 residents a year, so about 0.04 "
                                   "(NHC statistical bulletins 2023-24)")
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


class SigningTeam(Strict):
    """The family-doctor team (家庭医生团队) of each village clinic: who can serve how many."""

    members: int = F(3, 1, 20, unit="members/team",
                     doc="team members (a GP or village doctor, a nurse, a public-health worker)",
                     source="national guidance: GP + nurse + public-health staff; Wuhan 2018: 1,398 teams, "
                            "5,714 members, about 4.1 per team (张霄艳 et al. 2022)")
    panel_per_member: float = F(700.0, 1, 10_000, unit="residents/member",
                                doc="signed residents one member can serve (the team's panel is members x this)",
                                source="Shanghai 2013 norm: 800 families, 2,000-5,000 residents per family "
                                       "doctor (China Daily 2013-01-24); Guangdong 2020: median 1,400 signed "
                                       "residents per team, 2,000 the line studied as overload")
    delivery_elasticity: float = F(1.0, 0, 5, unit="exponent",
                                   doc="how hard an over-full panel cuts the contracted services: delivery "
                                       "(履约) = min(1, capacity / panel) ** this; 0: signing is service",
                                   source="illustrative; 签约率虚高, 只签不约 (宋宝香 & 杨玲 2023)")
    sign_beyond_capacity: float = F(1.0, 1, 5, unit="x capacity",
                                    doc="how far a team pressed by the signing target signs beyond what it can "
                                        "serve (1: never; 2: up to twice its capacity, paper signing)",
                                    source="illustrative; 签约无感 (seed article 000)")


class SigningFirstContact(Strict):
    """Served residents contact their own family-doctor team (the village clinic's) first (基层首诊),
    and the team treats them or refers them on (as any clinic: a slip with `referral.formal_share`,
    which the national referral count already includes; a slip then goes first under
    `benefits.priority_referral`); at least `share` of their episodes within
    the team's reach (illness its clinic treats in full: capability at least the severity; minor
    illness at a village clinic) start with the team (the choice's own pull is topped up to this)."""

    share: float = F(0.558, 0, 1, unit="share",
                     doc="share of served residents' episodes within reach that start with their own team "
                         "(0: signing acts only through the choice's bonus)",
                     source="Feng, Lei, Li et al. (2024), Front Med 11:1435940, doi 10.3389/fmed.2024.1435940: "
                            "55.8% of 2,394 signed residents in eastern, central and western China sought care "
                            "from their family doctor first when ill")


class SigningChronicCare(Strict):
    """A hospital-community chronic-care package on top of signing (Xiamen 三师共管): hospital
    specialists hold sessions at the township centres and the centres' drug list matches the
    hospital's. Off (0) by default."""

    specialist_quality: float = F(0.0, 0, 2, unit="quality units",
                                  doc="how much better chronic follow-ups at a township centre are with a "
                                      "hospital specialist's sessions there (only for chronic care)",
                                  source="Xiamen 2014-15: 1+1+X, specialists from tertiary hospitals paired "
                                         "with community GPs (BMC Health Serv Res 2017, doi "
                                         "10.1186/s12913-017-2705-2, Table 1); size illustrative")
    drug_list_matched: bool = F(False, doc="the township centres stock the hospitals' chronic drug list, so the "
                                           "team books served chronic patients' follow-ups there (at least "
                                           "first_contact.share of them; without it the patients choose)",
                                source="Xiamen 2015: the same essential drug list in community centres as in "
                                       "general hospitals (BMC Health Serv Res 2017, Table 1)")


class Signing(Strict):
    """Family-doctor signing (家庭医生签约)."""

    initial_rate: float = F(0.35, 0, 1, unit="share", doc="share of residents signed on day 0",
                            source="national key-group signing above 60%; all residents about a third")
    target_rate: float = F(0.35, 0, 1, unit="share",
                           doc="share the signing campaign reaches (signing only grows: a lower target signs no one)")
    ramp_days: int = F(0, 0, 3650, unit="days", doc="days to move from the current to the target rate")
    priority: SigningPriority = Field(default_factory=SigningPriority)
    benefits: SigningBenefits = Field(default_factory=SigningBenefits)
    team: SigningTeam = Field(default_factory=SigningTeam)
    first_contact: SigningFirstContact = Field(default_factory=SigningFirstContact)
    chronic_care: SigningChronicCare = Field(default_factory=SigningChronicCare)


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


class HeadHospital(Strict):
    """The county hospital as head of the community (医共体牵头医院): how it uses the budget."""

    keep_volume_weight: float = F(0.5, 0, 1, unit="share",
                                  doc="its preference for keeping volume (stretching before referring out, growing "
                                      "its own beds) over sending it down and seconding experts; 0.5 reproduces "
                                      "the fixed rules of global_budget",
                                  source="both are observed: Sanming ITS county outpatient +1376/month, grassroots "
                                         "flat; Hubei Y County admissions +31 vs +20/month; Anhui Funan township "
                                         "share +0.44 (docs/evidence/validation_evidence.md C1-C3)")
    own_fees: float = F(0.5, 0, 1, unit="share",
                        doc="share of the head's income that follows its own fee-for-service volume (1: paid per "
                            "service for its own patients; 0: a fixed budget or salaries); with surplus_share it "
                            "moves keep_volume_weight (0.5 and 0.5 leave it as set)",
                        source="payment terms as each community had them: Hubei 'Y County' alliances 2011, no payment "
                               "change described, so NCMS claims paid to each hospital (Ran et al. 2020, doi "
                               "10.1186/s12939-020-01260-x); Sanming 总医院 2017: pay tied to its medical service "
                               "revenue (scenarios/validation/c1_sanming_community.yaml)")
    surplus_share: float = F(0.5, 0, 1, unit="share",
                             doc="share of the community's budget surplus (结余留用) the head keeps, under a global "
                                 "budget; the rest goes to member centres and clinics",
                             source="Sanming 2017: the 总医院 is one legal entity and keeps the package's surplus; "
                                    "elsewhere members share it by agreement (scenario headers)")
    budget_response: float = F(2.0, 0, 20, unit="ratio",
                               doc="how far the running balance moves its effort: effort = 1 - response x "
                                   "(budget - claims) / budget over the last 90 days (a deficit pushes it)",
                               source="assumption: a 10% deficit raises the effort by a fifth")
    max_effort: float = F(3.0, 1, 10, unit="ratio", doc="most the effort can reach (x the global_budget rules)")
    review_days: int = F(30, 1, 365, unit="days", doc="days between its reviews")
    max_secondment: float = F(2.0, 0, 5, unit="ratio",
                              doc="most experts it seconds to member grassroots, x experts_* gains; "
                                  "it seconds 2 x (1 - keep_volume_weight) of them",
                              source="assumption (Anhui/Zhejiang 下沉: a share of senior doctors rotate down)")
    growth: float = F(0.03, 0, 1, unit="share",
                      doc="own capacity and beds added at a review when crowded, x 2 x (keep_volume_weight - 0.5)",
                      source="assumption; county beds grew about 4% a year 2015-2023 (NHC yearbooks)")
    max_expansion: float = F(1.5, 1, 5, unit="ratio", doc="most its capacity and beds can grow over the start")


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
    head: HeadHospital = Field(default_factory=HeadHospital)
    formal_share: float = F(0.2, 0, 1, unit="share",
                            doc="share of cases beyond capability at member facilities that get a referral slip "
                                "(the community's chain issues slips routinely)",
                            source="Pudong family-doctor up-referrals about 6-7 per 100 a year, 5-6 x the national "
                                   "1.11 (Liu et al. 2021, BMC Primary Care; docs/evidence/referrals_and_providers.md)")

    @model_validator(mode="after")
    def _budget_needs_community(self) -> "MedicalCommunity":
        if self.global_budget.enabled and not self.enabled:
            raise ValueError("global_budget.enabled: true needs enabled: true (the budget is paid to the "
                             "medical community; without one it would do nothing)")
        return self
