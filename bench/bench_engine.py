"""Benchmark: the engine against the idiomatic per-agent Mesa model, scaling, and the scale factor.

    .venv/bin/python bench/bench_engine.py              # the full benchmark (about 6 minutes)
    .venv/bin/python bench/bench_engine.py --parts 1    # only the side-by-side comparison
    .venv/bin/python bench/bench_engine.py --quick      # smaller counties, for a quick look

Every measurement runs in its own process (so peak memory is that run's own) and the
parent prints them side by side:

1. the engine and sim/studies/reference.py on the same 20,000-resident county, scenario and seed,
   run alternately (three of each by default, each side's fastest kept): wall times (agent
   creation included), their ratio, throughput and peak memory;
2. the engine at 100,000 and 1,000,000 residents for one simulated year: time per year, and
   how it grows with the population;
3. 1,000,000 residents as 100,000 agents (scale 10, five seeds) against full resolution
   (three seeds): the difference of each indicator against its standard error.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARES = ("grassroots_share", "in_county_share", "tertiary_share", "forgone_share", "chronic_management_rate",
          "hospital_admission_share", "visits_per_capita", "admissions_per_100")


def child(kind: str, population: int, scale: int, seed: int, agents: bool) -> dict:
    """Run one model in this process and return its measurements."""
    sys.path.insert(0, str(ROOT))
    from sim.studies.reference import ReferenceModel
    from sim.engine.metrics import GROUP_SLICE
    from sim.engine.model import TierFlowModel
    from sim.scenario.loader import Timeline, load

    # The calibrated baseline county, resized: about 3,300 residents per village, 60,000 per township.
    scenario = load(ROOT / "scenarios" / "baseline.yaml", [
        f"world.population={population}", f"scale={scale}", f"world.townships={max(10, population // 60_000)}",
        "world.villages_per_township=30"], seed=seed).base
    started = time.perf_counter()  # imports done: both models pay for building the county and agents
    if kind == "engine":
        model = TierFlowModel(Timeline(scenario), agents=agents)
    else:
        model = ReferenceModel(Timeline(scenario))
    built = time.perf_counter()
    model.run()
    ran = time.perf_counter()
    summary = model.summary()
    rows = model.ledger.rows
    episodes = float(rows[:, GROUP_SLICE["episodes"]].sum()) / scale
    days = scenario.days + scenario.warmup_days
    return {"kind": kind, "population": population, "scale": scale, "agents": population // scale,
            "build_s": built - started, "run_s": ran - built, "total_s": ran - started, "days": days,
            "resident_days": population / scale * days, "episodes": episodes,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "summary": {k: summary[k] for k in SHARES}}


def measure(kind: str, population: int, scale: int = 1, seed: int = 1, agents: bool = True) -> dict:
    """Run `child` in a fresh process."""
    cmd = [sys.executable, __file__, "--child", kind, "--population", str(population), "--scale", str(scale),
           "--seed", str(seed)] + ([] if agents else ["--no-agents"])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def line(label: str, r: dict) -> str:
    """One row of the results table."""
    return (f"{label:<34} {r['total_s']:>8.2f} s  (build {r['build_s']:5.2f} s)  {r['peak_rss_mb']:>7.0f} MB  "
            f"{r['resident_days'] / r['total_s'] / 1e6:>7.2f} M resident-days/s  "
            f"{r['episodes'] / r['total_s'] / 1e3:>7.1f} k episodes/s")


def side_by_side(small: int, repeats: int) -> dict:
    """Part 1: the engine and the per-agent reference on the same county, alternating."""
    print(f"1. Engine vs idiomatic per-agent Mesa model, {small:,} residents, same scenario and seed")
    # Alternate the two so that a slow spell of a shared machine falls on both; keep each one's best.
    runs: dict[str, list[dict]] = {"engine": [], "reference": []}
    for _ in range(repeats):
        for kind in runs:
            runs[kind].append(measure(kind, small))
    engine, reference = (min(runs[k], key=lambda r: r["total_s"]) for k in ("engine", "reference"))
    print(line(f"engine (best of {repeats}, agents made)", engine))
    print(line(f"per-agent reference (best of {repeats})", reference))
    pairs = sorted(r["total_s"] / e["total_s"] for e, r in zip(runs["engine"], runs["reference"]))
    print(f"   each pair run back to back: {', '.join(f'{x:.1f}x' for x in pairs)}")
    ratio = reference["total_s"] / engine["total_s"]
    print(f"   speed-up: {ratio:.1f}x   (target >= 30x)\n")
    return {"engine": engine, "reference": reference, "ratio": ratio, "pair_ratios": pairs, "runs": runs}


def scaling(mid: int, big: int) -> dict:
    """Part 2: time per simulated year at two population sizes."""
    print("2. Scaling, full resolution (one agent per resident)")
    r_mid = measure("engine", mid)
    r_big = measure("engine", big)
    print(line(f"engine, {mid:,} residents", r_mid))
    print(line(f"engine, {big:,} residents", r_big))
    growth = r_big["total_s"] / r_mid["total_s"]
    print(f"   {big // mid}x the residents took {growth:.1f}x the time (linear would be {big // mid}x); "
          f"run only: {r_big['run_s'] / r_mid['run_s']:.1f}x\n")
    return {"mid": r_mid, "big": r_big, "time_growth": growth}


def scale_factor(big: int, full_seed1: dict, full_seeds: int = 3, scaled_seeds: int = 5) -> dict:
    """Part 3: `big` residents as agents of 10 residents against full resolution, seed by seed.

    A difference counts as sampling error when it is within 3 standard errors of the
    difference of the two means (Welch: each side's seed-to-seed spread).
    """
    print(f"3. Scale factor: {big:,} residents as {big // 10:,} agents (scale 10, {scaled_seeds} seeds) "
          f"against full resolution ({full_seeds} seeds)")
    full = [full_seed1] + [measure("engine", big, seed=s) for s in range(2, full_seeds + 1)]
    scaled = [measure("engine", big, scale=10, seed=s) for s in range(1, scaled_seeds + 1)]
    print(line("engine, scale 10 (seed 1)", scaled[0]))
    print(f"   {'indicator':<26} {'full':>9} {'scale 10':>9} {'difference':>11} {'std error':>10}  within 3 se")
    rows, within_all = {}, True
    for key in SHARES:
        f, sc = [r["summary"][key] for r in full], [r["summary"][key] for r in scaled]
        diff = statistics.mean(sc) - statistics.mean(f)
        se = (statistics.variance(f) / len(f) + statistics.variance(sc) / len(sc)) ** 0.5
        ok = abs(diff) <= 3 * se
        within_all &= ok
        rows[key] = {"full": f, "scaled": sc, "difference": diff, "std_error": se, "within": ok}
        print(f"   {key:<26} {statistics.mean(f):>9.4f} {statistics.mean(sc):>9.4f} {diff:>+11.4f} {se:>10.4f}  "
              f"{'yes' if ok else 'NO'}")
    print(f"   every indicator within sampling error: {'yes' if within_all else 'NO'}")
    return {"indicators": rows, "within_sampling_error": within_all, "scaled_run": scaled[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3,
                        help="runs of the engine and of the reference, alternating (each one's fastest is kept)")
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, e.g. 1 or 2,3 (default all)")
    parser.add_argument("--child", choices=("engine", "reference"))
    parser.add_argument("--population", type=int)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-agents", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.population, args.scale, args.seed, not args.no_agents)))
        return

    small, mid, big = (5_000, 20_000, 100_000) if args.quick else (20_000, 100_000, 1_000_000)
    parts = {int(p) for p in args.parts.split(",")}
    results: dict = {}
    print(f"TierFlow engine benchmark ({'quick' if args.quick else 'full'}); one year + 90 warm-up days; "
          f"each run in its own process\n")
    if 1 in parts:
        results["side_by_side"] = side_by_side(small, args.repeats)
    if 2 in parts or 3 in parts:
        results["scaling"] = scaling(mid, big)
    if 3 in parts:
        results["scale_factor"] = scale_factor(big, results["scaling"]["big"])

    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "engine.json").write_text(json.dumps(results, indent=2))
    print(f"\nSaved {out / 'engine.json'}")


if __name__ == "__main__":
    main()
