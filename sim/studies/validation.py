"""Validation against published quasi-experimental evidence not used in fitting.

The checks are data (data/validation/checks.yaml): each names a published effect of a Chinese
policy (difference-in-differences, interrupted time series, before/after with a comparison),
its source, a pair of scenarios (a base and a policy, scenarios/validation/) that encode the
policy as it was, and criteria: a measure (sim/studies/validation_measures.py), how the pair is
compared (relative change, difference, percentage points), and a band. Both scenarios of a
pair run on the same seeds (common random numbers); a check agrees when every criterion's
mean over the paired replications lies in its band. Disagreements are printed, never hidden.
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from sim.scenario.loader import load
from sim.scenario.overrides import with_overrides
from sim.scenario.schema import Timeline
from sim.studies.executors import Progress, open_pool
from sim.studies.experiment import Task, replication_seeds, run_tasks, timeline_data, timeline_from_data
from sim.studies.stats import interval
from sim.studies.validation_measures import measure

ROOT = Path(__file__).resolve().parents[2]
CHECKS_FILE = ROOT / "data" / "validation" / "checks.yaml"
CHANGES = ("relative", "difference", "pp", "level")
CLASSES = {"a": "outpatient benefits", "b": "gatekeeping and referral", "c": "medical communities",
           "d": "family-doctor contracting", "e": "price reforms", "f": "siphoning trend",
           "g": "tier-specific reimbursement"}
SIZES = {"quick": (10000, 2), "default": (20000, 3)}  # residents, paired seeds
ROOT_SEED = 20251


@dataclass(frozen=True)
class Criterion:
    """One measured comparison of a pair of scenarios, and the band it must fall in."""

    measure: str
    change: str          # relative (policy/base - 1), difference, pp (100 x difference), level (policy)
    says: str            # the criterion in words
    low: float = -math.inf
    high: float = math.inf
    pair: str = "main"
    per: str | None = None       # divide by the change of this measure (e.g. signing_rate: per signed resident)
    per_pair: str | None = None  # ... in this pair (default: the same pair)

    def judge(self, value: float) -> bool:
        """Whether a measured value lies in the band."""
        return bool(np.isfinite(value)) and self.low <= value <= self.high

    def reversed(self) -> Criterion:
        """The opposite claim (for showing that a check can fail)."""
        lo, hi = (-self.high, -self.low) if self.change != "level" else (self.high, math.inf)
        return Criterion(self.measure, self.change, f"reversed: {self.says}", lo, hi, self.pair, self.per,
                         self.per_pair)


@dataclass(frozen=True)
class Spec:
    """A check as declared in checks.yaml."""

    id: str
    klass: str
    name: str
    evidence: str
    source: str
    design: str
    pairs: dict[str, tuple[str, str]]
    criteria: tuple[Criterion, ...]
    not_modelled: tuple[str, ...] = ()
    note: str = ""
    population: int | None = None  # residents per run, where the effect is small against the noise at the default
    seeds: int | None = None       # paired seeds, likewise


@dataclass
class Check:
    """A check's result: each criterion's value over the replications, and the verdict."""

    spec: Spec
    values: list[float]                  # per criterion: the mean (or ratio of means, with `per`)
    spreads: list[tuple[float, float]]   # per criterion: the 95% interval over replications (nan with `per`)
    agrees: bool
    seeds: int = 0
    model: str = field(default="")
    population: int = 0

    @property
    def name(self) -> str:
        """The check's short name."""
        return self.spec.name


# ------------------------------------------------------------------ declarations

SPEC_KEYS = {"id", "class", "name", "evidence", "source", "design", "base", "policy", "pairs", "criteria",
             "not_modelled", "note", "population", "seeds"}
CRITERION_KEYS = {"measure", "change", "says", "low", "high", "pair", "per", "per_pair"}


