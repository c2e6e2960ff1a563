"""Paired comparison of scenarios from Python: the same seeds for every scenario, replication by
replication, and each policy's difference from the base with its t-interval.

    from sim import compare
    result = compare("scenarios/baseline.yaml", "scenarios/xinxiang_2025.yaml", reps=5, overrides=["world.population=20000"])
    result.difference("xinxiang_2025", "grassroots_share")   # Interval(n=5, mean=..., low=..., high=...)

`run.py compare` adds resumable folders, daily tables and figures on top of the same runs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.scenario.loader import load
from sim.scenario.schema import Timeline
from sim.studies.executors import Progress, open_pool
from sim.studies.experiment import paired_tasks, replication_seeds, run_tasks
from sim.studies.stats import Interval, interval


@dataclass
class Comparison:
    """Indicators of each scenario in each replication (`values[label][i]`), base first."""

    labels: list[str]
    seeds: list[int]
    values: dict[str, list[dict[str, float]]]

    def mean(self, label: str, indicator: str) -> Interval:
        """A scenario's mean of an indicator over replications, with its 95% interval."""
        return interval([rep[indicator] for rep in self.values[label]])

    def difference(self, label: str, indicator: str) -> Interval:
        """The paired difference, scenario minus base, over replications, with its 95% interval."""
        base = self.values[self.labels[0]]
        return interval([rep[indicator] - b[indicator] for rep, b in zip(self.values[label], base)])


class CompareFailed(RuntimeError):
    """Some replications did not finish (their errors are in the message)."""


def compare(base: str | Path | Timeline, *policies: str | Path | Timeline, reps: int = 10, seed: int = 1,
            overrides: Sequence[str] = (), days: int | None = None, workers: int = 1) -> Comparison:
    """Run `base` and each policy over `reps` paired replications (common random numbers).

    Files are loaded with `overrides` (`key.path=value`) and `days`; loaded Timelines are used
    as they are. Labels are the scenarios' names. `workers` > 1 runs replications in
    processes; the numbers do not depend on it.
    """
    timelines = [s if isinstance(s, Timeline) else load(s, list(overrides), days=days) for s in (base, *policies)]
    labels = [t.base.name for t in timelines]
    if len(set(labels)) != len(labels):
        raise ValueError(f"scenarios need distinct names to be compared, got {labels}")
    seeds = replication_seeds(seed, reps)
    tasks = paired_tasks(labels, timelines, seeds, keep_daily=False)
    with open_pool(workers) as pool:
        outcome = run_tasks(tasks, pool, progress=Progress(len(tasks), io.StringIO()))
    if not outcome.complete:
        raise CompareFailed("; ".join(f.describe() for f in outcome.failures) or "interrupted")
    values = {label: [outcome.results[f"{label}/rep-{i:04d}"].indicators for i in range(reps)] for label in labels}
    return Comparison(labels, seeds, values)
