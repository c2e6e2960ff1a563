"""Figures of one run, drawn from its saved results folder.

Each `fig_*` function takes a loaded run (`sim.results.load_run`) and a language and
returns a matplotlib Figure whose title states what the run shows; `draw_run` saves
them all as PNGs. Nothing here runs the model.

    visit_shares  where visits happen, by tier, over time; policy days marked
    flow          first-contact tier -> tier that finally treated (bypassing, referrals)
    network       the referral network on the county map
    fund          insurance fund spending by tier, in / out of county, and the balance
    burden        out-of-pocket spending and care forgone, by income group and severity
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import PercentFormatter

from sim.metrics import OUTCOMES, QUINTILES, group
from sim.plots.style import (AFTER_COLOUR, BEFORE_COLOUR, DOWN_COLOUR, FIGSIZE, TIER_COLOURS, mark_changes,
                             pct, resolve_lang, rolling, tier_label, tier_visits, tr)
from sim.results import load_run
from sim.schema import TIERS


# ------------------------------------------------------------------ run facts

def residents(run: dict) -> int:
    """Residents the run's counts stand for."""
    return int(run["manifest"].get("residents") or run["scenario"]["world"]["population"])


def first_change(run: dict) -> int | None:
    """Day of the first policy change that took effect, or None."""
    changes = run["summary"].get("changes") or []
    return changes[0]["day"] if changes and run["summary"].get("periods") else None


def periods(run: dict) -> list[tuple[str, int, int]]:
    """(key, start, end) spans: before/after the first change, or the whole run."""
    n = len(run["daily"]["day"])
    day = first_change(run)
    if day is None:
        return [("whole_run", 0, n)]
    return [("before", 0, day), ("after", day, n)]


def period_label(key: str, run: dict, lang: str) -> str:
    """'Before day 183' / 'From day 183' / 'Whole run'."""
    return tr(key, lang, day=first_change(run)) if key != "whole_run" else tr(key, lang)


def _new_figure(rows: int = 1, cols: int = 1, **kw) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(rows, cols, figsize=FIGSIZE, layout="constrained", squeeze=False, **kw)
    fig.get_layout_engine().set(rect=(0, 0.035, 1, 0.965), h_pad=0.08, w_pad=0.08)
    return fig, axes


def wrap_title(text: str, width: int = 64) -> str:
    """Break a long title or name into lines of at most `width` columns (a Chinese character takes two)."""
    def cols(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)

    lines, line = [], ""
    # Split after spaces and Chinese punctuation, so both languages wrap at natural points;
    # a run of Chinese without either (a hospital's name) may break between characters.
    tokens = re.findall(r"[^\s；，、。]+[\s；，、。]*|\s+", text)
    tokens = [piece for token in tokens
              for piece in (re.findall(r"[\u3000-\u9fff\uff00-\uffef]|[^\u3000-\u9fff\uff00-\uffef]+", token)
                            if cols(token) > width else [token])]
    for token in tokens:
        if line and cols(line + token.rstrip()) > width:
            lines.append(line.rstrip())
            line = token
        else:
            line += token
    lines.append(line.rstrip())
    return "\n".join(lines)


def _finish(fig: Figure, run: dict, title: str, lang: str = "en") -> Figure:
    """The finding as the title, the run's identity as a footer."""
    fig.suptitle(wrap_title(title), x=0.01, ha="left")
    sc, man = run["scenario"], run["manifest"]
    foot = tr("footer", lang, version=man.get("tierflow_version", ""), name=sc.get("name", ""),
              residents=f"{residents(run):,}", days=len(run["daily"]["day"]), seed=man.get("seed", sc.get("seed", "")))
    fig.text(0.995, 0.006, foot, ha="right", va="bottom", fontsize=11, color="#555555")
    return fig


def _rose_fell(before: float, after: float, lang: str) -> str:
    if lang == "zh":
        return "上升" if after > before else ("下降" if after < before else "持平")
    return "rose" if after > before else ("fell" if after < before else "stayed")


# ------------------------------------------------------------- visit shares

