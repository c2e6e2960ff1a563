"""The declared registry of indicators: every key of `summary.json`, what it is called and how it reads.

One row per key `summarise` returns, in its order (the order of summary.json's keys and of the
tidy tables of experiments). Each row says:

    key       the key in summary.json
    en, zh    the label in English and in Chinese (the official statistical name where one exists)
    unit      the unit as a plain word ("share", "yuan", "visits", ...); `unit_label` prints it
    fmt       the display format: pct, money (million yuan), int, num0, num1, num2
    better    +1 higher is better, -1 lower is better, 0 neither (a judgement, or a quantity to read, not rank)
    headline  one of the rows planners read first (terminal table, report, forest plot), in this order
    total     a sum over the span (grows with its length: not comparable between spans of other lengths)
    dims      for a nested indicator, the keys of each level (`visits_by_tier.county`); () for a number
    listed    the last level is a list (flattened names count from 1: `..._quintile.1`)

Everything that shows an indicator (the terminal table, the HTML report, the experiment figures,
the experiment commands' checks) reads it from here. Nothing here computes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.scenario.schema import SCHEMES, SEVERITIES, TIERS

OUTCOMES = SEVERITIES + ("chronic",)
QUINTILE_NUMBERS = ("1", "2", "3", "4", "5")  # income fifths, 1 poorest
NOT_INDICATORS = ("days",)  # keys of summary.json that describe the span, not the county


@dataclass(frozen=True)
class Indicator:
    """One key of summary.json: its names, unit, format and direction."""

    key: str
    en: str
    zh: str
    unit: str
    fmt: str
    better: int = 0
    headline: bool = False
    total: bool = False
    dims: tuple[tuple[str, ...], ...] = ()
    listed: bool = False

    def label(self, lang: str = "en") -> str:
        """The label in `lang` ('en' or 'zh')."""
        return self.zh if lang == "zh" else self.en


def _i(key, en, zh, unit, fmt, better=0, headline=False, total=False, dims=(), listed=False) -> Indicator:
    return Indicator(key, en, zh, unit, fmt, better, headline, total, dims, listed)


H = True  # headline
# fmt: pct | money | int | num0 | num1 | num2.   better: +1 higher, -1 lower, 0 neither.
REGISTRY: tuple[Indicator, ...] = (
    _i("days", "Days summarised", "统计天数", "days", "int"),
    _i("grassroots_share", "Grassroots share of in-county visits", "县域内基层诊疗人次占比", "share", "pct", +1, H),
    _i("grassroots_share_all", "Grassroots share of all visits", "基层诊疗人次占比", "share", "pct", +1, H),
    _i("in_county_share", "In-county share of visits", "县域内就诊率", "share", "pct", +1, H),
    _i("in_county_inpatient_share", "In-county share of admissions", "县域内住院人次占比", "share", "pct", +1),
    _i("tertiary_share", "Tertiary share of visits", "三级医院诊疗人次占比", "share", "pct", -1, H),
    _i("tertiary_share_of_hospital_visits", "Tertiary share of hospital visits", "三级医院占医院诊疗人次比例",
       "share", "pct", -1),
    _i("hospital_admission_share", "Hospital share of admissions (county and tertiary)", "医院住院人次占比",
       "share", "pct", 0),
    _i("visits_per_capita", "Visits per person per year", "居民年人均诊疗人次", "visits", "num2", 0, H),
    _i("admissions_per_100", "Admissions per 100 per year", "每百人年住院人次", "admissions", "num1", 0, H),
    _i("referrals_up", "Upward referrals", "上转患者人次", "referrals", "int", 0, H, total=True),
    _i("referrals_down", "Downward referrals", "下转患者人次", "referrals", "int", +1, H, total=True),
    _i("down_up_referral_ratio", "Downward referrals per upward referral", "双向转诊比（下转/上转）", "ratio",
       "num2", +1),
    _i("self_referrals", "Self-referrals (sent on without a referral slip)", "自行转诊人次", "referrals", "int", 0,
       total=True),
    _i("claimed_visit_share", "Share of visits claimed from insurance", "医保结算门诊人次占诊疗人次比例", "share",
       "pct", 0),
    _i("referrals_up_per_100", "Upward referrals per 100 residents a year", "每百人年上转人次", "referrals", "num2", 0),
    _i("minor_cases_at_tertiary_share", "Minor cases first seen at tertiary", "小病首诊于三级医院比例", "share",
       "pct", -1, H),
    _i("out_of_county_fund_share", "Fund spent out of county", "县域外医保基金支出占比", "share", "pct", -1, H),
    _i("out_of_county_inpatient_share", "Out-of-county share of admissions", "县域外住院人次占比", "share", "pct",
       -1),
    _i("out_of_county_inpatient_fund_share", "Fund share spent on out-of-county admissions",
       "县域外住院医保基金支出占比", "share", "pct", -1),
    _i("out_of_county_share_of_inpatient_fund", "Out-of-county share of the fund's inpatient spending",
       "县域外住院医保基金支出占住院基金支出比例", "share", "pct", -1),
    _i("top10_out_of_county_inpatients_fund_share", "Fund share of the costliest 10% of out-of-county inpatients",
       "县域外住院费用最高10%患者的医保基金占比", "share", "pct", 0),
    _i("fund_premiums", "Fund income (premiums)", "医保基金收入", "yuan", "money", 0, total=True),
    _i("fund_spending", "Fund spending", "医保基金支出", "yuan", "money", 0, total=True),
    _i("fund_balance", "Fund balance (premiums - spending)", "医保基金当期结余", "yuan", "money", 0, H, total=True),
    _i("fund_reserve_end", "Fund reserve at the end", "医保基金期末累计结余", "yuan", "money", 0),
    _i("community_surplus", "Medical community surplus (budget - claims)", "医共体医保打包结余", "yuan", "money",
       0, total=True),
    _i("medical_costs", "Medical costs billed", "医疗费用总额", "yuan", "money", 0, total=True),
    _i("serious_illness_paid", "Serious-illness insurance payments (in fund spending)", "大病保险支付", "yuan",
       "money", 0, total=True),
    _i("assistance_paid", "Medical assistance payments", "医疗救助支付", "yuan", "money", 0, total=True),
    _i("chronic_special_fund", "Fund payments for outpatient chronic and special diseases", "门诊慢特病基金支付",
       "yuan", "money", 0, total=True),
    _i("oop_per_capita", "Out-of-pocket per person per year", "人均年自付医疗费用", "yuan", "num0", -1, H),
    _i("indirect_cost_per_capita", "Indirect cost of seeking care per person per year (travel, lodging, "
       "a companion's lost income)", "人均年就医间接费用（交通、住宿、陪护误工）", "yuan", "num0", -1),
    _i("oop_per_tertiary_outpatient_visit_resident", "Out-of-pocket per tertiary outpatient visit, resident scheme",
       "三级医院门诊次均自付费用（城乡居民医保）", "yuan", "num1", -1),
    _i("oop_per_tertiary_outpatient_visit_employee", "Out-of-pocket per tertiary outpatient visit, employee scheme",
       "三级医院门诊次均自付费用（职工医保）", "yuan", "num1", -1),
    _i("catastrophic_share", "Catastrophic spending (share of residents)", "灾难性卫生支出发生率", "share", "pct",
       -1, H),
    _i("catastrophic_share_severely_ill", "Catastrophic spending among residents with a severe or critical admission",
       "重症住院患者灾难性卫生支出发生率", "share", "pct", -1),
    _i("forgone_episodes", "Episodes of care forgone", "应就诊未就诊病次", "episodes", "int", -1, H, total=True),
    _i("forgone_share", "Share of episodes forgone", "应就诊未就诊比例", "share", "pct", -1),
    _i("forgone_by_severity", "Episodes of care forgone, by severity", "应就诊未就诊病次（按病情）", "episodes",
       "int", -1, total=True, dims=(OUTCOMES,)),
    _i("chronic_management_rate", "Chronic disease management rate", "慢性病患者规范管理率", "share", "pct", +1, H),
    _i("signing_rate", "Family-doctor signing rate", "家庭医生签约率", "share", "pct", +1, H),
    _i("service_delivery_rate", "Family-doctor service delivery rate (signed residents actually served)",
       "家庭医生签约服务履约率", "share", "pct", +1),
    _i("visits_by_tier", "Visits, by tier", "各级机构诊疗人次", "visits", "int", 0, total=True, dims=(TIERS,)),
    _i("visits_by_tier_scheme", "Visits, by tier and insurance scheme", "各级机构诊疗人次（按医保类型）", "visits",
       "int", 0, total=True, dims=(TIERS, SCHEMES)),
    _i("admissions_by_tier", "Admissions, by tier", "各级机构住院人次", "admissions", "int", 0, total=True,
       dims=(TIERS,)),
    _i("fund_by_tier", "Fund spending, by tier", "各级机构医保基金支出", "yuan", "money", 0, total=True,
       dims=(TIERS,)),
    _i("flow", "Episodes, by first-contact tier and treating tier", "病次（首诊机构→最终诊治机构）", "episodes",
       "int", 0, total=True, dims=(TIERS, TIERS)),
    _i("mean_wait_days", "Mean wait per visit or admission", "次均等待天数", "days", "num2", -1, dims=(TIERS,)),
    _i("outpatient_utilisation", "Outpatient capacity used", "门诊服务能力利用率", "share", "pct", 0, dims=(TIERS,)),
    _i("bed_occupancy", "Bed occupancy", "病床使用率", "share", "pct", 0, dims=(TIERS,)),
    _i("oop_per_capita_by_income_quintile", "Out-of-pocket per person per year, by income fifth",
       "人均年自付医疗费用（按收入五等分）", "yuan", "num0", -1, dims=(QUINTILE_NUMBERS,), listed=True),
)
BY_KEY: dict[str, Indicator] = {ind.key: ind for ind in REGISTRY}
HEADLINE_ROWS: tuple[Indicator, ...] = tuple(ind for ind in REGISTRY if ind.headline)

# Names of the members of each level of a nested indicator.
MEMBERS: dict[str, tuple[str, str]] = {
    "village": ("village clinics", "村卫生室"), "township": ("township health centres", "乡镇卫生院"),
    "county": ("county hospitals", "县级医院"), "tertiary": ("tertiary hospitals", "三级医院"),
    "resident": ("resident scheme", "城乡居民医保"), "employee": ("employee scheme", "职工医保"),
    "minor": ("minor", "轻症"), "moderate": ("moderate", "中症"), "severe": ("severe", "重症"),
    "critical": ("critical", "危重症"), "chronic": ("chronic follow-up", "慢性病随访"),
    "1": ("poorest fifth", "最低收入组"), "2": ("second fifth", "较低收入组"), "3": ("middle fifth", "中等收入组"),
    "4": ("fourth fifth", "较高收入组"), "5": ("richest fifth", "最高收入组"),
}
UNITS: dict[str, tuple[str, str]] = {  # unit -> (English, Chinese) as printed after a label
    "share": ("%", "%"), "yuan": ("yuan", "元"), "visits": ("visits", "人次"), "admissions": ("admissions", "人次"),
    "referrals": ("referrals", "人次"), "episodes": ("episodes", "病次"), "days": ("days", "天"),
    "ratio": ("ratio", "比值"),
}
COLUMN_HEADS: dict[str, tuple[str, str]] = {  # heads of the indicator tables
    "indicator": ("Indicator", "指标"), "whole_run": ("Whole run", "全程"),
    "before": ("Before day {day}", "第{day}天前"), "after": ("From day {day}", "第{day}天起"),
    "change": ("Change", "变化"), "this_run": ("This run", "本次模拟"), "published": ("Published", "公开数据"),
    "within": ("Within", "在范围内"), "year": ("Year", "年份"), "source": ("Source", "来源"),
    "period_totals": ("(period totals)", "（时段合计）"), "yes": ("yes", "是"), "no": ("no", "否"),
}


def in_lang(pair: tuple[str, str], lang: str = "en", **fmt) -> str:
    """The English or Chinese (`lang` 'zh') of an (English, Chinese) pair, `{fields}` filled from `fmt`."""
    text = pair[1] if lang == "zh" else pair[0]
    return text.format(**fmt) if fmt else text


def head(name: str, lang: str = "en", **fmt) -> str:
    """A table column head in `lang`."""
    return in_lang(COLUMN_HEADS[name], lang, **fmt)


def flat_names(ind: Indicator) -> list[str]:
    """The names an indicator takes among the flattened scalars (`visits_by_tier.county`, ...)."""
    names = [ind.key]
    for level in ind.dims:
        names = [f"{n}.{m}" for n in names for m in level]
    return names


def indicator_names() -> list[str]:
    """Every scalar indicator a run reports, nested ones flattened, in the order of summary.json's keys."""
    return [n for ind in REGISTRY if ind.key not in NOT_INDICATORS for n in flat_names(ind)]


