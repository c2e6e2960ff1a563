"""Reimbursement rules as pure functions, and the tables they read.

Policy levers modelled here (医保报销向基层倾斜): rates, deductibles and caps per scheme x
setting x hospital grade (the scenario's tier keys name the grade each tier has by default);
三级 outpatient pooling switched off per scheme (Xinxiang 2025); an
outpatient annual cap across tiers (Pingyang: 1,500 yuan); chronic-disease drug rates
(Shandong: 75%); a bonus for signed residents at the grassroots; a cut, or no pooled
reimbursement at all, for unreferred out-of-county care; for care outside the pooling area
(异地: elsewhere in the province, out of the province) a cut when referred or registered,
a larger one when not, a deductible multiplier, and optionally no pooled reimbursement
without registration (医保发〔2022〕22号). Care in the pooling area is local care.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import GRADES, PLACES, SCHEMES, SETTINGS, TIERS, Scenario

OUTPATIENT, INPATIENT = 0, 1
NO_CAP = np.float32(3.0e38)


@dataclass(frozen=True)
class Rules:
    """Insurance parameters as arrays indexed [scheme, setting, grade], and by place (PLACES)."""

    rate: np.ndarray
    deductible: np.ndarray
    tier_cap: np.ndarray
    pooled: np.ndarray
    setting_cap: np.ndarray    # [scheme, setting]
    chronic_rate: np.ndarray   # [scheme]
    premium: np.ndarray        # [scheme] yuan per enrolee per year
    in_policy: np.ndarray      # [scheme] share of a bill inside the policy list (政策范围内)
    signed_bonus: float
    referred_cut: np.ndarray          # [place] rate points off when referred or registered
    unreferred_cut: np.ndarray        # [place] rate points off when not
    deductible_multiplier: np.ndarray  # [place]
    needs_referral: np.ndarray        # [place] bool: no pooled reimbursement there unreferred
    registered_share: np.ndarray      # [place] share of residents who register (备案) before an admission there
    place_of: np.ndarray              # [scheme, place] the place whose terms apply (by the scheme's pooling level)
    gated_outpatient: np.ndarray      # [tier] bool: no pooled outpatient reimbursement there unreferred
    fee_covered: np.ndarray           # [scheme, grade] yuan of an outpatient visit's service fee the fund pays

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> "Rules":
        """Build the tables from a scenario's insurance and referral sections."""
        shape = (len(SCHEMES), len(SETTINGS), len(GRADES))
        rate, ded, cap = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        pooled = np.zeros(shape, dtype=bool)
        setting_cap = np.zeros(shape[:2])
        fee_covered = np.array([[getattr(getattr(scenario.insurance, sch).outpatient, t).fee_covered for t in TIERS]
                                for sch in SCHEMES])
        for a, scheme_name in enumerate(SCHEMES):
            scheme = getattr(scenario.insurance, scheme_name)
            for b, setting_name in enumerate(SETTINGS):
                setting = getattr(scheme, setting_name)
                setting_cap[a, b] = NO_CAP if setting.annual_cap is None else setting.annual_cap
                for c, key in enumerate(TIERS):  # the tier keys name the grades (see SettingRules)
                    rule = getattr(setting, key)
                    rate[a, b, c], ded[a, b, c], pooled[a, b, c] = rule.rate, rule.deductible, rule.pooled
                    cap[a, b, c] = NO_CAP if rule.annual_cap is None else rule.annual_cap
        return cls(rate=rate, deductible=ded, tier_cap=cap, pooled=pooled, setting_cap=setting_cap,
                   chronic_rate=np.array([getattr(scenario.insurance, s).chronic_drug_rate for s in SCHEMES]),
                   premium=np.array([getattr(scenario.insurance, s).premium_per_year for s in SCHEMES]),
                   in_policy=np.array([getattr(scenario.insurance, s).in_policy_share for s in SCHEMES]),
                   signed_bonus=scenario.signing.benefits.grassroots_rate_bonus, fee_covered=fee_covered,
                   gated_outpatient=np.array([t == "county" and scenario.referral.required_at_county_hospital
                                              for t in TIERS]), **place_terms(scenario))


