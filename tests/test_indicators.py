"""The declared registry of indicators, and everything that reads it: tables, report, figures, checks."""

from __future__ import annotations

import ast
import csv
import inspect
import json
import re
import unicodedata
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import sim.engine.metrics
import sim.studies.experiment
from sim.cli import main, summary_table
from sim.engine import indicators
from sim.engine.indicators import BY_KEY, HEADLINE_ROWS, REGISTRY, indicator_names, label, label_with_unit
from sim.engine.metrics import COLUMNS, HEADLINE, PersonTotals, display_width, summarise
from sim.scenario.loader import ScenarioError
from sim.studies.experiment import _scalars, flat_indicators
from tests.conftest import ROOT, SCENARIOS, small_scenario

matplotlib.use("Agg")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def summary() -> dict:
    """The summary of a short run with a policy change (so it has before/after periods)."""
    scenario = small_scenario(population=3000, days=40, seed=2)
    from sim.engine.model import TierFlowModel
    from sim.scenario.loader import Timeline

    changed = scenario.model_copy(deep=True)
    changed.referral.downward.enabled = False
    timeline = Timeline(base=scenario, changes=[(20, "no downward referral", changed)], sources=[], overrides=[])
    return TierFlowModel(timeline, agents=False).run().summary()


# ------------------------------------------------------------------ the registry and summarise

def test_registry_and_summarise_have_exactly_the_same_keys_in_the_same_order(summary):
    keys = [ind.key for ind in REGISTRY]
    assert len(set(keys)) == len(keys)
    whole = {k: v for k, v in summary.items() if k not in ("periods", "changes")}
    assert list(whole) == keys
    assert list(summary["periods"]["before"]) == keys and list(summary["periods"]["after"]) == keys
    zeros = {c: np.zeros(1) for c in COLUMNS}
    empty = np.zeros(0)
    persons = PersonTotals(empty, empty, empty, 0.4, np.zeros(0, dtype=np.int64), 1)
    assert list(summarise(zeros, persons, 1)) == keys


def test_registry_declares_the_shape_of_every_nested_indicator(summary):
    # indicator_names() comes from the registry alone; it must name exactly the scalars a run reports.
    assert [name for name, _ in _scalars(summary)] == indicator_names()
    assert list(flat_indicators(summary)) == indicator_names()
    assert sim.studies.experiment.indicator_names() == indicator_names()
    assert "visits_by_tier_scheme.county.employee" in indicator_names()
    assert "oop_per_capita_by_income_quintile.5" in indicator_names() and "days" not in indicator_names()


def test_every_row_is_complete():
    for ind in REGISTRY:
        assert ind.en and not CJK.search(ind.en), ind.key
        assert CJK.search(ind.zh), ind.key  # a Chinese label for every key
        assert ind.fmt in ("pct", "money", "int", "num0", "num1", "num2"), ind.key
        assert ind.better in (-1, 0, 1), ind.key
        assert ind.unit in indicators.UNITS, ind.key
        assert (ind.unit == "share") == (ind.fmt == "pct"), ind.key
        for level in ind.dims:
            assert all(m in indicators.MEMBERS for m in level), ind.key
    assert BY_KEY["in_county_share"].zh == "县域内就诊率"
    assert BY_KEY["catastrophic_share"].zh == "灾难性卫生支出发生率"
    assert BY_KEY["grassroots_share_all"].zh == "基层诊疗人次占比"


def test_headline_is_the_registry_headline_in_order():
    assert HEADLINE == tuple((ind.key, ind.en, ind.fmt) for ind in HEADLINE_ROWS)
    assert [k for k, _, _ in HEADLINE][:3] == ["grassroots_share", "grassroots_share_all", "in_county_share"]
    assert len(HEADLINE) == 16


def test_labels_of_flattened_names():
    assert label("visits_by_tier.county") == "Visits, by tier: county hospitals"
    assert label("visits_by_tier.county", "zh") == "各级机构诊疗人次：县级医院"
    assert label("flow.village.tertiary") == "Episodes, by first-contact tier and treating tier: village clinics → " \
                                             "tertiary hospitals"
    assert label_with_unit("fund_balance") == "Fund balance (premiums - spending), million yuan"
    assert label_with_unit("grassroots_share", "zh") == "县域内基层诊疗人次占比（%）"
    assert label("not_a_key") == "not_a_key"


