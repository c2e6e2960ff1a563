"""Run folders: written to a temporary folder and renamed into place, read back for plots.

    results/<scenario-name>/<timestamp>/
        scenario.yaml   the fully resolved scenario (re-runnable as is)
        daily.csv       one row per simulated day
        daily_without_policy.csv  the same scenario and seed without its dated changes (when it has some)
        summary.json    indicators for the run, before/after the first change, and the policy's
                        effect (with minus without its changes) from the first change
        manifest.json   version, seed, command, wall time, sources
        facilities.csv  per-facility visits, admissions, referrals out, revenue, position
        referrals.csv   referrals per (from, to) facility pair, up or down
        settlements.csv settlements with position and residents
        figures/        PNGs drawn from the files above
"""

from __future__ import annotations

import csv
import functools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import yaml

from sim.version import __version__


def format_value(value: float) -> str:
    """A number as text that reads back to the same float (integers without a decimal point)."""
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def write_daily(path: Path, daily: dict[str, np.ndarray]) -> None:
    """Write the daily columns as CSV."""
    names = list(daily)
    rows = np.column_stack([daily[n] for n in names])
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for row in rows:
            writer.writerow([format_value(v) for v in row])


def write_table(path: Path, table: dict[str, list]) -> None:
    """Write a column table (name -> list) as CSV."""
    names = list(table)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        for row in zip(*(table[n] for n in names)):
            writer.writerow([format_value(v) if isinstance(v, float) else v for v in row])


def read_table(path: Path) -> dict[str, list]:
    """Read a CSV table into columns (numbers converted where they parse)."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    names, body = rows[0], rows[1:]

    def convert(x: str):
        try:
            return float(x)
        except ValueError:
            return {"True": True, "False": False}.get(x, x)
    return {n: [convert(r[i]) for r in body] for i, n in enumerate(names)}


def read_daily(path: Path) -> dict[str, np.ndarray]:
    """Read daily.csv back into named float arrays."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        names = next(reader)
        data = np.array([[float(x) for x in row] for row in reader])
    data = data.reshape(-1, len(names))
    return {n: data[:, i] for i, n in enumerate(names)}


def write_json(path: Path, data: dict) -> None:
    """Write JSON with sorted keys, for stable diffs."""
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


@functools.cache
def code_version() -> str:
    """TierFlow's version and, in a git checkout, its commit (marked `+dirty` with local edits)."""
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+{commit}" + ("+dirty" if dirty else "")


def manifest(seed: int, wall_seconds: float, sources: list[str], overrides: list[str], **extra) -> dict:
    """Provenance of a run: what ran, with what, how long it took."""
    import mesa
    import networkx

    return {
        "tierflow_version": code_version(), "seed": seed, "command": " ".join(sys.argv),
        "wall_seconds": round(wall_seconds, 3), "sources": sources, "overrides": overrides,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "python": platform.python_version(),
        "numpy": np.__version__, "mesa": mesa.__version__, "networkx": networkx.__version__, **extra,
    }


@contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `final`; rename it into place only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def atomic_file(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; rename it into place only if the block succeeds."""
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def new_run_folder(root: Path, name: str) -> Path:
    """A fresh `root/name/<timestamp>` path that does not exist yet (no reservation: see `claim_run_folder`)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = root / name / stamp
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{stamp}-{n}")
    return path


RUN_NAME = re.compile(r"^(\d{8}-\d{6})(?:-(\d+))?(?:_.*)?$")


def overrides_tag(overrides: list[str] | tuple[str, ...], limit: int = 48) -> str:
    """A short, file-name-safe tag naming `--set` overrides: `tertiary.rate=0,population=300`.

    Each override keeps its last two key parts and its value; characters other than letters,
    digits and `.=+-` become `-`; the whole tag is cut to `limit` characters."""
    parts = []
    for item in overrides:
        key, _, value = str(item).partition("=")
        short = ".".join(key.strip().split(".")[-2:]) + ("=" + value.strip() if value else "")
        parts.append(re.sub(r"[^A-Za-z0-9.=+-]+", "-", short).strip("-"))
    tag = ",".join(p for p in parts if p)
    return tag if len(tag) <= limit else tag[:limit].rstrip(",.=+-") + "+more"


def claim_run_folder(root: Path, name: str, tag: str = "") -> tuple[Path, Path]:
    """Reserve a fresh run folder `root/name/<timestamp>[-n][_tag]`: return (final, tmp), with `tmp`
    created. Safe when many runs (processes or threads) start in the same second.

    A stem (`<timestamp>[-n]`, whatever the tag) is taken by creating its hidden temporary folder
    `.<stem>.tmp` (an atomic mkdir); a stem that a finished run already carries is skipped. One of
    the two exists from the claim until the run is renamed into place, so two runs never share a
    stem, and runs of the same second are ordered by their counter."""
    parent = Path(root) / name
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    suffix = f"_{tag}" if tag else ""
    for n in range(1, 100_000):
        stem = stamp if n == 1 else f"{stamp}-{n}"
        tmp = parent / f".{stem}.tmp"
        try:
            tmp.mkdir()
        except FileExistsError:
            continue
        if (parent / stem).exists() or any(parent.glob(f"{stem}_*")):  # finished before our claim
            tmp.rmdir()
            continue
        return parent / f"{stem}{suffix}", tmp
    raise FileExistsError(f"no free run folder name under {parent}")


def run_sort_key(folder: Path) -> tuple[str, int]:
    """Order of run folders by start: timestamp, then the same-second counter."""
    m = RUN_NAME.match(folder.name)
    return (m.group(1), int(m.group(2) or 1)) if m else ("", 0)


def newest_run(scenario_folder: Path) -> Path | None:
    """The newest complete run folder (one with daily.csv) inside a scenario's results folder."""
    runs = [p for p in Path(scenario_folder).iterdir()
            if p.is_dir() and not p.name.startswith(".") and RUN_NAME.match(p.name) and (p / "daily.csv").exists()]
    return max(runs, key=run_sort_key) if runs else None


def save_run(root: Path, name: str, resolved: dict, daily: dict[str, np.ndarray], summary: dict,
             meta: dict, tables: dict[str, dict[str, list]] | None = None,
             draw: Callable[[Path], None] | None = None,
             extra_daily: dict[str, dict[str, np.ndarray]] | None = None) -> Path:
    """Write a whole run atomically and return its folder; `tables` become <name>.csv files and
    `extra_daily` (name -> daily columns, e.g. the counterfactual's) more daily series.

    The folder is named by the start time and, when the run had `--set` overrides
    (`meta["overrides"]`), a short tag naming them. Nothing is left behind on failure."""
    final, tmp = claim_run_folder(root, name, overrides_tag(meta.get("overrides") or []))
    try:
        (tmp / "scenario.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True),
                                           encoding="utf-8")
        write_daily(tmp / "daily.csv", daily)
        for daily_name, columns in (extra_daily or {}).items():
            write_daily(tmp / f"{daily_name}.csv", columns)
        write_json(tmp / "summary.json", summary)
        write_json(tmp / "manifest.json", {**meta, "folder": final.name})
        for table_name, table in (tables or {}).items():
            write_table(tmp / f"{table_name}.csv", table)
        if draw is not None:
            draw(tmp)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def load_run(folder: Path) -> dict:
    """Read a run folder: daily columns (and the counterfactual's, None without one), summary,
    manifest and resolved scenario."""
    folder = Path(folder)
    daily_files = ("daily.csv", "daily_without_policy.csv")
    tables = {p.stem: read_table(p) for p in sorted(folder.glob("*.csv")) if p.name not in daily_files}
    without = folder / "daily_without_policy.csv"
    return {
        "tables": tables,
        "daily": read_daily(folder / "daily.csv"),
        "daily_without_policy": read_daily(without) if without.exists() else None,
        "summary": json.loads((folder / "summary.json").read_text(encoding="utf-8")),
        "manifest": json.loads((folder / "manifest.json").read_text(encoding="utf-8")),
        "scenario": yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8")),
    }
