"""Figures drawn from saved results (never from a live model): readable on a projector.

Large type, the Okabe-Ito colour-blind-safe palette, one colour per tier everywhere, and
titles that state the finding.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sim.results import load_run  # noqa: E402
from sim.schema import TIERS  # noqa: E402

TIER_COLOURS = {"village": "#009E73", "township": "#56B4E9", "county": "#E69F00", "tertiary": "#D55E00"}
TIER_LABELS = {"village": "Village clinics", "township": "Township health centres",
               "county": "County hospitals", "tertiary": "Tertiary hospitals (out of county)"}
STYLE = {"font.size": 15, "axes.titlesize": 18, "axes.labelsize": 16, "legend.fontsize": 13,
         "xtick.labelsize": 14, "ytick.labelsize": 14, "figure.dpi": 100, "axes.spines.top": False,
         "axes.spines.right": False}


def rolling(x: np.ndarray, window: int = 7) -> np.ndarray:
    """Trailing moving sum (shorter at the start), to smooth daily noise."""
    c = np.cumsum(np.insert(np.asarray(x, dtype=float), 0, 0.0))
    idx = np.arange(1, len(x) + 1)
    return c[idx] - c[np.maximum(idx - window, 0)]


def tier_visits(daily: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Daily visits by tier (both schemes)."""
    return {t: daily[f"visits_{t}_resident"] + daily[f"visits_{t}_employee"] for t in TIERS}


def mark_changes(ax, changes: list[dict]) -> None:
    """Draw a dashed line and label at each policy change."""
    for ch in changes:
        ax.axvline(ch["day"], color="black", linestyle="--", linewidth=1.5)
        ax.annotate(ch.get("label") or "policy change", (ch["day"], 0.98), xycoords=("data", "axes fraction"),
                    xytext=(6, 0), textcoords="offset points", va="top", fontsize=12)


def visit_shares(run: dict, path: Path) -> Path:
    """Stacked shares of visits by tier over time, policy days marked."""
    daily, summary = run["daily"], run["summary"]
    visits = {t: rolling(v) for t, v in tier_visits(daily).items()}
    total = np.maximum(sum(visits.values()), 1e-9)
    days = daily["day"]
    share = summary["grassroots_share"]
    title = f"{run['scenario']['name']}: grassroots share {share:.1%} of in-county visits"
    periods = summary.get("periods")
    if periods:
        b, a = periods["before"]["grassroots_share_all"], periods["after"]["grassroots_share_all"]
        title = f"{run['scenario']['name']}: grassroots share of all visits {b:.1%} → {a:.1%}"
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(12, 6.75))
        ax.stackplot(days, *[visits[t] / total for t in TIERS], colors=[TIER_COLOURS[t] for t in TIERS],
                     labels=[TIER_LABELS[t] for t in TIERS], alpha=0.9)
        mark_changes(ax, summary.get("changes", []))
        ax.set_xlim(days[0], days[-1])
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_xlabel("Day")
        ax.set_ylabel("Share of visits (7-day)")
        ax.set_title(title, loc="left")
        ax.legend(loc="lower left", framealpha=0.9)
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
    return path


FIGURES = {"visit_shares": visit_shares}


def draw_run(folder: Path) -> list[Path]:
    """Draw every run figure from a run folder's saved files into folder/figures/."""
    folder = Path(folder)
    run = load_run(folder)
    out = folder / "figures"
    out.mkdir(exist_ok=True)
    return [fn(run, out / f"{name}.png") for name, fn in FIGURES.items()]
