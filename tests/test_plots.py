"""Run figures are drawn from a saved results folder and show what their titles claim.

A small Xinxiang run (policy on day 183) and a small baseline run are saved once; the
figures are rebuilt from the folders alone and inspected as matplotlib objects: axes,
series, the policy marker at the change day, and titles whose numbers match summary.json.
"""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex
import numpy as np
import pytest

from sim.cli import run_scenario
from sim.engine.metrics import group
from sim.outputs.plots import FIGURES, build_figures, draw_run
from sim.outputs.plots import style
from sim.outputs.plots.common import wrap_title
from sim.outputs.plots.flows import DOWN_COLOUR, UP_COLOUR, aggregate_routes, draw_network, flow_matrix, route_hubs
from sim.outputs.plots.run import burden_table, fund_by_tier_daily
from sim.outputs.results import load_run
from sim.scenario.schema import TIERS
from tests.conftest import ROOT, load_small

CHANGE = 183


@pytest.fixture(scope="module")
def policy_folder(tmp_path_factory):
    """A saved Xinxiang run: 6,000 residents, 240 days, the policy from day 183."""
    timeline = load_small("xinxiang_2025.yaml", seed=3, population=6000, days=240)
    return run_scenario(timeline, tmp_path_factory.mktemp("runs"), draw=False, quiet=True)


@pytest.fixture(scope="module")
def baseline_folder(tmp_path_factory):
    """A saved baseline run without dated changes."""
    timeline = load_small("baseline.yaml", seed=3, population=5000, days=90)
    return run_scenario(timeline, tmp_path_factory.mktemp("runs"), draw=False, quiet=True)


@pytest.fixture(scope="module")
def policy(policy_folder):
    """The saved policy run, read back, and its figures (English)."""
    run = load_run(policy_folder)
    figures = build_figures(run, "en")
    yield run, figures
    for fig in figures.values():
        plt.close(fig)


def _title(fig) -> str:
    """The figure's finding on one line (long titles wrap)."""
    return fig.get_suptitle().replace("\n", " ")


def _policy_lines(ax) -> list[float]:
    return [line.get_xdata()[0] for line in ax.get_lines() if line.get_gid() == "policy-change"]


@pytest.mark.slow
def test_draw_run_needs_only_the_saved_files(policy_folder, tmp_path):
    copy_ = tmp_path / "copied_run"
    shutil.copytree(policy_folder, copy_)  # far from the model that made it
    paths = draw_run(copy_)
    assert [p.name for p in paths] == [f"{name}.png" for name in FIGURES]
    for p in paths:
        image = plt.imread(p)
        assert image.shape[0] >= 700 and image.shape[1] >= 1300  # 16:9, projector size
        assert image[..., :3].std() > 0.05  # not blank


def test_visit_shares_stack_tiers_and_mark_the_policy_day(policy):
    run, figures = policy
    fig = figures["visit_shares"]
    top, bottom = fig.axes
    labels = [c.get_label() for c in top.collections]
    assert labels == [style.TIER_LABELS[t] for t in TIERS]
    assert top.get_ylabel() == "Share of visits (7-day)" and bottom.get_xlabel() == "Day"
    assert _policy_lines(top) == [CHANGE] and _policy_lines(bottom) == [CHANGE]
    assert any("Xinxiang 2025" in t.get_text() for t in top.texts)
    # The means drawn before and after the change are the summary's official indicator.
    periods = run["summary"]["periods"]
    means = {c.get_gid(): c.get_segments()[0][0][1] for c in bottom.collections if c.get_gid()}
    assert means["mean-before"] == pytest.approx(periods["before"]["grassroots_share"], abs=1e-9)
    assert means["mean-after"] == pytest.approx(periods["after"]["grassroots_share"], abs=1e-9)
    title = _title(fig)
    # The title is the policy's effect: with it against the same seed without it, not before/after.
    b, a = periods["without_policy"]["grassroots_share"], periods["after"]["grassroots_share"]
    digits = 2 if abs(a - b) < 0.001 else 1
    assert f"{b:.{digits}%} without the policy" in title and f"{a:.{digits}%} with it" in title
    assert f"day {CHANGE}" in title
    assert ("rose" if a > b else "fell" if a < b else "stayed") in title
    assert f"{abs(run['summary']['policy_effect']['grassroots_share']) * 100:.2f} points" in title


