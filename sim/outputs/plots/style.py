"""The look shared by every figure: readable on a projector, colour-blind safe, one colour per tier.

Large type, the Okabe-Ito palette, and titles that state the finding. Labels are in
English, or in Chinese (`lang="zh"`) when a CJK font is installed; without one the
figures fall back to English and say so on stderr.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from sim.engine.indicators import for_areas, in_lang
from sim.scenario.schema import TIERS

# Okabe & Ito (2008), the colour-blind-safe palette; one colour per tier in every figure.
OKABE_ITO = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
             "grey": "#999999"}
TIER_COLOURS = {"village": "#009E73", "township": "#56B4E9", "county": "#E69F00", "tertiary": "#D55E00"}
BEFORE_COLOUR, AFTER_COLOUR = "#999999", OKABE_ITO["blue"]
DOWN_COLOUR = OKABE_ITO["purple"]
TIER_LABELS = {"village": "Village clinics", "township": "Township health centres",
               "county": "County hospitals", "tertiary": "Tertiary hospitals (out of county)"}
STYLE = {"font.size": 16, "axes.titlesize": 18, "axes.labelsize": 17, "legend.fontsize": 14,
         "xtick.labelsize": 15, "ytick.labelsize": 15, "figure.dpi": 100, "savefig.dpi": 110,
         "axes.spines.top": False, "axes.spines.right": False, "axes.titleweight": "bold",
         "axes.titlelocation": "left", "figure.titlesize": 22, "figure.titleweight": "bold",
         "axes.grid": True, "axes.grid.axis": "y", "grid.alpha": 0.3, "legend.framealpha": 0.9}
FIGSIZE = (13.33, 7.5)  # 16:9, a projector's shape

# --------------------------------------------------------------------- language

LANGS = ("en", "zh")
# English / Chinese; the Chinese names are the official statistical terms where one exists.
TEXT: dict[str, tuple[str, str]] = {
    "village": ("Village clinics", "村卫生室"),
    "township": ("Township health centres", "乡镇卫生院"),
    "county": ("County hospitals", "县级医院"),
    "tertiary": ("Tertiary hospitals (out of county)", "三级医院（县外）"),
    "village_short": ("Village", "村"),
    "township_short": ("Township", "乡镇"),
    "county_short": ("County", "县级"),
    "tertiary_short": ("Tertiary", "三级"),
    "day": ("Day", "天"),
    "footer": ("TierFlow {version} · {name} · {residents} residents · {days} days · seed {seed}",
               "TierFlow {version} · {name} · {residents} 人 · {days} 天 · 随机种子 {seed}"),
    "policy_change": ("policy change", "政策变化"),
    "share_of_visits": ("Share of visits (7-day)", "就诊人次占比（7日）"),
    "visits_by_tier": ("Where visits happen, by tier", "各级机构就诊人次占比"),
    "grassroots_in_county": ("Grassroots share of in-county visits (7-day)", "县域内基层诊疗人次占比（7日）"),
    "mean_before": ("mean before", "变化前均值"),
    "mean_after": ("mean after", "变化后均值"),
    "mean": ("mean", "均值"),
    "first_contact": ("First contact", "首诊机构"),
    "treated_at": ("Finally treated at", "最终诊治机构"),
    "episodes": ("episodes", "人次"),
    "flow_axes": ("Care episodes: where they began and where they were treated",
                  "就诊流向：首诊机构与最终诊治机构"),
    "network_axes": ("Referral routes on the county map (dot size: visits; arrow width: referrals)",
                     "县域转诊路径（点大小：就诊人次；箭头宽度：转诊人次）"),
    "km_east": ("km east of the county seat", "距县城以东（公里）"),
    "km_north": ("km north of the county seat", "距县城以北（公里）"),
    "longitude": ("Longitude (°E)", "经度（°E）"),
    "latitude": ("Latitude (°N)", "纬度（°N）"),
    "settlements": ("Villages (size: residents)", "村庄（大小：人口）"),
    "referral_up": ("Upward referral", "上转"),
    "referral_down": ("Downward referral", "下转"),
    "self_referral": ("Self-referral (no referral letter)", "自行转诊（无转诊单）"),
    "km_away": ("km away", "公里外"),
    "referrals_by_route": ("Referrals by route", "转诊人次（按路径）"),
    "fund_axes": ("Insurance fund spending by tier", "医保基金支出（按机构层级）"),
    "yuan_m": ("million yuan", "百万元"),
    "yuan_m_per": ("million yuan per {n} days", "百万元 / {n}天"),
    "premiums": ("Premiums", "基金收入"),
    "settlement": ("Medical community budget settlement", "医共体总额结算"),
    "serious_illness": ("Serious-illness insurance", "大病保险"),
    "balance_axes": ("Fund balance since day 0 (premiums − spending)", "基金累计结余（收入 − 支出）"),
    "balance": ("Balance", "累计结余"),
    "out_of_county": ("out of county", "县外"),
    "grassroots_phrase": ("the grassroots share of in-county visits", "县域内基层诊疗人次占比"),
    "shares_title_change": ("Grassroots share of in-county visits {move} from {before} to {after} after day {day}",
                            "第{day}天后，县域内基层诊疗人次占比由 {before} {move}至 {after}"),
    "shares_title": ("{name}: {share} of in-county visits are at the grassroots", "{name}：县域内基层诊疗人次占比 {share}"),
    "fund_phrase": ("the out-of-county share of fund spending", "县外医院占基金支出比例"),
    "fund_title_change": ("Out-of-county share of fund spending {move} from {before} to {after} after day {day}",
                          "第{day}天后，县外医院占基金支出由 {before} {move}至 {after}"),
    "fund_title": ("Out-of-county hospitals took {share} of fund spending", "县外医院占基金支出 {share}"),
    "balance_end": ("; balance {balance} M yuan", "；期末结余 {balance}百万元"),
    "network_title": ("{name} receives the most referrals ({n}); {share} of visits leave the county",
                      "{name} 接收转诊最多（{n} 人次）；{share} 的就诊在县外"),
    "network_title_none": ("No referrals; {share} of visits leave the county", "无转诊；{share} 的就诊在县外"),
    "oop_quintile_axes": ("Out-of-pocket per person per year", "人均年自付费用"),
    "forgone_quintile_axes": ("Care forgone per 1,000 residents per year", "每千人年未就医人次"),
    "oop_severity_axes": ("Out-of-pocket by kind of episode", "自付费用（按病情）"),
    "forgone_severity_axes": ("Care forgone by severity", "未就医（按病情）"),
    "yuan": ("yuan", "元"),
    "per_1000": ("per 1,000 residents / year", "每千人每年"),
    "yuan_per_person": ("yuan per resident / year", "元 / 人 / 年"),
    "income_group": ("Income group (fifths)", "收入五等分组"),
    "q1": ("Poorest", "最低"), "q2": ("2nd", "较低"), "q3": ("Middle", "中等"), "q4": ("4th", "较高"),
    "q5": ("Richest", "最高"),
    "minor": ("Minor", "轻症"), "moderate": ("Moderate", "中度"), "severe": ("Severe", "重症"),
    "critical": ("Critical", "危重"), "chronic": ("Chronic\nfollow-up", "慢病复诊"),
    "before": ("Before day {day}", "第{day}天前"),
    "after": ("From day {day}", "第{day}天起"),
    "whole_run": ("Whole run", "全程"),
    "not_sought": ("did not seek care", "未就医"),
    "gave_up": ("gave up waiting", "候诊放弃"),
}


# A region's figures (a prefecture, a province) say "in-area" for "in-county" (`for_areas`, as its
# tables do), and these where that is not enough: its tertiary hospitals are the city's and the
# province's it shares (in_county_share and out_of_county_fund_share are, in a region, the shares
# outside them), and its grassroots include the urban districts' community health services.
REGION_TEXT: dict[str, tuple[str, str]] = {
    "village": ("Village clinics and community health stations", "村卫生室、社区卫生服务站"),
    "township": ("Township and community health centres", "乡镇卫生院、社区卫生服务中心"),
    "county": ("County and district hospitals", "县区级医院"),
    "tertiary": ("City and provincial hospitals", "市级、省级医院"),
    "network_axes": ("Referral routes on the region's map (dot size: visits; arrow width: referrals)",
                     "区域转诊路径（点大小：就诊人次；箭头宽度：转诊人次）"),
    "out_of_county": ("out of the region", "区域外"),
    "fund_phrase": ("the city and provincial hospitals' share of fund spending", "市级、省级医院占基金支出比例"),
    "fund_title_change": ("City and provincial hospitals' share of fund spending {move} from {before} to {after} "
                          "after day {day}", "第{day}天后，市级、省级医院占基金支出由 {before} {move}至 {after}"),
    "fund_title": ("City and provincial hospitals took {share} of fund spending", "市级、省级医院占基金支出 {share}"),
    "network_title": ("{name} receives the most referrals ({n}); {share} of visits are at city and provincial "
                      "hospitals", "{name} 接收转诊最多（{n} 人次）；{share} 的就诊在市级、省级医院"),
    "network_title_none": ("No referrals; {share} of visits are at city and provincial hospitals",
                           "无转诊；{share} 的就诊在市级、省级医院"),
}
_OF_REGION: ContextVar[bool] = ContextVar("tierflow_region_words", default=False)


@contextmanager
def region_words(on: bool = True) -> Iterator[None]:
    """Within it, `tr`, `words` and `tier_label` say a region's words."""
    token = _OF_REGION.set(on)
    try:
        yield
    finally:
        _OF_REGION.reset(token)


