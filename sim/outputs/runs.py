"""Running one scenario for the command line: the run, its counterfactual, the terminal table.

A scenario with dated changes is run twice on the same seed: as written, and without its changes
(the counterfactual). The model draws its random numbers per purpose and day, so both runs share
their illnesses until the policy acts; the difference over the policy period (first change day
to the end) is the policy's effect in this realisation, free of the insurance year and of most
of the chance that a before/after comparison mixes in.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from sim.engine.indicators import HEADLINE_ROWS, head, in_lang, row_label
from sim.engine.metrics import display_width, format_effect, format_indicator  # noqa: F401  (format_effect: re-exported)
from sim.outputs.area_table import area_tables, is_region
from sim.scenario.loader import Timeline

EFFECT_KEYS_SKIPPED = ("days", "periods", "changes", "window")

HEADS = {  # column heads of the terminal table for a run with a counterfactual
    "without": ("Without policy", "无政策"), "with": ("With policy", "有政策"), "effect": ("Effect", "政策效应"),
    "before": ("Before day {day}", "第{day}天前"), "after": ("From day {day}", "第{day}天起"),
    "calendar": ("(before/after: calendar and chance included)", "（前后对比：含年度周期与随机因素）"),
    "effect_note": ("Effect = with policy - without, same seed, days {start}-{end}",
                    "政策效应 = 有政策 - 无政策，同一随机种子，第{start}-{end}天"),
}


def _h(name: str, lang: str, **fmt) -> str:
    return in_lang(HEADS[name], lang, **fmt)


def difference(with_policy, without_policy):
    """`with_policy - without_policy`, key by key and item by item, nested like the summary."""
    if isinstance(with_policy, dict):
        return {k: difference(v, without_policy[k]) for k, v in with_policy.items()
                if k not in EFFECT_KEYS_SKIPPED and k in without_policy}
    if isinstance(with_policy, (list, tuple)):
        return [difference(a, b) for a, b in zip(with_policy, without_policy)]
    return float(with_policy) - float(without_policy)


def make_model(timeline: Timeline, partitions: int | None = None, scheduler: str | None = None, agents: bool = True):
    """The model a scenario asks for: one county, or a region of areas (on `partitions` Dask workers
    when given, through `scheduler` when it names one)."""
    if timeline.base.region is not None:
        from sim.region.model import RegionModel

        return RegionModel(timeline, partitions=partitions, scheduler=scheduler)
    from sim.engine.model import TierFlowModel

    return TierFlowModel(timeline, agents=agents)


def counterfactual(timeline: Timeline, start: int, partitions: int | None = None,
                   scheduler: str | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """Run the scenario's base (same seed, no dated changes): its summary over days [start, end)
    and its daily series."""
    model = make_model(Timeline(base=timeline.base), partitions, scheduler, agents=False)
    try:
        model.keep_totals_from(start)
        model.run()
        return model.summary_between(start, model.day), model.daily()
    finally:
        getattr(model, "close", lambda: None)()


def residents_of(timeline: Timeline) -> int:
    """Residents a scenario runs: its county's, or every area's of its region."""
    if timeline.base.region is None:
        return timeline.base.world.population
    from sim.scenario.region_files import region_plan

    return region_plan(timeline.base).population


def add_policy_effect(summary: dict, without: dict, start: int, end: int) -> dict:
    """Put the counterfactual's period summary and the effect (with minus without) into `summary`."""
    summary["periods"]["without_policy"] = without
    summary["policy_effect"] = difference(summary["periods"]["after"], without)
    summary["policy_effect_window"] = [start, end]
    return summary


def _tables(model) -> tuple[dict[str, dict[str, list]], dict]:
    """A finished model's map tables and what the manifest says of it."""
    from sim.region.model import RegionModel

    if isinstance(model, RegionModel):
        res = model.results()
        return model.tables(), {"coordinates": model.plan.coordinates, "agents": sum(r["agents"] for r in res),
                                "areas": len(model.areas), "partitions": model.partitions}
    return ({"facilities": model.facility_table(), "referrals": model.referral_table(),
             "settlements": model.settlement_table()},
            {"coordinates": model.world.coordinates, "agents": model.people.n})


