"""A planner's report: one self-contained HTML file from a saved run folder.

    python run.py report results/xinxiang_2025/<timestamp>

writes `report.html` into the folder: the scenario in words (its description, the county,
the dated changes, the levers set away from the schema defaults), the headline
indicators before and after the first change, for a region its areas side by side (the table,
the policy's effect by area, the areas' figure: `sim.outputs.report_areas`), every run figure
embedded as a PNG with a sentence on what it shows, and the caveats. No external assets: it can be emailed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from sim.engine.indicators import BY_KEY, HEADLINE_ROWS, head, label, row_label
from sim.engine.metrics import format_indicator
from sim.outputs.area_table import is_region
from sim.outputs.html_parts import escape, figure_html
from sim.outputs.report_areas import area_section, region_in_words
from sim.outputs.results import atomic_file, load_run
from sim.outputs.runs import HEADS, format_effect
from sim.scenario.loader import ScenarioError, load
from sim.scenario.schema import Scenario

# Sections of a scenario that hold policy levers, in the order a planner reads them.
LEVER_SECTIONS = ("insurance", "referral", "signing", "medical_community", "providers.capacity_expansion")

# What each figure shows, one sentence; the figure's own title states the finding.
FIGURE_NOTES = {
    "visit_shares": "Where residents' visits happen, by tier, day by day (7-day windows); the lower panel is the "
                    "official indicator, the grassroots share of in-county visits (基层诊疗人次占比), with its mean "
                    "before and after the policy date.",
    "flow": "Every care episode from the tier where it first sought care (left) to the tier that finally treated it "
            "(right): hospital first contacts are bypassing of the grassroots, crossing bands are referrals.",
    "network": "The county's referral network on its map: facilities sized by visits and admissions, arrows by "
               "referrals (up in the referring tier's colour, down in purple); hospitals outside the county are "
               "drawn in the right-hand column with their distance.",
    "fund": "Pooled insurance fund spending per month by tier (hatched: out of county) against premiums, and the "
            "running balance of the fund since day 0.",
    "burden": "Who bears the cost: out-of-pocket spending and care forgone (not sought, or abandoned while waiting) "
              "by income fifth and by severity; before and after the first change when there is one.",
}

# Published figures a run is set against: the calibration targets shipped with TierFlow.
TARGETS_FILE = Path(__file__).resolve().parents[2] / "data" / "targets" / "county.yaml"
CALIBRATED_MARK = "# Calibrated by"
# Section headings: (English, Chinese).
SECTIONS = {"scenario": ("The scenario", "情景设定"), "indicators": ("Headline indicators", "主要指标"),
            "figures": ("Figures", "图表"), "caveats": ("Caveats", "使用须知")}


# ------------------------------------------------------------------ the scenario

def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as {dotted.path: value}; lists are kept whole."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def field_description(path: str) -> str:
    """The schema's description of a dotted parameter path ('' when unknown)."""
    model: Any = Scenario
    fld = None
    for part in path.split("."):
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return ""
        fld = fields[part]
        model = fld.annotation
        for arg in getattr(model, "__args__", ()) or ():  # Optional[Model]
            if hasattr(arg, "model_fields"):
                model = arg
    return (fld.description or "") if fld is not None else ""


def show_value(path: str, value: Any) -> str:
    """A parameter value as a planner reads it (rates as percentages, switches as on/off)."""
    last = path.rsplit(".", 1)[-1]
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    if isinstance(value, (int, float)) and (last in ("rate", "chronic_drug_rate", "target_rate", "initial_rate")
                                            or last.endswith("_share") or last.endswith("_penalty")
                                            or last == "grassroots_rate_bonus"):
        return f"{value:.0%}" if float(value * 100).is_integer() else f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:,.10g}"
    return str(value)


def lever_differences(resolved: dict) -> list[tuple[str, Any, Any]]:
    """(path, value, schema default) for every lever the scenario sets away from the default."""
    defaults = flatten(Scenario().model_dump(mode="json"))
    mine = flatten({k: v for k, v in resolved.items() if k != "changes"})
    out = []
    for path, value in mine.items():
        if not any(path == s or path.startswith(s + ".") for s in LEVER_SECTIONS):
            continue
        if defaults.get(path, object()) != value:
            out.append((path, value, defaults.get(path)))
    return out


