"""What compare, sweep and sensitivity share: options, the experiment folder, running, tidy files.

An experiment folder (`results/<kind>/<timestamp>/`) holds its spec, e.g. `comparison.json` (the inputs, seeds and
settings: identical whatever ran it), `manifest.json` (how it ran: executor, wall time), the
finished replications under `runs/` and the tidy tables. It is created when the first task
starts; each replication and each table in it is written atomically.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.studies.executors import PoolError, Progress, open_pool
from sim.studies.experiment import (Outcome, ReplicationStore, Task, indicator_names, run_tasks, slug, timeline_data,
                            write_failures)
from sim.outputs.results import format_value as exact
from sim.outputs.results import atomic_file, manifest, new_run_folder, write_json
from sim.scenario.loader import COMMAND_LINE, Problem, ScenarioError, Timeline, load, split_path

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def usage_error(option: str, message: str) -> ScenarioError:
    """A command-line mistake, reported like a scenario problem (exit 2, no traceback)."""
    return ScenarioError([Problem(COMMAND_LINE, None, option, message)])


def add_experiment_options(p: argparse.ArgumentParser, reps_default: str | None = "10") -> None:
    """Options every experiment command takes."""
    if reps_default is not None:
        p.add_argument("--reps", default=reps_default, help=f"replications per scenario (default {reps_default})")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local worker processes (default: all cores; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on a Dask cluster instead of local processes")
    p.add_argument("--seed", type=int, help="root seed; replication i gets seed i of SeedSequence(root).spawn "
                                            "(default: the scenario's seed)")
    p.add_argument("--days", type=int, help="days to simulate (default: the scenario's)")
    p.add_argument("--window", metavar="START:END", help="indicators over days START..END-1 instead of the whole run")
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a parameter")
    p.add_argument("--out", default="results", help="results root folder (default: results/)")
    p.add_argument("--resume", metavar="DIR", help="continue an interrupted experiment in DIR")
    p.add_argument("--no-figures", action="store_true", help="skip drawing figures")


def parse_reps(text: str, allow_auto: bool = False, minimum: int = 2) -> int | None:
    """A replication count (at least `minimum`: an interval needs two), or None for `auto`."""
    if allow_auto and text == "auto":
        return None
    if not text.isdigit() or int(text) < minimum:
        hint = " or auto" if allow_auto else ""
        why = " (a confidence interval needs two replications)" if minimum == 2 else ""
        raise usage_error(f"--reps {text}", f"expected a whole number of at least {minimum}{hint}{why}")
    return int(text)


def parse_window(text: str | None, days: int) -> tuple[int, int] | None:
    """`START:END` days for the indicators, checked against the run length."""
    if text is None:
        return None
    start, sep, end = text.partition(":")
    if not sep or not start.strip().isdigit() or not end.strip().isdigit():
        raise usage_error(f"--window {text}", "expected START:END in days, e.g. 183:365")
    lo, hi = int(start), int(end)
    if not 0 <= lo < hi <= days:
        raise usage_error(f"--window {text}", f"expected 0 <= START < END <= {days} (the run's days)")
    return lo, hi


def check_workers(args: argparse.Namespace) -> None:
    """Workers must be a positive number."""
    if args.workers < 1:
        raise usage_error(f"--workers {args.workers}", "expected at least 1")


def check_indicators(names: Sequence[str], option: str = "--indicator") -> None:
    """Every name must be an indicator a replication reports (a flattened name of the registry)."""
    known = indicator_names()
    bad = [n for n in names if n not in known]
    if bad:
        import difflib

        problems = []
        for name in bad:
            close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            problems.append(Problem(COMMAND_LINE, None, f"{option} {name}",
                                    f"unknown indicator; {hint}allowed: the keys of summary.json, e.g. "
                                    "grassroots_share, in_county_share, oop_per_capita, visits_by_tier.county"))
        raise ScenarioError(problems)


def require(module: str, extra: str) -> None:
    """Refuse clearly when an optional dependency is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise usage_error(f"(needs {module})", f"install the {extra!r} extra: pip install -e '.[{extra}]'")


