"""A region's areas side by side: one row per county or urban district, then the region's total.

    Area        Kind   Residents  Grassroots   Grassroots   In-area  Tertiary of  Fund spent  Out-of-pocket
                                    in-area    all visits    visits  hosp. visits out of area  yuan/person
    County 1    rural     43,334      58.1%        49.0%      84.3%        ...

The values are summary.json's: `areas.<id>.<key>` for an area and `<key>` for the region (the
total row); a run with a policy change gets a second table, the effect by area (with the policy
minus without it, same seed: `policy_effect.areas.<id>.<key>`). Terminal text here; the report's
HTML table (`sim.outputs.report_areas`) reads the same cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.engine.indicators import BY_KEY, in_lang
from sim.engine.metrics import display_width, format_effect, format_indicator


@dataclass(frozen=True)
class AreaColumn:
    """One indicator column: its summary.json key, a two-line head and its full name, in en and zh."""

    key: str
    head_en: tuple[str, str]
    head_zh: tuple[str, str]
    full_en: str
    full_zh: str

    def head(self, lang: str = "en") -> tuple[str, str]:
        """The two-line column head in `lang`."""
        return self.head_zh if lang == "zh" else self.head_en

    def full(self, lang: str = "en") -> str:
        """The indicator's full name in `lang`."""
        return self.full_zh if lang == "zh" else self.full_en


COLUMNS: tuple[AreaColumn, ...] = (
    AreaColumn("grassroots_share", ("Grassroots", "in-area"), ("区域内基层", "诊疗人次占比"),
               "grassroots share of the residents' visits within the area, the official definition (区域内基层诊疗人次占比)",
               "区域内基层诊疗人次占比：基层医疗卫生机构诊疗人次占居民在区域内就诊人次的比例（官方口径）"),
    AreaColumn("grassroots_share_all", ("Grassroots", "all visits"), ("基层占全部", "就诊比例"),
               "grassroots share of all the residents' visits, in the area and out of it",
               "基层占全部就诊比例：基层诊疗人次占居民全部就诊人次（含到区域外就诊）的比例"),
    AreaColumn("in_county_share", ("In-area", "visits"), ("区域内", "就诊率"),
               "in-area share of the residents' visits (区域内就诊率)",
               "区域内就诊率：居民在本区县内机构就诊的人次占全部就诊人次的比例"),
    AreaColumn("tertiary_share_of_hospital_visits", ("Tertiary of", "hosp. visits"), ("三级占医院", "诊疗比例"),
               "tertiary hospitals' share of hospital visits (三级医院占医院诊疗人次比例)",
               "三级医院占医院诊疗人次比例：三级医院诊疗人次占医院（区县医院与三级医院）诊疗人次的比例"),
    AreaColumn("out_of_county_fund_share", ("Fund spent", "out of area"), ("区域外基金", "支出占比"),
               "share of the insurance fund spent at hospitals out of the area (区域外医保基金支出占比)",
               "区域外医保基金支出占比：医保基金支付给区域外（市级、省级）医院的比例"),
    AreaColumn("oop_per_capita", ("Out-of-pocket", "yuan/person/yr"), ("人均自付", "（元/年）"),
               "out-of-pocket spending per person per year, yuan (人均年自付医疗费用)", "人均年自付医疗费用（元/年）"),
)

WORDS: dict[str, tuple[str, str]] = {
    "area": ("Area", "区县"), "kind": ("Kind", "类型"), "residents": ("Residents", "常住人口"),
    "urban": ("urban", "市辖区"), "rural": ("rural", "县（市）"), "total": ("Region", "全区域"),
    "title": ("Areas side by side, whole run ({days} days)", "各区县并列（全程，{days}天）"),
    "effect_title": ("Policy effect by area: with the policy minus without it, same seed, days {start}-{end}",
                     "各区县政策效应：有政策 − 无政策，同一随机种子，第{start}-{end}天"),
    "columns": ("Columns:", "指标说明："),
    "values": ("Values as in summary.json: areas.<id>.<key>; the region's row is the region's own indicator.",
               "数值与 summary.json 一致（areas.<区县id>.<指标>）；全区域一行为全区域指标。"),
}


def word(name: str, lang: str = "en", **fmt) -> str:
    """A fixed word of the area tables in `lang`."""
    return in_lang(WORDS[name], lang, **fmt)


def is_region(summary: dict) -> bool:
    """True for a region run's summary (it has `areas`)."""
    return bool(summary.get("areas"))


def is_region_comparison(spec: dict) -> bool:
    """True for a comparison (comparison.json) of regions only: its labels then say in-area (区域内)."""
    return all(s.get("region") for s in spec["scenarios"])


