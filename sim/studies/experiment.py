"""Replications: self-contained tasks, paired seeds, a runner that keeps what finished.

    tasks = [make_task("scenarios/baseline.yaml", seed=s, replication=i)
             for i, s in enumerate(replication_seeds(20251, 20))]
    with open_pool(workers=2) as pool:
        outcome = run_tasks(tasks, pool, ReplicationStore(folder))

A `Task` carries the resolved scenario as plain data, so any `concurrent.futures` executor
(a local process pool, Dask on a cluster) can run it without the scenario files. Replication i
of every scenario gets the same seed; the model draws its random numbers per purpose and day,
so paired runs share their illnesses (common random numbers). Results are keyed and ordered by
task, never by completion, so they are identical on any executor and any number of workers.
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import functools
import hashlib
import json
import shutil
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.studies.executors import Pool, Progress
from sim.engine.indicators import indicator_names as registry_names
from sim.outputs.results import atomic_folder, code_version, write_daily, write_json
from sim.scenario.loader import Timeline, load
from sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from sim.engine.model import TierFlowModel


# ------------------------------------------------------------------ tasks and seeds

def replication_seeds(root: int, n: int) -> list[int]:
    """Seeds for replications 0..n-1 from a root seed (`SeedSequence(root).spawn`); stable as n grows."""
    return [int(child.generate_state(1, np.uint64)[0]) >> 1 for child in np.random.SeedSequence(root).spawn(n)]


def timeline_data(timeline: Timeline, seed: int | None = None) -> dict:
    """A timeline as plain JSON-able data (optionally with another seed): what a task carries."""
    def dump(s: Scenario) -> dict:
        data = s.model_dump(mode="json")
        if seed is not None:
            data["seed"] = seed
        return data
    return {"base": dump(timeline.base), "changes": [[day, label, dump(s)] for day, label, s in timeline.changes],
            "sources": list(timeline.sources), "overrides": list(timeline.overrides)}


def timeline_from_data(data: dict) -> Timeline:
    """Rebuild the Timeline a task carries."""
    return Timeline(base=Scenario.model_validate(data["base"]),
                    changes=[(day, label, Scenario.model_validate(s)) for day, label, s in data["changes"]],
                    sources=list(data["sources"]), overrides=list(data["overrides"]))


@dataclass(frozen=True)
class Task:
    """One replication: a resolved scenario, its seed, what to record. Picklable and self-contained."""

    scenario: str                 # label: the scenario's name, or a sweep point
    replication: int
    seed: int
    timeline: dict = field(repr=False)  # timeline_data(...), with the seed set
    window: tuple[int, int] | None = None  # indicators over days [start, end) instead of the whole run
    keep_daily: bool = True

    @property
    def key(self) -> str:
        """Unique name of the task within an experiment."""
        return f"{self.scenario}/rep-{self.replication:04d}"

    @property
    def fingerprint(self) -> str:
        """Hash of everything that determines the task's numbers (to check a resumed folder)."""
        inputs = {"timeline": self.timeline, "seed": self.seed, "window": self.window,
                  "keep_daily": self.keep_daily, "version": code_version()}
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def make_task(source: str | Path | Timeline, *, seed: int, replication: int = 0, overrides: Sequence[str] = (),
              days: int | None = None, label: str | None = None, window: tuple[int, int] | None = None,
              keep_daily: bool = True) -> Task:
    """A task from a scenario file (loaded with `overrides` and `days`) or an already loaded Timeline."""
    timeline = source if isinstance(source, Timeline) else load(source, list(overrides), days=days)
    return Task(label or timeline.base.name, replication, seed, timeline_data(timeline, seed), window, keep_daily)


def paired_tasks(labels: Sequence[str], timelines: Sequence[Timeline], seeds: Sequence[int],
                 window: tuple[int, int] | None = None, keep_daily: bool = True) -> list[Task]:
    """Replication by replication (all scenarios of one replication together, on its seed), so a
    cut leaves whole pairs and every scenario shares its random numbers (common random numbers)."""
    return [Task(label, i, seed, timeline_data(t, seed), window, keep_daily)
            for i, seed in enumerate(seeds) for label, t in zip(labels, timelines)]


# ------------------------------------------------------------------ one replication

@dataclass
class Result:
    """What a replication produced: the model's summary and (optionally) its daily columns."""

    scenario: str
    replication: int
    seed: int
    summary: dict
    daily: dict[str, np.ndarray] | None = None
    wall_seconds: float = 0.0

    @property
    def indicators(self) -> dict[str, float]:
        """Every scalar indicator, nested ones flattened (`visits_by_tier.village`)."""
        return flat_indicators(self.summary)


