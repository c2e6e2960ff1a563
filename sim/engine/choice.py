"""Choosing where to go: each new episode picks a facility among its settlement's options,
or forgoes care (multinomial logit with an outside option).
"""

from __future__ import annotations

import numpy as np

from sim.county.population import Population
from sim.county.world import TERTIARY, TOWNSHIP, World
from sim.engine.behaviour import (FORGO, ChoiceCoefficients, choose, cost_disutility, fixed_utilities, indirect_cost,
                                  logit_shares, to_team, utilities)
from sim.engine.billing import Billing, episode_class
from sim.engine.episodes import CHRONIC, CHRONIC_CHOICE_SEVERITY, Batch
from sim.engine.facilities import Facilities
from sim.engine.insurance import every_combination
from sim.engine.metrics import Ledger
from sim.engine.onset import Onset
from sim.scenario.schema import Scenario


def by_option(table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Columns `rows` of an option-major table, as an (episodes x options) array.

    The result is Fortran-ordered: each option's values are contiguous, so the choice's
    reductions over a handful of options run as fast elementwise passes.
    """
    return table.take(rows, axis=1).T


class Choice:
    """Each settlement's options, their utility tables, and the day's choices."""

    # A settlement's options have a fixed utility per kind of patient: class (severity 0-3, 4 chronic
    # follow-up), scheme, inpatient, signed.
    PATIENT_SHAPE = (5, 2, 2, 2)
    CHRONIC_CLASS = 4

    def __init__(self, world: World, fac: Facilities, people: Population, ledger: Ledger, onset: Onset):
        self.fac, self.people, self.ledger, self.onset = fac, people, ledger, onset
        # Each settlement's options, looked up once: facility, tier, hours, in county, own ties.
        self.options = world.choice
        self.option_exists = world.choice >= 0
        self.option_facility = np.where(self.option_exists, world.choice, 0)
        self.option_tier = fac.tier[self.option_facility]
        self.option_hours = world.travel_minutes.astype(np.float64) / 60.0
        self.option_in_county = world.fac_in_county[self.option_facility]
        self.option_grade = world.fac_grade[self.option_facility].astype(np.int64)
        self.option_away = world.fac_place[self.option_facility] > 0  # out of the county
        self.option_tier_major = np.ascontiguousarray(self.option_tier.T)
        self.option_facility_major = np.ascontiguousarray(self.option_facility.T)
        self.own_mask = np.zeros(world.choice.shape, dtype=bool)
        self.own_mask[:, :2] = self.option_exists[:, :2]  # own clinic and own township centre

    def configure(self, params: Scenario, coef: ChoiceCoefficients, billing: Billing) -> None:
        """Refresh the utility and bill tables (after `billing.configure`; after each policy change)."""
        self.params, self.coef, self.rules, self.billing = params, coef, billing.rules, billing
        self.tier_caps = billing.tier_caps
        self.option_code = billing.fac_kind[self.option_facility]  # kind of option: tier x grade x place
        self.indirect_tables(params, billing.tables["los"])
        # The choice is computed in float32 (numpy's exp and log are several times faster there)
        # from tables stored option-major (options x rows; see `by_option`).
        self.coef32 = coef.astype(np.float32)
        self.fixed_utility = np.ascontiguousarray(self.fixed_utility_table().T, dtype=np.float32)
        # By (episode class, settlement): each option's expected bill and payment.
        k = self.options.shape[1]
        self.option_bill = np.ascontiguousarray(billing.expected_bill[:, self.option_code].reshape(-1, k).T, np.float32)
        self.option_paid = np.ascontiguousarray(billing.expected_paid[:, self.option_code].reshape(-1, k).T, np.float32)
        self.slip_tables(billing)

    def slip_tables(self, billing: Billing) -> None:
        """Under a gate inside the county (`referral.required_at_county_hospital`): which options
        are gated, what the fund would pay there on a referral, and the detour for a slip (option-
        major, see `by_option`): the hours that stopping at the own township centre adds on the way
        (township, then on from the township's seat, less the direct trip; 0 when it lies on the
        way) and its cost (the centre's fee and those hours of travel); None when nothing is gated."""
        self.option_paid_referred = None
        if billing.expected_paid_referred is None:
            return
        k = self.options.shape[1]
        self.option_paid_referred = np.ascontiguousarray(
            billing.expected_paid_referred[:, self.option_code].reshape(-1, k).T, np.float32)
        self.option_gated = np.ascontiguousarray((self.rules.gated_outpatient[self.option_tier] & self.option_exists).T)
        hours = billing.travel_hours  # settlements x facilities
        township = self.option_facility[:, 1]
        seat = hours.argmin(axis=0)[township]  # the settlement nearest each one's township centre
        extra = hours[np.arange(len(hours)), township][:, None] + hours[seat[:, None], self.option_facility]
        extra = np.maximum(extra - self.option_hours, 0.0)
        extra = np.where(self.option_exists[:, 1:2], extra, np.inf)  # no own centre: no slip
        fee = billing.tables["registration_fee"][TOWNSHIP]
        travel = self.params.behaviour.indirect_costs.travel_per_hour
        self.slip_hours = np.ascontiguousarray(extra.T, np.float32)
        self.slip_cost = np.ascontiguousarray(np.where(np.isfinite(extra), fee + extra * travel, 0.0).T, np.float32)

    def slip_route(self, util, s, sev, bill_row, cap_left, oop, daily_income, inpatient) -> tuple[np.ndarray, np.ndarray]:
        """Each gated option's utility by its better route: straight there, paying it all (no claim),
        or by way of the own township centre for a referral slip (its fee, the detour's travel and
        the centre's wait) and then on the referred terms. Returns the utilities and whether each
        option is best reached through a slip (rows: episodes, columns: options)."""
        gated = by_option(self.option_gated, s) & ~inpatient[:, None]
        if not gated.any():
            return util, gated
        c = self.coef32
        refund = (np.minimum(by_option(self.option_paid_referred, bill_row), cap_left)
                  - np.minimum(by_option(self.option_paid, bill_row), cap_left))
        oop_via = np.maximum(oop - refund, 0.0) + by_option(self.slip_cost, s)
        felt = cost_disutility(oop_via, daily_income) - cost_disutility(oop, daily_income)
        township_wait = self.fac.wait_hours().astype(np.float32)[self.options[s, 1]]
        detour = c.travel[sev][:, None] * by_option(self.slip_hours, s) + (c.wait * township_wait)[:, None]
        via_util = util - c.cost * felt - detour
        via = gated & (via_util > util)
        return np.where(via, via_util, util), via

    def indirect_tables(self, params: Scenario, los: np.ndarray) -> None:
        """Each option's trip cost, a companion's lodging over a stay and the stay's nights
        (option-major, see `by_option`; `indirect_cost` adds them up per episode)."""
        costs = params.behaviour.indirect_costs
        major = lambda x: np.ascontiguousarray(np.where(self.option_exists, x, 0.0).T, np.float32)  # noqa: E731
        nights = los[self.option_tier]
        self.option_trip = major(2.0 * self.option_hours * costs.travel_per_hour)
        self.option_lodging = major(np.where(self.option_away, nights * costs.lodging_per_night, 0.0))
        self.option_nights = major(nights)
        self.companion_share = np.float32(costs.companion_income_share)

    def fixed_utility_table(self) -> np.ndarray:
        """`fixed_utilities` of each settlement's options for each kind of patient (rows:
        settlement x PATIENT_SHAPE, see `patient_row`); an option a patient cannot use is -inf."""
        n_set = len(self.options)
        s, kind, sch, inpatient, signed = every_combination(n_set, *self.PATIENT_SHAPE)
        inpatient, signed = inpatient.astype(bool), signed.astype(bool)
        chronic = kind == self.CHRONIC_CLASS
        sev = np.where(chronic, CHRONIC_CHOICE_SEVERITY, kind)
        facility = self.option_facility[s]
        tier = self.option_tier[s]
        # Hospital specialists' sessions at the township centres improve chronic care there (三师共管).
        specialist = self.params.signing.chronic_care.specialist_quality * (chronic[:, None] & (tier == TOWNSHIP))
        fixed = fixed_utilities(self.coef, sev, tier, self.option_hours[s],
                                self.fac.quality_offset[facility] + specialist, signed[:, None] & self.own_mask[s],
                                sch == 1, inpatient)
        usable = self.option_exists[s] & ~(inpatient[:, None] & (self.fac.beds[facility] <= 0))
        return np.where(usable, fixed, -np.inf)

    def patient_row(self, settlement, severity, scheme, inpatient, signed) -> np.ndarray:
        """Row of `fixed_utility` for each episode."""
        return np.ravel_multi_index((settlement, severity, scheme, inpatient.astype(np.int64), signed.astype(np.int64)),
                                    (len(self.options),) + self.PATIENT_SHAPE)

    def indirect(self, s: np.ndarray, inpatient: np.ndarray, daily_income: np.ndarray) -> np.ndarray:
        """`indirect_cost` of each episode's options: the trip, and for admissions (looked up only
        for them) a companion's lodging and lost income."""
        cost = by_option(self.option_trip, s)
        i = np.flatnonzero(inpatient)
        if len(i):
            cost[i] = indirect_cost(cost[i], by_option(self.option_lodging, s[i]), by_option(self.option_nights, s[i]),
                                    np.ones(len(i), dtype=bool), daily_income[i], self.companion_share)
        return cost

    def seek(self, eps: Batch, day: int, rng: np.random.Generator) -> Batch:
        """Each episode chooses a facility or forgoes care; returns those who go, with their facility."""
        if len(eps) == 0:
            return eps
        ppl, led = self.people, self.ledger
        p = eps.person
        s = ppl.settlement[p]
        tier = by_option(self.option_tier_major, s)
        signed, sch = ppl.served[p], ppl.scheme[p]  # the own team pulls only if it serves them
        sev = np.where(eps.chronic, CHRONIC_CHOICE_SEVERITY, eps.severity)
        kind = np.where(eps.chronic, self.CHRONIC_CLASS, eps.severity)
        fixed = by_option(self.fixed_utility, self.patient_row(s, kind, sch, eps.inpatient, signed))
        bill_row = episode_class(sch, eps.inpatient, eps.chronic, eps.severity, signed) * len(self.options) + s
        cap_left = self.cap_left(p, sch, eps.inpatient, s).astype(np.float32)
        oop = by_option(self.option_bill, bill_row) - np.minimum(by_option(self.option_paid, bill_row), cap_left)
        daily_income = ppl.income[p] / np.float32(365.0)
        oop += self.indirect(s, eps.inpatient, daily_income)
        perceived = ppl.trust.reshape(-1)[p[:, None] * 4 + tier]
        wait = by_option(self.fac.wait_hours().astype(np.float32)[self.option_facility_major], s)
        util = utilities(self.coef32, fixed, sev, perceived, oop, daily_income, wait)
        via = None
        if self.option_paid_referred is not None:
            util, via = self.slip_route(util, s, sev, bill_row, cap_left, oop, daily_income, eps.inpatient)
        outcome = np.where(eps.chronic, CHRONIC, eps.severity)
        pick = choose(util, self.coef32.forgo[outcome], rng.random(len(eps)))
        pick = self.first_contact(eps, s, signed, util, pick, rng)
        forgo = pick == FORGO
        led.add_by("forgone", outcome[forgo])
        led.add_by("forgone_quintile", ppl.quintile[p[forgo]])
        # Chronic patients who skipped a follow-up try again after a month.
        self.onset.schedule(p[forgo & eps.chronic], day + self.params.behaviour.chronic_followup_days)
        went = eps.take(~forgo)
        chosen = self.options[s[~forgo], pick[~forgo]]
        first = self.fac.tier[chosen]
        slip = np.zeros(len(went), dtype=bool) if via is None else via[~forgo, pick[~forgo]]
        if slip.any():
            self.take_slips(went.person[slip], self.options[s[~forgo][slip], 1], chosen[slip], outcome[~forgo][slip], day)
            first = np.where(slip, TOWNSHIP, first)
        led.add_by("first_visits", first)
        acute_op = ~went.chronic & ~went.inpatient
        led.add_by("first_visits_scheme", first[acute_op] * 2 + sch[~forgo][acute_op])
        minor = (went.severity == 0) & ~went.chronic
        led.add("minor_sought", minor.sum())
        led.add("minor_first_tertiary", (minor & (first == TERTIARY)).sum())
        return went.replace(facility=chosen, first_tier=first, referred=went.referred | slip)

    def take_slips(self, person: np.ndarray, township: np.ndarray, target: np.ndarray, outcome: np.ndarray,
                   day: int) -> None:
        """Patients who go through a referral slip visit their own township centre first (billed as
        such, `Billing.charge_slip_visits`; their first contact), which refers them to `target`."""
        self.billing.charge_slip_visits(person, township, outcome)
        self.ledger.add_by("referrals_up", np.full(len(person), TOWNSHIP))
        self.fac.count_referrals(township, target, day)

    def first_contact(self, eps: Batch, s: np.ndarray, served: np.ndarray, util: np.ndarray, pick: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
        """Served residents (settlements `s`) start with their own family doctor
        (`signing.first_contact`): of their episodes within the team's reach (what its clinic
        treats in full) that chose elsewhere, a share (`to_team`) goes to the village clinic's team
        instead, so at least `share` start there. Served chronic patients' follow-ups are booked at
        the township centre when its drug list matches the hospital's
        (`signing.chronic_care.drug_list_matched`, Xiamen)."""
        sg = self.params.signing
        fc, matched = sg.first_contact, sg.chronic_care.drug_list_matched
        if fc.share <= 0.0:
            return pick
        column = eps.chronic.astype(np.int64)  # 0: the team's own clinic; 1: the centre, for chronic care
        rows = np.flatnonzero(served & (~eps.inpatient if matched else ~eps.chronic & ~eps.inpatient)
                              & (pick != FORGO) & (pick != column))
        col, srow = column[rows], s[rows]
        reach = col == 1
        reach[~reach] = eps.severity[rows[~reach]] <= self.fac.capability[self.option_facility[srow[~reach], 0]]
        rows, col, srow = rows[reach], col[reach], srow[reach]
        if len(rows) == 0:
            return pick
        team = self.option_exists[srow, col][:, None]
        shares = np.take_along_axis(logit_shares(util[rows]), col[:, None], 1)
        go = to_team(shares, team, fc.share, rng.random(len(rows))) == 0
        pick = pick.copy()
        pick[rows[go]] = col[go]
        return pick

    def cap_left(self, person: np.ndarray, scheme: np.ndarray, inpatient: np.ndarray,
                 settlement: np.ndarray) -> np.ndarray:
        """What each person's annual caps still allow at each of their settlement's options
        (rows: episodes; caps by grade, see `Billing.quote`)."""
        rules, ppl = self.rules, self.people
        setting = inpatient.astype(np.int64)
        left = (rules.setting_cap[scheme, setting] - ppl.reimbursed_setting[person, setting])[:, None]
        if self.tier_caps:
            grade = self.option_grade[settlement]
            spent = ppl.reimbursed[person, setting]  # (n, 4) this year, by grade
            grade_left = rules.tier_cap[scheme[:, None], setting[:, None], grade] - np.take_along_axis(spent, grade, 1)
            left = np.minimum(left, grade_left)
        return np.maximum(left, 0.0)
