"""The shipped baseline is calibrated: each fitted target is met on seeds not used in fitting;
the calibrate command writes a scenario that extends its input."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.studies import calibrate as calibrate_module
from sim.studies.calibrate import load_targets, run_calibration
from sim.engine.model import TierFlowModel
from sim.scenario.loader import ScenarioError, load
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


@pytest.mark.slow
def test_calibrated_baseline_meets_every_fitted_target(calibrated):
    misses = []
    for t in load_targets(TARGETS):
        model = float(np.mean([s[t.name] for s in calibrated]))
        if t.fit and abs(model - t.value) > t.tolerance:
            misses.append(f"{t.name}: model {model:.4g}, published {t.value} ± {t.tolerance}")
    assert not misses, "\n".join(misses)


@pytest.mark.slow
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


# ------------------------------------------------------------------ calibration that cannot hurt

UNCALIBRATED = SCENARIOS / "baseline_uncalibrated.yaml"
TINY = {"seeds": (1,), "max_evals": 1, "population": 3000}


def _targets(tmp_path, tolerance: float, impossible: bool = False) -> Path:
    """A small targets file: two fitted targets (wide or impossible tolerances), one reported."""
    t = {"grassroots_share": {"value": 0.6, "tolerance": tolerance, "fit": True, "source": "s", "scope": "x"},
         "visits_per_capita": {"value": 7.0, "tolerance": 5.0, "fit": True, "source": "s", "scope": "x"},
         "down_up_referral_ratio": {"value": 0.3, "tolerance": 0.2, "fit": False, "source": "s", "scope": "x",
                                    "why_not_fitted": "no published up-referral volume"}}
    if impossible:
        t["grassroots_share"]["value"] = 0.05
    path = tmp_path / "targets.yaml"
    path.write_text(yaml.safe_dump({"targets": t}), encoding="utf-8")
    return path


def test_calibrate_never_replaces_a_shipped_scenario_unless_told(tmp_path, monkeypatch):
    shipped = tmp_path / "scenarios"
    shipped.mkdir()
    for name in ("baseline_uncalibrated.yaml", "baseline.yaml"):
        (shipped / name).write_text((SCENARIOS / name).read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(calibrate_module, "SHIPPED", shipped)
    target = shipped / "baseline.yaml"
    before = target.read_text(encoding="utf-8")
    runs = []
    monkeypatch.setattr(calibrate_module, "calibrate", lambda *a, **k: runs.append(1))  # must not get this far
    with pytest.raises(ScenarioError, match="a shipped scenario .under scenarios/. would be replaced.*--overwrite"):
        run_calibration(str(shipped / "baseline_uncalibrated.yaml"), str(TARGETS), str(target), report=print, **TINY)
    with pytest.raises(ScenarioError, match="the scenario being calibrated would be replaced"):
        run_calibration(str(shipped / "baseline_uncalibrated.yaml"), str(TARGETS),
                        str(shipped / "baseline_uncalibrated.yaml"), overwrite=True, report=print, **TINY)
    assert target.read_text(encoding="utf-8") == before and not runs
    monkeypatch.undo()
    monkeypatch.setattr(calibrate_module, "SHIPPED", shipped)
    said = []
    run_calibration(str(shipped / "baseline_uncalibrated.yaml"), str(_targets(tmp_path, 1.0)), str(target),
                    overwrite=True, report=said.append, **TINY)
    assert target.read_text(encoding="utf-8") != before
    assert any("replacing" in s and "--overwrite" in s for s in said)


def test_calibrate_without_out_writes_a_new_file_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(calibrate_module, "DEFAULT_FOLDER", tmp_path / "fits")
    taken = tmp_path / "fits" / "baseline_uncalibrated_calibrated.yaml"
    taken.parent.mkdir()
    taken.write_text("# someone's earlier fit\n", encoding="utf-8")
    said = []
    run_calibration(str(UNCALIBRATED), str(_targets(tmp_path, 1.0)), None, report=said.append, **TINY)
    new = tmp_path / "fits" / "baseline_uncalibrated_calibrated_2.yaml"
    assert new.exists() and taken.read_text(encoding="utf-8") == "# someone's earlier fit\n"
    assert f"no --out given: writing a new file, {new}" in said[0]
    assert load(new).base.world.population == 100_000


def test_calibrate_command_exits_1_naming_a_missed_target_and_records_its_command_line(tmp_path):
    out = tmp_path / "fit.yaml"
    args = [str(ROOT / "run.py"), "calibrate", str(UNCALIBRATED), "--targets", str(_targets(tmp_path, 0.001, True)),
            "--out", str(out), "--seeds", "1", "--max-evals", "1", "--population", "3000"]
    proc = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 fitted target(s) outside their tolerance" in proc.stdout
    assert re.search(r"grassroots_share: model [\d.]+, published 0.05 ± 0.001: off by \+[\d.]+ \([\d.]+ tolerances\)",
                     proc.stdout), proc.stdout
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == "# Calibrated by: python " + shlex.join(args)


def test_calibrate_command_exits_0_when_every_fitted_target_is_met(tmp_path):
    from argparse import Namespace

    args = Namespace(scenario=str(UNCALIBRATED), targets=str(_targets(tmp_path, 1.0)), out=str(tmp_path / "f.yaml"),
                     overwrite=False, seeds="1", max_evals=1, population=3000)
    assert calibrate_module.command(args) == 0


def test_fit_table_never_cuts_a_word():
    note = ("national scope: city residents at city hospitals, which a single county cannot reproduce; "
            "reported beside the model as a plausibility check (NHC 2019 Jan-Oct, 三级医院诊疗人次占比)")
    name = "tertiary_share_of_hospital_visits_in_the_whole_province"
    values = {f"behaviour.choice.preference.{t}": 0.25 for t in ("township", "county", "tertiary", "admission")}
    fit = calibrate_module.Fit(data={}, values=values, evaluations=1, seconds=0.0, cost=0.0, table=[
        {"target": name, "published": 0.517, "tolerance": 0.05, "model": 0.267, "within": False, "fitted": False,
         "source": "", "note": note},
        {"target": "grassroots_share", "published": 0.634, "tolerance": 0.015, "model": 0.64, "within": True,
         "fitted": True, "source": "", "note": ""}])
    text = calibrate_module.format_fit(fit)
    tokens = text.split()
    assert name in tokens
    assert all(word in tokens for word in note.split())
    assert all(name in tokens for name in values)
    assert max(len(line) for line in text.splitlines()) <= 160
    rows = [ln for ln in text.splitlines() if ln.startswith((name, "grassroots_share"))]
    assert len({ln.index(" 0.") for ln in rows}) >= 1 and rows[0].index("0.517") == rows[1].index("0.634")
