"""The classroom dashboard's words in English and Chinese (indicator names come from the registry)."""

from __future__ import annotations

from sim.engine.indicators import in_lang

# key -> (English, Chinese); `{...}` fields are filled by `say`.
WORDS: dict[str, tuple[str, str]] = {
    "title": ("TierFlow classroom", "TierFlow 分级诊疗课堂"),
    "switch_to": ("中文", "English"),  # the toggle names the other language
    "run": ("Run the county", "运行模拟"),
    "play": ("▶ Play", "▶ 播放"),
    "pause": ("❚❚ Pause", "❚❚ 暂停"),
    "step_week": ("Step a week", "前进一周"),
    "reset": ("Reset", "重新开始"),
    "speed": ("Play speed: {n} weeks a second", "播放速度：每秒 {n} 周"),
    "speed_one": ("Play speed: {n} week a second", "播放速度：每秒 {n} 周"),
    "finished": ("The year is over: Reset to start again.", "一年已结束：点“重新开始”再来一次。"),
    "county": ("County (choose, then Reset)", "县域设置（选好后点“重新开始”）"),
    "scenario_file": ("Scenario", "情景"),
    "residents": ("Residents simulated", "模拟居民人数"),
    "seed": ("Chance (seed)", "随机种子"),
    "levers": ("Policy levers (from tomorrow)", "政策杠杆（次日生效）"),
    "tertiary_outpatient": ("Tertiary outpatient reimbursement, residents", "三级医院门诊报销比例（城乡居民医保）"),
    "grassroots_outpatient": ("Grassroots outpatient reimbursement, residents", "基层门诊报销比例（城乡居民医保）"),
    "signing_target": ("Family-doctor signing target", "家庭医生签约目标"),
    "medical_community": ("County medical community (医共体)", "县域医共体"),
    "on": ("on", "开"), "off": ("off", "关"),
    "levers_now": ("Scenario {name}, {residents} residents, day {day}. Now: tertiary {tertiary}, grassroots "
                   "{grassroots}, signing target {target} (signed now {signed}; signing only rises), medical "
                   "community {community}.",
                   "情景 {name}，居民 {residents} 人，第 {day} 天。当前：三级医院门诊报销 {tertiary}，基层门诊报销 "
                   "{grassroots}，签约目标 {target}（已签约 {signed}，签约率只升不降），医共体 {community}。"),
    "shares_axes": ("Where visits happen", "就诊去向"),
    "day": ("Day", "天"),
    "share_of_visits": ("Share of visits (7-day)", "就诊人次占比（7日）"),
    "shares_text": ("Day {day} of {days} · {indicator}, last 7 days: {share} · policy changes so far: {changes}",
                    "第 {day} 天 / 共 {days} 天 · {indicator}（近7日）：{share} · 已实施政策调整：{changes} 次"),
    "flow_axes": ("Flow between tiers, last {window} days", "各级机构间的就诊流向（近 {window} 天）"),
    "flow_text": ("{first} of episodes began at a hospital; {moved} moved to another tier",
                  "{first} 的病次首诊在医院；{moved} 转往其他层级"),
    "network_axes": ("Referral network, last {window} days", "转诊网络（近 {window} 天）"),
    "network_text": ("{total} referrals in the last {window} days ({up} routes up, {down} down)",
                     "近 {window} 天转诊 {total} 人次（上转路线 {up} 条，下转 {down} 条）"),
    "resident_slot": ("Follow one resident", "跟踪一位居民"),
}


def say(key: str, lang: str = "en", **fmt) -> str:
    """A dashboard word in `lang` ('en' or 'zh'), with its fields filled."""
    return in_lang(WORDS[key], lang, **fmt)
