"""Validation against published policy effects (python run.py validate-model).

The checks are data (data/validation/checks.yaml) run on scenario pairs (scenarios/validation/).
Fast tests keep the declarations complete and show the verdict can go either way; the slow
ones run the command as CI does and check its report.
"""

from __future__ import annotations

import math
import re

import pytest

from sim.cli import main
from sim.engine.indicators import indicator_names
from sim.scenario.loader import load
from sim.studies.validation import (CLASSES, ROOT, SIZES, Criterion, Spec, evaluate, format_checks, load_specs,
                                    run_scenarios, run_size, run_sized, scenario_files)
from sim.studies.validation_measures import MEASURES, known, measure

LAST_LINE = re.compile(r"^(\d+) of (\d+) checks agree$")


@pytest.fixture(scope="module")
def specs():
    return load_specs()


def test_at_least_twelve_checks_cover_every_class(specs):
    assert len(specs) >= 12
    assert {s.klass for s in specs} == set(CLASSES)
    for s in specs:
        assert s.evidence and s.source and s.design and s.criteria, s.id
        assert all(c.says and (math.isfinite(c.low) or math.isfinite(c.high)) for c in s.criteria), s.id


def test_every_measure_is_known(specs):
    names = set(indicator_names())
    for s in specs:
        for c in s.criteria:
            assert known(c.measure, names), (s.id, c.measure)
            assert c.per is None or known(c.per, names), (s.id, c.per)


def test_every_scenario_loads_and_opens_with_its_evidence(specs):
    for path in scenario_files(specs):
        load(ROOT / path)
        head = (ROOT / path).read_text(encoding="utf-8").splitlines()[0]
        assert head.startswith("# "), path
    for s in specs:  # each pair says, in one of its files, what it mirrors
        for base, policy in s.pairs.values():
            text = (ROOT / base).read_text(encoding="utf-8") + (ROOT / policy).read_text(encoding="utf-8")
            assert all(w in text for w in ("Evidence", "Source", "Criterion")), (s.id, policy)


def test_unknown_keys_are_refused(tmp_path):
    bad = tmp_path / "checks.yaml"
    bad.write_text("checks:\n  - {id: X, class: a, name: n, evidence: e, source: s, design: d, base: b.yaml,\n"
                   "     criteria: [{measure: grassroots_share, change: pp, says: s, hgih: 1}]}\n")
    with pytest.raises(ValueError, match="hgih"):
        load_specs(bad)


def _fake_runs(base: float, policy: float, seeds: int = 3) -> dict:
    runs = {}
    for i in range(seeds):
        runs[("b.yaml", i)] = ({"grassroots_share": base + 0.001 * i, "signing_rate": 0.35}, {}, 0, 1)
        runs[("p.yaml", i)] = ({"grassroots_share": policy + 0.001 * i, "signing_rate": 0.65}, {}, 0, 1)
    return runs


def _spec(*criteria: Criterion) -> Spec:
    return Spec("T", "a", "test", "e", "s", "d", {"main": ("b.yaml", "p.yaml")}, criteria)


def test_a_check_agrees_and_its_reversed_criterion_fails():
    crit = Criterion("grassroots_share", "pp", "up 1-5 pp", low=1.0, high=5.0)
    runs = _fake_runs(0.60, 0.62)
    check = evaluate(_spec(crit), runs, 3)
    assert check.agrees and check.values[0] == pytest.approx(2.0)
    assert not evaluate(_spec(crit), runs, 3, [crit.reversed()]).agrees
    assert not evaluate(_spec(crit), _fake_runs(0.60, 0.58), 3).agrees   # the model moving the other way
    per = Criterion("grassroots_share", "difference", "per signed", low=0.05, high=0.1, per="signing_rate")
    assert evaluate(_spec(per), runs, 3).values[0] == pytest.approx(0.02 / 0.3)


def test_format_ends_with_the_count():
    crit = Criterion("grassroots_share", "pp", "up", low=1.0)
    checks = [evaluate(_spec(crit), _fake_runs(0.6, 0.62), 3), evaluate(_spec(crit), _fake_runs(0.6, 0.6), 3)]
    text = format_checks(checks)
    assert text.splitlines()[-1] == "1 of 2 checks agree"
    assert "evidence:" in text and "source:" in text and "criterion:" in text


def test_measures_read_the_daily_ledger():
    import numpy as np
    from sim.engine.metrics import COLUMNS, GROUP_SLICE
    daily = {c: np.zeros(2) for c in COLUMNS}
    cols = COLUMNS[GROUP_SLICE["visits"]]  # tier x scheme
    for value, col in zip([10, 0, 20, 0, 30, 5, 40, 5], cols):
        daily[col][:] = value
    assert measure("visits.grassroots", {}, daily, 0, 2) == 60
    assert measure("visits.hospital.employee", {}, daily, 0, 2) == 20
    assert measure("visit_share.tertiary", {}, daily, 0, 1) == pytest.approx(45 / 110)
    assert len(MEASURES) > 100


