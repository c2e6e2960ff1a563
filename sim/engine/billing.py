"""Bills: prices, the insurance terms of each kind of bill, quotes, charges, and settling
the day's contacts. The rules themselves are in sim/engine/insurance.py.
"""

from __future__ import annotations

import numpy as np

from sim.county.population import Population
from sim.county.world import COUNTY, TERTIARY, TOWNSHIP, World
from sim.engine.behaviour import indirect_cost
from sim.engine.episodes import CHRONIC, Batch, Contact, add_counts
from sim.engine.facilities import Facilities
from sim.engine.insurance import (INPATIENT, NO_CAP, OUTPATIENT, Rules, every_combination, fee_paid, rate_table,
                                  reimburse)
from sim.engine.metrics import Ledger
from sim.engine.payers import PayerAccounts, PayerRules, chronic_special_quote, mean_one_lognormal, split_after_fund
from sim.engine.residents import Residents
from sim.scenario.schema import GRADES, PLACES, SEVERITIES, TIERS, Scenario

# Episodes fall into a few classes for pricing: scheme, setting, chronic, severity, signed.
CLASS_SHAPE = (2, 2, 2, 4, 2)
# Facilities fall into kinds for billing: tier (prices), grade (insurance terms), place (异地 terms).
KIND_SHAPE = (len(TIERS), len(GRADES), len(PLACES))
KINDS = int(np.prod(KIND_SHAPE))


def facility_kind(world: World) -> np.ndarray:
    """Each facility's kind (flat index in KIND_SHAPE: tier x grade x place)."""
    return np.ravel_multi_index((world.fac_tier.astype(np.int64), world.fac_grade.astype(np.int64),
                                 world.fac_place.astype(np.int64)), KIND_SHAPE)


def episode_class(scheme, inpatient, chronic, severity, signed) -> np.ndarray:
    """Index of each episode's pricing class (see CLASS_SHAPE)."""
    return np.ravel_multi_index((scheme, inpatient.astype(np.int64), chronic.astype(np.int64),
                                 severity, signed.astype(np.int64)), CLASS_SHAPE)


def price_tables(params: Scenario) -> dict:
    """Prices, fees, lengths of stay and severity costs by tier, from the scenario's providers."""
    pv = params.providers
    tier_values = lambda m: np.array([getattr(m, t) for t in TIERS], dtype=np.float64)  # noqa: E731
    return {
        "op_price": tier_values(pv.outpatient_price), "ip_price": tier_values(pv.inpatient_price),
        "registration_fee": tier_values(pv.registration_fee), "los": tier_values(pv.length_of_stay),
        "fee_severity": np.array([getattr(pv.registration_fee_by_severity, s) for s in SEVERITIES]),
        "op_severity_cost": np.array([getattr(pv.outpatient_severity_cost, s) for s in SEVERITIES]),
        "ip_severity_cost": np.array([getattr(pv.inpatient_severity_cost, s) for s in SEVERITIES]),
        "ip_place_factor": place_price_factor(params),
        "drug_cost": pv.chronic_drug_cost_per_day,
    }


def place_price_factor(params: Scenario) -> np.ndarray:
    """The price level of admissions by place (PLACES), over the tier's price: 1 in the county."""
    factor = params.providers.inpatient_price_factor
    return np.array([1.0] + [getattr(factor, p) for p in PLACES[1:]], dtype=np.float64)


def travel_hours(world: World) -> np.ndarray:
    """(settlements, facilities) hours of travel; a facility not among a settlement's options
    (reached by referral) counts the mean time of the settlements that have it."""
    hours = np.full((len(world.choice), world.n_facilities), np.nan)
    rows, cols = np.nonzero(world.choice >= 0)
    hours[rows, world.choice[rows, cols]] = world.travel_minutes[rows, cols] / 60.0
    known = ~np.isnan(hours)
    mean = np.where(known.any(axis=0), np.nansum(hours, axis=0) / np.maximum(known.sum(axis=0), 1), 0.0)
    return np.where(known, hours, mean[None, :])


