"""Benchmark: regions in one process against the same regions on Dask workers, and the daily coupling.

    .venv/bin/python bench/region_bench.py              # the full benchmark (about 30 minutes on 2 cores)
    .venv/bin/python bench/region_bench.py --parts 1    # only the 6-million-resident prefecture
    .venv/bin/python bench/region_bench.py --quick      # small regions, for a quick look
    .venv/bin/python bench/region_bench.py --parts 3    # only the two-cores control (about 3 minutes)

Every run is its own process (so its peak memory is its own); the parent prints them side by side.

1. The Xinxiang prefecture (scenarios/xinxiang_city.yaml, 12 areas, 6.25 million residents) at
   full resolution (scale 1), one year + warm-up: in one process, then on a 2-worker local
   cluster (`--partitions 2`). Wall time (building the areas included), peak memory of the
   process and of each worker, and whether the two summaries are identical.
2. A 20-million-resident synthetic region (4 urban districts, 16 counties; scale 5 by default:
   4 million agents) the same two ways: memory per worker against its own residents.
3. The cost of the daily coupling, from the same runs: the time areas spent stepping (each
   worker's own, measured inside it) against the wall time; the rest is the coupling, the
   messages between workers and the waiting for the slower worker.
4. (`--parts 3`) A control for what two workers can gain on this machine: the prefecture at
   scale 2 (3.1 million agents, what one worker holds at full resolution) in one process alone,
   then in two processes started together, no Dask. If the two cores or their shared memory slowed each other, the
   runs together would be much slower than alone.
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
XINXIANG = ROOT / "scenarios" / "xinxiang_city.yaml"


def synthetic_scenario(population: int, scale: int, folder: Path) -> Path:
    """A synthetic region's scenario file (the baseline county's behaviour and insurance)."""
    path = folder / f"region_{population}.yaml"
    path.write_text(f"""extends: {ROOT / 'scenarios' / 'baseline.yaml'}
name: synthetic_region_{population}
scale: {scale}
region:
  kind: province
  synthetic: {{population: {population}, districts: 4, counties: 16, city_hospitals: 4, radius_km: 120}}
""", encoding="utf-8")
    return path


def child(scenario: str, overrides: list[str], partitions: int | None) -> dict:
    """Run one region in this process (its areas here, or on `partitions` local Dask workers)."""
    sys.path.insert(0, str(ROOT))
    from sim.region.model import RegionModel
    from sim.scenario.loader import load

    timeline = load(scenario, overrides)
    started = time.perf_counter()
    model = RegionModel(timeline, partitions=partitions)
    built = time.perf_counter()
    model.run()
    ran = time.perf_counter()
    summary = model.summary()
    results = model.results()
    model.close()
    groups = []
    for members in model.members:
        part = [results[i] for i in members]
        groups.append({"areas": len(part), "residents": sum(r["residents"] for r in part),
                       "agents": sum(r["agents"] for r in part), "busy_s": sum(r["busy_s"] for r in part),
                       "peak_rss_mb": part[0]["peak_rss_mb"]})
    return {"partitions": partitions, "build_s": built - started, "run_s": ran - built, "total_s": ran - started,
            "days": timeline.base.days + timeline.base.warmup_days, "groups": groups,
            "agents": sum(g["agents"] for g in groups), "residents": sum(g["residents"] for g in groups),
            "main_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "summary": json.dumps(summary, sort_keys=True)}


def measure(scenario: Path, overrides: list[str], partitions: int | None) -> dict:
    """Run `child` in a fresh process."""
    cmd = [sys.executable, __file__, "--child", str(scenario), "--partitions", str(partitions or 0)]
    cmd += [f"--set={o}" for o in overrides]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(label: str, r: dict) -> None:
    """One run: time, memory, and each group's share."""
    where = "one process" if not r["partitions"] else f"{r['partitions']} Dask workers"
    print(f"   {label} on {where}: {r['total_s']:.1f} s (building {r['build_s']:.1f} s, "
          f"{r['agents'] / r['total_s'] / 1e6 * r['days']:.1f} M agent-days/s); "
          f"peak memory of the main process {r['main_peak_rss_mb']:,.0f} MB")
    for k, g in enumerate(r["groups"]):
        per_m = g["peak_rss_mb"] / (g["agents"] / 1e6)
        who = "the process" if not r["partitions"] else f"worker {k + 1}"
        print(f"     {who}: {g['areas']} areas, {g['residents']:,} residents as {g['agents']:,} agents, "
              f"peak {g['peak_rss_mb']:,.0f} MB ({per_m:,.0f} MB per million agents), stepping {g['busy_s']:.1f} s")


