"""The look shared by every figure: readable on a projector, colour-blind safe, one colour per tier.

Large type, the Okabe-Ito palette, and titles that state the finding.
"""

from __future__ import annotations

import numpy as np

from sim.schema import TIERS

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


