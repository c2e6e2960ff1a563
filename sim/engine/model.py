"""The TierFlow model: builds the county, then runs the day's plan.

    model = TierFlowModel(sim.scenario.loader.load("scenarios/baseline.yaml"))
    model.run()
    model.summary()

`model.plan` is the day, one stage per line; `model.step()` runs it once.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from contextlib import contextmanager

import mesa
import numpy as np

from sim.county import population as population_mod
from sim.engine.agents import FACILITY_CLASSES, Patient
from sim.engine.behaviour import ChoiceCoefficients
from sim.engine.care import Care
from sim.engine.facilities import Facilities
from sim.engine.insurance import Rules
from sim.engine.metrics import COLUMNS, GROUP_SLICE, INDEX, Ledger, PersonTotals, group, summarise
from sim.engine.onset import MANAGED_WINDOW, Onset
from sim.county.population import signing_weights
from sim.scenario.schema import SEVERITIES, TIERS, Scenario, Timeline
from sim.county.build import build_world
from sim.county.world import World

# Independent random streams, one per purpose and day: a policy that changes choices
# leaves the same people falling ill on the same days (common random numbers).
TRUST_COLUMNS = [INDEX[f"trust_{t}"] for t in TIERS]
STREAMS = ("world", "population", "onset", "choice", "care", "signing", "discharge")


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


class Streams:
    """Per-purpose, per-day random generators derived from one seed."""

    SETUP = None
    DAY_OFFSET = 10_000  # keys stay non-negative through any warm-up
    SPENT_BUFFER = np.zeros(4, np.uint64)  # buffer_pos 4: the buffer is used up, the next draw starts afresh

    def __init__(self, seed: int):
        self.seed = seed
        self.key = np.array([np.random.SeedSequence(seed).generate_state(1, np.uint64)[0], 0], dtype=np.uint64)
        self.generators: dict[str, np.random.Generator] = {}

    def get(self, purpose: str, day: int | None = SETUP) -> np.random.Generator:
        """The generator for one purpose on one day (no day: building the model).

        Philox is counter-based: each (purpose, day) counter starts an independent stream. One
        generator per purpose is moved to the day's counter (cheaper than opening a new one),
        so a purpose's generator from an earlier day must not be used again.
        """
        counter = np.array([0, 0, STREAMS.index(purpose), 0 if day is None else day + self.DAY_OFFSET], np.uint64)
        gen = self.generators.get(purpose)
        if gen is None:
            gen = self.generators[purpose] = np.random.Generator(np.random.Philox(key=self.key, counter=counter))
        else:
            bits = gen.bit_generator
            bits.state = {"bit_generator": "Philox", "state": {"counter": counter, "key": self.key},
                          "buffer": self.SPENT_BUFFER, "buffer_pos": 4, "has_uint32": 0, "uinteger": 0}
        return gen


class TierFlowModel(mesa.Model):
    """Patient flow across care tiers in one county."""

    def __init__(self, timeline: Timeline | Scenario, world: World | None = None, agents: bool = True):
        """Build the county, its residents and providers. `agents=False` skips Mesa agents (tests)."""
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
        self.care = Care(self)
        self.enrolled = np.bincount(self.people.scheme, minlength=2)  # schemes do not change in a run
        self.chronic_count = int(self.people.chronic.sum())
        self.signed_count = int(self.people.signed.sum())
        self.managed_by_day = np.zeros(self.warmup + params.days + 1, np.int64)  # by day of last follow-up
        self.trust_sum = self.people.trust.sum(axis=0).astype(np.float64)
        self.signing_start = (0, self.signed_count / max(self.people.n, 1))
        self.community_start = 0
        self.budget_start = 0
        self.snapshots: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # per-person totals at a day's start
        self.snapshot_days: set[int] = set(self.changes)
        self._configure(params)
        if agents:
            self._create_agents()
        self.plan: list[Callable[[], None]] = [
            self.start_recording,        # day 0: the warm-up ends, accounts start from zero
            self.take_snapshot,          # per-person totals at the start of a period (policy days)
            self.apply_policy_changes,   # dated changes in the scenario take effect
            self.new_insurance_year,     # deductibles and caps reset each 365 days
            self.sign_residents,         # family doctors sign residents toward the target
            self.strengthen_grassroots,  # the medical community's experts, telemedicine, labs
            self.expand_tertiary,        # crowded tertiary hospitals add capacity
            self.discharge,              # beds free up; some go down to a lower tier
            self.fall_ill,               # acute onsets and chronic follow-ups due
            self.seek_care,              # forgo care or choose a facility
            self.treat,                  # queues, treatment, referral up, admission, billing
            self.settle_budget,          # the medical community's global budget
            self.close_day,              # premiums and daily indicators
        ]

    # ------------------------------------------------------------------ set-up

    def _create_agents(self) -> None:
        """One `Patient` per resident agent and one agent per facility.

        Cyclic garbage collection is paused meanwhile: it would scan the growing crowd of new
        agents again and again and find nothing to free (about 12% of a million agents' time).
        """
        with paused_gc():
            for i in range(self.people.n):
                Patient(self, i)
            for f, tier in enumerate(self.world.fac_tier):
                FACILITY_CLASSES[tier](self, f)

    def _configure(self, params: Scenario) -> None:
        """Derive the tables the day's stages read from a parameter set."""
        pv = params.providers
        tier_values = lambda m: np.array([getattr(m, t) for t in TIERS], dtype=np.float64)  # noqa: E731
        self.tables = {
            "op_price": tier_values(pv.outpatient_price), "ip_price": tier_values(pv.inpatient_price),
            "registration_fee": tier_values(pv.registration_fee), "los": tier_values(pv.length_of_stay),
            "op_severity_cost": np.array([getattr(pv.outpatient_severity_cost, s) for s in SEVERITIES]),
            "ip_severity_cost": np.array([getattr(pv.inpatient_severity_cost, s) for s in SEVERITIES]),
            "drug_cost": pv.chronic_drug_cost_per_day,
        }
        self.rules = Rules.from_scenario(params)
        self.daily_premiums = float(self.enrolled @ self.rules.premium) / 365.0
        self.coef = ChoiceCoefficients.from_scenario(params)
        self.fac.configure(params)
        self.onset.configure(params)
        self.care.configure()
        gb = params.medical_community.global_budget
        incentive = params.medical_community.enabled and gb.enabled
        self.keep_in_county = gb.keep_in_county if incentive else 0.0
        self.down_boost = 1.0 + (gb.down_referral_boost if incentive else 0.0)
        self.strengthen_grassroots()

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
        ppl.oop[:] = 0
        ppl.ooc_inpatient_fund[:] = 0
        self.fac.revenue[:] = 0
        self.fac.visits[:] = 0
        self.fac.admissions[:] = 0

    def take_snapshot(self) -> None:
        """Keep per-person totals at the start of a period, for that period's indicators."""
        if self.day in self.snapshot_days and self.day > 0:
            self.snapshots[self.day] = (self.people.oop.copy(), self.people.ooc_inpatient_fund.copy())

    def keep_totals_from(self, day: int) -> None:
        """Ask for a period to start on `day` (before the run reaches it), see `summary_between`."""
        if day < self.day:
            raise ValueError(f"day {day} has passed (the model is on day {self.day})")
        self.snapshot_days.add(day)

    def apply_policy_changes(self) -> None:
        """Switch to the parameters of a dated change (a policy shock)."""
        if self.day not in self.changes:
            return
        label, new = self.changes[self.day]
        old = self.params
        if (old.signing.target_rate, old.signing.ramp_days) != (new.signing.target_rate, new.signing.ramp_days):
            self.signing_start = (self.day, self.signed_count / max(self.people.n, 1))
        if new.medical_community.enabled and not old.medical_community.enabled:
            self.community_start = self.day
        budget_terms = lambda p: (p.medical_community.enabled and p.medical_community.global_budget.enabled,  # noqa: E731
                                  p.medical_community.global_budget.per_capita,
                                  p.medical_community.global_budget.overspend_share)
        if budget_terms(old) != budget_terms(new):
            self.settle_budget(force=True)
            self.budget_start = self.day
        self.params = new
        self._configure(new)
        self.change_log.append((self.day, label))

    def new_insurance_year(self) -> None:
        """Reset deductibles and annual caps at the start of each insurance year."""
        if self.day > 0 and self.day % 365 == 0:
            self.people.new_year()

    def sign_residents(self) -> None:
        """Family doctors sign residents toward the target rate, the old and chronic first."""
        sg = self.params.signing
        start_day, start_rate = self.signing_start
        if self.day < 0:
            return
        if sg.target_rate <= start_rate and self.signed_count >= round(sg.target_rate * self.people.n):
            return
        progress = 1.0 if sg.ramp_days == 0 else min(1.0, (self.day - start_day + 1) / sg.ramp_days)
        goal = round((start_rate + (sg.target_rate - start_rate) * progress) * self.people.n)
        need = goal - self.signed_count
        if need <= 0:
            return
        rng = self.streams.get("signing", self.day)
        ppl = self.people
        weight_max = 1.0 + sg.priority.age_60_plus + sg.priority.chronic
        got = 0
        for _ in range(50):  # rejection sampling: work grows with those signed, not with the population
            cand = rng.integers(0, ppl.n, size=max(4 * (need - got), 64))
            w = signing_weights(self.params, ppl.band[cand], ppl.chronic[cand])
            cand = cand[(rng.random(len(cand)) * weight_max < w) & ~ppl.signed[cand]]
            _, first = np.unique(cand, return_index=True)  # drop repeats, keep the random order
            cand = cand[np.sort(first)][: need - got]
            ppl.signed[cand] = True
            # Signing brings untreated chronic patients into the family doctor's care.
            newly = cand[ppl.chronic[cand] & ~ppl.in_care[cand]]
            ppl.in_care[newly] = True
            self.onset.schedule(newly, self.day + 1 + rng.integers(0, 30, len(newly)))
            got += len(cand)
            if got >= need:
                break
        self.signed_count += got

    def strengthen_grassroots(self) -> None:
        """Ramp the medical community's gains in grassroots quality and capability."""
        mc = self.params.medical_community
        if not mc.enabled:
            return
        ramp = mc.ramp_days
        progress = 1.0 if ramp == 0 else min(1.0, max(self.day - self.community_start, 0) / ramp)
        self.fac.strengthen(self.params, progress)

    def expand_tertiary(self) -> None:
        """Review tertiary capacity against demand (when the lever is on)."""
        ce = self.params.providers.capacity_expansion
        if ce.enabled and self.day > 0 and self.day % ce.review_days == 0:
            self.fac.expand(self.params)

    def discharge(self) -> None:
        """Discharge today's inpatients; some are referred down."""
        self.care.discharge(self.streams.get("discharge", self.day))

    def fall_ill(self) -> None:
        """Today's new episodes."""
        self.todays_episodes = self.onset.today(self.day, self.streams.get("onset", self.day))
        eps = self.todays_episodes
        self.ledger.add("episodes_acute", int((~eps.chronic).sum()))
        self.ledger.add("episodes_chronic", int(eps.chronic.sum()))

    def seek_care(self) -> None:
        """Each new episode: forgo care, or choose where to go."""
        self.arrivals = self.care.seek(self.todays_episodes, self.streams.get("choice", self.day))

    def treat(self) -> None:
        """Facilities see, refer, admit or queue today's patients."""
        self.care.treat(self.arrivals, self.streams.get("care", self.day))

    def settle_budget(self, force: bool = False) -> None:
        """Global budget (总额付费、结余留用): accrue it daily, settle yearly and at the end."""
        gb = self.params.medical_community.global_budget
        if self.day < 0 or not (self.params.medical_community.enabled and gb.enabled):
            return
        if not force:  # today's budget and the claims it must cover (both already scaled to residents)
            self.ledger.add("budget", gb.per_capita * self.people.n / 365.0)
            self.ledger.row[INDEX["budget_claims"]] += self.ledger.row[GROUP_SLICE["reimbursed"]].sum()
        last = self.day == self.params.days - 1
        if not (force or last or (self.day - self.budget_start + 1) % 365 == 0):
            return
        rows = self.ledger.rows[self.budget_start + self.warmup:self.day + self.warmup + 1]
        claims = rows[:, INDEX["budget_claims"]].sum()
        budget = rows[:, INDEX["budget"]].sum()
        balance = budget - claims
        settlement = balance if balance >= 0 else -(1.0 - gb.overspend_share) * -balance
        self.ledger.row[INDEX["settlement"]] += settlement
        self.budget_start = self.day + 1

    def close_day(self) -> None:
        """Premiums, states and the day's row."""
        ppl, led = self.people, self.ledger
        led.add("premiums", self.daily_premiums)
        led.set_group("capacity", self.fac.capacity_by_tier)
        led.set_group("beds", self.fac.beds_by_tier)
        led.set_group("beds_occupied", self.fac.by_tier(self.fac.occupied))
        queue = self.care.queue
        led.set("queue_outpatient", float((queue.stage == 0).sum()), scaled=True)
        led.set("queue_admission", float((queue.stage == 1).sum()), scaled=True)
        led.set("signing_rate", self.signed_count / max(ppl.n, 1))
        today = self.day + self.warmup
        window = self.managed_by_day[max(today - MANAGED_WINDOW + 1, 0):today + 1].sum()
        led.set("chronic_managed_rate", window / max(self.chronic_count, 1))
        led.row[TRUST_COLUMNS] = self.trust_sum / max(ppl.n, 1)
        led.day = min(led.day + 1, len(led.rows) - 1)

    # ------------------------------------------------------------ bookkeeping

    def mark_managed(self, person: np.ndarray) -> None:
        """Record a grassroots chronic follow-up today (chronic disease management)."""
        person = person[self.care.first_per_person(person)]
        old = self.people.last_followup[person].astype(np.int64) + self.warmup
        self.managed_by_day -= np.bincount(old[old >= 0], minlength=len(self.managed_by_day))
        self.managed_by_day[self.day + self.warmup] += len(person)
        self.people.last_followup[person] = self.day

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
        for (a, _), c in self.care.referral_counts().items():
            out_ref[a] += c
        return {"id": w.fac_id, "name": w.fac_name, "tier": [TIERS[t] for t in w.fac_tier],
                "x": w.fac_xy[:, 0].tolist(), "y": w.fac_xy[:, 1].tolist(), "in_county": w.fac_in_county.tolist(),
                "visits": (f.visits * k).tolist(), "admissions": (f.admissions * k).tolist(),
                "referrals_out": (out_ref * k).tolist(), "revenue": (f.revenue * k).tolist(),
                "capacity_per_day": (f.capacity * k).tolist(), "beds": (f.beds * k).tolist()}

    def referral_table(self) -> dict[str, list]:
        """Referrals per (from, to) facility pair since day 0, scaled to residents."""
        w, k = self.world, self.params.scale
        items = sorted(self.care.referral_counts().items())
        return {"from_id": [w.fac_id[a] for (a, _), _ in items], "to_id": [w.fac_id[b] for (_, b), _ in items],
                "direction": ["up" if w.fac_tier[b] > w.fac_tier[a] else "down" for (a, b), _ in items],
                "count": [c * k for _, c in items]}

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
        reserve = self.timeline.base.insurance.initial_fund_balance + float(
            daily["premiums"][:start].sum() - daily["settlement"][:start].sum() - group(daily, "reimbursed", 0, start).sum())
        return summarise(daily, self._persons(start, end), self.people.n * self.params.scale, start, end,
                         fund_reserve_start=reserve)

    def _persons(self, start: int, end: int) -> PersonTotals:
        ppl = self.people

        def at(day: int) -> tuple[np.ndarray, np.ndarray]:
            if day == 0:
                return np.zeros_like(ppl.oop), np.zeros_like(ppl.ooc_inpatient_fund)
            if day >= self.day:
                return ppl.oop, ppl.ooc_inpatient_fund
            if day not in self.snapshots:
                raise ValueError(f"no per-person totals kept for day {day}: call keep_totals_from({day}) first")
            return self.snapshots[day]
        oop_end, ooc_end = at(end)
        oop_start, ooc_start = at(start)
        inc = self.params.population.income
        return PersonTotals(oop=oop_end - oop_start, ooc_inpatient_fund=ooc_end - ooc_start,
                            capacity_to_pay=ppl.income * inc.capacity_to_pay_share,
                            catastrophic_threshold=inc.catastrophic_threshold, income_quintile=ppl.quintile,
                            scale=self.params.scale)
