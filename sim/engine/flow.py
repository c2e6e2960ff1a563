"""The day's patient flow through facilities: queues, visits, referral up, admission,
discharge and referral down, waiting.

All of the day's episodes move together, as arrays. An episode ends in exactly one way:
treated as an outpatient, admitted, not sought (forgone) or given up while waiting
(reneged); otherwise it is still waiting in a queue.
"""

from __future__ import annotations

import numpy as np

from sim.county.population import Population
from sim.county.world import COUNTY, TERTIARY, TOWNSHIP, World
from sim.engine.behaviour import can_treat, treatable
from sim.engine.billing import Billing
from sim.engine.episodes import (BED, CHRONIC, LOS_BY_SEVERITY, VISIT, Batch, Contact, add_counts, join_records,
                                 rank_within)
from sim.engine.facilities import Facilities
from sim.engine.metrics import Ledger
from sim.engine.onset import Onset
from sim.engine.residents import Residents
from sim.scenario.schema import Scenario

# An inpatient: who, where, how ill, whether after a downward referral, and the day of discharge.
WARD = np.dtype([("person", np.int64), ("facility", np.int64), ("severity", np.int8), ("rehab", np.bool_),
                 ("out", np.int64)], align=True)


def boosted(boost: np.ndarray, able: np.ndarray) -> np.ndarray:
    """A downward-referral multiplier whose extra part (the head's decision) acts only on cases
    the receiving facility can treat; at boost 1 (no community) it is 1."""
    return 1.0 + (boost - 1.0) * able


def allocate(eps: Batch, capacity: np.ndarray, priority) -> np.ndarray:
    """Serve, per facility, the episodes with the lowest `priority(eps)` up to its capacity.

    Only facilities asked for more than they can give need their queue ordered;
    elsewhere everyone is served.
    """
    facility = eps.facility
    served = np.ones(len(facility), dtype=bool)
    if len(facility) == 0:
        return served
    demand = np.bincount(facility, minlength=len(capacity))
    short = demand - 1 >= capacity  # rank r is served when r < capacity
    crowded = short[facility]
    if crowded.any():
        sub = eps.take(crowded)
        served[crowded] = rank_within(sub.facility, priority(sub)) < capacity[sub.facility]
    return served


