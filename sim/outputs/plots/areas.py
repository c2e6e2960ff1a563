"""A region's areas side by side in one figure: the official grassroots share on a map, and in bars.

Left, a map: each area where its residents live (the resident-weighted centre of its settlements),
a square for an urban district and a circle for a county, sized by residents and coloured by the
grassroots share of in-area visits (区域内基层诊疗人次占比), with a colour bar; the shared city and
provincial hospitals as black crosses. With the areas' boundaries (`shapes`, read from a GeoJSON
file by `sim.outputs.boundaries`) the map is a choropleth of the real polygons instead. Right,
bars of the same share by area (urban and rural in two colours; with a policy change, each bar
says the policy's effect). Drawn only for a region run (its summary has `areas`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator, PercentFormatter

from sim.engine.indicators import in_lang
from sim.engine.metrics import format_effect
from sim.outputs.area_table import area_name as name_of
from sim.outputs.area_table import is_region
from sim.outputs.plots.common import effect_lead, finish_figure, new_figure
from sim.outputs.plots.style import OKABE_ITO, pct

KEY = "grassroots_share"
CMAP = "viridis"  # sequential and colour-blind safe
KIND_COLOURS = {"urban": OKABE_ITO["blue"], "rural": OKABE_ITO["orange"]}
KIND_MARKERS = {"urban": "s", "rural": "o"}
WORDS = {
    "share": ("Grassroots share of in-area visits", "区域内基层诊疗人次占比"),
    "map": ("Where the areas are (size: residents)", "各区县位置（大小：常住人口）"),
    "map_shapes": ("The areas' boundaries", "各区县边界"),
    "bars": ("By area", "各区县"),
    "bars_effect": ("By area (policy effect)", "各区县（政策效应）"),
    "urban": ("Urban district", "市辖区"), "rural": ("County", "县（市）"),
    "hospitals": ("Shared city / provincial hospitals", "市级、省级医院（共用）"),
    "beyond": ("+{n} shared hospital(s) beyond the map", "另有{n}家共用医院在图外"),
    "region": ("region {v}", "全区域 {v}"),
    "more": ("… {n} more …", "…… 另{n}个 ……"),
    "km_east": ("km east", "以东（公里）"), "km_north": ("km north", "以北（公里）"),
    "longitude": ("Longitude (°E)", "经度（°E）"), "latitude": ("Latitude (°N)", "纬度（°N）"),
}


class AreaShape(NamedTuple):
    """An area's boundary: polygons as (exterior ring, [hole rings]) of (x, y) arrays, and a point
    inside it for its label."""

    polygons: list[tuple[np.ndarray, list[np.ndarray]]]
    label: tuple[float, float]


def w(key: str, lang: str, **fmt) -> str:
    """A word of this figure in `lang`."""
    return in_lang(WORDS[key], lang, **fmt)


def is_region_run(run: dict) -> bool:
    """True for a saved region run (its summary has `areas`)."""
    return is_region(run["summary"])


def area_name(area_id: str, run: dict, lang: str) -> str:
    """An area's name in `lang` (its Chinese name when it has one)."""
    return name_of(area_id, (run["summary"].get("area_info") or {}).get(area_id, {}), lang)


def short_name(area_id: str, run: dict, lang: str) -> str:
    """The name on the map and the bars: in English without "District", "County" or "City" (the
    marker's shape and the bar's colour say which), so that neighbours' labels fit."""
    name = area_name(area_id, run, lang)
    return name if lang == "zh" else re.sub(r"\s+(District|County|City)$", "", name) or name


def area_positions(run: dict) -> dict[str, tuple[float, float]]:
    """Each area's position: the resident-weighted centre of its settlements (else of its facilities)."""
    tables = run.get("tables") or {}
    out: dict[str, tuple[float, float]] = {}
    for name, weight in (("settlements", "population"), ("facilities", None)):
        t = tables.get(name) or {}
        if not t.get("area"):
            continue
        area = np.array([str(a) for a in t["area"]])
        x, y = np.asarray(t["x"], float), np.asarray(t["y"], float)
        wt = np.asarray(t[weight], float) if weight and weight in t else np.ones(len(x))
        for aid in run["summary"]["areas"]:
            mine = area == aid
            if aid not in out and mine.any() and wt[mine].sum() > 0:
                out[aid] = (float(np.average(x[mine], weights=wt[mine])), float(np.average(y[mine], weights=wt[mine])))
    return out