@pytest.mark.slow
def test_validate_model_runs_and_reports_every_check(capsys, specs):
    with pytest.raises(SystemExit) as exit_:
        main(["validate-model", "--quick"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    m = LAST_LINE.match(lines[-1])
    assert m and int(m.group(2)) == len(specs), lines[-1]
    blocks = out.split("\n\n")[:-1]
    assert len(blocks) == len(specs)
    for block, s in zip(blocks, specs):
        assert s.id in block
        for field in ("evidence:", "source:", "model:", "criterion:"):
            assert field in block, (s.id, field)


@pytest.mark.slow
def test_a_real_check_fails_when_its_criterion_is_reversed(specs):
    spec = next(s for s in specs if s.id == "G4-UEBMI-PRIM")
    runs = run_scenarios(scenario_files([spec]), population=10000, seeds=2)
    check = evaluate(spec, runs, 2)
    reversed_check = evaluate(spec, runs, 2, [c.reversed() for c in spec.criteria])
    assert not (check.agrees and reversed_check.agrees)
    directional = spec.criteria[0]  # employee grassroots visits up: a cheaper grassroots never lowers them
    assert evaluate(spec, runs, 2, [directional]).agrees
    assert not evaluate(spec, runs, 2, [directional.reversed()]).agrees


CALIBRATION_STUDIES = ("Zhu et al. 2019", "BMJ Open (ITS, Beijing)", "Risk Manag Healthc Policy", "J Rural Stud",
                       "Jing, Wang", "Ding & Zhou", "Wang Chan", "Zhang Hao")  # calibration_targets.md, section J


def test_no_check_uses_a_calibration_study(specs):
    import yaml
    targets = yaml.safe_load((ROOT / "data" / "targets" / "county.yaml").read_text(encoding="utf-8"))
    sources = {t["source"] for t in targets["targets"].values()}
    assert sources
    for s in specs:
        text = f"{s.evidence} {s.source}"
        assert not any(name in text for name in CALIBRATION_STUDIES), s.id
        assert s.source not in sources, s.id


def _sized(population=None, seeds=None) -> Spec:
    return Spec("T", "a", "test", "e", "s", "d", {"main": ("b.yaml", "p.yaml")}, (), population=population,
                seeds=seeds)


def test_a_check_runs_at_its_declared_size_scaled_by_quick_and_overridden_by_the_command_line():
    default, quick = SIZES["default"], SIZES["quick"]
    assert run_size(_sized()) == default
    assert run_size(_sized()) != run_size(_sized(population=100000))
    assert run_size(_sized(100000, 5)) == (100000, 5)
    assert run_size(_sized(100000, 5), quick=True) == (round(100000 * quick[0] / default[0]), quick[1])
    assert run_size(_sized(), quick=True) == quick
    assert run_size(_sized(100000, 5), population=20000, seeds=2) == (20000, 2)
    assert run_size(_sized(100000, 5), quick=True, seeds=3) == (run_size(_sized(100000, 5), quick=True)[0], 3)


def test_declared_sizes_load_and_bad_ones_are_refused(tmp_path):
    entry = ("checks:\n  - {id: X, class: a, name: n, evidence: e, source: s, design: d, base: b.yaml, %s\n"
             "     criteria: [{measure: grassroots_share, change: pp, says: s, low: 1}]}\n")
    good = tmp_path / "good.yaml"
    good.write_text(entry % "population: 100000, seeds: 4,")
    assert (load_specs(good)[0].population, load_specs(good)[0].seeds) == (100000, 4)
    for bad in ("population: 50,", "seeds: 1,", "population: lots,"):
        path = tmp_path / "bad.yaml"
        path.write_text(entry % bad)
        with pytest.raises(ValueError, match="at least"):
            load_specs(path)


def test_the_noisy_checks_declare_a_larger_size(specs):
    """Checks whose effect is small against the noise at the default size run larger by default."""
    by_id = {s.id: s for s in specs}
    for cid in ("A1-OUTPOOL-UEBMI", "A5-POOL-UP"):
        pop, seeds = run_size(by_id[cid])
        assert pop * seeds > SIZES["default"][0] * SIZES["default"][1], cid


@pytest.mark.slow
def test_sizes_share_runs_and_seeds_are_stable_as_their_number_grows():
    """A file run at one population for two seed counts runs once: the first seeds are the same runs."""
    f = "scenarios/validation/base_1y.yaml"
    runs = run_sized({(2000, 2): [f], (2000, 3): [f]})
    assert runs[(2000, 2)][(f, 0)] is runs[(2000, 3)][(f, 0)]
    assert len(runs[(2000, 3)]) == 3
