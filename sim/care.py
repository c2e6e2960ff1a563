"""The day's patient flow: choosing where to go, queues, treatment, referral, admission, billing.

All of the day's episodes move together, as arrays. An episode ends in exactly one way:
treated as an outpatient, admitted, not sought (forgone) or given up while waiting
(reneged); otherwise it is still waiting in a queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.behaviour import FORGO, can_treat, choose, experience, learn, utilities
from sim.episodes import BED, VISIT, Batch, rank_within, unique_rounds
from sim.insurance import INPATIENT, OUTPATIENT, effective_rate, reimburse
from sim.world import COUNTY, TERTIARY, TOWNSHIP, VILLAGE

if TYPE_CHECKING:
    from sim.model import TierFlowModel

MAX_HOPS = 4          # village -> township -> county -> tertiary
CHRONIC = 4           # outcome index of chronic follow-ups in the ledger
# Chronic patients weigh doctor quality like a moderate illness: technology and
# specialists matter for chronic care (BMJ Open MNL: "no first-class technology" OR 29.7).
CHRONIC_CHOICE_SEVERITY = 1
LOS_BY_SEVERITY = np.array([0.7, 1.0, 1.25, 1.6])


class Care:
    """Moves episodes through facilities and keeps queues, beds and accounts."""

    def __init__(self, model: "TierFlowModel"):
        self.m = model
        self.queue = Batch.empty()
        self.discharges: dict[int, list[dict[str, np.ndarray]]] = {}
        self.referrals: dict[tuple[int, int], int] = {}  # (from facility, to facility) -> count (agent units)
        world = model.world
        self.own_mask = np.zeros(world.choice.shape, dtype=bool)
        self.own_mask[:, :2] = world.choice[:, :2] >= 0  # own clinic and own township centre
        self.first_county = int(np.flatnonzero(world.fac_tier == COUNTY)[0]) if (world.fac_tier == COUNTY).any() else -1

    # ------------------------------------------------------------------ prices

    def amount(self, tier: np.ndarray, inpatient: np.ndarray, severity: np.ndarray, chronic: np.ndarray,
               person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reimbursable amount and registration fee of a visit or an admission."""
        m = self.m
        visit = m.tables["op_price"][tier] * np.where(chronic, 0.5, m.tables["op_severity_cost"][severity])
        visit = visit + np.where(chronic, self.supply_days(person, tier) * m.tables["drug_cost"], 0.0)
        stay = m.tables["ip_price"][tier] * m.tables["ip_severity_cost"][severity]
        fee = np.where(inpatient, 0.0, m.tables["registration_fee"][tier])
        return np.where(inpatient, stay, visit), fee

    def supply_days(self, person: np.ndarray, tier: np.ndarray) -> np.ndarray:
        """Days of chronic drugs per follow-up: long prescriptions for the signed at the grassroots."""
        m = self.m
        long_rx = m.people.signed[person] & (tier <= TOWNSHIP)
        return np.where(long_rx, m.params.signing.benefits.long_prescription_days,
                        m.params.behaviour.chronic_followup_days)

    def quote(self, person, tier, setting, amount, in_county, referred, chronic, waive_deductible=False):
        """What the fund would pay for a bill, and the deductible it would use (no side effects)."""
        ppl, rules = self.m.people, self.m.rules
        sch = ppl.scheme[person].astype(np.int64)
        rate = effective_rate(rules, sch, setting, tier, in_county, referred, ppl.signed[person], chronic)
        deductible = rules.deductible[sch, setting, tier]
        left = np.where(setting == OUTPATIENT, deductible - ppl.deductible_paid[person, tier], deductible)
        if waive_deductible:
            left = np.zeros_like(left)
        spent = ppl.reimbursed[person, setting]
        tier_spent = np.take_along_axis(spent, np.asarray(tier)[..., None], axis=-1)[..., 0]
        cap_left = np.minimum(rules.tier_cap[sch, setting, tier] - tier_spent,
                              rules.setting_cap[sch, setting] - spent.sum(-1))
        return reimburse(amount, rate, left, cap_left)

    def expected_reimbursement(self, person, tier, setting, amount, in_county, chronic):
        """What a patient expects the fund to pay when choosing (no referral yet).

        Patients go by the headline terms: the rate that applies to them, the deductible
        of an admission, and an annual outpatient deductible spread over
        `deductible_spread_visits` visits. They do not track how much of their own annual
        deductible or cap is used, so choices carry no insurance-year seasonality;
        bills are exact (see `charge`).
        """
        m = self.m
        sch = m.people.scheme[person].astype(np.int64)
        rate = effective_rate(m.rules, sch, setting, tier, in_county, np.zeros(np.shape(tier), bool),
                              m.people.signed[person], chronic)
        deductible = m.rules.deductible[sch, setting, tier]
        spread = np.where(setting == OUTPATIENT, m.params.behaviour.choice.deductible_spread_visits, 1.0)
        paid, _ = reimburse(amount, rate, deductible / spread, np.full(np.shape(amount), np.inf))
        return paid

    def charge(self, eps: Batch, setting: int, waive_deductible: bool = False) -> None:
        """Bill episodes at their facility; update the fund, the patients and the ledger."""
        if len(eps) == 0:
            return
        m, ppl = self.m, self.m.people
        for rows in unique_rounds(eps.person):
            e = eps.take(rows)
            p, f = e.person, e.facility
            tier = m.fac.tier[f]
            inpatient = np.full(len(e), setting == INPATIENT)
            amount, fee = self.amount(tier, inpatient, e.severity, e.chronic, p)
            paid, used = self.quote(p, tier, np.full(len(e), setting), amount, m.world.fac_in_county[f],
                                    e.referred, e.chronic, waive_deductible)
            oop = amount + fee - paid
            sch = ppl.scheme[p].astype(np.int64)
            m.ledger.add_by("oop_quintile", ppl.quintile[p], oop)
            m.ledger.add_by("oop_severity", np.where(e.chronic, CHRONIC, e.severity), oop)
            if setting == OUTPATIENT:
                ppl.deductible_paid[p, tier] += used.astype(np.float32)
            ppl.reimbursed[p, setting, tier] += paid.astype(np.float32)
            ppl.oop[p] += oop.astype(np.float32)
            if setting == INPATIENT:
                out = tier == TERTIARY
                ppl.ooc_inpatient_fund[p[out]] += paid[out].astype(np.float32)
            np.add.at(m.fac.revenue, f, amount + fee)
            m.ledger.add_by("billed", setting * 4 + tier, amount + fee)
            cell = setting * 8 + tier * 2 + sch
            m.ledger.add_by("reimbursed", cell, paid)
            m.ledger.add_by("oop", cell, oop)

    # ----------------------------------------------------------- seeking care

    def seek(self, eps: Batch, rng: np.random.Generator) -> Batch:
        """Each episode chooses a facility or forgoes care (multinomial logit with an outside option)."""
        m = self.m
        if len(eps) == 0:
            return eps
        ppl = m.people
        p = eps.person
        s = ppl.settlement[p].astype(np.int64)
        options = m.world.choice[s]
        valid = options >= 0
        f = np.where(valid, options, 0)
        tier = m.fac.tier[f]
        inpatient = eps.inpatient[:, None]
        valid &= ~(inpatient & (m.fac.beds[f] <= 0))
        setting = np.where(inpatient, INPATIENT, OUTPATIENT) + np.zeros_like(f)
        pp = np.broadcast_to(p[:, None], f.shape)
        amount, fee = self.amount(tier, np.broadcast_to(inpatient, f.shape), eps.severity[:, None],
                                  np.broadcast_to(eps.chronic[:, None], f.shape), pp)
        paid = self.expected_reimbursement(pp, tier, setting, amount, m.world.fac_in_county[f],
                                           np.broadcast_to(eps.chronic[:, None], f.shape))
        perceived = ppl.trust[pp, tier] + m.fac.quality_offset[f]
        hours = m.world.travel_minutes[s] / 60.0
        tie = ppl.signed[p][:, None] & self.own_mask[s]
        sev = np.where(eps.chronic, CHRONIC_CHOICE_SEVERITY, eps.severity)
        util = utilities(m.coef, sev, tier, perceived, hours, amount + fee - paid,
                         ppl.income[p] / 365.0, m.fac.wait_hours()[f], tie, ppl.scheme[p] == 1)
        outcome = np.where(eps.chronic, CHRONIC, eps.severity)
        pick = choose(util, valid, m.coef.forgo[outcome], rng.gumbel(size=(len(eps), f.shape[1] + 1)))
        forgo = pick == FORGO
        m.ledger.add_by("forgone", outcome[forgo])
        m.ledger.add_by("forgone_quintile", ppl.quintile[p[forgo]])
        self.followup_missed(eps.take(forgo & eps.chronic))
        went = eps.take(~forgo)
        chosen = options[np.flatnonzero(~forgo), pick[~forgo]]
        first = m.fac.tier[chosen].astype(np.int8)
        m.ledger.add_by("first_visits", first)
        minor = (went.severity == 0) & ~went.chronic
        m.ledger.add("minor_sought", minor.sum())
        m.ledger.add("minor_first_tertiary", (minor & (first == TERTIARY)).sum())
        return went.replace(facility=chosen, first_tier=first)

    # ------------------------------------------------------------- treatment

    def treat(self, arrivals: Batch, rng: np.random.Generator) -> None:
        """Serve today's queue and arrivals within capacity; refer, admit, or keep them waiting."""
        m = self.m
        pending = Batch.concat([self.queue, arrivals])
        remaining = m.fac.capacity.copy()
        free_beds = m.fac.beds - m.fac.occupied
        demand = np.zeros(len(remaining))
        waiting: list[Batch] = []
        for _ in range(MAX_HOPS):
            if len(pending) == 0:
                break
            at_visit = pending.stage == VISIT
            visits, beds_wanted = pending.take(at_visit), pending.take(~at_visit)
            demand += np.bincount(visits.facility, minlength=len(demand))
            seen = self.allocate(visits.facility, self.visit_priority(visits, rng), remaining)
            np.subtract.at(remaining, visits.facility[seen], 1)
            waiting.append(visits.take(~seen))
            seen_eps = visits.take(seen)
            referred, treated = self.examine(seen_eps, rng)
            outpatient = treated.take(~treated.inpatient)
            self.finish_outpatient(outpatient, rng)
            beds_wanted = Batch.concat([beds_wanted, treated.take(treated.inpatient).replace(
                stage=np.full(int(treated.inpatient.sum()), BED))])
            key = (beds_wanted.waited == 0) + rng.random(len(beds_wanted)) - beds_wanted.severity
            got_bed = self.allocate(beds_wanted.facility, key, free_beds)
            np.subtract.at(free_beds, beds_wanted.facility[got_bed], 1)
            self.admit(beds_wanted.take(got_bed), rng)
            waiting.append(beds_wanted.take(~got_bed))
            pending = referred
        self.wait(Batch.concat(waiting + [pending]), rng)
        m.fac.observe(demand, np.bincount(self.queue.facility[self.queue.stage == VISIT],
                                          minlength=len(demand)))

    @staticmethod
    def allocate(facility: np.ndarray, key: np.ndarray, capacity: np.ndarray) -> np.ndarray:
        """Serve, per facility, the rows with the lowest keys up to its capacity."""
        if len(facility) == 0:
            return np.zeros(0, dtype=bool)
        return rank_within(facility, key) < capacity[facility]

    def visit_priority(self, eps: Batch, rng: np.random.Generator) -> np.ndarray:
        """Queue order: those already waiting, then signed referrals, then referrals, then the rest."""
        m = self.m
        signed_first = m.params.signing.benefits.priority_referral
        rank = np.full(len(eps), 3.0)
        rank = np.where(eps.referred, 2.0, rank)
        if signed_first:
            rank = np.where(eps.referred & m.people.signed[eps.person], 1.0, rank)
        rank = np.where(eps.waited > 0, 0.0, rank)
        return rank + rng.random(len(eps))

    def examine(self, eps: Batch, rng: np.random.Generator) -> tuple[Batch, Batch]:
        """Count and bill the visit; refer up cases beyond the facility, keep the rest."""
        m = self.m
        if len(eps) == 0:
            return eps, eps
        f = eps.facility
        tier = m.fac.tier[f]
        m.ledger.add_by("visits", tier * 2 + m.people.scheme[eps.person])
        np.add.at(m.fac.visits, f, 1)
        capability = m.fac.capability[f] + np.where(tier == COUNTY, m.keep_in_county, 0.0)
        ok = can_treat(capability, eps.severity, rng.random(len(eps)))
        ok &= ~(eps.inpatient & (m.fac.beds[f] <= 0))
        up = m.world.referral_up[f]
        refer = ~ok & (up >= 0)
        # The visit itself is billed where the patient was seen; an admission is billed on admission.
        self.charge(eps.take(~eps.inpatient | refer), OUTPATIENT)
        sent = eps.take(refer)
        m.ledger.add_by("referrals_up", m.fac.tier[sent.facility])
        self.count_referrals(sent.facility, up[refer])
        self.learn(sent, referred_on=True, rng=rng)
        return sent.replace(facility=up[refer], referred=np.ones(len(sent), bool), waited=np.zeros(len(sent))), \
            eps.take(~refer)

    def finish_outpatient(self, eps: Batch, rng: np.random.Generator) -> None:
        """Outpatient treatment done: outcomes, trust, chronic follow-up bookkeeping."""
        m = self.m
        if len(eps) == 0:
            return
        tier = m.fac.tier[eps.facility]
        m.ledger.add("treated_outpatient", len(eps))
        m.ledger.add_by("flow", eps.first_tier.astype(np.int64) * 4 + tier)
        self.learn(eps, referred_on=False, rng=rng)
        fu = eps.take(eps.chronic)
        if len(fu):
            fu_tier = m.fac.tier[fu.facility]
            m.onset.schedule(fu.person, m.day + self.supply_days(fu.person, fu_tier))
            grassroots = fu.person[fu_tier <= TOWNSHIP]
            m.mark_managed(grassroots)
            m.ledger.add("followups_grassroots", len(grassroots))
            down = m.params.referral.downward
            if down.enabled:
                at_hospital = fu.person[fu_tier >= COUNTY]
                sent = at_hospital[rng.random(len(at_hospital)) < down.chronic * m.down_boost]
                m.ledger.add("referrals_down_chronic", len(sent))
                # The specialist hands the patient back: their family doctor gains their trust.
                m.people.trust[sent, VILLAGE] = learn(m.people.trust[sent, VILLAGE], 1.0, 0.5)

    def admit(self, eps: Batch, rng: np.random.Generator, rehab: bool = False) -> None:
        """Admit episodes to a bed: bill, count, and book the discharge."""
        m = self.m
        if len(eps) == 0:
            return
        f = eps.facility
        tier = m.fac.tier[f]
        np.add.at(m.fac.occupied, f, 1)
        np.add.at(m.fac.admissions, f, 1)
        m.ledger.add_by("admissions", tier * 2 + m.people.scheme[eps.person])
        self.charge(eps, INPATIENT, waive_deductible=rehab)
        if rehab:
            los = np.full(len(eps), m.params.referral.downward.rehab_days)
        else:
            m.ledger.add("treated_inpatient", len(eps))
            m.ledger.add_by("flow", eps.first_tier.astype(np.int64) * 4 + tier)
            self.learn(eps, referred_on=False, rng=rng)
            los = m.tables["los"][tier] * LOS_BY_SEVERITY[eps.severity]
        stay = 1 + rng.poisson(np.maximum(los - 1, 0))
        out = m.day + stay
        for d in np.unique(out):
            sel = out == d
            self.discharges.setdefault(int(d), []).append(
                {"person": eps.person[sel], "facility": f[sel], "severity": eps.severity[sel],
                 "rehab": np.full(int(sel.sum()), rehab)})

    def discharge(self, rng: np.random.Generator) -> None:
        """Free today's beds; send some patients down after the acute phase (下转)."""
        m = self.m
        parts = self.discharges.pop(m.day, [])
        if not parts:
            return
        person, facility, severity, rehab = (np.concatenate([p[k] for p in parts])
                                             for k in ("person", "facility", "severity", "rehab"))
        np.subtract.at(m.fac.occupied, facility, 1)
        down = m.params.referral.downward
        if not down.enabled:
            return
        tier = m.fac.tier[facility]
        prob = np.select([tier == COUNTY, tier == TERTIARY], [down.county, down.tertiary], 0.0) * m.down_boost
        go = ~rehab & (rng.random(len(person)) < prob)
        target = np.where(tier == TERTIARY, self.first_county,
                          m.world.own_township_centre[m.people.settlement[person].astype(np.int64)])
        go &= target >= 0
        cand = Batch.new(person[go], severity[go], np.ones(int(go.sum()), bool), np.zeros(int(go.sum()), bool))
        cand = cand.replace(facility=target[go], referred=np.ones(len(cand), bool), stage=np.full(len(cand), BED))
        free = m.fac.beds - m.fac.occupied
        got = self.allocate(cand.facility, rng.random(len(cand)), free)
        moved = cand.take(got)
        m.ledger.add("referrals_down_inpatient", len(moved))
        self.count_referrals(facility[go][got], moved.facility)
        self.admit(moved, rng, rehab=True)

    def count_referrals(self, source: np.ndarray, target: np.ndarray) -> None:
        """Tally referrals per (from, to) facility pair, for the referral network figure."""
        if len(source) == 0 or self.m.day < 0:
            return
        pairs, counts = np.unique(np.stack([source, target]), axis=1, return_counts=True)
        for (a, b), c in zip(pairs.T.tolist(), counts.tolist()):
            self.referrals[(a, b)] = self.referrals.get((a, b), 0) + c

    def wait(self, eps: Batch, rng: np.random.Generator) -> None:
        """Those not served today wait for tomorrow, or give up."""
        m = self.m
        quit_ = rng.random(len(eps)) < m.params.behaviour.renege_probability
        gone = eps.take(quit_)
        m.ledger.add_by("reneged", np.where(gone.chronic, CHRONIC, gone.severity))
        m.ledger.add_by("forgone_quintile", m.people.quintile[gone.person])
        self.followup_missed(gone.take(gone.chronic))
        stay = eps.take(~quit_)
        m.ledger.add_by("wait_days", m.fac.tier[stay.facility])
        self.queue = stay.replace(waited=stay.waited + 1)

    def followup_missed(self, eps: Batch) -> None:
        """A chronic patient who skipped a follow-up tries again after a month."""
        if len(eps):
            self.m.onset.schedule(eps.person, self.m.day + self.m.params.behaviour.chronic_followup_days)

    def learn(self, eps: Batch, referred_on: bool, rng: np.random.Generator) -> None:
        """Update trust in the tier just experienced."""
        m = self.m
        if len(eps) == 0:
            return
        tier = m.fac.tier[eps.facility]
        t = m.params.behaviour.trust
        satisfied = rng.random(len(eps)) < m.fac.quality[eps.facility]
        outcome = experience(satisfied, eps.waited > 0, np.full(len(eps), referred_on),
                             t.waiting_penalty, t.referred_outcome)
        old = m.people.trust[eps.person, tier]
        new = learn(old, outcome, t.learning_rate)
        m.people.trust[eps.person, tier] = new
        np.add.at(m.trust_sum, tier, new - old)