def kind_share(run: dict, kind: str) -> float | None:
    """The grassroots share of in-area visits of all areas of a kind together (None if there are none)."""
    info = run["summary"].get("area_info") or {}
    grass = hosp = 0.0
    for aid, s in run["summary"]["areas"].items():
        if info.get(aid, {}).get("kind") == kind:
            v = s["visits_by_tier"]
            grass += v["village"] + v["township"]
            hosp += v["county"]
    return grass / (grass + hosp) if grass + hosp > 0 else None


def _geographic(x: np.ndarray, y: np.ndarray, run: dict) -> bool:
    kind = (run.get("manifest") or {}).get("coordinates")
    return kind == "lonlat" if kind else bool(np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90))


def _map_axes(ax, x: np.ndarray, y: np.ndarray, geo: bool, lang: str) -> None:
    """Limits around the points (never flatter than 5:4 nor taller than 4:5 on screen), the map's
    aspect (a degree of longitude is shorter than one of latitude) and its axis labels."""
    cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
    stretch = 1 / max(np.cos(np.radians(cy)), 0.1) if geo else 1.0  # screen height per y unit
    hx, hy = max(np.ptp(x), 1e-3) / 2 * 1.25, max(np.ptp(y), 1e-3) / 2 * 1.25 * stretch
    hx, hy = max(hx, hy * 0.8), max(hy, hx * 0.8)
    ax.set_xlim(cx - hx, cx + hx)
    ax.set_ylim(cy - hy / stretch, cy + hy / stretch)
    ax.set_aspect(stretch if geo else "equal")
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(6))
    ax.set_xlabel(w("longitude" if geo else "km_east", lang))
    ax.set_ylabel(w("latitude" if geo else "km_north", lang))
    ax.grid(False)


def _move(text, dx: float, dy: float, ha: str, va: str) -> None:
    text.xyann = (dx, dy)
    text.set_ha(ha)
    text.set_va(va)


def _text_box(text, renderer):
    """The display box of an annotation's text alone (not its line to the point), a little padded."""
    return Text.get_window_extent(text, renderer).expanded(1.08, 1.15)


def _marker_box(ax, xy: tuple[float, float], radius: float):
    """The display box a marker of `radius` points covers at `xy`."""
    from matplotlib.transforms import Bbox

    px, py = ax.transData.transform(xy)
    r = radius * ax.figure.dpi / 72
    return Bbox.from_extents(px - r, py - r, px + r, py + r)


def _labels(ax, run: dict, points: dict[str, tuple[float, float]], shares: dict[str, float], lang: str,
            radii: dict[str, float] | None = None) -> None:
    """Name and share beside each area's marker (of radius `radii`, in points) or, without `radii`, on
    its area: every area up to 20, beyond that the three highest and lowest. Each label takes the
    first place around its point where it overlaps no label placed before it (largest areas first)."""
    info = run["summary"].get("area_info") or {}
    order = sorted(points, key=lambda a: shares[a])
    shown = order if len(order) <= 20 else order[:3] + order[-3:]
    shown.sort(key=lambda a: -float(info.get(a, {}).get("population", 0)))
    size = 12 if len(points) <= 12 else 11
    texts = {aid: ax.annotate(f"{short_name(aid, run, lang)}\n{pct(shares[aid])}", points[aid], textcoords="offset points",
                              xytext=(0, 0), ha="center", va="center", fontsize=size, gid="area-label", zorder=6,
                              bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
                              arrowprops={"arrowstyle": "-", "color": "#555555", "linewidth": 1})
             for aid in shown}
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    for text in texts.values():
        text.set_in_layout(False)
    placed = [_marker_box(ax, points[a], r) for a, r in (radii or {}).items()]
    frame = ax.get_window_extent(renderer)
    for aid, text in texts.items():
        r = (radii or {}).get(aid, 0.0) + 4
        point = ax.transData.transform(points[aid])
        labels = placed[len(radii or {}):]
        best = None
        for spot in _spots(r, centre=radii is None):
            _move(text, *spot)
            box = _text_box(text, renderer)
            clash = sum(_overlap(box, o) for o in placed) + 4 * (box.width * box.height - _overlap(box, frame))
            clash += 1000 * _crosses(point, box, labels)
            if best is None or clash < best[0]:
                best = (clash, spot, box)
            if clash == 0:
                break
        _move(text, *best[1])
        text.arrow_patch.set_visible(abs(text.xyann[0]) + abs(text.xyann[1]) > r + 1)  # moved away: a line to it
        placed.append(best[2])