def test_no_function_in_metrics_is_longer_than_80_lines():
    tree = ast.parse(inspect.getsource(sim.engine.metrics))
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.end_lineno - node.lineno + 1 > 80]
    assert long == []
    for path in ("sim/engine/indicators.py", "sim/engine/metrics.py", "sim/outputs/report.py",
                 "sim/outputs/plots/compare.py", "sim/studies/experiment.py", "sim/cli.py"):
        assert len((ROOT / path).read_text(encoding="utf-8").splitlines()) < 500, path


def test_indicator_checks_read_the_registry_without_running_a_model(monkeypatch):
    from sim.engine import model
    from sim.studies.study import check_indicators

    monkeypatch.setattr(model, "TierFlowModel", None)  # a check that ran a model would fail here
    check_indicators(["grassroots_share", "visits_by_tier.county", "oop_per_capita_by_income_quintile.1"])
    with pytest.raises(ScenarioError, match="did you mean 'grassroots_share'"):
        check_indicators(["grasroots_share"])
    with pytest.raises(ScenarioError):
        check_indicators(["days"])


# ------------------------------------------------------------------ the terminal table

def _width_of_lines(text: str) -> set[int]:
    return {display_width(line.rstrip()) for line in text.splitlines()}


def test_summary_table_in_chinese_is_aligned_by_display_width(summary):
    zh = summary_table(summary, "zh")
    for ind in HEADLINE_ROWS:
        assert ind.zh in zh and ind.en not in zh
    assert "全程" in zh and "第20天前" in zh and "第20天起" in zh and "万元" in zh
    assert len(_width_of_lines(zh)) == 1  # every row ends in the same column
    en = summary_table(summary)
    assert "Grassroots share of in-county visits" in en and "before day 20" in en and "县域" not in en
    assert "Fund balance (premiums - spending), yuan" in en and "Out-of-pocket per person per year, yuan" in en
    assert len(_width_of_lines(en)) == 1


def test_run_with_lang_zh_prints_chinese_indicator_names(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([str(SCENARIOS / "baseline.yaml"), "--days", "20", "--set", "world.population=2000", "--out",
              str(tmp_path), "--no-figures", "--lang", "zh"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "县域内基层诊疗人次占比" in out and "县域内就诊率" in out and "灾难性卫生支出发生率" in out
    assert "Grassroots share" not in out


# ------------------------------------------------------------------ the report

def test_report_tables_in_chinese(summary, tmp_path):
    from sim.outputs.report import benchmark_table, indicator_table

    zh = indicator_table(summary, "zh")
    assert all(f"<td>{ind.zh}" in zh for ind in HEADLINE_ROWS)
    assert "<td>人均年自付医疗费用（元）</td>" in zh and "<td>医保基金当期结余</td>" in zh  # 万元 in the cells
    assert "<th>指标</th>" in zh and "<th>第20天前</th>" in zh and "<th>变化</th>" in zh
    assert "（时段合计）" in zh  # referrals are totals over periods of different lengths
    en = indicator_table(summary)
    assert "<th>Indicator</th>" in en and "<td>Upward referrals</td>" in en and not CJK.search(en)
    targets = tmp_path / "targets.yaml"
    targets.write_text("targets:\n  in_county_share: {value: 0.9, tolerance: 0.05, year: 2023, source: NHC}\n",
                       encoding="utf-8")
    bench = benchmark_table(summary, targets, lang="zh")
    assert "<td>县域内就诊率</td>" in bench and "<th>公开数据</th>" in bench
    assert "<td>In-county share of visits</td>" in benchmark_table(summary, targets)


def test_report_with_lang_zh_from_the_command_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(SCENARIOS / "xinxiang_2025.yaml"), "--days", "190", "--set", "world.population=2000", "--out",
              str(tmp_path), "--no-figures"])
    (folder,) = list((tmp_path / "xinxiang_2025").iterdir())
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(folder), "--lang", "zh"])
    assert exit_.value.code == 0
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in text and "<h2>主要指标</h2>" in text
    assert "<td>县域内就诊率</td>" in text and "<th>第183天起</th>" in text