def value_kind(timeline: Timeline, key: str) -> type:
    """int, float or bool: the type of the parameter at a dotted key (float when it is unset)."""
    value: Any = timeline.base.model_dump()
    for part in split_path(key):
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return float
    return type(value) if isinstance(value, (bool, int, float)) else float


def set_text(key: str, value: Any) -> str:
    """A `key=value` override as the loader reads it."""
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    return f"{key}={exact(value) if isinstance(value, float) else value}"


def load_points(path: str, sets: Sequence[str], points: Sequence[Sequence[str]], days: int | None,
                option: str) -> list[Timeline]:
    """Load the scenario once per point (its overrides after `sets`); report every problem at once."""
    timelines, problems = [], []
    for extra in points:
        try:
            timelines.append(load(path, [*sets, *extra], days=days))
        except ScenarioError as err:
            for p in err.problems:
                file, path = p.file, p.path
                for e in extra:  # name the option the user wrote, not the --set it became
                    file, path = (t.replace(f"--set {e}", f"{option} {e}") for t in (file, path))
                problem = Problem(file, p.line, path, p.message)
                if problem not in problems:
                    problems.append(problem)
    if problems:
        raise ScenarioError(problems)
    return timelines


def check_override_keys(specs: Sequence[str], option: str) -> list[str]:
    """The keys of `KEY=...` specs, checked against the schema (seed is refused: it is per replication)."""
    from sim.scenario.loader import check_key_path

    keys, problems = [], []
    for spec in specs:
        key, sep, _ = spec.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(Problem(COMMAND_LINE, None, f"{option} {spec}", "expected KEY=..., e.g. "
                                    "signing.target_rate=0.3:0.7:5"))
            continue
        reason = check_key_path(split_path(key))
        if key == "seed":
            reason = "the seed is set per replication (see --seed); choose a parameter"
        if reason:
            problems.append(Problem(COMMAND_LINE, None, f"{option} {spec}", reason))
        keys.append(key)
    if problems:
        raise ScenarioError(problems)
    if len(set(keys)) != len(keys):
        raise usage_error(option, "each key may be given once")
    return keys


# ------------------------------------------------------------------ the experiment folder

def scenario_fingerprint(timeline: Timeline) -> str:
    """Hash of a resolved scenario (seed excluded): did the inputs change between runs?"""
    import hashlib

    data = timeline_data(timeline, seed=0)
    data.pop("sources")
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


SPEC_FILES = {"compare": "comparison.json", "sweep": "sweep.json", "sensitivity": "sensitivity.json"}


