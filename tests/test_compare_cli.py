"""compare, sweep and sensitivity from the command line: tidy folders, identical numbers, robust runs."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim.studies.experiment
from sim.cli import main
from tests.conftest import ROOT, SCENARIOS

BASE = f"""extends: {SCENARIOS / 'baseline.yaml'}
name: base
days: 60
warmup_days: 10
world: {{population: 3000}}
"""
POLICY = """extends: base.yaml
name: policy
changes:
  - day: 20
    label: Tertiary outpatient pooling off for residents
    set: {insurance.resident.outpatient.tertiary.pooled: false}
"""


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    """A small base county and a policy that starts on day 20."""
    folder = tmp_path_factory.mktemp("scenarios")
    (folder / "base.yaml").write_text(BASE)
    (folder / "policy.yaml").write_text(POLICY)
    return folder


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def run_main(capsys, *args) -> tuple[int, str, str]:
    """Run the command line in this process; return exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def only(folder: Path) -> Path:
    (found,) = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return found


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


TIDY = ("replications.csv", "indicators.csv", "differences.csv", "daily/base.csv", "daily/policy.csv",
        "comparison.json")


@pytest.mark.slow
def test_compare_writes_the_same_numbers_on_one_and_two_workers_and_dask(county, tmp_path, capsys):
    from distributed import LocalCluster

    compare = ("compare", county / "base.yaml", county / "policy.yaml", "--reps", "3", "--seed", "7")
    folders = []
    for workers in (1, 2):
        code, out, err = run_main(capsys, *compare, "--workers", workers, "--out", tmp_path / f"w{workers}")
        assert code == 0, err
        folders.append(only(tmp_path / f"w{workers}" / "compare"))
    assert "Grassroots share of in-county visits" in out and "policy - base" in out
    assert "3 paired replications" in out and "2 local worker processes" in out
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        code, out, err = run_main(capsys, *compare, "--scheduler", cluster.scheduler_address, "--out",
                                  tmp_path / "dask", "--no-figures")
    assert code == 0 and "Dask at" in out, err
    folders.append(only(tmp_path / "dask" / "compare"))
    one = folders[0]
    for other in folders[1:]:
        for name in TIDY:
            assert (one / name).read_bytes() == (other / name).read_bytes(), name
    assert (one / "figures" / "forest.png").stat().st_size > 10_000
    # Tidy data: one row per scenario x replication x indicator, seeds paired across scenarios.
    reps = rows(one / "replications.csv")
    assert list(reps[0]) == ["scenario", "replication", "seed", "indicator", "value"]
    seeds = {(r["scenario"], r["replication"]): r["seed"] for r in reps}
    assert all(seeds[("base", i)] == seeds[("policy", i)] for i in ("0", "1", "2"))
    spec = json.loads((one / "comparison.json").read_text())
    assert spec["seeds"] == sim.studies.experiment.replication_seeds(7, 3) and spec["base"] == "base"
    # The paired difference is the mean of the per-replication differences, with a t-interval.
    value = {(r["scenario"], r["replication"], r["indicator"]): float(r["value"]) for r in reps}
    paired = [value[("policy", i, "grassroots_share_all")] - value[("base", i, "grassroots_share_all")]
              for i in ("0", "1", "2")]
    (diff,) = [r for r in rows(one / "differences.csv") if r["indicator"] == "grassroots_share_all"]
    assert float(diff["difference"]) == pytest.approx(np.mean(paired))
    assert float(diff["ci_low"]) < float(diff["difference"]) < float(diff["ci_high"])
    daily = rows(one / "daily" / "policy.csv")
    assert len(daily) == 3 * 60 and list(daily[0])[:3] == ["replication", "seed", "day"]


def test_plot_redraws_a_comparison_folder(county, tmp_path, capsys):
    code, _, err = run_main(capsys, "compare", county / "base.yaml", county / "policy.yaml", "--reps", "2",
                            "--workers", "1", "--out", tmp_path, "--no-figures")
    assert code == 0, err
    folder = only(tmp_path / "compare")
    assert not (folder / "figures" / "forest.png").exists()
    code, out, err = run_main(capsys, "plot", folder)
    assert code == 0, err
    assert (folder / "figures" / "forest.png").stat().st_size > 10_000 and "forest.png" in out