def words(key: str) -> tuple[str, str]:
    """A label's (English, Chinese) pair; inside `region_words`, a region's own (REGION_TEXT) where it
    has one, else the county's said of areas (`for_areas`: 县域内 -> 区域内)."""
    if not _OF_REGION.get():
        return TEXT[key]
    return REGION_TEXT.get(key) or (for_areas(TEXT[key][0]), for_areas(TEXT[key][1]))


def tr(key: str, lang: str = "en", **fmt) -> str:
    """A label in the given language (`fmt` fills `{placeholders}`); a region's words inside `region_words`."""
    return in_lang(words(key), lang, **fmt)


def tier_label(tier: str, lang: str = "en", short: bool = False) -> str:
    """A tier's display name."""
    return tr(f"{tier}_short" if short else tier, lang)


# A CJK font that ships as a Python dependency (pylopdf-fonts-zh-cn: Noto Sans SC, SIL Open Font
# License 1.1), so Chinese draws on a fresh machine without Debian's fonts-noto-cjk. It is
# registered with matplotlib when this module is imported, and preferred to system fonts so
# figures look the same everywhere.
PACKAGED_CJK_FAMILY = "Noto Sans SC"


def packaged_cjk_font() -> Path | None:
    """The packaged Noto Sans SC file, or None when the package is not installed."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    return path if path.is_file() else None


def register_packaged_font() -> str | None:
    """Add the packaged CJK font to matplotlib's font manager; return its family name, or None."""
    from matplotlib import font_manager

    path = packaged_cjk_font()
    if path is None:
        return None
    if not any(Path(f.fname) == path for f in font_manager.fontManager.ttflist):
        try:
            font_manager.fontManager.addfont(str(path))
        except (RuntimeError, OSError):  # an unreadable font file: fall back to system fonts
            return None
    return PACKAGED_CJK_FAMILY


