"""The shipped baseline is calibrated: each fitted target is met on seeds not used in fitting;
the calibrate command writes a scenario that extends its input."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from sim.studies.calibrate import load_targets, run_calibration
from sim.engine.model import TierFlowModel
from sim.scenario.loader import load
from tests.conftest import ROOT, SCENARIOS

TARGETS = ROOT / "data" / "targets" / "county.yaml"
CHECK_SEEDS = (101, 102, 103)  # the fit used seeds 1 and 2


@pytest.fixture(scope="module")
def calibrated():
    return [TierFlowModel(load(SCENARIOS / "baseline.yaml", seed=s), agents=False).run().summary()
            for s in CHECK_SEEDS]


def test_targets_are_data_with_sources():
    targets = load_targets(TARGETS)
    names = {t.name for t in targets}
    assert {"grassroots_share", "visits_per_capita", "admissions_per_100", "hospital_admission_share",
            "tertiary_share_of_hospital_visits", "out_of_county_inpatient_share",
            "out_of_county_inpatient_fund_share", "in_county_share", "down_up_referral_ratio"} <= names
    assert all(t.source and t.scope and t.tolerance > 0 for t in targets)
    assert all(t.note for t in targets if not t.fit)  # a target left unfitted says why


def test_calibrated_baseline_meets_every_fitted_target(calibrated):
    misses = []
    for t in load_targets(TARGETS):
        model = float(np.mean([s[t.name] for s in calibrated]))
        if t.fit and abs(model - t.value) > t.tolerance:
            misses.append(f"{t.name}: model {model:.4g}, published {t.value} ± {t.tolerance}")
    assert not misses, "\n".join(misses)


def test_grassroots_share_within_one_and_a_half_points_on_each_seed(calibrated):
    for s in calibrated:
        assert abs(s["grassroots_share"] - 0.634) <= 0.015


def test_calibrate_command_writes_a_scenario_that_extends_its_input(tmp_path):
    out = tmp_path / "fitted.yaml"
    fit = run_calibration(str(SCENARIOS / "baseline_uncalibrated.yaml"), str(TARGETS), str(out), seeds=(1,),
                          max_evals=2, population=3000, report=lambda _: None)
    assert fit.evaluations >= 1 and len(fit.table) == len(load_targets(TARGETS))
    data = yaml.safe_load(out.read_text())
    assert (tmp_path / data["extends"]).resolve() == (SCENARIOS / "baseline_uncalibrated.yaml").resolve()
    assert set(data) <= {"extends", "name", "description", "behaviour"}
    assert load(out).base.world.population == 100_000  # the input's county, not the calibration's