def has_area_effect(summary: dict) -> bool:
    """True for a region run with a policy change (its `policy_effect` has `areas`)."""
    return is_region(summary) and "areas" in summary.get("policy_effect", {})


def area_name(area_id: str, info: dict, lang: str = "en") -> str:
    """An area's name in `lang` (the Chinese name when there is one, else the name; else its id)."""
    if lang == "zh" and info.get("name_zh"):
        return str(info["name_zh"])
    return str(info.get("name") or info.get("name_zh") or area_id)


def area_ids(summary: dict) -> list[str]:
    """The region's area ids in the tables' order: urban districts, then counties, each largest first
    (then by id). The order does not depend on the summary's key order, which summary.json sorts."""
    info = summary.get("area_info") or {}

    def key(aid: str) -> tuple:
        meta = info.get(aid, {})
        return (meta.get("kind") != "urban", -int(meta.get("population", 0)), aid)
    return sorted(summary.get("areas") or {}, key=key)


def table_rows(summary: dict, lang: str = "en", effect: bool = False) -> list[list[str]]:
    """The table's cells, one row per area then the region's: name, kind, residents and one cell per
    column of `COLUMNS`; with `effect`, the policy's effect instead of the whole run's values."""
    info = summary.get("area_info") or {}
    values = summary["policy_effect"] if effect else summary
    show = (lambda v, fmt: format_effect(v, fmt, lang)) if effect else (lambda v, fmt: format_indicator(v, fmt, lang))
    rows = []
    for aid in area_ids(summary):
        meta = info.get(aid, {})
        kind = meta.get("kind", "")
        rows.append([area_name(aid, meta, lang), word(kind, lang) if kind in ("urban", "rural") else kind,
                     f"{int(meta.get('population', 0)):,}"]
                    + [show(values["areas"][aid][c.key], BY_KEY[c.key].fmt) for c in COLUMNS])
    total = sum(int(m.get("population", 0)) for m in info.values())
    rows.append([word("total", lang), "", f"{total:,}"] + [show(values[c.key], BY_KEY[c.key].fmt) for c in COLUMNS])
    return rows


def table_heads(lang: str = "en") -> list[tuple[str, str]]:
    """The two-line heads of every column, the area's name, kind and residents first."""
    return [(word("area", lang), ""), (word("kind", lang), ""), (word("residents", lang), "")] + [
        c.head(lang) for c in COLUMNS]


def _text(heads: list[tuple[str, str]], rows: list[list[str]]) -> list[str]:
    """Aligned lines: the first two columns to the left, numbers to the right (by display width)."""
    widths = [max(display_width(h[0]), display_width(h[1]), *(display_width(r[j]) for r in rows))
              for j, h in enumerate(heads)]

    def line(cells: list[str]) -> str:
        out = ""
        for j, (cell, w) in enumerate(zip(cells, widths)):
            pad = " " * (w - display_width(cell))
            out += (cell + pad + "  ") if j < 2 else ("  " + pad + cell)
        return out.rstrip()
    rule = "-" * len(line(["x" * w for w in widths]))
    body = [line(r) for r in rows]
    return [line([h[0] for h in heads]), line([h[1] for h in heads]), rule, *body[:-1], rule, body[-1]]


def legend(lang: str = "en") -> list[str]:
    """What each column measures, in `lang`."""
    lines = [word("columns", lang)]
    for c in COLUMNS:
        lines.append(f"  {' '.join(c.head(lang))}: {c.full(lang)}" if lang == "en" else f"  {c.full(lang)}")
    return lines + [word("values", lang)]


def area_table(summary: dict, lang: str = "en") -> str:
    """The areas side by side over the whole run, as terminal text ('' for a county run)."""
    if not is_region(summary):
        return ""
    title = word("title", lang, days=int(summary.get("days", 0)))
    return "\n".join([title, *_text(table_heads(lang), table_rows(summary, lang))])


def effect_table(summary: dict, lang: str = "en") -> str:
    """The policy's effect by area as terminal text ('' without a policy change or for a county)."""
    if not has_area_effect(summary):
        return ""
    start, end = summary["policy_effect_window"]
    title = word("effect_title", lang, start=start, end=end - 1)
    return "\n".join([title, *_text(table_heads(lang), table_rows(summary, lang, effect=True))])


def area_tables(summary: dict, lang: str = "en") -> str:
    """Everything the terminal shows of a region's areas: the table, the effect table when there is
    one, and what the columns measure ('' for a county run)."""
    parts = [t for t in (area_table(summary, lang), effect_table(summary, lang)) if t]
    if not parts:
        return ""
    return "\n\n".join(parts + ["\n".join(legend(lang))])
