"""Figures of experiments, drawn from their saved tidy files: comparisons, sweeps, sensitivity.

    draw_comparison(folder)  figures/forest.png: each policy's paired difference from the base
    draw_sweep(folder)       figures/sweep_<indicator>.png: a line with its 95% band, or a heatmap
    draw_sensitivity(folder) figures/sensitivity_<indicator>.png: parameters ranked by effect
    draw_experiment(folder)  whichever the folder holds (`run.py plot DIR`)
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from sim.engine.metrics import HEADLINE
from sim.outputs.plots import style

KINDS = ("comparison", "sweep", "sensitivity")
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
FIGSIZE = getattr(style, "FIGSIZE", (13.33, 7.5))


def experiment_kind(folder: Path) -> str | None:
    """'comparison', 'sweep' or 'sensitivity' if the folder holds that experiment, else None."""
    return next((k for k in KINDS if (Path(folder) / f"{k}.json").exists()), None)


def draw_experiment(folder: Path) -> list[Path]:
    """Redraw an experiment folder's figures."""
    kind = experiment_kind(folder)
    draw = {"comparison": draw_comparison, "sweep": draw_sweep, "sensitivity": draw_sensitivity}.get(kind)
    if draw is None:
        raise ValueError(f"{folder} is not an experiment folder (no comparison.json, sweep.json or sensitivity.json)")
    return draw(folder)


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

def draw_comparison(folder: Path) -> list[Path]:
    """Forest plot: each headline indicator's paired difference as % of the base mean, 95% CI, numbers beside."""
    from sim.engine.metrics import format_difference

    folder = Path(folder)
    spec = _spec(folder, "comparison")
    diffs = {(r["scenario"], r["indicator"]): r for r in _rows(folder / "differences.csv")}
    policies = [s["label"] for s in spec["scenarios"][1:]]
    base = spec["base"]
    rows = [(key, _english(label), kind) for key, label, kind in HEADLINE if (policies[0], key) in diffs]
    rel = {}  # (policy, key) -> (mid, lo, hi) in % of the base mean
    for policy in policies:
        for key, _, _ in rows:
            d = diffs[(policy, key)]
            scale = abs(float(d["base_mean"]))
            if scale > 0:
                rel[(policy, key)] = tuple(100 * float(d[c]) / scale for c in ("difference", "ci_low", "ci_high"))
    # The axis shows every estimate; intervals much wider than that are cut, with an arrow.
    limit = max([1.0] + [1.3 * abs(v[0]) for v in rel.values()])
    limit = max(limit, min(max([abs(x) for v in rel.values() for x in v[1:]] + [1.0]), 3 * limit))
    with plt.rc_context(style.STYLE):
        fig, ax = plt.subplots(figsize=(FIGSIZE[0] * 1.2, max(FIGSIZE[1], 0.6 * len(rows) * len(policies) + 2.5)))
        offsets = np.linspace(-0.2, 0.2, len(policies)) if len(policies) > 1 else [0.0]
        for k, policy in enumerate(policies):
            colour = PALETTE[k % len(PALETTE)]
            for row, (key, _, kind) in enumerate(rows):
                y = row + offsets[k]
                d = diffs[(policy, key)]
                text = format_difference(*(float(d[c]) for c in ("difference", "ci_low", "ci_high")), kind)
                ax.annotate(text, (1.01, y), xycoords=("axes fraction", "data"), va="center", fontsize=13,
                            color=colour, annotation_clip=False)
                if (policy, key) not in rel:
                    continue
                mid, lo, hi = rel[(policy, key)]
                excludes = lo > 0 or hi < 0
                ax.plot([max(lo, -limit), min(hi, limit)], [y, y], color=colour, linewidth=3.5,
                        solid_capstyle="round")
                for end, side in ((lo, -1), (hi, 1)):
                    if abs(end) > limit and np.sign(end) == side:
                        ax.plot([side * limit], [y], marker="<" if side < 0 else ">", color=colour, markersize=10)
                ax.plot([mid], [y], "o", color=colour, markersize=10, markeredgewidth=2.5,
                        markerfacecolor=colour if excludes else "white", label=policy if row == 0 else None)
        ax.axvline(0, color="black", linewidth=1.2)
        ax.set_xlim(-limit * 1.05, limit * 1.05)
        ax.set_yticks(range(len(rows)), [label for _, label, _ in rows])
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"Difference from {base}, % of the base mean (filled: 95% CI excludes 0)")
        window = spec.get("window")
        span = f", days {window[0]}-{window[1] - 1}" if window else ""
        fig.suptitle(f"Policy effects: paired differences from {base}{span}, {spec.get('replications')} "
                     "replications, 95% intervals", x=0.01, ha="left")
        if len(policies) > 1:
            ax.legend(loc="lower left")
        fig.tight_layout()
        path = _out(folder, "forest.png")
        fig.savefig(path, bbox_inches="tight")
        plt.close(fig)
    return [path]