def _overlap(a, b) -> float:
    """The area two display boxes share."""
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))


def _spots(r: float, centre: bool) -> list[tuple[float, float, str, str]]:
    """Where a label may go, nearest first: (dx, dy) in points from its point, and its alignment.
    Above, right, below, left and the diagonals, at 1, 2, 3 and 4.5 times the marker's reach."""
    out = [(0.0, 0.0, "center", "center")] if centre else []
    for reach in (1.0, 2.0, 3.0, 4.5):
        for deg in (90, 0, 270, 180, 45, 135, 315, 225):
            c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
            d = max(r, 8.0) * reach + (reach - 1) * 6
            out.append((d * c, d * s, "left" if c > 0.3 else "right" if c < -0.3 else "center",
                        "bottom" if s > 0.3 else "top" if s < -0.3 else "center"))
    return out


def _crosses(point: np.ndarray, box, others: list) -> bool:
    """True when the line from `point` to the label's `box` runs through another label."""
    centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
    steps = np.linspace(0, 1, 24)[:, None] * (centre - point) + point
    return any(o.contains(x, y) for o in others for x, y in steps)


def _footprint(run: dict, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The x and y the map must show: every settlement of the region (else the areas' points)."""
    t = (run.get("tables") or {}).get("settlements") or {}
    if t.get("x"):
        return np.r_[np.asarray(t["x"], float), points[:, 0]], np.r_[np.asarray(t["y"], float), points[:, 1]]
    return points[:, 0], points[:, 1]


def _shared_hospitals(run: dict, x: np.ndarray, y: np.ndarray) -> dict[str, list[tuple[float, float]]]:
    """Positions of the shared (city, provincial) hospitals: `near` ones within the region's frame
    (widened by a quarter), `far` ones beyond it (a provincial capital's)."""
    fac = (run.get("tables") or {}).get("facilities") or {}
    out: dict[str, list] = {"near": [], "far": []}
    wx, wy = np.ptp(x) * 0.25, np.ptp(y) * 0.25
    for k, area in enumerate(fac.get("area", [])):
        if area in ("", None) and fac["tier"][k] == "tertiary":
            hx, hy = float(fac["x"][k]), float(fac["y"][k])
            near = x.min() - wx <= hx <= x.max() + wx and y.min() - wy <= hy <= y.max() + wy
            out["near" if near else "far"].append((hx, hy))
    return out


def _circle_map(ax, run: dict, shares: dict[str, float], norm: Normalize, lang: str):
    """Areas as markers sized by residents and coloured by the share; the shared hospitals as crosses."""
    info = run["summary"].get("area_info") or {}
    points = area_positions(run)
    ids = [a for a in shares if a in points]
    pops = np.array([float(info.get(a, {}).get("population", 1)) for a in ids])
    sizes = 150 + 1100 * pops / max(pops.max(), 1.0) if len(ids) <= 20 else 40 + 700 * pops / max(pops.max(), 1.0)
    mappable = None
    for kind in ("urban", "rural"):
        mine = sorted((k for k, a in enumerate(ids) if info.get(a, {}).get("kind", "rural") == kind),
                      key=lambda k: -sizes[k])  # the smaller on top
        if mine:
            mappable = ax.scatter([points[ids[k]][0] for k in mine], [points[ids[k]][1] for k in mine],
                                  s=sizes[mine], c=[shares[ids[k]] for k in mine], cmap=CMAP, norm=norm,
                                  marker=KIND_MARKERS[kind], edgecolors="black", linewidths=1.2, zorder=4,
                                  gid=f"areas-{kind}")
    x, y = _footprint(run, np.array([points[a] for a in ids]))
    geo = _geographic(x, y, run)
    hospitals = _shared_hospitals(run, x, y)
    if hospitals["near"]:
        ax.scatter(*zip(*hospitals["near"]), marker="P", s=110, color="black", zorder=5, gid="shared-hospitals")
    if hospitals["far"]:
        ax.text(0.99, 0.01, w("beyond", lang, n=len(hospitals["far"])), transform=ax.transAxes, ha="right",
                va="bottom", fontsize=12, color="#333333", gid="hospitals-beyond")
    _map_axes(ax, x, y, geo, lang)
    ax.set_title(w("map", lang))
    handles = [Line2D([], [], marker=KIND_MARKERS[k], linestyle="", markersize=13, markerfacecolor="white",
                      markeredgecolor="black", label=w(k, lang)) for k in ("urban", "rural")]
    if hospitals["near"]:
        handles.append(Line2D([], [], marker="P", linestyle="", markersize=11, color="black", label=w("hospitals", lang)))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(handles), fontsize=12,
              frameon=False, handletextpad=0.3, columnspacing=1.0)
    return mappable, {a: points[a] for a in ids}, {a: float(np.sqrt(sz)) / 2 for a, sz in zip(ids, sizes)}


def _shape_map(ax, run: dict, shares: dict[str, float], norm: Normalize, shapes: dict[str, AreaShape], lang: str):
    """A choropleth: each area's polygons (holes kept) filled with the share's colour."""
    cmap = matplotlib.colormaps[CMAP]
    xs, ys = [], []
    for aid, shape in shapes.items():
        for exterior, holes in shape.polygons:
            rings = [exterior, *holes]
            verts = np.concatenate(rings)
            codes = np.concatenate([[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2) + [MplPath.CLOSEPOLY]
                                    for r in rings])
            ax.add_patch(PathPatch(MplPath(verts, codes), facecolor=cmap(norm(shares[aid])), edgecolor="white",
                                   linewidth=1.2, gid=f"boundary-{aid}"))
            xs.append(exterior[:, 0])
            ys.append(exterior[:, 1])
    x, y = np.concatenate(xs), np.concatenate(ys)
    _map_axes(ax, x, y, bool(np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90)), lang)
    ax.set_title(w("map_shapes", lang))
    return ScalarMappable(norm=norm, cmap=cmap), {a: s.label for a, s in shapes.items()}, None


