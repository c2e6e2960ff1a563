"""Fitting behavioural constants to official figures (simulated moments, common random numbers).

Method. The targets (data/targets/*.yaml) are summary indicators with a published value and
a tolerance. For a vector θ of behavioural constants, the model is run for a fixed set of
seeds (the same seeds at every θ: common random numbers, so the objective changes only
because θ does) and the fitted indicators are averaged. The residual of each target is
(simulated - published) / tolerance; a damped Gauss-Newton method (`gauss_newton`: a
finite-difference Jacobian with steps large enough to see through simulation noise, and
bounded steps solved by `scipy.optimize.lsq_linear`) minimises their sum of squares. A
target is met when |residual| <= 1.

The fitted constants are written as a scenario file that `extends:` the input, so the
uncalibrated assumptions and the fit stay separate and both are reviewable.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.scenario.loader import Problem, ScenarioError, Timeline, load
from sim.scenario.schema import AGE_BANDS, Scenario


@dataclass(frozen=True)
class Target:
    """A published figure the model should reproduce."""

    name: str
    value: float
    tolerance: float
    fit: bool
    source: str
    scope: str
    note: str = ""


@dataclass(frozen=True)
class Parameter:
    """A behavioural constant (or a scale on a group of them) the calibration may move."""

    name: str
    lower: float
    upper: float
    get: Callable[[dict], float]
    set: Callable[[dict, float], None]
    step: float  # finite-difference step: large enough to rise above simulation noise


def _path(data: dict, *keys: str) -> dict:
    for k in keys:
        data = data[k]
    return data


def _scalar(*keys: str, lower: float, upper: float, step: float) -> Parameter:
    *parent, leaf = keys
    return Parameter(".".join(keys), lower, upper, lambda d: float(_path(d, *parent)[leaf]),
                     lambda d, v: _path(d, *parent).__setitem__(leaf, float(v)), step)


def _scale(name: str, keys: tuple[str, ...], members: tuple[str, ...], lower: float, upper: float,
           cap: float | None = None, step: float = 0.1) -> Parameter:
    """A common multiplier on several values, relative to the input (so it starts at 1).

    `set` is applied once to a fresh copy of the input's data, so it scales the input values.
    """
    def set_(d: dict, v: float) -> None:
        group = _path(d, *keys)
        for m in members:
            group[m] = group[m] * float(v) if cap is None else min(group[m] * float(v), cap)
    return Parameter(name, lower, upper, lambda d: 1.0, set_, step)


PARAMETERS: tuple[Parameter, ...] = (
    _scalar("behaviour", "choice", "preference", "township", lower=-5, upper=5, step=0.25),
    _scalar("behaviour", "choice", "preference", "county", lower=-5, upper=5, step=0.25),
    _scalar("behaviour", "choice", "preference", "tertiary", lower=-5, upper=5, step=0.25),
    _scalar("behaviour", "choice", "preference", "tertiary_admission", lower=-5, upper=5, step=0.25),
    _scalar("behaviour", "choice", "cost", lower=0.2, upper=3, step=0.15),
    _scale("incidence_scale", ("behaviour", "acute_incidence"), AGE_BANDS, 0.5, 2.0, step=0.05),
    _scale("inpatient_scale", ("behaviour", "inpatient_probability"), ("moderate", "severe", "critical"),
           0.3, 3.0, cap=1.0, step=0.05),
)


def gauss_newton(residuals: Callable[[np.ndarray], np.ndarray], x0: np.ndarray, lower: np.ndarray,
                 upper: np.ndarray, steps: np.ndarray, max_evals: int,
                 goal: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Damped Gauss-Newton (Levenberg-Marquardt) for noisy simulated moments.

    The Jacobian comes from forward differences with steps large enough to see through
    simulation noise (`steps`, in each parameter's units); each step solves the bounded,
    damped linear least-squares problem with `scipy.optimize.lsq_linear`. Stops when every
    residual is within `goal` tolerances (below one, leaving room for other seeds), when
    steps stop helping, or at `max_evals`.
    Returns the best point and its residuals.
    """
    from scipy.optimize import lsq_linear

    x, r = x0.copy(), residuals(x0)
    used, damping = 1, 1.0
    while used + len(x) + 1 <= max_evals and np.max(np.abs(r)) > goal:
        jac = np.empty((len(r), len(x)))
        for i, h in enumerate(steps):
            h = h if x[i] + h <= upper[i] else -h
            probe = x.copy()
            probe[i] += h
            jac[:, i] = (residuals(probe) - r) / h
            used += 1
        improved = False
        while used < max_evals and damping < 1e4:
            a = np.vstack([jac, np.sqrt(damping) * np.diag(1.0 / steps)])
            b = np.concatenate([-r, np.zeros(len(x))])
            step = lsq_linear(a, b, bounds=(lower - x, upper - x)).x
            trial = x + step
            r_trial = residuals(trial)
            used += 1
            if r_trial @ r_trial < r @ r:
                x, r, damping, improved = trial, r_trial, damping / 3.0, True
                break
            damping *= 4.0
        if not improved:
            break
    return x, r