def lookup(name: str) -> Indicator:
    """The registry row of a key or a flattened name (`visits_by_tier.county` -> visits_by_tier)."""
    return BY_KEY[name.split(".", 1)[0]]


def label(name: str, lang: str = "en") -> str:
    """The label of a key or a flattened name (`Visits, by tier: county hospitals`)."""
    ind = BY_KEY.get(name.split(".", 1)[0])
    if ind is None:
        return name
    parts = name.split(".")[1:]
    if not parts:
        return ind.label(lang)
    members = [MEMBERS.get(p, (p, p))[1 if lang == "zh" else 0] for p in parts]
    if lang == "zh":
        return f"{ind.zh}：{'→'.join(members) if ind.key == 'flow' else '·'.join(members)}"
    return f"{ind.en}: {' → '.join(members) if ind.key == 'flow' else ', '.join(members)}"


AREA_WORDS = (("In-county", "In-area"), ("in-county", "in-area"), ("Out-of-county", "Out-of-area"),
              ("out-of-county", "out-of-area"), ("out of county", "out of the area"), ("县域内", "区域内"),
              ("县域外", "区域外"))


def for_areas(label: str) -> str:
    """A county's label said of a region's areas (县域内 -> 区域内, in-county -> in-area): each area's
    residents' own area, as in the areas' tables."""
    for county, area in AREA_WORDS:
        label = label.replace(county, area)
    return label