def county_in_words(resolved: dict, residents: int) -> str:
    """One sentence describing the county."""
    w = resolved.get("world", {})
    tertiary = ", ".join(f"{t['name']} ({t['distance_km']:,.0f} km)" for t in w.get("tertiary", []))
    if w.get("files"):
        where = "a county loaded from the planner's CSV files"
    else:
        where = (f"a synthetic county of {w.get('townships')} townships with {w.get('villages_per_township')} villages "
                 f"each, {w.get('county_radius_km', 0):,.0f} km across its radius")
    p = resolved.get("population", {})
    return (f"{residents:,} residents in {where}; {p.get('share_60_plus', 0):.0%} aged 60+, "
            f"{p.get('employee_share', 0):.0%} in employee insurance. Out-of-county hospitals: {tertiary or 'none'}.")


def changes_in_words(resolved: dict) -> list[str]:
    """Each dated change as a sentence: its day, its label, and what it sets (from what)."""
    base = flatten({k: v for k, v in resolved.items() if k != "changes"})
    lines = []
    for ch in resolved.get("changes") or []:
        sets = []
        for path, value in (ch.get("set") or {}).items():
            was = base.get(path)
            was_text = f" (was {show_value(path, was)})" if path in base else ""
            sets.append(f"{path} = {show_value(path, value)}{was_text}")
            base[path] = value
        label = ch.get("label") or "a policy change"
        lines.append(f"From day {ch['day']}: {label}. Sets {'; '.join(sets)}.")
    return lines


# ------------------------------------------------------------------- HTML



def indicator_table(summary: dict, lang: str = "en") -> str:
    """The headline indicators: whole run, and before / after / change when the run has a dated change."""
    periods = summary.get("periods")
    day = summary["changes"][0]["day"] if periods and summary.get("changes") else None
    heads = [head("indicator", lang), head("whole_run", lang)]
    effect = "policy_effect" in summary
    if effect:
        heads += [_head_effect(name, lang) for name in ("without", "with", "effect")]
    if periods:
        heads += [head("before", lang, day=day), head("after", lang, day=day), head("change", lang)]
    rows = []
    for ind in HEADLINE_ROWS:
        key, kind = ind.key, ind.fmt
        cells = [escape(row_label(ind, lang, areas=is_region(summary))), escape(format_indicator(summary[key], kind, lang))]
        if effect:
            cells += [escape(format_indicator(periods["without_policy"][key], kind, lang)),
                      escape(format_indicator(periods["after"][key], kind, lang)),
                      escape(format_effect(summary["policy_effect"][key], kind, lang))]
        if periods:
            b, a = periods["before"][key], periods["after"][key]
            if kind == "pct":
                change = f"{(a - b) * 100:+.1f} pp"
            elif ind.total:
                change = head("period_totals", lang)  # the two periods differ in length: totals are not comparable
            else:
                change = f"{(a - b) / b:+.1%}" if b else "–"
            cells += [escape(format_indicator(b, kind, lang)), escape(format_indicator(a, kind, lang)), escape(change)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head_row = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in heads) + "</tr>"
    return f'<table class="ind"><thead>{head_row}</thead><tbody>{"".join(rows)}</tbody></table>'


def _head_effect(name: str, lang: str) -> str:
    return HEADS[name][1 if lang == "zh" else 0]


def calibration_note(run: dict) -> str:
    """The calibration record of the scenario files the run came from, if it still describes this run.

    A file written by `run.py calibrate` starts with a `# Calibrated by` header. The files may
    have changed since the run, so the note counts only if loading them today gives the run's
    behavioural constants; otherwise ''.
    """
    sources = run["manifest"].get("sources", [])
    for source in sources:
        try:
            lines = Path(source).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        if lines and lines[0].startswith(CALIBRATED_MARK):
            try:
                today = load(sources[-1]).base.model_dump(mode="json").get("behaviour")
            except ScenarioError:
                return ""
            if today != run["scenario"].get("behaviour"):
                return ""
            head = [line[1:].strip() for line in lines[:2] if line.startswith("#")]
            return f"{Path(source).name}: " + " ".join(head).rstrip(".")
    return ""


