"""A bad region never runs and never crashes: each mistake a planner can make in a region's files,
its by-kind and by-area parameters, or the command line that runs it.

Through the command line (`sim.cli.main`, in this process; two cases also as `run.py` in a
process of their own): exit code 2, the problem on stderr with its file, line and column (or
key path), nothing else raised, and no results folder.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.scenario.loader import ScenarioError, load
from tests.conftest import ROOT, SCENARIOS
from tests.region_cases import AREAS, HOSPITALS, POPULATION, scenario_text, write_region


def _row(area_id: str, old: str, new: str) -> str:
    """AREAS with one cell of area `area_id`'s row changed."""
    lines = AREAS.splitlines(keepends=True)
    return "".join(ln.replace(old, new, 1) if ln.startswith(area_id + ",") else ln for ln in lines)


def _without_column(text: str, column: str) -> str:
    rows = [ln.split(",") for ln in text.splitlines() if not ln.startswith("#")]
    k = rows[0].index(column)
    return "".join(",".join(r[:k] + r[k + 1:]) + "\n" for r in rows)


@dataclass
class Case:
    """A bad region: what differs from the small region, and where stderr must place the problem."""

    expect: tuple[str, int | None, str, str]   # (file, line, column or key path, words in the message)
    areas: str = AREAS
    hospitals: str = HOSPITALS
    extra: str = ""                            # appended to the scenario (region: keys indented by 2)
    pooling: str | None = None
    options: list[str] = field(default_factory=list)


REACHED = "".join(ln.rstrip("\n") + ("" if ln.startswith("#") else ",hospitals_reached" if ln.startswith("area_id")
                                      else ",h1;h9" if ln.startswith("c3,") else ",") + "\n"
                  for ln in AREAS.splitlines(keepends=True))

CASES = {
    "hospital not in hospitals.csv": Case(("areas.csv", 7, "hospitals_reached", "no hospital 'h9' in"), areas=REACHED),
    "populations do not add up": Case(
        ("areas.csv", 7, "population", f"add up to {POPULATION:,} residents but region.pooling_areas declares "
                                       f"{POPULATION + 1:,}"),
        pooling=f"    - {{id: city, population: {POPULATION + 1}}}\n    - {{id: province}}\n"),
    "unknown pooling area": Case(("areas.csv", 5, "pooling_area", "unknown pooling area 'town'; allowed: city, "
                                                                  "province"), areas=_row("c1", ",city,", ",town,")),
    "missing column": Case(("areas.csv", 1, "kind", "missing column"), areas=_without_column(AREAS, "kind")),
    "bad number": Case(("areas.csv", 4, "population", "found '3,6OO'"), areas=_row("d2", ",3600,", ',"3,6OO",')),
    "unknown kind": Case(("areas.csv", 6, "kind", "found 'suburban'; did you mean 'urban'? allowed: urban | rural"),
                         areas=_row("c2", ",rural,", ",suburban,")),
    "duplicate area": Case(("areas.csv", 7, "area_id", "area 'c2' is listed twice"), areas=_row("c3", "c3,", "c2,")),
    "hospital in an unknown area": Case(("hospitals.csv", 3, "area_id", "no area 'd7' in areas.csv"),
                                        hospitals=HOSPITALS.replace(",d2,", ",d7,")),
    "by_area for an unknown area": Case(("region.yaml", 13, "region.by_area.c9",
                                         "no area 'c9' in areas.csv; allowed: an area_id from it (d1, d2, c1, c2, c3)"),
                                        extra="  by_area:\n    c9: {signing.target_rate: 0.5}\n"),
    "bad by_kind key": Case(("region.yaml", 14, "region.by_kind.urban.insurance.resident.outpatient.tertiary.rat",
                             "did you mean 'rate'"),
                            extra="  by_kind:\n    urban:\n      insurance.resident.outpatient.tertiary.rat: 0.3\n"),
    "bad by_area value": Case(("region.yaml", 13, "region.by_area.c1.signing.target_rate",
                               "found 'high' (str); allowed: a number"),
                              extra="  by_area:\n    c1: {signing.target_rate: high}\n"),
    "by_area key set by areas.csv": Case(("region.yaml", 13, "region.by_area.c1.world.population",
                                          "cannot differ by area: it comes from areas.csv"),
                                         extra="  by_area:\n    c1: {world.population: 9000}\n"),
    "by_area values that clash": Case(("region.yaml", 13, "region.by_area.c1",
                                       "area c1: medical_community: global_budget.enabled: true needs enabled: true"),
                                      extra="  by_area:\n    c1: {medical_community.global_budget.enabled: true}\n"),
    "unknown kind in by_kind": Case(("region.yaml", 13, "region.by_kind.suburban", "allowed: 'urban' or 'rural'"),
                                    extra="  by_kind:\n    suburban: {signing.target_rate: 0.5}\n"),
    "--partitions 0": Case(("error", None, "--partitions 0", "allowed: 1 or more Dask workers"),
                           options=["--partitions", "0"]),
    "unreachable scheduler": Case(("error", None, "", "cannot reach the Dask scheduler at tcp://127.0.0.1:1"),
                                  options=["--scheduler", "tcp://127.0.0.1:1"]),
    "scheduler address without a port": Case(("error", None, "--scheduler localhost", "allowed: tcp://HOST:PORT"),
                                             options=["--scheduler", "localhost"]),
}


