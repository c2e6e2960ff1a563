"""`run.py sensitivity`: global sensitivity of indicators to parameters (SALib: Morris or Sobol).

    python run.py sensitivity scenarios/baseline.yaml --param behaviour.travel.minor=0.5:2 \\
        --param providers.quality.township=0.4:0.8 --indicator grassroots_share --method morris --n 10

Morris (elementary effects) screens many parameters cheaply: N trajectories, N x (D + 1) runs.
Sobol gives variance shares, first order (S1) and total (ST): N x (D + 2) runs, N a power of 2.
Every sample point runs `--reps` replications with the same seeds (common random numbers),
averaged before the analysis. Writes `results/sensitivity/<timestamp>/`:

    sensitivity.json  the scenario, parameters and ranges, method, N, seeds
    samples.csv       point, one column per parameter, replication, seed, indicator, value
    indices.csv       indicator, parameter, rank, then mu_star, mu_star_conf, mu, sigma (Morris)
                      or ST, ST_conf, S1, S1_conf (Sobol)
    figures/sensitivity_<indicator>.png  parameters ranked by their effect
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import numpy as np

from sim.studies.experiment import Task, replication_seeds, timeline_data
from sim.scenario.loader import load
from sim.studies.study import (add_experiment_options, check_indicators, check_override_keys, check_workers, load_points,
                       parse_reps, parse_window, require, scenario_fingerprint, set_text, start_session, usage_error,
                       value_kind, write_csv_atomic)

METHODS = ("morris", "sobol")
DEFAULT_N = {"morris": 10, "sobol": 64}
MAX_RUNS = 100_000
COLUMNS = {"morris": ("mu_star", "mu_star_conf", "mu", "sigma"), "sobol": ("ST", "ST_conf", "S1", "S1_conf")}


def setup(p: argparse.ArgumentParser) -> None:
    """Arguments of `sensitivity`."""
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--param", action="append", default=[], metavar="KEY=LOW:HIGH",
                   help="a parameter and its range (repeat for each parameter)")
    p.add_argument("--indicator", action="append", default=[], metavar="NAME",
                   help="indicators to analyse (default: grassroots_share)")
    p.add_argument("--method", choices=METHODS, default="morris", help="morris (screening) or sobol (variance)")
    p.add_argument("--n", type=int, help="Morris trajectories (default 10) or Sobol base samples, a power of 2 "
                                         "(default 64)")
    p.add_argument("--levels", type=int, default=4, help="Morris grid levels (default 4)")
    add_experiment_options(p, reps_default="1")


def command(args: argparse.Namespace) -> int:
    """Sample, run, analyse with SALib; print the ranking; write the folder."""
    if not args.param:
        raise usage_error("sensitivity", "give at least one --param KEY=LOW:HIGH")
    check_workers(args)
    reps = parse_reps(args.reps, minimum=1)
    indicators = args.indicator or ["grassroots_share"]
    check_indicators(indicators)
    n = args.n if args.n is not None else DEFAULT_N[args.method]
    _check_n(args.method, n, args.levels)
    require("SALib", "research")
    keys = check_override_keys(args.param, "--param")
    base = load(args.scenario, args.set, days=args.days)
    bounds, kinds = [], []
    for spec, key in zip(args.param, keys):
        bounds.append(_parse_range(spec))
        kinds.append(value_kind(base, key))
        if kinds[-1] is bool:
            raise usage_error(f"--param {spec}", f"{key} is true or false; sensitivity needs a numeric range")
    corners = [[set_text(k, _typed(v, kind))] for k, (lo, hi), kind in zip(keys, bounds, kinds) for v in (lo, hi)]
    load_points(args.scenario, args.set, corners, args.days, "--param")  # ranges within the schema's limits
    problem = {"num_vars": len(keys), "names": keys, "bounds": bounds}
    root = args.seed if args.seed is not None else base.base.seed
    samples = _sample(args.method, problem, n, args.levels, root)
    if len(samples) * reps > MAX_RUNS:
        raise usage_error("--n", f"{len(samples) * reps:,} runs; allowed: at most {MAX_RUNS:,}")
    values = [[_typed(v, kind) for v, kind in zip(row, kinds)] for row in samples]
    timelines = load_points(args.scenario, args.set, [[set_text(k, v) for k, v in zip(keys, row)] for row in values],
                            args.days, "--param")
    window = parse_window(args.window, base.base.days)
    labels = [f"point-{i:0{len(str(len(values) - 1))}d}" for i in range(len(values))]
    settings = {"method": args.method, "n": n, "levels": args.levels if args.method == "morris" else None,
                "problem": problem, "replications": reps}
    inputs = {"base": scenario_fingerprint(base), "root_seed": root,
              "window": list(window) if window else None, **settings}
    session, stack = start_session("sensitivity", args, inputs)
    with stack:
        session.save_scenarios({"base": base})
        seeds = replication_seeds(root, reps)
        session.write_spec({"scenario": str(args.scenario), "name": base.base.name, "overrides": list(args.set),
                            "days": base.base.days, **settings, "indicators": indicators, "runs": len(values) * reps,
                            "root_seed": root, "seeds": seeds, "window": list(window) if window else None,
                            "integer_parameters": [k for k, kind in zip(keys, kinds) if kind is int]})
        tasks = [Task(label, i, seed, timeline_data(t, seed), window, keep_daily=False)
                 for i, seed in enumerate(seeds) for label, t in zip(labels, timelines)]
        outcome = session.run(tasks)
        finished = {k: r.indicators for k, r in outcome.results.items()}
        names = list(next(iter(finished.values()))) if finished else []
        if finished and not outcome.stopped:
            write_csv_atomic(session.folder / "samples.csv",
                             ["point", *keys, "replication", "seed", "indicator", "value"],
                             ([lab, *row, i, seeds[i], name, finished[f"{lab}/rep-{i:04d}"][name]]
                              for i in range(reps) for lab, row in zip(labels, values)
                              if f"{lab}/rep-{i:04d}" in finished for name in names))
        if outcome.complete:
            rows = []
            for name in indicators:
                y = np.array([np.mean([finished[f"{lab}/rep-{i:04d}"][name] for i in range(reps)]) for lab in labels])
                rows += analyse(args.method, problem, samples, y, args.levels, root, name)
            write_csv_atomic(session.folder / "indices.csv", ["indicator", "parameter", "rank",
                                                              *COLUMNS[args.method]], rows)
            print(ranking_table(args.method, rows))
            if not args.no_figures:
                from sim.outputs.plots.compare import draw_sensitivity

                print("Figures: " + ", ".join(str(p) for p in draw_sensitivity(session.folder)))
            print(f"\nResults: {session.folder}/")
        elif finished and not outcome.stopped:
            print("the indices need every sample point: resume to retry the failed ones", flush=True)
        return session.finish([str(args.scenario)], runs=len(values) * reps)


def _check_n(method: str, n: int, levels: int) -> None:
    if method == "sobol" and (n < 2 or n & (n - 1)):
        raise usage_error(f"--n {n}", "Sobol sampling needs a power of 2 (e.g. 32, 64, 128)")
    if method == "morris" and n < 2:
        raise usage_error(f"--n {n}", "Morris needs at least 2 trajectories")
    if method == "morris" and (levels < 2 or levels % 2):
        raise usage_error(f"--levels {levels}", "Morris needs an even number of levels, at least 2 (e.g. 4)")


def _parse_range(spec: str) -> list[float]:
    text = spec.partition("=")[2]
    lo_text, sep, hi_text = text.partition(":")
    try:
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        lo = hi = math.nan
    if not sep or not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise usage_error(f"--param {spec}", "expected KEY=LOW:HIGH with numbers LOW < HIGH, "
                                             "e.g. signing.target_rate=0.3:0.7")
    return [lo, hi]


def _typed(value: float, kind: type):
    return int(round(value)) if kind is int else float(f"{value:.12g}")


def _sample(method: str, problem: dict, n: int, levels: int, seed: int) -> np.ndarray:
    """SALib's sample: Morris trajectories, or Saltelli's scheme on a scrambled Sobol' sequence."""
    seed32 = seed % 2**32
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, n, num_levels=levels, seed=seed32)
    from SALib.sample import sobol

    return sobol.sample(problem, n, calc_second_order=False, seed=seed32)