# ------------------------------------------------------------------ sweep

def draw_sweep(folder: Path) -> list[Path]:
    """One figure per indicator: a line with its 95% band (one key) or a heatmap of means (two keys)."""
    folder = Path(folder)
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
        with plt.rc_context(style.STYLE):
            fig, ax = plt.subplots(figsize=FIGSIZE)
            if len(keys) == 1:
                _sweep_line(ax, mine, keys[0], name, spec)
            else:
                _sweep_heatmap(fig, ax, mine, keys, name, spec)
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


def _sweep_line(ax, rows, key, name, spec) -> None:
    x_text = [r[key] for r in rows]
    x = _numeric(x_text)
    positions = x if x is not None else list(range(len(rows)))
    mean, lo, hi = (np.array([float(r[c]) for r in rows]) for c in ("mean", "ci_low", "ci_high"))
    share = _is_share(name)
    k = 100 if share else 1
    ax.fill_between(positions, lo * k, hi * k, color=PALETTE[0], alpha=0.25, linewidth=0, label="95% CI")
    ax.plot(positions, mean * k, "o-", color=PALETTE[0], linewidth=3, markersize=8, label="mean")
    if x is None:
        ax.set_xticks(positions, x_text)
    ax.set_xlabel(key)
    ax.set_ylabel(f"{name} (%)" if share else name)
    ax.set_title(f"{name} as {key} varies ({spec['replications']} replications per point)", loc="left")
    ax.legend(loc="best")


def _sweep_heatmap(fig, ax, rows, keys, name, spec) -> None:
    xs = list(dict.fromkeys(r[keys[0]] for r in rows))
    ys = list(dict.fromkeys(r[keys[1]] for r in rows))
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in rows:
        grid[ys.index(r[keys[1]]), xs.index(r[keys[0]])] = float(r["mean"])
    share = _is_share(name)
    shown = grid * 100 if share else grid
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
    fig.colorbar(image, ax=ax, label=f"{name} (%)" if share else name)
    ax.set_title(f"{name}: mean of {spec['replications']} replications per cell", loc="left")


# ------------------------------------------------------------------ sensitivity

def draw_sensitivity(folder: Path) -> list[Path]:
    """One figure per indicator: parameters ranked by mu* (Morris) or ST (Sobol), with 95% intervals."""
    folder = Path(folder)
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
        with plt.rc_context(style.STYLE):
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
            ax.set_title(f"What moves {name}: {what}", loc="left")
            ax.set_xlabel(f"μ*: mean |effect| on {name} of a step across the range (σ: non-linear or interacting)"
                          if method == "morris" else f"share of the variance of {name} (ST: total, S1: alone)")
            ax.legend(loc="lower right")
            fig.tight_layout()
            fig.savefig(path)
            plt.close(fig)
        paths.append(path)
    return paths


def _english(label: str) -> str:
    """A headline label without its Chinese term (figures cannot count on a CJK font)."""
    return re.sub(r"\s*\([^)]*[\u4e00-\u9fff][^)]*\)", "", label)


def _is_share(name: str) -> bool:
    return "share" in name or name.endswith("_rate")


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