MOST_BARS = 24  # beyond this many areas, the bars show the ten highest and the ten lowest


def _bars(ax, run: dict, shares: dict[str, float], lang: str) -> None:
    """Horizontal bars of the share by area, highest at the top, urban and rural in two colours; for
    more than `MOST_BARS` areas the ten highest and ten lowest (the tables hold them all)."""
    s = run["summary"]
    info = s.get("area_info") or {}
    effect = (s.get("policy_effect") or {}).get("areas")
    order = sorted(shares, key=lambda a: shares[a])
    rows = order if len(order) <= MOST_BARS else [*order[:10], None, *order[-10:]]
    bars = [(yi, a) for yi, a in enumerate(rows) if a is not None]
    ax.barh([yi for yi, _ in bars], [shares[a] for _, a in bars], height=0.75, gid="area-bars",
            color=[KIND_COLOURS.get(info.get(a, {}).get("kind", "rural"), "#999999") for _, a in bars])
    size = 13 if len(rows) <= 14 else 11 if len(rows) <= MOST_BARS else 9
    ax.set_yticks(range(len(rows)), [short_name(a, run, lang) if a else w("more", lang, n=len(order) - 20)
                                     for a in rows], fontsize=size)
    for yi, a in bars:
        text = pct(shares[a]) + (f"  ({format_effect(effect[a][KEY], 'pct', lang)})" if effect else "")
        ax.annotate(text, (shares[a], yi), xytext=(4, 0), textcoords="offset points", va="center",
                    fontsize=size - 1, gid="value-label",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.axvline(s[KEY], color="black", linestyle="--", linewidth=1.8, gid="region-share")
    ax.set_xlim(0, min(1.0, max(shares.values()) * (1.45 if effect else 1.2)))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_title(w("bars_effect" if effect else "bars", lang))
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", visible=False)
    kinds = [k for k in ("urban", "rural") if any(info.get(a, {}).get("kind") == k for a in order)]
    handles = [Patch(color=KIND_COLOURS[k], label=w(k, lang)) for k in kinds]
    handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1.8, label=w("region", lang, v=pct(s[KEY]))))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=len(handles), fontsize=13,
              frameon=False, handlelength=1.6, columnspacing=1.2)


