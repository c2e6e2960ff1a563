"""Figures of one run, drawn from its saved results folder.

Each `fig_*` function takes a loaded run (`sim.outputs.results.load_run`) and a language and
returns a matplotlib Figure whose title states what the run shows; `draw_run` saves
them all as PNGs. Nothing here runs the model.

    visit_shares  where visits happen, by tier, over time; policy days marked
    flow          first-contact tier -> tier that finally treated (sim/plots/flows.py)
    network       the referral network on the county map (sim/plots/flows.py)
    fund          insurance fund spending by tier, in / out of county, and the balance
    burden        out-of-pocket spending and care forgone, by income group and severity
    areas         a region's areas: the grassroots share on a map and in bars (sim/plots/areas.py)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import PercentFormatter

from sim.engine.metrics import OUTCOMES, QUINTILES, group
from sim.outputs.plots.areas import fig_areas, is_region_run
from sim.outputs.plots.common import (effect_lead, effect_phrase, finish_figure, first_change, new_figure, period_label,
                                      periods, residents, rose_fell, with_and_without)
from sim.outputs.plots.flows import fig_flow, fig_network
from sim.outputs.plots.style import (
    AFTER_COLOUR,
    BEFORE_COLOUR,
    TIER_COLOURS,
    mark_changes,
    pct,
    region_words,
    resolve_lang,
    rolling,
    tier_label,
    tier_visits,
    tr,
    words,
)
from sim.outputs.results import atomic_file, load_run
from sim.scenario.schema import TIERS

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

    fig, axes = new_figure(2, 1, sharex=True, height_ratios=(2.2, 1))
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
                     bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.9}, zorder=5)
    mark_changes(ax2, summary.get("changes", []), label=False, lang=lang)
    lo, hi = np.percentile(official[min(7, len(official) - 1):], [1, 99]) if len(official) > 7 else (0, 1)
    pad = max(0.02, (hi - lo) * 0.3)
    ax2.set_ylim(max(lo - pad, 0), min(hi + pad, 1))
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax2.set_xlabel(tr("day", lang))
    ax2.set_title(tr("grassroots_in_county", lang))

    name = run["scenario"].get("name", "")
    p = summary.get("periods")
    effect = with_and_without(run, "grassroots_share")
    if effect:
        title = effect_lead(run, lang) + effect_phrase(
            words("grassroots_phrase"), *effect, lang)
    elif p:
        b, a, day = p["before"]["grassroots_share"], p["after"]["grassroots_share"], first_change(run)
        title = tr("shares_title_change", lang, move=rose_fell(b, a, lang), before=pct(b), after=pct(a), day=day)
    else:
        title = tr("shares_title", lang, name=name, share=pct(summary["grassroots_share"]))
    return finish_figure(fig, run, title, lang)


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


def serious_illness_daily(daily: dict[str, np.ndarray]) -> np.ndarray:
    """Daily 大病保险 payments (zero for runs saved before it was modelled)."""
    return sum((v for k, v in daily.items() if k.startswith("serious_illness_")), np.zeros(len(daily["day"])))


def fig_fund(run: dict, lang: str = "en") -> Figure:
    """Fund spending by tier per month (out-of-county hatched), premiums, and the running balance."""
    daily, summary = run["daily"], run["summary"]
    days = daily["day"]
    width = bins(len(days))
    by_tier = fund_by_tier_daily(daily)
    starts = days[::width]
    widths = np.diff(np.r_[starts, days[-1] + 1])
    per_bin = width / widths  # a short last bin is shown at the same rate, not as a small bar
    fig, axes = new_figure(2, 1, sharex=True, height_ratios=(1.6, 1))
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
    serious = serious_illness_daily(daily)  # bought from the fund's premiums: fund spending
    si = binned(serious, width) * per_bin / 1e6
    if np.any(si != 0):
        ax.bar(starts, si, width=widths * 0.92, bottom=bottom + np.maximum(settle, 0), align="edge",
               color="#CC79A7", label=tr("serious_illness", lang), gid="fund-serious-illness")
    prem = binned(daily["premiums"], width) * per_bin / 1e6
    ax.step(np.r_[starts, days[-1] + 1], np.r_[prem, prem[-1]], where="post", color="black", linewidth=2.5,
            label=tr("premiums", lang))
    mark_changes(ax, summary.get("changes", []), lang=lang)
    if summary.get("changes"):  # head room, so the policy's label sits above the bars
        ax.set_ylim(0, max(bottom.max(), prem.max(), 1e-9) * 1.32)
    ax.set_ylabel(tr("yuan_m_per", lang, n=width))
    ax.set_title(tr("fund_axes", lang))
    handles, labels = ax.get_legend_handles_labels()  # the premiums line, then bars top of the stack first
    order = [labels.index(tr("premiums", lang))] + [k for k in reversed(range(len(labels)))
                                                     if labels[k] != tr("premiums", lang)]
    ax.legend([handles[k] for k in order], [labels[k] for k in order], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              frameon=False, fontsize=13)

    spending = sum(by_tier.values()) + daily["settlement"] + serious
    balance = np.cumsum(daily["premiums"] - spending) / 1e6
    ax2.plot(days, balance, color=AFTER_COLOUR, linewidth=3, label=tr("balance", lang))
    ax2.fill_between(days, balance, 0, where=balance < 0, color="#D55E00", alpha=0.25, interpolate=True)
    ax2.fill_between(days, balance, 0, where=balance >= 0, color="#009E73", alpha=0.25, interpolate=True)
    ax2.axhline(0, color="black", linewidth=1)
    mark_changes(ax2, summary.get("changes", []), label=False, lang=lang)
    ax2.annotate(f"{balance[-1]:+,.2f} " + ("百万元" if lang == "zh" else "M"), (days[-1], balance[-1]), xytext=(6, 0), textcoords="offset points",
                 va="center", fontsize=15, fontweight="bold")
    ax2.set_ylabel(tr("yuan_m", lang))
    ax2.set_xlabel(tr("day", lang))
    ax2.set_title(tr("balance_axes", lang))
    ax2.set_xlim(days[0], days[-1] + 1)

    p = summary.get("periods")
    effect = with_and_without(run, "out_of_county_fund_share")
    if effect:
        title = effect_lead(run, lang) + effect_phrase(words("fund_phrase"), *effect, lang)
    elif p:
        b, a, day = p["before"]["out_of_county_fund_share"], p["after"]["out_of_county_fund_share"], first_change(run)
        title = tr("fund_title_change", lang, move=rose_fell(b, a, lang), before=pct(b), after=pct(a), day=day)
    else:
        title = tr("fund_title", lang, share=pct(summary["out_of_county_fund_share"]))
    return finish_figure(fig, run, title + tr("balance_end", lang, balance=f"{balance[-1]:+,.2f}"), lang)


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


def burden_effect(run: dict, with_policy: dict[str, np.ndarray], lang: str) -> str:
    """The poorest fifth's out-of-pocket and care forgone from the first change, with the policy
    against without it (same seed), as a phrase."""
    without = burden_table({**run, "daily": run["daily_without_policy"]})["after"]
    o0, o1 = without["oop_quintile"][0], with_policy["oop_quintile"][0]
    f0, f1 = without["forgone_quintile"][0], with_policy["forgone_quintile"][0]
    if lang == "zh":
        return (f"最低收入组人均自付{'增加' if o1 >= o0 else '减少'} {abs(o1 - o0):,.0f} 元/年（无政策 {o0:,.0f} → "
                f"有政策 {o1:,.0f}），每千人未就医{'增加' if f1 >= f0 else '减少'} {abs(f1 - f0):,.0f}"
                f"（{f0:,.0f} → {f1:,.0f}）")
    return (f"the poorest fifth pay {abs(o1 - o0):,.0f} yuan a year {'more' if o1 >= o0 else 'less'} "
            f"({o0:,.0f} without → {o1:,.0f} with) and forgo {abs(f1 - f0):,.0f} "
            f"{'more' if f1 >= f0 else 'fewer'} episodes per 1,000 ({f0:,.0f} → {f1:,.0f})")


def fig_burden(run: dict, lang: str = "en") -> Figure:
    """Who bears the cost: out-of-pocket and care forgone by income fifth and by severity."""
    table = burden_table(run)
    spans = list(table)
    colours = [BEFORE_COLOUR, AFTER_COLOUR] if len(spans) == 2 else [AFTER_COLOUR]
    fig, axes = new_figure(2, 2)
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
                                fontsize=12 if len(spans) == 2 else 13, gid="value-label")
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
    if run.get("daily_without_policy") is not None and "policy_effect" in run["summary"]:
        title = effect_lead(run, lang) + burden_effect(run, last, lang)
    elif len(spans) == 2:
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
    finish_figure(fig, run, title, lang)
    separate_labels(fig)
    return fig


def separate_labels(fig: Figure, gid: str = "value-label", pad: float = 6.0) -> int:
    """Lift value labels that would overlap their left neighbour by one line, so two bars' numbers
    never run together ("2,0832,092"). Lays the figure out first; returns the labels moved."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    moved = 0
    for ax in fig.axes:
        labels = sorted((t for t in ax.texts if t.get_gid() == gid), key=lambda t: t.xy[0])
        placed = []
        for text in labels:
            box = text.get_window_extent(renderer)
            for other in placed:
                if box.x0 < other.x1 + pad and other.x0 < box.x1 + pad and box.y0 < other.y1 and other.y0 < box.y1:
                    dx, dy = text.xyann
                    text.xyann = (dx, dy + (other.y1 - box.y0 + 1) * 72 / fig.dpi)
                    box = text.get_window_extent(renderer)
                    moved += 1
            placed.append(box)
    return moved


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
    with plt.rc_context(style), region_words(is_region_run(run)):
        for name in names or FIGURES:
            out[name] = FIGURES[name](run, lang)
    return out