def run_replication(task: Task) -> Result:
    """Build the model without Mesa agents (they only view the arrays) and run one replication."""
    from sim.outputs.runs import make_model  # here, so the command line starts without loading Mesa

    started = time.perf_counter()
    model = make_model(timeline_from_data(task.timeline), agents=False)  # a region runs its areas in process
    if task.window is None:
        model.run()
        summary, daily = model.summary(), model.daily()
    else:
        summary, daily = _run_window(model, *task.window)
    return Result(task.scenario, task.replication, task.seed, summary, daily if task.keep_daily else None,
                  time.perf_counter() - started)


def _run_window(model, start: int, end: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Run to day `end` and summarise days [start, end), person totals included."""
    model.keep_totals_from(start)
    model.run(until=end)
    daily = {name: col[:end] for name, col in model.daily().items()}
    summary = model.summary_between(start, end)
    summary["window"] = [start, end]
    return summary, daily


SKIPPED_KEYS = ("periods", "changes", "days", "window", "area_info")


def _scalars(summary: dict) -> Iterable[tuple[str, float]]:
    """(name, value) of a summary's scalar indicators; nested mappings joined with dots, lists numbered from 1."""
    def walk(prefix: str, value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield from walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value, start=1):
                yield from walk(f"{prefix}.{i}", v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield prefix, float(value)

    for key, value in summary.items():
        if key not in SKIPPED_KEYS:
            yield from walk(key, value)


def flat_indicators(summary: dict) -> dict[str, float]:
    """A summary's scalar indicators by name, in one order whether fresh or read back from (sorted) JSON."""
    rank = _rank()
    return dict(sorted(_scalars(summary), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


@functools.cache
def _rank() -> dict[str, int]:
    return {name: i for i, name in enumerate(registry_names())}


def indicator_names() -> list[str]:
    """Every indicator a replication reports, in the order of the registry (`sim.engine.indicators`)."""
    return registry_names()


# ------------------------------------------------------------------ storage

class ReplicationStore:
    """Finished replications under `folder/runs/<scenario>/rep-NNNN/`, each written atomically."""

    def __init__(self, folder: Path):
        """A store in an experiment folder (created when the first replication is saved)."""
        self.root = Path(folder) / "runs"

    def path(self, task: Task) -> Path:
        """The folder of one replication."""
        return self.root / slug(task.scenario) / f"rep-{task.replication:04d}"

    def save(self, task: Task, result: Result) -> None:
        """Write a replication: its inputs' fingerprint, summary and daily columns."""
        meta = {"scenario": task.scenario, "replication": task.replication, "seed": task.seed,
                "fingerprint": task.fingerprint, "wall_seconds": round(result.wall_seconds, 3)}
        final = self.path(task)
        if final.exists():
            shutil.rmtree(final)  # a stale replication with other inputs
        with atomic_folder(final) as tmp:
            write_json(tmp / "summary.json", result.summary)
            if result.daily is not None:
                write_daily(tmp / "daily.csv", result.daily)
            write_json(tmp / "replication.json", meta)  # written last: marks the replication complete

    def load(self, task: Task) -> Result | None:
        """The stored result of `task`, or None if missing or run with other inputs."""
        folder = self.path(task)
        try:
            meta = json.loads((folder / "replication.json").read_text(encoding="utf-8"))
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if meta.get("fingerprint") != task.fingerprint:
            return None
        if task.keep_daily and not (folder / "daily.csv").exists():
            return None
        return Result(task.scenario, task.replication, task.seed, summary, None, meta.get("wall_seconds", 0.0))

    def daily_rows(self, task: Task) -> tuple[list[str], Iterable[list[str]]]:
        """The header and rows of a stored replication's daily.csv."""
        with open(self.path(task) / "daily.csv", newline="") as fh:
            rows = list(csv.reader(fh))
        return rows[0], rows[1:]

    def remove_partial(self) -> None:
        """Delete temporary folders left by a run that was killed while writing."""
        if self.root.exists():
            for tmp in self.root.glob("*/.*.tmp-*"):
                shutil.rmtree(tmp, ignore_errors=True)


def slug(name: str) -> str:
    """A folder-safe version of a scenario label."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip("._")
    return safe or "scenario"


# ------------------------------------------------------------------ the runner

@dataclass
class Failure:
    """A replication that raised: which one, and why."""

    task: Task
    error: str        # one line
    details: str      # the traceback

    def describe(self) -> str:
        """One line a researcher can act on: scenario, replication, seed, error."""
        t = self.task
        return f"FAILED: scenario {t.scenario}, replication {t.replication}, seed {t.seed}: {self.error}"


@dataclass
class Outcome:
    """What a batch of tasks gave: results in task order, failures, and whether it was cut short."""

    results: dict[str, Result]
    failures: list[Failure]
    reused: list[str] = field(default_factory=list)  # keys found finished in the folder (resume)
    interrupted: bool = False       # Ctrl-C
    broken: str = ""                # why the executor stopped (a worker process died)
    not_run: list[Task] = field(default_factory=list)

    @property
    def stored(self) -> int:
        """How many tasks were read back instead of run."""
        return len(self.reused)

    @property
    def stopped(self) -> bool:
        """Cut short (Ctrl-C, or a worker died): the tables wait for --resume."""
        return self.interrupted or bool(self.broken)

    @property
    def complete(self) -> bool:
        """Every task finished."""
        return not (self.failures or self.interrupted or self.broken or self.not_run)


def run_tasks(tasks: Sequence[Task], pool: Pool, store: ReplicationStore | None = None, *, resume: bool = False,
              progress: Progress | None = None, fn: Callable[[Task], Result] | None = None) -> Outcome:
    """Run tasks on a pool; save each as it finishes; report failures and carry on; stop cleanly on Ctrl-C.

    With `resume`, tasks whose stored inputs match are read from `store` instead of run again.
    """
    fn = fn or run_replication
    keys = [t.key for t in tasks]
    position = {k: i for i, k in enumerate(keys)}
    if len(position) != len(keys):
        raise ValueError("two tasks share a scenario label and replication number")
    results: dict[str, Result] = {}
    outcome = Outcome({}, [])
    todo: list[Task] = []
    if store is not None:
        store.remove_partial()
    for task in tasks:
        stored = store.load(task) if (store is not None and resume) else None
        if stored is not None:
            results[task.key] = stored
            outcome.reused.append(task.key)
        else:
            todo.append(task)
    progress = progress or Progress(len(todo))
    progress.begin(len(todo))
    in_flight: dict[cf.Future, Task] = {}
    waiting = iter(todo)
    try:
        while True:
            while not outcome.broken and len(in_flight) < pool.slots:
                task = next(waiting, None)
                if task is None:
                    break
                try:
                    in_flight[pool.executor.submit(fn, task)] = task
                except cf.BrokenExecutor as exc:
                    outcome.broken = _worker_died(exc)
                    outcome.not_run.append(task)
            if not in_flight:
                break
            done, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: position[in_flight[f].key]):
                task = in_flight.pop(future)
                _collect(task, future, store, results, outcome, progress)
    except KeyboardInterrupt:
        outcome.interrupted = True
        for future in in_flight:
            future.cancel()
        pool.stop_now()
    finally:
        progress.close()
    if outcome.broken:
        outcome.not_run += [t for t in waiting]
    outcome.results = {k: results[k] for k in keys if k in results}
    return outcome


def _collect(task: Task, future: cf.Future, store: ReplicationStore | None, results: dict[str, Result],
             outcome: Outcome, progress: Progress) -> None:
    """Save a finished task's result, or record why it failed."""
    label = f"{task.scenario} replication {task.replication} (seed {task.seed})"
    try:
        result = future.result()
    except cf.BrokenExecutor as exc:
        outcome.broken = _worker_died(exc)
        outcome.not_run.append(task)
        progress.finished(f"{label}: not run, a worker process died", failed=True)
        return
    except cf.CancelledError:
        outcome.not_run.append(task)
        return
    except Exception as exc:  # noqa: BLE001 - a failed replication must not stop the others
        failure = Failure(task, f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))
        outcome.failures.append(failure)
        progress.message(failure.describe())
        progress.finished(f"{label}: failed", failed=True)
        return
    if store is not None:
        store.save(task, result)
        result = replace(result, daily=None)  # on disk now; keep memory small
    results[task.key] = result
    progress.finished(f"{label}: done in {result.wall_seconds:.1f} s")


def _worker_died(exc: BaseException) -> str:
    return f"a worker process died (killed, or out of memory): {exc}"


def write_failures(folder: Path, failures: Sequence[Failure]) -> None:
    """Record failures in folder/failures.json (removed when a resumed run has none)."""
    path = Path(folder) / "failures.json"
    if not failures:
        path.unlink(missing_ok=True)
        return
    write_json(path, {"failures": [{"scenario": f.task.scenario, "replication": f.task.replication,
                                    "seed": f.task.seed, "error": f.error, "traceback": f.details}
                                   for f in failures]})
