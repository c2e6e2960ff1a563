"""The classroom dashboard: its model's levers, and the page in a real browser, offline.

The browser test starts `run.py dashboard` on a free port of 127.0.0.1, drives Debian's
Chromium with Playwright (never a downloaded browser), steps the model, moves levers and
checks the plots changed and that the page asked nothing of the internet. Without
/usr/bin/chromium it skips, unless TIERFLOW_REQUIRE_BROWSER=1 (CI), where it fails.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sim.outputs.dashboard import ClassroomModel, lever_values
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # a browser and a Solara server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


# ------------------------------------------------------------- the model's levers

def test_a_lever_takes_effect_the_next_day_and_outlasts_the_scenarios_own_changes():
    model = ClassroomModel("xinxiang_2025.yaml", residents=4000, seed=2)
    assert model.day == 0 and model.time == 0  # the warm-up is done before class
    for _ in range(10):
        model.step()
    model.move_lever("tertiary_outpatient", 0.2)
    model.move_lever("medical_community", True)
    assert model.levers() == {**lever_values(model.params), "tertiary_outpatient": 0.2, "medical_community": True}
    assert not model.params.medical_community.enabled  # not yet: from tomorrow
    model.step()
    assert model.change_log[-1][0] == 10 and "medical community" in model.change_log[-1][1]
    assert model.params.medical_community.enabled and model.community_start == 10
    assert model.params.insurance.resident.outpatient.tertiary.rate == 0.2
    while model.day <= 183:  # the scenario's own change (pooling off) keeps the class's lever
        model.step()
    rule = model.params.insurance.resident.outpatient.tertiary
    assert (rule.rate, rule.pooled) == (0.2, True) and model.params.medical_community.enabled
    assert [d for d, _ in model.change_log] == [10, 183]


def test_the_last_30_days_views_count_only_those_days():
    model = ClassroomModel("baseline.yaml", residents=4000, seed=2)
    for _ in range(40):
        model.step()
    tables = model.window_tables()
    daily = model.recorded()
    visits = sum(daily[f"visits_{t}_{s}"][-30:].sum() for t in ("village", "township", "county", "tertiary")
                 for s in ("resident", "employee"))
    assert sum(tables["facilities"]["visits"]) == pytest.approx(visits)
    up = daily["referrals_up_village"][-30:].sum() + daily["referrals_up_township"][-30:].sum() + \
        daily["referrals_up_county"][-30:].sum()
    counted = sum(c for c, d in zip(tables["referrals"]["count"], tables["referrals"]["direction"]) if d == "up")
    assert counted == pytest.approx(up)


# ------------------------------------------------------------------ the browser

def _require_browser() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    for module in ("playwright", "solara", "solara_assets"):
        if importlib.util.find_spec(module) is None:
            missing.append(f"the Python package {module} (pip install -e '.[test]')")
    if missing:
        reason = "dashboard browser test needs " + " and ".join(missing)
        if os.environ.get("TIERFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " (TIERFLOW_REQUIRE_BROWSER=1)")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dashboard(tmp_path):
    """`run.py dashboard` on a free local port; yields its URL and log file, stops it afterwards."""
    _require_browser()
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "dashboard", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        first = proc.stdout.readline()
        url = f"http://127.0.0.1:{port}/"
        assert url in first, first
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dashboard did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, tmp_path / "server.log"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_dashboard_steps_and_levers_change_the_plots_offline(dashboard, tmp_path):
    from playwright.sync_api import sync_playwright

    url, server_log = dashboard
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1300})
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else None)
            page.goto(url)
            page.get_by_text("Policy levers").wait_for(timeout=90_000)
            shares = page.locator(".tierflow-shares img")
            shares.wait_for(timeout=60_000)
            text = page.locator(".tierflow-shares-text")
            assert text.inner_text().startswith("Day 0 of 365")

            # Step: a week passes (Mesa's render interval is 7 days) and the chart is redrawn.
            before = shares.screenshot()
            flow_src = page.locator(".tierflow-flow img").get_attribute("src")
            page.get_by_role("button", name="Step").click()
            page.wait_for_function("() => document.querySelector('.tierflow-shares-text').innerText"
                                   ".startsWith('Day 7 ')", timeout=60_000)
            page.wait_for_function("s => document.querySelector('.tierflow-flow img').getAttribute('src') !== s",
                                   arg=flow_src, timeout=60_000)
            after_step = shares.screenshot()
            assert after_step != before

            # Levers: switch on the medical community, cut tertiary outpatient reimbursement to 0%.
            page.get_by_text("County medical community (医共体)").click()
            slider = page.locator(".v-input", has_text="Tertiary outpatient reimbursement").get_by_role("slider")
            slider.focus()
            for _ in range(12):
                slider.press("ArrowLeft")
            levers = page.locator(".tierflow-levers-text")
            page.wait_for_function("() => document.querySelector('.tierflow-levers-text').innerText"
                                   ".includes('tertiary 0%')", timeout=30_000)
            assert "medical community on" in levers.inner_text()
            assert "policy changes so far: 0" in text.inner_text()

            page.get_by_role("button", name="Step").click()
            page.wait_for_function("() => document.querySelector('.tierflow-shares-text').innerText"
                                   ".includes('policy changes so far: 1')", timeout=60_000)
            assert text.inner_text().startswith("Day 14 ")
            after_lever = shares.screenshot()
            assert after_lever != after_step  # the week's data and the dashed policy line
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

            # Another scenario: choose it, Reset builds it from day 0.
            page.get_by_text("xinxiang_2025.yaml").click()
            page.get_by_role("option", name="baseline.yaml").click()
            page.get_by_role("button", name="Reset", exact=True).first.click()
            page.wait_for_function("() => (document.querySelector('.tierflow-levers-text') || {innerText: ''})"
                                   ".innerText.startsWith('Scenario baseline')", timeout=60_000)
            assert "medical community off" in levers.inner_text()
            assert text.inner_text().startswith("Day 0 of 365")
        finally:
            browser.close()
    assert outside == [], f"the page fetched from outside this machine: {outside[:5]}"
    # Nor did the server try to fetch a missing asset from a CDN on the page's behalf.
    assert "Could not load URL" not in server_log.read_text()
