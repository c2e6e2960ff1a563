"""`run.py compare`: policy scenarios against a base, replicated with paired seeds.

    python run.py compare scenarios/baseline.yaml scenarios/xinxiang_2025.yaml --reps 20

Replication i of every scenario uses seed i of the root seed's `SeedSequence`, so each policy run
has a base run with the same illnesses (common random numbers) and the paired differences carry
little noise. Writes `results/compare/<timestamp>/`:

    comparison.json    scenarios, seeds, settings (and, for --reps auto, the batches and targets)
    replications.csv   scenario, replication, seed, indicator, value: one row each
    indicators.csv     each scenario's mean and 95% t-interval, per indicator
    differences.csv    each policy minus the base: paired mean difference and its 95% t-interval
    daily/<scenario>.csv  replication, seed, day, then every daily column (one row per replication-day)
    runs/<scenario>/rep-NNNN/  the finished replications (what --resume reuses)
    figures/forest.png the differences with their intervals
"""

from __future__ import annotations

import argparse
import csv
import math
from collections.abc import Sequence
from pathlib import Path

from sim.studies.experiment import ReplicationStore, Task, paired_tasks, replication_seeds, slug
from sim.engine.indicators import HEADLINE_ROWS, row_label
from sim.engine.metrics import display_width, format_difference, format_mean
from sim.outputs.area_table import is_region_comparison
from sim.scenario.loader import Problem, ScenarioError, Timeline, load
from sim.studies.stats import Interval, interval, t_quantile
from sim.studies.study import (INTERVAL_HEADER, add_experiment_options, check_indicators, check_workers,
                       interval_row, parse_reps, parse_window, require, scenario_fingerprint,
                       start_session, usage_error, write_csv_atomic)

AUTO_FIRST_BATCH = 10
AUTO_MAX_DEFAULT = 200


def setup(p: argparse.ArgumentParser) -> None:
    """Arguments of `compare`."""
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO.yaml", help="the base scenario, then the policies")
    add_experiment_options(p)
    p.add_argument("--target-halfwidth", action="append", default=[], metavar="INDICATOR=H",
                   help="with --reps auto: add replications until every interval of INDICATOR is within ±H")
    p.add_argument("--max-reps", type=int, default=AUTO_MAX_DEFAULT,
                   help=f"with --reps auto: stop at this many replications (default {AUTO_MAX_DEFAULT})")


def command(args: argparse.Namespace) -> int:
    """Run the comparison; print the table; write the folder. Exit 1 if a replication failed."""
    args.scenario = ", ".join(args.scenarios)  # names the files in error messages
    if len(args.scenarios) < 2:
        raise usage_error("compare", "give a base scenario and at least one policy scenario")
    check_workers(args)
    reps = parse_reps(args.reps, allow_auto=True)
    targets = _parse_targets(args.target_halfwidth, auto=reps is None)
    if reps is None and args.max_reps < AUTO_FIRST_BATCH:
        raise usage_error(f"--max-reps {args.max_reps}", f"expected at least {AUTO_FIRST_BATCH} (the first batch)")
    require("scipy", "research")
    timelines = _load_all(args.scenarios, args.set, args.days)
    days = timelines[0].base.days
    if any(t.base.days != days for t in timelines):
        raise usage_error("compare", "the scenarios simulate different numbers of days; use --days")
    window = parse_window(args.window, days)
    labels = unique_labels([t.base.name for t in timelines])
    root = args.seed if args.seed is not None else timelines[0].base.seed
    inputs = {"scenarios": [{"label": lab, "scenario": scenario_fingerprint(t)} for lab, t in zip(labels, timelines)],
              "root_seed": root, "window": list(window) if window else None}
    session, stack = start_session("compare", args, inputs)
    with stack:
        session.save_scenarios(dict(zip(labels, timelines)))
        n = reps if reps is not None else AUTO_FIRST_BATCH
        batches = []
        while True:
            seeds = replication_seeds(root, n)
            session.write_spec(_spec(labels, args, timelines, root, seeds, window, targets, batches, None))
            outcome = session.run(paired_tasks(labels, timelines, seeds, window))
            batches.append(n)
            table = _collect(outcome, labels, len(seeds))
            if not outcome.complete or reps is not None:
                break
            met, n_next = _next_batch(table, labels, targets, n, args.max_reps)
            if met or n_next <= n:
                break
            print(f"--reps auto: {n} replications do not meet the targets yet; running up to {n_next}")
            n = n_next
        auto = None
        if reps is None and outcome.complete:
            met = all(h <= targets[k] for k, h in _widest(table, labels, targets).items())
            auto = {"target_met": met, "replications": n, "batches": batches}
            print(f"--reps auto: {'targets met' if met else 'targets NOT met'} with {n} replications "
                  f"(batches: {', '.join(map(str, batches))})")
        session.write_spec(_spec(labels, args, timelines, root, seeds, window, targets, batches, auto))
        complete = _complete_replications(table, labels, len(seeds))
        if complete and not outcome.stopped:
            _write_tables(session.folder, labels, seeds, table, complete)
            _write_daily(session.folder, labels, seeds, complete)
            print(comparison_table(session.folder))
            if not args.no_figures:
                from sim.outputs.plots.compare import draw_comparison

                figures = draw_comparison(session.folder)
                print("Figures: " + ", ".join(str(p) for p in figures))
            print(f"\nResults: {session.folder}/")
        return session.finish([str(f) for f in args.scenarios], replications=len(complete))


