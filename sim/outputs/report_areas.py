"""The report's "Areas" section (区县) for a region run: the areas side by side, the policy's effect by
area when the run has one, and the areas' figure. A county run's report has no such section.

The tables hold the cells of the terminal's (`sim.outputs.area_table`), so the report, the terminal
and summary.json agree.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from sim.outputs.area_table import area_ids, has_area_effect, is_region, legend, table_heads, table_rows, word
from sim.outputs.html_parts import escape, figure_html
from sim.outputs.plots.areas import fig_areas
from sim.outputs.plots.style import resolve_lang

HEADING = ("Areas", "区县")
FIGURE_NOTE = ("Each area where its residents live (a square for an urban district, a circle for a county; size: "
               "residents), coloured by the official grassroots share of in-area visits (区域内基层诊疗人次占比); beside it "
               "the same share area by area, with the region's as a dashed line.",
               "各区县位于其居民所在处（方形为市辖区，圆形为县；大小为常住人口），颜色为区域内基层诊疗人次占比；右侧为各区县的"
               "同一指标，虚线为全区域。")
CSS = ("table.areas td:nth-child(2){text-align:left} table.areas tr.total td{font-weight:bold;"
       "border-top:2px solid #999} p.legend{font-size:.9em;color:#444}")


def html_table(summary: dict, lang: str = "en", effect: bool = False) -> str:
    """The areas side by side (or the policy's effect by area) as an HTML table, the region's row last."""
    sep = "" if lang == "zh" else " "
    heads = "".join(f"<th>{escape(sep.join(h).strip())}</th>" for h in table_heads(lang))
    rows = table_rows(summary, lang, effect=effect)
    body = "".join(("<tr class=\"total\">" if k == len(rows) - 1 else "<tr>") + "".join(f"<td>{escape(c)}</td>" for c in r)
                   + "</tr>" for k, r in enumerate(rows))
    return f'<table class="ind areas"><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table>'


def _figure(run: dict, lang: str) -> str:
    lang, style = resolve_lang(lang)
    with plt.rc_context(style):
        return figure_html("areas", fig_areas(run, lang), FIGURE_NOTE[1 if lang == "zh" else 0])


def region_in_words(run: dict, residents: int) -> str:
    """One sentence describing a region: its areas by kind and the hospitals they share."""
    info = run["summary"].get("area_info") or {}
    kinds = [i.get("kind") for i in info.values()]
    fac = (run.get("tables") or {}).get("facilities") or {}
    shared = sum(1 for a, tier in zip(fac.get("area", []), fac.get("tier", [])) if a in ("", None) and tier == "tertiary")
    names = ", ".join(info[a].get("name") or a for a in area_ids(run["summary"]) if a in info)
    return (f"{residents:,} residents in {len(info)} areas ({kinds.count('urban')} urban districts, "
            f"{kinds.count('rural')} counties: {names}) sharing {shared} city and provincial hospitals "
            "(see the Areas section).")


def area_section(run: dict, lang: str = "en") -> str:
    """The report's Areas section for a loaded region run ('' for a county run)."""
    s = run["summary"]
    if not is_region(s):
        return ""
    zh = int(lang == "zh")
    parts = [f"<style>{CSS}</style>", f'<h2 id="areas">{escape(HEADING[zh])}</h2>',
             f"<p><b>{escape(word('title', lang, days=int(s.get('days', 0))))}</b></p>", html_table(s, lang)]
    if has_area_effect(s):
        start, end = s["policy_effect_window"]
        parts += [f"<p><b>{escape(word('effect_title', lang, start=start, end=end - 1))}</b></p>",
                  html_table(s, lang, effect=True)]
    lines = legend(lang)
    parts.append(f'<p class="legend">{escape(lines[0])}<br>' + "<br>".join(escape(x.strip()) for x in lines[1:]) + "</p>")
    parts.append(_figure(run, lang))
    return "\n".join(parts)
