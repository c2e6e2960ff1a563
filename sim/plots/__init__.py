"""Figures drawn from saved results (never from a live model).

`sim.plots.run` draws a run folder's figures; every figure uses `sim.plots.style`.
"""

import matplotlib

matplotlib.use("Agg")

from sim.plots.run import draw_run  # noqa: E402

__all__ = ["draw_run"]