def test_flow_diagram_is_the_summary_flow_matrix(policy):
    run, figures = policy
    fig = figures["flow"]
    m = flow_matrix(run["summary"]["flow"])
    nodes, ribbons = fig.flow_patches["nodes"], fig.flow_patches["ribbons"]
    first = np.array([nodes[("first", t)].get_height() for t in TIERS])
    final = np.array([nodes[("final", t)].get_height() for t in TIERS])
    np.testing.assert_allclose(first / first.sum(), m.sum(axis=1) / m.sum())
    np.testing.assert_allclose(final / final.sum(), m.sum(axis=0) / m.sum())
    # One ribbon per non-empty cell; moves between tiers (referral, bypass) are among them.
    assert set(ribbons) == {(a, b) for i, a in enumerate(TIERS) for j, b in enumerate(TIERS) if m[i, j] > 0}
    assert any(a != b for a, b in ribbons)
    before = flow_matrix(run["summary"]["periods"]["without_policy"]["flow"])
    after = flow_matrix(run["summary"]["periods"]["after"]["flow"])
    title = _title(fig)
    assert f"{before[2:].sum() / before.sum():.1%}" in title and f"{after[2:].sum() / after.sum():.1%}" in title


def test_network_draws_every_referral_route_on_the_map(policy):
    run, figures = policy
    fig = figures["network"]
    ax = fig.axes[0]
    ref = run["tables"]["referrals"]
    routes = aggregate_routes(run["tables"])
    between = {k: c for k, c in routes.items() if k[0] != k[1]}
    # Routes are aggregated (a village clinic's referrals travel with its township centre), and
    # every referral is in exactly one route.
    assert sum(routes.values()) == pytest.approx(sum(c for c in ref["count"] if c > 0))
    drawn = {"up": sum(k[2] == "up" for k in between), "down": sum(k[2] == "down" for k in between)}
    assert fig.referral_lines == drawn and drawn["up"] > 0 and drawn["down"] > 0
    arrows = [p for p in ax.patches if (p.get_gid() or "").startswith("referral-")]
    assert len(arrows) == len(between) < len([c for c in ref["count"] if c > 0]) / 2  # far fewer than pairs
    # The legend's line samples look like the arrows: same colour per direction, formal ones solid.
    legend = {t.get_text(): h for t, h in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles)}
    for direction, colour in (("up", UP_COLOUR), ("down", DOWN_COLOUR)):
        sample = legend[style.tr(f"referral_{direction}")]
        assert to_hex(sample.get_color()) == to_hex(colour)
        assert {to_hex(a.get_edgecolor()) for a in arrows if a.get_gid() == f"referral-{direction}-formal"} == {
            to_hex(colour)}
    # Self-referrals (no referral slip) are in the table: dashed arrows, and a dashed legend sample.
    assert "self" in ref["kind"] and style.tr("self_referral") in legend
    assert legend[style.tr("self_referral")].get_linestyle() == "--"
    assert any((a.get_gid() or "").endswith("-self") for a in arrows)
    villages = [c for c in ax.collections if c.get_gid() == "settlements"]
    assert len(villages[0].get_offsets()) == len(run["tables"]["settlements"]["id"])
    fac = run["tables"]["facilities"]
    for tier in TIERS:
        (points,) = [c for c in ax.collections if c.get_gid() == f"facilities-{tier}"]
        assert len(points.get_offsets()) == fac["tier"].count(tier)
    assert ax.get_xlabel() == "km east of the county seat" and ax.get_ylabel() == "km north of the county seat"
    assert "Provincial Hospital" in " ".join(t.get_text() for t in ax.texts)  # drawn, with its distance
    ooc = 1 - run["summary"]["in_county_share"]
    assert f"{ooc:.1%} of visits leave the county" in _title(fig)


def test_self_referrals_in_a_kind_column_are_drawn_dashed_and_named_in_the_legend(policy):
    tables = copy.deepcopy(policy[0]["tables"])
    ref = tables["referrals"]
    ref["kind"] = ["self" if t.startswith("H") else "formal" for t in ref["to_id"]]
    fig, ax = plt.subplots()
    try:
        draw_network(ax, tables)
        dashed = [p for p in ax.patches if p.get_gid() == "referral-up-self"]
        assert dashed and all(p.get_linestyle() not in ("-", "solid") for p in dashed)
        assert style.tr("self_referral") in [t.get_text() for t in ax.get_legend().get_texts()]
    finally:
        plt.close(fig)


def test_village_clinics_route_through_their_nearest_township_centre(policy):
    tables = policy[0]["tables"]
    fac = tables["facilities"]
    hubs = route_hubs(tables)
    tier = dict(zip(fac["id"], fac["tier"]))
    assert all(tier[hubs[f]] == "township" for f in fac["id"] if tier[f] == "village")
    assert all(hubs[f] == f for f in fac["id"] if tier[f] != "village")


