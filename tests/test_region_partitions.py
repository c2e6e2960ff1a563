"""Same numbers on any number of workers: a region's `daily.csv` and `summary.json` are byte for
byte the same whether its areas run in one group or split 2 or 3 ways.

In this process (fast): the small region's areas in 1, 2 and 3 groups stepped one after another,
and the areas' daily reports of the shared hospitals, from one group and from three.
Through the command line (slow): `run.py SCENARIO` with no `--partitions`, with 1, 2 and 3 (a
local Dask cluster each), and with `--scheduler` (a running cluster of 2 workers: one group each).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.outputs.results import write_daily, write_json
from sim.region.coupling import couple
from sim.region.model import RegionModel
from sim.scenario.loader import load
from tests.conftest import ROOT
from tests.region_cases import run_in_process, scenario_text, write_region

CHANGE = ("changes:\n  - day: 20\n    label: tertiary rate cut\n"
          "    set: {insurance.resident.outpatient.tertiary.rate: 0.2}\n")
RUN_SPECIFIC = ("wall", "seconds", "partitions", "busy", "peak", "created", "command", "folder")


def _files(model, folder: Path) -> dict[str, bytes]:
    """The bytes of daily.csv, summary.json and facilities.csv as a run would write them."""
    folder.mkdir()
    write_daily(folder / "daily.csv", model.daily())
    write_json(folder / "summary.json", model.summary())
    write_json(folder / "facilities.json", model.tables()["facilities"])
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_partitions_give_identical_results_in_process(tmp_path):
    timeline = load(write_region(tmp_path / "scenario", scenario_text(days=40, extra=CHANGE)))
    runs = {}
    for n in (1, 2, 3):
        model = run_in_process(timeline, n)
        assert model.partitions == n
        assert model.members == [[[0, 1, 2, 3, 4]], [[0, 2], [1, 3, 4]], [[0, 1], [2, 3], [4]]][n - 1]
        runs[n] = _files(model, tmp_path / f"p{n}")
    assert runs[1] == runs[2] == runs[3]
    summary = json.loads(runs[1]["summary.json"])
    assert set(summary["periods"]) == {"before", "after"} and len(summary["areas"]) == 5


def test_reports_do_not_depend_on_the_partitioning(tmp_path):
    """Day by day, the areas' reports of the shared hospitals (what the coupling reads) are the same
    from one group as from three."""
    timeline = load(write_region(tmp_path, scenario_text(days=15, warmup=5)))
    one, three = RegionModel(timeline, in_process=True), RegionModel(timeline, partitions=3, in_process=True)
    settings = {one: [None], three: [None] * 3}
    for _ in range(20):
        reports = {m: m.workers.call("step", settings[m]) for m in (one, three)}
        assert len(reports[one]) == 5
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(reports[one], reports[three]))
        for m in (one, three):
            per_area = couple(reports[m])
            settings[m] = [[per_area[i] for i in members] for members in m.members]


def _keys(data) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in _keys(v)}
    return set()


def _run(scenario: Path, out: Path, *options: str) -> Path:
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), str(scenario), "--out", str(out), "--no-figures",
                           *options], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [folder] = list((out / "small_region").iterdir())
    return folder


@pytest.mark.slow
def test_partitions_give_identical_files_through_the_command_line(tmp_path):
    """`run.py` with no --partitions, 1, 2, 3 and a running scheduler: the same daily.csv and summary.json
    (with a dated change, so the run without it goes through the workers too)."""
    from dask.distributed import LocalCluster

    scenario = write_region(tmp_path / "scenario", scenario_text(days=30, extra=CHANGE))  # and its counterfactual
    folders = {label: _run(scenario, tmp_path / label, *options)
               for label, options in {"none": (), "1": ("--partitions", "1"), "2": ("--partitions", "2"),
                                      "3": ("--partitions", "3")}.items()}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        folders["scheduler"] = _run(scenario, tmp_path / "scheduler", "--scheduler", cluster.scheduler_address)
    for name in ("daily.csv", "summary.json", "daily_without_policy.csv", "facilities.csv"):
        first = (folders["none"] / name).read_bytes()
        assert all((f / name).read_bytes() == first for f in folders.values()), name
    summary = json.loads((folders["none"] / "summary.json").read_text(encoding="utf-8"))
    assert "policy_effect" in summary and set(summary["policy_effect"]["areas"]) == {"d1", "d2", "c1", "c2", "c3"}
    assert not [k for k in _keys(summary) if any(word in k for word in RUN_SPECIFIC)], "run-specific fields"
    partitions = {label: json.loads((f / "manifest.json").read_text(encoding="utf-8"))["partitions"]
                  for label, f in folders.items()}
    assert partitions == {"none": 1, "1": 1, "2": 2, "3": 3, "scheduler": 2}, "one group per scheduler worker"


@pytest.mark.slow
def test_the_local_cluster_runs_without_dasks_sampling_profiler(tmp_path):
    """Dask's profiler (every 10 ms) takes the GIL from the stepping areas: TierFlow's own cluster
    starts its workers without it, and leaves this process's Dask settings as they were."""
    import dask

    from sim.region.workers import PROFILER

    model = RegionModel(load(write_region(tmp_path / "scenario", scenario_text(days=5))), partitions=2)
    try:
        assert list(model.workers.client.run(lambda: dask.config.get(PROFILER)).values()) == [False, False]
    finally:
        model.close()
    assert dask.config.get(PROFILER) is True