def fig_visit_shares(run: dict, lang: str = "en") -> Figure:
    """Stacked shares of visits by tier (7-day), and the grassroots share with its before/after means."""
    daily, summary = run["daily"], run["summary"]
    days = daily["day"]
    visits = {t: rolling(v) for t, v in tier_visits(daily).items()}
    total = np.maximum(sum(visits.values()), 1e-9)
    shares = {t: visits[t] / total for t in TIERS}
    grass = visits["village"] + visits["township"]
    in_county = np.maximum(grass + visits["county"], 1e-9)

    fig, axes = _new_figure(2, 1, sharex=True, height_ratios=(2.2, 1))
    ax, ax2 = axes[:, 0]
    ax.stackplot(days, *[shares[t] for t in TIERS], colors=[TIER_COLOURS[t] for t in TIERS],
                 labels=[tier_label(t, lang) for t in TIERS], alpha=0.92)
    # Label each band inside the plot, where the eye already is.
    lower = 0.0
    x_label = days[0] + 0.015 * (days[-1] - days[0] + 1)
    all_visits = max(sum(summary["visits_by_tier"].values()), 1)
    for t in TIERS:
        mid = lower + np.median(shares[t]) / 2
        lower += np.median(shares[t])
        if np.median(shares[t]) > 0.035:
            ax.text(x_label, mid, f"{tier_label(t, lang)}  {pct(summary['visits_by_tier'][t] / all_visits, 0)}",
                    va="center", fontsize=15, fontweight="bold", color="black",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.75})
    mark_changes(ax, summary.get("changes", []), lang=lang)
    ax.set_xlim(days[0], days[-1])
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(tr("share_of_visits", lang))
    ax.set_title(tr("visits_by_tier", lang))
    ax.grid(False)

    official = grass / in_county
    ax2.plot(days, official, color=TIER_COLOURS["township"], linewidth=2.5, label=tr("grassroots_in_county", lang))
    raw = tier_visits(daily)
    for key, start, end in periods(run):
        g = raw["village"][start:end].sum() + raw["township"][start:end].sum()
        mean = g / max(g + raw["county"][start:end].sum(), 1e-9)  # as in summary.json
        name = tr("mean", lang) if key == "whole_run" else tr(f"mean_{key}", lang)
        ax2.hlines(mean, days[start], days[end - 1], colors="black", linewidth=3, gid=f"mean-{key}")
        ax2.annotate(f"{name} {pct(mean)}", (days[start] + (days[end - 1] - days[start]) / 2, mean),
                     xytext=(0, 10), textcoords="offset points", ha="center", fontsize=15, fontweight="bold",
                     bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})
    mark_changes(ax2, summary.get("changes", []), label=False, lang=lang)
    lo, hi = np.percentile(official[min(7, len(official) - 1):], [1, 99]) if len(official) > 7 else (0, 1)
    pad = max(0.02, (hi - lo) * 0.3)
    ax2.set_ylim(max(lo - pad, 0), min(hi + pad, 1))
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax2.set_xlabel(tr("day", lang))
    ax2.set_title(tr("grassroots_in_county", lang))

    name = run["scenario"].get("name", "")
    p = summary.get("periods")
    if p:
        b, a, day = p["before"]["grassroots_share"], p["after"]["grassroots_share"], first_change(run)
        if lang == "zh":
            title = f"第{day}天后，县域内基层诊疗人次占比由 {pct(b)} {_rose_fell(b, a, lang)}至 {pct(a)}"
        else:
            title = (f"Grassroots share of in-county visits {_rose_fell(b, a, lang)} from {pct(b)} to {pct(a)} "
                     f"after day {day}")
    else:
        s = summary["grassroots_share"]
        title = (f"{name}：县域内基层诊疗人次占比 {pct(s)}" if lang == "zh"
                 else f"{name}: {pct(s)} of in-county visits are at the grassroots")
    return _finish(fig, run, title, lang)


# ---------------------------------------------------------------------- flow

def flow_matrix(flow: dict) -> np.ndarray:
    """The summary's flow mapping as a (first contact x finally treated) array, in tier order."""
    return np.array([[float(flow[a][b]) for b in TIERS] for a in TIERS])


def _ribbon(ax, x0: float, x1: float, y0: tuple[float, float], y1: tuple[float, float], colour: str,
            alpha: float = 0.55) -> PathPatch:
    """A band from (x0, y0[0]..y0[1]) to (x1, y1[0]..y1[1]) with smooth S-shaped edges."""
    mid = (x0 + x1) / 2
    verts = [(x0, y0[0]), (mid, y0[0]), (mid, y1[0]), (x1, y1[0]), (x1, y1[1]), (mid, y1[1]), (mid, y0[1]),
             (x0, y0[1]), (x0, y0[0])]
    codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.LINETO, MplPath.CURVE4,
             MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
    patch = PathPatch(MplPath(verts, codes), facecolor=colour, edgecolor="none", alpha=alpha)
    ax.add_patch(patch)
    return patch


