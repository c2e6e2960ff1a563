"""The command line a planner uses: a run writes a complete results folder and a table."""

from __future__ import annotations

import pytest

import json
import subprocess
import sys

from tests.conftest import ROOT, SCENARIOS


def run_cli(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_run_writes_a_results_folder(tmp_path):
    out = tmp_path / "results"
    proc = run_cli(str(SCENARIOS / "xinxiang_2025.yaml"), "--days", "200", "--set", "world.population=5000",
                   "--seed", "5", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Grassroots share of in-county visits" in proc.stdout and "before day 183" in proc.stdout
    (folder,) = list((out / "xinxiang_2025").iterdir())
    names = {p.name for p in folder.iterdir()}
    assert {"scenario.yaml", "daily.csv", "summary.json", "manifest.json", "figures"} <= names
    summary = json.loads((folder / "summary.json").read_text())
    for key in ("grassroots_share", "grassroots_share_all", "in_county_share", "tertiary_share",
                "visits_per_capita", "admissions_per_100", "referrals_up", "referrals_down",
                "minor_cases_at_tertiary_share", "out_of_county_fund_share", "fund_balance", "oop_per_capita",
                "catastrophic_share", "forgone_episodes", "chronic_management_rate", "signing_rate"):
        assert key in summary and key in summary["periods"]["before"] and key in summary["periods"]["after"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["wall_seconds"] > 0 and "run.py" in manifest["command"]
    assert (folder / "figures" / "visit_shares.png").stat().st_size > 10_000
    lines = (folder / "daily.csv").read_text().splitlines()
    assert len(lines) == 201 and lines[0].startswith("day,visits_village_resident")
    assert not any(p.name.startswith(".") for p in (out / "xinxiang_2025").iterdir())


@pytest.mark.slow
def test_saved_scenario_reruns_to_identical_numbers(tmp_path):
    first = run_cli(str(SCENARIOS / "baseline.yaml"), "--days", "30", "--set", "world.population=3000",
                    "--out", str(tmp_path / "a"), "--no-figures")
    assert first.returncode == 0, first.stderr
    (folder,) = list((tmp_path / "a" / "baseline").iterdir())
    again = run_cli(str(folder / "scenario.yaml"), "--out", str(tmp_path / "b"), "--no-figures")
    assert again.returncode == 0, again.stderr
    (folder_b,) = list((tmp_path / "b" / "baseline").iterdir())
    assert (folder / "daily.csv").read_bytes() == (folder_b / "daily.csv").read_bytes()


@pytest.mark.slow
def test_validate_accepts_every_shipped_scenario():
    files = sorted(str(p) for p in SCENARIOS.glob("*.yaml"))
    proc = run_cli("validate", *files)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("ok: ") == len(files)