def test_no_two_value_labels_overlap_in_any_figure(policy):
    run, figures = policy
    for name, fig in figures.items():
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == "value-label"]
            for i, a in enumerate(boxes):
                for b in boxes[i + 1:]:
                    assert not a.overlaps(b), f"{name}: two value labels overlap"
    assert sum(t.get_gid() == "value-label" for ax in figures["burden"].axes for t in ax.texts) >= 20


def test_no_figure_function_is_over_80_lines():
    import inspect

    from sim.outputs.plots import common, flows, run as run_module, style as style_module
    for module in (flows, run_module, common, style_module):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__:
                assert len(inspect.getsource(fn).splitlines()) <= 80, f"{module.__name__}.{name}"


def test_network_of_a_csv_county_is_labelled_in_longitude_and_latitude(policy):
    run = copy.deepcopy(policy[0])
    run["scenario"]["world"]["files"] = {"facilities": "facilities.csv", "settlements": "settlements.csv"}
    run["manifest"]["coordinates"] = "lonlat"  # what a CSV county's run records
    for table in ("facilities", "settlements"):
        t = run["tables"][table]
        t["x"] = [113.9 + x / 90 for x in t["x"]]
        t["y"] = [35.3 + y / 111 for y in t["y"]]
    fig = build_figures(run, "en", names=["network"])["network"]
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Longitude (°E)" and ax.get_ylabel() == "Latitude (°N)"
    plt.close(fig)


def test_fund_bars_add_up_to_the_fund_and_the_balance_to_the_summary(policy):
    run, figures = policy
    fig = figures["fund"]
    top, bottom = fig.axes
    daily = run["daily"]
    by_tier = fund_by_tier_daily(daily)
    n = len(daily["day"])
    for tier in TIERS:
        bars = [p for p in top.patches if p.get_gid() == f"fund-{tier}"]
        assert len(bars) == int(np.ceil(n / 30))
        # Bars are rates per 30 days; the short last bin is scaled up, so undo it.
        widths = [min(30, n - 30 * k) for k in range(len(bars))]
        total = sum(b.get_height() * w / 30 for b, w in zip(bars, widths)) * 1e6
        assert total == pytest.approx(by_tier[tier].sum(), rel=1e-9)
    assert any(p.get_hatch() == "//" for p in top.patches if p.get_gid() == "fund-tertiary")
    (balance,) = [line for line in bottom.get_lines() if line.get_label() == "Balance"]
    assert balance.get_ydata()[-1] * 1e6 == pytest.approx(run["summary"]["fund_balance"], rel=1e-6, abs=1)
    assert _policy_lines(top) == [CHANGE] and _policy_lines(bottom) == [CHANGE]
    p = run["summary"]["periods"]
    title = _title(fig)
    b, a = p["without_policy"]["out_of_county_fund_share"], p["after"]["out_of_county_fund_share"]
    digits = 2 if abs(a - b) < 0.001 else 1
    assert f"{b:.{digits}%} without the policy" in title and f"{a:.{digits}%} with it" in title
    assert f"{p['after']['out_of_county_fund_share']:.1%}" in title


def test_burden_panels_show_income_fifths_and_severities_before_and_after(policy):
    run, figures = policy
    fig = figures["burden"]
    assert len(fig.axes) == 4
    oop_ax = fig.axes[0]
    assert [t.get_text() for t in oop_ax.get_xticklabels()] == ["Poorest", "2nd", "Middle", "4th", "Richest"]
    before = [p for p in oop_ax.patches if p.get_gid() == "oop_quintile-before"]
    after = [p for p in oop_ax.patches if p.get_gid() == "oop_quintile-after"]
    assert len(before) == len(after) == 5
    # Independent check: the poorest fifth's out-of-pocket per resident-year before the change.
    residents = run["manifest"]["residents"]
    expected = run["daily"]["oop_quintile_q1"][:CHANGE].sum() / (residents / 5) * 365 / CHANGE
    assert before[0].get_height() == pytest.approx(expected)
    table = burden_table(run)
    forgone = [p for p in fig.axes[3].patches if p.get_gid() == "forgone_severity-after"]
    np.testing.assert_allclose([p.get_height() for p in forgone], table["after"]["not_sought"])
    n = len(run["daily"]["day"])
    assert table["after"]["not_sought"].sum() == pytest.approx(
        group(run["daily"], "forgone", CHANGE, n).sum() / residents * 365 / (n - CHANGE) * 1000)
    title = _title(fig)
    without = burden_table({**run, "daily": run["daily_without_policy"]})["after"]
    assert f"{without['oop_quintile'][0]:,.0f} without → {table['after']['oop_quintile'][0]:,.0f} with" in title
    change = table["after"]["oop_quintile"][0] - without["oop_quintile"][0]
    assert f"{abs(change):,.0f} yuan a year {'more' if change >= 0 else 'less'}" in title


