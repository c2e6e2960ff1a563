"""The day's patient flow: choosing where to go, queues, treatment, referral, admission, billing.

All of the day's episodes move together, as arrays. An episode ends in exactly one way:
treated as an outpatient, admitted, not sought (forgone) or given up while waiting
(reneged); otherwise it is still waiting in a queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.engine.behaviour import FORGO, can_treat, choose, experience, fixed_utilities, learn, utilities
from sim.engine.episodes import BED, VISIT, Batch, join_records, rank_within, unique_rounds
from sim.engine.insurance import INPATIENT, NO_CAP, OUTPATIENT, every_combination, rate_table, reimburse
from sim.county.world import COUNTY, TERTIARY, TOWNSHIP, VILLAGE

if TYPE_CHECKING:
    from sim.engine.model import TierFlowModel

# An inpatient: who, where, how ill, whether after a downward referral, and the day of discharge.
WARD = np.dtype([("person", np.int64), ("facility", np.int64), ("severity", np.int8), ("rehab", np.bool_),
                 ("out", np.int64)], align=True)
CHRONIC = 4           # outcome index of chronic follow-ups in the ledger
# Chronic patients weigh doctor quality like a moderate illness: technology and
# specialists matter for chronic care (BMJ Open MNL: "no first-class technology" OR 29.7).
CHRONIC_CHOICE_SEVERITY = 1
LOS_BY_SEVERITY = np.array([0.7, 1.0, 1.25, 1.6])


def add_counts(target: np.ndarray, index: np.ndarray, weights: np.ndarray | None = None) -> None:
    """target[index] += weights (or 1), with repeated indexes adding up (a fast np.add.at)."""
    if len(index):
        target += np.bincount(index, weights=weights, minlength=len(target)).astype(target.dtype)


def by_option(table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Columns `rows` of an option-major table, as an (episodes x options) array.

    The result is Fortran-ordered: each option's values are contiguous, so the choice's
    reductions over a handful of options run as fast elementwise passes.
    """
    return table.take(rows, axis=1).T


class Contact:
    """Bit flags of a contact to settle: how it is billed and what the patient learns."""

    INPATIENT = 1    # billed as an admission (otherwise as an outpatient visit)
    WAIVED = 2       # deductible waived (a downward referral continues a stay)
    LEARN = 4        # the patient updates trust from it
    REFERRED_ON = 8  # ...and was sent on to a higher tier (disappointing)


