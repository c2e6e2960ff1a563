"""How the areas of a region share their hospitals, day by day (pure rules).

Every area runs its own county model, in which each shared (city or provincial) hospital has a
copy. At the end of each day the areas report what their copy saw; the region then gives each
copy tomorrow's share of the hospital's clinics and beds, in proportion to the demand it met
today (so the hospital serves every area's patients alike, as one queue would), and tells every
copy the hospital's whole load and backlog (so patients everywhere expect the same wait). What a
copy's own review decided (expansion) is averaged. The result depends only on the reports, in
area order: not on which worker ran which area.
"""

from __future__ import annotations

import numpy as np

# Columns of an area's daily report: one row per shared hospital its residents reach.
REPORT = ("own_capacity", "own_beds", "capacity", "demand", "waiting", "bed_demand", "occupied", "load",
          "expansion")
R = {name: i for i, name in enumerate(REPORT)}


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split a whole number in proportion to non-negative weights, exactly (ties to the first)."""
    weights = np.asarray(weights, dtype=np.float64)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), np.int64)
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(np.int64)
    short = int(total - out.sum())
    if short > 0:
        out[np.argsort(-(raw - out), kind="stable")[:short]] += 1
    return out


def split_capacity(total: float, demand: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Tomorrow's visits a day for each area: `total` in proportion to today's demand, with each
    area's own size as one visit's worth of weight (so an area with no demand keeps a little);
    in equal parts when no area has demand or size."""
    own = np.asarray(own, dtype=np.float64)
    weight = np.asarray(demand, dtype=np.float64) + own / max(own.sum(), 1e-12)
    if weight.sum() <= 0:
        weight = np.ones(len(weight))
    return total * weight / weight.sum()


def split_beds(total: int, occupied: np.ndarray, wanted: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Tomorrow's beds for each area: the beds its patients occupy, and the free beds in proportion
    to today's requests for a bed (each area's own size as one request's worth). Every area that has
    beds of its own gets at least one (taken from the free beds first, for the areas of most weight
    while they last), so its residents may still choose the hospital. The beds add up to `total`, or
    to the occupied beds where more are occupied (occupied beds stay where they are)."""
    occupied = np.asarray(occupied, dtype=np.int64)
    own = np.asarray(own, dtype=np.float64)
    free = max(int(total) - int(occupied.sum()), 0)
    weight = np.asarray(wanted, dtype=np.float64) + own / max(own.sum(), 1e-12)
    floor = np.zeros(len(occupied), np.int64)
    needy = np.flatnonzero((own > 0) & (occupied == 0))
    floor[needy[np.argsort(-weight[needy], kind="stable")][:free]] = 1
    return occupied + floor + largest_remainder(free - int(floor.sum()), weight)


def couple(reports: list[np.ndarray]) -> list[np.ndarray]:
    """Each area's settings for tomorrow from every area's report of today.

    `reports[a]` has one row per region hospital (NaN rows: the area does not reach it) and the
    REPORT columns; the answer for area a has rows (capacity, beds, load, backlog, expansion) per
    region hospital. Sums run in area order. A hospital only one area reaches is not shared: its
    row is NaN (the area's copy keeps its own state, as a county's hospital does).
    """
    stack = np.stack(reports)                       # (areas, hospitals, columns)
    reached = ~np.isnan(stack[:, :, 0])
    out = np.full(stack.shape[:2] + (5,), np.nan)
    for h in range(stack.shape[1]):
        a = np.flatnonzero(reached[:, h])
        if len(a) < 2:
            continue
        rows = stack[a, h]
        own_cap, cap = rows[:, R["own_capacity"]], rows[:, R["capacity"]]
        total_cap = float(own_cap.sum())
        # the copies' loads averaged as one hospital's (by capacity; alike when none has any)
        weight = cap / cap.sum() if cap.sum() > 0 else np.full(len(a), 1.0 / len(a))
        out[a, h, 0] = split_capacity(total_cap, rows[:, R["demand"]] + rows[:, R["waiting"]], own_cap)
        out[a, h, 1] = split_beds(int(rows[:, R["own_beds"]].sum()), rows[:, R["occupied"]].astype(np.int64),
                                  rows[:, R["bed_demand"]], rows[:, R["own_beds"]])
        out[a, h, 2] = float(weight @ rows[:, R["load"]])
        out[a, h, 3] = float(rows[:, R["waiting"]].sum()) / max(total_cap, 1e-9)
        out[a, h, 4] = (float(own_cap @ rows[:, R["expansion"]]) / total_cap if total_cap > 0
                        else float(rows[:, R["expansion"]].mean()))
    return [out[a] for a in range(len(reports))]
