"""Figures of experiments, drawn from their saved tidy files: comparisons, sweeps, sensitivity.

    draw_comparison(folder)  figures/forest.png: each policy's paired difference from the base
    draw_sweep(folder)       figures/sweep_<indicator>.png: a line with its 95% band, or a heatmap
    draw_sensitivity(folder) figures/sensitivity_<indicator>.png: parameters ranked by effect
    draw_experiment(folder)  whichever the folder holds (`run.py plot DIR`)
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sim.engine.indicators import HEADLINE_ROWS, display_scale, for_areas, label, label_with_unit, unit_label
from sim.outputs.area_table import is_region_comparison
from sim.outputs.plots import style

KINDS = ("comparison", "sweep", "sensitivity")
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
FIGSIZE = getattr(style, "FIGSIZE", (13.33, 7.5))


def experiment_kind(folder: Path) -> str | None:
    """'comparison', 'sweep' or 'sensitivity' if the folder holds that experiment, else None."""
    return next((k for k in KINDS if (Path(folder) / f"{k}.json").exists()), None)


def draw_experiment(folder: Path, lang: str = "en") -> list[Path]:
    """Redraw an experiment folder's figures (labels in `lang`; Chinese needs a CJK font)."""
    kind = experiment_kind(folder)
    draw = {"comparison": draw_comparison, "sweep": draw_sweep, "sensitivity": draw_sensitivity}.get(kind)
    if draw is None:
        raise ValueError(f"{folder} is not an experiment folder (no comparison.json, sweep.json or sensitivity.json)")
    return draw(folder, lang)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _spec(folder: Path, kind: str) -> dict:
    return json.loads((Path(folder) / f"{kind}.json").read_text(encoding="utf-8"))


def _out(folder: Path, name: str) -> Path:
    out = Path(folder) / "figures"
    out.mkdir(exist_ok=True)
    return out / name


# ------------------------------------------------------------------ comparison

def draw_comparison(folder: Path, lang: str = "en") -> list[Path]:
    """Forest plot: one panel per headline indicator, each on its own axis in the indicator's own units
    (shares in percentage points, money in million yuan), with the 95% interval and the numbers beside it.

    A fund balance that moves by millions no longer flattens a share that moves by a tenth of a point.
    The better side of zero is shaded where the registry says which side is better.
    """
    from sim.engine.metrics import format_difference

    folder = Path(folder)
    lang, rc = style.resolve_lang(lang)
    spec = _spec(folder, "comparison")
    diffs = {(r["scenario"], r["indicator"]): r for r in _rows(folder / "differences.csv")}
    policies = [s["label"] for s in spec["scenarios"][1:]]
    base = spec["base"]
    rows = [ind for ind in HEADLINE_ROWS if (policies[0], ind.key) in diffs]
    areas = is_region_comparison(spec)  # regions compared: in-area (区域内) for in-county
    offsets = np.linspace(0.22, -0.22, len(policies)) if len(policies) > 1 else np.zeros(1)
    panel = 0.5 + 0.32 * len(policies)  # inches per indicator
    with plt.rc_context(rc):
        fig, axes = plt.subplots(len(rows), 1, figsize=(FIGSIZE[0] * 1.25, panel * len(rows) + 1.8), squeeze=False)
        for ax, ind in zip(axes[:, 0], rows):
            cells = [(k, policy, *(float(diffs[(policy, ind.key)][c]) * display_scale(ind.key)
                                   for c in ("difference", "ci_low", "ci_high")))
                     for k, policy in enumerate(policies)]
            limit = _panel_limit([x for _, _, *v in cells for x in v])
            _shade_better(ax, ind.better, limit)
            for k, policy, mid, lo, hi in cells:
                colour, y = PALETTE[k % len(PALETTE)], offsets[k]
                ax.plot([lo, hi], [y, y], color=colour, linewidth=3.5, solid_capstyle="round")
                excludes = lo > 0 or hi < 0
                ax.plot([mid], [y], "o", color=colour, markersize=9, markeredgewidth=2.2,
                        markerfacecolor=colour if excludes else "white", label=policy)
                d = diffs[(policy, ind.key)]
                text = format_difference(*(float(d[c]) for c in ("difference", "ci_low", "ci_high")), ind.fmt)
                ax.annotate(text, (1.02, y), xycoords=("axes fraction", "data"), va="center", fontsize=12,
                            color=colour, annotation_clip=False)
            unit = f"（{_effect_unit(ind, lang)}）" if lang == "zh" else f"({_effect_unit(ind, lang)})"
            name = for_areas(ind.label(lang)) if areas else ind.label(lang)
            ax.annotate(f"{name}\n{unit}", (-0.02, 0.0),
                        xycoords=("axes fraction", "data"), ha="right", va="center", fontsize=13,
                        annotation_clip=False)
            ax.axvline(0, color="black", linewidth=1.2)
            ax.set_xlim(-limit, limit)
            ax.set_ylim(-0.5, 0.5)
            ax.set_yticks([])
            ax.xaxis.set_major_locator(plt.MaxNLocator(7, symmetric=True))
            ax.tick_params(axis="x", labelsize=10, pad=1)
            ax.grid(axis="x", alpha=0.3)
            ax.grid(axis="y", visible=False)
            ax.spines["left"].set_visible(False)
        window = spec.get("window")
        n = spec.get("replications")
        if lang == "zh":
            span = f"，第{window[0]}-{window[1] - 1}天" if window else ""
            title = f"政策效应：与{base}的配对差值{span}，{n}次重复，95%置信区间"
            note = "每个指标使用各自的坐标轴和单位。实心点：95%置信区间不含0。绿色一侧：更好。"
        else:
            span = f", days {window[0]}-{window[1] - 1}" if window else ""
            title = f"Policy effects: paired differences from {base}{span}, {n} replications, 95% intervals"
            note = ("Each indicator on its own axis, in its own units. Filled: the 95% interval excludes 0. "
                    "Green side: better.")
        fig.suptitle(title, x=0.01, ha="left")
        fig.text(0.01, 0.01, note, fontsize=12, ha="left", va="bottom")
        fig.subplots_adjust(left=0.36, right=0.76, top=1 - 1.0 / fig.get_figheight(),
                            bottom=0.9 / fig.get_figheight(), hspace=0.9)
        if len(policies) > 1:
            handles, labels = axes[0, 0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="upper right", fontsize=12, ncols=min(len(policies), 3))
        path = _out(folder, "forest.png")
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
    return [path]