def load_specs(path: str | Path = CHECKS_FILE) -> list[Spec]:
    """The checks declared in a YAML file, checked for missing and unknown keys."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    specs = [_spec(entry) for entry in raw["checks"]]
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate check ids")
    return specs


def _spec(e: dict) -> Spec:
    where = e.get("id", "?")
    unknown = set(e) - SPEC_KEYS
    missing = {"id", "class", "name", "evidence", "source", "design", "criteria"} - set(e)
    if unknown or missing:
        raise ValueError(f"check {where}: unknown keys {sorted(unknown)}, missing keys {sorted(missing)}")
    if e["class"] not in CLASSES:
        raise ValueError(f"check {where}: class {e['class']!r} not one of {sorted(CLASSES)}")
    pairs = {name: (p["base"], p["policy"]) for name, p in (e.get("pairs") or {}).items()}
    if "base" in e:
        pairs["main"] = (e["base"], e.get("policy", e["base"]))
    criteria = []
    for c in e["criteria"]:
        bad = set(c) - CRITERION_KEYS
        if bad or c.get("change") not in CHANGES or "says" not in c:
            raise ValueError(f"check {where}: criterion {c} (unknown keys {sorted(bad)}; change one of {CHANGES})")
        crit = Criterion(**{k: (float(v) if k in ("low", "high") else v) for k, v in c.items()})
        if crit.pair not in pairs or (crit.per_pair and crit.per_pair not in pairs):
            raise ValueError(f"check {where}: criterion names a pair not declared: {crit.pair}")
        criteria.append(crit)
    for key, least in (("population", 1000), ("seeds", 2)):
        if key in e and (not isinstance(e[key], int) or e[key] < least):
            raise ValueError(f"check {where}: {key} must be a whole number of at least {least}")
    return Spec(e["id"], e["class"], e["name"], e["evidence"].strip(), e["source"].strip(), e["design"].strip(),
                pairs, tuple(criteria), tuple(e.get("not_modelled") or ()), (e.get("note") or "").strip(),
                e.get("population"), e.get("seeds"))


def run_size(spec: Spec, quick: bool = False, population: int | None = None,
             seeds: int | None = None) -> tuple[int, int]:
    """Residents and paired seeds of a check's runs: the check's declared size (else the
    default), scaled down by `quick` (population in proportion, seeds at most the quick
    number); an explicit `population` or `seeds` (command line) wins over both."""
    pop, n = spec.population or SIZES["default"][0], spec.seeds or SIZES["default"][1]
    if quick:
        pop = max(1000, round(pop * SIZES["quick"][0] / SIZES["default"][0]))
        n = min(n, SIZES["quick"][1])
    return population or pop, seeds or n


# ------------------------------------------------------------------ running

Replication = tuple[dict, dict, int, int]  # summary, daily, first and last (exclusive) day measured


def scenario_files(specs: Sequence[Spec]) -> list[str]:
    """Every scenario file the checks need, each once (base runs are shared between checks)."""
    files: list[str] = []
    for s in specs:
        for pair in s.pairs.values():
            files += [f for f in pair if f not in files]
    return files


def _timeline(path: str, population: int, overrides: Sequence[str]) -> Timeline:
    timeline = load(ROOT / path, list(overrides))
    data = timeline_data(timeline)
    data["base"] = with_overrides(data["base"], {"world.population": population}, where="validate-model")
    data["changes"] = [[day, label, with_overrides(s, {"world.population": population}, where="validate-model")]
                       for day, label, s in data["changes"]]
    return timeline_from_data(data)


def _window(days: int) -> tuple[int, int] | None:
    """Multi-year runs are measured over their last year (a policy's effect once it has settled)."""
    return (days - 365, days) if days > 365 else None


def run_scenarios(files: Sequence[str], population: int, seeds: int, workers: int = 1,
                  overrides: Sequence[str] = ()) -> dict[tuple[str, int], Replication]:
    """Run every scenario on the same paired seeds; results by (file, replication)."""
    return run_sized({(population, seeds): list(files)}, workers, overrides)[(population, seeds)]


def run_sized(groups: dict[tuple[int, int], list[str]], workers: int = 1,
              overrides: Sequence[str] = ()) -> dict[tuple[int, int], dict[tuple[str, int], Replication]]:
    """Run scenario files at several sizes ((residents, seeds) -> files) in one pool. A file
    run at the same population by two groups runs once (seeds are stable as their number grows)."""
    tasks: dict[str, Task] = {}
    for (population, seeds), files in groups.items():
        seed_list = replication_seeds(ROOT_SEED, seeds)
        for f in files:
            timeline = _timeline(f, population, overrides)
            for i, seed in enumerate(seed_list):
                t = Task(f"{f}@{population}", i, seed, timeline_data(timeline, seed), _window(timeline.base.days), True)
                tasks.setdefault(t.key, t)
    with open_pool(workers) as pool:
        outcome = run_tasks(list(tasks.values()), pool, progress=Progress(len(tasks), io.StringIO()))
    if not outcome.complete:
        raise RuntimeError("; ".join(f.describe() for f in outcome.failures) or "validation runs interrupted")
    done = {}
    for t in tasks.values():
        r = outcome.results[t.key]
        start, end = t.window or (0, len(r.daily["day"]))
        done[(t.scenario, t.replication)] = (r.summary, r.daily, start, end)
    return {(population, seeds): {(f, i): done[(f"{f}@{population}", i)] for f in files for i in range(seeds)}
            for (population, seeds), files in groups.items()}


def _changes(spec: Spec, crit: Criterion, runs: dict, seeds: int, name: str, pair: str) -> list[float]:
    base, policy = spec.pairs[pair]
    vals = []
    for i in range(seeds):
        b, p = measure(name, *runs[(base, i)]), measure(name, *runs[(policy, i)])
        vals.append({"relative": p / b - 1 if b else math.nan, "difference": p - b, "pp": 100 * (p - b),
                     "level": p}[crit.change])
    return vals


def evaluate(spec: Spec, runs: dict[tuple[str, int], Replication], seeds: int,
             criteria: Sequence[Criterion] | None = None) -> Check:
    """Judge a check's criteria on finished runs (`criteria` replaces the declared ones, for tests)."""
    criteria = spec.criteria if criteria is None else criteria
    values, spreads, verdicts = [], [], []
    for crit in criteria:
        num = _changes(spec, crit, runs, seeds, crit.measure, crit.pair)
        if crit.per:
            den = _changes(spec, crit, runs, seeds, crit.per, crit.per_pair or crit.pair)
            value, spread = (float(np.mean(num) / np.mean(den)) if np.mean(den) else math.nan), (math.nan, math.nan)
        else:
            iv = interval(num) if len(num) > 1 else None
            value = float(np.mean(num))
            spread = (iv.low, iv.high) if iv else (math.nan, math.nan)
        values.append(value)
        spreads.append(spread)
        verdicts.append(crit.judge(value))
    check = Check(spec, values, spreads, all(verdicts), seeds)
    check.model = "; ".join(_describe(c, v, s) for c, v, s in zip(criteria, values, spreads))
    return check


def _fmt(change: str, v: float, per: str | None = None) -> str:
    if not np.isfinite(v):
        return "n/a"
    if per:  # a ratio of two changes
        return f"{v:+.3g}"
    return {"relative": f"{v:+.1%}", "pp": f"{v:+.2f} pp", "difference": f"{v:+.3g}", "level": f"{v:.3g}"}[change]


def _describe(c: Criterion, v: float, spread: tuple[float, float]) -> str:
    ci = f" (95% CI {_fmt(c.change, spread[0])} to {_fmt(c.change, spread[1])})" if np.isfinite(spread[0]) else ""
    per = f" per change of {c.per}" if c.per else ""
    pair = "" if c.pair == "main" else f" [{c.pair}]"
    ok = "ok" if c.judge(v) else "OFF"
    if np.isfinite(spread[0]) and c.judge(v) and not (c.judge(spread[0]) and c.judge(spread[1])):
        ok = "ok, within noise"  # the interval reaches outside the band: more seeds could change the verdict
    return f"{c.measure}{pair} {_fmt(c.change, v, c.per)}{per}{ci} {ok}"


def run_checks(specs: Sequence[Spec] | None = None, population: int | None = None, seeds: int | None = None,
               workers: int = 1, overrides: Sequence[str] = (), report: Callable[[str], None] | None = None,
               quick: bool = False) -> list[Check]:
    """Run the declared checks (all of them by default), each at its size (`run_size`), and judge each."""
    specs = load_specs() if specs is None else list(specs)
    size = {s.id: run_size(s, quick, population, seeds) for s in specs}
    groups: dict[tuple[int, int], list[str]] = {}
    for s in specs:
        files = groups.setdefault(size[s.id], [])
        files += [f for f in scenario_files([s]) if f not in files]
    runs = run_sized(groups, workers, overrides)
    checks = []
    for s in specs:
        check = evaluate(s, runs[size[s.id]], size[s.id][1])
        check.population = size[s.id][0]
        checks.append(check)
    if report:
        report(format_checks(checks))
    return checks


# ------------------------------------------------------------------ output and command line

def _bounds(c: Criterion) -> str:
    lo = "" if c.low == -math.inf else _fmt(c.change, c.low, c.per)
    hi = "" if c.high == math.inf else _fmt(c.change, c.high, c.per)
    return f"[{lo or '-inf'}, {hi or '+inf'}]"


def _says(c: Criterion) -> str:
    per = f" per {c.per}" if c.per else ""
    return f"{c.says} {c.measure} {c.change}{per} in {_bounds(c)}"


def format_checks(checks: Sequence[Check]) -> str:
    """Model beside evidence, one block per check, ending with `N of M checks agree`."""
    lines = []
    for c in checks:
        s = c.spec
        pairs = "; ".join(f"{k}: {b} -> {p}" for k, (b, p) in s.pairs.items())
        lines += [f"[{'agrees' if c.agrees else 'DISAGREES'}] {s.id} ({CLASSES[s.klass]}): {s.name}",
                  f"    evidence:  {s.evidence}", f"    source:    {s.source}", f"    design:    {s.design}",
                  f"    scenarios: {pairs}", f"    model:     {c.model} ({_size(c)})",
                  "    criterion: " + "; ".join(_says(k) for k in s.criteria)]
        lines += [f"    not modelled: {n}" for n in s.not_modelled]
        lines.append("")
    lines.append(summary_line(checks))
    return "\n".join(lines)


def _size(c: Check) -> str:
    people = f"{c.population:,} residents, " if c.population else ""
    return f"{people}{c.seeds} paired seeds"


def summary_line(checks: Sequence[Check]) -> str:
    """The last line of the report."""
    return f"{sum(c.agrees for c in checks)} of {len(checks)} checks agree"


def table(checks: Sequence[Check]) -> str:
    """A Markdown table: check | evidence | model | agrees."""
    rows = ["| check | evidence | model | agrees |", "|---|---|---|---|"]
    rows += [f"| {c.spec.id}: {c.spec.name} | {c.spec.evidence} | {c.model} | {'yes' if c.agrees else '**no**'} |"
             for c in checks]
    return "\n".join(rows)


def setup(parser) -> None:
    """Options of `python run.py validate-model`."""
    parser.add_argument("--checks", default=str(CHECKS_FILE),
                        help="the checks file (default data/validation/checks.yaml)")
    parser.add_argument("--only", action="append", default=[], metavar="ID",
                        help="run only this check (repeatable, or ids separated by commas)")
    parser.add_argument("--quick", action="store_true", help=f"smaller runs: residents scaled by "
                        f"{SIZES['quick'][0] / SIZES['default'][0]:g} ({SIZES['quick'][0]:,} for a check at the "
                        f"default), "
                        f"at most {SIZES['quick'][1]} paired seeds")
    parser.add_argument("--population", type=int, default=None, help=f"residents per run, every check "
                        f"(default: the check's `population` in checks.yaml, else {SIZES['default'][0]:,})")
    parser.add_argument("--seeds", type=int, default=None, help=f"paired seeds, every check "
                        f"(default: the check's `seeds` in checks.yaml, else {SIZES['default'][1]})")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2; numbers do not depend on it)")
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override a parameter in every scenario")


def command(args) -> int:
    """Run `python run.py validate-model`: every check, model beside evidence."""
    specs = load_specs(args.checks)
    if args.only:
        wanted = {i.strip() for arg in args.only for i in arg.split(",") if i.strip()}
        specs = [s for s in specs if s.id in wanted]
        if not specs:
            print(f"error: no check with id {args.only}", file=sys.stderr)
            return 2
    checks = run_checks(specs, args.population, args.seeds, args.workers, args.set, quick=args.quick)
    if args.markdown:
        print(table(checks) + "\n")
    print(format_checks(checks))
    return 0
