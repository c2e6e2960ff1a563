"""Where patients go: the flow from first contact to treatment, and the referral network on
the county's map. The dashboard draws the same pictures live."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath

from sim.outputs.area_table import area_name
from sim.outputs.plots.common import (effect_lead, effect_phrase, finish_figure, first_change, new_figure, rose_fell,
                                      with_and_without, wrap_title)
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
    ax.set_title(tr("flow_axes", lang) + f"  ({m.sum():,.0f} {tr('episodes', lang)})", pad=34)
    facts = flow_facts(m)
    p = summary.get("periods")
    effect = with_and_without(run, "flow")
    if effect:
        without, with_ = (flow_facts(flow_matrix(f))["hospital_first"] for f in effect)
        title = effect_lead(run, lang) + effect_phrase(
            ("the share of episodes that began at a hospital", "首诊在医院的比例"), without, with_, lang) + (
            f"；{pct(facts['moved'])} 转往其他层级" if lang == "zh" else f"; {pct(facts['moved'])} moved tier")
    elif p:
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


UP_COLOUR = "#333333"  # upward referrals: dark grey, apart from every tier's colour
KIND_STYLE = {"formal": "solid", "self": (0, (4, 3))}  # a `kind` column may mark self-referrals


def _layout(tables: dict, geo: bool) -> dict:
    """Where things go: the county frame (settlements and in-county facilities), hospitals outside
    it moved to a column on its right (with their distance from the county seat)."""
    fac, sets = tables["facilities"], tables["settlements"]
    fx, fy = np.array(fac["x"], float), np.array(fac["y"], float)
    sx, sy = np.array(sets["x"], float), np.array(sets["y"], float)
    in_county = np.array([v in (True, "True", 1.0) for v in fac["in_county"]])
    px, py = np.r_[sx, fx[in_county]], np.r_[sy, fy[in_county]]
    cx, cy = (px.min() + px.max()) / 2, (py.min() + py.max()) / 2
    # The frame fits the county, not a square: a wide county fills the wide (16:9) axes, but the
    # frame is never flatter than 4:3 nor taller than square on screen.
    stretch = 1 / max(np.cos(np.radians(cy)), 0.1) if geo else 1.0  # screen height per y unit
    hx, hy = (px.max() - px.min()) / 2 * 1.1 or 1.0, (py.max() - py.min()) / 2 * 1.1 or 1.0
    hx = max(hx, hy * stretch)
    hy = float(np.clip(hy, hx * 0.75 / stretch, hx / stretch))
    tiers = list(fac["tier"])
    hospitals = [k for k, t in enumerate(tiers) if t == "county"]
    seat = (fx[hospitals[0]], fy[hospitals[0]]) if hospitals else (cx, cy)

    def km_from_seat(f: int) -> float:
        ex, ey = fx[f] - seat[0], fy[f] - seat[1]
        return float(np.hypot(ex * 111 * np.cos(np.radians(cy)), ey * 111)) if geo else float(np.hypot(ex, ey))

    outside = sorted((f for f in np.flatnonzero(~in_county) if abs(fx[f] - cx) > 0.9 * hx or abs(fy[f] - cy) > 0.9 * hy),
                     key=km_from_seat)
    x, y = fx.copy(), fy.copy()
    column_y = np.linspace(cy + hy * 0.55, cy - hy * 0.55, len(outside)) if len(outside) > 1 else [cy]
    for f, yy in zip(outside, column_y):
        x[f], y[f] = cx + hx * 1.38, yy
    return {"x": x, "y": y, "sx": sx, "sy": sy, "cx": cx, "cy": cy, "hx": hx, "hy": hy, "tiers": tiers,
            "outside": outside, "km": km_from_seat, "separator": cx + hx * 1.08}


def route_hubs(tables: dict) -> dict[str, str]:
    """Each facility's hub for drawing routes: a village clinic's is the nearest township health
    centre (its villages' referrals travel together); every other facility is its own hub."""
    fac = tables["facilities"]
    xy = np.c_[np.array(fac["x"], float), np.array(fac["y"], float)]
    centres = [k for k, t in enumerate(fac["tier"]) if t == "township"]
    hubs = {}
    for k, (fid, tier) in enumerate(zip(fac["id"], fac["tier"])):
        if tier == "village" and centres:
            near = centres[int(np.argmin(((xy[centres] - xy[k]) ** 2).sum(axis=1)))]
            hubs[fid] = fac["id"][near]
        else:
            hubs[fid] = fid
    return hubs


def aggregate_routes(tables: dict) -> dict[tuple[str, str, str, str], float]:
    """Referrals summed by (from hub, to hub, direction, kind); a referral between a village clinic
    and its own township centre is a local one, summed under (hub, hub, direction, kind)."""
    ref, hubs = tables["referrals"], route_hubs(tables)
    n = len(ref.get("count", []))
    kinds = ref.get("kind") or ["formal"] * n
    totals: dict[tuple[str, str, str, str], float] = {}
    for a, b, d, k, c in zip(ref.get("from_id", []), ref.get("to_id", []), ref.get("direction", []), kinds,
                             ref.get("count", [])):
        if float(c) > 0 and a in hubs and b in hubs:
            key = (hubs[a], hubs[b], str(d), str(k) if str(k) in KIND_STYLE else "formal")
            totals[key] = totals.get(key, 0.0) + float(c)
    return totals


def _draw_villages(ax, tables: dict, lay: dict, lang: str) -> None:
    """Villages (grey, sized by residents), each village clinic a green dot on its village, and a
    thin spoke from each clinic to its township centre: the county's grassroots at a glance."""
    fac, sets = tables["facilities"], tables["settlements"]
    pop = np.array(sets["population"], float)
    ax.scatter(lay["sx"], lay["sy"], s=30 + 220 * pop / max(pop.max(), 1), color="#D9D9D9", edgecolor="#8C8C8C",
               linewidth=0.6, zorder=1, label=tr("settlements", lang), gid="settlements")
    index, hubs = {fid: k for k, fid in enumerate(fac["id"])}, route_hubs(tables)
    spokes = [((lay["x"][index[f]], lay["y"][index[f]]), (lay["x"][index[h]], lay["y"][index[h]]))
              for f, h in hubs.items() if f != h and lay["tiers"][index[f]] == "village"]
    if spokes:
        ax.add_collection(LineCollection(spokes, linewidths=0.8, colors=TIER_COLOURS["village"], alpha=0.5,
                                         zorder=1, gid="village-spokes"))


def _draw_routes(ax, tables: dict, lay: dict, fast: bool) -> dict[str, int]:
    """One arrow per aggregated route between hubs, as wide as its referrals: upward dark grey,
    downward purple, self-referrals dashed. Returns the number of routes drawn by direction."""
    index = {fid: k for k, fid in enumerate(tables["facilities"]["id"])}
    routes = {k: c for k, c in aggregate_routes(tables).items() if k[0] != k[1]}
    cmax = max(routes.values(), default=1.0)
    drawn = {"up": 0, "down": 0}
    segments, widths, colours = [], [], []
    for (a, b, direction, kind), c in sorted(routes.items(), key=lambda kv: -kv[1]):
        pa, pb = (lay["x"][index[a]], lay["y"][index[a]]), (lay["x"][index[b]], lay["y"][index[b]])
        colour, width = (UP_COLOUR if direction == "up" else DOWN_COLOUR), 1.0 + 10 * np.sqrt(c / cmax)
        drawn[direction] = drawn.get(direction, 0) + 1
        if fast:  # straight lines in one collection: quick enough to redraw every step
            segments.append((pa, pb))
            widths.append(width)
            colours.append(colour)
            continue
        # The same bend for both directions puts A→B and B→A on opposite sides of the straight line.
        ax.add_patch(FancyArrowPatch(pa, pb, arrowstyle="-|>", mutation_scale=12 + 16 * np.sqrt(c / cmax),
                                     linewidth=width, color=colour, alpha=0.35 + 0.5 * np.sqrt(c / cmax),
                                     linestyle=KIND_STYLE[kind],
                                     connectionstyle="arc3,rad=0.18", zorder=2, shrinkA=6, shrinkB=10,
                                     gid=f"referral-{direction}-{kind}"))
    if segments:
        ax.add_collection(LineCollection(segments, linewidths=widths, colors=colours, alpha=0.7, zorder=2,
                                         gid="referrals"))
    return drawn


def _draw_facilities(ax, tables: dict, lay: dict, lang: str) -> np.ndarray:
    """Facilities in their tier's colour: clinics as small dots on their villages, centres and
    hospitals sized by visits and admissions. Returns the marker areas (points²)."""
    fac, tiers = tables["facilities"], lay["tiers"]
    visits = np.array(fac["visits"], float) + np.array(fac["admissions"], float)
    size = 40 + 900 * visits / max(visits.max(), 1.0)
    hospital = np.array([t in ("county", "tertiary") for t in tiers])
    size[hospital] = np.maximum(size[hospital], 260)  # a hospital stays visible however few go there
    size[np.array([t == "village" for t in tiers])] = 22
    for t in TIERS:
        k = np.array([tier == t for tier in tiers])
        if k.any():
            ax.scatter(lay["x"][k], lay["y"][k], s=size[k], color=TIER_COLOURS[t], edgecolor="black",
                       linewidth=0.5 if t == "village" else 0.9, zorder=3, label=tier_label(t, lang),
                       gid=f"facilities-{t}")
    return size


def named_hospitals(fac: dict[str, list]) -> list[int]:
    """The hospitals named on the map: a county's hospitals and those outside it; on a region's map
    only the city and provincial hospitals its areas share (each area's own would cover the map)."""
    hospitals = [k for k, t in enumerate(fac["tier"]) if t in ("county", "tertiary")]
    areas = fac.get("area") or []
    return [k for k in hospitals if not areas[k]] if any(areas) else hospitals


def facility_name(fac: dict[str, list], f: int, lang: str) -> str:
    """A facility's name in `lang`: a shared hospital's Chinese name in Chinese (a region's
    facilities.csv has `name_zh`), else its name."""
    zh = fac.get("name_zh")
    return zh[f] if lang == "zh" and zh and zh[f] else fac["name"][f]


def _label_hospitals(ax, tables: dict, lay: dict, size: np.ndarray, lang: str, label_size: int) -> None:
    """Hospital names: above in-county hospitals, below the out-of-county column (with distance),
    below a hospital near the map's top edge, and below a hospital standing next to one already
    labelled (a county seat often has two)."""
    fac, hx, hy = tables["facilities"], lay["hx"], lay["hy"]
    labelled: list[tuple[float, float]] = []
    for f in named_hospitals(fac):
        x, y, far = lay["x"][f], lay["y"][f], f in lay["outside"]
        name = wrap_title(facility_name(fac, f, lang), 22 if lang == "zh" else 20)  # 11 Chinese characters a line
        text = name + (f"\n{lay['km'](f):,.0f} {tr('km_away', lang)}" if far else "")
        gap = np.sqrt(size[f]) / 2 + 4  # clear of the marker
        below = (far or y > lay["cy"] + 0.7 * hy  # near the top edge: below, clear of the title
                 or any(abs(x - lx) < 0.25 * hx and abs(y - ly) < 0.15 * hy for lx, ly in labelled))
        labelled.append((x, y))
        ax.annotate(text, (x, y), xytext=(0, -gap if below else gap), textcoords="offset points", ha="center",
                    va="top" if below else "bottom", fontsize=label_size, fontweight="bold", zorder=4,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75})