# ------------------------------------------------------------------ inputs

def _load_all(paths: Sequence[str], sets: Sequence[str], days: int | None) -> list[Timeline]:
    """Load every scenario, reporting the problems of all files at once (a command-line one says for which file)."""
    timelines, found = [], {}
    for path in paths:
        try:
            timelines.append(load(path, list(sets), days=days))
        except ScenarioError as err:
            for p in err.problems:
                found.setdefault(p, []).append(str(path))
    if found:
        raise ScenarioError([p if len(files) == len(paths) or not p.file.startswith("command line")
                             else Problem(p.file, p.line, p.path, f"{p.message} (in {', '.join(files)})")
                             for p, files in found.items()])
    return timelines


def unique_labels(names: Sequence[str]) -> list[str]:
    """Scenario names, numbered when two are the same."""
    out: list[str] = []
    for name in names:
        label, k = name, 1
        while label in out:
            k += 1
            label = f"{name}-{k}"
        out.append(label)
    return out


def _parse_targets(specs: Sequence[str], auto: bool) -> dict[str, float]:
    if specs and not auto:
        raise usage_error("--target-halfwidth", "only used with --reps auto")
    targets, problems = {}, []
    for spec in specs:
        key, sep, value = spec.partition("=")
        try:
            target = float(value)
        except ValueError:
            target = math.nan
        if not sep or not target > 0 or math.isinf(target):
            problems.append(Problem("command line", None, f"--target-halfwidth {spec}",
                                    "expected INDICATOR=H with H > 0, e.g. grassroots_share=0.002"))
            continue
        targets[key.strip()] = target
    if problems:
        raise ScenarioError(problems)
    if auto and not targets:
        raise usage_error("--reps auto", "needs at least one --target-halfwidth INDICATOR=H, "
                                         "e.g. --target-halfwidth grassroots_share=0.002")
    check_indicators(list(targets), "--target-halfwidth")
    return targets


def _spec(labels, args, timelines, root, seeds, window, targets, batches, auto) -> dict:
    return {"base": labels[0],
            "scenarios": [{"label": lab, "name": t.base.name, "file": str(f), "sources": t.sources,
                           "overrides": list(args.set), "days": t.base.days, "region": t.base.region is not None,
                           "changes": [{"day": d, "label": c} for d, c, _ in t.changes]}
                          for lab, f, t in zip(labels, args.scenarios, timelines)],
            "root_seed": root,
            "seed_method": "numpy.random.SeedSequence(root_seed).spawn(n)[i].generate_state(1, uint64)[0] >> 1",
            "replications": len(seeds), "seeds": seeds,
            "window": list(window) if window else None, "confidence_level": 0.95,
            "reps_mode": "auto" if auto is not None or targets else "fixed",
            "target_halfwidth": targets, "max_reps": args.max_reps if targets else None,
            "batches": batches, "auto": auto}


# ------------------------------------------------------------------ statistics

def _collect(outcome, labels: Sequence[str], n: int) -> dict[str, list[dict[str, float] | None]]:
    """indicators[label][replication] (None where it did not finish)."""
    out = {}
    for label in labels:
        rows = []
        for i in range(n):
            result = outcome.results.get(f"{label}/rep-{i:04d}")
            rows.append(result.indicators if result is not None else None)
        out[label] = rows
    return out


def _complete_replications(table, labels, n) -> list[int]:
    return [i for i in range(n) if all(table[label][i] is not None for label in labels)]


def _intervals(table, labels, reps: Sequence[int], indicator: str) -> tuple[list[Interval], list[Interval]]:
    """Each scenario's interval, and each policy's paired difference from the base."""
    values = {label: [table[label][i][indicator] for i in reps] for label in labels}
    means = [interval(values[label]) for label in labels]
    base = values[labels[0]]
    diffs = [interval([p - b for p, b in zip(values[label], base)]) for label in labels[1:]]
    return means, diffs


def _widest(table, labels, targets: dict[str, float]) -> dict[str, float]:
    """For each targeted indicator, the widest half-width among its intervals (means and differences)."""
    reps = _complete_replications(table, labels, len(table[labels[0]]))
    out = {}
    for key in targets:
        means, diffs = _intervals(table, labels, reps, key)
        out[key] = max(iv.half_width for iv in means + diffs)
    return out


