"""A region's areas side by side: the terminal table, the effect table, the figure, the GeoJSON
boundaries and the report's Areas section, read from saved run folders.

One tiny synthetic region (5 areas, 40 days, a policy on day 20, so it has a counterfactual and
`policy_effect`) and one small county are run once per module.
"""

from __future__ import annotations

import json
import shutil
import sys

import matplotlib.pyplot as plt
import pytest

from sim.cli import main
from sim.engine.indicators import BY_KEY
from sim.engine.metrics import format_indicator
from sim.outputs.area_table import COLUMNS, area_ids, area_table, area_tables, effect_table, table_rows
from sim.outputs.boundaries import BoundaryError, load_boundaries
from sim.outputs.plots.areas import fig_areas
from sim.outputs.results import load_run
from sim.outputs.runs import run_scenario
from sim.scenario.loader import load
from tests.conftest import ROOT, load_small

REGION_YAML = f"""extends: {ROOT / 'scenarios' / 'baseline.yaml'}
name: tiny_region
scale: 20
days: 40
warmup_days: 10
region:
  kind: province
  synthetic: {{population: 200000, districts: 2, counties: 3, city_hospitals: 2}}
changes:
  - day: 20
    label: Tertiary outpatient pooling off for residents
    set:
      insurance.resident.outpatient.tertiary.pooled: false
"""


@pytest.fixture(scope="module")
def region_folder(tmp_path_factory):
    """A saved tiny region run with a policy change (and so its counterfactual)."""
    folder = tmp_path_factory.mktemp("region")
    (folder / "tiny_region.yaml").write_text(REGION_YAML, encoding="utf-8")
    return run_scenario(load(folder / "tiny_region.yaml"), folder / "results", draw=False, quiet=True)


@pytest.fixture(scope="module")
def county_folder(tmp_path_factory):
    """A saved small county run."""
    timeline = load_small("baseline.yaml", seed=3, population=4000, days=40)
    return run_scenario(timeline, tmp_path_factory.mktemp("county"), draw=False, quiet=True)


@pytest.fixture(scope="module")
def summary(region_folder):
    return json.loads((region_folder / "summary.json").read_text(encoding="utf-8"))


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    return done.value.code, out, err


# ------------------------------------------------------------------ the table

def test_the_table_has_one_row_per_area_then_the_region(summary):
    rows = table_rows(summary)
    names = ["District 1", "District 2", "County 1", "County 2", "County 3"]  # urban first, each largest first
    assert [r[0] for r in rows] == names + ["Region"]
    assert len(rows) == len(summary["areas"]) + 1 == 6
    text = area_table(summary)
    assert all(name in text for name in names)
    assert rows[-1][2] == f"{sum(i['population'] for i in summary['area_info'].values()):,}"


def test_the_order_is_the_same_live_and_from_summary_json(summary):
    shuffled = {**summary, "areas": dict(reversed(list(summary["areas"].items())))}
    assert table_rows(shuffled) == table_rows(summary)


def test_table_values_are_summary_json_values(summary):
    for row, aid in zip(table_rows(summary), [*area_ids(summary), None]):
        values = summary if aid is None else summary["areas"][aid]
        for cell, column in zip(row[3:], COLUMNS):
            assert cell == format_indicator(values[column.key], BY_KEY[column.key].fmt), (aid, column.key)
    kinds = {r[0]: r[1] for r in table_rows(summary)}
    assert kinds["District 1"] == "urban" and kinds["County 1"] == "rural"


def test_chinese_headings(summary):
    zh = area_tables(summary, "zh")
    for words in ("区县", "常住人口", "基层诊疗", "区域内", "三级占医院", "全区域", "各区县政策效应", "指标说明"):
        assert words in zh
    assert "Area" not in zh and "Area" in area_tables(summary, "en")


def test_effect_table_signs_are_the_policy_effects(summary):
    assert effect_table(summary)
    effect = summary["policy_effect"]
    for row, aid in zip(table_rows(summary, effect=True), [*area_ids(summary), None]):
        values = effect if aid is None else effect["areas"][aid]
        for cell, column in zip(row[3:], COLUMNS):
            v = values[column.key]
            expected = "±" if cell[0] == "±" else "+" if v > 0 else "-"
            assert cell[0] == expected, (aid, column.key, cell, v)
            assert cell[0] == "±" or (v > 0) == (cell[0] == "+")