def _network_legend(ax, tables: dict, drawn: dict[str, int], lang: str, label_size: int, below: bool) -> None:
    """A legend whose line samples are drawn like the arrows: same colours, same dashes."""
    kinds = set(tables["referrals"].get("kind") or ["formal"])
    for direction, colour in (("up", UP_COLOUR), ("down", DOWN_COLOUR)):
        if drawn.get(direction) or not any(drawn.values()):
            ax.plot([], [], color=colour, linewidth=5, alpha=0.75, label=tr(f"referral_{direction}", lang))
    if "self" in kinds:
        ax.plot([], [], color=UP_COLOUR, linewidth=3, linestyle=KIND_STYLE["self"], label=tr("self_referral", lang))
    legend = (ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3, fontsize=label_size,
                        frameon=False) if below else
              ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=label_size + 1, frameon=False))
    for handle in legend.legend_handles:
        if hasattr(handle, "set_sizes"):
            handle.set_sizes([120])


def _route_table(ax, tables: dict, lang: str, label_size: int) -> None:
    """Referrals by tier route (largest first) beside the map: names left-aligned, counts
    right-aligned in a column of their own, so rows line up in any font."""
    totals = referral_routes(tables)[:8]
    if not totals:
        return
    names = "\n".join(f"{tier_label(a, lang, short=True)} → {tier_label(b, lang, short=True)}" for (a, b), _ in totals)
    counts = "\n".join(f"{c:,.0f}" for _, c in totals)
    common = {"transform": ax.transAxes, "va": "top", "fontsize": label_size, "linespacing": 1.35}
    ax.text(1.03, 0.30, tr("referrals_by_route", lang), ha="left", fontweight="bold", **common)
    left = ax.text(1.03, 0.30 - 0.055, names, ha="left", gid="route-names", **common)
    # The counts start just right of the longest name (wherever layout puts it), lines right-aligned.
    ax.annotate(counts, (1.0, 1.0), xycoords=left, xytext=(12, 0), textcoords="offset points", ha="left",
                va="top", multialignment="right", fontsize=label_size, linespacing=1.35, gid="route-counts")