class _NoBoldFaceNote:
    """Drop matplotlib's note that the packaged font has no bold face (it then draws regular)."""

    def filter(self, record) -> bool:
        return not (PACKAGED_CJK_FAMILY in str(record.msg % record.args if record.args else record.msg)
                    and "Failed to find font weight" in str(record.msg))


def _quiet_font_notes() -> None:
    import logging

    log = logging.getLogger("matplotlib.font_manager")
    if not any(isinstance(f, _NoBoldFaceNote) for f in log.filters):
        log.addFilter(_NoBoldFaceNote())


register_packaged_font()
_quiet_font_notes()

# Installed CJK fonts go by many names; matplotlib reads the first face of a .ttc.
CJK_FAMILIES = (PACKAGED_CJK_FAMILY, "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK KR",
                "Source Han Sans SC", "Source Han Sans CN", "Source Han Sans", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "Noto Serif CJK SC", "Noto Serif CJK JP", "Droid Sans Fallback",
                "AR PL UMing CN", "AR PL UKai CN", "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC")
CJK_FILE = re.compile(r"cjk|wqy|wenquanyi|sourcehan|droidsansfallback|uming|ukai|simhei|msyh|pingfang", re.I)
_searched_disk = False


def find_cjk_font() -> str | None:
    """The family name of an installed font with Chinese glyphs, or None.

    Fonts installed after matplotlib built its font cache are found on disk and added.
    """
    global _searched_disk
    from matplotlib import font_manager

    def known() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((n for n in CJK_FAMILIES if n in names), None)

    found = known()
    if found or _searched_disk:
        return found
    _searched_disk = True
    for path in font_manager.findSystemFonts():
        if CJK_FILE.search(Path(path).name):
            try:
                font_manager.fontManager.addfont(path)
            except (RuntimeError, OSError):  # an unreadable font file: skip it
                continue
    return known()


