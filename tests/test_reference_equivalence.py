"""The engine and the idiomatic per-agent Mesa model (sim/studies/reference.py) agree statistically.

Same scenario, same rules, different random draws: for each indicator the difference of
the two models' means over several seeds must lie within four standard errors (plus a
small floor), the usual two-sample check of "same distribution".
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.studies.reference import ReferenceModel
from sim.engine.model import TierFlowModel
from sim.scenario.loader import Timeline
from tests.conftest import small_scenario

pytestmark = pytest.mark.slow  # the per-agent reference model takes a minute

SEEDS = (21, 22, 23, 24)
INDICATORS = {  # indicator: absolute floor on the allowed difference
    "visits_per_capita": 0.02, "admissions_per_100": 0.2, "grassroots_share": 0.003, "tertiary_share": 0.002,
    "in_county_share": 0.002, "forgone_share": 0.002, "oop_per_capita": 10.0, "chronic_management_rate": 0.005,
    "minor_cases_at_tertiary_share": 0.003, "catastrophic_share": 0.003, "hospital_admission_share": 0.005,
    "catastrophic_share_severely_ill": 0.02,
}
PER_CAPITA = {"referrals_up": 0.002, "referrals_down": 0.002, "serious_illness_paid": 5.0, "assistance_paid": 2.0,
              "chronic_special_fund": 2.0}


@pytest.fixture(scope="module")
def runs():
    engine, reference = [], []
    for seed in SEEDS:
        sc = small_scenario(population=6000, days=200, seed=seed)
        engine.append(TierFlowModel(Timeline(sc), agents=False).run().summary())
        reference.append(ReferenceModel(Timeline(sc)).run().summary())
    return engine, reference


def _check(a: np.ndarray, b: np.ndarray, floor: float) -> tuple[bool, str]:
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    diff = abs(a.mean() - b.mean())
    return diff <= 4 * se + floor, f"engine {a.mean():.5g} vs reference {b.mean():.5g} (4 SE = {4 * se:.3g})"


def test_indicators_agree(runs):
    engine, reference = runs
    failures = []
    for key, floor in INDICATORS.items():
        ok, text = _check(np.array([s[key] for s in engine]), np.array([s[key] for s in reference]), floor)
        if not ok:
            failures.append(f"{key}: {text}")
    for key, floor in PER_CAPITA.items():
        a = np.array([s[key] / 6000 for s in engine])
        b = np.array([s[key] / 6000 for s in reference])
        ok, text = _check(a, b, floor)
        if not ok:
            failures.append(f"{key} per resident: {text}")
    assert not failures, "\n".join(failures)


def test_the_check_can_fail(runs):
    """A real behavioural difference (minor illness forgone a little more often) is caught."""
    engine, _ = runs
    other = [TierFlowModel(Timeline(small_scenario(population=6000, days=200, seed=seed,
                                                   behaviour__choice__forgo__minor=-0.5)), agents=False).run().summary()
             for seed in SEEDS]
    ok, text = _check(np.array([s["forgone_share"] for s in engine]), np.array([s["forgone_share"] for s in other]),
                      INDICATORS["forgone_share"])
    assert not ok, text
