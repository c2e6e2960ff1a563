"""Benchmark: the engine against the idiomatic per-agent Mesa model, scaling, and the scale factor.

    .venv/bin/python bench/bench_engine.py            # the full benchmark (about 3 minutes)
    .venv/bin/python bench/bench_engine.py --quick    # smaller counties, for a quick look

Every measurement runs in its own process (so peak memory is that run's own) and the
parent prints them side by side:

1. the engine and bench/reference.py on the same 20,000-resident county, scenario and seed:
   wall times (agent creation included), their ratio, throughput and peak memory;
2. the engine at 100,000 and 1,000,000 residents for one simulated year: time per year, and
   how it grows with the population;
3. 1,000,000 residents as 100,000 agents (scale 10) against full resolution: shares.
"""

from __future__ import annotations

import argparse
import json
import resource
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
    from bench.reference import ReferenceModel
    from sim.metrics import GROUP_SLICE
    from sim.model import TierFlowModel
    from sim.scenario import Timeline, load

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="engine repeats (the fastest is kept)")
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
    results: dict = {}
    print(f"TierFlow engine benchmark ({'quick' if args.quick else 'full'}); one year + 90 warm-up days; "
          f"each run in its own process\n")

    print(f"1. Engine vs idiomatic per-agent Mesa model, {small:,} residents, same scenario and seed")
    engine = min((measure("engine", small) for _ in range(args.repeats)), key=lambda r: r["total_s"])
    reference = measure("reference", small)
    print(line(f"engine (best of {args.repeats}, agents made)", engine))
    print(line("per-agent reference (one run)", reference))
    ratio = reference["total_s"] / engine["total_s"]
    print(f"   speed-up: {ratio:.1f}x   (target >= 30x)\n")
    results["side_by_side"] = {"engine": engine, "reference": reference, "ratio": ratio}

    print("2. Scaling, full resolution (one agent per resident)")
    r_mid = measure("engine", mid)
    r_big = measure("engine", big)
    print(line(f"engine, {mid:,} residents", r_mid))
    print(line(f"engine, {big:,} residents", r_big))
    growth = r_big["total_s"] / r_mid["total_s"]
    print(f"   {big // mid}x the residents took {growth:.1f}x the time (linear would be {big // mid}x); "
          f"run only: {r_big['run_s'] / r_mid['run_s']:.1f}x\n")
    results["scaling"] = {"mid": r_mid, "big": r_big, "time_growth": growth}

    print(f"3. Scale factor: {big:,} residents as {big // 10:,} agents (scale 10), three seeds, "
          f"against full resolution")
    scaled = [measure("engine", big, scale=10, seed=s) for s in (1, 2, 3)]
    print(line("engine, scale 10 (seed 1)", scaled[0]))
    print(f"   {'indicator':<26} {'full':>10} {'scale 10 mean':>14} {'sd':>9}  within 3 sd")
    import statistics
    within_all = True
    for key in SHARES:
        values = [r["summary"][key] for r in scaled]
        mean, sd = statistics.mean(values), statistics.stdev(values)
        full = r_big["summary"][key]
        ok = abs(full - mean) <= 3 * sd + 1e-3 * abs(full)
        within_all &= ok
        print(f"   {key:<26} {full:>10.4f} {mean:>14.4f} {sd:>9.4f}  {'yes' if ok else 'NO'}")
    results["scale_factor"] = {"scaled": scaled, "within_sampling_error": within_all}

    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "engine.json").write_text(json.dumps(results, indent=2))
    print(f"\nSaved {out / 'engine.json'}")


if __name__ == "__main__":
    main()