def load_targets(path: str | Path) -> list[Target]:
    """Read a targets file; problems are reported as ScenarioError (file, key, what is wrong)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read targets: {exc}")]) from None
    problems, targets = [], []
    for name, t in (data or {}).get("targets", {}).items():
        try:
            targets.append(Target(name, float(t["value"]), float(t["tolerance"]), bool(t.get("fit", True)),
                                  str(t.get("source", "")), str(t.get("scope", "")), str(t.get("why_not_fitted", ""))))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(Problem(str(path), None, f"targets.{name}", f"needs value and tolerance ({exc})"))
    if problems or not targets:
        raise ScenarioError(problems or [Problem(str(path), None, "targets", "no targets found")])
    return targets


def run_data(data: dict, seed: int):
    """Run a resolved scenario given as plain data (no dated changes) with one seed; return the model."""
    from sim.engine.model import TierFlowModel

    return TierFlowModel(Timeline(Scenario.model_validate({**data, "seed": seed, "changes": []})), agents=False).run()


def simulate(data: dict, seeds: tuple[int, ...]) -> list[dict]:
    """Run a resolved scenario (plain data) once per seed; return the summaries."""
    return [run_data(data, seed).summary() for seed in seeds]


def moments(summaries: list[dict], names: list[str]) -> np.ndarray:
    """Mean of each named indicator over replications."""
    return np.array([np.mean([s[n] for s in summaries]) for n in names])


@dataclass
class Fit:
    """The result of a calibration."""

    data: dict                 # the calibrated scenario (plain data)
    values: dict[str, float]   # fitted parameter values
    table: list[dict]          # target by target: published, tolerance, model, within
    evaluations: int
    seconds: float
    cost: float


def calibrate(timeline: Timeline, targets: list[Target], seeds: tuple[int, ...] = (1, 2),
              max_evals: int = 120, parameters: tuple[Parameter, ...] = PARAMETERS,
              population: int | None = None, progress: Callable[[str], None] | None = None) -> Fit:
    """Fit `parameters` so the fitted targets are met; see the module docstring for the method."""
    base = timeline.resolved()
    base.pop("changes", None)
    if population is not None:
        base["world"]["population"] = population
    fitted = [t for t in targets if t.fit]
    names = [t.name for t in fitted]
    goal = np.array([t.value for t in fitted])
    tol = np.array([t.tolerance for t in fitted])
    x0 = np.array([p.get(base) for p in parameters])
    lower = np.array([p.lower for p in parameters])
    upper = np.array([p.upper for p in parameters])
    x0 = np.clip(x0, lower, upper)
    count = [0]
    started = time.perf_counter()

    def apply(x: np.ndarray) -> dict:
        data = copy.deepcopy(base)
        for p, v in zip(parameters, x):
            p.set(data, v)
        return data

    def residuals(x: np.ndarray) -> np.ndarray:
        count[0] += 1
        r = (moments(simulate(apply(x), seeds), names) - goal) / tol
        if progress:
            progress(f"  evaluation {count[0]:3d}: sum of squares {float(r @ r):8.3f}  "
                     f"worst {names[int(np.argmax(np.abs(r)))]} {float(np.max(np.abs(r))):.2f} tolerances")
        return r

    x, evals = gauss_newton(residuals, x0, lower, upper, steps=np.array([p.step for p in parameters]),
                            max_evals=max_evals)
    data = apply(x)
    final = simulate(data, seeds)
    table = []
    for t in targets:
        model = float(np.mean([s[t.name] for s in final]))
        table.append({"target": t.name, "published": t.value, "tolerance": t.tolerance, "model": model,
                      "within": abs(model - t.value) <= t.tolerance, "fitted": t.fit, "source": t.source,
                      "note": t.note})
    if population is not None:
        data["world"]["population"] = timeline.base.world.population
    return Fit(data=data, values={p.name: float(v) for p, v in zip(parameters, x)}, table=table,
               evaluations=count[0], seconds=time.perf_counter() - started, cost=0.5 * float(evals @ evals))


def fitted_overrides(base: dict, fitted: dict) -> dict:
    """The parts of `fitted` that differ from `base` (nested), for a small `extends:` file."""
    out: dict[str, Any] = {}
    for key, value in fitted.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            sub = fitted_overrides(base[key], value)
            if sub:
                out[key] = sub
        elif base.get(key) != value:
            out[key] = round(value, 4) if isinstance(value, float) else value
    return out


def write_calibrated(fit: Fit, source: Path, base: dict, output: Path, targets_file: Path, seeds: tuple[int, ...]) -> None:
    """Write the fitted constants as a scenario that extends the input scenario."""
    changed = fitted_overrides(base, fit.data)
    behaviour_only = {k: v for k, v in changed.items() if k == "behaviour"}
    lines = [
        f"# Calibrated by `python run.py calibrate {source.name} --targets {targets_file}`",
        f"# on {time.strftime('%Y-%m-%d')}: {fit.evaluations} model evaluations, {fit.seconds:.0f} s, seeds {list(seeds)}.",
        "# Fit, target by target (published value, tolerance, model):",
    ]
    for row in fit.table:
        mark = "ok " if row["within"] else "OFF"
        kind = "fitted  " if row["fitted"] else "reported"
        lines.append(f"#   {mark} {kind} {row['target']:<36} {row['published']:>8.4g} ± {row['tolerance']:<6.3g} "
                     f"model {row['model']:.4g}")
    lines += ["# Only behavioural constants are fitted; everything else comes from the extended file.", ""]
    rel = Path(os.path.relpath(source.resolve(), output.resolve().parent))
    body = {"extends": str(rel), "name": output.stem,
            "description": base.get("description", ""), **behaviour_only}
    text = "\n".join(lines) + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
    output.write_text(text, encoding="utf-8")


def run_calibration(scenario: str, targets_file: str, output: str | None, seeds: tuple[int, ...], max_evals: int,
                    population: int | None, report: Callable[[str], None] = print) -> Fit:
    """The `calibrate` command: load, fit, report, write the calibrated scenario."""
    timeline = load(scenario)
    targets = load_targets(targets_file)
    report(f"Calibrating {scenario} to {sum(t.fit for t in targets)} targets in {targets_file} "
           f"(seeds {list(seeds)}, at most {max_evals} evaluations)")
    fit = calibrate(timeline, targets, seeds=seeds, max_evals=max_evals, population=population, progress=report)
    report(format_fit(fit))
    if output:
        write_calibrated(fit, Path(scenario), timeline.resolved(), Path(output), Path(targets_file), seeds)
        report(f"\nWrote {output} (extends {scenario})")
    return fit


def format_fit(fit: Fit) -> str:
    """The fit as a table a reader can check target by target."""
    head = f"\n{'target':<38}{'published':>10}{'± tol':>9}{'model':>10}  within  fitted"
    rows = [head]
    for r in fit.table:
        rows.append(f"{r['target']:<38}{r['published']:>10.4g}{r['tolerance']:>9.3g}{r['model']:>10.4g}  "
                    f"{'yes' if r['within'] else 'NO':>6}  {'yes' if r['fitted'] else 'no (' + r['note'][:40] + ')'}")
    rows.append("\nfitted values: " + ", ".join(f"{k} = {v:.4g}" for k, v in fit.values.items()))
    rows.append(f"{fit.evaluations} evaluations in {fit.seconds:.0f} s")
    return "\n".join(rows)


def setup(parser) -> None:
    """Options of `python run.py calibrate`."""
    parser.add_argument("scenario", help="the scenario to calibrate (normally scenarios/baseline_uncalibrated.yaml)")
    parser.add_argument("--targets", required=True, help="targets file, e.g. data/targets/county.yaml")
    parser.add_argument("--out", help="write the calibrated scenario here (it extends the input)")
    parser.add_argument("--seeds", default="1,2", help="seeds of the simulated moments, comma-separated (default 1,2)")
    parser.add_argument("--max-evals", type=int, default=160, help="most model runs (default 160)")
    parser.add_argument("--population", type=int, help="calibrate on a county of this size (default: the scenario's)")


def command(args) -> int:
    """Run `python run.py calibrate`."""
    try:
        seeds = tuple(int(s) for s in args.seeds.split(","))
    except ValueError:
        raise ScenarioError([Problem("command line", None, "--seeds", f"found {args.seeds!r}; allowed: "
                                                                       "whole numbers separated by commas")]) from None
    run_calibration(args.scenario, args.targets, args.out, seeds, args.max_evals, args.population)
    return 0