def place_terms(scenario: Scenario) -> dict[str, np.ndarray]:
    """Cuts, deductible multipliers and referral conditions by place (PLACES): none in the
    county; in the pooling area the county's rule for unreferred out-of-county care; 异地
    the `insurance.out_of_area` terms (a referral counts as registration, 备案); a scheme pooled
    at the province (`pooling_level`) has the pooling area's terms elsewhere in the province; one
    pooled at the county has 省内异地 terms at the prefecture's hospitals."""
    ref, out = scenario.referral, scenario.insurance.out_of_area
    far = (out.province, out.out_of_province)
    place_of = np.tile(np.arange(len(PLACES)), (len(SCHEMES), 1))
    for s, name in enumerate(SCHEMES):
        level = getattr(scenario.insurance, name).pooling_level
        if level == "province":
            place_of[s, PLACES.index("province")] = PLACES.index("pooling_area")
        elif level == "county":
            place_of[s, PLACES.index("pooling_area")] = PLACES.index("province")
    return {"place_of": place_of,
            "referred_cut": np.array([0.0, 0.0, *(p.referred_cut for p in far)]),
            "unreferred_cut": np.array([0.0, ref.unreferred_out_of_county_penalty, *(p.unreferred_cut for p in far)]),
            "deductible_multiplier": np.array([1.0, 1.0, *(p.deductible_multiplier for p in far)]),
            "registered_share": np.array([0.0, 0.0, *(p.registered_share for p in far)]),
            "needs_referral": np.array([False, ref.required_for_out_of_county,
                                        *(p.registration_required or ref.required_for_out_of_county for p in far)])}


def effective_rate(rules: Rules, scheme: np.ndarray, setting: int | np.ndarray, tier: np.ndarray,
                   grade: np.ndarray, place: np.ndarray, referred: np.ndarray, signed: np.ndarray,
                   chronic_followup: np.ndarray) -> np.ndarray:
    """The pooled reimbursement rate that applies to each bill.

    Zero where pooling is off for the scheme at that grade and setting, or for unreferred
    care at a place that needs a referral (or registration) or, outpatient, at a gated tier
    (the county hospital under `referral.required_at_county_hospital`); otherwise the grade's rate,
    raised for signed residents' outpatient care at the grassroots (village clinics and
    township centres: a role, `tier`) and for chronic drugs there, cut by the place's
    terms (referred or not).
    """
    setting = np.broadcast_to(setting, np.shape(tier))
    place = rules.place_of[scheme, place]
    rate = rules.rate[scheme, setting, grade]
    grassroots_op = (tier <= 1) & (setting == OUTPATIENT)
    rate = np.where(grassroots_op & signed, rate + rules.signed_bonus, rate)
    rate = np.where(grassroots_op & chronic_followup, np.maximum(rate, rules.chronic_rate[scheme]), rate)
    rate = rate - np.where(referred, rules.referred_cut[place], rules.unreferred_cut[place])
    gated = rules.needs_referral[place] | (rules.gated_outpatient[tier] & (setting == OUTPATIENT))
    rate = np.where(~referred & gated, 0.0, rate)
    rate = np.where(rules.pooled[scheme, setting, grade], rate, 0.0)
    return np.clip(rate, 0.0, 1.0)


def every_combination(*sizes: int) -> tuple[np.ndarray, ...]:
    """Each combination of indexes (0 to size - 1 in each dimension) as flat arrays, one per
    dimension, the first varying slowest: for tables looked up by a flat index."""
    return tuple(g.ravel() for g in np.meshgrid(*(np.arange(k) for k in sizes), indexing="ij"))


RATE_SHAPE = (len(SCHEMES), len(SETTINGS), len(TIERS), len(GRADES), len(PLACES), 2, 2, 2)


def rate_table(rules: Rules) -> np.ndarray:
    """`effective_rate` for every combination, indexed
    [scheme, setting, tier, grade, place, referred, signed, chronic], for fast lookups."""
    sch, setting, tier, grade, place, ref, sig, chro = every_combination(*RATE_SHAPE)
    rates = effective_rate(rules, sch, setting, tier, grade, place, ref.astype(bool), sig.astype(bool),
                           chro.astype(bool))
    return rates.reshape(RATE_SHAPE)


def fee_paid(fee: np.ndarray, covered: np.ndarray, rate: np.ndarray, outpatient: np.ndarray) -> np.ndarray:
    """What the fund pays of a visit's service fee: up to `covered`, on an outpatient visit it
    reimburses at all (`rate` > 0; an unreferred visit at a gated place gets nothing)."""
    return np.where(outpatient & (np.asarray(rate) > 0), np.minimum(fee, covered), 0.0)


def reimburse(bill: np.ndarray, rate: np.ndarray, deductible_left: np.ndarray,
              cap_left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split an eligible bill: the fund pays `rate` of what exceeds the deductible, up to the cap.

    Returns (reimbursed, deductible used). Out of pocket is bill - reimbursed, so
    billed = reimbursed + out of pocket holds by construction.
    """
    bill = np.asarray(bill, dtype=np.float64)
    left = np.maximum(np.asarray(deductible_left, dtype=np.float64), 0.0)
    used = np.where(np.asarray(rate) > 0, np.minimum(bill, left), 0.0)  # no pooling: no deductible
    paid = np.minimum(rate * (bill - used), np.maximum(np.asarray(cap_left, dtype=np.float64), 0.0))
    return np.maximum(paid, 0.0), used