def coupling_cost(r: dict) -> dict:
    """Wall time of the run against the time spent stepping areas (see the module docstring)."""
    stepping = max(g["busy_s"] for g in r["groups"]) if r["partitions"] else sum(g["busy_s"] for g in r["groups"])
    rest = r["run_s"] - stepping
    return {"run_s": r["run_s"], "stepping_s": stepping, "rest_s": rest, "rest_share": rest / r["run_s"],
            "per_day_ms": rest / r["days"] * 1000}


def compare(label: str, scenario: Path, overrides: list[str]) -> dict:
    """One region in one process and on 2 workers, side by side."""
    one = measure(scenario, overrides, None)
    two = measure(scenario, overrides, 2)
    show(label, one)
    show(label, two)
    same = one["summary"] == two["summary"]
    print(f"   2 workers against one process: {one['total_s'] / two['total_s']:.2f}x faster; "
          f"summaries identical: {'yes' if same else 'NO'}")
    costs = {"one_process": coupling_cost(one), "two_workers": coupling_cost(two)}
    for name, c in costs.items():
        print(f"   coupling and messages ({name.replace('_', ' ')}): {c['rest_s']:.1f} s of {c['run_s']:.1f} s "
              f"running ({c['rest_share']:.0%}), {c['per_day_ms']:.0f} ms a day")
    for r in (one, two):
        del r["summary"]
    return {"one_process": one, "two_workers": two, "identical": same, "speedup": one["total_s"] / two["total_s"],
            "coupling": costs}


def control(scale: int) -> dict:
    """The prefecture in one process alone, then two such processes at once (see the docstring)."""
    cmd = [sys.executable, __file__, "--child", str(XINXIANG), "--partitions", "0", f"--set=scale={scale}"]

    def running(procs: list) -> list[float]:
        return [json.loads(p.communicate()[0].strip().splitlines()[-1])["run_s"] for p in procs]

    def start() -> subprocess.Popen:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)

    alone = running([start()])[0]
    together = running([start(), start()])
    print(f"   one process alone: running {alone:.1f} s; two at once: {together[0]:.1f} s and {together[1]:.1f} s "
          f"({max(together) / alone:.2f}x the time alone)")
    return {"scale": scale, "alone_run_s": alone, "together_run_s": together, "ratio": max(together) / alone}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small regions (a quick look, minutes)")
    parser.add_argument("--parts", default="1,2,3",
                        help="which parts to run: 1 (prefecture), 2 (20 million), 3 (two-cores control)")
    parser.add_argument("--big-scale", type=int, default=5, help="scale of the 20-million region (default 5)")
    parser.add_argument("--child")
    parser.add_argument("--partitions", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.overrides, args.partitions or None)))
        return

    parts = {int(p) for p in args.parts.split(",")}
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    results: dict = {}
    print(f"TierFlow region benchmark ({'quick' if args.quick else 'full'}); each run in its own process\n")
    if 1 in parts:
        scale = 20 if args.quick else 1
        print(f"1. Xinxiang prefecture, 6.25 million residents, scale {scale}, one year + warm-up")
        results["prefecture"] = compare("prefecture", XINXIANG, [f"scale={scale}"])
        print()
    if 2 in parts:
        population, scale = (2_000_000, 20) if args.quick else (20_000_000, args.big_scale)
        print(f"2. Synthetic region, {population:,} residents in 20 areas, scale {scale}, one year + warm-up")
        results["region"] = compare("region", synthetic_scenario(population, scale, out), [])
        print()
    if 3 in parts:
        scale = 40 if args.quick else 2
        print(f"3. Control: the prefecture at scale {scale} in one process alone, then two at once (no Dask)")
        results["control"] = control(scale)
        print()
    (out / "region.json").write_text(json.dumps(results, indent=2))
    print(f"Saved {out / 'region.json'}")


if __name__ == "__main__":
    main()