class Care:
    """Moves episodes through facilities and keeps queues, beds and accounts."""

    def __init__(self, model: "TierFlowModel"):
        self.m = model
        self.queue = Batch.empty()      # waiting at a facility since an earlier day
        self.transfers = Batch.empty()  # referred up today, seen at the next tier tomorrow
        self.contacts: list[Batch] = []  # today's visits and admissions to bill and learn from (see `settle`)
        self.ward = np.zeros(0, WARD)  # inpatients, one record per occupied bed
        self.referral_codes = np.zeros(0, np.int64)    # (from * n_facilities + to) pairs seen so far
        self.referral_totals = np.zeros(0)               # referrals per pair (agent units)
        self.referral_pending: list[np.ndarray] = []     # codes not yet counted in
        world = model.world
        self.scratch = np.zeros(model.people.n, dtype=np.int64)  # for linear-time duplicate detection
        # Each settlement's options, looked up once: facility, tier, hours, in county, own ties.
        self.options = world.choice
        self.option_exists = world.choice >= 0
        self.option_facility = np.where(self.option_exists, world.choice, 0)
        self.option_tier = model.fac.tier[self.option_facility]
        self.option_hours = world.travel_minutes.astype(np.float64) / 60.0
        self.option_in_county = world.fac_in_county[self.option_facility]
        self.option_code = self.option_tier * 2 + self.option_in_county  # kind of option: tier x in county
        self.option_tier_major = np.ascontiguousarray(self.option_tier.T)
        self.option_facility_major = np.ascontiguousarray(self.option_facility.T)
        self.own_mask = np.zeros(world.choice.shape, dtype=bool)
        self.own_mask[:, :2] = self.option_exists[:, :2]  # own clinic and own township centre
        self.first_county = int(np.flatnonzero(world.fac_tier == COUNTY)[0]) if (world.fac_tier == COUNTY).any() else -1

    def configure(self) -> None:
        """Refresh what depends on the current parameters (called after each policy change)."""
        m = self.m
        self.rates = rate_table(m.rules)
        self.tier_caps = bool((m.rules.tier_cap < NO_CAP).any())
        # The choice is computed in float32 (numpy's exp and log are several times faster there)
        # from tables stored option-major (options x rows; see `by_option`).
        self.coef32 = m.coef.astype(np.float32)
        self.fixed_utility = np.ascontiguousarray(self.fixed_utility_table().T, dtype=np.float32)
        self.expected_bill, self.expected_paid = self.expected_tables()
        self.bill_terms = self.bill_tables()
        # By (episode class, settlement): each option's expected bill and payment.
        k = self.options.shape[1]
        self.option_bill = np.ascontiguousarray(self.expected_bill[:, self.option_code].reshape(-1, k).T, np.float32)
        self.option_paid = np.ascontiguousarray(self.expected_paid[:, self.option_code].reshape(-1, k).T, np.float32)

    # A settlement's options have a fixed utility per kind of patient: severity class, scheme, inpatient, signed.
    PATIENT_SHAPE = (4, 2, 2, 2)

    def fixed_utility_table(self) -> np.ndarray:
        """`fixed_utilities` of each settlement's options for each kind of patient (rows:
        settlement x PATIENT_SHAPE, see `patient_row`); an option a patient cannot use is -inf."""
        m = self.m
        n_set = len(self.options)
        s, sev, sch, inpatient, signed = every_combination(n_set, *self.PATIENT_SHAPE)
        inpatient, signed = inpatient.astype(bool), signed.astype(bool)
        facility = self.option_facility[s]
        fixed = fixed_utilities(m.coef, sev, self.option_tier[s], self.option_hours[s], m.fac.quality_offset[facility],
                                signed[:, None] & self.own_mask[s], sch == 1, inpatient)
        usable = self.option_exists[s] & ~(inpatient[:, None] & (m.fac.beds[facility] <= 0))
        return np.where(usable, fixed, -np.inf)

    def patient_row(self, settlement, severity, scheme, inpatient, signed) -> np.ndarray:
        """Row of `fixed_utility` for each episode."""
        return np.ravel_multi_index((settlement, severity, scheme, inpatient.astype(np.int64), signed.astype(np.int64)),
                                    (len(self.options),) + self.PATIENT_SHAPE)

    # Episodes fall into a few classes for pricing: scheme, setting, chronic, severity, signed.
    CLASS_SHAPE = (2, 2, 2, 4, 2)

    def episode_class(self, scheme, inpatient, chronic, severity, signed) -> np.ndarray:
        """Index of each episode's pricing class (see CLASS_SHAPE)."""
        return np.ravel_multi_index((scheme, inpatient.astype(np.int64), chronic.astype(np.int64),
                                     severity, signed.astype(np.int64)), self.CLASS_SHAPE)

    def expected_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """The bill a patient expects and what they expect the fund to pay, by episode class
        and kind of option (tier x in county).

        Patients go by the headline terms: the rate that applies to them (unreferred), the
        deductible of an admission, and an annual outpatient deductible spread over
        `deductible_spread_visits` visits. They do not track how much of their own annual
        deductible is used, so choices carry little insurance-year seasonality; they do know
        when an annual cap is used up (see `seek`). Bills are exact (see `charge`).
        """
        m = self.m
        sch, inpatient, chronic, severity, signed, tier, in_county = every_combination(*self.CLASS_SHAPE, 4, 2)
        amount, fee = self.amount(tier, inpatient.astype(bool), severity, chronic.astype(bool), signed.astype(bool))
        rate = self.rates[sch, inpatient, tier, in_county, 0, signed, chronic]
        spread = np.where(inpatient == 1, 1.0, m.params.behaviour.choice.deductible_spread_visits)
        eligible = amount * m.rules.in_policy[sch]
        paid = rate * np.maximum(eligible - m.rules.deductible[sch, inpatient, tier] / spread, 0.0)
        shape = (int(np.prod(self.CLASS_SHAPE)), 8)
        return (amount + fee).reshape(shape), paid.reshape(shape)

    def bill_tables(self) -> dict[str, np.ndarray]:
        """Prices and insurance terms of a bill, looked up once per episode class and tier
        (`amount`, `fee`, `eligible`, `deductible`, `tier_cap`, `setting_cap`, flat index
        class x 4 + tier), and the rate, also by in county and referred (index x 4 + in
        county x 2 + referred)."""
        rules = self.m.rules
        kinds = every_combination(*self.CLASS_SHAPE, 4, 2, 2)
        sch, inpatient, chronic, severity, signed, tier, in_county, referred = kinds
        rate = self.rates[sch, inpatient, tier, in_county, referred, signed, chronic]
        first = (in_county == 0) & (referred == 0)  # one row per class and tier
        sch, inpatient, chronic, severity, signed, tier = (
            x[first] for x in (sch, inpatient, chronic, severity, signed, tier))
        amount, fee = self.amount(tier, inpatient.astype(bool), severity, chronic.astype(bool), signed.astype(bool))
        return {"amount": amount, "fee": fee, "eligible": amount * rules.in_policy[sch],
                "deductible": rules.deductible[sch, inpatient, tier], "tier_cap": rules.tier_cap[sch, inpatient, tier],
                "setting_cap": rules.setting_cap[sch, inpatient], "rate": rate}

    # ------------------------------------------------------------------ prices

    def amount(self, tier: np.ndarray, inpatient: np.ndarray, severity: np.ndarray, chronic: np.ndarray,
               signed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Reimbursable amount and registration fee of a visit or an admission (arrays broadcast)."""
        t = self.m.tables
        visit = t["op_price"][tier] * np.where(chronic, 0.5, t["op_severity_cost"][severity])
        visit = visit + np.where(chronic, self.supply_days(signed, tier) * t["drug_cost"], 0.0)
        stay = t["ip_price"][tier] * t["ip_severity_cost"][severity]
        fee = np.where(inpatient, 0.0, t["registration_fee"][tier])
        return np.where(inpatient, stay, visit), fee

    def supply_days(self, signed: np.ndarray, tier: np.ndarray) -> np.ndarray:
        """Days of chronic drugs per follow-up: long prescriptions for the signed at the grassroots."""
        p = self.m.params
        return np.where(signed & (tier <= TOWNSHIP), p.signing.benefits.long_prescription_days,
                        p.behaviour.chronic_followup_days)

    def quote(self, person, tier, setting, row, rate, waive):
        """What the fund pays for each bill, and the deductible it uses (no side effects).

        `row` indexes `bill_terms` (class x 4 + tier); `setting` and `waive` (deductible waived:
        a downward referral continues a stay) are per bill.
        """
        ppl, terms = self.m.people, self.bill_terms
        deductible = terms["deductible"][row]
        left = np.where(waive, 0.0, np.where(setting == OUTPATIENT, deductible - ppl.deductible_paid[person, tier],
                                             deductible))
        cap_left = terms["setting_cap"][row] - ppl.reimbursed_setting[person, setting]
        if self.tier_caps:
            cap_left = np.minimum(terms["tier_cap"][row] - ppl.reimbursed[person, setting, tier], cap_left)
        return reimburse(terms["eligible"][row], rate, left, cap_left)

    def contact_later(self, eps: Batch, flags: int | np.ndarray) -> None:
        """Queue contacts (visits, admissions) with their `Contact` flags; `settle` bills them
        and lets patients learn from them, all of the day's at once."""
        if len(eps):
            self.contacts.append(eps.replace(contact=flags))

    def settle(self, rng: np.random.Generator) -> None:
        """Bill the day's contacts and update trust from them, one contact per person: a
        person's second contact of the day is settled the next day (as a claim would be), so
        deductibles, caps and trust see the first. On the last day every contact is settled."""
        if not self.contacts:
            return
        eps, self.contacts = Batch.concat(self.contacts), []
        unique = self.m.day < self.m.params.days - 1
        if unique:
            now = self.first_per_person(eps.person)
            if not now.all():
                eps, self.contacts = eps.take(now), [eps.take(~now)]
        flags = eps.contact
        setting = np.where(flags & Contact.INPATIENT, INPATIENT, OUTPATIENT)
        self.charge(eps, setting, (flags & Contact.WAIVED) > 0, unique)
        learns = (flags & Contact.LEARN) > 0
        self.learn(eps if learns.all() else eps.take(learns), rng, unique)

    def rounds(self, person: np.ndarray, unique: bool) -> list[np.ndarray]:
        """Row indexes in rounds where no person appears twice (one round when `unique`)."""
        return [np.arange(len(person))] if unique else unique_rounds(person, self.scratch)

    def first_per_person(self, person: np.ndarray) -> np.ndarray:
        """Rows that are each person's first in this batch."""
        rows = np.arange(len(person))
        self.scratch[person[::-1]] = rows[::-1]  # the first occurrence is written last
        return self.scratch[person] == rows

    def charge(self, eps: Batch, setting: np.ndarray, waive: np.ndarray, unique: bool = False) -> None:
        """Bill episodes at their facility; update the fund, the patients and the ledger.

        A person billed twice in one batch is settled in rounds, so deductibles and caps are
        exact (`unique`: the caller knows each person has one bill).
        """
        if len(eps) == 0:
            return
        m, ppl = self.m, self.m.people
        for rows in self.rounds(eps.person, unique):
            whole = len(rows) == len(eps)
            e = eps if whole else eps.take(rows)
            st, wv = (setting, waive) if whole else (setting[rows], waive[rows])
            p, f = e.person, e.facility
            tier = m.fac.tier[f]
            inpatient = st == INPATIENT
            sch = ppl.scheme[p]
            row = self.episode_class(sch, inpatient, e.chronic, e.severity, ppl.signed[p]) * 4 + tier
            rate = self.bill_terms["rate"][row * 4 + m.world.fac_in_county[f] * 2 + e.referred]
            amount, fee = self.bill_terms["amount"][row], self.bill_terms["fee"][row]
            paid, used = self.quote(p, tier, st, row, rate, wv)
            oop = amount + fee - paid
            m.ledger.add_by("oop_quintile", ppl.quintile[p], oop)
            m.ledger.add_by("oop_severity", np.where(e.chronic, CHRONIC, e.severity), oop)
            ppl.deductible_paid[p, tier] += np.where(inpatient, 0.0, used).astype(np.float32)
            ppl.reimbursed[p, st, tier] += paid.astype(np.float32)
            ppl.reimbursed_setting[p, st] += paid.astype(np.float32)
            ppl.oop[p] += oop.astype(np.float32)
            out = inpatient & (tier == TERTIARY)
            ppl.ooc_inpatient_fund[p[out]] += paid[out].astype(np.float32)
            add_counts(m.fac.revenue, f, amount + fee)
            m.ledger.add_by("billed", st * 4 + tier, amount + fee)
            cell = st * 8 + tier * 2 + sch
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
        s = ppl.settlement[p]
        tier = by_option(self.option_tier_major, s)
        signed, sch = ppl.signed[p], ppl.scheme[p]
        sev = np.where(eps.chronic, CHRONIC_CHOICE_SEVERITY, eps.severity)
        fixed = by_option(self.fixed_utility, self.patient_row(s, sev, sch, eps.inpatient, signed))
        bill_row = self.episode_class(sch, eps.inpatient, eps.chronic, eps.severity, signed) * len(self.options) + s
        cap_left = self.cap_left(p, sch, eps.inpatient, tier).astype(np.float32)
        oop = by_option(self.option_bill, bill_row) - np.minimum(by_option(self.option_paid, bill_row), cap_left)
        perceived = ppl.trust.reshape(-1)[p[:, None] * 4 + tier]
        wait = by_option(m.fac.wait_hours().astype(np.float32)[self.option_facility_major], s)
        util = utilities(self.coef32, fixed, sev, perceived, oop, ppl.income[p] / np.float32(365.0), wait)
        outcome = np.where(eps.chronic, CHRONIC, eps.severity)
        pick = choose(util, self.coef32.forgo[outcome], rng.random(len(eps)))
        forgo = pick == FORGO
        m.ledger.add_by("forgone", outcome[forgo])
        m.ledger.add_by("forgone_quintile", ppl.quintile[p[forgo]])
        self.followup_missed(p[forgo & eps.chronic])
        went = eps.take(~forgo)
        chosen = self.options[s[~forgo], pick[~forgo]]
        first = m.fac.tier[chosen]
        m.ledger.add_by("first_visits", first)
        acute_op = ~went.chronic & ~went.inpatient
        m.ledger.add_by("first_visits_scheme", first[acute_op] * 2 + sch[~forgo][acute_op])
        minor = (went.severity == 0) & ~went.chronic
        m.ledger.add("minor_sought", minor.sum())
        m.ledger.add("minor_first_tertiary", (minor & (first == TERTIARY)).sum())
        return went.replace(facility=chosen, first_tier=first)

    def cap_left(self, person: np.ndarray, scheme: np.ndarray, inpatient: np.ndarray,
                 tier: np.ndarray) -> np.ndarray:
        """What each person's annual caps still allow at each option's tier (rows: episodes)."""
        rules, ppl = self.m.rules, self.m.people
        setting = inpatient.astype(np.int64)
        left = (rules.setting_cap[scheme, setting] - ppl.reimbursed_setting[person, setting])[:, None]
        if self.tier_caps:
            spent = ppl.reimbursed[person, setting]  # (n, 4) this year, by tier
            tier_left = rules.tier_cap[scheme[:, None], setting[:, None], tier] - np.take_along_axis(spent, tier, 1)
            left = np.minimum(left, tier_left)
        return np.maximum(left, 0.0)

    # ------------------------------------------------------------- treatment

    def treat(self, arrivals: Batch, rng: np.random.Generator) -> None:
        """Serve the queue, yesterday's referrals and today's arrivals within capacity and beds.

        A patient referred up is seen at the next tier the following day (the transfer).
        """
        m = self.m
        pending = Batch.concat([self.queue, self.transfers, arrivals])
        at_visit = pending.stage == VISIT
        visits, beds_wanted = pending.take(at_visit), pending.take(~at_visit)
        demand = np.bincount(visits.facility, minlength=len(m.fac.capacity))
        slots = m.fac.visit_slots()
        seen = self.allocate(visits, slots, lambda e: self.visit_priority(e, rng))
        m.fac.use_slots(slots, visits.facility[seen])
        self.transfers, treated = self.examine(visits.take(seen), rng)
        self.finish_outpatient(treated.take(~treated.inpatient), rng)
        to_bed = treated.take(treated.inpatient)
        beds_wanted = Batch.concat([beds_wanted, to_bed.replace(stage=BED)])
        got_bed = self.allocate(beds_wanted, m.fac.beds - m.fac.occupied,  # reserved beds, waiting, severity
                                lambda e: 2.0 * ~self.reserved(e) + (e.waited == 0) + rng.random(len(e)) - e.severity)
        self.admit(beds_wanted.take(got_bed), rng)
        self.wait(Batch.concat([visits.take(~seen), beds_wanted.take(~got_bed)]), rng)
        self.settle(rng)
        m.fac.observe(demand, np.bincount(self.queue.facility[self.queue.stage == VISIT],
                                          minlength=len(demand)))

    @staticmethod
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

    def visit_priority(self, eps: Batch, rng: np.random.Generator) -> np.ndarray:
        """Queue order: signed residents' referrals first (the family doctor's reserved specialist
        slots, Shanghai 1+1+1), then those already waiting, then other referrals, then the rest."""
        rank = np.where(eps.referred, 2.0, 3.0)
        rank[eps.waited > 0] = 1.0
        rank[self.reserved(eps)] = 0.0
        return rank + rng.random(len(eps))

    def reserved(self, eps: Batch) -> np.ndarray:
        """Episodes that use a family doctor's reserved slot or bed (a signed resident, referred)."""
        if not self.m.params.signing.benefits.priority_referral:
            return np.zeros(len(eps), dtype=bool)
        return eps.referred & self.m.people.signed[eps.person]

    def examine(self, eps: Batch, rng: np.random.Generator) -> tuple[Batch, Batch]:
        """Count and bill the visit; refer up cases beyond the facility, keep the rest."""
        m = self.m
        if len(eps) == 0:
            return eps, eps
        f = eps.facility
        tier = m.fac.tier[f]
        m.ledger.add_by("visits", tier * 2 + m.people.scheme[eps.person])
        add_counts(m.fac.visits, f)
        capability = m.fac.capability[f] + np.where(tier == COUNTY, m.keep_in_county, 0.0)
        ok = can_treat(capability, eps.severity, rng.random(len(eps)))
        ok &= ~(eps.inpatient & (m.fac.beds[f] <= 0))
        up = m.world.referral_up[f]
        refer = ~ok & (up >= 0)
        # The visit itself is billed where the patient was seen; an admission is billed on admission.
        visit = ~eps.inpatient | refer
        self.contact_later(eps.take(visit), np.where(refer[visit], Contact.REFERRED_ON, 0) | Contact.LEARN)
        sent = eps.take(refer)
        m.ledger.add_by("referrals_up", m.fac.tier[sent.facility])
        self.count_referrals(sent.facility, up[refer])
        return sent.replace(facility=up[refer], referred=True, waited=0), \
            eps.take(~refer)

    def finish_outpatient(self, eps: Batch, rng: np.random.Generator) -> None:
        """Outpatient treatment done: outcomes, trust, chronic follow-up bookkeeping."""
        m = self.m
        if len(eps) == 0:
            return
        tier = m.fac.tier[eps.facility]
        m.ledger.add("treated_outpatient", len(eps))
        m.ledger.add_by("flow", eps.first_tier.astype(np.int64) * 4 + tier)
        fu = eps.take(eps.chronic)
        if len(fu):
            fu_tier = m.fac.tier[fu.facility]
            long_rx = m.people.signed[fu.person] & (fu_tier <= TOWNSHIP)  # see supply_days
            m.onset.schedule(fu.person[long_rx], m.day + m.params.signing.benefits.long_prescription_days)
            m.onset.schedule(fu.person[~long_rx], m.day + m.params.behaviour.chronic_followup_days)
            grassroots = fu.person[fu_tier <= TOWNSHIP]
            m.mark_managed(grassroots)
            m.ledger.add("followups_grassroots", len(grassroots))
            down = m.params.referral.downward
            if down.enabled:
                at_hospital = fu_tier >= COUNTY
                go = rng.random(int(at_hospital.sum())) < down.chronic * m.down_boost
                sent = fu.person[at_hospital][go]
                m.ledger.add("referrals_down_chronic", len(sent))
                home = m.world.own_village_clinic[m.people.settlement[sent].astype(np.int64)]
                self.count_referrals(fu.facility[at_hospital][go][home >= 0], home[home >= 0])
                # The specialist hands the patient back: their family doctor gains their trust.
                sent = sent[self.first_per_person(sent)]
                old = m.people.trust[sent, VILLAGE]
                m.people.trust[sent, VILLAGE] = learn(old, 1.0, 0.5)
                m.trust_sum[VILLAGE] += float((m.people.trust[sent, VILLAGE] - old).sum())

    def admit(self, eps: Batch, rng: np.random.Generator, rehab: bool = False) -> None:
        """Admit episodes to a bed: bill, count, and book the discharge."""
        m = self.m
        if len(eps) == 0:
            return
        f = eps.facility
        tier = m.fac.tier[f]
        admitted = np.bincount(f, minlength=len(m.fac.occupied))
        m.fac.occupied += admitted
        m.fac.admissions += admitted
        m.ledger.add_by("admissions", tier * 2 + m.people.scheme[eps.person])
        self.contact_later(eps, Contact.INPATIENT | (Contact.WAIVED if rehab else Contact.LEARN))
        if rehab:
            los = np.full(len(eps), m.params.referral.downward.rehab_days)
        else:
            m.ledger.add("treated_inpatient", len(eps))
            m.ledger.add_by("admissions_severity", eps.severity.astype(np.int64) * 4 + tier)
            m.ledger.add_by("flow", eps.first_tier.astype(np.int64) * 4 + tier)
            los = m.tables["los"][tier] * LOS_BY_SEVERITY[eps.severity]
        stay = 1 + rng.poisson(np.maximum(los - 1, 0))
        new = np.empty(len(eps), WARD)
        new["person"], new["facility"], new["severity"] = eps.person, f, eps.severity
        new["rehab"], new["out"] = rehab, m.day + stay
        self.ward = join_records([self.ward, new])

    def discharge(self, rng: np.random.Generator) -> None:
        """Free today's beds; send some patients down after the acute phase (下转)."""
        m = self.m
        due = self.ward["out"] <= m.day
        if not due.any():
            return
        leaving, self.ward = self.ward[due], self.ward[~due]
        person, facility, severity, rehab = (leaving[k] for k in ("person", "facility", "severity", "rehab"))
        m.fac.occupied -= np.bincount(facility, minlength=len(m.fac.occupied))
        down = m.params.referral.downward
        if not down.enabled:
            return
        tier = m.fac.tier[facility]
        prob = np.array([0.0, 0.0, down.county, down.tertiary])[tier] * m.down_boost
        go = ~rehab & (rng.random(len(person)) < prob)
        target = np.where(tier == TERTIARY, self.first_county,
                          m.world.own_township_centre[m.people.settlement[person].astype(np.int64)])
        go &= target >= 0
        if not go.any():
            return
        cand = Batch.new(person[go], severity[go], True, False)
        cand.facility[:], cand.referred[:], cand.stage[:] = target[go], True, BED
        free = m.fac.beds - m.fac.occupied
        got = self.allocate(cand, free, lambda e: rng.random(len(e)))
        moved = cand.take(got)
        m.ledger.add("referrals_down_inpatient", len(moved))
        self.count_referrals(facility[go][got], moved.facility)
        self.admit(moved, rng, rehab=True)

    def count_referrals(self, source: np.ndarray, target: np.ndarray) -> None:
        """Count referrals per (from, to) facility pair, for the referral network figure."""
        if len(source) and self.m.day >= 0:
            self.referral_pending.append(source.astype(np.int64) * self.m.world.n_facilities + target)
            if len(self.referral_pending) >= 60:  # aggregate as we go: keep counts, not records
                self._compact_referrals()

    def _compact_referrals(self) -> None:
        codes = np.concatenate([self.referral_codes] + self.referral_pending)
        weights = np.concatenate([self.referral_totals, np.ones(len(codes) - len(self.referral_codes))])
        self.referral_codes, inverse = np.unique(codes, return_inverse=True)
        self.referral_totals = np.bincount(inverse, weights=weights)
        self.referral_pending = []

    def referral_counts(self) -> dict[tuple[int, int], int]:
        """Referrals since day 0 per (from, to) facility pair (agent units)."""
        self._compact_referrals()
        n = self.m.world.n_facilities
        return {(int(c // n), int(c % n)): int(k) for c, k in zip(self.referral_codes, self.referral_totals)}

    def wait(self, eps: Batch, rng: np.random.Generator) -> None:
        """Those not served today wait for tomorrow, or give up."""
        m = self.m
        quit_ = rng.random(len(eps)) < m.params.behaviour.renege_probability
        gone = eps.take(quit_)
        m.ledger.add_by("reneged", np.where(gone.chronic, CHRONIC, gone.severity))
        m.ledger.add_by("forgone_quintile", m.people.quintile[gone.person])
        self.followup_missed(gone.person[gone.chronic])
        stay = eps.take(~quit_)
        m.ledger.add_by("wait_days", m.fac.tier[stay.facility])
        self.queue = stay.replace(waited=stay.waited + 1)

    def followup_missed(self, person: np.ndarray) -> None:
        """Chronic patients who skipped a follow-up try again after a month."""
        self.m.onset.schedule(person, self.m.day + self.m.params.behaviour.chronic_followup_days)

    def learn(self, eps: Batch, rng: np.random.Generator, unique: bool) -> None:
        """Update trust from contacts (`unique`: each person has one)."""
        m = self.m
        if len(eps) == 0:
            return
        person, facility, waited = eps.person, eps.facility, eps.waited > 0
        referred_on = (eps.contact & Contact.REFERRED_ON) > 0
        tier = m.fac.tier[facility]
        t = m.params.behaviour.trust
        satisfied = rng.random(len(person)) < m.fac.quality[facility]
        outcome = experience(satisfied, waited, referred_on, t.waiting_penalty, t.referred_outcome)
        for rows in self.rounds(person, unique):
            whole = len(rows) == len(person)
            p, k, o = (person, tier, outcome) if whole else (person[rows], tier[rows], outcome[rows])
            old = m.people.trust[p, k]
            new = learn(old, o, t.learning_rate)
            m.people.trust[p, k] = new
            add_counts(m.trust_sum, k, new - old)