def resolve_folder(kind: str, args: argparse.Namespace, inputs: dict) -> Path:
    """The folder to write: a new `out/<kind>/<timestamp>`, or `--resume DIR` if it holds the same inputs."""
    if not args.resume:
        return new_run_folder(Path(args.out), kind)
    folder = Path(args.resume)
    spec_file = folder / SPEC_FILES[kind]
    try:
        stored = json.loads(spec_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise usage_error(f"--resume {folder}", f"not a {kind} folder (no readable {spec_file.name})") from None
    differ = [k for k in sorted(set(inputs) | set(stored.get("inputs", {})))
              if stored.get("inputs", {}).get(k) != inputs.get(k)]
    if differ:
        raise usage_error(f"--resume {folder}", "was started with other inputs (" + ", ".join(differ) + " differ); "
                          "give the same scenarios and options, or start a new folder")
    return folder


@dataclass
class Session:
    """A running experiment: its folder, pool and the bookkeeping for manifest and exit code."""

    kind: str
    folder: Path
    args: argparse.Namespace
    inputs: dict
    started: float = field(default_factory=time.perf_counter)
    outcomes: list[Outcome] = field(default_factory=list)
    pool: Any = None
    finished: set[str] = field(default_factory=set)  # task keys finished so far
    ran: int = 0        # replications run by this command
    reused: int = 0     # found finished in the folder when it started

    def run(self, tasks: Sequence[Task]) -> Outcome:
        """Run tasks, reusing those already in the folder (an earlier batch, or the run --resume continues)."""
        store = ReplicationStore(self.folder)
        outcome = run_tasks(tasks, self.pool, store, resume=True, progress=Progress(len(tasks)))
        reused = [k for k in outcome.reused if k not in self.finished]
        if reused:
            print(f"{len(reused)} finished replication(s) reused from {self.folder}")
        self.reused += len(reused)
        self.ran += len(outcome.results) - outcome.stored
        self.finished.update(outcome.results)
        self.outcomes.append(outcome)
        return outcome

    def write_spec(self, spec: dict) -> None:
        """Write the spec (comparison.json, ...): inputs, seeds, settings; no times or executor, so any pool gives
        the same file."""
        write_json_atomic(self.folder / SPEC_FILES[self.kind], {"kind": self.kind, "inputs": self.inputs, **spec})

    def save_scenarios(self, timelines: dict[str, Timeline]) -> None:
        """The resolved scenarios, re-runnable with `run.py`, under scenarios/<label>.yaml."""
        import yaml

        folder = self.folder / "scenarios"
        folder.mkdir(exist_ok=True)
        for label, timeline in timelines.items():
            with atomic_file(folder / f"{slug(label)}.yaml") as tmp:
                tmp.write_text(yaml.safe_dump(timeline.resolved(), sort_keys=False, allow_unicode=True),
                               encoding="utf-8")

    def finish(self, sources: list[str], **extra) -> int:
        """Write the manifest and failures, report what did not finish; return the exit code."""
        failures = [f for o in self.outcomes for f in o.failures]
        write_failures(self.folder, failures)
        last = self.outcomes[-1] if self.outcomes else None
        wall = time.perf_counter() - self.started
        meta = manifest(self.inputs.get("root_seed", 0), wall, sources, list(self.args.set),
                        executor=self.pool.description if self.pool else "", kind=self.kind,
                        replications_run=self.ran, replications_reused=self.reused,
                        failed=len(failures), **extra)
        write_json_atomic(self.folder / "manifest.json", meta)
        resume = f"continue with the same command and --resume {self.folder}"
        if last is not None and last.interrupted:
            print(f"interrupted: finished replications are kept in {self.folder}/runs; {resume}", file=sys.stderr)
            return EXIT_INTERRUPTED
        if last is not None and last.broken:
            print(f"stopped: {last.broken}; {len(last.not_run)} replication(s) not run; finished ones are kept; "
                  f"{resume}", file=sys.stderr)
            return EXIT_FAILED
        if failures:
            print(f"{len(failures)} replication(s) failed (details in {self.folder}/failures.json); the tables "
                  f"leave them out; {resume} to retry them", file=sys.stderr)
            return EXIT_FAILED
        return 0


def start_session(kind: str, args: argparse.Namespace, inputs: dict):
    """Open the pool, then create the folder: a bad scheduler address leaves nothing behind."""
    from contextlib import ExitStack

    folder = resolve_folder(kind, args, inputs)
    stack = ExitStack()
    try:
        pool = stack.enter_context(open_pool(args.workers, args.scheduler))
    except PoolError as exc:
        raise usage_error(f"--scheduler {args.scheduler}", str(exc)) from None
    folder.mkdir(parents=True, exist_ok=True)
    session = Session(kind, folder, args, inputs, pool=pool)
    print(f"{kind}: writing to {folder}/ · running on {pool.description}")
    return session, stack


# ------------------------------------------------------------------ tidy files

def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON beside `path` and rename it into place."""
    with atomic_file(path) as tmp:
        write_json(tmp, data)


def write_csv_atomic(path: Path, header: Sequence[str], rows) -> None:
    """Write a CSV table beside `path` and rename it into place; floats written exactly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([exact(v) if isinstance(v, float) else v for v in row])


def interval_row(iv) -> list:
    """n, mean, sd, low, high of an Interval, for a CSV row."""
    return [iv.n, iv.mean, iv.sd, iv.low, iv.high]


INTERVAL_HEADER = ["n", "mean", "sd", "ci_low", "ci_high"]