class Flow:
    """Moves episodes through facilities and keeps the queues and the wards."""

    allocate = staticmethod(allocate)

    def __init__(self, people: Population, residents: Residents, fac: Facilities, world: World, ledger: Ledger,
                 onset: Onset, billing: Billing):
        self.people, self.residents, self.fac, self.world = people, residents, fac, world
        self.ledger, self.onset, self.billing = ledger, onset, billing
        self.queue = Batch.empty()      # waiting at a facility since an earlier day
        self.transfers = Batch.empty()  # referred up today, seen at the next tier tomorrow
        self.ward = np.zeros(0, WARD)   # inpatients, one record per occupied bed
        county = world.fac_tier == COUNTY
        self.first_county = int(np.flatnonzero(county)[0]) if county.any() else -1

    def configure(self, params: Scenario, tables: dict) -> None:
        """Take the current parameters and price tables. What hospitals decide (how far they
        stretch before referring out, how much they refer down) is read from `fac`."""
        self.params, self.tables = params, tables
        # Under a gate at the county hospital the patient asks for the slip the rule requires.
        self.slip_on_request = params.referral.required_at_county_hospital

    def treat(self, arrivals: Batch, day: int, rng: np.random.Generator) -> None:
        """Serve the queue, yesterday's referrals and today's arrivals within capacity and beds.

        A patient referred up is seen at the next tier the following day (the transfer).
        """
        fac = self.fac
        pending = Batch.concat([self.queue, self.transfers, arrivals])
        at_visit = pending.stage == VISIT
        visits, beds_wanted = pending.take(at_visit), pending.take(~at_visit)
        demand = np.bincount(visits.facility, minlength=len(fac.capacity))
        slots = fac.visit_slots()
        seen = allocate(visits, slots, lambda e: self.visit_priority(e, rng))
        fac.use_slots(slots, visits.facility[seen])
        self.transfers, treated = self.examine(visits.take(seen), day, rng)
        self.finish_outpatient(treated.take(~treated.inpatient), day, rng)
        to_bed = treated.take(treated.inpatient)
        beds_wanted = Batch.concat([beds_wanted, to_bed.replace(stage=BED)])
        fac.bed_demand = np.bincount(beds_wanted.facility, minlength=len(fac.beds))
        got_bed = allocate(beds_wanted, fac.beds - fac.occupied,  # reserved beds, waiting, severity
                           lambda e: 2.0 * ~self.reserved(e) + (e.waited == 0) + rng.random(len(e)) - e.severity)
        self.admit(beds_wanted.take(got_bed), day, rng)
        self.wait(Batch.concat([visits.take(~seen), beds_wanted.take(~got_bed)]), day, rng)
        self.billing.settle(day, rng)
        fac.observe(demand, np.bincount(self.queue.facility[self.queue.stage == VISIT], minlength=len(demand)))

    def visit_priority(self, eps: Batch, rng: np.random.Generator) -> np.ndarray:
        """Queue order: signed residents' referrals first (the family doctor's reserved specialist
        slots, Shanghai 1+1+1), then those already waiting, then other referrals, then the rest."""
        rank = np.where(eps.referred, 2.0, 3.0)
        rank[eps.waited > 0] = 1.0
        rank[self.reserved(eps)] = 0.0
        return rank + rng.random(len(eps))

    def reserved(self, eps: Batch) -> np.ndarray:
        """Episodes that use a family doctor's reserved slot or bed (a signed resident, referred)."""
        if not self.params.signing.benefits.priority_referral:
            return np.zeros(len(eps), dtype=bool)
        return eps.referred & self.people.served[eps.person]  # only if the team delivers (履约)

    def examine(self, eps: Batch, day: int, rng: np.random.Generator) -> tuple[Batch, Batch]:
        """Count and bill the visit; send on cases beyond the facility, keep the rest.

        A case sent on gets a referral slip (转诊, `referred`) with the facility's `formal_share`;
        otherwise the patient is told to go elsewhere and goes on to the next tier the next
        day unreferred (a self-referral, 自行转诊, reimbursed as such)."""
        if len(eps) == 0:
            return eps, eps
        fac, led = self.fac, self.ledger
        f = eps.facility
        tier = fac.tier[f]
        led.add_by("visits", tier * 2 + self.people.scheme[eps.person])
        add_counts(fac.visits, f)
        ok = can_treat(fac.capability[f] + fac.stretch[f], eps.severity, rng.random(len(eps)))
        ok &= ~(eps.inpatient & (fac.beds[f] <= 0))
        up = self.world.referral_up[f]
        refer = ~ok & (up >= 0)
        # The visit itself is billed where the patient was seen; an admission is billed on admission.
        visit = ~eps.inpatient | refer
        self.billing.contact_later(eps.take(visit), np.where(refer[visit], Contact.REFERRED_ON, 0) | Contact.LEARN)
        sent = eps.take(refer)
        formal = rng.random(len(sent)) < fac.formal_share[sent.facility]
        if self.slip_on_request:
            formal |= fac.tier[up[refer]] == COUNTY
        led.add_by("referrals_up", fac.tier[sent.facility[formal]])
        led.add_by("self_referrals", fac.tier[sent.facility[~formal]])
        fac.count_referrals(sent.facility[formal], up[refer][formal], day)
        fac.count_referrals(sent.facility[~formal], up[refer][~formal], day, formal=False)
        return sent.replace(facility=up[refer], referred=formal, waited=0), eps.take(~refer)

    def finish_outpatient(self, eps: Batch, day: int, rng: np.random.Generator) -> None:
        """Outpatient treatment done: outcomes, trust, chronic follow-up bookkeeping."""
        if len(eps) == 0:
            return
        fac, led, ppl = self.fac, self.ledger, self.people
        tier = fac.tier[eps.facility]
        led.add("treated_outpatient", len(eps))
        led.add_by("flow", eps.first_tier.astype(np.int64) * 4 + tier)
        fu = eps.take(eps.chronic)
        if len(fu) == 0:
            return
        fu_tier = fac.tier[fu.facility]
        long_rx = ppl.served[fu.person] & (fu_tier <= TOWNSHIP)  # see Billing.supply_days
        self.onset.schedule(fu.person[long_rx], day + self.params.signing.benefits.long_prescription_days)
        self.onset.schedule(fu.person[~long_rx], day + self.params.behaviour.chronic_followup_days)
        grassroots = fu.person[fu_tier <= TOWNSHIP]
        self.residents.mark_managed(grassroots, day)
        led.add("followups_grassroots", len(grassroots))
        down = self.params.referral.downward
        if down.enabled:
            at_hospital = fu_tier >= COUNTY
            clinic = self.world.own_village_clinic[ppl.settlement[fu.person[at_hospital]].astype(np.int64)]
            able = treatable(fac.capability[np.maximum(clinic, 0)], fu.severity[at_hospital])
            able[clinic < 0] = 1.0
            boost = boosted(fac.down_boost[fu.facility[at_hospital]], able)
            go = rng.random(int(at_hospital.sum())) < down.chronic * boost
            sent = fu.person[at_hospital][go]
            led.add("referrals_down_chronic", len(sent))
            home = clinic[go]
            fac.count_referrals(fu.facility[at_hospital][go][home >= 0], home[home >= 0], day)
            self.residents.hand_back(sent)

    def admit(self, eps: Batch, day: int, rng: np.random.Generator, rehab: bool = False) -> None:
        """Admit episodes to a bed: bill, count, and book the discharge."""
        if len(eps) == 0:
            return
        fac, led = self.fac, self.ledger
        f = eps.facility
        tier = fac.tier[f]
        admitted = np.bincount(f, minlength=len(fac.occupied))
        fac.occupied += admitted
        fac.admissions += admitted
        led.add_by("admissions", tier * 2 + self.people.scheme[eps.person])
        self.billing.contact_later(eps, Contact.INPATIENT | (Contact.WAIVED if rehab else Contact.LEARN))
        if rehab:
            los = np.full(len(eps), self.params.referral.downward.rehab_days)
        else:
            led.add("treated_inpatient", len(eps))
            led.add_by("admissions_severity", eps.severity.astype(np.int64) * 4 + tier)
            led.add_by("flow", eps.first_tier.astype(np.int64) * 4 + tier)
            los = self.tables["los"][tier] * LOS_BY_SEVERITY[eps.severity]
        stay = 1 + rng.poisson(np.maximum(los - 1, 0))
        new = np.empty(len(eps), WARD)
        new["person"], new["facility"], new["severity"] = eps.person, f, eps.severity
        new["rehab"], new["out"] = rehab, day + stay
        self.ward = join_records([self.ward, new])

    def discharge(self, day: int, rng: np.random.Generator) -> None:
        """Free the day's beds; send some patients down after the acute phase (下转)."""
        due = self.ward["out"] <= day
        if not due.any():
            return
        fac = self.fac
        leaving, self.ward = self.ward[due], self.ward[~due]
        person, facility, severity, rehab = (leaving[k] for k in ("person", "facility", "severity", "rehab"))
        fac.occupied -= np.bincount(facility, minlength=len(fac.occupied))
        down = self.params.referral.downward
        if not down.enabled:
            return
        tier = fac.tier[facility]
        target = np.where(tier == TERTIARY, self.first_county,
                          self.world.own_township_centre[self.people.settlement[person].astype(np.int64)])
        able = treatable(fac.capability[np.maximum(target, 0)], severity)
        prob = np.array([0.0, 0.0, down.county, down.tertiary])[tier] * boosted(fac.down_boost[facility], able)
        go = ~rehab & (rng.random(len(person)) < prob)
        go &= target >= 0
        if not go.any():
            return
        cand = Batch.new(person[go], severity[go], True, False)
        cand.facility[:], cand.referred[:], cand.stage[:] = target[go], True, BED
        got = allocate(cand, fac.beds - fac.occupied, lambda e: rng.random(len(e)))
        moved = cand.take(got)
        self.ledger.add("referrals_down_inpatient", len(moved))
        fac.count_referrals(facility[go][got], moved.facility, day)
        self.admit(moved, day, rng, rehab=True)

    def wait(self, eps: Batch, day: int, rng: np.random.Generator) -> None:
        """Those not served today wait for tomorrow, or give up."""
        led = self.ledger
        quit_ = rng.random(len(eps)) < self.params.behaviour.renege_probability
        gone = eps.take(quit_)
        led.add_by("reneged", np.where(gone.chronic, CHRONIC, gone.severity))
        led.add_by("forgone_quintile", self.people.quintile[gone.person])
        # Chronic patients who gave up on a follow-up try again after a month.
        self.onset.schedule(gone.person[gone.chronic], day + self.params.behaviour.chronic_followup_days)
        stay = eps.take(~quit_)
        led.add_by("wait_days", self.fac.tier[stay.facility])
        self.queue = stay.replace(waited=stay.waited + 1)