def figure_file(name: str, lang: str) -> str:
    """A figure's file name: English `network.png`, Chinese `network_zh.png`, side by side."""
    return f"{name}.png" if lang == "en" else f"{name}_{lang}.png"


def draw_run(folder: Path, lang: str = "en", shapes: dict | None = None) -> list[Path]:
    """Draw every run figure from a run folder's saved files into folder/figures/; return the paths.

    A region run also gets `areas.png` (`sim.outputs.plots.areas`; its map drawn from the areas'
    boundaries when `shapes` are given). Chinese figures (`lang="zh"`) are named `<name>_zh.png`
    beside the English ones. Each file is written beside its final name and renamed into place: a
    failure (a full disk) leaves the figures that were there before, never a broken PNG."""
    folder = Path(folder)
    run = load_run(folder)
    out = folder / "figures"
    out.mkdir(exist_ok=True)
    lang, style = resolve_lang(lang)
    makers = dict(FIGURES)
    if is_region_run(run):
        makers["areas"] = lambda run, lang: fig_areas(run, lang, shapes)
    paths = []
    with plt.rc_context(style), region_words(is_region_run(run)):
        for name, fn in makers.items():
            fig = fn(run, lang)
            path = out / figure_file(name, lang)
            try:
                with atomic_file(path) as tmp:
                    fig.savefig(tmp, format="png")
            finally:
                plt.close(fig)
            paths.append(path)
    return paths