def _write(case: Case, folder: Path) -> Path:
    pooling = {} if case.pooling is None else {"pooling": case.pooling}
    return write_region(folder, scenario_text(extra=case.extra, **pooling), areas=case.areas, hospitals=case.hospitals)


def _main(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main(list(argv))
    return stop.value.code, capsys.readouterr().err


def _located(stderr: str, folder: Path, expect: tuple[str, int | None, str, str]) -> bool:
    file, line, key, words = expect
    if file == "error":
        return any(ln.startswith("error: ") and key in ln and words in ln and "nothing was run" in ln
                   for ln in stderr.splitlines())
    where = f"{folder / file}:{line}: {key}: "
    return any(ln.strip().startswith(where) and words in ln for ln in stderr.splitlines())


@pytest.mark.parametrize("name", CASES)
def test_bad_region_is_refused_with_its_place(name, tmp_path, capsys):
    case = CASES[name]
    scenario = _write(case, tmp_path)
    out = tmp_path / "results"
    code, stderr = _main(capsys, str(scenario), "--out", str(out), "--no-figures", *case.options)
    assert code == 2, stderr
    assert _located(stderr, tmp_path, case.expect), f"expected {case.expect} in:\n{stderr}"
    assert not out.exists(), "a results folder was made for a run that could not start"
    if not case.options:  # a problem with the files is found by `validate` too
        code, stderr = _main(capsys, "validate", str(scenario))
        assert code == 2 and _located(stderr, tmp_path, case.expect), stderr


def test_partitions_on_a_county_scenario(tmp_path, capsys):
    code, stderr = _main(capsys, str(SCENARIOS / "baseline.yaml"), "--out", str(tmp_path / "r"), "--partitions", "2")
    assert code == 2 and "this scenario is one county (no region: section)" in stderr and "nothing was run" in stderr
    assert not (tmp_path / "r").exists()


def test_every_problem_of_a_region_at_once(tmp_path, capsys):
    """Several mistakes in areas.csv, hospitals.csv and by_area: all reported in one go, and no
    follow-on noise (a refused row does not also make its pooling area's population short)."""
    areas = _row("d2", ",3600,", ",abc,")
    areas = "".join(ln.replace(",rural,", ",suburban,") if ln.startswith("c2,") else ln
                    for ln in areas.splitlines(keepends=True))
    case = Case(("", 0, "", ""), areas=areas, hospitals=HOSPITALS.replace(",d2,", ",d7,"),
                extra="  by_area:\n    c1: {signing.target_rat: 0.5}\n")
    code, stderr = _main(capsys, "validate", str(_write(case, tmp_path)))
    assert code == 2
    for expect in [("areas.csv", 4, "population", "found 'abc'"), ("areas.csv", 6, "kind", "found 'suburban'"),
                   ("region.yaml", 13, "region.by_area.c1.signing.target_rat", "did you mean 'target_rate'")]:
        assert _located(stderr, tmp_path, expect), f"{expect} in:\n{stderr}"
    assert "add up to" not in stderr


@pytest.mark.parametrize("name", ["hospital not in hospitals.csv", "unreachable scheduler"])
def test_run_py_refuses_without_a_traceback(name, tmp_path):
    """The same through `run.py` in a process of its own: no traceback reaches the planner."""
    case = CASES[name]
    scenario = _write(case, tmp_path)
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), str(scenario), "--out", str(out), "--no-figures",
                           *case.options], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert _located(proc.stderr, tmp_path, case.expect), proc.stderr
    assert not out.exists()


