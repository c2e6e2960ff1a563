"""A planner's own county from CSV files: reading, every error class, the round trip, the CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.engine.facilities import Facilities
from sim.engine.model import Streams, TierFlowModel
from sim.county.build import build_world
from sim.county.population import synthesise as synthesise_population
from sim.scenario.loader import ScenarioError, load
from sim.scenario.schema import Scenario, WorldFiles
from sim.scenario.schema import World as WorldSpec
from sim.county.world import COUNTY, TERTIARY, TOWNSHIP, VILLAGE
from sim.county.csv_county import load_world, write_world_csv
from sim.scenario.county_files import check_world_files
from tests.conftest import ROOT, SCENARIOS, small_scenario

TEMPLATES = SCENARIOS / "templates"
FAC = (TEMPLATES / "facilities.csv").read_text(encoding="utf-8")
SET = (TEMPLATES / "settlements.csv").read_text(encoding="utf-8")
TRAVEL = (TEMPLATES / "travel_times.csv").read_text(encoding="utf-8")
EDGES = (TEMPLATES / "referral_edges.csv").read_text(encoding="utf-8")
WORLD_ARRAYS = ("fac_tier", "fac_xy", "fac_township", "fac_catchment", "fac_in_county", "fac_medical_community",
                "referral_up", "set_population", "set_xy", "set_township", "choice", "travel_minutes",
                "own_township_centre", "own_village_clinic")


def line_of(text: str, start: str) -> int:
    """Line number (from 1) of the first line of `text` starting with `start`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


def replace_row(text: str, start: str, row: str) -> str:
    """`text` with the line starting with `start` replaced by `row`."""
    return "\n".join(row if line.startswith(start) else line for line in text.splitlines()) + "\n"


