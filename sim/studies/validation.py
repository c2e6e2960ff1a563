"""Validation against published evidence that was not used in fitting.

Each check runs the model the way the study observed the world (a cross-section, or a
before/after policy comparison with common random numbers), and prints the model beside
the published figure. A check "agrees" when the model reproduces the finding's direction
and rough size as stated in `criterion`; disagreements are reported, never hidden.
Sources: ../shared/targets/behaviour_evidence.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.studies.calibrate import run_data
from sim.engine.metrics import group
from sim.engine.model import TierFlowModel
from sim.scenario.loader import load
from sim.scenario.overrides import with_overrides
from sim.scenario.schema import SEVERITIES


@dataclass
class Check:
    """One comparison of model and evidence."""

    name: str
    evidence: str
    source: str
    model: str
    agrees: bool
    criterion: str


def _with(data: dict, *edits: tuple[str, float]) -> dict:
    """A copy of scenario data with dotted key paths set (checked like `--set`)."""
    return with_overrides(data, dict(edits), where="validate-model")


def travel_and_quality(data: dict, runs: list[TierFlowModel]) -> Check:
    """Jia 2020: travel weighs most for minor illness, doctor quality for severe illness.

    Relative importance as in the DCE: each attribute's weight times the range of its levels
    in the study's design: half an hour of travel (WTP was asked for cutting travel below 30
    minutes) and the step from a junior grassroots doctor to a senior one (the gap between
    residents' mean perceived quality of village clinics and of tertiary hospitals).
    """
    m = runs[0]
    travel_range = 0.5
    trust = m.people.trust.mean(axis=0)
    quality_range = float(trust[3] - trust[0])
    shares = {}
    for i, sev in enumerate(SEVERITIES):
        t = m.coef.travel[i] * travel_range
        q = m.coef.quality[i] * quality_range
        shares[sev] = (t / (t + q), q / (t + q))
    minor_ok = shares["minor"][0] > shares["minor"][1]
    severe_ok = shares["severe"][1] > shares["severe"][0]
    model = (f"travel:quality importance, minor {shares['minor'][0]:.0%}:{shares['minor'][1]:.0%}; "
             f"severe {shares['severe'][0]:.0%}:{shares['severe'][1]:.0%}")
    return Check("Travel decides minor illness, quality severe illness",
                 "minor: travel 32.3% vs provider 8.5%; severe: provider seniority 38.7%, travel not in the top three",
                 "Jia et al. 2020, IJERPH 17(11):3987 (DCE, Wuhan)", model, minor_ok and severe_ok,
                 "travel outweighs quality for minor illness and quality outweighs travel for severe illness")


def employee_first_contact(data: dict, runs: list[TierFlowModel]) -> Check:
    """Yang 2024: the employee-insured go first to a general hospital far more often (OR 5.4)."""
    ratios = []
    for m in runs:
        fv = group(m.daily(), "first_visits_scheme")  # tier x scheme (resident, employee)
        hospital, grassroots = fv[2:].sum(axis=0), fv[:2].sum(axis=0)
        odds = hospital / np.maximum(grassroots, 1)
        ratios.append(odds[1] / odds[0])
    odds_ratio = float(np.mean(ratios))
    return Check("Employee-insured go to hospitals first", "odds ratio 5.38 (95% CI 4.89-5.92) for a general "
                 "hospital at first visit; 3.24 even when near a primary facility",
                 "Yang et al. 2024, Risk Manag Healthc Policy 17:1287", f"odds ratio {odds_ratio:.2f}",
                 odds_ratio >= 3.0, "odds ratio of at least 3 (far more often)")


def grassroots_price_cut(data: dict, runs: list[TierFlowModel], seeds: tuple[int, ...]) -> Check:
    """J Rural Stud 2025: cheaper primary outpatient care for residents raised primary choice by 7.2 pp."""
    diffs = []
    variant = _with(data, ("insurance.resident.outpatient.village.rate",
                           min(data["insurance"]["resident"]["outpatient"]["village"]["rate"] + 0.2, 1.0)),
                    ("insurance.resident.outpatient.township.rate",
                     min(data["insurance"]["resident"]["outpatient"]["township"]["rate"] + 0.2, 1.0)))
    for m, seed in zip(runs, seeds):
        cut = run_data(variant, seed)
        share = []
        for model in (m, cut):
            fv = group(model.daily(), "first_visits_scheme")[:, 0]  # residents
            share.append(fv[:2].sum() / fv.sum())
        diffs.append(100 * (share[1] - share[0]))
    pp = float(np.mean(diffs))
    return Check("Cheaper grassroots outpatient care draws residents to it",
                 "+7.2 pp probability of choosing a primary facility after resident-insurance integration",
                 "J Rural Studies 2025 (CHARLS 2011-18 DID), summary", f"{pp:+.1f} pp for residents' grassroots "
                 "outpatient rates +20 points", 1.0 <= pp <= 15.0, "a rise of a few percentage points (1-15 pp)")


def signing_and_admissions(data: dict, runs: list[TierFlowModel], seeds: tuple[int, ...]) -> Check:
    """Jing 2021: family-doctor signing lowers admissions."""
    base_rate = [m.summary()["admissions_per_100"] for m in runs]
    more = _with(data, ("signing.initial_rate", 0.65), ("signing.target_rate", 0.65))
    push = [run_data(more, seed).summary()["admissions_per_100"] for seed in seeds]
    change = float(np.mean(np.array(push) - np.array(base_rate)))
    return Check("Family-doctor signing lowers admissions",
                 "signed residents use more primary care and are admitted less (cost per admission -673 yuan)",
                 "Jing, Wang, Fang 2021, 中国卫生政策研究 14(11):25-34", f"admissions per 100 {np.mean(base_rate):.2f} -> "
                 f"{np.mean(push):.2f} when signing rises from 35% to 65%", change < 0, "admissions fall")


def tertiary_share_of_serious_admissions(data: dict, runs: list[TierFlowModel]) -> Check:
    """CKB: 27-29% of rural first stroke/IHD admissions were at tier-3 hospitals (64-68% urban)."""
    shares = []
    for m in runs:
        adm = group(m.daily(), "admissions_severity")  # severity x tier
        serious = adm[2:].sum(axis=0)
        shares.append(serious[3] / max(serious.sum(), 1))
    share = float(np.mean(shares))
    return Check("Serious illness admitted at tertiary hospitals",
                 "rural 27-29%, urban 64-68% of first stroke/IHD admissions at tier 3",
                 "China Kadoorie Biobank cost-sharing study (10 areas, 2009-17)",
                 f"{share:.0%} of severe and critical admissions out of county at tertiary hospitals",
                 0.2 <= share <= 0.4, "within 20-40% (a rural county)")


def tertiary_fee_rise(data: dict, runs: list[TierFlowModel], seeds: tuple[int, ...]) -> Check:
    """Beijing 2017: new service fees at big hospitals cut their outpatient visits."""
    fee = data["providers"]["registration_fee"]["tertiary"]
    variant = _with(data, ("providers.registration_fee.tertiary", fee + 40.0))
    changes = []
    for m, seed in zip(runs, seeds):
        before = m.summary()["visits_by_tier"]["tertiary"]
        after = run_data(variant, seed).summary()["visits_by_tier"]["tertiary"]
        changes.append(after / before - 1)
    change = float(np.mean(changes))
    return Check("Higher fees at tertiary clinics reduce their visits",
                 "tertiary (TCM) hospital outpatient visits -23.1% after the 2017 price reform",
                 "Zhu et al. 2019, BMJ Open (ITS, Beijing)", f"{change:+.1%} tertiary visits for a fee 40 yuan higher",
                 -0.4 <= change <= -0.03, "a fall of 3-40%")


def run_checks(scenario: str, seeds: tuple[int, ...] = (1,), overrides: tuple[str, ...] = (),
               report: Callable[[str], None] | None = None) -> list[Check]:
    """Run every validation check on a scenario (normally the calibrated baseline)."""
    timeline = load(scenario, list(overrides))
    data = timeline.resolved()
    runs = [run_data(data, seed) for seed in seeds]
    checks = [
        travel_and_quality(data, runs),
        employee_first_contact(data, runs),
        grassroots_price_cut(data, runs, seeds),
        signing_and_admissions(data, runs, seeds),
        tertiary_share_of_serious_admissions(data, runs),
        tertiary_fee_rise(data, runs, seeds),
    ]
    if report:
        report(format_checks(checks))
    return checks


def format_checks(checks: list[Check]) -> str:
    """Model beside evidence, one block per check."""
    lines = []
    for c in checks:
        lines += [f"[{'agrees' if c.agrees else 'DISAGREES'}] {c.name}",
                  f"    evidence:  {c.evidence}", f"    source:    {c.source}",
                  f"    model:     {c.model}", f"    criterion: {c.criterion}", ""]
    n = sum(c.agrees for c in checks)
    lines.append(f"{n} of {len(checks)} checks agree.")
    return "\n".join(lines)


def setup(parser) -> None:
    """Options of `python run.py validate-model`."""
    parser.add_argument("scenario", nargs="?", default="scenarios/baseline.yaml",
                        help="scenario to validate (default: the calibrated baseline)")
    parser.add_argument("--seeds", type=int, default=1, help="replications per check (default 1)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override a parameter")


def command(args) -> int:
    """Run `python run.py validate-model`: every check, model beside evidence."""
    run_checks(args.scenario, seeds=tuple(range(1, args.seeds + 1)), overrides=tuple(args.set), report=print)
    return 0