def analyse(method: str, problem: dict, x: np.ndarray, y: np.ndarray, levels: int, seed: int,
            indicator: str) -> list[list]:
    """SALib's indices for one indicator, ranked (most influential first)."""
    seed32 = seed % 2**32
    if method == "morris":
        from SALib.analyze import morris

        res = morris.analyze(problem, x, y, num_levels=levels, seed=seed32)
        table = [[float(res[c][j]) for c in COLUMNS["morris"]] for j in range(problem["num_vars"])]
    else:
        from SALib.analyze import sobol

        res = sobol.analyze(problem, y, calc_second_order=False, seed=seed32)
        table = [[float(res[c][j]) for c in COLUMNS["sobol"]] for j in range(problem["num_vars"])]
    order = sorted(range(problem["num_vars"]), key=lambda j: -abs(table[j][0]) if math.isfinite(table[j][0]) else 0)
    return [[indicator, problem["names"][j], rank, *table[j]] for rank, j in enumerate(order, start=1)]


def ranking_table(method: str, rows: Sequence[list]) -> str:
    """The parameters ranked for each indicator."""
    cols = COLUMNS[method]
    heads = ["indicator", "rank", "parameter", *cols]
    body = [[r[0], str(r[2]), r[1], *(f"{v:.4g}" for v in r[3:])] for r in rows]
    widths = [max(len(h), *(len(b[j]) for b in body)) + 2 for j, h in enumerate(heads)]
    lines = ["".join(h.ljust(w) if j < 3 else h.rjust(w) for j, (h, w) in enumerate(zip(heads, widths)))]
    lines += ["".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(b, widths))) for b in body]
    what = "mu_star: mean absolute elementary effect" if method == "morris" else "ST: total-order Sobol index"
    return f"Global sensitivity ({method}; ranked by {what})\n" + "\n".join(lines)
