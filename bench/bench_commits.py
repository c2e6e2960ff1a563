"""Is the working tree slower than another commit? Times the same model run at both, alternately.

    .venv/bin/python bench/bench_commits.py --ref afb0eeb                       # baseline, 100,000 residents
    .venv/bin/python bench/bench_commits.py --ref HEAD~3 --population 1000000 --rounds 3

The reference commit is checked out with `git worktree` in a temporary folder. Each round runs
one process per side (reference first on odd rounds, working tree first on even ones), each
building the model with its Mesa agents and running the scenario's days; the parent prints
each pair's ratio (new / old) and the medians. Peak memory is each process's own.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from worktree import checkout  # bench/worktree.py

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, resource, sys, time
sys.path.insert(0, {tree!r})
try:  # the layout since the floors of sim/; older commits had flat modules
    from sim.scenario.loader import load
    from sim.engine.model import TierFlowModel
except ImportError:
    from sim.scenario import load
    from sim.model import TierFlowModel
timeline = load({scenario!r}, ["world.population={population}"], days={days})
t0 = time.perf_counter()
model = TierFlowModel(timeline)
t1 = time.perf_counter()
model.run()
t2 = time.perf_counter()
print(json.dumps({{"build": t1 - t0, "run": t2 - t1, "total": t2 - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(tree: Path, args: argparse.Namespace) -> dict:
    """One model build and run in a fresh process using `tree`'s code."""
    code = CHILD.format(tree=str(tree), scenario=str(tree / args.scenario), population=args.population,
                        days=args.days)
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", required=True, help="the commit to compare against")
    ap.add_argument("--scenario", default="scenarios/baseline.yaml")
    ap.add_argument("--population", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with checkout(args.ref) as ref_tree:
        pairs = []
        for r in range(args.rounds):
            order = [("old", ref_tree), ("new", ROOT)] if r % 2 == 0 else [("new", ROOT), ("old", ref_tree)]
            got = {side: measure(tree, args) for side, tree in order}
            pairs.append(got)
            print(f"round {r + 1}: old {got['old']['total']:.2f} s, new {got['new']['total']:.2f} s, "
                  f"new/old {got['new']['total'] / got['old']['total']:.3f}", flush=True)
    for key in ("build", "run", "total", "peak_mb"):
        old = statistics.median(p["old"][key] for p in pairs)
        new = statistics.median(p["new"][key] for p in pairs)
        ratio = statistics.median(p["new"][key] / p["old"][key] for p in pairs)
        print(f"{key:8} median old {old:9.2f}  new {new:9.2f}  median of pair ratios new/old {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