class Billing:
    """Prices bills, charges them to the fund and the patients, and settles the day's contacts."""

    episode_class = staticmethod(episode_class)
    CLASS_SHAPE = CLASS_SHAPE

    def __init__(self, people: Population, residents: Residents, fac: Facilities, world: World, ledger: Ledger,
                 accounts: PayerAccounts, streams=None):
        """`accounts`: the payers after the fund; `streams` draws critical bills (none: no heavy tail)."""
        self.people, self.residents, self.fac, self.world, self.ledger = people, residents, fac, world, ledger
        self.accounts, self.streams = accounts, streams
        self.contacts: list[Batch] = []  # today's visits and admissions to bill and learn from (see `settle`)
        self.fac_kind = facility_kind(world)
        self.travel_hours = travel_hours(world)
        self.tail_rng: np.random.Generator | None = None

    def configure(self, params: Scenario, tables: dict, rules: Rules) -> None:
        """Refresh what depends on the current parameters (called after each policy change)."""
        self.params, self.tables, self.rules = params, tables, rules
        self.rates = rate_table(rules)
        self.tier_caps = bool((rules.tier_cap < NO_CAP).any())
        self.expected_bill, self.expected_paid = self.expected_tables()
        # A gate inside the county: patients also weigh the referred route (see `Choice.slip_route`).
        self.expected_paid_referred = self.expected_tables(referred=1)[1] if rules.gated_outpatient.any() else None
        self.bill_terms = self.bill_tables()
        self.payer_rules = PayerRules.from_scenario(params, self.accounts.mean_income)
        self.accounts.configure(self.payer_rules)

    def expected_tables(self, referred: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The bill a patient expects and what they expect the fund to pay, by episode class
        and kind of facility (`facility_kind`).

        Patients go by the headline terms: the rate that applies to them (unreferred, or
        `referred` for a route through a referral slip), the
        deductible of an admission, and an annual outpatient deductible spread over
        `deductible_spread_visits` visits. They do not track how much of their own annual
        deductible is used, so choices carry little insurance-year seasonality; they do know
        when an annual cap is used up (see `Choice.seek`). Bills are exact (see `charge`).
        """
        sch, inpatient, chronic, severity, signed, tier, grade, place = every_combination(*CLASS_SHAPE, *KIND_SHAPE)
        amount, fee = self.amount(tier, inpatient.astype(bool), severity, chronic.astype(bool), signed.astype(bool),
                                  place)
        rate = self.rates[sch, inpatient, tier, grade, place, referred, signed, chronic]
        spread = np.where(inpatient == 1, 1.0, self.params.behaviour.choice.deductible_spread_visits)
        eligible = amount * self.rules.in_policy[sch]
        terms_place = self.rules.place_of[sch, place]
        deductible = self.rules.deductible[sch, inpatient, grade] * self.rules.deductible_multiplier[terms_place]
        paid = rate * np.maximum(eligible - deductible / spread, 0.0)
        paid = paid + fee_paid(fee, self.rules.fee_covered[sch, grade], rate, inpatient == 0)
        shape = (int(np.prod(CLASS_SHAPE)), KINDS)
        return (amount + fee).reshape(shape), paid.reshape(shape)

    def bill_tables(self) -> dict[str, np.ndarray]:
        """Prices and insurance terms of a bill, looked up once per episode class and kind of
        facility (`amount`, `fee`, `eligible`, `deductible`, `tier_cap` (the cap at the grade),
        `setting_cap`, flat index class x KINDS + kind), and the rate, also by referred
        (index x 2 + referred)."""
        rules = self.rules
        sch, inpatient, chronic, severity, signed, tier, grade, place, referred = every_combination(
            *CLASS_SHAPE, *KIND_SHAPE, 2)
        rate = self.rates[sch, inpatient, tier, grade, place, referred, signed, chronic]
        first = referred == 0  # one row per class and kind
        sch, inpatient, chronic, severity, signed, tier, grade, place = (
            x[first] for x in (sch, inpatient, chronic, severity, signed, tier, grade, place))
        amount, fee = self.amount(tier, inpatient.astype(bool), severity, chronic.astype(bool), signed.astype(bool),
                                  place)  # prices by where the hospital is; terms by the scheme's pooling (省级统筹)
        terms_place = rules.place_of[sch, place]
        return {"amount": amount, "fee": fee, "eligible": amount * rules.in_policy[sch],
                "deductible": rules.deductible[sch, inpatient, grade] * rules.deductible_multiplier[terms_place],
                "tier_cap": rules.tier_cap[sch, inpatient, grade], "setting_cap": rules.setting_cap[sch, inpatient],
                "fee_covered": np.where(inpatient == 0, rules.fee_covered[sch, grade], 0.0),
                "rate": rate}

    def amount(self, tier: np.ndarray, inpatient: np.ndarray, severity: np.ndarray, chronic: np.ndarray,
               signed: np.ndarray, place: np.ndarray | int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Reimbursable amount and registration fee of a visit or an admission (arrays broadcast);
        an admission's price is the tier's at the place's price level (`place_price_factor`)."""
        t = self.tables
        visit = t["op_price"][tier] * np.where(chronic, 0.5, t["op_severity_cost"][severity])
        visit = visit + np.where(chronic, self.supply_days(signed, tier) * t["drug_cost"], 0.0)
        stay = t["ip_price"][tier] * t["ip_severity_cost"][severity] * t["ip_place_factor"][place]
        senior = np.where(tier >= COUNTY, t["fee_severity"][np.where(chronic, 0, severity)], 1.0)  # hospitals' seniority
        fee = np.where(inpatient, 0.0, t["registration_fee"][tier] * senior)
        return np.where(inpatient, stay, visit), fee

    def supply_days(self, signed: np.ndarray, tier: np.ndarray) -> np.ndarray:
        """Days of chronic drugs per follow-up: long prescriptions for the signed at the grassroots."""
        p = self.params
        return np.where(signed & (tier <= TOWNSHIP), p.signing.benefits.long_prescription_days,
                        p.behaviour.chronic_followup_days)

    def quote(self, person, grade, setting, row, rate, waive, eligible=None):
        """What the fund pays for each bill, and the deductible it uses (no side effects).

        `row` indexes `bill_terms` (class x KINDS + kind); `grade` is the facility's (annual
        outpatient deductibles and caps are kept per grade); `setting` and `waive` (deductible
        waived: a downward referral continues a stay) are per bill.
        """
        ppl, terms = self.people, self.bill_terms
        deductible = terms["deductible"][row]
        left = np.where(waive, 0.0, np.where(setting == OUTPATIENT, deductible - ppl.deductible_paid[person, grade],
                                             deductible))
        cap_left = terms["setting_cap"][row] - ppl.reimbursed_setting[person, setting]
        if self.tier_caps:
            cap_left = np.minimum(terms["tier_cap"][row] - ppl.reimbursed[person, setting, grade], cap_left)
        return reimburse(terms["eligible"][row] if eligible is None else eligible, rate, left, cap_left)

    def contact_later(self, eps: Batch, flags: int | np.ndarray) -> None:
        """Queue contacts (visits, admissions) with their `Contact` flags; `settle` bills them
        and lets patients learn from them, all of the day's at once."""
        if len(eps):
            self.contacts.append(eps.replace(contact=flags))

    def settle(self, day: int, rng: np.random.Generator) -> None:
        """Bill the day's contacts and update trust from them, one contact per person: a
        person's second contact of the day is settled the next day (as a claim would be), so
        deductibles, caps and trust see the first. On the last day every contact is settled."""
        if not self.contacts:
            return
        eps, self.contacts = Batch.concat(self.contacts), []
        self.tail_rng = self.streams.get("payers", day) if self.streams is not None else None
        unique = day < self.params.days - 1
        if unique:
            now = self.residents.first_per_person(eps.person)
            if not now.all():
                eps, self.contacts = eps.take(now), [eps.take(~now)]
        flags = eps.contact
        setting = np.where(flags & Contact.INPATIENT, INPATIENT, OUTPATIENT)
        self.charge(eps, setting, (flags & Contact.WAIVED) > 0, unique)
        self.count_indirect(eps, setting == INPATIENT)
        learns = (flags & Contact.LEARN) > 0
        eps = eps if learns.all() else eps.take(learns)
        self.residents.learn(eps, self.fac.tier[eps.facility], self.fac.quality[eps.facility],
                             self.params.behaviour.trust, rng, unique)

    def count_indirect(self, eps: Batch, inpatient: np.ndarray) -> None:
        """Add contacts' indirect costs (trip, a companion's lodging and lost income over an
        admission; `IndirectCosts`) to the ledger, by setting and tier."""
        if len(eps) == 0:
            return
        costs, p, f = self.params.behaviour.indirect_costs, eps.person, eps.facility
        tier = self.fac.tier[f]
        cost = 2.0 * self.travel_hours[self.people.settlement[p], f] * costs.travel_per_hour  # the trip
        i = np.flatnonzero(inpatient)  # admissions add a companion's lodging and lost income
        if len(i):
            nights = self.tables["los"][tier[i]][:, None]
            lodging = np.where(self.world.fac_place[f[i]] > 0, nights[:, 0] * costs.lodging_per_night, 0.0)[:, None]
            cost[i] = indirect_cost(cost[i][:, None], lodging, nights, np.ones(len(i), dtype=bool),
                                    self.people.income[p[i]] / 365.0, costs.companion_income_share)[:, 0]
        self.ledger.add_by("indirect", inpatient * 4 + tier, cost)

    def charge(self, eps: Batch, setting: np.ndarray, waive: np.ndarray, unique: bool = False) -> None:
        """Bill episodes at their facility; split each bill between the basic fund, 大病保险, 医疗救助
        and the patient; update the payers, the patients and the ledger.

        A person billed twice in one batch is settled in rounds, so deductibles and caps are
        exact (`unique`: the caller knows each person has one bill).
        """
        if len(eps) == 0:
            return
        ppl, led, terms = self.people, self.ledger, self.bill_terms
        for rows in self.residents.rounds(eps.person, unique):
            whole = len(rows) == len(eps)
            e = eps if whole else eps.take(rows)
            st, wv = (setting, waive) if whole else (setting[rows], waive[rows])
            p, f = e.person, e.facility
            tier, grade = self.fac.tier[f], self.world.fac_grade[f]
            inpatient = st == INPATIENT
            sch = ppl.scheme[p]
            row = episode_class(sch, inpatient, e.chronic, e.severity, ppl.served[p]) * KINDS + self.fac_kind[f]
            rate = terms["rate"][row * 2 + (e.referred | self.registered(p, f, inpatient))]
            fee = terms["fee"][row]
            fee_fund = fee_paid(fee, terms["fee_covered"][row], rate, ~inpatient)
            amount, eligible = self.critical_tail(terms["amount"][row], terms["eligible"][row],
                                                  inpatient & (e.severity == 3) & ~wv)
            paid, used = self.quote(p, grade, st, row, rate, wv, eligible)
            general = self.chronic_special(p, sch, tier, ~inpatient & e.chronic, eligible, rate, paid, used)
            oop, serious = self.pay_after_fund(p, amount + fee - fee_fund, eligible, paid, st * 8 + tier * 2 + sch)
            led.add_by("oop_quintile", ppl.quintile[p], oop)
            led.add_by("oop_severity", np.where(e.chronic, CHRONIC, e.severity), oop)
            ded = ~inpatient & general & (used > 0)  # only outpatient deductibles are kept per year
            ppl.deductible_paid[p[ded], grade[ded]] += used[ded].astype(np.float32)
            counted = general & (paid > 0)  # 门诊慢特病 keeps its own accounts
            paid32 = paid[counted].astype(np.float32)
            ppl.reimbursed[p[counted], st[counted], grade[counted]] += paid32
            ppl.reimbursed_setting[p[counted], st[counted]] += paid32
            ppl.oop[p] += oop.astype(np.float32)
            out = inpatient & (tier == TERTIARY)
            ppl.ooc_inpatient_fund[p[out]] += (paid + serious)[out].astype(np.float32)  # 大病保险 is the fund's too
            severe = inpatient & (e.severity >= 2) & ~wv
            self.accounts.severe_admissions[p[severe]] += np.float32(1)
            add_counts(self.fac.revenue, f, amount + fee)
            led.add_by("billed", st * 4 + tier, amount + fee)
            cell = st * 8 + tier * 2 + sch
            led.add_by("reimbursed", cell, paid + fee_fund)
            led.add_by("oop", cell, oop)
            claimed = ~inpatient & (rate > 0)  # an unreferred visit at a gated tier: paid in cash, never claimed
            led.add_by("claims", (tier * 2 + sch)[claimed])

    def charge_slip_visits(self, person: np.ndarray, facility: np.ndarray, outcome: np.ndarray) -> None:
        """Bill visits made only to get a referral slip (a gate, `referral.required_at_county_hospital`):
        the facility's registration fee, paid by the patient; the visit is on the fund's records (a
        claim) though the fund pays nothing, and takes no treatment slot. `outcome`: severity, or CHRONIC."""
        if len(person) == 0:
            return
        ppl, led = self.people, self.ledger
        tier, sch = self.fac.tier[facility], ppl.scheme[person]
        fee = self.tables["registration_fee"][tier]
        led.add_by("visits", tier * 2 + sch)
        led.add_by("claims", tier * 2 + sch)
        led.add_by("billed", OUTPATIENT * 4 + tier, fee)
        led.add_by("oop", OUTPATIENT * 8 + tier * 2 + sch, fee)
        led.add_by("oop_quintile", ppl.quintile[person], fee)
        led.add_by("oop_severity", outcome, fee)
        ppl.oop[person] += fee.astype(np.float32)
        add_counts(self.fac.revenue, facility, fee)

    def critical_tail(self, amount: np.ndarray, eligible: np.ndarray,
                      critical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Amount and in-policy part of each bill, critical admissions' drawn from a heavy tail
        (a log-normal multiplier with mean 1, `providers.critical_bill_sigma`)."""
        sigma = self.payer_rules.tail_sigma
        if sigma > 0 and self.tail_rng is not None and critical.any():
            mult = np.ones(len(amount))
            mult[critical] = mean_one_lognormal(self.tail_rng.standard_normal(int(critical.sum())), sigma)
            amount, eligible = amount * mult, eligible * mult
        return amount, eligible

    def chronic_special(self, p, sch, tier, chronic_op, eligible, rate, paid, used) -> np.ndarray:
        """门诊慢特病: recognised patients' chronic outpatient bills are paid on the benefit's own
        terms (`paid` and `used` are replaced in place). Returns the bills on the general terms
        (False: counted against the benefit's deductible and cap, not the outpatient ones)."""
        acc, rules = self.accounts, self.payer_rules
        cs = chronic_op & acc.recognised[p]
        if not cs.any():
            return np.ones(len(p), dtype=bool)
        q, s = p[cs], sch[cs]
        paid_cs, used_cs = chronic_special_quote(eligible[cs], rate[cs], rules.cs_rate[s],
                                                 rules.cs_deductible[s] - acc.cs_deductible_paid[q],
                                                 rules.cs_cap[s] - acc.cs_paid[q])
        paid[cs], used[cs] = paid_cs, used_cs
        acc.cs_paid[q] += paid_cs
        acc.cs_deductible_paid[q] += used_cs.astype(np.float32)
        self.ledger.add_by("chronic_special", tier[cs] * 2 + s, paid_cs)
        return ~cs

    def registered(self, p: np.ndarray, f: np.ndarray, inpatient: np.ndarray) -> np.ndarray:
        """Admissions outside the pooling area that the resident registered (备案) beforehand: paid on
        the referred terms (医保发〔2022〕22号), whether or not a doctor wrote a referral slip."""
        registered = np.zeros(len(p), dtype=bool)
        i = np.flatnonzero(inpatient)
        if len(i):
            place = self.rules.place_of[self.people.scheme[p[i]], self.world.fac_place[f[i]]]
            share = self.rules.registered_share[place]
            registered[i] = self.accounts.registration_draw[p[i]] < share
        return registered

    def pay_after_fund(self, p, billed, eligible, paid, cell) -> tuple[np.ndarray, np.ndarray]:
        """大病保险 and 医疗救助 pay their parts of what the fund left; returns the out of pocket
        and what 大病保险 paid."""
        acc, rules = self.accounts, self.payer_rules
        billed, paid = np.asarray(billed, np.float64), np.asarray(paid, np.float64)
        qualifying = np.maximum(np.asarray(eligible, np.float64) - paid, 0.0)
        # Only the low-income and those crossing the 大病保险 threshold get anything: split just theirs.
        some = (acc.assist_rate[p] > 0) | (acc.si_qualifying[p] + qualifying > acc.si_threshold[p])
        serious, assistance, oop = np.zeros(len(p)), np.zeros(len(p)), billed - paid
        if some.any():
            q = p[some]
            sp = split_after_fund(billed[some], np.asarray(eligible, np.float64)[some], paid[some],
                                  acc.si_qualifying[q], acc.si_threshold[q], acc.si_rates[q], rules.si_edges,
                                  acc.assist_rate[q], rules.assist_deductible - acc.assist_deductible_paid[q],
                                  rules.assist_cap - acc.assist_paid[q])
            serious[some], assistance[some], oop[some] = sp.serious_illness, sp.assistance, sp.oop
            acc.assist_deductible_paid[q] += sp.assist_deductible_used.astype(np.float32)
            acc.assist_paid[q] += sp.assistance
        spent = qualifying > 0
        acc.si_qualifying[p[spent]] += qualifying[spent]
        self.ledger.add_by("serious_illness", cell, serious)
        self.ledger.add_by("assistance", cell, assistance)
        return oop, serious
