"""Regenerate the README's figures and their section from the shipped scenarios.

    .venv/bin/python docs/make_figures.py            # full size, as shipped (about a minute)
    .venv/bin/python docs/make_figures.py --no-dashboard

Runs scenarios/baseline.yaml and scenarios/xinxiang_2025.yaml with the command line (full
size, their own seeds), draws the key figures from the saved run folders into
docs/figures/*.png (palette PNGs, small enough to commit), takes a screenshot of the
classroom dashboard when Debian's Chromium and the [dashboard] extra are installed, and
writes docs/figures.md, whose sentences quote the findings the figures state.
Run it again after recalibrating the model.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from sim.outputs.plots.run import build_figures, png_bytes  # noqa: E402
from sim.outputs.results import load_run  # noqa: E402

OUT = ROOT / "docs" / "figures"
# (scenario, figure): the figures the README shows, in its order.
KEY_FIGURES = (("xinxiang_2025", "visit_shares"), ("xinxiang_2025", "flow"), ("baseline", "network"),
               ("xinxiang_2025", "fund"), ("xinxiang_2025", "burden"))

SECTION = """\
<!-- Written by docs/make_figures.py (image paths are relative to docs/); run it again after
changing the model, rather than editing this text. -->

## What the figures show

Every run draws these figures into its folder (`figures/`); `python run.py plot RUN_DIR`
redraws them from the saved files, `--lang zh` with Chinese labels (`<name>_zh.png`, beside the
English ones; the Chinese font, Noto Sans SC, is installed with TierFlow);
`python docs/make_screenshots.py` regenerates every figure of three scenarios in both languages.
They are drawn for a projector: large type, the colour-blind-safe Okabe-Ito palette, one colour
per tier in every figure (village clinics green, township health centres blue, county hospitals
orange, tertiary hospitals red), and a title that states what the run shows. The figures below come from the shipped scenarios at full size ({residents} residents,
one year, their own seeds); `python docs/make_figures.py` regenerates them.

**Where visits happen** ([scenarios/xinxiang_2025.yaml](../scenarios/xinxiang_2025.yaml)).
The share of visits at each tier, week by week; the dashed line is the day the policy starts
(tertiary outpatient pooling switched off for resident insurance). The lower panel is the
official indicator 基层诊疗人次占比, the grassroots share of in-county visits, with its mean
before and after. A run of a scenario with dated changes also runs the same scenario and seed
without them, and the titles state the policy's effect against that run from the policy day (not
before against after, which mixes in the insurance year and chance). In this run: *{visit_shares}*.

![Visit shares by tier, Xinxiang 2025](figures/xinxiang_2025_visit_shares.png)

**Where care begins and where it ends.** Each band is a set of care episodes, from the tier
of first contact (left) to the tier that finally treated them (right). Episodes that start at a
county or tertiary hospital bypassed the grassroots; bands that change level were referred on.
*{flow}*.

![Flow from first contact to treatment](figures/xinxiang_2025_flow.png)

**The referral network on the county map** ([scenarios/baseline.yaml](../scenarios/baseline.yaml)).
Villages (grey, sized by residents) with their clinics (green dots), each clinic tied by a thin
line to its nearest township health centre; centres and hospitals at their places (km from the
county seat; longitude and latitude for a county loaded from CSV files), sized by visits and
admissions. Referrals are drawn as routes: a village clinic's referrals travel with its township
centre, and each route between centres and hospitals is one arrow as wide as its referrals
(upward dark grey, downward purple; self-referrals, when the referrals table marks them in a
`kind` column, dashed). Hospitals outside the county stand in the right-hand column with their
distance; the table beside the map sums referrals by tier. *{network}*.

![Referral network, baseline county](figures/baseline_network.png)

**The insurance fund.** Pooled fund spending per month by tier, the out-of-county tertiary
hospitals hatched (siphoning of money, 虹吸效应), against premiums; below, the fund's running
balance. *{fund}*.

![Insurance fund by tier and balance](figures/xinxiang_2025_fund.png)

**Who bears the cost.** Out-of-pocket spending and care forgone (not sought, or abandoned while
waiting) by income fifth and by severity, before and after the policy: the collateral harm
(误伤) a policy may do. The bars are before and after the policy day, which also differ by the
calendar (deductibles and caps reset each insurance year) and by chance; the title gives the
policy's effect, against the same seed without the policy: *{burden}*. One run is one
realisation: for an interval, compare the policy with the baseline over replications
(`python run.py compare`).