def test_a_run_that_fails_before_saving_leaves_no_folder(tmp_path, capsys, monkeypatch):
    """A failure after every check passed (here: building the areas) leaves no results folder behind:
    the check that the folder is writable removes what it made."""
    import sim.outputs.runs
    from sim.scenario.problems import Problem

    def fail(*args, **kwargs):
        raise ScenarioError([Problem("area c1", None, "world", "cannot be built")])
    monkeypatch.setattr(sim.outputs.runs, "make_model", fail)
    out = tmp_path / "results"
    code, stderr = _main(capsys, str(write_region(tmp_path)), "--out", str(out), "--no-figures")
    assert code == 2 and "area c1: world: cannot be built" in stderr
    assert not out.exists()


KEYS = st.one_of(st.sampled_from(["signing.target_rate", "insurance.resident.outpatient.tertiary.rate", "world",
                                  "world.population", "world.townships", "medical_community", "seed", "days",
                                  "region.files", "changes", "world.tertiary.0.distance_km", "signing..rate",
                                  "medical_community.global_budget.enabled", "population.employee_share", ""]),
                 st.text(max_size=12))
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                   st.text(max_size=8), st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
                   st.lists(st.integers(), max_size=2))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(section=st.sampled_from(["by_kind: {urban: ", "by_kind: {rural: ", "by_area: {c1: ", "by_area: {d9: "]),
       key=KEYS, value=VALUES)
@example(section="by_kind: {urban: ", key="²", value=None)  # a digit that is no number: once a ValueError
def test_any_by_kind_or_by_area_loads_or_is_refused(section, key, value, tmp_path):
    """Whatever a planner writes under by_kind or by_area, the loader returns a timeline or a
    located ScenarioError, never anything else."""
    entry = yaml.safe_dump({key: value}, default_flow_style=True, allow_unicode=True).strip()
    path = write_region(tmp_path, scenario_text(extra=f"  {section}{entry}}}\n"))
    try:
        load(path)
    except ScenarioError as err:
        assert err.problems and all(p.file and str(p) for p in err.problems)


@pytest.mark.slow
def test_a_scheduler_without_workers_is_refused(tmp_path, capsys):
    """A reachable scheduler with no workers: exit 2 saying how to start one, nothing built or written."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, protocol="tcp", dashboard_address=None) as cluster:
        out = tmp_path / "results"
        code, stderr = _main(capsys, str(write_region(tmp_path)), "--out", str(out), "--no-figures",
                             "--scheduler", cluster.scheduler_address)
    assert code == 2, stderr
    assert f"the Dask scheduler at {cluster.scheduler_address} has no workers" in stderr
    assert "dask worker" in stderr and "Traceback" not in stderr
    assert not out.exists()
