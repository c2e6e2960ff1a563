"""What every run figure shares: facts read from a run folder, and figure set-up and titles."""

from __future__ import annotations

import re
import unicodedata

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from sim.outputs.plots.style import FIGSIZE, tr

# ------------------------------------------------------------------ run facts

def residents(run: dict) -> int:
    """Residents the run's counts stand for."""
    return int(run["manifest"].get("residents") or run["scenario"]["world"]["population"])


def first_change(run: dict) -> int | None:
    """Day of the first policy change that took effect, or None."""
    changes = run["summary"].get("changes") or []
    return changes[0]["day"] if changes and run["summary"].get("periods") else None


def periods(run: dict) -> list[tuple[str, int, int]]:
    """(key, start, end) spans: before/after the first change, or the whole run."""
    n = len(run["daily"]["day"])
    day = first_change(run)
    if day is None:
        return [("whole_run", 0, n)]
    return [("before", 0, day), ("after", day, n)]


def period_label(key: str, run: dict, lang: str) -> str:
    """'Before day 183' / 'From day 183' / 'Whole run'."""
    return tr(key, lang, day=first_change(run)) if key != "whole_run" else tr(key, lang)


def new_figure(rows: int = 1, cols: int = 1, **kw) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(rows, cols, figsize=FIGSIZE, layout="constrained", squeeze=False, **kw)
    fig.get_layout_engine().set(rect=(0, 0.035, 1, 0.965), h_pad=0.08, w_pad=0.08)
    return fig, axes


def wrap_title(text: str, width: int = 64) -> str:
    """Break a long title or name into lines of at most `width` columns (a Chinese character takes two)."""
    def cols(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)

    lines, line = [], ""
    # Split after spaces and Chinese punctuation, so both languages wrap at natural points;
    # a run of Chinese without either (a hospital's name) may break between characters.
    tokens = re.findall(r"[^\s；，、。]+[\s；，、。]*|\s+", text)
    tokens = [piece for token in tokens
              for piece in (re.findall(r"[\u3000-\u9fff\uff00-\uffef]|[^\u3000-\u9fff\uff00-\uffef]+", token)
                            if cols(token) > width else [token])]
    for token in tokens:
        if line and cols(line + token.rstrip()) > width:
            lines.append(line.rstrip())
            line = token
        else:
            line += token
    lines.append(line.rstrip())
    return "\n".join(lines)


def finish_figure(fig: Figure, run: dict, title: str, lang: str = "en") -> Figure:
    """The finding as the title, the run's identity as a footer."""
    fig.suptitle(wrap_title(title), x=0.01, ha="left")
    sc, man = run["scenario"], run["manifest"]
    foot = tr("footer", lang, version=man.get("tierflow_version", ""), name=sc.get("name", ""),
              residents=f"{residents(run):,}", days=len(run["daily"]["day"]), seed=man.get("seed", sc.get("seed", "")))
    fig.text(0.995, 0.006, foot, ha="right", va="bottom", fontsize=11, color="#555555")
    return fig


def rose_fell(before: float, after: float, lang: str) -> str:
    if lang == "zh":
        return "上升" if after > before else ("下降" if after < before else "持平")
    return "rose" if after > before else ("fell" if after < before else "stayed")


# ------------------------------------------------------- the policy's effect

def with_and_without(run: dict, key: str) -> tuple[float, float] | None:
    """(without the policy, with it) of a summary key over the policy period, when the run folder
    holds its counterfactual (same seed, no dated changes); else None."""
    s = run["summary"]
    if "policy_effect" not in s:
        return None
    return s["periods"]["without_policy"][key], s["periods"]["after"][key]


def effect_phrase(what: tuple[str, str], without: float, with_: float, lang: str, show=None,
                  unit: tuple[str, str] = (" points", "个百分点")) -> str:
    """'<what> rose by 0.04 points (63.5% without the policy, 63.6% with it)' in `lang`; shares by
    default, else `show` formats a value and `unit` follows the difference."""
    if show is None:
        digits = 2 if abs(with_ - without) < 0.001 else 1  # a small effect: enough digits to see it
        show, diff = (lambda v: f"{v:.{digits}%}"), f"{abs(with_ - without) * 100:.2f}"
    else:
        diff = show(abs(with_ - without))
    move = rose_fell(without, with_, lang)
    if lang == "zh":
        return f"{what[1]}{move} {diff}{unit[1]}（无政策 {show(without)}，有政策 {show(with_)}）"
    return f"{what[0]} {move} by {diff}{unit[0]} ({show(without)} without the policy, {show(with_)} with it)"


def effect_lead(run: dict, lang: str) -> str:
    """The start of a title about the policy's effect (against the same seed without the policy)."""
    day = run["summary"]["policy_effect_window"][0]
    return f"第{day}天起的政策效应：" if lang == "zh" else f"Policy effect from day {day}: "
