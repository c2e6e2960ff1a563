"""Benchmark: many replications of one county on a local process pool, against running them one by one.

    .venv/bin/python bench/bench_replications.py                       # 100 replications, 100,000 residents, 2 workers
    .venv/bin/python bench/bench_replications.py --reps 20 --population 20000   # scaled down

Both sides go through the same runner as `run.py compare` (`sim.studies.experiment.run_tasks`), saving
every replication's summary and daily columns to a temporary folder:

1. serial: the first `--serial-sample` replications in this process (`--workers 1`); their mean
   time estimates the serial time of all of them;
2. parallel: all replications on `--workers` local processes (pool start-up included).

It prints the wall time, replications per minute, the serial estimate, their ratio, and the
machine's load average (other users' work slows both sides), and checks that the replications
run both ways give identical numbers. The design target: 100 replications of a 100,000-resident
county for a year in at most 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sim.engine.model  # noqa: E402,F401 - imported before timing: the serial side should not pay for it
from sim.studies.executors import Progress, open_pool  # noqa: E402
from sim.studies.experiment import ReplicationStore, make_task, replication_seeds, run_tasks  # noqa: E402


def timed_run(tasks, workers: int, folder: Path, quiet: bool) -> tuple[float, dict]:
    """Run tasks on `workers` (pool start-up included); return wall seconds and the results."""
    progress = Progress(len(tasks), stream=io.StringIO() if quiet else sys.stdout)
    started = time.perf_counter()
    with open_pool(workers) as pool:
        outcome = run_tasks(tasks, pool, ReplicationStore(folder), progress=progress)
    wall = time.perf_counter() - started
    if not outcome.complete:
        sys.exit(f"benchmark stopped: {len(outcome.failures)} failed, interrupted={outcome.interrupted}")
    return wall, outcome.results


def main() -> None:
    """Time the serial sample and the parallel run; print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="replications (default 100)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--population", type=int, default=100_000, help="residents (default 100,000)")
    parser.add_argument("--days", type=int, default=365, help="days simulated (default 365, plus the warm-up)")
    parser.add_argument("--serial-sample", type=int, default=4, help="replications timed one by one (default 4)")
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args()

    seeds = replication_seeds(20251, args.reps)
    sets = [f"world.population={args.population}"]
    tasks = [make_task(args.scenario, seed=s, replication=i, overrides=sets, days=args.days)
             for i, s in enumerate(seeds)]
    sample = tasks[: max(1, min(args.serial_sample, args.reps))]
    load_before = os.getloadavg()
    print(f"{args.reps} replications · {args.population:,} residents · {args.days} days "
          f"(+{sample[0].timeline['base']['warmup_days']} warm-up) · {os.cpu_count()} CPUs · "
          f"load average before {load_before[0]:.2f}")

    with tempfile.TemporaryDirectory() as tmp:
        serial_wall, serial_results = timed_run(sample, 1, Path(tmp) / "serial", args.quiet)
        per_rep = serial_wall / len(sample)
        wall, results = timed_run(tasks, args.workers, Path(tmp) / "parallel", args.quiet)
    same = all(serial_results[t.key].summary == results[t.key].summary for t in sample)
    serial_estimate = per_rep * args.reps
    load_after = os.getloadavg()
    print()
    print(f"{'':38}{'wall':>10}{'reps/min':>12}")
    print(f"{'serial (estimated from ' + str(len(sample)) + ' in-process)':38}{serial_estimate:>9.1f}s"
          f"{60 * args.reps / serial_estimate:>12.1f}")
    print(f"{f'{args.workers} worker processes':38}{wall:>9.1f}s{60 * args.reps / wall:>12.1f}")
    print(f"speed-up {serial_estimate / wall:.2f}x on {args.workers} workers · {per_rep:.2f} s per replication "
          f"serially · identical numbers both ways: {'yes' if same else 'NO'}")
    print(f"load average after {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min)")
    target = "met" if wall <= 120 else "not met"
    if args.reps == 100 and args.population == 100_000 and args.days == 365:
        print(f"design target (100 replications in <= 2 minutes on 2 cores): {target}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
