"""Do two commits give the same numbers? Runs every shipped scenario at a reference commit and
at the working tree, and compares `daily.csv` and `summary.json` byte for byte.

    .venv/bin/python bench/same_numbers.py                 # against HEAD
    .venv/bin/python bench/same_numbers.py --ref abc1234   # against another commit
    .venv/bin/python bench/same_numbers.py --days 120      # shorter runs, for a quick look

With `--days`, a scenario the loader refuses at that length (a dated change after the
shortened run ends) is skipped, and said so, on both sides.

The reference commit is checked out with `git worktree` in a temporary folder; each tree runs
its own `run.py` (figures skipped), so the two sides share only the virtual environment.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from worktree import checkout  # bench/worktree.py

ROOT = Path(__file__).resolve().parent.parent
FILES = ("daily.csv", "summary.json")
HEADLINE = ("grassroots_share", "in_county_share", "tertiary_share", "visits_per_capita", "admissions_per_100",
            "referrals_up", "referrals_down", "out_of_county_fund_share", "oop_per_capita", "forgone_share",
            "chronic_management_rate")


def run_all(tree: Path, out: Path, days: int | None) -> dict[str, Path]:
    """Run each scenario of `tree`'s library into `out`; return its run folder by scenario."""
    folders = {}
    for scenario in sorted((tree / "scenarios").glob("*.yaml")):
        if scenario.stem.startswith("baseline_uncalibrated"):
            continue  # a base file to extend, not a scenario users run
        cmd = [sys.executable, "run.py", str(scenario.relative_to(tree)), "--out", str(out), "--no-figures"]
        cmd += ["--days", str(days)] if days else []
        proc = subprocess.run(cmd, cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode == 2 and days:  # refused as input: e.g. a dated change after the shortened run ends
            print(f"{scenario.stem:32} skipped at --days {days}: {proc.stderr.strip().splitlines()[-1].strip()}")
            continue
        if proc.returncode:
            sys.stderr.write(proc.stderr)
            raise subprocess.CalledProcessError(proc.returncode, cmd)
        runs = sorted(p for p in (out / scenario.stem).iterdir() if p.is_dir())
        folders[scenario.stem] = runs[-1]
    return folders


def show_changes(old_file: Path, new_file: Path, keys: tuple[str, ...] = HEADLINE) -> None:
    """Print the headline indicators that differ, old -> new."""
    old, new = json.loads(old_file.read_text()), json.loads(new_file.read_text())
    for key in keys:
        if old.get(key) != new.get(key):
            print(f"    {key:40} {old.get(key)!r:>24} -> {new.get(key)!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD", help="the commit to compare against (default HEAD)")
    ap.add_argument("--days", type=int, help="days per run (default: each scenario's own)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, checkout(args.ref) as ref_tree:
        tmp = Path(tmp)
        old = run_all(ref_tree, tmp / "old", args.days)
        new = run_all(ROOT, tmp / "new", args.days)
        differ = 0
        for name in sorted(old.keys() | new.keys()):
            if name not in old or name not in new:
                print(f"{name:32} only at {'the reference' if name in old else 'the working tree'}")
                continue
            for f in FILES:
                same = (old[name] / f).read_bytes() == (new[name] / f).read_bytes()
                differ += not same
                print(f"{name:32} {f:14} {'identical' if same else 'DIFFERENT'}")
                if not same and f == "summary.json":
                    show_changes(old[name] / f, new[name] / f)
        print(f"{differ} file(s) differ")
        return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
