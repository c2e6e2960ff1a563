"""The shipped baseline is plausible before formal calibration (issue 2's ranges)."""

from __future__ import annotations

import pytest

from sim.scenario.loader import load
from tests.conftest import SCENARIOS, run

pytestmark = pytest.mark.slow  # the shipped 100,000-resident baseline over seeds


@pytest.fixture(scope="module")
def summaries():
    return [run(load(SCENARIOS / "baseline.yaml", seed=seed)).summary() for seed in (1, 2)]


def test_visits_admissions_and_grassroots_share_are_plausible(summaries):
    for s in summaries:
        assert 6.0 <= s["visits_per_capita"] <= 8.0
        assert 17.0 <= s["admissions_per_100"] <= 25.0
        assert 0.55 <= s["grassroots_share"] <= 0.70


def test_siphoning_and_referrals_are_present(summaries):
    for s in summaries:
        assert s["minor_cases_at_tertiary_share"] > 0.005
        # formal upward referrals near the national count (NHC 2023: 1.11 per 100 a year; 2024 about 1.3)
        assert 0.8 <= s["referrals_up_per_100"] <= 1.5 and s["referrals_down"] > 100
        assert 0.0 < s["out_of_county_fund_share"] < 1.0