def draw_flow(ax, m: np.ndarray, lang: str = "en") -> dict:
    """Draw a Sankey diagram of matrix `m` (first contact x finally treated) on `ax`.

    Nodes are stacked top (village) to bottom (tertiary); ribbons take their source tier's
    colour. Returns the drawn patches for inspection: {'nodes': {...}, 'ribbons': {...}}.
    """
    total = max(m.sum(), 1e-9)
    gap = 0.035
    scale = (1 - gap * (len(TIERS) - 1)) / total
    x_left, x_right, w = 0.0, 1.0, 0.05
    out: dict = {"nodes": {}, "ribbons": {}}

    def stack(sizes: np.ndarray) -> list[float]:
        tops, y = [], 1.0
        for s in sizes:
            tops.append(y)
            y -= s * scale + gap
        return tops

    left_tops, right_tops = stack(m.sum(axis=1)), stack(m.sum(axis=0))
    src_off = list(left_tops)
    dst_off = list(right_tops)
    for i, a in enumerate(TIERS):
        for j, _ in enumerate(TIERS):
            h = m[i, j] * scale
            if h <= 0:
                continue
            y0 = (src_off[i] - h, src_off[i])
            y1 = (dst_off[j] - h, dst_off[j])
            src_off[i] -= h
            dst_off[j] -= h
            out["ribbons"][(a, TIERS[j])] = _ribbon(ax, x_left + w, x_right - w, y0, y1, TIER_COLOURS[a],
                                                     alpha=0.45 if i == j else 0.85)
    for side, tops, sizes, x, ha, tx in (("first", left_tops, m.sum(axis=1), x_left, "right", x_left - 0.012),
                                         ("final", right_tops, m.sum(axis=0), x_right - w, "left", x_right + 0.012)):
        for k, t in enumerate(TIERS):
            h = sizes[k] * scale
            rect = Rectangle((x, tops[k] - h), w, h, facecolor=TIER_COLOURS[t], edgecolor="black", linewidth=0.8)
            ax.add_patch(rect)
            out["nodes"][(side, t)] = rect
            ax.text(tx, tops[k] - h / 2, f"{tier_label(t, lang, short=True)}\n{sizes[k] / total:.1%}",
                    ha=ha, va="center", fontsize=15, fontweight="bold")
    # Name the largest moves between tiers: what bypassing and referral look like.
    moves = sorted(((m[i, j], i, j) for i in range(4) for j in range(4) if i != j and m[i, j] > 0), reverse=True)
    for value, i, j in moves[:3]:
        ribbon = out["ribbons"][(TIERS[i], TIERS[j])]
        verts = ribbon.get_path().vertices
        y = (verts[0, 1] + verts[7, 1] + verts[3, 1] + verts[4, 1]) / 4
        arrow = "→"
        ax.text(0.5, y, f"{tier_label(TIERS[i], lang, short=True)} {arrow} {tier_label(TIERS[j], lang, short=True)}: "
                f"{value:,.0f} ({value / total:.1%})", ha="center", va="center", fontsize=13,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": TIER_COLOURS[TIERS[i]], "alpha": 0.9})
    ax.set_xlim(-0.2, 1.2)
    ax.set_ylim(min(min(left_tops), min(right_tops)) - 0.05 - m.sum(axis=1)[-1] * scale, 1.06)
    ax.text(x_left + w / 2, 1.02, tr("first_contact", lang), ha="center", va="bottom", fontsize=16, fontweight="bold")
    ax.text(x_right - w / 2, 1.02, tr("treated_at", lang), ha="center", va="bottom", fontsize=16, fontweight="bold")
    ax.set_axis_off()
    return out


def flow_facts(m: np.ndarray) -> dict:
    """Shares read off a flow matrix: first contact at a hospital (bypassing), moved to another tier."""
    total = max(m.sum(), 1e-9)
    return {"hospital_first": m[2:].sum() / total, "moved": (m.sum() - np.trace(m)) / total,
            "tertiary_first": m[3].sum() / total, "total": m.sum()}


def fig_flow(run: dict, lang: str = "en") -> Figure:
    """Sankey-style flow from the tier of first contact to the tier that finally treated."""
    summary = run["summary"]
    m = flow_matrix(summary["flow"])
    fig, axes = _new_figure()
    ax = axes[0, 0]
    fig.flow_patches = draw_flow(ax, m, lang)  # kept for tests and callers that inspect the drawing
    ax.set_title(tr("flow_axes", lang) + f"  ({m.sum():,.0f} {tr('episodes', lang)})")
    facts = flow_facts(m)
    p = summary.get("periods")
    if p:
        b = flow_facts(flow_matrix(p["before"]["flow"]))["hospital_first"]
        a = flow_facts(flow_matrix(p["after"]["flow"]))["hospital_first"]
        day = first_change(run)
        title = (f"第{day}天后，首诊在医院的比例由 {pct(b)} {_rose_fell(b, a, lang)}至 {pct(a)}；"
                 f"{pct(facts['moved'])} 转往其他层级" if lang == "zh" else
                 f"Episodes that began at a hospital {_rose_fell(b, a, lang)} from {pct(b)} to {pct(a)} "
                 f"after day {day}; "
                 f"{pct(facts['moved'])} moved tier")
    else:
        title = (f"{pct(facts['hospital_first'])} 的就诊首诊在医院（绕过基层）；{pct(facts['moved'])} 转往其他层级"
                 if lang == "zh" else
                 f"{pct(facts['hospital_first'])} of episodes began at a hospital, bypassing the grassroots; "
                 f"{pct(facts['moved'])} moved tier")
    return _finish(fig, run, title, lang)


# ------------------------------------------------------------------- network

def is_geographic(run: dict, x: np.ndarray, y: np.ndarray) -> bool:
    """True when positions are longitude/latitude (a county loaded from CSV files), not km on a plane.

    The run's manifest says which (`coordinates`); older runs are judged by their values."""
    kind = run.get("manifest", {}).get("coordinates")
    if kind is not None:
        return kind == "lonlat"
    files = (run["scenario"].get("world") or {}).get("files")
    return bool(files) and bool(np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90))