def test_a_regions_headline_table_speaks_of_areas_and_a_countys_of_the_county(summary, county_folder):
    """A region's headline rows say in-area / 区域内 (each area's own residents), a county's in-county / 县域内."""
    from sim.outputs.runs import summary_table

    county = json.loads((county_folder / "summary.json").read_text(encoding="utf-8"))
    for lang, area_word, county_word in (("en", "in-area", "in-county"), ("zh", "区域内", "县域内")):
        region_text, county_text = summary_table(summary, lang), summary_table(county, lang)
        assert area_word in region_text and county_word not in region_text
        assert county_word in county_text and area_word not in county_text


def test_no_area_tables_for_a_county(county_folder):
    s = json.loads((county_folder / "summary.json").read_text(encoding="utf-8"))
    assert area_tables(s) == "" and effect_table(s) == ""


def test_report_table_prints_the_areas_from_a_saved_run(region_folder, county_folder, capsys):
    code, out, _ = _cli(capsys, "report", str(region_folder), "--table")
    assert code == 0 and "Areas side by side" in out and "Policy effect by area" in out and "District 2" in out
    assert not (region_folder / "report.html").exists()
    code, out, _ = _cli(capsys, "report", str(region_folder), "--table", "--lang", "zh")
    assert code == 0 and "各区县并列" in out
    code, out, _ = _cli(capsys, "report", str(county_folder), "--table")
    assert code == 0 and "whole run" in out and "Areas side by side" not in out


# ------------------------------------------------------------------ figures

def test_areas_figure_is_drawn_for_a_region_and_not_for_a_county(region_folder, county_folder, tmp_path):
    from sim.outputs.plots import draw_run

    region = shutil.copytree(region_folder, tmp_path / "region")
    county = shutil.copytree(county_folder, tmp_path / "county")
    assert region / "figures" / "areas.png" in draw_run(region)
    assert (region / "figures" / "areas.png").stat().st_size > 10_000
    assert not any(p.name.startswith("areas") for p in draw_run(county))


def test_areas_figure_shows_every_area_and_the_policy_effect(region_folder):
    run = load_run(region_folder)
    fig = fig_areas(run, "en")
    try:
        labels = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "area-label"]
        assert len(labels) == 5 and any("District 1" in t for t in labels)
        assert fig.get_suptitle().startswith("Policy effect from day 20")
        bars = [t.get_text() for t in fig.axes[1].texts if t.get_gid() == "value-label"]
        assert len(bars) == 5 and all(" pp)" in t for t in bars)
    finally:
        plt.close(fig)


# ------------------------------------------------------------------ GeoJSON