def test_a_run_without_changes_has_no_policy_marker_and_one_mean(baseline_folder):
    run = load_run(baseline_folder)
    figures = build_figures(run, "en")
    try:
        top, bottom = figures["visit_shares"].axes
        assert _policy_lines(top) == [] and _policy_lines(bottom) == []
        gids = [c.get_gid() for c in bottom.collections if c.get_gid()]
        assert gids == ["mean-whole_run"]
        assert f"{run['summary']['grassroots_share']:.1%} of in-county visits" in _title(figures["visit_shares"])
        bars = [p for p in figures["burden"].axes[0].patches if p.get_gid() == "oop_quintile-whole_run"]
        assert len(bars) == 5
    finally:
        for fig in figures.values():
            plt.close(fig)


def test_chinese_labels_use_a_cjk_font(policy):
    font = style.find_cjk_font()
    if font is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk); the fallback is tested below")
    run = policy[0]
    fig = build_figures(run, "zh", names=["visit_shares"])["visit_shares"]
    try:
        top = fig.axes[0]
        assert top.get_ylabel() == "就诊人次占比（7日）"
        assert "县域内基层诊疗人次占比" in _title(fig)
        assert font in top.yaxis.label.get_fontfamily()
        assert [c.get_label() for c in top.collections] == ["村卫生室", "乡镇卫生院", "县级医院", "三级医院（县外）"]
    finally:
        plt.close(fig)


def test_chinese_without_a_cjk_font_warns_and_falls_back_to_english(policy, monkeypatch, capsys):
    monkeypatch.setattr(style, "find_cjk_font", lambda: None)
    lang, _ = style.resolve_lang("zh")
    assert lang == "en"
    assert "no Chinese font found" in capsys.readouterr().err
    fig = build_figures(policy[0], "zh", names=["visit_shares"])["visit_shares"]
    assert fig.axes[0].get_ylabel() == "Share of visits (7-day)"
    plt.close(fig)
    with pytest.raises(ValueError, match="unknown language"):
        style.resolve_lang("fr")


def test_long_titles_wrap_at_word_and_clause_boundaries():
    text = "Out-of-county share of fund spending fell from 37.0% to 33.6% after day 183; balance -0.10 M yuan"
    lines = wrap_title(text, 64).split("\n")
    assert len(lines) == 2 and all(len(line) <= 64 for line in lines)
    assert " ".join(lines) == text
    zh = "第183天后，最低收入组人均自付 1,579 → 1,265 元/年，每千人未就医 620 → 641"
    assert "".join(wrap_title(zh, 40).split("\n")).replace(" ", "") == zh.replace(" ", "")


@pytest.mark.slow
def test_plot_command_redraws_from_a_folder_in_either_language(policy_folder, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(policy_folder, folder)
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "plot", str(folder), "--lang", "zh"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(folder / "figures" / f"{name}_zh.png") for name in FIGURES]
    english = subprocess.run([sys.executable, str(ROOT / "run.py"), "plot", str(folder)], capture_output=True,
                             text=True, timeout=300)
    assert english.returncode == 0, english.stderr
    names = sorted(p.name for p in (folder / "figures").iterdir())
    assert names == sorted([f"{n}.png" for n in FIGURES] + [f"{n}_zh.png" for n in FIGURES])  # side by side
    if style.find_cjk_font() is None:
        assert "no Chinese font found" in proc.stderr
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), "plot", str(tmp_path)], capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2 and "not a run folder" in bad.stderr


@pytest.mark.slow
def test_a_run_draws_its_figures_in_the_language_asked(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), str(ROOT / "scenarios" / "baseline.yaml"),
                           "--days", "30", "--set", "world.population=2000", "--out", str(tmp_path), "--lang", "zh"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (folder,) = list((tmp_path / "baseline").iterdir())
    assert sorted(p.name for p in (folder / "figures").iterdir()) == sorted(f"{n}_zh.png" for n in FIGURES)
    assert ("no Chinese font found" in proc.stderr) == (style.find_cjk_font() is None)
    bad = subprocess.run([sys.executable, str(ROOT / "run.py"), str(ROOT / "scenarios" / "baseline.yaml"),
                          "--lang", "fr"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "invalid choice: 'fr'" in bad.stderr