def referral_routes(tables: dict) -> list[tuple[tuple[str, str], float]]:
    """Referrals summed by (from tier, to tier), largest first."""
    fac, ref = tables["facilities"], tables["referrals"]
    tier_of = dict(zip(fac["id"], fac["tier"]))
    totals: dict[tuple[str, str], float] = {}
    for a, b, c in zip(ref.get("from_id", []), ref.get("to_id", []), ref.get("count", [])):
        key = (tier_of.get(a, "?"), tier_of.get(b, "?"))
        totals[key] = totals.get(key, 0.0) + float(c)
    return sorted(totals.items(), key=lambda kv: -kv[1])


def draw_network(ax, tables: dict[str, dict[str, list]], lang: str = "en", geo: bool = False,
                 routes: bool = True, label_size: int = 13, fast: bool = False,
                 legend_below: bool = False) -> dict[str, int]:
    """Draw the referral network on `ax` from facility, referral and settlement tables
    (the columns of facilities.csv, referrals.csv, settlements.csv). Returns the number of
    referral arrows drawn, by direction; `fast` draws plain lines (for live views)."""
    fac, ref, sets = tables["facilities"], tables["referrals"], tables["settlements"]
    fx, fy = np.array(fac["x"], float), np.array(fac["y"], float)
    sx, sy = np.array(sets["x"], float), np.array(sets["y"], float)
    visits = np.array(fac["visits"], float) + np.array(fac["admissions"], float)
    tiers = list(fac["tier"])
    in_county = np.array([v in (True, "True", 1.0) for v in fac["in_county"]])
    ax.grid(False)
    # The map frame is the county (settlements and in-county facilities). Hospitals outside
    # it are drawn in a column on its right with their distance, so the county stays readable.
    px, py = np.r_[sx, fx[in_county]], np.r_[sy, fy[in_county]]
    cx, cy = (px.min() + px.max()) / 2, (py.min() + py.max()) / 2
    half = max(px.max() - px.min(), py.max() - py.min()) / 2 * 1.1 or 1.0
    separator = cx + half * 1.08
    hospitals = [k for k, t in enumerate(tiers) if t == "county"]
    seat = (fx[hospitals[0]], fy[hospitals[0]]) if hospitals else (cx, cy)

    def km_from_seat(f: int) -> float:
        ex, ey = fx[f] - seat[0], fy[f] - seat[1]
        return float(np.hypot(ex * 111 * np.cos(np.radians(cy)), ey * 111)) if geo else float(np.hypot(ex, ey))

    outside = [f for f in np.flatnonzero(~in_county)
               if abs(fx[f] - cx) > half or abs(fy[f] - cy) > half]
    outside.sort(key=km_from_seat)
    draw_x, draw_y = fx.copy(), fy.copy()
    column_y = np.linspace(cy + half * 0.55, cy - half * 0.55, len(outside)) if len(outside) > 1 else [cy]
    for f, y in zip(outside, column_y):
        draw_x[f], draw_y[f] = cx + half * 1.38, y
    pos = {fid: (draw_x[k], draw_y[k]) for k, fid in enumerate(fac["id"])}
    if outside:
        ax.axvline(separator, color="#777777", linestyle=":", linewidth=1.5)
        ax.text(cx + half * 1.38, cy + half * 0.98, tr("out_of_county", lang).capitalize() if lang == "en"
                else tr("out_of_county", lang), ha="center", va="top", fontsize=14, fontstyle="italic")

    pop = np.array(sets["population"], float)
    ax.scatter(sx, sy, s=12 + 120 * pop / max(pop.max(), 1), color="#BBBBBB", edgecolor="none", zorder=1,
               label=tr("settlements", lang))

    counts = np.array(ref["count"], float) if ref.get("count") else np.zeros(0)
    cmax = max(counts.max(), 1.0) if len(counts) else 1.0
    lines = {"up": 0, "down": 0}
    index = {fid: k for k, fid in enumerate(fac["id"])}
    segments, widths, colours = [], [], []
    for a, b, direction, c in zip(ref.get("from_id", []), ref.get("to_id", []), ref.get("direction", []), counts):
        if c <= 0 or a not in pos or b not in pos:
            continue
        up = direction == "up"
        colour = TIER_COLOURS[tiers[index[a]]] if up else DOWN_COLOUR
        width = 0.6 + 9 * np.sqrt(c / cmax)
        lines[direction] += 1
        if fast:  # straight lines in one collection: quick enough to redraw every step
            segments.append((pos[a], pos[b]))
            widths.append(width)
            colours.append(colour)
            continue
        ax.add_patch(FancyArrowPatch(pos[a], pos[b], arrowstyle="-|>", mutation_scale=10 + 14 * np.sqrt(c / cmax),
                                     linewidth=width, color=colour, alpha=0.7,
                                     connectionstyle="arc3,rad=0.0" if up else "arc3,rad=0.25", zorder=2,
                                     shrinkA=4, shrinkB=8, gid=f"referral-{direction}"))
    if segments:
        ax.add_collection(LineCollection(segments, linewidths=widths, colors=colours, alpha=0.7, zorder=2,
                                         gid="referrals"))
    vmax = max(visits.max(), 1.0)
    size = 20 + 2500 * visits / vmax  # marker area in points²
    hospital = np.array([t in ("county", "tertiary") for t in tiers])
    size[hospital] = np.maximum(size[hospital], 220)  # a hospital stays visible however few go there
    for t in TIERS:
        k = np.array([tier == t for tier in tiers])
        if k.any():
            ax.scatter(draw_x[k], draw_y[k], s=size[k], color=TIER_COLOURS[t], edgecolor="black", linewidth=0.8,
                       zorder=3, label=tier_label(t, lang), gid=f"facilities-{t}")
    labelled: list[tuple[float, float]] = []
    for f in np.flatnonzero(hospital):
        far = f in outside
        text = wrap_title(fac["name"][f], 20) + (f"\n{km_from_seat(f):,.0f} {tr('km_away', lang)}" if far else "")
        gap = np.sqrt(size[f]) / 2 + 4  # clear of the marker
        # Labels go above in-county hospitals, below the out-of-county column, and below a
        # hospital standing next to one already labelled (a county seat often has two).
        crowded = any(abs(draw_x[f] - x) < 0.25 * half and abs(draw_y[f] - y) < 0.15 * half for x, y in labelled)
        below = far or crowded
        labelled.append((draw_x[f], draw_y[f]))
        ax.annotate(text, (draw_x[f], draw_y[f]), xytext=(0, -gap if below else gap), textcoords="offset points",
                    ha="center", va="top" if below else "bottom", fontsize=label_size, fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.6},
                    zorder=4)  # see-through, so a centre behind a label still shows
    # Proxy artists so the legend explains line colours.
    ax.plot([], [], color="#444444", linewidth=4, label=tr("referral_up", lang))
    ax.plot([], [], color=DOWN_COLOUR, linewidth=4, label=tr("referral_down", lang))
    legend = (ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3, fontsize=label_size, frameon=False)
              if legend_below else
              ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=label_size + 1, frameon=False))
    for handle in legend.legend_handles:
        if hasattr(handle, "set_sizes"):
            handle.set_sizes([120])
    route_totals = referral_routes(tables)
    if routes and route_totals:
        names = [f"{tier_label(a, lang, short=True)} → {tier_label(b, lang, short=True)}"
                 for (a, b), _ in route_totals[:8]]
        pad = max(len(n) for n in names)
        body = "\n".join(f"{n.ljust(pad)} {c:>8,.0f}" for n, (_, c) in zip(names, route_totals))
        ax.text(1.03, 0.34, f"{tr('referrals_by_route', lang)}\n{body}", transform=ax.transAxes, va="top",
                ha="left", fontsize=label_size, family="monospace" if lang == "en" else None, linespacing=1.4)
    right = cx + half * (1.7 if outside else 1.0)
    ax.set_xlim(cx - half, right)
    ax.set_ylim(cy - half, cy + half)
    if geo:
        ax.set_aspect(1 / max(np.cos(np.radians(cy)), 0.1))
        ax.set_xlabel(tr("longitude", lang))
        ax.set_ylabel(tr("latitude", lang))
    else:
        ax.set_aspect("equal")
        ax.set_xlabel(tr("km_east", lang))
        ax.set_ylabel(tr("km_north", lang))
    if outside:  # no map coordinates on the out-of-county column
        ax.set_xticks([t for t in ax.get_xticks() if cx - half <= t <= separator])
    return lines