![Out-of-pocket and care forgone by income and severity](figures/xinxiang_2025_burden.png)

## A report to email

```bash
.venv/bin/python run.py report results/xinxiang_2025/<timestamp>
```

writes `report.html` into the run folder and prints its path: one self-contained file (figures
embedded, nothing fetched from the internet) that a planner can email. It gives the scenario in
words (its description, the county, each dated change and what it sets, every policy lever set
away from the schema defaults), the headline indicators for the whole run and before and after
the first change, each figure with a sentence on what it shows, and the caveats: a synthetic
county, the calibration status set against published national figures, and what the model is not
fit for.

## The classroom dashboard

```bash
.venv/bin/pip install -e ".[dashboard]"
.venv/bin/python run.py dashboard            # prints http://127.0.0.1:8765/ ; --port to change it
```

A Solara page built on Mesa that works without internet (Solara's web assets come from the
`solara-assets` package; telemetry is off), made for a projector. The teacher's controls are in
plain words: Play / Pause, a play speed (weeks a second), "Step a week" and Reset, which builds the
scenario, county size and seed chosen in the sidebar. A 中文 / English button in the top bar
switches every label, the charts and the indicator names included. Move the levers at any time:
tertiary outpatient reimbursement for residents, grassroots outpatient reimbursement, the
family-doctor signing target, the county medical community on or off. A change takes effect the
next day, is marked on the chart, and the tier shares, the flow between tiers and the referral
network over the last 30 days follow.
{dashboard_image}"""


def run_cli(scenario: str, out: Path) -> Path:
    """Run a shipped scenario at full size with the command line; return its run folder."""
    subprocess.run([sys.executable, str(ROOT / "run.py"), str(ROOT / "scenarios" / f"{scenario}.yaml"),
                    "--out", str(out), "--no-figures"], check=True, cwd=ROOT)
    (folder,) = sorted((out / scenario).iterdir())
    return folder


def save_small_png(fig, path: Path) -> None:
    """Save a figure as a 256-colour optimised PNG (flat-colour charts lose nothing visible)."""
    tmp = path.with_suffix(".tmp.png")
    tmp.write_bytes(png_bytes(fig))
    os.replace(tmp, path)


def dashboard_screenshot(path: Path) -> bool:
    """Screenshot the dashboard after a few weeks and a lever move; False when it cannot be taken."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    if not chromium.exists():
        return False
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "dashboard", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(180):
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1600, "height": 900})  # a projector
            page.goto(url)
            page.locator(".tierflow-shares img").wait_for(timeout=90_000)
            step = page.locator(".tierflow-step")
            for week in range(1, 13):
                step.click()
                page.wait_for_function(f"() => document.querySelector('.tierflow-shares-text').innerText"
                                       f".startsWith('Day {7 * week} ')", timeout=60_000)
                if week == 6:
                    page.get_by_text("County medical community (医共体)").click()
            time.sleep(1)
            buf = page.screenshot(full_page=False)
            browser.close()
        image = Image.open(io.BytesIO(buf)).convert("RGB")
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS)
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        return True
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main() -> None:
    """Run, draw, write."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-dashboard", action="store_true", help="skip the dashboard screenshot")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    findings: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: load_run(run_cli(name, Path(tmp))) for name in {s for s, _ in KEY_FIGURES}}
        for scenario, figure in KEY_FIGURES:
            fig = build_figures(runs[scenario], "en", names=[figure])[figure]
            findings[figure] = re.sub(r"\s+", " ", fig.get_suptitle())
            path = OUT / f"{scenario}_{figure}.png"
            save_small_png(fig, path)
            print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1024:,.0f} KB")
        residents = runs["baseline"]["manifest"]["residents"]
    shot = OUT / "dashboard.png"
    if not args.no_dashboard and dashboard_screenshot(shot):
        print(f"{shot.relative_to(ROOT)}  {shot.stat().st_size / 1024:,.0f} KB")
    image = ("\n![The classroom dashboard after twelve weeks, the medical community switched on in week six]"
             "(figures/dashboard.png)\n") if shot.exists() else ""
    text = SECTION.format(residents=f"{residents:,}", dashboard_image=image, **findings)
    (ROOT / "docs" / "figures.md").write_text(text, encoding="utf-8")
    print("docs/figures.md")


if __name__ == "__main__":
    main()
