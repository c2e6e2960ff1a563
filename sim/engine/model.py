"""The TierFlow model: builds the county, then runs the day's plan.

    model = TierFlowModel(sim.scenario.loader.load("scenarios/baseline.yaml"))
    model.run()
    model.summary()

`model.plan` is the day, one stage per line; `model.step()` runs it once. The stages live in
their own modules and are handed the objects they read and write, never the model: `choice`
(where to go), `flow` (queues, treatment, referral, beds), `billing` (bills, settling the
day's contacts), `residents` (running totals, trust) and the policy `programmes` (signing,
the medical community and its budget, tertiary expansion).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from contextlib import contextmanager

import mesa
import numpy as np
from mesa.discrete_space import Network

from sim.county import population as population_mod
from sim.county.build import build_world
from sim.county.world import World
from sim.engine.agents import FACILITY_CLASSES, FamilyDoctor, Patient
from sim.engine.behaviour import ChoiceCoefficients
from sim.engine.billing import Billing, price_tables
from sim.engine.choice import Choice
from sim.engine.facilities import Facilities
from sim.engine.flow import Flow
from sim.engine.insurance import Rules
from sim.engine.journeys import Journeys
from sim.engine.metrics import COLUMNS, INDEX, Ledger, PersonStats, PersonTotals, group, summarise
from sim.engine.onset import Onset
from sim.engine.payers import PayerAccounts
from sim.engine.programmes import MedicalCommunity, ProviderReviews, Programme, Signing
from sim.engine.residents import Residents
from sim.engine.streams import Streams
from sim.engine.teams import Teams
from sim.scenario.schema import TIERS, Scenario, Timeline

TRUST_COLUMNS = [INDEX[f"trust_{t}"] for t in TIERS]


@contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector inside the block (reference counting still frees
    memory); it is switched back on afterwards if it was on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class TierFlowModel(mesa.Model):
    """Patient flow across care tiers in one county."""

    def __init__(self, timeline: Timeline | Scenario, world: World | None = None, agents: bool = True):
        """Build the county, its residents and providers. `agents=False` skips the `Patient` agents
        (replications and tests); provider agents are always made, since they decide."""
        if isinstance(timeline, Scenario):
            if timeline.changes:
                raise ValueError("a scenario with dated changes must be loaded with sim.scenario.loader.load(), "
                                 "which validates each change")
            timeline = Timeline(base=timeline)
        params = timeline.base
        super().__init__(rng=params.seed)
        self.timeline = timeline
        self.params = params
        self.warmup = params.warmup_days
        self.day = -self.warmup
        self.streams = Streams(params.seed)
        self.changes = {day: (label, scen) for day, label, scen in timeline.changes}
        self.change_log: list[tuple[int, str]] = []
        self.world = world if world is not None else build_world(params, self.streams.get("world"))
        self.people = population_mod.synthesise(params, self.world, self.streams.get("population"))
        self.fac = Facilities(self.world, params.scale)
        self.ledger = Ledger(params.days, params.scale, self.warmup)
        self.onset = Onset(self.people, params, self.streams.get("onset"), start_day=self.day)
        self.residents = Residents(self.people, self.warmup, params.days)
        accounts = PayerAccounts(self.people.income, self.people.scheme, self.people.chronic,
                                 self.streams.get("payers"))
        self.billing = Billing(self.people, self.residents, self.fac, self.world, self.ledger, accounts, self.streams)
        self.choice = Choice(self.world, self.fac, self.people, self.ledger, self.onset)
        self.flow = Flow(self.people, self.residents, self.fac, self.world, self.ledger, self.onset, self.billing)
        self.signing = Signing(self.residents)
        self.community = MedicalCommunity(self.fac, self.ledger, self.people.n, self.warmup)
        self.programmes: list[Programme] = [  # in the order they act each day
            self.signing,
            self.community,
            ProviderReviews(self.fac, self.agents_by_type),  # hospitals and centres decide (agents/)
        ]
        self.teams = Teams(self.people, self.world, self.residents, self.onset, self.streams.get("teams"))
        self.network = Network(self.world.graph, layout=None, random=self.random)  # cells: graph nodes
        self.journeys = Journeys(self.people, self.world)
        self.snapshots: dict[int, tuple[np.ndarray, ...]] = {}  # per-person totals at a day's start
        self.snapshot_days: set[int] = set(self.changes)
        self._configure(params)
        self._create_agents(patients=agents)
        self.plan: list[Callable[[], None]] = [
            self.start_recording,        # day 0: the warm-up ends, accounts start from zero
            self.take_snapshot,          # per-person totals at the start of a period (policy days)
            self.apply_policy_changes,   # dated changes in the scenario take effect
            self.new_insurance_year,     # deductibles and caps reset each 365 days
            self.run_programmes,         # signing, the medical community's gains, tertiary expansion
            self.teams_act,              # family-doctor teams sign toward the signing target
            self.discharge,              # beds free up; some go down to a lower tier
            self.fall_ill,               # acute onsets and chronic follow-ups due
            self.seek_care,              # forgo care or choose a facility
            self.treat,                  # queues, treatment, referral up, admission, billing
            self.finish_programmes,      # the medical community's global budget
            self.close_day,              # premiums and daily indicators
        ]

    # ------------------------------------------------------------------ set-up

    def _create_agents(self, patients: bool = True) -> None:
        """One agent per facility on its graph node's cell (always: providers decide, see
        sim/engine/programmes/), and (if `patients`) one `Patient` per resident agent.

        Cyclic garbage collection is paused meanwhile: it would scan the growing crowd of new
        agents again and again and find nothing to free (about 12% of a million agents' time).
        """
        with paused_gc():
            for i in range(self.people.n if patients else 0):
                Patient(self, i)
            for f, tier in enumerate(self.world.fac_tier):
                FACILITY_CLASSES[tier](self, f)

    def _configure(self, params: Scenario) -> None:
        """Derive the tables the day's stages read from a parameter set, and hand them over."""
        self.tables = price_tables(params)
        self.rules = Rules.from_scenario(params)
        self.daily_premiums = float(self.residents.enrolled @ self.rules.premium) / 365.0
        self.coef = ChoiceCoefficients.from_scenario(params)
        self.fac.configure(params)
        self.teams.configure(params, params.scale)
        self.onset.configure(params)
        for programme in self.programmes:
            programme.configure(params)
        self.billing.configure(params, self.tables, self.rules)
        self.choice.configure(params, self.coef, self.billing)
        self.flow.configure(params, self.tables)

    # Read by other floors (dashboard, reference model, tests).
    signed_count = property(lambda self: self.residents.signed_count, doc="Residents signed so far.")
    community_start = property(lambda self: self.community.start, doc="Day the medical community started.")
    keep_in_county = property(lambda self: float(self.fac.stretch.max()), doc="The head hospital's stretch now.")
    down_boost = property(lambda self: float(self.fac.down_boost.max()), doc="The head hospital's down-referral boost.")

    # ------------------------------------------------------------- the day

    def step(self) -> None:
        """Run one day: every stage of `self.plan`, in order."""
        for stage in self.plan:
            stage()
        self.day += 1
        if self.day >= self.params.days:
            self.running = False

    def run(self, until: int | None = None) -> "TierFlowModel":
        """Run every day of the scenario, or up to (not including) day `until`.

        Cyclic garbage collection is paused while it runs (and restored after): a day makes
        no reference cycles, but the collector would still walk every agent now and then.
        """
        end = self.params.days if until is None else min(until, self.params.days)
        with paused_gc():
            while self.day < end:
                self.step()
        return self

    def start_recording(self) -> None:
        """At day 0, after the warm-up: start the insurance year and every account from zero."""
        if self.day != 0:
            return
        ppl = self.people
        ppl.new_year()
        self.billing.accounts.new_year()
        self.billing.accounts.severe_admissions[:] = 0
        ppl.oop[:] = 0
        ppl.ooc_inpatient_fund[:] = 0
        self.fac.revenue[:] = 0
        self.fac.visits[:] = 0
        self.fac.admissions[:] = 0
        self.journeys.reset_accounts()

    def take_snapshot(self) -> None:
        """Keep per-person totals at the start of a period, for that period's indicators."""
        if self.day in self.snapshot_days and self.day > 0:
            self.snapshots[self.day] = (self.people.oop.copy(), self.people.ooc_inpatient_fund.copy(),
                                        self.billing.accounts.severe_admissions.copy())

    def keep_totals_from(self, day: int) -> None:
        """Ask for a period to start on `day` (before the run reaches it), see `summary_between`."""
        if day < self.day:
            raise ValueError(f"day {day} has passed (the model is on day {self.day})")
        self.snapshot_days.add(day)

    def apply_policy_changes(self) -> None:
        """Switch to the parameters of a dated change (a policy shock); each programme sees the
        change first, while still configured with the old parameters."""
        if self.day not in self.changes:
            return
        label, new = self.changes[self.day]
        for programme in self.programmes:
            programme.on_change(self.params, new, self.day)
        self.params = new
        self._configure(new)
        self.change_log.append((self.day, label))

    def new_insurance_year(self) -> None:
        """Reset deductibles and annual caps at the start of each insurance year."""
        if self.day > 0 and self.day % 365 == 0:
            self.people.new_year()
            self.billing.accounts.new_year()

    def run_programmes(self) -> None:
        """Each policy programme's daily step, before care."""
        for programme in self.programmes:
            programme.step(self.day)

    def teams_act(self) -> None:
        """Family-doctor teams sign their residents toward the day's signing goal, each as far
        as its panel allows (`FamilyDoctor.sign`)."""
        goal = self.signing.goal_rate(self.day)
        if self.teams.needing(goal).any():
            self.agents_by_type[FamilyDoctor].do("sign", self.day, goal)
            self.teams.settle(self.day, self.streams.get("signing", self.day))

    def discharge(self) -> None:
        """Discharge today's inpatients; some are referred down."""
        self.flow.discharge(self.day, self.streams.get("discharge", self.day))

    def fall_ill(self) -> None:
        """Today's new episodes."""
        self.todays_episodes = self.onset.today(self.day, self.streams.get("onset", self.day))
        eps = self.todays_episodes
        self.ledger.add("episodes_acute", int((~eps.chronic).sum()))
        self.ledger.add("episodes_chronic", int(eps.chronic.sum()))

    def seek_care(self) -> None:
        """Each new episode: forgo care, or choose where to go."""
        self.arrivals = self.choice.seek(self.todays_episodes, self.day, self.streams.get("choice", self.day))
        if self.journeys.active:
            self.journeys.onsets(self.day, self.todays_episodes, self.arrivals)

    def treat(self) -> None:
        """Facilities see, refer, admit or queue today's patients; the day's contacts are billed."""
        if self.journeys.active:
            self.journeys.start_day()
        self.flow.treat(self.arrivals, self.day, self.streams.get("care", self.day))
        if self.journeys.active:
            self.journeys.after_care(self.day, self.flow.queue, self.flow.transfers, self.flow.ward)

    def finish_programmes(self) -> None:
        """Each policy programme's step after care."""
        for programme in self.programmes:
            programme.finish_step(self.day)

    def close_day(self) -> None:
        """Premiums, states and the day's row."""
        ppl, led, res = self.people, self.ledger, self.residents
        led.add("premiums", self.daily_premiums)
        led.set_group("capacity", self.fac.capacity_by_tier)
        led.set_group("beds", self.fac.beds_by_tier)
        led.set_group("beds_occupied", self.fac.by_tier(self.fac.occupied))
        queue = self.flow.queue
        led.set("queue_outpatient", float((queue.stage == 0).sum()), scaled=True)
        led.set("queue_admission", float((queue.stage == 1).sum()), scaled=True)
        led.set("signing_rate", res.signing_rate)
        led.set("chronic_managed_rate", res.managed_rate(self.day))
        led.set("service_delivery_rate", self.teams.service_rate)
        led.row[TRUST_COLUMNS] = res.trust_sum / max(ppl.n, 1)
        led.day = min(led.day + 1, len(led.rows) - 1)

    # ------------------------------------------------------------ residents

    def patient(self, i: int) -> Patient:
        """Resident `i`'s `Patient` agent (a detached view of the same row when built without agents)."""
        agent = self._patients().get(int(i))
        return agent if agent is not None else Patient.view(self, int(i))

    def _patients(self) -> dict[int, Patient]:
        if not hasattr(self, "_patient_index"):
            self._patient_index = {a.index: a for a in self.agents_by_type.get(Patient, [])}
        return self._patient_index

    def follow(self, ids) -> None:
        """Record the episodes of residents `ids` from now on (see `journey`)."""
        self.journeys.follow(ids)

    def journey(self, i: int) -> list[dict]:
        """Resident `i`'s recorded episodes since day 0 (or since followed), as dicts."""
        return self.journeys.journey(i)

    # ---------------------------------------------------------------- results

    def daily(self) -> dict[str, np.ndarray]:
        """The daily ledger as named columns."""
        rows = self.ledger.rows[self.warmup:]
        return {c: rows[:, i] for i, c in enumerate(COLUMNS)}

    def scale_warnings(self) -> list[str]:
        """Where one agent standing for several residents makes queues lumpy (see README, Speed)."""
        k = self.params.scale
        if k == 1:
            return []
        small = (self.fac.beds > 0) & (self.fac.beds < 10)
        out = []
        if small.any():
            out.append(f"scale {k}: {int(small.sum())} facilities have fewer than 10 beds in agents of {k} residents, "
                       "so admissions fill them in lumps: waits for a bed and care given up while waiting are "
                       "somewhat overstated; visit shares are not affected (see README, Speed)")
        return out

    def facility_table(self) -> dict[str, list]:
        """Per-facility totals since day 0, scaled to residents (for maps and network figures)."""
        w, f, k = self.world, self.fac, self.params.scale
        out_ref = np.zeros(w.n_facilities)
        for (a, _), c in self.fac.referral_counts().items():
            out_ref[a] += c
        return {"id": w.fac_id, "name": w.fac_name, "tier": [TIERS[t] for t in w.fac_tier],
                "x": w.fac_xy[:, 0].tolist(), "y": w.fac_xy[:, 1].tolist(), "in_county": w.fac_in_county.tolist(),
                "visits": (f.visits * k).tolist(), "admissions": (f.admissions * k).tolist(),
                "referrals_out": (out_ref * k).tolist(), "revenue": (f.revenue * k).tolist(),
                "capacity_per_day": (f.capacity * k).tolist(), "beds": (f.beds * k).tolist()}

    def referral_table(self) -> dict[str, list]:
        """Referrals per (from, to) facility pair since day 0, scaled to residents."""
        w, k = self.world, self.params.scale
        items = [(pair, c, kind) for kind in ("formal", "self")
                 for pair, c in sorted(self.fac.referral_counts(formal=kind == "formal").items())]
        return {"from_id": [w.fac_id[a] for (a, _), _, _ in items], "to_id": [w.fac_id[b] for (_, b), _, _ in items],
                "direction": ["up" if w.fac_tier[b] > w.fac_tier[a] else "down" for (a, b), _, _ in items],
                "count": [c * k for _, c, _ in items], "kind": [kind for _, _, kind in items]}

    def settlement_table(self) -> dict[str, list]:
        """Settlements with their position and residents (for maps)."""
        w = self.world
        return {"id": w.set_id, "name": w.set_name, "x": w.set_xy[:, 0].tolist(), "y": w.set_xy[:, 1].tolist(),
                "population": w.set_population.tolist(), "township": w.set_township.tolist()}

    def summary(self) -> dict:
        """Indicators for the whole run, and before/after the first dated change."""
        days_run = self.day
        out = self.summary_between(0, days_run)
        first = self.timeline.first_change_day
        if first is not None and 0 < first < days_run:
            out["periods"] = {"before": self.summary_between(0, first),
                              "after": self.summary_between(first, days_run)}
        out["changes"] = [{"day": d, "label": label} for d, label in self.change_log]
        return out

    def summary_between(self, start: int, end: int) -> dict:
        """Indicators over days [start, end) of what has run; a period must start on day 0, a
        policy day, or a day asked for with `keep_totals_from` before the run reached it."""
        daily = self.daily()
        persons, reserve = self.span_inputs(start, end, daily)
        return summarise(daily, persons, self.residents_count, start, end, fund_reserve_start=reserve)

    residents_count = property(lambda self: self.people.n * self.params.scale, doc="Residents (agents x scale).")

    def span_inputs(self, start: int, end: int, daily: dict | None = None) -> tuple[PersonStats, float]:
        """What `summarise` needs besides the daily ledger over days [start, end): the residents'
        reduced totals and the fund's reserve on day `start`."""
        daily = self.daily() if daily is None else daily
        reserve = self.timeline.base.insurance.initial_fund_balance + float(
            daily["premiums"][:start].sum() - daily["settlement"][:start].sum() - group(daily, "reimbursed", 0, start).sum()
            - group(daily, "serious_illness", 0, start).sum())
        return PersonStats.of(self._persons(start, end), 365.0 / max(end - start, 1)), reserve

    def _persons(self, start: int, end: int) -> PersonTotals:
        ppl, severe = self.people, self.billing.accounts.severe_admissions

        def at(day: int) -> tuple[np.ndarray, ...]:
            if day == 0:
                return np.zeros_like(ppl.oop), np.zeros_like(ppl.ooc_inpatient_fund), np.zeros_like(severe)
            if day >= self.day:
                return ppl.oop, ppl.ooc_inpatient_fund, severe
            if day not in self.snapshots:
                raise ValueError(f"no per-person totals kept for day {day}: call keep_totals_from({day}) first")
            return self.snapshots[day]
        oop_end, ooc_end, severe_end = at(end)
        oop_start, ooc_start, severe_start = at(start)
        inc = self.params.population.income
        return PersonTotals(oop=oop_end - oop_start, ooc_inpatient_fund=ooc_end - ooc_start,
                            capacity_to_pay=ppl.income * inc.capacity_to_pay_share,
                            catastrophic_threshold=inc.catastrophic_threshold, income_quintile=ppl.quintile,
                            scale=self.params.scale, severely_ill=(severe_end - severe_start) > 0)