def fig_network(run: dict, lang: str = "en") -> Figure:
    """The referral network on the county map: facilities sized by visits, lines by referrals."""
    tables = run["tables"]
    fac, ref, sets = tables["facilities"], tables["referrals"], tables["settlements"]
    geo = is_geographic(run, np.r_[fac["x"], sets["x"]], np.r_[fac["y"], sets["y"]])
    fig, axes = _new_figure()
    ax = axes[0, 0]
    fig.referral_lines = draw_network(ax, tables, lang, geo)  # counts of drawn arrows, for tests
    ax.set_title(tr("network_axes", lang), fontsize=16)
    counts = np.array(ref["count"], float) if ref.get("count") else np.zeros(0)
    received: dict[str, float] = {}
    for b, c in zip(ref.get("to_id", []), counts):
        received[b] = received.get(b, 0.0) + c
    ooc = 1 - run["summary"]["in_county_share"]
    if received:
        top = max(received, key=received.get)
        name = fac["name"][fac["id"].index(top)]
        title = (f"{name} 接收转诊最多（{received[top]:,.0f} 人次）；{pct(ooc)} 的就诊在县外"
                 if lang == "zh" else
                 f"{name} receives the most referrals ({received[top]:,.0f}); {pct(ooc)} of visits leave the county")
    else:
        title = (f"无转诊；{pct(ooc)} 的就诊在县外" if lang == "zh"
                 else f"No referrals; {pct(ooc)} of visits leave the county")
    return _finish(fig, run, title, lang)


