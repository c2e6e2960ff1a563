"""Residents' rules as pure, vectorised functions: onset, severity, choice, treatment, trust.

Each function takes arrays for all of the day's episodes at once and returns arrays; none
reads model state, so each can be tested alone (tests/test_rules.py uses hypothesis).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from sim.scenario.schema import SEVERITIES, TIERS, Scenario

FORGO = -1


@dataclass(frozen=True)
class ChoiceCoefficients:
    """The care-seeking logit's weights, as arrays indexed by severity or tier."""

    quality: np.ndarray      # (4,) by severity
    travel: np.ndarray       # (4,) per hour, by severity
    forgo: np.ndarray        # (5,) by severity, then chronic follow-up
    tier_constant: np.ndarray  # (4,) by tier
    employee_hospital_bonus: float
    tertiary_admission: float
    cost: float
    wait: float
    family_doctor: float

    def astype(self, dtype) -> "ChoiceCoefficients":
        """The same coefficients with the arrays in `dtype` (float32 keeps a choice in float32)."""
        return replace(self, **{f.name: getattr(self, f.name).astype(dtype) for f in fields(self)
                                if isinstance(getattr(self, f.name), np.ndarray)})

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> "ChoiceCoefficients":
        """Read the coefficients from a scenario's `behaviour.choice`."""
        ch = scenario.behaviour.choice
        sev = lambda m: np.array([getattr(m, s) for s in SEVERITIES])  # noqa: E731
        return cls(
            quality=sev(ch.quality), travel=sev(ch.travel),
            forgo=np.append(sev(ch.forgo), ch.forgo_chronic),
            tier_constant=np.array([getattr(ch.preference, t) for t in TIERS]),
            employee_hospital_bonus=ch.preference.employee_hospital_bonus,
            tertiary_admission=ch.preference.tertiary_admission,
            cost=ch.cost, wait=ch.wait, family_doctor=ch.family_doctor)


