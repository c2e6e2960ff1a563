"""Figures drawn from saved results (never from a live model).

`sim.outputs.plots.run` draws a run folder's figures (`draw_run(folder, lang="en")`); every
figure uses `sim.outputs.plots.style`: large type, the Okabe-Ito palette, one colour per tier,
and titles that state the finding. `lang="zh"` labels them in Chinese when a CJK font
is installed.
"""

import matplotlib

matplotlib.use("Agg")

from sim.outputs.plots.run import FIGURES, build_figures, draw_run  # noqa: E402

__all__ = ["FIGURES", "build_figures", "draw_run"]
