"""Will a run fit in memory? An estimate from the number of agents, and the memory available.

The estimate is measured, not derived: peak resident memory of `run.py scenarios/baseline.yaml
--no-figures` on this code (Python 3.12, numpy 2) was 165 MB at 20,000 agents, 245 MB at
200,000 and 392 MB at 600,000 (README: 543 MB at 1,000,000): about 380 bytes per agent over
a base of about 160 MB (Python, numpy, Mesa, the county and its tables). The estimate rounds
both up (200 MB + 450 bytes per agent) so that a run it lets through does not run out.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

BASE_BYTES = 200 * 2**20
BYTES_PER_AGENT = 450
HEADROOM = 0.9  # use at most this share of the memory available
MAX_SCALE = 10_000  # the schema's limit on `scale`
LIMIT_VARIABLE = "TIERFLOW_MEMORY_LIMIT"


def estimate_bytes(population: int, scale: int = 1) -> int:
    """Peak memory of a run of `population` residents at `scale` residents per agent."""
    agents = math.ceil(population / max(scale, 1))
    return BASE_BYTES + BYTES_PER_AGENT * agents


def fitting_scale(population: int, available: int, scale: int = 1) -> int | None:
    """The smallest scale (at least `scale`) whose run fits in `available` bytes, or None if none does."""
    budget = available * HEADROOM - BASE_BYTES
    if budget <= 0:
        return None
    k = max(scale, math.ceil(population * BYTES_PER_AGENT / budget))
    while k <= MAX_SCALE and estimate_bytes(population, k) > available * HEADROOM:
        k += 1
    return k if k <= MAX_SCALE else None


def fits(population: int, scale: int, available: int) -> bool:
    """True when the estimate is within the usable share of `available`."""
    return estimate_bytes(population, scale) <= available * HEADROOM


def parse_size(text: str) -> int:
    """'512M', '2G', '1.5GB' or a number of bytes, as bytes."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(float(t))


def _meminfo_available(text: str) -> int | None:
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def available_bytes() -> int | None:
    """Memory this process could still use: /proc/meminfo's MemAvailable (else free pages from
    os.sysconf), capped by a cgroup limit and by TIERFLOW_MEMORY_LIMIT (e.g. `8G`) when set.
    None when nothing can be read."""
    found: list[int] = []
    try:
        value = _meminfo_available(Path("/proc/meminfo").read_text())
        if value is not None:
            found.append(value)
    except OSError:
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    if os.environ.get(LIMIT_VARIABLE):
        try:
            found.append(parse_size(os.environ[LIMIT_VARIABLE]))
        except ValueError:
            pass
    return min(found) if found else None


def human(n: float) -> str:
    """Bytes as '1.2 GB' (powers of 1024)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


def refusal(population: int, scale: int, available: int | None) -> str | None:
    """Why a run must not start (one line), or None when it fits or memory cannot be read."""
    if available is None or fits(population, scale, available):
        return None
    need = estimate_bytes(population, scale)
    k = fitting_scale(population, available, scale)
    hint = (f"run at scale {k} (--set scale={k}: one agent for {k:,} residents) to fit" if k is not None
            else "no scale fits: free memory or use a larger machine")
    return (f"{population:,} residents at scale {scale} need about {human(need)} of memory; "
            f"{human(available)} is available; {hint}")