SWEEP = ("--vary", "signing.target_rate=0.35:0.75:3", "--reps", "3", "--seed", "3", "--days", "120")


def _sweep_files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("results.csv", "summary.csv", "sweep.json")}


@pytest.fixture(scope="module")
def uninterrupted_sweep(county, tmp_path_factory) -> dict[str, bytes]:
    """The files of the sweep run from start to end without a stop."""
    out = tmp_path_factory.mktemp("whole")
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", str(county / "base.yaml"), *SWEEP, "--workers", "1", "--out", str(out), "--no-figures"])
    assert exit_.value.code == 0
    return _sweep_files(only(out / "sweep"))


def _ctrl_c_as_at_a_terminal() -> None:
    """In the child: Ctrl-C acts, as at a terminal. A suite started in the background (`cmd &` in a
    script) runs with SIGINT ignored, and a child would inherit that and never be interrupted."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_a_sweep_stopped_half_way_resumes_to_the_same_data(county, tmp_path, capsys, how, uninterrupted_sweep):
    reference = uninterrupted_sweep

    out = tmp_path / "cut"
    workers = "1" if how == "SIGINT" else "2"
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err_file:
        proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "sweep", str(county / "base.yaml"), *SWEEP,
                                 "--workers", workers, "--out", str(out), "--no-figures"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err_file, preexec_fn=_ctrl_c_as_at_a_terminal)
    finished = []
    deadline = time.monotonic() + 120
    while len(finished) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        finished = list(out.glob("sweep/*/runs/*/rep-*/replication.json"))
    proc.send_signal(signal.SIGINT if how == "SIGINT" else signal.SIGKILL)
    proc.wait(timeout=60)
    err = log.read_text()
    kept = list(out.glob("sweep/*/runs/*/rep-*/replication.json"))
    assert 3 <= len(kept) < 9, "the sweep should stop half way"
    if how == "SIGINT":
        assert proc.returncode == 130 and "--resume" in err and "Traceback" not in err
    folder = only(out / "sweep")
    assert not (folder / "results.csv").exists()

    code, out, err = run_main(capsys, "sweep", county / "base.yaml", *SWEEP, "--workers", "2", "--resume", folder,
                              "--no-figures")
    assert code == 0, err
    assert f"{len(kept)} finished replication(s) reused" in out
    assert _sweep_files(folder) == reference


def test_a_failed_replication_is_reported_and_the_others_finish(county, tmp_path, capsys, monkeypatch):
    seeds = sim.studies.experiment.replication_seeds(5, 3)
    real = sim.studies.experiment.run_replication

    def failing(task):
        if task.scenario == "policy" and task.seed == seeds[1]:
            raise ValueError("injected failure")
        return real(task)

    monkeypatch.setattr(sim.studies.experiment, "run_replication", failing)
    args = ("compare", county / "base.yaml", county / "policy.yaml", "--reps", "3", "--seed", "5", "--workers", "1",
            "--out", tmp_path, "--no-figures")
    code, out, err = run_main(capsys, *args)
    assert code == 1
    assert f"FAILED: scenario policy, replication 1, seed {seeds[1]}: ValueError: injected failure" in out
    folder = only(tmp_path / "compare")
    failures = json.loads((folder / "failures.json").read_text())["failures"]
    assert [(f["scenario"], f["seed"]) for f in failures] == [("policy", seeds[1])]
    assert len(list(folder.glob("runs/*/rep-*/replication.json"))) == 5
    assert {r["replication"] for r in rows(folder / "replications.csv")} == {"0", "2"}  # complete pairs only

    monkeypatch.setattr(sim.studies.experiment, "run_replication", real)
    code, out, err = run_main(capsys, *args, "--resume", folder)
    assert code == 0, err
    assert "5 finished replication(s) reused" in out and not (folder / "failures.json").exists()
    assert {r["replication"] for r in rows(folder / "replications.csv")} == {"0", "1", "2"}


def _widest_half_width(folder: Path, indicator: str) -> float:
    found = [r for r in rows(folder / "indicators.csv") + rows(folder / "differences.csv")
             if r["indicator"] == indicator]
    return max((float(r["ci_high"]) - float(r["ci_low"])) / 2 for r in found)


@pytest.mark.slow
def test_reps_auto_adds_replications_until_the_target_is_met(county, tmp_path, capsys):
    args = ("compare", county / "base.yaml", county / "policy.yaml", "--reps", "auto", "--workers", "1",
            "--seed", "9", "--no-figures", "--days", "30")
    code, out, err = run_main(capsys, *args, "--target-halfwidth", "grassroots_share=0.05", "--out", tmp_path / "a")
    assert code == 0, err
    first = only(tmp_path / "a" / "compare")
    spec = json.loads((first / "comparison.json").read_text())
    assert spec["auto"] == {"target_met": True, "replications": 10, "batches": [10]}
    assert "targets met with 10 replications" in out

    target = 0.7 * _widest_half_width(first, "grassroots_share")
    code, out, err = run_main(capsys, *args, "--target-halfwidth", f"grassroots_share={target}",
                              "--max-reps", "60", "--out", tmp_path / "b")
    assert code == 0, err
    folder = only(tmp_path / "b" / "compare")
    auto = json.loads((folder / "comparison.json").read_text())["auto"]
    assert auto["target_met"] and auto["replications"] > 10 and auto["batches"][0] == 10
    assert _widest_half_width(folder, "grassroots_share") <= target
    n, table = auto["replications"], rows(folder / "replications.csv")
    names = {r["indicator"] for r in table}
    assert set(sim.studies.experiment.indicator_names()) <= names and len(table) == 2 * n * len(names)


def test_sensitivity_ranks_parameters_with_salib(county, tmp_path, capsys):
    code, out, err = run_main(capsys, "sensitivity", county / "base.yaml",
                              "--param", "behaviour.choice.preference.county=1:2.5",
                              "--param", "behaviour.choice.travel.minor=0.8:2.4", "--indicator", "grassroots_share",
                              "--method", "morris", "--n", "3", "--workers", "1", "--days", "30", "--out", tmp_path)
    assert code == 0, err
    folder = only(tmp_path / "sensitivity")
    indices = rows(folder / "indices.csv")
    assert [r["rank"] for r in indices] == ["1", "2"]
    assert {r["parameter"] for r in indices} == {"behaviour.choice.preference.county", "behaviour.choice.travel.minor"}
    assert float(indices[0]["mu_star"]) >= float(indices[1]["mu_star"]) > 0
    assert len({r["point"] for r in rows(folder / "samples.csv")}) == 3 * (2 + 1)
    assert (folder / "figures" / "sensitivity_grassroots_share.png").exists()


BAD = [
    (["sweep", "{base}", "--vary", "signing.target_rat=0:1:3"], "did you mean 'target_rate'"),
    (["sweep", "{base}", "--vary", "signing.target_rate=0.2:0.9"], "expected KEY=START:STOP:N"),
    (["sweep", "{base}", "--vary", "signing.target_rate=0.5:1.5:3"], "--vary signing.target_rate="),
    (["sweep", "{base}", "--vary", "world.population=1000:2000:2000"], "whole numbers"),
    (["sweep", "{base}", "--vary", "seed=1:5:5"], "per replication"),
    (["sweep", "{base}"], "--vary"),
    (["compare", "{base}", "{policy}", "--set", "world.populaton=5"], "did you mean 'population'"),
    (["compare", "{base}", "{policy}", "--set", "world.population=-5"], "world.population"),
    (["compare", "{base}"], "at least one policy"),
    (["compare", "{base}", "{policy}", "--reps", "1"], "at least 2"),
    (["compare", "{base}", "{policy}", "--reps", "auto"], "--target-halfwidth"),
    (["compare", "{base}", "{policy}", "--reps", "auto", "--target-halfwidth", "grassroot_share=0.01"],
     "did you mean 'grassroots_share'"),
    (["compare", "{base}", "{policy}", "--window", "50:10"], "--window"),
    (["compare", "{base}", "{policy}", "--resume", "{missing}"], "not a compare folder"),
    (["sensitivity", "{base}", "--param", "behaviour.choice.cost=2:1"], "LOW < HIGH"),
    (["sensitivity", "{base}", "--param", "behaviour.choice.cost=0:1", "--method", "sobol", "--n", "10"],
     "power of 2"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a[3:5]) or a[0] for a, _ in BAD])
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(county, tmp_path, capsys, argv, message):
    names = {"base": county / "base.yaml", "policy": county / "policy.yaml", "missing": tmp_path / "nowhere"}
    code, out, err = run_main(capsys, *[a.format(**names) for a in argv], "--out", tmp_path / "out")
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
