"""Residents as a structure of arrays, and their synthesis.

One numpy array per attribute, indexed by resident; each in the narrowest dtype that
holds its values. `Patient` agents (sim/agents.py) are views onto one index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import AGE_BANDS, TIERS, Scenario
from sim.county.world import World

RESIDENT, EMPLOYEE = 0, 1
BAND_EDGES = (0, 15, 45, 60, 75, 100)  # age bands of sim.scenario.schema.AGE_BANDS
OLDER_BANDS = (3, 4)                   # 60+
NEVER = np.int32(-100_000)             # "no follow-up yet" in last_followup


@dataclass
class Population:
    """Residents' attributes and the running accounts the model keeps per resident."""

    age: np.ndarray           # uint8 years
    band: np.ndarray          # uint8 index into AGE_BANDS
    settlement: np.ndarray    # uint16/int32 index into world settlements
    scheme: np.ndarray        # uint8: 0 resident-insured, 1 employee-insured
    income: np.ndarray        # float32 yuan per year
    quintile: np.ndarray      # uint8 income quintile in the county, 0 poorest .. 4 richest
    hypertension: np.ndarray  # bool
    diabetes: np.ndarray      # bool
    chronic: np.ndarray       # bool: hypertension or diabetes (the 两慢病); fixed during a run
    signed: np.ndarray        # bool: has a signed family doctor
    in_care: np.ndarray       # bool: chronic patient under regular treatment (has follow-ups)
    trust: np.ndarray         # (n, 4) float32 perceived quality of each tier (0-1 scale)
    oop: np.ndarray           # float32 out-of-pocket spending since day 0 (yuan)
    deductible_paid: np.ndarray  # (n, 4) float32 outpatient deductible met this year, per hospital grade
    reimbursed: np.ndarray       # (n, 2, 4) float32 pooled reimbursement this year, per setting and grade
    reimbursed_setting: np.ndarray  # (n, 2) float32 the same summed over tiers (for the annual caps)
    last_followup: np.ndarray    # int32 day of the last grassroots chronic follow-up
    ooc_inpatient_fund: np.ndarray  # float32 fund spending on this person's out-of-county admissions
    served: np.ndarray | None = None  # bool: signed and actually served by the team (履约); default: signed

    def __post_init__(self) -> None:
        if self.served is None:
            self.served = self.signed.copy()

    @property
    def n(self) -> int:
        """Number of resident agents."""
        return len(self.age)

    def new_year(self) -> None:
        """Reset annual deductibles and caps (a new insurance year)."""
        self.deductible_paid[:] = 0
        self.reimbursed[:] = 0
        self.reimbursed_setting[:] = 0


def band_cdf(share_60_plus: np.ndarray, pop_spec) -> np.ndarray:
    """Cumulative age-band probabilities, one row per settlement (its share aged 60+).

    Within 15-59, about 60% are 15-44 (NBS 2024 age pyramid). The share aged 0-14 is the
    scenario's, cut where a settlement is so old that it would leave no room for 15-59.
    """
    share_60 = np.asarray(share_60_plus, dtype=np.float64)
    share_0_14 = np.minimum(pop_spec.share_0_14, 0.95 - share_60)
    mid = 1.0 - share_0_14 - share_60
    s75 = pop_spec.share_75_plus_of_60_plus
    probs = np.column_stack([share_0_14, 0.6 * mid, 0.4 * mid, share_60 * (1 - s75), share_60 * s75])
    cdf = probs.cumsum(axis=1)
    return cdf / cdf[:, -1:]


