"""Bad scenario files never run and never crash: each class of mistake a planner can make.

Through the command line (`run.py FILE` and `run.py validate FILE`): exit code 2, every
problem on stderr with its file, line and key path, no traceback, no results folder.
With hypothesis: whatever text or mutated scenario the loader is given, it returns a
scenario or raises `ScenarioError`, never anything else.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.scenario.loader import MAX_ALIASES, MAX_BYTES, ScenarioError, load
from tests.conftest import ROOT, SCENARIOS


@dataclass
class Case:
    """A bad scenario: its files, and what stderr must say."""

    files: dict[str, str]                  # name -> text; the first is the one run
    expect: list[tuple[str, int | None, str, str]]  # (file, line, key path, words in the message)
    overrides: list[str] = field(default_factory=list)

    def write(self, folder: Path) -> Path:
        for name, text in self.files.items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder / next(iter(self.files))


BOMB = "\n".join([f"l0: &l0 [{', '.join(['x'] * 9)}]"]
                 + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]) + "\n"

EMPTY = "the file is empty: start it with `extends: baseline.yaml`"

CASES: dict[str, Case] = {
    "unknown key": Case({"s.yaml": "extends: baseline.yaml\nworld:\n  populaton: 5000\n"},
                        [("s.yaml", 3, "world.populaton", "did you mean 'population'")]),
    "unknown key, deeper": Case(
        {"s.yaml": "insurance:\n  resident:\n    outpatient:\n      tertiary:\n        rat: 0.2\n"},
        [("s.yaml", 5, "insurance.resident.outpatient.tertiary.rat",
          "did you mean 'rate'? allowed here: rate, deductible, annual_cap, pooled")]),
    "key one level too high": Case({"s.yaml": "insurance:\n  resident:\n    tertiary: {rate: 0.2}\n"},
                                   [("s.yaml", 3, "insurance.resident.tertiary",
                                     "outpatient.tertiary, inpatient.tertiary")]),
    "wrong type": Case({"s.yaml": "name: t\ndays: thirty\n"}, [("s.yaml", 2, "days", "allowed: a whole number")]),
    "quoted number": Case({"s.yaml": "signing:\n  target_rate: '0.6'\n"},
                          [("s.yaml", 2, "signing.target_rate", "found '0.6' (str); allowed: a number")]),
    "out of range": Case({"s.yaml": "insurance:\n  resident:\n    outpatient:\n      tertiary: {rate: 1.5}\n"},
                         [("s.yaml", 4, "insurance.resident.outpatient.tertiary.rate",
                           "found 1.5; allowed: a number from 0 to 1 (share)")]),
    "shares that do not add up": Case({"s.yaml": "behaviour:\n  severity: {minor: 0.9}\n"},
                                      [("s.yaml", 1, "behaviour", "severity shares must sum to 1")]),
    "budget without a community": Case({"s.yaml": "name: t\nmedical_community:\n  global_budget: {enabled: true}\n"},
                                       [("s.yaml", 2, "medical_community", "needs enabled: true")]),
    "too few agents": Case({"s.yaml": "scale: 50\nworld:\n  population: 3000\n"},
                           [("s.yaml", 1, "(top level)", "leaves fewer than 100 agents; allowed: scale at most 30")]),
    "change after the run ends": Case(
        {"s.yaml": "days: 100\nchanges:\n  - day: 150\n    label: late\n    set: {referral.downward.enabled: false}\n"},
        [("s.yaml", 3, "changes[0].day", "after the run ends; allowed: 0 to 99")]),
    "change to a key fixed at start": Case(
        {"s.yaml": "changes:\n  - day: 10\n    set:\n      world.population: 5000\n"},
        [("s.yaml", 4, "changes[0].set.world.population", "fixed when the run starts")]),
    "change to a day-0 state": Case(
        {"s.yaml": "changes:\n  - day: 10\n    set:\n      signing.initial_rate: 0.6\n"},
        [("s.yaml", 4, "changes[0].set.signing.initial_rate", "use signing.target_rate")]),
    "change with a bad value": Case(
        {"s.yaml": "changes:\n  - day: 10\n    set:\n      insurance.resident.outpatient.tertiary.rate: -1\n"},
        [("s.yaml", 4, "changes[0].set.insurance.resident.outpatient.tertiary.rate", "from 0 to 1")]),
    "YAML syntax error": Case({"s.yaml": "name: t\nworld: [1, 2\ndays: 30\n"},
                              [("s.yaml", 3, "(top level)", "YAML syntax error")]),
    "tab indentation": Case({"s.yaml": "world:\n\tpopulation: 5000\n"},
                            [("s.yaml", 2, "(top level)", "YAML syntax error")]),
    "unsafe tag": Case({"s.yaml": "name: !!python/object/apply:os.system ['touch PWNED']\n"},
                       [("s.yaml", 1, "name", "unsafe YAML tag '!!python/object/apply:os.system'")]),
    "unknown tag": Case({"s.yaml": "days: !!binary aGVsbG8=\n"}, [("s.yaml", 1, "days", "unknown YAML tag")]),
    "alias bomb": Case({"s.yaml": BOMB}, [("s.yaml", None, "", "refusing a possible alias bomb")]),
    "too many aliases": Case({"s.yaml": "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"},
                             [("s.yaml", 2, "(top level)", f"more than {MAX_ALIASES} aliases")]),
    "oversized file": Case({"s.yaml": "name: big\n" + "# padding\n" * (MAX_BYTES // 10 + 10)},
                           [("s.yaml", None, "(top level)", f"allowed: at most {MAX_BYTES:,}")]),
    "duplicate key": Case({"s.yaml": "name: t\ndays: 30\nseed: 4\ndays: 40\n"},
                          [("s.yaml", 4, "days", "duplicate key")]),
    "not a mapping": Case({"s.yaml": "- days: 30\n"}, [("s.yaml", 1, "(top level)", "allowed: a mapping of keys")]),
    "extends a missing file": Case({"s.yaml": "name: t\nextends: nowhere.yaml\n"},
                                   [("s.yaml", 2, "extends", "file 'nowhere.yaml' not found")]),
    "extends loop": Case({"a.yaml": "extends: b.yaml\nname: a\n", "b.yaml": "name: b\nextends: a.yaml\n"},
                         [("b.yaml", 2, "extends", "loop (a.yaml -> b.yaml -> a.yaml)")]),
    "error in the extended file": Case({"a.yaml": "extends: b.yaml\n", "b.yaml": "name: b\nseed: -4\n"},
                                       [("b.yaml", 2, "seed", "found -4")]),
    "empty file": Case({"s.yaml": ""}, [("s.yaml", 1, "(top level)", EMPTY)]),
    "only comments": Case({"s.yaml": "# my policy, to be written\n\n# later\n"}, [("s.yaml", 1, "(top level)", EMPTY)]),
    "only null": Case({"s.yaml": "null\n"}, [("s.yaml", 1, "(top level)", EMPTY)]),
    "extends an empty file": Case({"a.yaml": "extends: b.yaml\nname: a\n", "b.yaml": "# nothing yet\n"},
                                  [("b.yaml", 1, "(top level)", EMPTY)]),
    "bad --set key": Case({"s.yaml": "name: t\n"}, [("command line", None, "--set world.populaton=5000",
                                                      "did you mean 'population'")],
                          ["world.populaton=5000"]),
    "bad --set value": Case({"s.yaml": "name: t\n"}, [("command line (--set days=abc)", None, "days",
                                                       "found 'abc' (str); allowed: a whole number")], ["days=abc"]),
    "bad --set form": Case({"s.yaml": "name: t\n"}, [("command line", None, "--set days", "allowed: key.path=value")],
                           ["days"]),
    "bad --set list item": Case({"s.yaml": "name: t\n"}, [("command line", None, "--set world.tertiary.5.distance_km=9",
                                                           "world.tertiary has 2 item(s)")],
                                ["world.tertiary.5.distance_km=9"]),
}


# One case per class of error goes through `run.py FILE` (a process each, about a second);
# every case goes through a single `run.py validate` call.
RUN_CASES = ["unknown key", "wrong type", "out of range", "change after the run ends", "change to a key fixed at start",
             "YAML syntax error", "unsafe tag", "alias bomb", "oversized file", "duplicate key",
             "extends a missing file", "extends loop", "bad --set key", "empty file"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


def _prepare(case: Case, folder: Path) -> Path:
    for name in ("baseline.yaml", "baseline_uncalibrated.yaml"):  # the calibrated baseline and what it extends
        (folder / name).write_text((SCENARIOS / name).read_text(encoding="utf-8"), encoding="utf-8")
    return case.write(folder)


def _check_stderr(stderr: str, case: Case, folder: Path) -> None:
    """Each expected problem is on its own line: `file:line: key.path: message`.

    A line of None means the problem has no line (a missing file, the command line) or, with
    an empty key, that any line will do (an alias bomb is reported where it explodes).
    """
    for file, line, key, words in case.expect:
        shown = str(folder / file) if file.endswith(".yaml") else file
        if line:
            where = f"{shown}:{line}: "
        else:
            where = f"{shown}: " if key else f"{shown}:"
        lines = [ln.strip() for ln in stderr.splitlines() if ln.strip().startswith(where)]
        assert lines, f"no problem reported at {where!r}:\n{stderr}"
        assert any((f"{where}{key}: " in ln or not key) and words in ln for ln in lines), \
            f"expected {key!r} and {words!r} at {where!r}:\n{stderr}"


@pytest.mark.parametrize("name", RUN_CASES)
def test_run_refuses_bad_input_cleanly(name, tmp_path):
    case = CASES[name]
    scenario = _prepare(case, tmp_path)
    out = tmp_path / "results"
    sets = [a for o in case.overrides for a in ("--set", o)]
    proc = cli(str(scenario), "--out", str(out), "--no-figures", *sets, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "nothing was run" in proc.stderr
    _check_stderr(proc.stderr, case, tmp_path)
    assert not out.exists(), "a results folder was created for a bad scenario"
    assert not (tmp_path / "PWNED").exists()


def test_validate_reports_every_bad_file(tmp_path):
    """One `validate` call over every bad file: each is reported, nothing else is touched."""
    paths, cases = [], []
    for i, (name, case) in enumerate(CASES.items()):
        if case.overrides:
            continue
        folder = tmp_path / f"case{i}"
        folder.mkdir()
        paths.append(str(_prepare(case, folder)))
        cases.append((case, folder))
    good = SCENARIOS / "xinxiang_2025.yaml"
    proc = cli("validate", str(good), *paths, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.count("ok: ") == 1 and f"ok: {good}" in proc.stdout
    for case, folder in cases:
        _check_stderr(proc.stderr, case, folder)
    assert not any(tmp_path.rglob("PWNED"))


def test_validate_checks_every_override(tmp_path):
    """All the bad `--set` cases in one call: each is reported."""
    cases = [c for c in CASES.values() if c.overrides]
    scenario = _prepare(cases[0], tmp_path)
    sets = [a for c in cases for o in c.overrides for a in ("--set", o)]
    proc = cli("validate", str(scenario), *sets, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert f"{len(cases)} problems found" in proc.stderr
    for case in cases:
        _check_stderr(proc.stderr, case, tmp_path)


def test_every_problem_in_a_file_is_reported_at_once(tmp_path):
    text = ("extends: baseline.yaml\n"           # 1
            "days: 200\n"                        # 2
            "world:\n"                           # 3
            "  populaton: 5000\n"                # 4  unknown key
            "signing:\n"                         # 5
            "  target_rate: 1.4\n"               # 6  out of range
            "  ramp_days: soon\n"                # 7  wrong type
            "referral:\n"                        # 8
            "  downward: {enabled: 'no'}\n"      # 9  wrong type (quoted)
            "changes:\n"                         # 10
            "  - day: 300\n"                     # 11 after the run ends
            "    set: {referral.downward.enabled: false}\n"
            "  - day: 20\n"                      # 13
            "    set:\n"                         # 14
            "      world.townships: 3\n"         # 15 fixed at start
            "      signing.target_rat: 0.5\n")   # 16 unknown key in a change
    case = Case({"s.yaml": text}, [
        ("s.yaml", 4, "world.populaton", "did you mean 'population'"),
        ("s.yaml", 6, "signing.target_rate", "found 1.4"),
        ("s.yaml", 7, "signing.ramp_days", "found 'soon'"),
        ("s.yaml", 9, "referral.downward.enabled", "allowed: true or false"),
        ("s.yaml", 11, "changes[0].day", "after the run ends"),
        ("s.yaml", 15, "changes[1].set.world.townships", "fixed when the run starts"),
        ("s.yaml", 16, "changes[1].set.signing.target_rat", "did you mean 'target_rate'"),
    ])
    scenario = _prepare(case, tmp_path)
    proc = cli(str(scenario), "--out", str(tmp_path / "results"), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "7 problems found" in proc.stderr
    _check_stderr(proc.stderr, case, tmp_path)
    assert not (tmp_path / "results").exists()


def test_missing_or_unreadable_files(tmp_path):
    """A missing file, a folder, and a file that is not UTF-8 text (a GB18030 export)."""
    gb = tmp_path / "gb18030.yaml"
    gb.write_bytes("name: Pingyang 平阳\n".encode("gb18030"))
    reasons = {tmp_path / "nowhere.yaml": "No such file", tmp_path: "this is a folder", gb: "as UTF-8 text"}
    proc = cli("validate", *map(str, reasons), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    for path, reason in reasons.items():
        assert any(ln.strip().startswith(f"{path}: (top level): ") and reason in ln for ln in proc.stderr.splitlines())
    proc = cli(str(tmp_path / "nowhere.yaml"), "--out", str(tmp_path / "results"), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert f"{tmp_path / 'nowhere.yaml'}: (top level): cannot read the file" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_out_of_range_day_from_the_command_line(tmp_path):
    """`--days` shorter than a dated change: the change is named with its line."""
    proc = cli(str(SCENARIOS / "xinxiang_2025.yaml"), "--days", "100", "--out", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{SCENARIOS / 'xinxiang_2025.yaml'}:" in proc.stderr and "changes[0].day: found day 183" in proc.stderr
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------ hypothesis

BASELINE_DATA = load(SCENARIOS / "baseline.yaml").resolved()

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["0.5", "1e5", "yes", "2025-13-45", "~", "", "true", ".inf"]))
garbage = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=8), st.integers(), st.booleans()), inner, max_size=4)),
    max_leaves=12)
keys = st.sampled_from(["world", "population", "behaviour", "providers", "insurance", "referral", "signing",
                        "medical_community", "changes", "days", "seed", "name", "extends", "resident", "rate",
                        "tertiary", "outpatient", "set", "day", "enabled", "target_rate", "populaton", ""])


def _paths(data, prefix=()):
    yield prefix
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated_scenarios(draw):
    """The baseline scenario, or a valid change, with a few random mutations."""
    data = copy.deepcopy(BASELINE_DATA)
    data["world"]["population"] = 500
    if draw(st.booleans()):
        data["changes"] = [{"day": draw(st.integers(-5, 400)), "label": "x",
                            "set": {draw(st.sampled_from(["insurance.resident.outpatient.tertiary.rate",
                                                          "signing.target_rate", "world.population",
                                                          "referral.downward.enabled", "foo.bar",
                                                          "insurance.resident.outpatient.tertiary.rate.x",
                                                          "world.tertiary.0.distance_km", "signing.initial_rate"])):
                                    draw(garbage)}}]
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(data))
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add", "nest"]))
        if not path or action == "add":
            target = parent[path[-1]] if path else data
            if isinstance(target, dict):
                target[draw(keys)] = draw(garbage)
        elif action == "replace":
            parent[path[-1]] = draw(garbage)
        elif action == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = {draw(keys): parent[path[-1]]}
    return data


def _loads_or_refuses(path: Path, overrides=()) -> None:
    try:
        load(path, list(overrides))
    except ScenarioError as err:
        assert err.problems and all(str(p) for p in err.problems)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.slow
@FUZZ
@given(data=mutated_scenarios())
def test_loader_only_raises_its_own_error_on_mutated_scenarios(data, tmp_path):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _loads_or_refuses(path)


YAML_ALPHABET = st.sampled_from(list("abcdeyz019 .:-,[]{}#&*!|>'\"?%@`~\n\t\\") + ["<<", "!!python/object", "&a", "*a",
                                                                                    "---", "...", "world", "days"])


@FUZZ
@given(text=st.one_of(st.lists(YAML_ALPHABET, max_size=60).map("".join), st.text(max_size=80)))
def test_loader_only_raises_its_own_error_on_random_text(text, tmp_path):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _loads_or_refuses(path)


@FUZZ
@given(overrides=st.lists(st.one_of(
    st.text(max_size=30),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(["days", "world.population", "world.tertiary.0.name",
                                                        "world.tertiary.7.name", "insurance.resident", "changes",
                                                        "changes.0.day", "signing..rate", "seed", "x"]),
              st.text(max_size=20))), max_size=3))
@pytest.mark.slow
def test_loader_only_raises_its_own_error_on_random_overrides(overrides, tmp_path):
    _loads_or_refuses(SCENARIOS / "xinxiang_2025.yaml", overrides)
