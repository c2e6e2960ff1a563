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
import urllib.error
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
    ref = tables["referrals"]  # referrals_up counts formal referrals (转诊); self-referrals are rows of their own
    counted = sum(c for c, d, k in zip(ref["count"], ref["direction"], ref["kind"]) if d == "up" and k == "formal")
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
    """`run.py dashboard` on a free local port; yields its URL and log file (stdout and stderr), stops it afterwards."""
    _require_browser()
    port = _free_port()
    log_path = tmp_path / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "dashboard", "--port", str(port)], cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "static/favicon.png", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # the server answers
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dashboard did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        assert url in log_path.read_text().splitlines()[0]
        yield url, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# What Solara's own page loader writes to the browser console on every page (its configuration,
# the websocket, and a notice about its router's Vue template): not TierFlow's to silence.
SOLARA_LOADER = ("solara config ", "solara init ", "Starting WebSocket: ", "will mount widget ",
                 "Failed to evaluate Vue script and find module.exports")


def _wait_text(page, cls: str, js_test: str, timeout: int = 60_000) -> None:
    page.wait_for_function(f"() => {{ const e = document.querySelector('.{cls}'); return e && e.innerText{js_test}; }}",
                           timeout=timeout)


def _wait_words(page, words: str, timeout: int = 30_000) -> None:
    """Wait until `words` are on the page. Solara's app bar is a portal filled by an effect after
    the render, so its language button can change a render after the texts the test waited for
    (CI once found "English" missing there)."""
    page.get_by_text(words, exact=False).first.wait_for(state="attached", timeout=timeout)


def test_dashboard_for_a_class_in_english_and_chinese_offline_and_quiet(dashboard, tmp_path):
    from playwright.sync_api import sync_playwright

    url, server_log = dashboard
    started = server_log.read_text()
    outside: list[str] = []
    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})  # a projector
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")) else None)
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
            page.goto(url)
            shares = page.locator(".tierflow-shares img")
            shares.wait_for(timeout=90_000)
            page.locator(".tierflow-network img").wait_for(timeout=60_000)
            time.sleep(1)
            # Nothing printed on page load: not by the server, not in the browser beyond Solara's loader.
            assert server_log.read_text() == started
            assert [m for m in console if not m.split(": ", 1)[1].startswith(SOLARA_LOADER)] == []
            text = page.locator(".tierflow-shares-text")
            assert text.inner_text().startswith("Day 0 of 365")
            # The teacher's controls in plain words; Mesa's developer controls are not there.
            for words in ("▶ Play", "Step a week", "Reset", "Play speed: 2 weeks a second"):
                _wait_words(page, words)
            body = page.locator("body").inner_text()
            for developer in ("Play Interval", "Render Interval", "Use Threads", "Model Parameters"):
                assert developer not in body

            # Step a week: seven days pass and the charts are redrawn.
            before = shares.screenshot()
            flow_src = page.locator(".tierflow-flow img").get_attribute("src")
            page.locator(".tierflow-step").click()
            _wait_text(page, "tierflow-shares-text", ".startsWith('Day 7 ')")
            page.wait_for_function("s => document.querySelector('.tierflow-flow img').getAttribute('src') !== s",
                                   arg=flow_src, timeout=60_000)
            after_step = shares.screenshot()
            assert after_step != before

            # Levers: switch on the medical community, cut tertiary outpatient reimbursement to 0%.
            page.get_by_text("County medical community (医共体)").click()
            slider = page.locator(".tierflow-lever-tertiary_outpatient").get_by_role("slider")
            slider.focus()
            for _ in range(12):
                slider.press("ArrowLeft")
            levers = page.locator(".tierflow-levers-text")
            _wait_text(page, "tierflow-levers-text", ".includes('tertiary 0%')", 30_000)
            assert "medical community on" in levers.inner_text()
            assert "policy changes so far: 0" in text.inner_text()
            page.locator(".tierflow-step").click()
            _wait_text(page, "tierflow-shares-text", ".includes('policy changes so far: 1')")
            assert text.inner_text().startswith("Day 14 ")
            assert shares.screenshot() != after_step  # the week's data and the dashed policy line

            # Play runs weeks on its own until paused.
            page.get_by_role("button", name="▶ Play").click()
            _wait_text(page, "tierflow-shares-text", ".match(/^Day (\\d+)/) && +document.querySelector("
                       "'.tierflow-shares-text').innerText.match(/^Day (\\d+)/)[1] >= 28")
            page.get_by_role("button", name="❚❚ Pause").click()
            page.get_by_role("button", name="▶ Play").wait_for(timeout=30_000)

            # 中文: every label switches, indicator names from the registry.
            english_src = page.locator(".tierflow-flow img").get_attribute("src")
            page.locator(".tierflow-lang").click()
            _wait_text(page, "tierflow-shares-text", ".startsWith('第 ')")
            assert "县域内基层诊疗人次占比" in text.inner_text()  # label("grassroots_share", "zh")
            _wait_text(page, "tierflow-levers-text", ".startsWith('情景 ')", 30_000)
            assert "医共体 开" in levers.inner_text() and "三级医院门诊报销 0%" in levers.inner_text()
            for words in ("▶ 播放", "前进一周", "重新开始", "政策杠杆（次日生效）", "English"):
                _wait_words(page, words)
            page.wait_for_function("s => document.querySelector('.tierflow-flow img').getAttribute('src') !== s",
                                   arg=english_src, timeout=60_000)
            page.screenshot(path=str(tmp_path / "dashboard_zh.png"))
            page.locator(".tierflow-lang").click()
            _wait_text(page, "tierflow-shares-text", ".startsWith('Day ')")

            # Another scenario: choose it, Reset builds it from day 0.
            page.get_by_text("xinxiang_2025.yaml").click()
            page.get_by_role("option", name="baseline.yaml").click()
            page.locator(".tierflow-reset").click()
            _wait_text(page, "tierflow-levers-text", ".startsWith('Scenario baseline')")
            assert "medical community off" in levers.inner_text()
            assert text.inner_text().startswith("Day 0 of 365")
        finally:
            browser.close()
    assert outside == [], f"the page fetched from outside this machine: {outside[:5]}"
    log = server_log.read_text()
    assert "Could not load URL" not in log and "Traceback" not in log and "Warning" not in log, log[-2000:]