def synthesise(scenario: Scenario, world: World, rng: np.random.Generator) -> Population:
    """Create the county's residents (one agent per `scale` residents).

    Ages and insurance follow each settlement's share aged 60+ and share employee-insured
    where the world gives them (CSV counties), else the scenario's. Both kinds of county
    take the same path, so a synthetic county written to CSV and read back draws the same
    residents.
    """
    pop_spec = scenario.population
    k = scenario.scale
    per_settlement = np.maximum(np.round(world.set_population / k).astype(np.int64), 0)
    n = int(per_settlement.sum())
    settle_dtype = np.uint16 if len(per_settlement) < 2**16 else np.int32
    settlement = np.repeat(np.arange(len(per_settlement), dtype=settle_dtype), per_settlement)
    home = settlement.astype(np.int64)

    share_60 = world.set_share_60_plus
    if share_60 is None:
        share_60 = np.full(len(per_settlement), pop_spec.share_60_plus)
    cdf = band_cdf(share_60, pop_spec)
    # Inverse-CDF draw, one uniform per resident (what Generator.choice does with p=).
    u = rng.random(n)
    band = np.zeros(n, dtype=np.uint8)
    for b in range(len(AGE_BANDS) - 1):
        band += u >= cdf[home, b]
    lo_age = np.array(BAND_EDGES[:-1])[band]
    hi_age = np.array(BAND_EDGES[1:])[band]
    age = (lo_age + rng.random(n) * (hi_age - lo_age)).astype(np.uint8)

    # Employee insurance covers working adults and their retirees (18+).
    adult = age >= 18
    p_emp = employee_shares(world, per_settlement, pop_spec)[home]
    p_emp = np.where(adult, np.minimum(p_emp / max(adult.mean(), 1e-9), 1.0), 0.0)
    scheme = (rng.random(n) < p_emp).astype(np.uint8)

    inc = pop_spec.income
    income = inc.median * rng.lognormal(0.0, inc.sigma, n)
    income[scheme == EMPLOYEE] *= inc.employee_ratio
    income = seat_incomes(income, world.set_township[home] == 0, pop_spec.seat_income_ratio)
    ht_p = np.array([getattr(pop_spec.hypertension, b) for b in AGE_BANDS])[band]
    dm_p = np.array([getattr(pop_spec.diabetes, b) for b in AGE_BANDS])[band]
    hypertension = rng.random(n) < ht_p
    diabetes = rng.random(n) < dm_p

    signed = initial_signing(scenario, band, hypertension | diabetes, rng)
    in_care = (hypertension | diabetes) & (signed | (rng.random(n) < scenario.behaviour.chronic_in_care_share))
    quality = np.array([getattr(scenario.providers.quality, t) for t in TIERS])
    trust = (quality + rng.normal(0.0, scenario.behaviour.trust.initial_sd, (n, 4))).astype(np.float32)
    return Population(
        age=age, band=band, settlement=settlement, scheme=scheme, income=income.astype(np.float32),
        quintile=np.searchsorted(np.quantile(income, [0.2, 0.4, 0.6, 0.8]), income).astype(np.uint8),
        hypertension=hypertension, diabetes=diabetes, chronic=hypertension | diabetes, signed=signed, in_care=in_care, trust=trust,
        oop=np.zeros(n, np.float32), deductible_paid=np.zeros((n, 4), np.float32),
        reimbursed=np.zeros((n, 2, 4), np.float32), reimbursed_setting=np.zeros((n, 2), np.float32),
        last_followup=np.full(n, NEVER, np.int32),
        ooc_inpatient_fund=np.zeros(n, np.float32))


def employee_shares(world: World, residents: np.ndarray, pop_spec) -> np.ndarray:
    """Each settlement's employee-insured share: as given (CSV counties), else the county's
    `employee_share` split between the county seat (township 0) and the rural townships,
    `seat_employee_ratio` times higher in the seat, keeping the county's share."""
    given = np.full(len(residents), np.nan) if world.set_share_employee is None else \
        np.asarray(world.set_share_employee, dtype=np.float64)
    missing = np.isnan(given)
    seat = world.set_township == 0
    counted = residents * missing
    total = counted.sum()
    w_seat = (counted * seat).sum() / total if total > 0 else 0.0
    rural = pop_spec.employee_share / (w_seat * pop_spec.seat_employee_ratio + 1.0 - w_seat)
    split = np.where(seat, np.minimum(rural * pop_spec.seat_employee_ratio, 1.0), rural)
    return np.where(missing, split, given)


def seat_incomes(income: np.ndarray, in_seat: np.ndarray, ratio: float) -> np.ndarray:
    """Incomes scaled so the county seat's mean is `ratio` times the rural townships' and the
    county's mean is kept (where the seat's is already higher, by less)."""
    n_seat, n_rural = int(in_seat.sum()), int((~in_seat).sum())
    if n_seat == 0 or n_rural == 0:
        return income
    seat_sum, rural_sum = income[in_seat].sum(), income[~in_seat].sum()
    rural_mean, seat_mean = rural_sum / n_rural, seat_sum / n_seat
    b = (seat_sum + rural_sum) / (ratio * rural_mean * n_seat + rural_sum)
    a = ratio * b * rural_mean / seat_mean
    return income * np.where(in_seat, a, b)


def signing_weights(scenario: Scenario, band: np.ndarray, chronic: np.ndarray) -> np.ndarray:
    """Relative chance of being signed first: family doctors prioritise the old and the chronic."""
    pri = scenario.signing.priority
    older = np.isin(band, OLDER_BANDS)
    return 1.0 + pri.age_60_plus * older + pri.chronic * chronic


def initial_signing(scenario: Scenario, band: np.ndarray, chronic: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
    """Sign exactly round(rate * n) residents, weighted sampling without replacement."""
    n = len(band)
    k = int(round(scenario.signing.initial_rate * n))
    signed = np.zeros(n, dtype=bool)
    if k:
        keys = np.log(rng.random(n)) / signing_weights(scenario, band, chronic)  # Efraimidis-Spirakis
        signed[np.argpartition(keys, n - k)[n - k:]] = True
    return signed