def benchmark_table(summary: dict, path: Path = TARGETS_FILE, lang: str = "en") -> str:
    """This run's indicators beside the published figures in the targets file ('' if it is missing)."""
    try:
        targets = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("targets", {})
    except (OSError, yaml.YAMLError):
        return ""
    rows = []
    for key, t in targets.items():
        if key not in summary or not isinstance(summary[key], (int, float)):
            continue
        kind = BY_KEY[key].fmt if key in BY_KEY else ("pct" if float(t["value"]) <= 1 else "num2")
        value, tol = float(t["value"]), float(t["tolerance"])
        within = abs(summary[key] - value) <= tol
        shown = (f"{value:.1%} ± {tol * 100:.1f} pp" if kind == "pct" else f"{value:,.2f} ± {tol:,.2f}")
        yes = head("yes", lang) if within else f"<b>{head('no', lang)}</b>"
        rows.append(f"<tr><td>{escape(label(key, lang))}</td><td>{escape(format_indicator(summary[key], kind, lang))}</td>"
                    f"<td>{shown}</td><td>{yes}</td><td>{escape(t.get('year', ''))}</td>"
                    f"<td>{escape(t.get('source', ''))}</td></tr>")
    if not rows:
        return ""
    heads = "".join(f"<th>{escape(head(h, lang))}</th>" for h in ("indicator", "this_run", "published", "within", "year",
                                                              "source"))
    return f'<table class="ind bench"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def caveats(run: dict) -> list[str]:
    """What a reader must know before using the numbers."""
    s, sc = run["summary"], run["scenario"]
    out = []
    if (sc.get("world") or {}).get("files"):
        out.append("The county's facilities and settlements come from the planner's CSV files; behaviour, prices and "
                   "insurance rules are the scenario's, not observed in this county.")
    else:
        out.append("The county is synthetic: townships, villages and travel times are generated from a few numbers in "
                   "the scenario, not taken from a real map.")
    note = calibration_note(run)
    if note:
        out.append("Calibration status: the behavioural constants were fitted to published figures; the run's "
                   f"scenario says: “{note}”. Prices, insurance rules and the county itself were not fitted. "
                   "The table below sets this run against the published figures.")
    elif sc.get("behaviour") == Scenario().model_dump(mode="json")["behaviour"]:
        out.append("Calibration status: not calibrated. The behavioural constants are the schema's defaults, set from "
                   "published choice studies and tuned by hand to national totals. The table below sets this run "
                   "against the published figures.")
    else:
        out.append("Calibration status: unknown. The behavioural constants differ from the schema's defaults, and no "
                   "calibration record among the scenario files matches this run. The table below sets this run "
                   "against the published figures.")
    if s.get("policy_effect"):
        start, end = s["policy_effect_window"]
        out.append(f"The policy's effect (columns without / with / effect) compares this run with the same scenario "
                   f"and seed without its dated changes, over days {start}-{end - 1}: both share their illnesses "
                   "until the policy acts, so the calendar (the insurance year) cancels out. It is still one "
                   "realisation. The before/after columns are not the policy's effect alone: they include the calendar "
                   "(deductibles and caps reset every 365 days), ramps and chance.")
    elif s.get("periods"):
        out.append("Before and after inside one run is not the policy's effect alone: the insurance year (deductibles "
                   "and caps reset every 365 days), ramps and chance differ between the two halves. For the effect, "
                   "compare the policy with its baseline on the same seeds (common random numbers) over several "
                   "replications.")
    out.append(f"One run is one realisation (seed {run['manifest'].get('seed', sc.get('seed'))}); small differences "
               "(a few tenths of a percentage point) may be chance. Replicate before drawing conclusions.")
    out.append("Not fit for: forecasting a particular county's budget or visit counts; judging individual clinical "
               "decisions; policies that act through things the model does not contain (drug prices, hospital "
               "management beyond capacity growth, supply of doctors, epidemics).")
    return out


CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",Helvetica,Arial,sans-serif;
max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.5}
h1{font-size:1.8em;margin-bottom:.2em} h2{border-bottom:2px solid #0072B2;padding-bottom:.2em;margin-top:1.6em}
.meta{color:#555} table.ind{border-collapse:collapse;width:100%;font-size:.95em}
table.ind th,table.ind td{padding:.35em .6em;border-bottom:1px solid #ddd;text-align:right}
table.ind th:first-child,table.ind td:first-child{text-align:left}
table.ind thead th{background:#f2f2f2} table.bench td:last-child{text-align:left;font-size:.85em}
figure{margin:1.5em 0} figure img{width:100%;border:1px solid #ddd}
figcaption{font-size:.95em;color:#333} code{background:#f4f4f4;padding:0 .2em} ul.levers li{margin:.15em 0}
"""


def build_report(folder: Path, lang: str = "en") -> str:
    """The report's HTML for a run folder (headings, indicator tables and figure labels in `lang`;
    the narrative sentences are English)."""
    from sim.outputs.plots.common import residents
    from sim.outputs.plots.run import build_figures

    folder = Path(folder)
    run = load_run(folder)
    s, sc, man = run["summary"], run["scenario"], run["manifest"]
    n = residents(run)
    zh = int(lang == "zh")
    parts = [f"<!DOCTYPE html><html lang=\"{'zh-CN' if lang == 'zh' else 'en'}\"><head><meta charset=\"utf-8\">"
             f"<title>TierFlow report: {escape(sc.get('name', ''))}</title><style>{CSS}</style></head><body>"]
    parts.append(f"<h1>{escape(sc.get('name', ''))}</h1>")
    parts.append(f"<p class=\"meta\">TierFlow {escape(man.get('tierflow_version', ''))} · "
                 f"run {escape(man.get('created', ''))} · "
                 f"{n:,} residents · {len(run['daily']['day'])} days · seed {escape(man.get('seed', ''))} · "
                 f"report written {escape(time.strftime('%Y-%m-%d %H:%M'))}</p>")

    parts.append(f"<h2>{escape(SECTIONS['scenario'][zh])}</h2>")
    if sc.get("description"):
        parts.append(f"<p>{escape(sc['description'].strip())}</p>")
    parts.append(f"<p>{escape(region_in_words(run, n) if is_region(s) else county_in_words(sc, n))}</p>")
    changes = changes_in_words(sc)
    if changes:
        parts.append("<p><b>Dated changes</b></p><ul>" + "".join(f"<li>{escape(c)}</li>" for c in changes) + "</ul>")
    else:
        parts.append("<p>No dated changes: the policy is the same all run.</p>")
    levers = lever_differences(sc)
    if levers:
        items = []
        for path, value, default in levers:
            what = field_description(path)
            items.append(f"<li><code>{escape(path)}</code>: {escape(show_value(path, value))} "
                         f"(schema default {escape(show_value(path, default))})"
                         + (f" — {escape(what)}" if what else "") + "</li>")
        parts.append("<p><b>Policy levers set away from the defaults</b> (insurance, referral, family doctors, medical "
                     "community, capacity)</p><ul class=\"levers\">" + "".join(items) + "</ul>")
    else:
        parts.append("<p>All policy levers are at their schema defaults.</p>")

    parts.append(f"<h2>{escape(SECTIONS['indicators'][zh])}</h2>")
    parts.append(indicator_table(s, lang))
    areas = area_section(run, lang)  # a region's areas side by side ('' for a county)
    if areas:
        parts.append(areas)

    parts.append(f"<h2>{escape(SECTIONS['figures'][zh])}</h2>")
    figures = build_figures(run, lang)
    for name, fig in figures.items():
        parts.append(figure_html(name, fig, FIGURE_NOTES.get(name, "")))

    parts.append(f"<h2>{escape(SECTIONS['caveats'][zh])}</h2><ul>"
                 + "".join(f"<li>{escape(c)}</li>" for c in caveats(run)) + "</ul>")
    parts.append(benchmark_table(s, lang=lang))
    parts.append(f"<p class=\"meta\">Re-run this scenario exactly: <code>python run.py {escape(folder / 'scenario.yaml')}"
                 f"</code>. Indicators are defined in the README (summary.json).</p></body></html>")
    return "\n".join(parts)


def write_report(folder: Path, lang: str = "en") -> Path:
    """Write `report.html` into the run folder atomically; return its path."""
    folder = Path(folder)
    text = build_report(folder, lang)
    final = folder / "report.html"
    with atomic_file(final) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return final
