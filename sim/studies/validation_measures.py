"""How to measure each indicator a validation check names (data/validation/checks.yaml).

A measure reads one replication: its summary (over the recorded window) and its daily
columns, summed over the same window. Names are dotted: `visits.tertiary`,
`visits.grassroots.employee`, `admission_share.county.resident`, `claims.hospital.resident`
(outpatient visits billed at a positive reimbursement rate: what a study on claims data
sees). Every summary scalar is a measure under its own key as well (`grassroots_share`, `admissions_per_100`,
`outpatient_utilisation.county`, ...).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.engine.metrics import group
from sim.scenario.schema import SCHEMES, TIERS
from sim.studies.experiment import flat_indicators

Measure = Callable[[dict, dict, int, int], float]

# Tier groups as the studies report them: grassroots = village clinics and township centres,
# hospitals = county and tertiary hospitals.
TIER_GROUPS: dict[str, tuple[int, ...]] = {
    **{t: (i,) for i, t in enumerate(TIERS)},
    "grassroots": (0, 1),
    "hospital": (2, 3),
    "all": (0, 1, 2, 3),
}
SCHEME_GROUPS: dict[str, tuple[int, ...]] = {**{s: (i,) for i, s in enumerate(SCHEMES)}, "all": (0, 1)}
OUTPATIENT, INPATIENT = 0, 1  # the SETTINGS axis of billed/reimbursed/oop


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


def _grid(name: str) -> Callable[[tuple[int, ...], tuple[int, ...]], Measure]:
    """A measure summing a (tier, scheme) group of the daily ledger over tiers and schemes."""
    def make(tiers, schemes) -> Measure:
        return lambda s, d, a, b: float(group(d, name, a, b)[np.ix_(tiers, schemes)].sum())
    return make


def _money(name: str, setting: int) -> Callable[[tuple[int, ...], tuple[int, ...]], Measure]:
    """Money in one setting (outpatient or inpatient) by tier group and scheme group."""
    def make(tiers, schemes) -> Measure:
        def measure(s, d, a, b):
            g = group(d, name, a, b)
            if g.ndim == 2:  # billed: setting x tier
                return float(g[setting, list(tiers)].sum())
            return float(g[setting][np.ix_(tiers, schemes)].sum())
        return measure
    return make


def _per(num: Measure, den: Measure) -> Measure:
    return lambda s, d, a, b: _ratio(num(s, d, a, b), den(s, d, a, b))


def _first_contact_level(s: dict, d: dict, a: int, b: int) -> float:
    """Mean tier of first contact (1 village ... 4 tertiary), the Fu 2024 outcome."""
    first = group(d, "first_visits", a, b)
    return _ratio(float((first * np.arange(1, 5)).sum()), float(first.sum()))


def _chronic_grassroots_share(s: dict, d: dict, a: int, b: int) -> float:
    """Share of chronic (hypertension/diabetes) follow-up visits made at the grassroots."""
    seen = (d["episodes_chronic"][a:b].sum() - d["forgone_chronic"][a:b].sum() - d["reneged_chronic"][a:b].sum())
    return _ratio(float(d["followups_grassroots"][a:b].sum()), float(seen))


def _serious_admission_share(tier: int) -> Measure:
    """A tier's share of the first admissions of severe and critical episodes."""
    def measure(s, d, a, b):
        adm = group(d, "admissions_severity", a, b)[2:].sum(axis=0)
        return _ratio(float(adm[tier]), float(adm.sum()))
    return measure


def build() -> dict[str, Measure]:
    """The registry: every measure a check may name."""
    m: dict[str, Measure] = {}
    visits, admissions, claims = _grid("visits"), _grid("admissions"), _grid("claims")
    for tg, tiers in TIER_GROUPS.items():
        for sg, schemes in SCHEME_GROUPS.items():
            suffix = "" if sg == "all" else f".{sg}"
            v, adm = visits(tiers, schemes), admissions(tiers, schemes)
            m[f"visits.{tg}{suffix}"] = v
            m[f"claims.{tg}{suffix}"] = claims(tiers, schemes)  # what a study on claims data sees
            m[f"admissions.{tg}{suffix}"] = adm
            m[f"visit_share.{tg}{suffix}"] = _per(v, visits(TIER_GROUPS["all"], schemes))
            m[f"admission_share.{tg}{suffix}"] = _per(adm, admissions(TIER_GROUPS["all"], schemes))
            m[f"fund.outpatient.{tg}{suffix}"] = _money("reimbursed", OUTPATIENT)(tiers, schemes)
            m[f"fund.inpatient.{tg}{suffix}"] = _money("reimbursed", INPATIENT)(tiers, schemes)
            m[f"oop_per_visit.{tg}{suffix}"] = _per(_money("oop", OUTPATIENT)(tiers, schemes), v)
            m[f"oop_per_admission.{tg}{suffix}"] = _per(_money("oop", INPATIENT)(tiers, schemes), adm)
        m[f"spend.outpatient.{tg}"] = _money("billed", OUTPATIENT)(tiers, ())
        m[f"spend.inpatient.{tg}"] = _money("billed", INPATIENT)(tiers, ())
        m[f"spend_per_visit.{tg}"] = _per(m[f"spend.outpatient.{tg}"], m[f"visits.{tg}"])
        m[f"spend_per_admission.{tg}"] = _per(m[f"spend.inpatient.{tg}"], m[f"admissions.{tg}"])
    for i, t in enumerate(TIERS):
        m[f"serious_admission_share.{t}"] = _serious_admission_share(i)
    m["first_contact_level"] = _first_contact_level
    m["chronic_grassroots_share"] = _chronic_grassroots_share
    return m


MEASURES = build()


def measure(name: str, summary: dict, daily: dict, start: int, end: int) -> float:
    """The value of a named measure in one replication over days [start, end)."""
    if name in MEASURES:
        return MEASURES[name](summary, daily, start, end)
    value = summary.get(name)
    if value is None and "." in name:  # a nested summary key, e.g. outpatient_utilisation.county
        value = flat_indicators(summary).get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise KeyError(f"unknown measure {name!r}: neither in the registry nor a scalar of the summary")


def known(name: str, summary_keys: set[str]) -> bool:
    """Whether a measure name can be read (a registry measure or a summary scalar, nested ones by dotted key)."""
    return name in MEASURES or name in summary_keys or name.split(".")[0] in summary_keys
