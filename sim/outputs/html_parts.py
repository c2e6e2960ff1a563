"""Pieces of the HTML report that its sections share: escaped text, and a figure inlined as a PNG."""

from __future__ import annotations

import base64
import html
from typing import Any


def escape(text: Any) -> str:
    """`text` as HTML-safe text."""
    return html.escape(str(text))


def figure_html(name: str, fig, note: str) -> str:
    """`fig` inlined as a PNG (id `fig-<name>`), its suptitle the finding (alt text and caption's
    lead), `note` after it. Closes the figure."""
    from sim.outputs.plots.run import png_bytes

    finding = fig.get_suptitle().replace("\n", " ")
    data = base64.b64encode(png_bytes(fig)).decode("ascii")
    return (f'<figure id="fig-{name}"><img alt="{escape(finding)}" src="data:image/png;base64,{data}">'
            f"<figcaption><b>{escape(finding)}.</b> {escape(note)}</figcaption></figure>")
