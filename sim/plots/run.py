"""Figures of one run, drawn from its saved results folder."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from sim.plots.style import STYLE, TIER_COLOURS, TIER_LABELS, mark_changes, rolling, tier_visits
from sim.results import load_run
from sim.schema import TIERS

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