def _panel_limit(values: list[float]) -> float:
    """Half-width of a panel's axis: every estimate and interval with a margin (1 if all are zero)."""
    finite = [abs(v) for v in values if np.isfinite(v)]
    top = max(finite, default=0.0)
    return 1.15 * top if top > 0 else 1.0


def _shade_better(ax, better: int, limit: float) -> None:
    """Tint the side of zero the registry calls better (nothing when neither is)."""
    if better:
        ax.axvspan(0, better * limit * 2, color=style.OKABE_ITO["green"], alpha=0.12, linewidth=0)


def _effect_unit(ind, lang: str) -> str:
    """The unit of a difference: percentage points for shares, else the indicator's unit."""
    if ind.fmt == "pct":
        return "百分点" if lang == "zh" else "percentage points"
    return unit_label(ind.key, lang)


# ------------------------------------------------------------------ sweep

def draw_sweep(folder: Path, lang: str = "en") -> list[Path]:
    """One figure per indicator: a line with its 95% band (one key) or a heatmap of means (two keys),
    labelled with the indicator's name and unit from the registry."""
    folder = Path(folder)
    lang, rc = style.resolve_lang(lang)
    spec = _spec(folder, "sweep")
    keys = spec["keys"]
    if len(keys) > 2:
        return []  # three or more keys: the tidy tables, not a picture
    rows = _rows(folder / "summary.csv")
    paths = []
    for name in spec["indicators"]:
        mine = [r for r in rows if r["indicator"] == name]
        if not mine:
            continue
        path = _out(folder, f"sweep_{_safe(name)}.png")
        with plt.rc_context(rc):
            fig, ax = plt.subplots(figsize=FIGSIZE)
            if len(keys) == 1:
                _sweep_line(ax, mine, keys[0], name, spec, lang)
            else:
                _sweep_heatmap(fig, ax, mine, keys, name, spec, lang)
            fig.tight_layout()
            fig.savefig(path)
            plt.close(fig)
        paths.append(path)
    return paths


def _numeric(values: list[str]) -> list[float] | None:
    try:
        return [float(v) for v in values]
    except ValueError:
        return None


