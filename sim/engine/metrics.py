"""Indicators: the daily ledger the model writes, and the summaries named after official indicators.

The model adds counts and money to a `Ledger` row each day (scaled by residents per
agent); `summarise` turns a span of days into the run's indicators. Nothing here knows
about files or screens.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from itertools import product

import numpy as np

from sim.engine.indicators import BY_KEY, HEADLINE_ROWS, OUTCOMES, REGISTRY
from sim.scenario.schema import SCHEMES, SETTINGS, SEVERITIES, TIERS

KINDS = ("acute", "chronic")
QUINTILES = ("q1", "q2", "q3", "q4", "q5")  # income quintiles, q1 poorest

# Groups of columns: name -> dimensions. Counts and money are scaled by residents per agent.
GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "visits": (TIERS, SCHEMES),            # outpatient/emergency visits (诊疗人次)
    "first_visits": (TIERS,),              # first contact of each episode that sought care
    "first_visits_scheme": (TIERS, SCHEMES),  # the same by insurance scheme (acute outpatient episodes)
    "flow": (TIERS, TIERS),                # first-contact tier -> tier that finally treated
    "admissions": (TIERS, SCHEMES),        # 入院人次, including admissions after a downward referral
    "admissions_severity": (SEVERITIES, TIERS),  # first admissions of episodes, by severity and tier
    "referrals_up": (TIERS,),              # upward referrals, by the tier that referred
    "referrals_down": (("inpatient", "chronic"),),
    "self_referrals": (TIERS,),            # sent on without a referral slip (自行转诊), by the tier left
    "episodes": (KINDS,),                  # new episodes (acute onsets, chronic follow-ups due)
    "forgone": (OUTCOMES,),                # did not seek care
    "reneged": (OUTCOMES,),                # gave up while waiting
    "forgone_quintile": (QUINTILES,),      # forgone or given up, by income quintile (who bears the harm)
    "oop_quintile": (QUINTILES,),          # out-of-pocket by income quintile
    "oop_severity": (OUTCOMES,),           # out-of-pocket by severity of the episode
    "treated": (SETTINGS,),                # episodes that ended in treatment
    "minor": (("sought", "first_tertiary"),),
    "billed": (SETTINGS, TIERS),
    "reimbursed": (SETTINGS, TIERS, SCHEMES),
    "oop": (SETTINGS, TIERS, SCHEMES),
    "serious_illness": (SETTINGS, TIERS, SCHEMES),  # 大病保险 payments
    "assistance": (SETTINGS, TIERS, SCHEMES),       # 医疗救助 payments
    "chronic_special": (TIERS, SCHEMES),            # the fund's 门诊慢特病 payments (part of "reimbursed")
    "wait_days": (TIERS,),                 # patient-days of waiting for a visit or a bed
    "capacity": (TIERS,),                  # outpatient visits the tier could see that day
    "beds": (TIERS,),
    "beds_occupied": (TIERS,),
    "indirect": (SETTINGS, TIERS),         # indirect costs of contacts: trips, lodging, a companion's income
    "claims": (TIERS, SCHEMES),            # outpatient visits claimed: billed at a positive reimbursement rate
}
SCALARS_SCALED = ("premiums", "settlement", "queue_outpatient", "queue_admission", "followups_grassroots",
                  "budget", "budget_claims")
STATES = ("signing_rate", "chronic_managed_rate") + tuple(f"trust_{t}" for t in TIERS) + ("service_delivery_rate",)


def _group_columns(name: str, dims: tuple[tuple[str, ...], ...]) -> list[str]:
    return ["_".join((name,) + combo) for combo in product(*dims)]


COLUMNS: list[str] = ["day"]
GROUP_SLICE: dict[str, slice] = {}
for _name, _dims in GROUPS.items():
    _cols = _group_columns(_name, _dims)
    GROUP_SLICE[_name] = slice(len(COLUMNS), len(COLUMNS) + len(_cols))
    COLUMNS += _cols
COLUMNS += list(SCALARS_SCALED) + list(STATES)
INDEX = {c: i for i, c in enumerate(COLUMNS)}


class Ledger:
    """One row of counts per simulated day."""

    checked = False  # check every addition's cell index (the tests turn this on; it costs time)

    def __init__(self, days: int, scale: int, warmup: int = 0):
        """Rows for the warm-up days (dropped from results) and the recorded days."""
        self.rows = np.zeros((warmup + days, len(COLUMNS)))
        self.rows[:, 0] = np.arange(-warmup, days)
        self.scale = scale
        self._day = 0  # row index
        self.pending: list[tuple[int, np.ndarray, np.ndarray | None]] = []  # (group start, cells, weights) today

    @property
    def day(self) -> int:
        """Today's row index."""
        return self._day

    @day.setter
    def day(self, value: int) -> None:
        self.flush()
        self._day = value

    @property
    def row(self) -> np.ndarray:
        """Today's row (with every count added so far)."""
        self.flush()
        return self.rows[self._day]

    def add_by(self, group: str, index: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add counts (or weights) into a group's cells; `index` is the flat cell index.

        The day's additions are kept and summed in one pass when the row is read.
        """
        if len(index):
            if self.checked:
                size = GROUP_SLICE[group].stop - GROUP_SLICE[group].start
                if index.min() < 0 or index.max() >= size:
                    raise IndexError(f"cell index outside the {group!r} group (0 to {size - 1})")
            self.pending.append((GROUP_SLICE[group].start, index, weights))

    def flush(self) -> None:
        """Sum the pending additions into today's row."""
        if not self.pending:
            return
        starts, indexes, weights = zip(*self.pending)
        self.pending = []
        cells = np.concatenate(indexes) + np.repeat(starts, [len(i) for i in indexes])
        weight = np.concatenate([np.ones(len(i)) if w is None else w for i, w in zip(indexes, weights)])
        self.rows[self._day] += np.bincount(cells, weights=weight, minlength=len(COLUMNS)) * self.scale

    def add(self, column: str, value: float) -> None:
        """Add a scaled count or amount to one column."""
        self.rows[self._day, INDEX[column]] += value * self.scale

    def set_group(self, group: str, values: np.ndarray, scaled: bool = True) -> None:
        """Set a group's cells (states such as capacity and occupied beds)."""
        self.rows[self._day, GROUP_SLICE[group]] = np.asarray(values) * (self.scale if scaled else 1)

    def set(self, column: str, value: float, scaled: bool = False) -> None:
        """Set a state column (rates are not scaled)."""
        self.rows[self._day, INDEX[column]] = value * (self.scale if scaled else 1)

    def group(self, name: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """Sum of a group over days [start, end), shaped by its dimensions."""
        self.flush()
        dims = tuple(len(d) for d in GROUPS[name])
        return self.rows[start:end, GROUP_SLICE[name]].sum(axis=0).reshape(dims)


def group(daily: dict[str, np.ndarray], name: str, start: int = 0, end: int | None = None) -> np.ndarray:
    """Sum of a column group over a span of days, from a `daily` mapping of columns."""
    cols = _group_columns(name, GROUPS[name])
    dims = tuple(len(d) for d in GROUPS[name])
    return np.array([daily[c][start:end].sum() for c in cols]).reshape(dims)


@dataclass
class PersonTotals:
    """Per-resident totals over a span of days (for distributional indicators)."""

    oop: np.ndarray                 # out-of-pocket spending in the span
    ooc_inpatient_fund: np.ndarray  # fund spending on out-of-county admissions in the span
    capacity_to_pay: np.ndarray     # yearly capacity to pay
    catastrophic_threshold: float
    income_quintile: np.ndarray     # 0 (poorest) .. 4
    scale: int                      # residents per agent
    severely_ill: np.ndarray | None = None  # had a severe or critical admission in the span


@dataclass
class PersonStats:
    """What the distributional indicators need of `PersonTotals` over a span, reduced so that areas
    run apart (a region's) can be put together (`merged`) without sending every resident."""

    residents: int                   # agents
    catastrophic: int                # agents with catastrophic spending in the span
    severe: int                      # agents with a severe or critical admission
    severe_catastrophic: int
    oop_by_quintile: np.ndarray      # out-of-pocket summed by income quintile (agent units)
    count_by_quintile: np.ndarray    # agents by income quintile
    ooc_inpatient_fund: np.ndarray   # fund on out-of-county admissions, per agent who had any
    scale: int

    @classmethod
    def of(cls, persons: PersonTotals, year: float) -> "PersonStats":
        """Reduce per-resident totals over a span (`year`: 365 / days of the span)."""
        catastrophic = persons.oop > persons.catastrophic_threshold * persons.capacity_to_pay / year
        severe = persons.severely_ill if persons.severely_ill is not None else np.zeros(len(persons.oop), bool)
        return cls(len(persons.oop), int(catastrophic.sum()), int(severe.sum()), int(catastrophic[severe].sum()),
                   np.bincount(persons.income_quintile, weights=persons.oop, minlength=5),
                   np.bincount(persons.income_quintile, minlength=5),
                   persons.ooc_inpatient_fund[persons.ooc_inpatient_fund > 0], persons.scale)

    @classmethod
    def merged(cls, parts: list["PersonStats"]) -> "PersonStats":
        """Several areas' statistics as one population (in the order given: sums are order-exact)."""
        first = parts[0]
        out = cls(0, 0, 0, 0, np.zeros(5), np.zeros(5, np.int64), np.concatenate([p.ooc_inpatient_fund for p in parts]),
                  first.scale)
        for p in parts:
            out.residents += p.residents
            out.catastrophic += p.catastrophic
            out.severe += p.severe
            out.severe_catastrophic += p.severe_catastrophic
            out.oop_by_quintile = out.oop_by_quintile + p.oop_by_quintile
            out.count_by_quintile = out.count_by_quintile + p.count_by_quintile
        return out


def _share(num: float, den: float) -> float:
    return float(num / den) if den > 0 else 0.0


def summarise(daily: dict[str, np.ndarray], persons: PersonTotals | PersonStats, residents: int,
              start: int = 0, end: int | None = None, fund_reserve_start: float = 0.0) -> dict:
    """The run's indicators over days [start, end), named after the official statistics.

    The keys, in order, are the rows of `sim.engine.indicators.REGISTRY`.
    """
    end = len(daily["day"]) if end is None else end
    days = max(end - start, 1)
    year = 365.0 / days
    if isinstance(persons, PersonTotals):
        persons = PersonStats.of(persons, year)
    g = lambda name: group(daily, name, start, end)  # noqa: E731
    total = lambda col: float(daily[col][start:end].sum())  # noqa: E731
    visits = g("visits").sum(axis=1)            # by tier
    adm = g("admissions").sum(axis=1)
    values = {"days": days}
    values.update(_access(g, visits, adm, residents, year))
    values.update(_money(g, total, persons, visits, adm, residents, year, fund_reserve_start))
    values.update(_equity_and_care(daily, g, persons, end, year))
    values.update(_by_tier(g, visits, adm))
    if values.keys() != BY_KEY.keys():
        raise AssertionError(f"summarise and the registry disagree: {sorted(values.keys() ^ BY_KEY.keys())}")
    return {ind.key: values[ind.key] for ind in REGISTRY}


def _access(g, visits: np.ndarray, adm: np.ndarray, residents: int, year: float) -> dict:
    """Where people are seen: shares of visits and admissions by tier, use per person, referrals."""
    v, t, c, h = visits
    referrals_down = g("referrals_down")
    minor = g("minor")
    return {
        "grassroots_share": _share(v + t, v + t + c),        # 县域内基层医疗卫生机构诊疗人次占比
        "grassroots_share_all": _share(v + t, visits.sum()),
        "in_county_share": _share(v + t + c, visits.sum()),   # 县域内就诊率 (visits)
        "in_county_inpatient_share": _share(adm[:3].sum(), adm.sum()),
        "tertiary_share": _share(h, visits.sum()),
        "tertiary_share_of_hospital_visits": _share(h, c + h),
        "hospital_admission_share": _share(adm[2:].sum(), adm.sum()),
        "visits_per_capita": float(visits.sum() / residents * year),
        "admissions_per_100": float(adm.sum() / residents * 100 * year),
        "referrals_up": float(g("referrals_up").sum()),
        "referrals_down": float(referrals_down.sum()),
        "down_up_referral_ratio": _share(referrals_down.sum(), g("referrals_up").sum()),
        "self_referrals": float(g("self_referrals").sum()),
        "claimed_visit_share": _share(g("claims").sum(), visits.sum()),  # what claims data sees of visits
        "referrals_up_per_100": float(g("referrals_up").sum() / residents * 100 * year),
        "minor_cases_at_tertiary_share": _share(minor[1], minor[0]),
        "out_of_county_inpatient_share": _share(adm[3], adm.sum()),
    }


def _money(g, total, persons: PersonStats, visits: np.ndarray, adm: np.ndarray, residents: int, year: float,
           fund_reserve_start: float) -> dict:
    """The insurance fund, the medical community's budget, and what patients pay."""
    reimbursed = g("reimbursed")                # setting, tier, scheme
    oop = g("oop")
    op_visits_scheme = g("visits")
    fund_by_tier = reimbursed.sum(axis=(0, 2))
    si = g("serious_illness")                   # 大病保险: bought with the resident fund's premiums
    serious_illness = float(si.sum())
    spending = float(fund_by_tier.sum()) + total("settlement") + serious_illness
    # Where the fund's money goes: its claims, 大病保险 included (the budget settlement is no claim).
    claims_by_tier = fund_by_tier + si.sum(axis=(0, 2))
    claims = float(claims_by_tier.sum())
    premiums = total("premiums")
    # Siphoning: the out-of-county inpatients who take the most of the fund.
    ooc = persons.ooc_inpatient_fund
    top = np.sort(ooc)[::-1][: max(int(np.ceil(0.1 * len(ooc))), 1)] if len(ooc) else np.zeros(0)
    return {
        "out_of_county_fund_share": _share(claims_by_tier[3], claims),
        "out_of_county_inpatient_fund_share": _share(reimbursed[1, 3].sum() + si[1, 3].sum(), claims),
        # The same over inpatient claims only (a statement of "the fund" may mean its inpatient part).
        "out_of_county_share_of_inpatient_fund": _share(reimbursed[1, 3].sum() + si[1, 3].sum(),
                                                        reimbursed[1].sum() + si[1].sum()),
        "top10_out_of_county_inpatients_fund_share": _share(float(top.sum()) * persons.scale, claims),
        "fund_premiums": premiums,
        "fund_spending": spending,
        "fund_balance": premiums - spending,
        "fund_reserve_end": fund_reserve_start + premiums - spending,
        "community_surplus": total("budget") - total("budget_claims"),  # 结余 of the medical community
        "medical_costs": float(g("billed").sum()),
        "serious_illness_paid": serious_illness,
        "assistance_paid": float(g("assistance").sum()),
        "chronic_special_fund": float(g("chronic_special").sum()),
        "oop_per_capita": float(oop.sum() / residents * year),
        "indirect_cost_per_capita": float(g("indirect").sum() / residents * year),
        "oop_per_tertiary_outpatient_visit_resident": _share(oop[0, 3, 0], op_visits_scheme[3, 0]),
        "oop_per_tertiary_outpatient_visit_employee": _share(oop[0, 3, 1], op_visits_scheme[3, 1]),
        "fund_by_tier": dict(zip(TIERS, map(float, fund_by_tier))),
    }


def _equity_and_care(daily, g, persons: PersonStats, end: int, year: float) -> dict:
    """Who bears the cost, care forgone, and the states of chronic care and family doctors at the end."""
    last = lambda col: float(daily[col][end - 1])  # noqa: E731
    forgone = g("forgone")
    reneged = g("reneged")
    oop_by_q = persons.oop_by_quintile / np.maximum(persons.count_by_quintile, 1) * year
    return {
        "catastrophic_share": _share(persons.catastrophic, persons.residents),
        "catastrophic_share_severely_ill": _share(persons.severe_catastrophic, persons.severe),
        "forgone_episodes": float(forgone.sum() + reneged.sum()),
        "forgone_share": _share(forgone.sum() + reneged.sum(), g("episodes").sum()),
        "forgone_by_severity": {k: float(forgone[i] + reneged[i]) for i, k in enumerate(OUTCOMES)},
        "chronic_management_rate": last("chronic_managed_rate"),
        "signing_rate": last("signing_rate"),
        "service_delivery_rate": last("service_delivery_rate"),
        "oop_per_capita_by_income_quintile": [float(x) for x in oop_by_q],
    }


def _by_tier(g, visits: np.ndarray, adm: np.ndarray) -> dict:
    """Counts, flows, waits and occupancy by tier."""
    op_visits_scheme = g("visits")
    flow = g("flow")
    wait = g("wait_days")
    capacity = g("capacity")
    beds = g("beds")
    occupied = g("beds_occupied")
    return {
        "visits_by_tier": dict(zip(TIERS, map(float, visits))),
        "visits_by_tier_scheme": {t_: dict(zip(SCHEMES, map(float, op_visits_scheme[i])))
                                  for i, t_ in enumerate(TIERS)},
        "admissions_by_tier": dict(zip(TIERS, map(float, adm))),
        "flow": {a: dict(zip(TIERS, map(float, flow[i]))) for i, a in enumerate(TIERS)},
        "mean_wait_days": {t_: _share(wait[i], visits[i] + adm[i]) for i, t_ in enumerate(TIERS)},
        "outpatient_utilisation": {t_: _share(visits[i], capacity[i]) for i, t_ in enumerate(TIERS)},
        "bed_occupancy": {t_: _share(occupied[i], beds[i]) for i, t_ in enumerate(TIERS)},
    }


# The headline indicators, in the order planners read them: (key, English label, format), from the registry.
HEADLINE = tuple((ind.key, ind.en, ind.fmt) for ind in HEADLINE_ROWS)


def format_indicator(value: float, kind: str, lang: str = "en") -> str:
    """Format an indicator for a table (money in millions of yuan; in Chinese, in 万元)."""
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "money":
        return f"{value / 1e4:,.1f} 万元" if lang == "zh" else f"{value / 1e6:,.2f} M"
    if kind == "int":
        return f"{value:,.0f}"
    return f"{value:,.{kind[-1]}f}"


def format_effect(value: float, fmt: str, lang: str = "en") -> str:
    """A difference with its sign: percentage points for shares, else the indicator's format."""
    if fmt == "pct":
        text = f"{abs(value) * 100:.2f}"
        sign = "±" if float(text) == 0 else "-" if value < 0 else "+"
        return f"{sign}{text} pp" if lang == "en" else f"{sign}{text}个百分点"
    text = format_indicator(abs(value), fmt, lang)
    if not any(ch in "123456789" for ch in text):  # rounds to nothing: no sign to mislead
        return "±" + text
    return ("-" if value < 0 else "+") + text


def display_width(text: str) -> int:
    """Columns a string takes in a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _display(value: float, kind: str) -> tuple[float, int, str]:
    """A value in display units for a HEADLINE format kind: (number, decimals, unit)."""
    if kind == "pct":
        return value * 100, 2, "%"
    if kind == "money":
        return value / 1e6, 2, " M"
    if kind == "int":
        return value, 0, ""
    return value, int(kind[-1]) + 1, ""


def format_mean(mean: float, half_width: float, kind: str) -> str:
    """`67.40% ±0.09`: a mean and its 95% half-width, in the indicator's units."""
    m, d, unit = _display(mean, kind)
    return f"{m:,.{d}f}{unit} ±{_display(half_width, kind)[0]:,.{d}f}"


def format_difference(diff: float, low: float, high: float, kind: str) -> str:
    """`+0.31 pp [+0.12, +0.50]`: a difference and its 95% interval (shares in percentage points)."""
    x, d, unit = _display(diff, kind)
    unit = " pp" if kind == "pct" else unit
    lo, hi = _display(low, kind)[0], _display(high, kind)[0]
    half = (hi - lo) / 2
    if half > 0 and math.isfinite(half):  # enough decimals to see the interval (at most 3 more)
        d = max(d, min(d + 3, math.ceil(-math.log10(half))))
    return f"{x:+,.{d}f}{unit} [{lo:+,.{d}f}, {hi:+,.{d}f}]"