def _title(run: dict, shares: dict[str, float], lang: str) -> str:
    """The finding: the range over areas and urban against rural; with a policy, its effect's range."""
    s = run["summary"]
    effect = (s.get("policy_effect") or {}).get("areas")
    if effect:
        diffs = {a: effect[a][KEY] for a in shares}
        lo, hi = min(diffs, key=diffs.get), max(diffs, key=diffs.get)
        d = lambda a: format_effect(diffs[a], "pct", lang)  # noqa: E731
        region = format_effect(s["policy_effect"][KEY], "pct", lang)
        if lang == "zh":
            return (effect_lead(run, lang) + f"各区县区域内基层诊疗人次占比变化 {d(lo)}（{area_name(lo, run, lang)}）至 "
                    f"{d(hi)}（{area_name(hi, run, lang)}），全区域 {region}")
        return (effect_lead(run, lang) + f"the grassroots share of in-area visits moved by {d(lo)} "
                f"({area_name(lo, run, lang)}) to {d(hi)} ({area_name(hi, run, lang)}); region {region}")
    lo, hi = min(shares, key=shares.get), max(shares, key=shares.get)
    urban, rural = kind_share(run, "urban"), kind_share(run, "rural")
    both = urban is not None and rural is not None
    if lang == "zh":
        return (f"区域内基层诊疗人次占比：{area_name(lo, run, lang)} {pct(shares[lo])} 至 {area_name(hi, run, lang)} "
                f"{pct(shares[hi])}" + (f"；市辖区 {pct(urban)}，县（市）{pct(rural)}" if both else "")
                + f"；全区域 {pct(s[KEY])}")
    return (f"Grassroots share of in-area visits: {pct(shares[lo])} ({area_name(lo, run, lang)}) to "
            f"{pct(shares[hi])} ({area_name(hi, run, lang)})"
            + (f"; urban {pct(urban)}, counties {pct(rural)}" if both else "")
            + f"; region {pct(s[KEY])}")


def fig_areas(run: dict, lang: str = "en", shapes: dict[str, AreaShape] | None = None) -> Figure:
    """The areas' grassroots share on a map (circles, or the `shapes` when given) and in bars."""
    shares = {a: float(v[KEY]) for a, v in run["summary"]["areas"].items()}
    fig, axes = new_figure(1, 2, width_ratios=(1.9, 1))
    ax_map, ax_bars = axes[0]
    lo, hi = min(shares.values()), max(shares.values())
    norm = Normalize(lo - 0.005, hi + 0.005) if hi - lo < 0.01 else Normalize(lo, hi)
    if shapes:
        mappable, points, radii = _shape_map(ax_map, run, shares, norm, shapes, lang)
    else:
        mappable, points, radii = _circle_map(ax_map, run, shares, norm, lang)
    bar = fig.colorbar(mappable, ax=ax_map, shrink=0.8, pad=0.01, aspect=25, format=PercentFormatter(1.0, decimals=1))
    bar.set_label(w("share", lang), fontsize=13)
    _bars(ax_bars, run, shares, lang)
    finish_figure(fig, run, _title(run, shares, lang), lang)
    _labels(ax_map, run, points, shares, lang, radii)  # last: placed where the laid-out figure has room
    return fig