def resolve_lang(lang: str) -> tuple[str, dict]:
    """The language figures will really use, and the matplotlib settings for it.

    `zh` needs a CJK font; without one this warns on stderr and falls back to English.
    English figures use an installed CJK font as a fallback for Chinese place names.
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; allowed: {', '.join(LANGS)}")
    style = dict(STYLE)
    if lang == "en":
        font = find_cjk_font()
        if font is not None:  # facility and place names may be Chinese even in English figures
            style["font.family"] = ["DejaVu Sans", font]
    if lang == "zh":
        font = find_cjk_font()
        if font is None:
            print("warning: --lang zh: no Chinese font found (looked for Noto Sans CJK, Source Han Sans, "
                  "WenQuanYi, ...); figures use English labels. Install one: `pip install pylopdf-fonts-zh-cn` "
                  "(TierFlow's dependency) or `apt-get install fonts-noto-cjk`.", file=sys.stderr)
            return "en", style
        style["font.family"] = [font, "DejaVu Sans"]
        style["axes.unicode_minus"] = False  # CJK fonts often lack U+2212
    return lang, style


# --------------------------------------------------------------------- helpers

def rolling(x: np.ndarray, window: int = 7) -> np.ndarray:
    """Trailing moving sum (shorter at the start), to smooth daily noise."""
    c = np.cumsum(np.insert(np.asarray(x, dtype=float), 0, 0.0))
    idx = np.arange(1, len(x) + 1)
    return c[idx] - c[np.maximum(idx - window, 0)]


def tier_visits(daily: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Daily visits by tier (both schemes)."""
    return {t: daily[f"visits_{t}_resident"] + daily[f"visits_{t}_employee"] for t in TIERS}


def mark_changes(ax, changes: list[dict], label: bool = True, lang: str = "en") -> None:
    """Draw a dashed line (and, with `label`, its label) at each policy change."""
    for ch in changes:
        ax.axvline(ch["day"], color="black", linestyle="--", linewidth=1.8, gid="policy-change")
        if label:
            text = textwrap.fill(ch.get("label") or tr("policy_change", lang), 34)
            ax.annotate(text, (ch["day"], 0.97),
                        xycoords=("data", "axes fraction"), xytext=(8, 0), textcoords="offset points",
                        va="top", fontsize=14, bbox={"boxstyle": "round,pad=0.25", "fc": "white",
                                                     "ec": "none", "alpha": 0.85})


def pct(x: float, digits: int = 1) -> str:
    """A share as a percentage."""
    return f"{x:.{digits}%}"