# ------------------------------------------------------------------ experiment figures

def _comparison_folder(folder: Path, differences: dict[str, tuple[float, float, float, float]]) -> Path:
    """A comparison folder written by hand: key -> (base mean, difference, low, high)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "comparison.json").write_text(json.dumps(
        {"base": "base", "replications": 5, "scenarios": [{"label": "base"}, {"label": "policy"}]}))
    with open(folder / "differences.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["scenario", "base", "indicator", "base_mean", "scenario_mean", "n", "difference", "sd",
                    "ci_low", "ci_high"])
        for key, (base, diff, lo, hi) in differences.items():
            w.writerow(["policy", "base", key, base, base + diff, 5, diff, 0.1, lo, hi])
    return folder


def test_forest_plot_draws_each_indicator_on_its_own_axis_in_its_own_units(tmp_path, monkeypatch):
    from sim.outputs.plots import compare as plots

    drawn = {}
    monkeypatch.setattr(plots.plt, "close", lambda fig: drawn.setdefault("fig", fig))
    diffs = {ind.key: (1.0, 0.0, -0.001, 0.001) for ind in HEADLINE_ROWS}
    diffs["fund_balance"] = (1e6, 2.1e6, 1.9e6, 2.3e6)    # +210% of the base mean
    diffs["grassroots_share"] = (0.6, 0.003, 0.001, 0.005)  # +0.3 percentage points
    folder = _comparison_folder(tmp_path / "cmp", diffs)
    (path,) = plots.draw_comparison(folder)
    assert path.stat().st_size > 10_000
    axes = drawn["fig"].axes
    assert len(axes) == len(HEADLINE_ROWS)
    panel = {ind.key: ax for ind, ax in zip(HEADLINE_ROWS, axes)}
    lo, hi = panel["grassroots_share"].get_xlim()
    assert 0.5 < hi < 0.7 and lo == -hi  # in percentage points, not swamped by the fund's +210%
    assert 2.3 < panel["fund_balance"].get_xlim()[1] < 3  # million yuan
    texts = [t.get_text() for t in drawn["fig"].texts + [a for ax in axes for a in ax.texts]]
    assert any("Fund balance (premiums - spending)\n(million yuan)" == t for t in texts)
    assert any("Grassroots share of in-county visits\n(percentage points)" == t for t in texts)


def test_sweep_figures_use_the_registry_labels(tmp_path, monkeypatch):
    from sim.outputs.plots import compare as plots

    drawn = []
    monkeypatch.setattr(plots.plt, "close", drawn.append)
    folder = tmp_path / "sweep"
    folder.mkdir()
    (folder / "sweep.json").write_text(json.dumps({"keys": ["signing.target_rate"], "replications": 3,
                                                   "indicators": ["grassroots_share", "fund_by_tier.county"]}))
    with open(folder / "summary.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["point", "signing.target_rate", "indicator", "n", "mean", "sd", "ci_low", "ci_high"])
        for i, x in enumerate((0.3, 0.5, 0.7)):
            w.writerow([f"point-{i}", x, "grassroots_share", 3, 0.6 + x / 10, 0.01, 0.59 + x / 10, 0.61 + x / 10])
            w.writerow([f"point-{i}", x, "fund_by_tier.county", 3, 2e6, 1e5, 1.9e6, 2.1e6])
    paths = plots.draw_sweep(folder)
    assert len(paths) == 2
    share, money = (fig.axes[0] for fig in drawn)
    assert share.get_ylabel() == "Grassroots share of in-county visits, %"
    assert share.get_lines()[0].get_ydata()[0] == pytest.approx(63.0)
    assert money.get_ylabel() == "Fund spending, by tier: county hospitals, million yuan"
    assert money.get_lines()[0].get_ydata()[0] == pytest.approx(2.0)
    assert "grassroots_share" not in share.get_title()


def test_width_of_a_chinese_character_is_two_columns():
    assert display_width("县域内就诊率") == 12 and display_width("in county") == 9
    assert all(unicodedata.east_asian_width(ch) == "W" for ch in "基层")
