"""Where patients go: the flow from first contact to treatment, and the referral network on
the county's map. The dashboard draws the same pictures live."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from sim.outputs.plots.common import finish_figure, first_change, new_figure, rose_fell, wrap_title
from sim.outputs.plots.style import DOWN_COLOUR, TIER_COLOURS, pct, tier_label, tr
from sim.scenario.schema import TIERS

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
    fig, axes = new_figure()
    ax = axes[0, 0]
    fig.flow_patches = draw_flow(ax, m, lang)  # kept for tests and callers that inspect the drawing
    ax.set_title(tr("flow_axes", lang) + f"  ({m.sum():,.0f} {tr('episodes', lang)})")
    facts = flow_facts(m)
    p = summary.get("periods")
    if p:
        b = flow_facts(flow_matrix(p["before"]["flow"]))["hospital_first"]
        a = flow_facts(flow_matrix(p["after"]["flow"]))["hospital_first"]
        day = first_change(run)
        title = (f"第{day}天后，首诊在医院的比例由 {pct(b)} {rose_fell(b, a, lang)}至 {pct(a)}；"
                 f"{pct(facts['moved'])} 转往其他层级" if lang == "zh" else
                 f"Episodes that began at a hospital {rose_fell(b, a, lang)} from {pct(b)} to {pct(a)} "
                 f"after day {day}; "
                 f"{pct(facts['moved'])} moved tier")
    else:
        title = (f"{pct(facts['hospital_first'])} 的就诊首诊在医院（绕过基层）；{pct(facts['moved'])} 转往其他层级"
                 if lang == "zh" else
                 f"{pct(facts['hospital_first'])} of episodes began at a hospital, bypassing the grassroots; "
                 f"{pct(facts['moved'])} moved tier")
    return finish_figure(fig, run, title, lang)


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
    fig, axes = new_figure()
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
    return finish_figure(fig, run, title, lang)
