"""The county medical community (紧密型县域医共体) and its global budget (总额付费、结余留用)."""

from __future__ import annotations

from sim.engine.agents.hospitals import head_rules
from sim.engine.facilities import Facilities
from sim.engine.metrics import GROUP_SLICE, INDEX, Ledger
from sim.engine.programmes.base import Programme
from sim.scenario.schema import Scenario


def budget_terms(p: Scenario) -> tuple:
    """What a change must alter to close the budget period early and start a new one."""
    gb = p.medical_community.global_budget
    return p.medical_community.enabled and gb.enabled, gb.per_capita, gb.overspend_share


class MedicalCommunity(Programme):
    """Grassroots strengthened over a ramp; a global budget accrued daily and settled yearly.

    What the county hospital does with the budget (stretch before referring out, refer down,
    second experts, grow) it decides itself (sim/engine/agents/hospitals.py, `CountyHospital`)
    from the running balance this programme keeps (`balance_share`).
    """

    def __init__(self, fac: Facilities, ledger: Ledger, n_residents: int, warmup: int):
        self.fac, self.ledger, self.n_residents, self.warmup = fac, ledger, n_residents, warmup
        self.start = 0         # day the community started (its ramp's start)
        self.budget_start = 0  # first day of the open budget period

    def configure(self, params: Scenario) -> None:
        """Read the community's section and the budget's incentives."""
        self.params = params
        head_rules(self.fac, params, effort=1.0)

    def on_change(self, old: Scenario, new: Scenario, day: int) -> None:
        """A community switched on starts its ramp; new budget terms close the open period."""
        if new.medical_community.enabled and not old.medical_community.enabled:
            self.start = day
        if budget_terms(old) != budget_terms(new):
            self.settle_budget(day, force=True)
            self.budget_start = day

    def step(self, day: int) -> None:
        """Ramp the gains in grassroots quality and capability."""
        self.strengthen_grassroots(day)

    def finish_step(self, day: int) -> None:
        """Accrue the day's budget against its claims; settle at a period's end."""
        self.settle_budget(day)

    def strengthen_grassroots(self, day: int) -> None:
        """Experts sent down, telemedicine and shared labs, in proportion to the ramp's progress."""
        if self.params.medical_community.enabled:
            self.fac.strengthen(self.params, self.progress(day))

    def progress(self, day: int) -> float:
        """How far the community's ramp has gone (0 .. 1)."""
        ramp = self.params.medical_community.ramp_days
        return 1.0 if ramp == 0 else min(1.0, max(day - self.start, 0) / ramp)

    def balance_share(self, day: int, window: int = 90) -> float:
        """(budget - claims) / budget over the last `window` days before `day` (0 without a budget)."""
        rows = self.ledger.rows[max(day - window, -self.warmup) + self.warmup:day + self.warmup]
        budget = rows[:, INDEX["budget"]].sum()
        return float((budget - rows[:, INDEX["budget_claims"]].sum()) / budget) if budget > 0 else 0.0

    def settle_budget(self, day: int, force: bool = False) -> None:
        """Global budget: accrue it daily, settle yearly and at the end (`force`: settle now)."""
        gb = self.params.medical_community.global_budget
        if day < 0 or not (self.params.medical_community.enabled and gb.enabled):
            return
        led = self.ledger
        if not force:  # today's budget and the claims it must cover (both already scaled to residents)
            led.add("budget", gb.per_capita * self.n_residents / 365.0)
            led.row[INDEX["budget_claims"]] += led.row[GROUP_SLICE["reimbursed"]].sum()
        last = day == self.params.days - 1
        if not (force or last or (day - self.budget_start + 1) % 365 == 0):
            return
        rows = led.rows[self.budget_start + self.warmup:day + self.warmup + 1]
        claims = rows[:, INDEX["budget_claims"]].sum()
        budget = rows[:, INDEX["budget"]].sum()
        balance = budget - claims
        settlement = balance if balance >= 0 else -(1.0 - gb.overspend_share) * -balance
        led.row[INDEX["settlement"]] += settlement
        self.budget_start = day + 1