def _next_batch(table, labels, targets: dict[str, float], n: int, max_reps: int) -> tuple[bool, int]:
    """Targets met? If not, how many replications the current variances say are needed (at most double)."""
    reps = _complete_replications(table, labels, n)
    needed = n
    met = True
    for key, target in targets.items():
        means, diffs = _intervals(table, labels, reps, key)
        for iv in means + diffs:
            if iv.half_width > target:
                met = False
                needed = max(needed, math.ceil((t_quantile(n - 1) * iv.sd / target) ** 2))
    return met, min(max_reps, max(n + 1, min(2 * n, needed)))


# ------------------------------------------------------------------ writing

def _write_tables(folder: Path, labels, seeds, table, reps: list[int]) -> None:
    names = list(table[labels[0]][reps[0]])
    write_csv_atomic(folder / "replications.csv", ["scenario", "replication", "seed", "indicator", "value"],
                     ([label, i, seeds[i], name, table[label][i][name]]
                      for label in labels for i in reps for name in names))
    rows_means, rows_diffs = [], []
    for name in names:
        means, diffs = _intervals(table, labels, reps, name)
        rows_means += [[label, name, *interval_row(iv)] for label, iv in zip(labels, means)]
        rows_diffs += [[label, labels[0], name, means[0].mean, means[k + 1].mean, *interval_row(iv)]
                       for k, (label, iv) in enumerate(zip(labels[1:], diffs))]
    write_csv_atomic(folder / "indicators.csv", ["scenario", "indicator", *INTERVAL_HEADER], rows_means)
    write_csv_atomic(folder / "differences.csv",
                     ["scenario", "base", "indicator", "base_mean", "scenario_mean", "n", "difference", "sd",
                      "ci_low", "ci_high"], rows_diffs)


def _write_daily(folder: Path, labels, seeds, reps: list[int]) -> None:
    """One CSV per scenario, one row per replication-day: a long table of all ~140 columns would be ~5x larger."""
    store = ReplicationStore(folder)
    for label in labels:
        header, _ = store.daily_rows(Task(label, reps[0], seeds[reps[0]], {}))

        def rows(label=label):  # one replication's file at a time: memory stays small
            for i in reps:
                _, body = store.daily_rows(Task(label, i, seeds[i], {}))
                yield from ([str(i), str(seeds[i]), *row] for row in body)
        write_csv_atomic(folder / "daily" / f"{slug(label)}.csv", ["replication", "seed", *header], rows())


def read_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file as a list of dicts."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------ the table

def comparison_table(folder: Path) -> str:
    """The headline indicators: each scenario's mean ± half-width, each policy's paired difference [95% CI]."""
    import json


    spec = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
    means = {(r["scenario"], r["indicator"]): r for r in read_rows(folder / "indicators.csv")}
    diffs = {(r["scenario"], r["indicator"]): r for r in read_rows(folder / "differences.csv")}
    labels = [s["label"] for s in spec["scenarios"]]
    n = next(iter(means.values()))["n"]
    window = spec.get("window")
    span = f"days {window[0]}-{window[1] - 1}" if window else f"whole run ({spec['scenarios'][0]['days']} days)"
    heads = [labels[0]] + [h for lab in labels[1:] for h in (lab, f"{lab} - {labels[0]}")]
    rows, areas = [], is_region_comparison(spec)
    for ind in HEADLINE_ROWS:
        key, label, kind = ind.key, row_label(ind, areas=areas), ind.fmt
        cells = [_mean_cell(means[(labels[0], key)], kind)]
        for lab in labels[1:]:
            d = diffs[(lab, key)]
            star = " *" if float(d["ci_low"]) > 0 or float(d["ci_high"]) < 0 else "  "
            cells += [_mean_cell(means[(lab, key)], kind),
                      format_difference(*(float(d[c]) for c in ("difference", "ci_low", "ci_high")), kind) + star]
        rows.append((label, cells))
    width = max(display_width(label) for label, _ in rows)
    widths = [max(len(h), *(len(c[j]) for _, c in rows)) + 3 for j, h in enumerate(heads)]
    lines = [f"{n} paired replications per scenario · root seed {spec['root_seed']} · {span} · "
             "mean ± 95% half-width; differences with 95% interval (* excludes zero)",
             " " * width + "".join(h.rjust(w) for h, w in zip(heads, widths))]
    for label, cells in rows:
        lines.append(label + " " * (width - display_width(label)) + "".join(c.rjust(w) for c, w in zip(cells, widths)))
    return "\n".join(lines)


def _mean_cell(row: dict, kind: str) -> str:
    return format_mean(float(row["mean"]), (float(row["ci_high"]) - float(row["ci_low"])) / 2, kind)