def _sweep_line(ax, rows, key, name, spec, lang: str = "en") -> None:
    x_text = [r[key] for r in rows]
    x = _numeric(x_text)
    positions = x if x is not None else list(range(len(rows)))
    mean, lo, hi = (np.array([float(r[c]) for r in rows]) for c in ("mean", "ci_low", "ci_high"))
    k = display_scale(name)
    band, middle = ("95%置信区间", "均值") if lang == "zh" else ("95% CI", "mean")
    ax.fill_between(positions, lo * k, hi * k, color=PALETTE[0], alpha=0.25, linewidth=0, label=band)
    ax.plot(positions, mean * k, "o-", color=PALETTE[0], linewidth=3, markersize=8, label=middle)
    if x is None:
        ax.set_xticks(positions, x_text)
    ax.set_xlabel(key)
    ax.set_ylabel(label_with_unit(name, lang))
    n = spec["replications"]
    ax.set_title(f"{label(name, lang)}随{key}的变化（每点{n}次重复）" if lang == "zh" else
                 f"{label(name, lang)} as {key} varies ({n} replications per point)", loc="left")
    ax.legend(loc="best")


def _sweep_heatmap(fig, ax, rows, keys, name, spec, lang: str = "en") -> None:
    xs = list(dict.fromkeys(r[keys[0]] for r in rows))
    ys = list(dict.fromkeys(r[keys[1]] for r in rows))
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        grid[ys.index(r[keys[1]]), xs.index(r[keys[0]])] = float(r["mean"])
    share = display_scale(name) == 100.0
    shown = grid * display_scale(name)
    image = ax.imshow(shown, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(xs)), xs)
    ax.set_yticks(range(len(ys)), ys)
    ax.set_xlabel(keys[0])
    ax.set_ylabel(keys[1])
    ax.grid(False)
    if grid.size <= 120:
        middle = np.nanmean(shown)
        for (i, j), v in np.ndenumerate(shown):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}" if share else f"{v:.3g}", ha="center", va="center", fontsize=15,
                        color="white" if v < middle else "black")
    fig.colorbar(image, ax=ax, label=label_with_unit(name, lang))
    n = spec["replications"]
    ax.set_title(f"{label(name, lang)}：每格{n}次重复的均值" if lang == "zh" else
                 f"{label(name, lang)}: mean of {n} replications per cell", loc="left")


# ------------------------------------------------------------------ sensitivity

def draw_sensitivity(folder: Path, lang: str = "en") -> list[Path]:
    """One figure per indicator: parameters ranked by mu* (Morris) or ST (Sobol), with 95% intervals."""
    folder = Path(folder)
    lang, rc = style.resolve_lang(lang)
    spec = _spec(folder, "sensitivity")
    rows = _rows(folder / "indices.csv")
    method = spec["method"]
    main, conf, second = ("mu_star", "mu_star_conf", "sigma") if method == "morris" else ("ST", "ST_conf", "S1")
    paths = []
    for name in spec["indicators"]:
        mine = sorted((r for r in rows if r["indicator"] == name), key=lambda r: int(r["rank"]))
        if not mine:
            continue
        labels = [r["parameter"] for r in mine]
        value = np.array([float(r[main]) for r in mine])
        err = np.array([float(r[conf]) for r in mine])
        other = np.array([float(r[second]) for r in mine])
        path = _out(folder, f"sensitivity_{_safe(name)}.png")
        with plt.rc_context(rc):
            fig, ax = plt.subplots(figsize=(FIGSIZE[0], max(FIGSIZE[1], 0.7 * len(mine) + 2.5)))
            y = np.arange(len(mine))
            ax.barh(y - 0.2, value, height=0.4, xerr=np.nan_to_num(err), color=PALETTE[0], capsize=5,
                    label=f"{main} (95% CI)")
            ax.barh(y + 0.2, other, height=0.4, color=PALETTE[4], label=second)
            ax.set_yticks(y, labels)
            ax.invert_yaxis()
            ax.grid(axis="x", alpha=0.3)
            ax.grid(axis="y", visible=False)
            what = "Morris elementary effects" if method == "morris" else "Sobol indices"
            shown = label(name, lang)
            ax.set_title(f"What moves {shown}: {what}", loc="left")
            ax.set_xlabel(f"μ*: mean |effect| on {label_with_unit(name, lang)} of a step across the range\n"
                          "(σ: non-linear or interacting)"
                          if method == "morris" else f"share of the variance of {shown} (ST: total, S1: alone)")
            ax.legend(loc="lower right")
            fig.tight_layout()
            fig.savefig(path)
            plt.close(fig)
        paths.append(path)
    return paths


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
