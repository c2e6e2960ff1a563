"""`run.py sweep`: a grid over one or more parameters, replicated with paired seeds.

    python run.py sweep scenarios/baseline.yaml --vary signing.target_rate=0.35:0.75:5 --reps 10
    python run.py sweep scenarios/baseline.yaml --vary A=0:1:5 --vary B=true,false --reps 5

`--vary KEY=START:STOP:N` takes N evenly spaced values (whole numbers for whole-number
parameters); `--vary KEY=V1,V2,...` lists them. Replication i of every grid point uses the same
seed (common random numbers along the grid). Writes `results/sweep/<timestamp>/`:

    sweep.json     the scenario, the keys and their values, the points, seeds, settings
    results.csv    point, one column per key, replication, seed, indicator, value
    summary.csv    point, one column per key, indicator, n, mean, sd, ci_low, ci_high
    figures/sweep_<indicator>.png  a line with its 95% band (one key) or a heatmap (two keys)
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import yaml

from sim.studies.experiment import Task, replication_seeds, timeline_data
from sim.scenario.loader import Timeline, load
from sim.studies.stats import interval
from sim.studies.study import (INTERVAL_HEADER, add_experiment_options, check_indicators, check_override_keys,
                       check_workers, interval_row, load_points, parse_reps, parse_window, require,
                       scenario_fingerprint, set_text, start_session, usage_error, value_kind, write_csv_atomic)

DEFAULT_INDICATORS = ("grassroots_share", "grassroots_share_all", "in_county_share", "tertiary_share")
MAX_POINTS = 10_000


def setup(p: argparse.ArgumentParser) -> None:
    """Arguments of `sweep`."""
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=START:STOP:N",
                   help="a parameter and its values: START:STOP:N evenly spaced, or V1,V2,... (repeat for a grid)")
    p.add_argument("--indicator", action="append", default=[], metavar="NAME",
                   help=f"indicators to plot and print (default: {', '.join(DEFAULT_INDICATORS)})")
    add_experiment_options(p, reps_default="5")


def command(args: argparse.Namespace) -> int:
    """Run the grid; print the table; write the folder. Exit 1 if a replication failed."""
    if not args.vary:
        raise usage_error("sweep", "give at least one --vary KEY=START:STOP:N")
    check_workers(args)
    reps = parse_reps(args.reps)
    indicators = args.indicator or list(DEFAULT_INDICATORS)
    check_indicators(indicators)
    require("scipy", "research")
    keys = check_override_keys(args.vary, "--vary")
    base = load(args.scenario, args.set, days=args.days)
    values = [parse_values(spec, key, base) for spec, key in zip(args.vary, keys)]
    points = list(itertools.product(*values))
    if len(points) > MAX_POINTS:
        raise usage_error("--vary", f"{len(points):,} grid points; allowed: at most {MAX_POINTS:,}")
    sets = [[set_text(k, v) for k, v in zip(keys, point)] for point in points]
    timelines = load_points(args.scenario, args.set, sets, args.days, "--vary")
    window = parse_window(args.window, base.base.days)
    root = args.seed if args.seed is not None else base.base.seed
    labels = [f"point-{i:0{len(str(len(points) - 1))}d}" for i in range(len(points))]
    inputs = {"base": scenario_fingerprint(base),
              "points": [scenario_fingerprint(t) for t in timelines], "root_seed": root,
              "window": list(window) if window else None}
    session, stack = start_session("sweep", args, inputs)
    with stack:
        session.save_scenarios({"base": base})
        seeds = replication_seeds(root, reps)
        session.write_spec({"scenario": str(args.scenario), "name": base.base.name, "overrides": list(args.set),
                            "days": base.base.days, "keys": keys, "values": [list(v) for v in values],
                            "points": [{"point": lab, "settings": dict(zip(keys, p))}
                                       for lab, p in zip(labels, points)],
                            "root_seed": root, "replications": reps, "seeds": seeds, "indicators": indicators,
                            "window": list(window) if window else None, "confidence_level": 0.95})
        tasks = [Task(label, i, seed, timeline_data(t, seed), window, keep_daily=False)
                 for i, seed in enumerate(seeds) for label, t in zip(labels, timelines)]
        outcome = session.run(tasks)
        done = [(lab, p) for lab, p in zip(labels, points)
                if any(f"{lab}/rep-{i:04d}" in outcome.results for i in range(reps))]
        if done and not outcome.stopped:
            _write(session.folder, keys, labels, points, seeds, outcome)
            print(sweep_table(keys, labels, points, seeds, outcome, indicators))
            if not args.no_figures:
                from sim.outputs.plots.compare import draw_sweep

                figures = draw_sweep(session.folder)
                print("Figures: " + (", ".join(map(str, figures)) or "none for three or more keys (see summary.csv)"))
            print(f"\nResults: {session.folder}/")
        return session.finish([str(args.scenario)], points=len(points))


def parse_values(spec: str, key: str, timeline: Timeline) -> list[Any]:
    """The values of `KEY=START:STOP:N` or `KEY=V1,V2,...`, typed like the parameter."""
    text = spec.partition("=")[2].strip()
    kind = value_kind(timeline, key)
    option = f"--vary {spec}"
    if "," in text or ":" not in text:
        try:
            values = [yaml.safe_load(v) for v in text.split(",") if v.strip()]
        except yaml.YAMLError:
            values = []
        if not values:
            raise usage_error(option, "expected KEY=START:STOP:N or KEY=V1,V2,... e.g. signing.target_rate=0.3:0.7:5")
        return values
    parts = text.split(":")
    try:
        start, stop, n = float(parts[0]), float(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        n = -1
    if len(parts) != 3 or n < 1 or not all(map(math.isfinite, (start, stop))):
        raise usage_error(option, "expected KEY=START:STOP:N with numbers START, STOP and a count N >= 1, "
                                  "e.g. signing.target_rate=0.3:0.7:5")
    if kind is bool:
        raise usage_error(option, f"{key} is true or false; list the values: {key}=true,false")
    grid = np.linspace(start, stop, n)
    if kind is int:
        if not (start.is_integer() and stop.is_integer()):
            raise usage_error(option, f"{key} is a whole number; give whole START and STOP")
        ints = [int(round(v)) for v in grid]
        if len(set(ints)) < len(ints):
            raise usage_error(option, f"only {int(abs(stop - start)) + 1} whole numbers from {start:g} to {stop:g}; "
                                      f"use N <= {int(abs(stop - start)) + 1}")
        return ints
    return [float(f"{v:.12g}") for v in grid]


def _rows(outcome, labels, points, seeds):
    """(label, point, replication, indicators) for every finished replication, in task order."""
    for label, point in zip(labels, points):
        for i in range(len(seeds)):
            result = outcome.results.get(f"{label}/rep-{i:04d}")
            if result is not None:
                yield label, point, i, result.indicators


def _write(folder, keys, labels, points, seeds, outcome) -> None:
    rows = list(_rows(outcome, labels, points, seeds))
    names = list(rows[0][3])
    write_csv_atomic(folder / "results.csv", ["point", *keys, "replication", "seed", "indicator", "value"],
                     ([lab, *map(_cell, p), i, seeds[i], n, ind[n]] for lab, p, i, ind in rows for n in names))
    summary = []
    for label, point in zip(labels, points):
        mine = [ind for lab, _, _, ind in rows if lab == label]
        if mine:
            summary += [[label, *map(_cell, point), n, *interval_row(interval([m[n] for m in mine]))] for n in names]
    write_csv_atomic(folder / "summary.csv", ["point", *keys, "indicator", *INTERVAL_HEADER], summary)


def _cell(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def sweep_table(keys: Sequence[str], labels, points, seeds, outcome, indicators: Sequence[str]) -> str:
    """Each point's settings and its indicators' mean ± 95% half-width."""
    heads = ["point", *keys, *indicators]
    body = []
    for label, point in zip(labels, points):
        mine = [ind for lab, _, _, ind in _rows(outcome, [label], [point], seeds)]
        cells = [label, *(str(_cell(v)) for v in point)]
        for name in indicators:
            iv = interval([m[name] for m in mine]) if mine else None
            cells.append("not run" if iv is None else _mean_text(name, iv))
        body.append(cells)
    widths = [max(len(h), *(len(r[j]) for r in body)) + 2 for j, h in enumerate(heads)]
    lines = ["".join(h.rjust(w) for h, w in zip(heads, widths))]
    lines += ["".join(c.rjust(w) for c, w in zip(row, widths)) for row in body]
    return f"{len(seeds)} paired replications per point · mean ± 95% half-width\n" + "\n".join(lines)


def _mean_text(name: str, iv) -> str:
    share = "share" in name or name.endswith("_rate")
    if share:
        return f"{iv.mean:.2%} ±{iv.half_width * 100:.2f}" if iv.n > 1 else f"{iv.mean:.2%}"
    return f"{iv.mean:,.4g} ±{iv.half_width:,.2g}" if iv.n > 1 else f"{iv.mean:,.4g}"
