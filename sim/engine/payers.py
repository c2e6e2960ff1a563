"""The payers after the basic fund (三重保障), as pure functions, and the accounts they keep per person.

A bill is paid in order: the basic fund (`Billing.quote`, rules in sim/engine/insurance.py), then
大病保险 (serious-illness insurance, resident scheme) on the year's in-policy out-of-pocket above
an income-tied threshold, then 医疗救助 (medical assistance, the low-income) on what is still
in-policy out-of-pocket, then the patient. 门诊慢特病 (outpatient chronic and special diseases)
is the basic fund's own benefit with its own terms (`chronic_special_quote`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.engine.insurance import NO_CAP, reimburse
from sim.scenario.schema import SCHEMES, Scenario

RESIDENT = 0


@dataclass(frozen=True)
class PayerRules:
    """The terms of the payers after the basic fund, from a scenario."""

    si_enabled: bool
    si_threshold: float          # yuan of qualifying out-of-pocket a year (income-tied)
    si_edges: np.ndarray         # (3,) where each band of the year's qualifying amount starts
    si_rates: np.ndarray         # (3,) rate of each band
    si_bonus: float              # rate points more for the low-income
    si_assisted_factor: float    # the low-income's threshold, relative
    assist_enabled: bool
    assist_rate: float
    assist_deductible: float
    assist_cap: float
    low_income_share: float
    cs_share: np.ndarray         # [scheme] share of chronic patients recognised for 门诊慢特病
    cs_rate: np.ndarray          # [scheme]
    cs_deductible: np.ndarray    # [scheme]
    cs_cap: np.ndarray           # [scheme]
    tail_sigma: float            # log-sd of a critical admission's bill multiplier

    @classmethod
    def from_scenario(cls, sc: Scenario, mean_income: float) -> "PayerRules":
        """Terms from a scenario; `mean_income` is the county's per-capita disposable income."""
        si, ai = sc.insurance.serious_illness, sc.insurance.assistance
        cs = [getattr(sc.insurance, s).chronic_special for s in SCHEMES]
        return cls(si_enabled=si.enabled, si_threshold=si.threshold_income_share * mean_income,
                   si_edges=np.array([0.0, si.band2_from, si.band3_from]),
                   si_rates=np.array([si.rate, si.rate_band2, si.rate_band3]), si_bonus=si.assisted_bonus,
                   si_assisted_factor=si.assisted_threshold_factor, assist_enabled=ai.enabled,
                   assist_rate=ai.rate, assist_deductible=ai.deductible, assist_cap=ai.annual_cap,
                   low_income_share=sc.population.low_income_share,
                   cs_share=np.array([c.recognised_share for c in cs]), cs_rate=np.array([c.rate for c in cs]),
                   cs_deductible=np.array([c.deductible for c in cs]), cs_cap=np.array([c.annual_cap for c in cs]),
                   tail_sigma=sc.providers.critical_bill_sigma)


def banded_payment(before: np.ndarray, after: np.ndarray, threshold: np.ndarray, edges: np.ndarray,
                   rates: np.ndarray) -> np.ndarray:
    """What serious-illness insurance pays when a person's qualifying amount of the year grows
    from `before` to `after`: each band's rate on the part of the growth inside the band and
    above the threshold. `rates` is (bands,) or (n, bands) (per-person bonuses)."""
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    rates = np.clip(np.asarray(rates, np.float64), 0.0, 1.0)
    pay = np.zeros(np.broadcast(before, after, threshold).shape)
    for b in range(len(edges)):
        lo = np.maximum(edges[b], threshold)
        hi = np.maximum(edges[b + 1] if b + 1 < len(edges) else np.inf, lo)
        pay += rates[..., b] * (np.clip(after, lo, hi) - np.clip(before, lo, hi))
    return pay


class Split(NamedTuple):
    """A bill's split after the basic fund (yuan, per bill)."""

    serious_illness: np.ndarray
    assistance: np.ndarray
    oop: np.ndarray
    qualifying: np.ndarray           # in-policy out-of-pocket after the fund (counts toward 大病保险)
    assist_deductible_used: np.ndarray