def _square(k: int) -> list:
    x, y = (k % 3) * 10, (k // 3) * 10
    return [[[x, y], [x + 10, y], [x + 10, y + 10], [x, y + 10], [x, y]]]


def _geojson(path, areas: list[str], prop: str = "code", multi: int | None = None) -> str:
    features = []
    for k, value in enumerate(areas):
        geometry = {"type": "Polygon", "coordinates": _square(k)}
        if k == multi:
            geometry = {"type": "MultiPolygon", "coordinates": [_square(k), _square(k + 10)]}
        features.append({"type": "Feature", "properties": {prop: value, "other": k}, "geometry": geometry})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return str(path)


INFO = {"A1": {"name": "Hongqi", "name_zh": "红旗区"}, "A2": {"name": "Weibin", "name_zh": "卫滨区"},
        "A3": {"name": "Huojia", "name_zh": "获嘉县"}}


def test_boundaries_matched_by_area_id_and_by_name_zh_with_a_multipolygon(tmp_path):
    by_id = load_boundaries(_geojson(tmp_path / "ids.geojson", ["A1", "A2", "A3"], multi=1), INFO)
    assert set(by_id) == set(INFO)
    assert len(by_id["A2"].polygons) == 2 and len(by_id["A1"].polygons) == 1
    by_zh = load_boundaries(_geojson(tmp_path / "zh.geojson", ["获嘉县", "红旗区", "卫滨区"], prop="名称"), INFO)
    assert by_zh["A3"].polygons[0][0][0].tolist() == [0.0, 0.0]  # the first feature is 获嘉县's
    key = load_boundaries(_geojson(tmp_path / "key.geojson", ["Hongqi", "Weibin", "Huojia"], prop="NAME"), INFO,
                          key="NAME")
    assert set(key) == set(INFO)


def test_a_missing_area_is_named_with_the_properties_there_are(tmp_path):
    with pytest.raises(BoundaryError) as err:
        load_boundaries(_geojson(tmp_path / "two.geojson", ["A1", "A2"]), INFO)
    message = str(err.value)
    assert "two.geojson" in message and "A3 (Huojia / 获嘉县)" in message and "code" in message and "other" in message


def test_plot_with_boundaries_draws_the_polygons(region_folder, tmp_path, capsys):
    folder = shutil.copytree(region_folder, tmp_path / "run")
    ids = list(json.loads((folder / "summary.json").read_text())["areas"])
    code, out, err = _cli(capsys, "plot", str(folder), "--boundaries", _geojson(tmp_path / "b.geojson", ids, multi=0))
    assert code == 0, err
    assert (folder / "figures" / "areas.png").exists()
    from sim.outputs.boundaries import boundaries_for_run

    fig = fig_areas(load_run(folder), "en", boundaries_for_run(folder, tmp_path / "b.geojson"))
    try:
        assert {p.get_gid() for p in fig.axes[0].patches} >= {f"boundary-{a}" for a in ids}
    finally:
        plt.close(fig)


def test_a_missing_area_exits_2_with_the_message(region_folder, tmp_path, capsys):
    ids = list(json.loads((region_folder / "summary.json").read_text())["areas"])
    path = _geojson(tmp_path / "four.geojson", ids[:-1])
    code, _, err = _cli(capsys, "plot", str(region_folder), "--boundaries", path)
    assert code == 2 and "four.geojson" in err and f"{ids[-1]} (District 2)" in err and "other (e.g." in err
    assert "--boundary-key" in err and "Traceback" not in err
    code, _, err = _cli(capsys, "plot", str(region_folder), "--boundaries", path, "--boundary-key", "nothing")
    assert code == 2 and "no feature has the property 'nothing'" in err


@pytest.mark.parametrize("content, words", [
    ("not json at all", "not GeoJSON"),
    ('{"type": "Polygon", "coordinates": []}', "bare Polygon"),
    ('{"name": "x"}', "not GeoJSON"),
])
def test_bad_boundary_files_exit_2_naming_the_file(region_folder, tmp_path, capsys, content, words):
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    code, out, err = _cli(capsys, "plot", str(region_folder), "--boundaries", str(path))
    assert code == 2 and "bad.geojson" in err and words in err and "Traceback" not in err


def test_unreadable_file_and_county_run_exit_2(region_folder, county_folder, tmp_path, capsys):
    code, _, err = _cli(capsys, "plot", str(region_folder), "--boundaries", str(tmp_path / "nowhere.geojson"))
    assert code == 2 and "nowhere.geojson" in err and "cannot be read" in err
    code, _, err = _cli(capsys, "plot", str(county_folder), "--boundaries", str(tmp_path / "nowhere.geojson"))
    assert code == 2 and "one county" in err


def test_without_shapely_the_message_says_how_to_install_it(region_folder, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "shapely", None)
    monkeypatch.setitem(sys.modules, "shapely.geometry", None)
    path = _geojson(tmp_path / "ok.geojson", list(json.loads((region_folder / "summary.json").read_text())["areas"]))
    code, _, err = _cli(capsys, "plot", str(region_folder), "--boundaries", path)
    assert code == 2 and 'pip install -e ".[geo]"' in err and "Traceback" not in err


# ------------------------------------------------------------------ report

def test_areas_section_for_a_region_only(region_folder, county_folder):
    from sim.outputs.report_areas import area_section, region_in_words

    section = area_section(load_run(region_folder), "en")
    assert '<h2 id="areas">Areas</h2>' in section and 'id="fig-areas"' in section
    assert section.count('<tr class="total">') == 2  # the table and the effect table
    assert area_section(load_run(county_folder), "en") == ""
    words = region_in_words(load_run(region_folder), 200_000)
    assert words.startswith("200,000 residents in 5 areas (2 urban districts, 3 counties: District 1, District 2")


@pytest.mark.slow
def test_report_has_an_areas_section_for_a_region_only(region_folder, county_folder, tmp_path):
    from sim.outputs.report import build_report

    region = build_report(region_folder, "en")
    assert '<h2 id="areas">Areas</h2>' in region and 'id="fig-areas"' in region
    assert region.count('<tr class="total">') == 2  # the table and the effect table
    assert "District 2" in region
    assert '<h2 id="areas">区县</h2>' in build_report(region_folder, "zh")
    county = build_report(county_folder, "en")
    assert 'id="areas"' not in county and 'id="fig-areas"' not in county


def test_many_areas_show_the_ten_highest_and_lowest_bars():
    import numpy as np

    n = 30
    areas = {f"A{k}": {"grassroots_share": 0.4 + k / 100, "visits_by_tier": {"village": 1, "township": 1, "county": 1,
                                                                             "tertiary": 1}} for k in range(n)}
    run = {"summary": {"areas": areas, "grassroots_share": 0.5,
                       "area_info": {a: {"name": f"Area {a} County", "kind": "rural", "population": 1000}
                                     for a in areas}},
           "tables": {"settlements": {"area": list(areas), "x": list(range(n)), "y": [k % 5 for k in range(n)],
                                      "population": [1000] * n}},
           "manifest": {"coordinates": "km", "residents": 1000 * n}, "scenario": {"name": "many"},
           "daily": {"day": np.arange(10)}}
    fig = fig_areas(run, "en")
    try:
        ticks = [t.get_text() for t in fig.axes[1].get_yticklabels()]
        assert len(ticks) == 21 and ticks[10] == "… 10 more …"
        assert ticks[-1] == "Area A29" and ticks[0] == "Area A0"  # "County" dropped on the bars
        assert len([t for t in fig.axes[0].texts if t.get_gid() == "area-label"]) == 6
    finally:
        plt.close(fig)


COUNTY_WORDS = ("县域", "县外", "in-county", "out of county", "out-of-county", "leave the county", "county map")


def _texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text().replace("\n", "") for t in fig.findobj(Text) if t.get_text()]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_regions_figures_speak_of_areas_and_name_only_the_shared_hospitals(region_folder, county_folder, lang):
    from sim.outputs.plots import build_figures
    from sim.outputs.plots.style import region_words, tr

    run = load_run(region_folder)
    fac = run["tables"]["facilities"]
    shared = [k for k, a in enumerate(fac["area"]) if not a]
    assert shared and all(fac["tier"][k] == "tertiary" for k in shared)
    figures = build_figures(run, lang)
    try:
        for name, fig in figures.items():
            said = [t for t in _texts(fig) if any(w in t.lower() if w.isascii() else w in t for w in COUNTY_WORDS)]
            assert said == [], f"{name}: {said}"
        names = {fac["name_zh"][k] or fac["name"][k] if lang == "zh" else fac["name"][k] for k in shared}
        labels = {t.get_text().replace("\n", "") for t in figures["network"].axes[0].texts
                  if t.get_bbox_patch() is not None and t.get_gid() is None}
        squeeze = [t.replace(" ", "") for t in labels]  # names are wrapped; a far one has its distance after
        assert len(squeeze) == len(names) and all(any(t.startswith(n.replace(" ", "")) for t in squeeze) for n in names)
        with region_words():
            city = tr("tertiary", lang)  # "City and provincial hospitals"
        assert all(city in _texts(figures[name]) or any(t.startswith(city) for t in _texts(figures[name]))
                   for name in ("visit_shares", "fund", "network"))
    finally:
        for fig in figures.values():
            plt.close(fig)
    county = build_figures(load_run(county_folder), lang, names=["visit_shares"])["visit_shares"]
    try:  # a county's figures still say 县域内 / in-county: the region's words stay with the region
        assert any(("县域内" if lang == "zh" else "in-county") in t for t in _texts(county))
    finally:
        plt.close(county)


@pytest.mark.slow
def test_a_comparison_of_regions_says_in_area_in_its_table_and_forest_plot(tmp_path, capsys, monkeypatch):
    from matplotlib.figure import Figure

    from sim.outputs.plots.compare import draw_comparison

    base, policy = tmp_path / "tiny_region.yaml", tmp_path / "tiny_region_policy.yaml"
    base.write_text(REGION_YAML.split("changes:")[0], encoding="utf-8")
    policy.write_text(REGION_YAML, encoding="utf-8")
    code, out, err = _cli(capsys, "compare", str(base), str(policy), "--reps", "2", "--workers", "1",
                          "--out", str(tmp_path / "out"), "--no-figures")
    assert code == 0, err
    assert "Grassroots share of in-area visits" in out and "in-county" not in out and "out of county" not in out
    folder = next((tmp_path / "out" / "compare").iterdir())
    assert json.loads((folder / "comparison.json").read_text(encoding="utf-8"))["scenarios"][0]["region"] is True

    drawn: list[str] = []
    real = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (drawn.extend(_texts(fig)), real(fig, *a, **k))[1])
    draw_comparison(folder, "zh")
    assert any("区域内基层诊疗人次占比" in t for t in drawn) and not any("县域" in t for t in drawn)