def _network_axes(ax, lay: dict, geo: bool, lang: str) -> None:
    """Limits, aspect and axis labels of the map; the out-of-county column has no coordinates."""
    cx, cy, hx, hy = lay["cx"], lay["cy"], lay["hx"], lay["hy"]
    if lay["outside"]:
        ax.axvline(lay["separator"], color="#777777", linestyle=":", linewidth=1.5)
        ax.text(cx + hx * 1.38, cy + hy * 0.98, tr("out_of_county", lang).capitalize() if lang == "en"
                else tr("out_of_county", lang), ha="center", va="top", fontsize=14, fontstyle="italic")
    ax.set_xlim(cx - hx, cx + hx * (1.7 if lay["outside"] else 1.0))
    ax.set_ylim(cy - hy, cy + hy)
    ax.set_aspect(1 / max(np.cos(np.radians(cy)), 0.1) if geo else "equal")
    ax.set_xlabel(tr("longitude" if geo else "km_east", lang))
    ax.set_ylabel(tr("latitude" if geo else "km_north", lang))
    if lay["outside"]:
        ax.set_xticks([t for t in ax.get_xticks() if cx - hx <= t <= lay["separator"]])


def draw_network(ax, tables: dict[str, dict[str, list]], lang: str = "en", geo: bool = False,
                 routes: bool = True, label_size: int = 13, fast: bool = False,
                 legend_below: bool = False) -> dict[str, int]:
    """Draw the referral network on `ax` from facility, referral and settlement tables (the
    columns of facilities.csv, referrals.csv, settlements.csv): villages and their clinics, one
    arrow per aggregated route between township centres and hospitals (a village clinic's
    referrals travel with its nearest centre), facilities, hospital names and a legend that
    matches the arrows. Returns the number of routes drawn, by direction; `fast` draws plain
    lines (for live views)."""
    ax.grid(False)
    lay = _layout(tables, geo)
    _draw_villages(ax, tables, lay, lang)
    drawn = _draw_routes(ax, tables, lay, fast)
    size = _draw_facilities(ax, tables, lay, lang)
    _label_hospitals(ax, tables, lay, size, lang, label_size)
    _network_legend(ax, tables, drawn, lang, label_size, legend_below)
    if routes:
        _route_table(ax, tables, lang, label_size)
    _network_axes(ax, lay, geo, lang)
    return drawn


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
    ooc = pct(1 - run["summary"]["in_county_share"])
    if received:
        top = max(received, key=received.get)
        title = tr("network_title", lang, name=receiver_name(run, top, lang), n=f"{received[top]:,.0f}", share=ooc)
    else:
        title = tr("network_title_none", lang, share=ooc)
    return finish_figure(fig, run, title, lang)


def receiver_name(run: dict, fid: str, lang: str) -> str:
    """A facility's name for a title; in a region, an area's own facility is named with its area
    (every area has a "County People's Hospital")."""
    fac = run["tables"]["facilities"]
    f = fac["id"].index(fid)
    area = fac["area"][f] if "area" in fac else ""
    info = (run["summary"].get("area_info") or {}).get(area)
    name = facility_name(fac, f, lang)
    if not info:
        return name
    return f"{area_name(area, info, lang)} {name}" if lang == "zh" else f"{name} ({area_name(area, info, lang)})"