def split_after_fund(billed, eligible, fund, si_before, si_threshold, si_rates, edges, assist_rate,
                     assist_deductible_left, assist_cap_left) -> Split:
    """Split what the basic fund left of each bill between 大病保险, 医疗救助 and the patient.

    `billed` is the whole bill (fee included), `eligible` its in-policy part, `fund` what the
    basic fund paid, `si_before` the person's qualifying amount so far this year (NO_CAP
    threshold: not covered), `assist_rate` 0 for people without assistance. Only in-policy
    spending qualifies; the rest stays with the patient. billed = fund + the three, exactly.
    """
    billed, fund = np.asarray(billed, np.float64), np.asarray(fund, np.float64)
    qualifying = np.maximum(np.asarray(eligible, np.float64) - fund, 0.0)
    si = np.minimum(banded_payment(si_before, si_before + qualifying, si_threshold, edges, si_rates), qualifying)
    assist, used = reimburse(qualifying - si, assist_rate, assist_deductible_left, assist_cap_left)
    return Split(si, assist, billed - fund - si - assist, qualifying, used)


def chronic_special_quote(eligible, basic_rate, cs_rate, deductible_left, cap_left) -> tuple[np.ndarray, np.ndarray]:
    """The basic fund's payment for a recognised patient's chronic outpatient bill under 门诊慢特病:
    the better of the benefit's and the general rate (none where pooling does not apply), on
    its own deductible and cap. Returns (paid, deductible used)."""
    basic_rate = np.asarray(basic_rate, np.float64)
    rate = np.where(basic_rate > 0, np.maximum(cs_rate, basic_rate), 0.0)
    return reimburse(eligible, rate, deductible_left, cap_left)


def mean_one_lognormal(z: np.ndarray, sigma: float) -> np.ndarray:
    """Bill multipliers from standard normal draws: log-normal with mean 1 (the mean bill is kept)."""
    return np.exp(sigma * np.asarray(z, np.float64) - 0.5 * sigma * sigma)


def lowest_first(income: np.ndarray, share: float) -> np.ndarray:
    """Flag the `share` of people with the lowest incomes (means-tested 低保 and its kin); ties by index."""
    n = len(income)
    k = int(round(share * n))
    flag = np.zeros(n, dtype=bool)
    flag[np.argsort(income, kind="stable")[:k]] = True
    return flag


class PayerAccounts:
    """Who the payers cover, and what each person has used of them this insurance year."""

    def __init__(self, income: np.ndarray, scheme: np.ndarray, chronic: np.ndarray, rng: np.random.Generator):
        """Income, scheme and chronic conditions of each resident agent; `rng` draws recognition."""
        n = len(income)
        self.income, self.scheme, self.chronic = income, scheme, chronic
        self.mean_income = float(np.mean(income, dtype=np.float64)) if n else 0.0
        self.recognition_draw = rng.random(n).astype(np.float32)  # kept: a share changed by policy keeps who
        self.registration_draw = rng.random(n).astype(np.float32)  # who registers (备案) before an 异地 admission
        self.si_qualifying = np.zeros(n, np.float64)   # in-policy out-of-pocket after the fund, this year
        self.assist_deductible_paid = np.zeros(n, np.float32)
        self.assist_paid = np.zeros(n, np.float64)
        self.cs_deductible_paid = np.zeros(n, np.float32)
        self.cs_paid = np.zeros(n, np.float64)
        self.severe_admissions = np.zeros(n, np.float32)  # severe or critical admissions since day 0 (not yearly)

    def configure(self, rules: PayerRules) -> None:
        """Who is covered by what, under the current terms."""
        self.rules = rules
        self.low_income = lowest_first(self.income, rules.low_income_share)
        covered = rules.si_enabled & (self.scheme == RESIDENT)
        factor = np.where(self.low_income, rules.si_assisted_factor, 1.0)
        self.si_threshold = np.where(covered, rules.si_threshold * factor, NO_CAP).astype(np.float64)
        self.si_rates = rules.si_rates[None, :] + np.where(self.low_income, rules.si_bonus, 0.0)[:, None]
        self.assist_rate = np.where(self.low_income & rules.assist_enabled, rules.assist_rate, 0.0)
        self.recognised = self.chronic & (self.recognition_draw < rules.cs_share[self.scheme])

    def new_year(self) -> None:
        """A new insurance year: thresholds, deductibles and caps start again."""
        for a in (self.si_qualifying, self.assist_deductible_paid, self.assist_paid, self.cs_deductible_paid,
                  self.cs_paid):
            a[:] = 0
