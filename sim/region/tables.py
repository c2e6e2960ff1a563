"""A region's results put together from its areas': the daily ledger and the map tables."""

from __future__ import annotations

import numpy as np

from sim.county.region_areas import AreaRun, to_region_xy
from sim.engine.metrics import STATES
from sim.scenario.region_files import RegionPlan

SUMMED_FACILITY_COLUMNS = ("visits", "admissions", "referrals_out", "revenue", "capacity_per_day", "beds")


def merge_daily(dailies: list[dict], residents: list[int]) -> dict:
    """The areas' daily columns added up, in area order; rates (signing, trust ...) are weighted by residents."""
    weights = np.asarray(residents, dtype=np.float64) / max(float(sum(residents)), 1.0)
    out = {}
    for column in dailies[0]:
        if column == "day":
            out[column] = dailies[0][column]
            continue
        total = np.zeros_like(dailies[0][column], dtype=np.float64)
        for w, daily in zip(weights, dailies):
            total = total + (daily[column] * w if column in STATES else daily[column])
        out[column] = total
    return out


def merge_tables(plan: RegionPlan, runs: list[AreaRun], tables: list[dict]) -> dict[str, dict[str, list]]:
    """Facilities, referrals and settlements of every area, ids prefixed by the area's id, positions in
    the region's coordinates; a shared hospital is one row (its copies' counts added up)."""
    fac: dict[str, list] = {}
    shared_rows: dict[str, int] = {}
    ids_by_area = []
    for run, t in zip(runs, tables):
        f = t["facilities"]
        xy = to_region_xy(np.column_stack([f["x"], f["y"]]), run.area.xy, plan.coordinates)
        tertiary = [i for i, tier in enumerate(f["tier"]) if tier == "tertiary"]
        shared_of = {i: plan.hospitals[k] for i, k in zip(tertiary, run.shared)}
        ids = []
        for i, fid in enumerate(f["id"]):
            h = shared_of.get(i)
            new_id = h.id if h is not None else f"{run.area.id}/{fid}"
            ids.append(new_id)
            if h is not None and new_id in shared_rows:
                row = shared_rows[new_id]
                for col in SUMMED_FACILITY_COLUMNS:
                    fac[col][row] += f[col][i]
                continue
            if h is not None:
                shared_rows[new_id] = len(fac.get("id", []))
            values = {**{c: f[c][i] for c in f}, "id": new_id, "area": "" if h is not None else run.area.id,
                      "name": h.name if h is not None else f["name"][i],
                      "name_zh": h.name_zh if h is not None else "",
                      "x": h.xy[0] if h is not None else float(xy[i, 0]),
                      "y": h.xy[1] if h is not None else float(xy[i, 1])}
            for c, v in values.items():
                fac.setdefault(c, []).append(v)
        ids_by_area.append(ids)
    return {"facilities": fac, "referrals": _referrals(runs, tables, ids_by_area),
            "settlements": _settlements(plan, runs, tables)}


def _referrals(runs: list[AreaRun], tables: list[dict], ids_by_area: list[list[str]]) -> dict[str, list]:
    totals: dict[tuple, float] = {}
    for run, t, ids in zip(runs, tables, ids_by_area):
        f, r = t["facilities"], t["referrals"]
        rename = dict(zip(f["id"], ids))
        for a, b, d, c, k in zip(r["from_id"], r["to_id"], r["direction"], r["count"], r["kind"]):
            key = (rename[a], rename[b], d, k)
            totals[key] = totals.get(key, 0.0) + c
    keys = list(totals)
    return {"from_id": [k[0] for k in keys], "to_id": [k[1] for k in keys], "direction": [k[2] for k in keys],
            "count": [totals[k] for k in keys], "kind": [k[3] for k in keys]}


def _settlements(plan: RegionPlan, runs: list[AreaRun], tables: list[dict]) -> dict[str, list]:
    out: dict[str, list] = {}
    for run, t in zip(runs, tables):
        s = t["settlements"]
        xy = to_region_xy(np.column_stack([s["x"], s["y"]]), run.area.xy, plan.coordinates)
        for i in range(len(s["id"])):
            row = {**{c: s[c][i] for c in s}, "id": f"{run.area.id}/{s['id'][i]}", "area": run.area.id,
                   "x": float(xy[i, 0]), "y": float(xy[i, 1])}
            for c, v in row.items():
                out.setdefault(c, []).append(v)
    return out
