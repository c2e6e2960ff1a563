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
uncalibrated assumptions and the fit stay separate and both are reviewable. Calibration
cannot hurt: without `--out` it writes a new file (never an existing one), a shipped
scenario (under the repository's `scenarios/`) is replaced only with `--overwrite`, the
written file records the exact command line, and the command exits 1 when a fitted
target ends outside its tolerance (naming it and by how much).
"""

from __future__ import annotations

import os
import shlex
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.scenario.fields import parameter
from sim.scenario.loader import COMMAND_LINE, Problem, ScenarioError, Timeline, load
from sim.scenario.messages import value_at
from sim.scenario.overrides import set_in, split_path, with_overrides
from sim.scenario.schema import AGE_BANDS, Scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "scenarios"          # never replaced without --overwrite
DEFAULT_FOLDER = Path("results") / "calibration"  # where a fit goes when no --out is given
EXIT_TARGET_MISSED = 1


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
    settings: Callable[[dict, float], dict[str, float]]  # the input's data, a value -> {dotted path: value}
    step: float  # finite-difference step: large enough to rise above simulation noise


def _within_schema(path: str, lower: float, upper: float) -> tuple[float, float]:
    """A search range narrowed to the parameter's own range in the schema."""
    lo, hi, _ = parameter(path).bounds
    return (lower if lo is None else max(lower, lo)), (upper if hi is None else min(upper, hi))


def _scalar(path: str, *, lower: float, upper: float, step: float) -> Parameter:
    lower, upper = _within_schema(path, lower, upper)
    return Parameter(path, lower, upper, lambda d: float(value_at(d, split_path(path))),
                     lambda d, v: {path: float(v)}, step)


def _scale(name: str, section: str, members: tuple[str, ...], lower: float, upper: float,
           step: float = 0.1) -> Parameter:
    """A common multiplier on several values, relative to the input (so it starts at 1).

    Each scaled value stays within its schema range (a probability at most 1).
    """
    paths = [f"{section}.{m}" for m in members]
    caps = [parameter(p).bounds[1] for p in paths]

    def settings(d: dict, v: float) -> dict[str, float]:
        out = {}
        for path, cap in zip(paths, caps):
            scaled = value_at(d, split_path(path)) * float(v)
            out[path] = scaled if cap is None else min(scaled, float(cap))
        return out
    return Parameter(name, lower, upper, lambda d: 1.0, settings, step)


PARAMETERS: tuple[Parameter, ...] = (
    _scalar("behaviour.choice.preference.township", lower=-5, upper=5, step=0.25),
    _scalar("behaviour.choice.preference.county", lower=-5, upper=5, step=0.25),
    _scalar("behaviour.choice.preference.tertiary", lower=-5, upper=5, step=0.25),
    _scalar("behaviour.choice.preference.tertiary_admission", lower=-5, upper=5, step=0.25),
    _scalar("behaviour.choice.cost", lower=0.2, upper=3, step=0.15),
    _scale("incidence_scale", "behaviour.acute_incidence", AGE_BANDS, 0.5, 2.0, step=0.05),
    _scale("inpatient_scale", "behaviour.inpatient_probability", ("moderate", "severe", "critical"),
           0.3, 3.0, step=0.05),
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
        base = with_overrides(base, {"world.population": population}, where="--population")
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
        settings: dict[str, float] = {}
        for p, v in zip(parameters, x):
            settings.update(p.settings(base, v))
        return with_overrides(base, settings, where="calibration")

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
        set_in(data, ("world", "population"), timeline.base.world.population)
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


def command_text(scenario: str, targets_file: str, output: str | None, seeds: tuple[int, ...],
                 max_evals: int | None, population: int | None, overwrite: bool = False) -> str:
    """A command line that repeats a calibration (when the exact one is not known)."""
    args = ["python", "run.py", "calibrate", scenario, "--targets", targets_file]
    args += ["--out", output] if output else []
    args += ["--seeds", ",".join(str(s) for s in seeds)]
    args += ["--max-evals", str(max_evals)] if max_evals is not None else []
    args += ["--population", str(population)] if population is not None else []
    args += ["--overwrite"] if overwrite else []
    return shlex.join(args)


def _is_shipped(path: Path) -> bool:
    return path.resolve().is_relative_to(SHIPPED.resolve())


def _numbered(path: Path) -> Path:
    """`path`, or `name_2.yaml`, `name_3.yaml`, ...: the first that does not exist."""
    n = 1
    out = path
    while out.exists():
        n += 1
        out = path.with_name(f"{path.stem}_{n}{path.suffix}")
    return out


def choose_output(scenario: str, output: str | None, overwrite: bool = False) -> tuple[Path, str]:
    """Where the calibrated scenario goes, and how to say it; refuses to replace what it must not.

    No `--out`: a new file `results/calibration/<input>_calibrated.yaml` (numbered, never an
    existing one). A shipped scenario (under the repository's `scenarios/`) is replaced only
    with `overwrite`; the input itself never (the fit extends it).
    """
    if output is None:
        path = _numbered(DEFAULT_FOLDER / f"{Path(scenario).stem}_calibrated.yaml")
        return path, f"no --out given: writing a new file, {path}"
    path = Path(output)
    if path.resolve() == Path(scenario).resolve():
        raise ScenarioError([Problem(COMMAND_LINE, None, f"--out {output}",
                                     "the scenario being calibrated would be replaced; the fit extends it, so it "
                                     "cannot take its place. allowed: another file, e.g. --out my_fit.yaml")])
    if path.exists() and _is_shipped(path) and not overwrite:
        raise ScenarioError([Problem(COMMAND_LINE, None, f"--out {output}",
                                     "a shipped scenario (under scenarios/) would be replaced; allowed: a new file "
                                     "(e.g. --out my_fit.yaml, or no --out for results/calibration/), or "
                                     "--overwrite to replace it on purpose")])
    if path.exists():
        return path, f"replacing {path}" + (" (--overwrite)" if _is_shipped(path) else "")
    return path, f"writing a new file, {path}"


def _fit_lines(table: list[dict], prefix: str = "") -> list[str]:
    width = max(len(r["target"]) for r in table)
    lines = []
    for row in table:
        mark = "ok " if row["within"] else "OFF"
        kind = "fitted  " if row["fitted"] else "reported"
        lines.append(f"{prefix}{mark} {kind} {row['target']:<{width}} {row['published']:>8.4g} ± "
                     f"{row['tolerance']:<6.3g} model {row['model']:.4g}")
    return lines


def write_calibrated(fit: Fit, source: Path, base: dict, output: Path, targets_file: Path, seeds: tuple[int, ...],
                     command_line: str | None = None) -> None:
    """Write the fitted constants as a scenario that extends the input scenario.

    The header records the command line that made it (`command_line`; a command that
    repeats the fit when not given), when, and the fit target by target.
    """
    changed = fitted_overrides(base, fit.data)
    behaviour_only = {k: v for k, v in changed.items() if k == "behaviour"}
    command_line = command_line or command_text(str(source), str(targets_file), str(output), seeds, None, None)
    lines = [
        f"# Calibrated by: {command_line}",
        f"# on {time.strftime('%Y-%m-%d')}: {fit.evaluations} model evaluations, {fit.seconds:.0f} s, seeds {list(seeds)}.",
        "# Fit, target by target (published value, tolerance, model):",
        *_fit_lines(fit.table, "#   "),
        "# Only behavioural constants are fitted; everything else comes from the extended file.", "",
    ]
    rel = Path(os.path.relpath(source.resolve(), output.resolve().parent))
    body = {"extends": str(rel), "name": output.stem,
            "description": base.get("description", ""), **behaviour_only}
    text = "\n".join(lines) + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=100)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")


def misses(fit: Fit) -> list[str]:
    """Each fitted target outside its tolerance: which, and by how much."""
    out = []
    for r in fit.table:
        if r["fitted"] and not r["within"]:
            off = r["model"] - r["published"]
            out.append(f"{r['target']}: model {r['model']:.4g}, published {r['published']:.4g} ± "
                       f"{r['tolerance']:.3g}: off by {off:+.4g} ({abs(off) / r['tolerance']:.1f} tolerances)")
    return out


def run_calibration(scenario: str, targets_file: str, output: str | None, seeds: tuple[int, ...], max_evals: int,
                    population: int | None, report: Callable[[str], None] = print, *, overwrite: bool = False,
                    command_line: str | None = None) -> Fit:
    """The `calibrate` command: load, fit, report, write the calibrated scenario.

    Where it writes is settled (and refused, see `choose_output`) before any model runs.
    """
    timeline = load(scenario)
    if timeline.base.region is not None:
        raise ScenarioError([Problem(scenario, None, "region", "calibrate fits one county's behaviour to county "
                                     "targets; allowed: a county scenario (calibrate it, then let the region "
                                     "extend it, as scenarios/xinxiang_city.yaml extends baseline.yaml)")])
    targets = load_targets(targets_file)
    path, where = choose_output(scenario, output, overwrite)
    command_line = command_line or command_text(scenario, targets_file, output, seeds, max_evals, population,
                                                overwrite)
    report(f"Calibrating {scenario} to {sum(t.fit for t in targets)} targets in {targets_file} "
           f"(seeds {list(seeds)}, at most {max_evals} evaluations); {where}")
    fit = calibrate(timeline, targets, seeds=seeds, max_evals=max_evals, population=population, progress=report)
    report(format_fit(fit))
    write_calibrated(fit, Path(scenario), timeline.resolved(), path, Path(targets_file), seeds, command_line)
    report(f"\nWrote {path} (extends {scenario})")
    missed = misses(fit)
    if missed:
        report(f"\n{len(missed)} fitted target(s) outside their tolerance:\n  " + "\n  ".join(missed))
    return fit


NOTE_WIDTH = 48  # characters of a note per line in the printed table (wrapped at spaces, never inside a word)


def format_fit(fit: Fit) -> str:
    """The fit as a table a reader can check target by target (long notes wrap between words)."""
    width = max([len("target")] + [len(r["target"]) for r in fit.table]) + 2
    head = f"\n{'target':<{width}}{'published':>10}{'± tol':>9}{'model':>10}  within  fitted  why not fitted"
    rows = [head]
    indent = " " * (width + 10 + 9 + 10 + 2 + 6 + 2 + 6 + 2)
    for r in fit.table:
        line = (f"{r['target']:<{width}}{r['published']:>10.4g}{r['tolerance']:>9.3g}{r['model']:>10.4g}  "
                f"{'yes' if r['within'] else 'NO':>6}  {'yes' if r['fitted'] else 'no':>6}")
        note = textwrap.wrap(r["note"], NOTE_WIDTH, break_long_words=False, break_on_hyphens=False) \
            if not r["fitted"] else []
        rows.append(f"{line}  {note[0]}" if note else line)
        rows += [indent + more for more in note[1:]]
    values = ", ".join(f"{k} = {v:.4g}" for k, v in fit.values.items())
    rows.append("\n" + textwrap.fill(f"fitted values: {values}", 100, subsequent_indent="  ",
                                      break_long_words=False, break_on_hyphens=False))
    rows.append(f"{fit.evaluations} evaluations in {fit.seconds:.0f} s")
    return "\n".join(rows)


def setup(parser) -> None:
    """Options of `python run.py calibrate`."""
    parser.add_argument("scenario", help="the scenario to calibrate (normally scenarios/baseline_uncalibrated.yaml)")
    parser.add_argument("--targets", required=True, help="targets file, e.g. data/targets/county.yaml")
    parser.add_argument("--out", "--output", dest="out",
                        help="write the calibrated scenario here (it extends the input); default: a new file in "
                             "results/calibration/")
    parser.add_argument("--overwrite", action="store_true",
                        help="allow --out to replace a shipped scenario (one under scenarios/)")
    parser.add_argument("--seeds", default="1,2", help="seeds of the simulated moments, comma-separated (default 1,2)")
    parser.add_argument("--max-evals", type=int, default=160, help="most model runs (default 160)")
    parser.add_argument("--population", type=int, help="calibrate on a county of this size (default: the scenario's)")


def command(args) -> int:
    """Run `python run.py calibrate`: exit 1 when a fitted target ends outside its tolerance."""
    try:
        seeds = tuple(int(s) for s in args.seeds.split(","))
    except ValueError:
        raise ScenarioError([Problem("command line", None, "--seeds", f"found {args.seeds!r}; allowed: "
                                                                       "whole numbers separated by commas")]) from None
    exact = ("python " if sys.argv[0].endswith(".py") else "") + shlex.join(sys.argv)
    fit = run_calibration(args.scenario, args.targets, args.out, seeds, args.max_evals, args.population,
                          overwrite=args.overwrite, command_line=exact)
    return EXIT_TARGET_MISSED if misses(fit) else 0