def _cells(summary: dict, lang: str) -> tuple[list[str], list[dict], list[str | None]]:
    """Column heads, the summaries they show, and which columns are effects (by format)."""
    heads, cols, kinds = [head("whole_run", lang)], [summary], [None]
    periods = summary.get("periods")
    if not periods:
        return heads, cols, kinds
    day = summary["changes"][0]["day"] if summary.get("changes") else "?"
    if "policy_effect" in summary:
        heads += [_h("without", lang), _h("with", lang), _h("effect", lang)]
        cols += [periods["without_policy"], periods["after"], summary["policy_effect"]]
        kinds += [None, None, "effect"]
    heads += [_h("before", lang, day=day), _h("after", lang, day=day)]
    cols += [periods["before"], periods["after"]]
    kinds += [None, None]
    return heads, cols, kinds


def summary_table(summary: dict, lang: str = "en") -> str:
    """The headline indicators as a text table in `lang` ('en' or 'zh'). A run with dated changes
    shows, from the first change day, the run without the policy, with it and the effect, then
    the before/after columns (which include the calendar and chance). Columns are aligned by
    display width (a Chinese character takes two)."""
    heads, cols, kinds = _cells(summary, lang)
    heads = [h[0].lower() + h[1:] for h in heads] if lang == "en" else heads  # as before: "whole run"
    rows = [(row_label(ind, lang, areas=is_region(summary)), [format_effect(c[ind.key], ind.fmt, lang) if k == "effect"
                                     else format_indicator(c[ind.key], ind.fmt, lang)
                                     for c, k in zip(cols, kinds)])
            for ind in HEADLINE_ROWS]
    width = max(display_width(label) for label, _ in rows)
    widths = [max(17, display_width(h) + 3, *(display_width(cells[j]) + 3 for _, cells in rows))
              for j, h in enumerate(heads)]

    def line(first: str, cells: list[str]) -> str:
        return first + " " * (width - display_width(first)) + "".join(
            " " * (w - display_width(c)) + c for c, w in zip(cells, widths))
    lines = [line("", heads)] + [line(label, cells) for label, cells in rows]
    if "policy_effect" in summary:
        start, end = summary["policy_effect_window"]
        lines += ["", _h("effect_note", lang, start=start, end=end - 1), _h("calendar", lang)]
    return "\n".join(lines)


def run_tables(summary: dict, lang: str = "en") -> str:
    """What the terminal shows of a run: the headline indicators and, for a region, its areas side by
    side (and the policy's effect by area when the run has one)."""
    areas = area_tables(summary, lang)
    return summary_table(summary, lang) + (f"\n\n{areas}" if areas else "")


def saved_tables(folder: Path, lang: str = "en") -> str:
    """`run_tables` of a saved run folder (its summary.json)."""
    import json

    return run_tables(json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8")), lang)


def run_scenario(timeline: Timeline, out: Path, draw: bool = True, quiet: bool = False, lang: str = "en",
                 partitions: int | None = None, scheduler: str | None = None) -> Path:
    """Run one scenario (and, when it has dated changes, its counterfactual) and save its results
    folder (figure labels in `lang`); return the folder. A region's areas run on `partitions` Dask
    workers when given (a local cluster, or the one at `scheduler`)."""
    from sim.outputs.plots import draw_run
    from sim.outputs.results import manifest, save_run

    base = timeline.base
    started = time.perf_counter()
    residents = residents_of(timeline)
    if not quiet:
        print(f"TierFlow · {base.name} · {residents:,} residents · {base.days} days · "
              f"seed {base.seed}" + (f" · 1 agent = {base.scale} residents" if base.scale > 1 else ""))
    model = make_model(timeline, partitions, scheduler)
    try:
        model.run()
        summary = model.summary()
        if not quiet:
            for warning in model.scale_warnings():
                print(f"note: {warning}")
        tables, info = _tables(model)
    finally:
        getattr(model, "close", lambda: None)()
    extra = {}
    if summary.get("periods"):
        start, end = timeline.first_change_day, model.day
        if not quiet:
            print(f"and without its dated changes (same seed), for the policy's effect from day {start}")
        without, daily_without = counterfactual(timeline, start, partitions, scheduler)
        add_policy_effect(summary, without, start, end)
        extra["daily_without_policy"] = daily_without
    wall = time.perf_counter() - started
    meta = manifest(base.seed, wall, timeline.sources, timeline.overrides, residents=residents, days=base.days,
                    **info)
    folder = save_run(out, base.name, timeline.resolved(), model.daily(), summary, meta, tables=tables,
                      draw=(lambda folder: draw_run(folder, lang=lang)) if draw else None, extra_daily=extra)
    if not quiet:
        print(run_tables(summary, lang))
        print(f"\nResults: {folder}/  ({wall:.1f} s)")
    return folder
