"""The planner's report: one self-contained HTML file with the scenario, indicators, figures, caveats."""

from __future__ import annotations

import base64
import html
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
import yaml

from sim.cli import run_scenario
from sim.engine.metrics import HEADLINE, format_indicator
from sim.outputs.plots import FIGURES
from sim.outputs.report import TARGETS_FILE, lever_differences, write_report
from sim.outputs.results import load_run
from tests.conftest import ROOT, load_small


class Links(HTMLParser):
    """Every src/href in a page, and the text of its figure captions."""

    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.refs.append((tag, name, value))


@pytest.fixture(scope="module")
def policy_folder(tmp_path_factory):
    """Xinxiang, small, with one lever moved from the command line."""
    timeline = load_small("xinxiang_2025.yaml", "insurance.resident.outpatient.county.rate=0.65", seed=4,
                          population=5000, days=200)
    return run_scenario(timeline, tmp_path_factory.mktemp("runs"), draw=False, quiet=True)


@pytest.fixture(scope="module")
def report(policy_folder):
    """`run.py report FOLDER`, as a planner runs it."""
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), "report", str(policy_folder)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip(), (policy_folder / "report.html").read_text(encoding="utf-8")


def test_report_is_written_into_the_folder_and_its_path_printed(policy_folder, report):
    printed, _ = report
    assert printed == str(policy_folder / "report.html")
    assert not [p for p in policy_folder.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_report_is_self_contained(report):
    _, text = report
    parser = Links()
    parser.feed(text)
    external = [r for r in parser.refs if re.match(r"(https?:)?//", r[2].strip(), re.I)]
    assert external == []
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", text, re.I)  # no stylesheet fetches
    images = [value for tag, name, value in parser.refs if tag == "img"]
    assert len(images) == len(FIGURES)
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_has_every_headline_indicator_before_and_after(policy_folder, report):
    _, text = report
    summary = load_run(policy_folder)["summary"]
    for key, label, kind in HEADLINE:
        assert html.escape(label) in text, label
        row = text[text.index(html.escape(label)):].split("</tr>", 1)[0]
        for values in (summary, summary["periods"]["before"], summary["periods"]["after"]):
            assert f"<td>{format_indicator(values[key], kind)}</td>" in row, (key, row)
    assert "Before day 183" in text and "From day 183" in text


def test_report_describes_the_scenario_its_change_levers_figures_and_caveats(policy_folder, report):
    _, text = report
    assert "tertiary outpatient pooled reimbursement" in text  # the scenario's own description
    assert "From day 183: Tertiary outpatient pooling off for residents (Xinxiang 2025)" in text
    assert "insurance.resident.outpatient.tertiary.pooled = off (was on)" in text
    assert "insurance.resident.outpatient.county.rate</code>: 65% (schema default 50%)" in text
    for name in FIGURES:
        assert f'id="fig-{name}"' in text
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text, re.S)
    assert len(captions) == len(FIGURES) and all(len(c) > 80 for c in captions)
    caveats = html.unescape(text[text.index("<h2>Caveats</h2>"):])
    assert "synthetic" in caveats and "Calibration status" in caveats and "Not fit for" in caveats
    assert "not the policy's effect alone" in caveats  # before/after inside one run
    assert "same scenario and seed without its dated changes" in caveats  # the counterfactual
    assert "<th>Without policy</th><th>With policy</th><th>Effect</th>" in text


def test_report_sets_the_run_against_the_published_figures(policy_folder, report):
    _, text = report
    summary = load_run(policy_folder)["summary"]
    table = text[text.index('<table class="ind bench">'):].split("</table>", 1)[0]
    row = table[table.index("<td>Grassroots share of in-county visits</td>"):].split("</tr>", 1)[0]  # registry label
    target = yaml.safe_load(TARGETS_FILE.read_text(encoding="utf-8"))["targets"]["grassroots_share"]
    value, tol = float(target["value"]), float(target["tolerance"])
    assert f"<td>{summary['grassroots_share']:.1%}</td>" in row and f"{value:.1%} ± {tol * 100:.1f} pp" in row
    within = abs(summary["grassroots_share"] - value) <= tol
    assert ("<td>yes</td>" if within else "<td><b>no</b></td>") in row


def test_lever_differences_list_only_what_the_scenario_changes(policy_folder):
    levers = {path: (value, default) for path, value, default in lever_differences(load_run(policy_folder)["scenario"])}
    assert levers["insurance.resident.outpatient.county.rate"] == (0.65, 0.5)
    assert not any(path.startswith(("world", "population", "behaviour")) for path in levers)


def test_report_of_a_run_without_changes(tmp_path):
    folder = run_scenario(load_small("baseline.yaml", seed=4, population=3000, days=60), tmp_path, draw=False,
                          quiet=True)
    text = write_report(folder).read_text(encoding="utf-8")
    assert "No dated changes" in text and "Before day" not in text
    assert "not the policy's effect alone" not in html.unescape(text)