# ---------------------------------------------------------------------- fund

def bins(n_days: int) -> int:
    """Days per bar: about a month for runs of two months or more, a week otherwise."""
    return 30 if n_days >= 60 else 7


def binned(x: np.ndarray, width: int) -> np.ndarray:
    """Sums over consecutive bins of `width` days (the last may be shorter)."""
    n = len(x)
    return np.add.reduceat(np.asarray(x, float), np.arange(0, n, width)) if n else np.zeros(0)


def fund_by_tier_daily(daily: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Daily pooled-fund reimbursement by tier (both settings and schemes)."""
    return {t: sum(daily[f"reimbursed_{s}_{t}_{sc}"] for s in ("outpatient", "inpatient")
                   for sc in ("resident", "employee")) for t in TIERS}


def fig_fund(run: dict, lang: str = "en") -> Figure:
    """Fund spending by tier per month (out-of-county hatched), premiums, and the running balance."""
    daily, summary = run["daily"], run["summary"]
    days = daily["day"]
    width = bins(len(days))
    by_tier = fund_by_tier_daily(daily)
    starts = days[::width]
    widths = np.diff(np.r_[starts, days[-1] + 1])
    per_bin = width / widths  # a short last bin is shown at the same rate, not as a small bar
    fig, axes = _new_figure(2, 1, sharex=True, height_ratios=(1.6, 1))
    ax, ax2 = axes[:, 0]
    bottom = np.zeros(len(starts))
    for t in TIERS:
        values = binned(by_tier[t], width) * per_bin / 1e6
        label = tier_label(t, lang)
        ax.bar(starts, values, width=widths * 0.92, bottom=bottom, align="edge", color=TIER_COLOURS[t],
               hatch="//" if t == "tertiary" else None, edgecolor="white" if t != "tertiary" else "black",
               linewidth=0.5, label=label, gid=f"fund-{t}")
        bottom += values
    settle = binned(daily["settlement"], width) * per_bin / 1e6
    if np.any(settle != 0):
        ax.bar(starts, settle, width=widths * 0.92, bottom=np.where(settle > 0, bottom, 0), align="edge",
               color="#666666", label=tr("settlement", lang), gid="fund-settlement")
    prem = binned(daily["premiums"], width) * per_bin / 1e6
    ax.step(np.r_[starts, days[-1] + 1], np.r_[prem, prem[-1]], where="post", color="black", linewidth=2.5,
            label=tr("premiums", lang))
    mark_changes(ax, summary.get("changes", []), lang=lang)
    ax.set_ylabel(tr("yuan_m_per", lang, n=width))
    ax.set_title(tr("fund_axes", lang))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=13)

    spending = sum(by_tier.values()) + daily["settlement"]
    balance = np.cumsum(daily["premiums"] - spending) / 1e6
    ax2.plot(days, balance, color=AFTER_COLOUR, linewidth=3, label=tr("balance", lang))
    ax2.fill_between(days, balance, 0, where=balance < 0, color="#D55E00", alpha=0.25, interpolate=True)
    ax2.fill_between(days, balance, 0, where=balance >= 0, color="#009E73", alpha=0.25, interpolate=True)
    ax2.axhline(0, color="black", linewidth=1)
    mark_changes(ax2, summary.get("changes", []), label=False, lang=lang)
    ax2.annotate(f"{balance[-1]:+,.2f} M", (days[-1], balance[-1]), xytext=(6, 0), textcoords="offset points",
                 va="center", fontsize=15, fontweight="bold")
    ax2.set_ylabel(tr("yuan_m", lang))
    ax2.set_xlabel(tr("day", lang))
    ax2.set_title(tr("balance_axes", lang))
    ax2.set_xlim(days[0], days[-1] + 1)

    p = summary.get("periods")
    if p:
        b, a, day = p["before"]["out_of_county_fund_share"], p["after"]["out_of_county_fund_share"], first_change(run)
        title = (f"第{day}天后，县外医院占基金支出由 {pct(b)} {_rose_fell(b, a, lang)}至 {pct(a)}；"
                 f"结余 {balance[-1]:+,.2f}百万元" if lang == "zh" else
                 f"Out-of-county share of fund spending {_rose_fell(b, a, lang)} from {pct(b)} to {pct(a)} "
                 f"after day {day}; "
                 f"balance {balance[-1]:+,.2f} M yuan")
    else:
        s = summary["out_of_county_fund_share"]
        title = (f"县外医院占基金支出 {pct(s)}；期末结余 {balance[-1]:+,.2f}百万元" if lang == "zh" else
                 f"Out-of-county hospitals took {pct(s)} of fund spending; balance {balance[-1]:+,.2f} M yuan")
    return _finish(fig, run, title, lang)


# -------------------------------------------------------------------- burden

def burden_table(run: dict) -> dict[str, dict[str, np.ndarray]]:
    """Per period: out-of-pocket (yuan per resident-year) and care forgone (per 1,000 resident-years)
    by income fifth, and by severity (forgone split into not sought / gave up waiting)."""
    daily = run["daily"]
    n = residents(run)
    out = {}
    for key, start, end in periods(run):
        year = 365.0 / max(end - start, 1)
        per_fifth = n / len(QUINTILES)
        out[key] = {
            "oop_quintile": group(daily, "oop_quintile", start, end) / per_fifth * year,
            "forgone_quintile": group(daily, "forgone_quintile", start, end) / per_fifth * year * 1000,
            "oop_severity": group(daily, "oop_severity", start, end) / n * year,
            "not_sought": group(daily, "forgone", start, end) / n * year * 1000,
            "gave_up": group(daily, "reneged", start, end) / n * year * 1000,
        }
    return out


def fig_burden(run: dict, lang: str = "en") -> Figure:
    """Who bears the cost: out-of-pocket and care forgone by income fifth and by severity."""
    table = burden_table(run)
    spans = list(table)
    colours = [BEFORE_COLOUR, AFTER_COLOUR] if len(spans) == 2 else [AFTER_COLOUR]
    fig, axes = _new_figure(2, 2)
    panels = (
        (axes[0, 0], "oop_quintile", QUINTILES, "oop_quintile_axes", "yuan_per_person", "{:,.0f}"),
        (axes[0, 1], "forgone_quintile", QUINTILES, "forgone_quintile_axes", "per_1000", "{:,.0f}"),
        (axes[1, 0], "oop_severity", OUTCOMES, "oop_severity_axes", "yuan_per_person", "{:,.0f}"),
        (axes[1, 1], "forgone_severity", OUTCOMES, "forgone_severity_axes", "per_1000", "{:,.0f}"),
    )
    for ax, key, cats, title_key, unit_key, fmt in panels:
        x = np.arange(len(cats))
        w = 0.8 / len(spans)
        for k, span in enumerate(spans):
            offset = (k - (len(spans) - 1) / 2) * w
            label = period_label(span, run, lang)
            if key == "forgone_severity":
                ns, gu = table[span]["not_sought"], table[span]["gave_up"]
                ax.bar(x + offset, ns, w * 0.95, color=colours[k], label=label, gid=f"{key}-{span}")
                ax.bar(x + offset, gu, w * 0.95, bottom=ns, color=colours[k], hatch="xx", edgecolor="white",
                       linewidth=0, gid=f"{key}-{span}-gave-up")
                values = ns + gu
            else:
                values = table[span][key]
                ax.bar(x + offset, values, w * 0.95, color=colours[k], label=label, gid=f"{key}-{span}")
            if len(cats) <= 5:
                for xi, v in zip(x + offset, values):
                    ax.annotate(fmt.format(v), (xi, v), xytext=(0, 3), textcoords="offset points", ha="center",
                                fontsize=11 if len(spans) == 2 else 13)
        ax.set_xticks(x, [tr(c, lang) for c in cats], fontsize=13 if len(cats) > 5 else 14)
        ax.set_title(tr(title_key, lang), fontsize=17)
        ax.set_ylabel(tr(unit_key, lang), fontsize=14)
        ax.margins(y=0.22)
    axes[0, 0].set_xlabel(tr("income_group", lang), fontsize=14)
    axes[0, 1].set_xlabel(tr("income_group", lang), fontsize=14)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    gave_up = Rectangle((0, 0), 1, 1, facecolor="#BBBBBB", hatch="xx", edgecolor="white")
    axes[1, 1].legend([Rectangle((0, 0), 1, 1, facecolor="#BBBBBB"), gave_up],
                      [tr("not_sought", lang), tr("gave_up", lang)], loc="upper right", fontsize=13)
    if len(spans) == 2:
        axes[0, 1].legend(handles, labels, loc="best", fontsize=14)

    last = table[spans[-1]]
    poor_oop, rich_oop = last["oop_quintile"][0], last["oop_quintile"][-1]
    poor_f, rich_f = last["forgone_quintile"][0], last["forgone_quintile"][-1]
    if len(spans) == 2:
        first = table[spans[0]]
        day = first_change(run)
        b_oop, b_f = first["oop_quintile"][0], first["forgone_quintile"][0]
        title = (f"第{day}天后，最低收入组人均自付 {b_oop:,.0f} → {poor_oop:,.0f} 元/年，"
                 f"每千人未就医 {b_f:,.0f} → {poor_f:,.0f}" if lang == "zh" else
                 f"After day {day} the poorest fifth paid {b_oop:,.0f} → {poor_oop:,.0f} yuan a year and forwent "
                 f"{b_f:,.0f} → {poor_f:,.0f} episodes per 1,000")
    else:
        ratio = poor_f / rich_f if rich_f > 0 else float("inf")
        title = (f"最低收入组未就医是最高收入组的 {ratio:.1f} 倍；人均自付 {poor_oop:,.0f} 元 vs {rich_oop:,.0f} 元"
                 if lang == "zh" else
                 f"The poorest fifth forgo {ratio:.1f}× the care of the richest, paying {poor_oop:,.0f} vs "
                 f"{rich_oop:,.0f} yuan a year out of pocket")
    return _finish(fig, run, title, lang)


# --------------------------------------------------------------------- all

FIGURES: dict[str, Callable[[dict, str], Figure]] = {
    "visit_shares": fig_visit_shares,
    "flow": fig_flow,
    "network": fig_network,
    "fund": fig_fund,
    "burden": fig_burden,
}


def png_bytes(fig: Figure, palette: bool = True) -> bytes:
    """A figure as PNG bytes; `palette` stores 256 colours (a third of the size, no visible loss
    on flat-colour charts) for reports and committed images. Closes the figure."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    if not palette:
        return buf.getvalue()
    out = io.BytesIO()
    Image.open(buf).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, "PNG",
                                                                                                optimize=True)
    return out.getvalue()


def build_figures(run: dict, lang: str = "en", names: list[str] | None = None) -> dict[str, Figure]:
    """Every run figure (or those named) as open Figures; the caller closes them."""
    lang, style = resolve_lang(lang)
    out = {}
    with plt.rc_context(style):
        for name in names or FIGURES:
            out[name] = FIGURES[name](run, lang)
    return out


def draw_run(folder: Path, lang: str = "en") -> list[Path]:
    """Draw every run figure from a run folder's saved files into folder/figures/; return the paths."""
    folder = Path(folder)
    run = load_run(folder)
    out = folder / "figures"
    out.mkdir(exist_ok=True)
    lang, style = resolve_lang(lang)
    paths = []
    with plt.rc_context(style):
        for name, fn in FIGURES.items():
            fig = fn(run, lang)
            path = out / f"{name}.png"
            fig.savefig(path)
            plt.close(fig)
            paths.append(path)
    return paths