def episode_counts(rate_per_year: np.ndarray, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Today's number of new episodes in each stratum: Poisson(rate x size / 365).

    Drawing counts per stratum, not a coin per resident, keeps the day's work
    proportional to its episodes rather than to the population.
    """
    return rng.poisson(np.asarray(rate_per_year) * np.asarray(sizes) / 365.0)


def severity_cutoffs(shares: np.ndarray, high_odds: np.ndarray) -> np.ndarray:
    """Cumulative cut points of the severity distribution (shape `high_odds.shape + (3,)`)
    when `high_odds` scales the odds of a severe or critical episode.

    With base shares p, the chance of a severe-or-critical episode becomes
    m*p_high / (1 - p_high + m*p_high); within each group the base proportions hold.
    """
    shares = np.asarray(shares, dtype=float)
    p_high = shares[2:].sum()
    m = np.asarray(high_odds, dtype=float)
    high = m * p_high / (1.0 - p_high + m * p_high)
    low_scale = (1.0 - high) / max(1.0 - p_high, 1e-12)
    high_scale = high / max(p_high, 1e-12)
    c0 = shares[0] * low_scale
    c1 = c0 + shares[1] * low_scale
    c2 = c1 + shares[2] * high_scale
    return np.stack([c0, c1, c2], axis=-1)


def draw_severity(u: np.ndarray, shares: np.ndarray, high_odds: np.ndarray) -> np.ndarray:
    """Severity of each episode (0 minor .. 3 critical) by inverse CDF; `high_odds` scales the
    odds of severe or critical (see `severity_cutoffs`)."""
    return severity_from_cutoffs(u, np.moveaxis(severity_cutoffs(shares, high_odds), -1, 0))


def severity_from_cutoffs(u: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """Severity by inverse CDF from each episode's three cut points (`cutoffs[k]`: the k-th)."""
    return ((u >= cutoffs[0]).astype(np.int8) + (u >= cutoffs[1]) + (u >= cutoffs[2])).astype(np.int8)


def needs_admission(u: np.ndarray, severity: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """Whether each episode needs a bed, by severity."""
    return u < np.asarray(probability)[severity]


def cost_disutility(oop: np.ndarray, daily_income: np.ndarray) -> np.ndarray:
    """Out-of-pocket cost felt relative to income: log(1 + OOP / a day's income).

    Concave, so ten yuan matter at a village clinic and ten thousand at a tertiary
    ward, and the poor feel the same bill more.
    """
    return np.log(1.0 + np.maximum(oop, 0.0) / np.maximum(daily_income, 1.0)[:, None])  # fast in float32, unlike log1p


def indirect_cost(trip: np.ndarray, lodging: np.ndarray, nights: np.ndarray, inpatient: np.ndarray,
                  daily_income: np.ndarray, companion_share: float) -> np.ndarray:
    """What going to each option costs besides the bill (rows: episodes, columns: options):
    the trip there and back (`trip`), and for an admission a companion's lodging over the
    stay (`lodging`: per stay, zero in the county) and lost income, `companion_share` of the
    patient's daily income for each of the stay's `nights`."""
    stay = lodging + nights * (companion_share * np.asarray(daily_income))[:, None]
    return trip + np.where(np.asarray(inpatient)[:, None], stay, 0.0)


def fixed_utilities(coef: ChoiceCoefficients, severity: np.ndarray, tier: np.ndarray, hours: np.ndarray,
                    quality_offset: np.ndarray, family_doctor_tie: np.ndarray, employee: np.ndarray,
                    inpatient: np.ndarray) -> np.ndarray:
    """The part of each option's utility known before the day (rows: patients, columns: options).

    The full utility is
        U = tier constant + quality weight(severity) x perceived quality
            - travel weight(severity) x hours - cost weight x log(1 + OOP / daily income)
            - wait weight x expected wait + family-doctor bonus [+ employee hospital bonus]
            [+ tertiary admission preference].
    This function returns the terms that depend only on who and where the patient is, plus the
    quality weight times the facility's known difference from its tier (`quality_offset`);
    `utilities` adds the rest. Severity-dependent weights make travel dominate minor illness
    and quality severe illness (Jia 2020), the switch that drives siphoning.
    """
    sev = severity[:, None]
    return (coef.tier_constant[tier]
            + coef.employee_hospital_bonus * (employee[:, None] & (tier >= 2))
            + coef.tertiary_admission * (inpatient[:, None] & (tier == 3))
            + coef.quality[sev] * quality_offset
            - coef.travel[sev] * hours
            + coef.family_doctor * family_doctor_tie)


def utilities(coef: ChoiceCoefficients, fixed: np.ndarray, severity: np.ndarray, perceived: np.ndarray,
              oop: np.ndarray, daily_income: np.ndarray, wait_hours: np.ndarray) -> np.ndarray:
    """Each option's utility today: `fixed_utilities` plus perceived quality (trust), the
    felt cost of the expected bill and the expected wait (see `fixed_utilities` for U)."""
    return (fixed + coef.quality[severity][:, None] * perceived
            - coef.cost * cost_disutility(oop, daily_income) - coef.wait * wait_hours)


def choose(utility: np.ndarray, outside: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Multinomial logit draw by inverse CDF: one uniform `u` per episode.

    An option a patient cannot use has utility -inf. The options' logit probabilities
    (the outside option, not seeking care, last) are laid end to end and `u` picks one.
    One number per episode keeps draws cheap and couples runs well: a small change in
    utilities changes few choices (common random numbers). Returns the chosen column,
    or FORGO (-1).
    """
    by_option = utility.T  # options x episodes: the sums below run over a handful of options
    top = np.maximum(by_option.max(axis=0), outside)
    cumulative = np.exp(by_option - top)
    for k in range(1, len(cumulative)):
        cumulative[k] += cumulative[k - 1]
    total = cumulative[-1] + np.exp(outside - top)
    pick = (cumulative <= u * total).sum(axis=0)  # options whose cumulative weight u passes
    return np.where(pick == len(cumulative), FORGO, pick)


def logit_probabilities(utility: np.ndarray, outside: np.ndarray) -> np.ndarray:
    """Closed-form choice probabilities (options, then the outside option last; -inf: unavailable)."""
    full = np.concatenate([utility, outside[:, None]], axis=1)
    full = full - full.max(axis=1, keepdims=True)
    e = np.exp(full)
    return e / e.sum(axis=1, keepdims=True)


def treatable(capability: np.ndarray, severity: np.ndarray) -> np.ndarray:
    """Chance that a facility can treat a case: 1 within its capability, its fractional level one above."""
    return np.minimum(np.maximum(capability - severity + 1.0, 0.0), 1.0)


def can_treat(capability: np.ndarray, severity: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Whether a facility treats a case (`treatable`, drawn with the uniform `u`)."""
    return u < treatable(capability, severity)


def experience(satisfied: np.ndarray, waited: np.ndarray, referred_on: np.ndarray,
               waiting_penalty: float, referred_outcome: float) -> np.ndarray:
    """Outcome of a visit on the quality scale: 1 good, 0 bad; waiting costs, referral disappoints."""
    outcome = satisfied.astype(np.float32) - waiting_penalty * waited
    return np.where(referred_on, referred_outcome, np.minimum(np.maximum(outcome, 0.0), 1.0)).astype(np.float32)


def learn(trust: np.ndarray, outcome: np.ndarray, rate: float) -> np.ndarray:
    """Move trust toward the outcome of the latest experience (exponential smoothing)."""
    return trust + rate * (outcome - trust)


def expected_wait_hours(base_hours: np.ndarray, load: np.ndarray, backlog_days: np.ndarray) -> np.ndarray:
    """Expected wait: base x 1/(1 - load) as a queue fills (load capped at 0.95) + 8 h per day of backlog."""
    return base_hours / (1.0 - np.minimum(load, 0.95)) + 8.0 * backlog_days


def logit_shares(utility: np.ndarray) -> np.ndarray:
    """Each option's logit probability given that the patient seeks care (rows: patients; -inf: unavailable)."""
    e = np.exp(utility - utility.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def top_up(share: np.ndarray, target: float) -> np.ndarray:
    """Chance that an episode which chose elsewhere goes to its family doctor instead, so that the
    share who start with the doctor is at least `target`: (target - share) / (1 - share), 0 if
    the choice already sends that many."""
    share = np.asarray(share, dtype=float)
    return np.clip((target - share) / np.maximum(1.0 - share, 1e-12), 0.0, 1.0)


def to_team(shares: np.ndarray, team: np.ndarray, target: float, u: np.ndarray) -> np.ndarray:
    """Which team option (column of `team`, -1: none) each episode that chose outside its team goes
    to instead: `top_up` of the team's share, the member in proportion to its own share.

    `shares` (rows x members): the choice's probabilities of the team's members; `team`: which of
    them belong to the patient's team; `u`: one uniform per episode."""
    w = np.where(team, shares, 0.0)
    q = w.sum(axis=1)
    h = top_up(q, target)
    go = (u < h) & team.any(axis=1)
    # Within `go`, u / h is again uniform: it picks the member, by share (evenly if the team has none).
    w = np.where((q > 0)[:, None], w, team.astype(float))
    cum = np.cumsum(w, axis=1)
    member = (cum <= (u / np.maximum(h, 1e-300))[:, None] * cum[:, -1:]).sum(axis=1)
    return np.where(go, np.minimum(member, team.shape[1] - 1), -1)