def row_label(ind: Indicator, lang: str = "en", areas: bool = False) -> str:
    """A table row's label: the label, and "yuan" for amounts of money (the cells carry every other unit);
    with `areas`, said of a region's areas (`for_areas`)."""
    if ind.unit != "yuan" or (lang == "zh" and ind.fmt == "money"):  # 万元 is printed in the cell
        text = ind.label(lang)
    else:
        text = f"{ind.zh}（元）" if lang == "zh" else f"{ind.en}, yuan"
    return for_areas(text) if areas else text


def unit_label(name: str, lang: str = "en") -> str:
    """The unit a value is shown in: "%" for shares, "million yuan" for money, else the unit word."""
    ind = lookup(name)
    if ind.fmt == "money":
        return "百万元" if lang == "zh" else "million yuan"
    return in_lang(UNITS.get(ind.unit, (ind.unit, ind.unit)), lang)


def label_with_unit(name: str, lang: str = "en") -> str:
    """`Fund balance (premiums - spending), million yuan` (`医保基金当期结余（百万元）`): an axis label."""
    unit = unit_label(name, lang) if name.split(".", 1)[0] in BY_KEY else ""
    if not unit:
        return label(name, lang)
    return f"{label(name, lang)}（{unit}）" if lang == "zh" else f"{label(name, lang)}, {unit}"


def display_scale(name: str) -> float:
    """What a value is multiplied by to be shown in its `unit_label` (100 for shares, 1e-6 for money)."""
    ind = BY_KEY.get(name.split(".", 1)[0])
    if ind is None:
        return 1.0
    return 100.0 if ind.fmt == "pct" else 1e-6 if ind.fmt == "money" else 1.0