def county(folder: Path, facilities: str = FAC, settlements: str = SET, travel: str | None = None,
           edges: str | None = None, population: int = 36_000, **world) -> WorldSpec:
    """Write a county's files into `folder` and return the world spec that names them."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, text in (("facilities", facilities), ("settlements", settlements), ("travel_times", travel),
                       ("referral_edges", edges)):
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
            files[name] = str(folder / f"{name}.csv")
    return WorldSpec(population=population, files=WorldFiles(**files), **world)


def problems_of(spec: WorldSpec) -> list[tuple[str, int | None, str, str]]:
    """(file name, line, column, message) of every problem; load_world must raise the same."""
    found = check_world_files(spec)
    with pytest.raises(ScenarioError) as err:
        load_world(spec)
    assert err.value.problems == found
    return [(Path(p.file).name, p.line, p.path, p.message) for p in found]


def only(problems: list, file: str, line: int | None, column: str, *words: str) -> None:
    """Exactly one problem, at this file, line and column, whose message has every word."""
    assert len(problems) == 1, problems
    got_file, got_line, got_column, message = problems[0]
    assert (got_file, got_line, got_column) == (file, line, column), problems[0]
    for word in words:
        assert word in message, (word, message)


# ------------------------------------------------------------------ reading

def test_template_county_is_read_as_written(tmp_path):
    world = load_world(county(tmp_path))
    assert world.coordinates == "lonlat" and world.population == 36_000
    assert world.fac_id[:2] == ["C1", "C2"] and world.fac_name[4] == "城关镇社区卫生服务中心"
    assert list(world.fac_tier) == [COUNTY, COUNTY, TERTIARY, TERTIARY, TOWNSHIP, TOWNSHIP] + [VILLAGE] * 4
    assert list(world.fac_in_county) == [True, True, False, False] + [True] * 6
    assert world.township_names == ["城关镇", "东山镇"]
    assert list(world.set_township) == [0, 0, 1, 1] and list(world.fac_township[4:]) == [0, 1, 0, 0, 1, 1]
    assert not world.fac_medical_community[9] and world.fac_medical_community[6]   # V4: false in the file
    # Supplied values are absolute; blanks are NaN (the scenario's per-tier values apply).
    assert world.fac_capacity[0] == 200 and world.fac_beds[0] == 100 and np.isnan(world.fac_capacity[1])
    assert world.fac_quality[8] == 0.35 and np.isnan(world.fac_quality[6])
    assert world.set_share_60_plus.tolist() == [0.18, 0.26, 0.24, 0.32]
    assert world.set_share_employee[:3].tolist() == [0.35, 0.10, 0.12] and np.isnan(world.set_share_employee[3])
    # Own clinic: the nearest of the township; own centre; the other centre; both hospitals; both tertiary.
    s3 = world.set_id.index("S3")
    assert [world.fac_id[f] for f in world.choice[s3]] == ["V3", "T2", "T1", "C1", "C2", "H1", "H2"]
    # Membership ties: member clinic -> its centre -> the first county hospital -> tertiary, nearest first.
    assert world.fac_id[world.referral_up[world.fac_id.index("V3")]] == "T2"
    assert world.fac_id[world.referral_up[world.fac_id.index("T2")]] == "C1"
    assert world.fac_id[world.referral_up[world.fac_id.index("C2")]] == "H1"
    # V4 is outside the medical community: no tie to its centre, so straight to the nearest county hospital.
    assert world.fac_id[world.referral_up[world.fac_id.index("V4")]] in ("C1", "C2")
    assert world.graph.edges["V3", "T2"]["tie"] == "medical_community" and not world.graph.has_edge("V4", "T2")


def test_travel_minutes_follow_the_documented_formula(tmp_path):
    spec = county(tmp_path, road_factor=1.4, speed_rural_kmh=25.0, speed_highway_kmh=80.0)
    world = load_world(spec)

    def km(a, b):  # haversine, written out independently
        (lon1, lat1), (lon2, lat2) = np.radians(a), np.radians(b)
        h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        return 2 * 6371.0088 * math.asin(math.sqrt(h))

    s, seat = world.set_id.index("S3"), world.fac_xy[0]
    for k, f in enumerate(world.choice[s]):
        home, there = world.set_xy[s], world.fac_xy[f]
        if world.fac_tier[f] == TERTIARY:
            expected = 60 * (km(home, seat) * 1.4 / 25.0 + km(seat, there) * 1.4 / 80.0)
        else:
            expected = max(60 * km(home, there) * 1.4 / 25.0, 5.0)
        assert world.travel_minutes[s, k] == pytest.approx(expected, rel=1e-6)
    # Provincial hospital H2, 211 km north of the seat: 211 x 1.4 / 80 h = 222 minutes, plus the drive to the seat.
    assert 240 < world.travel_minutes[s, list(world.choice[s]).index(3)] < 280


def test_a_travel_matrix_replaces_the_formula_and_an_edge_list_the_ties(tmp_path):
    world = load_world(county(tmp_path, travel=TRAVEL, edges=EDGES))
    s4 = world.set_id.index("S4")
    # Only listed pairs are reachable: S4 lists V4 and V3 (both of its township); V4 is quicker.
    assert [world.fac_id[f] for f in world.choice[s4]] == ["V4", "T2", "T1", "C1", "C2", "H1", "H2"]
    assert world.travel_minutes[s4].tolist() == [5, 14, 35, 35, 37, 70, 170]
    s1 = world.set_id.index("S1")
    assert world.travel_minutes[s1, 0] == 5 and world.travel_minutes[s1, 2] == 25
    assert world.fac_id[world.referral_up[world.fac_id.index("V4")]] == "T2"  # the listed tie, not membership
    assert world.graph.edges["C1", "H2"]["tie"] == "telemedicine"
    # Own clinic: the quickest reachable clinic of the township; none reachable: none (-1), still a county.
    travel = "\n".join(line for line in TRAVEL.splitlines() if not line.startswith("S2,V2")) + "\n"
    world = load_world(county(tmp_path / "b", travel=travel + "S2,V1,12\n"))
    assert world.choice[world.set_id.index("S2"), 0] == world.fac_id.index("V1")
    world = load_world(county(tmp_path / "c", travel=travel))
    assert world.choice[world.set_id.index("S2"), 0] == -1


def test_csv_values_set_capacity_beds_quality_and_ages(tmp_path):
    spec = county(tmp_path, settlements=replace_row(SET, "S4,", "S4,北岭村,3000,0.80,,114.420,30.200,东山镇"))
    world = load_world(spec)
    scenario = Scenario.model_validate({"world": spec.model_dump(), "scale": 2})
    fac = Facilities(world, scale=2)
    fac.configure(scenario)
    assert fac.capacity[0] == 100 and fac.beds[0] == 50          # 200 visits and 100 beds, one agent per 2
    assert fac.capacity[4] == 30 and fac.quality[8] == 0.35
    tier_quality = scenario.providers.quality
    assert fac.quality[6] == tier_quality.village and fac.capacity[1] > 0  # blanks: per tier
    people = synthesise_population(scenario, world, np.random.default_rng(1))
    older = [float(np.mean(people.age[people.settlement == s] >= 60)) for s in range(4)]
    assert older[3] > 0.7 and older[0] < 0.25                    # each settlement's own ageing


def test_files_saved_by_excel_are_read(tmp_path):
    # GBK encoding (Chinese Excel), CRLF line ends, a BOM-less header in capitals, trailing blank cells.
    fac = FAC.replace("id,name,tier,", "ID, Name ,TIER,").replace("\n", "\r\n")
    (tmp_path / "f.csv").write_bytes(fac.encode("gbk"))
    (tmp_path / "s.csv").write_bytes(("\ufeff" + SET).encode("utf-8"))
    spec = WorldSpec(population=36_000, files=WorldFiles(facilities=str(tmp_path / "f.csv"),
                                                         settlements=str(tmp_path / "s.csv")))
    assert check_world_files(spec) == []
    assert load_world(spec).fac_name[0] == "县人民医院"


# ------------------------------------------------------------------ errors

def test_unknown_tier(tmp_path):
    fac = replace_row(FAC, "V2,", "V2,西村卫生室,clinic,114.270,30.080,,,,,true,城关镇")
    only(problems_of(county(tmp_path, facilities=fac)), "facilities.csv", line_of(fac, "V2,"), "tier",
         "found 'clinic'", "village | township | county | tertiary")


def test_duplicate_ids_in_a_file_and_across_files(tmp_path):
    fac = FAC.rstrip("\n") + "\nV1,又一个卫生室,village,114.312,30.106,,,,,true,城关镇\n"
    only(problems_of(county(tmp_path, facilities=fac)), "facilities.csv", len(fac.splitlines()), "id",
         "duplicate id 'V1'", f"first at line {line_of(fac, 'V1,')}")
    settlements = replace_row(SET, "S2,", "T1,西村,6000,0.26,0.10,114.270,30.080,城关镇")
    only(problems_of(county(tmp_path / "b", settlements=settlements)), "settlements.csv", line_of(settlements, "T1,"),
         "id", "'T1' is also a facility id", f"line {line_of(FAC, 'T1,')}")


def test_coordinates_out_of_range(tmp_path):
    settlements = replace_row(SET, "S3,", "S3,东山村,9000,0.24,0.12,30.160,114.410,东山镇")  # swapped
    only(problems_of(county(tmp_path, settlements=settlements)), "settlements.csv", line_of(settlements, "S3,"),
         "latitude", "found 114.410", "from -90 to 90 degrees")


def test_negative_capacity_and_a_value_that_is_not_a_number(tmp_path):
    fac = replace_row(FAC, "T2,", "T2,东山镇卫生院,township,114.400,30.150,-40,many,,,true,东山镇")
    problems = problems_of(county(tmp_path, facilities=fac))
    line = line_of(fac, "T2,")
    assert problems == [
        ("facilities.csv", line, "outpatient_capacity_per_day",
         "found -40; allowed: a number of at least 0 visits/day"),
        ("facilities.csv", line, "beds", "found 'many', not a number; allowed: a whole number of at least 0 beds"),
    ]


def test_missing_column_and_missing_required_value(tmp_path):
    fac = "\n".join(line if line.startswith("#") else ",".join(c for i, c in enumerate(line.split(",")) if i != 6)
                    for line in FAC.splitlines())  # without the beds column
    only(problems_of(county(tmp_path, facilities=fac)), "facilities.csv", line_of(fac, "id,"), "beds",
         "missing column", "required: id, name, tier, outpatient_capacity_per_day, beds")
    settlements = replace_row(SET, "S2,", "S2,西村,,0.26,0.10,114.270,30.080,城关镇")
    problems = problems_of(county(tmp_path / "b", settlements=settlements, population=30_000))
    only(problems, "settlements.csv", line_of(settlements, "S2,"), "population",
         "missing value", "a whole number of at least 0 residents")


def test_settlement_with_no_reachable_facility(tmp_path):
    travel = "\n".join(line for line in TRAVEL.splitlines()
                       if not line.startswith("S4,") or line.startswith(("S4,H1", "S4,H2"))) + "\n"
    only(problems_of(county(tmp_path, travel=travel)), "settlements.csv", line_of(SET, "S4,"), "id",
         "settlement 'S4' can reach no facility in the county", "travel_times.csv lists no village clinic")


def test_travel_and_referral_rows_naming_what_does_not_exist(tmp_path):
    travel = TRAVEL + "S9,T1,30\nS1,T9,30\n"
    edges = EDGES + "V1,C9,referral\nS1,T1,referral\nT2,C2,alliance\n"
    problems = problems_of(county(tmp_path, travel=travel, edges=edges))
    n_travel, n_edges = len(travel.splitlines()), len(edges.splitlines())
    assert problems == [
        ("travel_times.csv", n_travel - 1, "settlement_id",
         "no settlement 'S9' in " + problems[0][3].split(" in ")[1]),
        ("travel_times.csv", n_travel, "facility_id", problems[1][3]),
        ("referral_edges.csv", n_edges - 2, "to_id", problems[2][3]),
        ("referral_edges.csv", n_edges - 1, "from_id", problems[3][3]),
        ("referral_edges.csv", n_edges, "kind", problems[4][3]),
    ]
    assert "no facility 'T9'" in problems[1][3] and "no facility 'C9'" in problems[2][3]
    assert "it is a settlement" in problems[3][3]
    assert "found 'alliance'" in problems[4][3] and "specialist_alliance" in problems[4][3]


def test_no_county_hospital_and_no_tertiary_hospital(tmp_path):
    fac = "\n".join(line for line in FAC.splitlines() if not line.startswith(("C1,", "C2,", "H1,", "H2,"))) + "\n"
    problems = problems_of(county(tmp_path, facilities=fac))
    assert [(f, line, col) for f, line, col, _ in problems] == [("facilities.csv", None, "tier")] * 2
    assert "no county hospital" in problems[0][3] and "no tertiary hospital" in problems[1][3]


def test_townships_must_have_a_centre(tmp_path):
    settlements = replace_row(SET, "S3,", "S3,东山村,9000,0.24,0.12,114.410,30.160,东山乡")
    only(problems_of(county(tmp_path, settlements=settlements)), "settlements.csv", line_of(settlements, "S3,"),
         "township", "no township centre serves township '东山乡'", "did you mean '东山镇'")


def test_population_must_match_the_scenario(tmp_path):
    only(problems_of(county(tmp_path, population=100_000)), "settlements.csv", None, "population",
         "sum to 36,000", "world.population is 100,000", "world.population: 36000", "scale")


def test_every_problem_is_reported_at_once(tmp_path):
    fac = replace_row(FAC, "V2,", "V2,西村卫生室,clinic,114.270,30.080,,,,,true,城关镇")
    fac = replace_row(fac, "T2,", "T2,东山镇卫生院,township,114.400,95,-1,,,,maybe,东山镇")
    fac = fac.replace("capability,", "capabilty,")
    settlements = replace_row(SET, "S1,", "S1,,18000,1.5,0.35,114.310,30.105,城关镇")
    edges = EDGES + "C1,C1,referral\n"
    problems = problems_of(county(tmp_path, facilities=fac, settlements=settlements, edges=edges))
    where = {(f, line, col) for f, line, col, _ in problems}
    # The misspelt header stops the facilities' rows being read (they would be read wrongly);
    # everything else in every file is still checked.
    assert ("facilities.csv", line_of(fac, "id,"), "capabilty") in where
    assert ("settlements.csv", line_of(settlements, "S1,"), "name") in where
    assert ("settlements.csv", line_of(settlements, "S1,"), "share_60_plus") in where
    assert len(problems) == 3
    fac = fac.replace("capabilty,", "capability,")
    problems = problems_of(county(tmp_path / "b", facilities=fac, settlements=settlements, edges=edges))
    assert {(line, col) for f, line, col, _ in problems if f == "facilities.csv"} == {
        (line_of(fac, "V2,"), "tier"), (line_of(fac, "T2,"), "latitude"),
        (line_of(fac, "T2,"), "outpatient_capacity_per_day"), (line_of(fac, "T2,"), "medical_community")}
    assert ("referral_edges.csv", len(edges.splitlines()), "to_id") in {(f, line, c) for f, line, c, _ in problems}
    assert len(problems) == 7


def test_a_missing_file_and_a_row_with_too_many_values(tmp_path):
    spec = county(tmp_path, facilities=FAC + 'V5,东村卫生室,village,114.3,30.1,,,,,true,城关镇,extra\n')
    spec = spec.model_copy(update={"files": spec.files.model_copy(update={"travel_times": str(tmp_path / "no.csv")})})
    problems = problems_of(spec)
    assert [(f, c) for f, _, c, _ in problems] == [("facilities.csv", "(whole row)"), ("no.csv", "(whole file)")]
    assert "double quotes" in problems[0][3] and "cannot read the file" in problems[1][3]


# ------------------------------------------------------------- round trip

def test_synthetic_county_written_to_csv_runs_identically(tmp_path):
    sc = small_scenario(population=5000, days=40, seed=3, warmup_days=20, world__county_hospitals=2)
    synthetic = build_world(sc, Streams(sc.seed).get("world"))
    paths = write_world_csv(synthetic, tmp_path, share_60_plus=sc.population.share_60_plus)
    assert set(paths) == {"facilities", "settlements", "travel_times", "referral_edges"}
    data = sc.model_dump()
    data["world"]["files"] = {name: str(path) for name, path in paths.items()}
    from_csv = Scenario.model_validate(data)
    assert check_world_files(from_csv.world) == []
    loaded = load_world(from_csv.world)
    for name in WORLD_ARRAYS:
        assert np.array_equal(getattr(synthetic, name), getattr(loaded, name)), name
    assert sorted(synthetic.graph.edges(data=True)) == sorted(loaded.graph.edges(data=True))
    a = TierFlowModel(sc, agents=False).run()
    b = TierFlowModel(from_csv, agents=False).run()
    for column, values in a.daily().items():
        assert np.array_equal(values, b.daily()[column]), column
    assert a.summary() == b.summary()


def test_round_trip_without_matrix_or_edges_uses_the_same_rules(tmp_path):
    sc = small_scenario(population=3000, seed=4)
    synthetic = build_world(sc, Streams(sc.seed).get("world"))
    paths = write_world_csv(synthetic, tmp_path, share_60_plus=0.22)
    spec = WorldSpec(population=3000, files=WorldFiles(facilities=str(paths["facilities"]),
                                                       settlements=str(paths["settlements"])))
    loaded = load_world(spec)
    # The formula and the membership ties give the synthetic county's choices, minutes and referrals.
    for name in WORLD_ARRAYS:
        assert np.array_equal(getattr(synthetic, name), getattr(loaded, name)), name


def test_a_csv_county_written_again_reads_back_the_same(tmp_path):
    first = load_world(county(tmp_path / "a", travel=TRAVEL, edges=EDGES))
    paths = write_world_csv(first, tmp_path / "b")
    again = load_world(WorldSpec(population=36_000, files=WorldFiles(**{k: str(v) for k, v in paths.items()})))
    for name in (*WORLD_ARRAYS, "fac_capacity", "fac_beds", "fac_quality", "fac_capability", "set_share_60_plus",
                 "set_share_employee"):
        assert np.array_equal(getattr(first, name), getattr(again, name), equal_nan=True), name
    assert again.township_names == first.township_names and again.fac_name == first.fac_name


# --------------------------------------------------------- shipped counties

def test_pingyang_example_validates_and_runs():
    timeline = load(SCENARIOS / "pingyang_county.yaml", ["scale=200", "warmup_days=10"], days=20)
    assert check_world_files(timeline.base.world) == []
    model = TierFlowModel(timeline, agents=False)
    world = model.world
    assert world.population == 863_088 == timeline.base.world.population
    assert len(world.township_names) == 16
    assert {"昆阳镇", "鳌江镇", "南麂镇", "青街畲族乡"} <= set(world.township_names)
    assert world.fac_name[0] == "平阳县人民医院" and (world.fac_tier == COUNTY).sum() == 2
    assert [world.fac_name[f] for f in np.flatnonzero(world.fac_tier == TERTIARY)] == [
        "温州医科大学附属第一医院", "浙江大学医学院附属第一医院"]
    assert 0.20 < float(np.sum(world.set_population * world.set_share_60_plus)) / world.population < 0.22
    summary = model.run().summary()
    assert 0.4 < summary["grassroots_share"] < 0.8 and 0.7 < summary["in_county_share"] < 1.0


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.slow
def test_template_runs_and_writes_the_same_results_as_a_synthetic_county(tmp_path):
    spec = county(tmp_path / "c", travel=TRAVEL, edges=EDGES)
    assert check_world_files(spec) == []
    out = tmp_path / "results"
    proc = run_cli(str(TEMPLATES / "county.yaml"), "--days", "20", "--set", "warmup_days=5", "--out", str(out),
                   "--no-figures")
    assert proc.returncode == 0, proc.stderr
    (folder,) = list((out / "my_county").iterdir())
    names = {p.name for p in folder.iterdir()}
    assert {"scenario.yaml", "daily.csv", "summary.json", "manifest.json", "facilities.csv", "referrals.csv",
            "settlements.csv"} <= names
    synthetic = TierFlowModel(small_scenario(population=2000, days=5, warmup_days=0), agents=False).run()
    header = (folder / "facilities.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == list(synthetic.facility_table())
    header = (folder / "settlements.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == list(synthetic.settlement_table())
    assert (folder / "daily.csv").read_text().splitlines()[0].split(",") == list(synthetic.daily())
    assert set(json.loads((folder / "summary.json").read_text())) == set(synthetic.summary())


def test_bad_files_stop_the_cli_with_exit_2_and_no_results(tmp_path):
    fac = replace_row(FAC, "V2,", "V2,西村卫生室,clinic,114.270,30.080,,,,,true,城关镇")
    county(tmp_path / "county", facilities=fac)
    scenario = tmp_path / "county" / "county.yaml"
    scenario.write_text(f"extends: {SCENARIOS / 'baseline.yaml'}\nname: bad_county\nworld:\n  population: 36000\n"
                        "  files:\n    facilities: facilities.csv\n    settlements: settlements.csv\n",
                        encoding="utf-8")
    out = tmp_path / "results"
    proc = run_cli(str(scenario), "--days", "10", "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"facilities.csv:{line_of(fac, 'V2,')}: tier: found 'clinic'" in proc.stderr
    assert not out.exists() or not any(out.rglob("daily.csv"))
