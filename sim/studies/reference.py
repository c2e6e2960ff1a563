"""The engine's rules written the idiomatic Mesa way: every agent decides in its own `step()`.

The yardstick for the engine (bench/bench_engine.py) and a check on it (tests/test_reference_equivalence.py): each
`Patient` draws its illness and chooses in plain Python, each provider serves its own queue; set-up code is the engine's.
Not covered: a signing ramp, the chronic-care package, the medical community, tertiary expansion, CSV overrides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np

from sim.engine.flow import boosted, treatable
from sim.engine.episodes import CHRONIC, CHRONIC_CHOICE_SEVERITY, LOS_BY_SEVERITY
from sim.engine.insurance import INPATIENT, OUTPATIENT
from sim.engine.metrics import COLUMNS, INDEX, Ledger, PersonTotals, summarise
from sim.engine.model import TierFlowModel
from sim.engine.onset import MANAGED_WINDOW
from sim.studies.reference_payers import PayerAccounts
from sim.studies.reference_signing import first_contact
from sim.county.population import OLDER_BANDS
from sim.scenario.loader import Timeline
from sim.county.world import COUNTY, TERTIARY, TOWNSHIP, VILLAGE


@dataclass
class Episode:
    """One episode of illness or a chronic follow-up."""

    patient: "Patient"
    severity: int
    inpatient: bool
    chronic: bool
    first_tier: int = -1
    referred: bool = False
    waited: int = 0


class Patient(PayerAccounts, mesa.Agent):
    """A resident who falls ill and chooses where to go, on their own, each day."""

    def __init__(self, model: "ReferenceModel", i: int, engine: TierFlowModel):
        super().__init__(model)
        ppl, w = engine.people, engine.world
        self.i = i
        self.band = int(ppl.band[i])
        self.chronic = bool(ppl.chronic[i])
        self.in_care = bool(ppl.in_care[i])
        self.signed = bool(ppl.signed[i])
        self.scheme = int(ppl.scheme[i])
        self.income = float(ppl.income[i])
        self.quintile = int(ppl.quintile[i])
        s = int(ppl.settlement[i])
        self.options = [(int(f), int(w.fac_tier[f]), float(w.travel_minutes[s, k]) / 60.0, int(w.fac_grade[f]),
                         int(w.fac_place[f]), k < 2) for k, f in enumerate(w.choice[s]) if f >= 0]
        self.own_centre = int(w.own_township_centre[s])
        self.own_clinic = int(w.own_village_clinic[s])
        self.trust = [float(x) for x in ppl.trust[i]]
        self.last_followup = -10_000
        self.next_followup: int | None = None
        self.oop = 0.0  # out of pocket since day 0
        self.ooc = 0.0  # fund spending on this resident's out-of-county admissions
        self.severe = 0  # severe or critical admissions since day 0
        acc = engine.billing.accounts
        self.low_income, self.recognised = bool(acc.low_income[i]), bool(acc.recognised[i])
        self.registration_draw = float(acc.registration_draw[i])  # registers (备案) before an 异地 admission?
        self.reset_accounts()

    def reset_accounts(self) -> None:
        """Start the insurance year (and, on day 0, every account) from zero."""
        self.deductible_paid = [0.0] * 4
        self.reimbursed = [[0.0] * 4, [0.0] * 4]
        self.reset_payer_accounts()

    def step(self) -> None:
        """Fall ill (or have a follow-up due) and seek care."""
        m = self.model
        if self.random.random() < m.daily_rate[self.band * 2 + self.chronic]:
            m.count("episodes_acute")
            managed = self.last_followup >= m.day - MANAGED_WINDOW
            odds = m.older if self.band in OLDER_BANDS else 1.0
            odds *= (m.unmanaged if self.chronic and not managed else 1.0) * (
                1.0 - m.signed_reduction if self.chronic and self.signed else 1.0)
            severity = m.draw_severity(self.random.random(), odds)
            inpatient = self.random.random() < m.inpatient_probability[severity]
            self.seek(Episode(self, severity, inpatient, False))
        if self.next_followup == m.day:
            m.count("episodes_chronic")
            self.next_followup = None
            self.seek(Episode(self, 0, False, True))

    def seek(self, ep: Episode) -> None:
        """Choose a facility by multinomial logit, or forgo care."""
        m = self.model
        coef = m.engine.coef
        sev = CHRONIC_CHOICE_SEVERITY if ep.chronic else ep.severity
        cls = m.engine.billing.episode_class(np.array([self.scheme]), np.array([ep.inpatient]), np.array([ep.chronic]),
                                          np.array([ep.severity]), np.array([self.signed]))[0]
        utils, facilities = [], []
        costs = m.params.behaviour.indirect_costs
        for f, tier, hours, grade, place, own in self.options:
            if ep.inpatient and m.beds[f] <= 0:
                continue
            setting = int(ep.inpatient)
            rules = m.engine.rules
            cap_left = max(min(float(rules.setting_cap[self.scheme, setting]) - sum(self.reimbursed[setting]),
                               float(rules.tier_cap[self.scheme, setting, grade]) - self.reimbursed[setting][grade]), 0.0)
            code = int(m.engine.billing.fac_kind[f])
            oop = m.expected_bill[cls][code] - min(m.expected_paid[cls][code], cap_left)
            oop += 2.0 * hours * costs.travel_per_hour
            if ep.inpatient:
                nights = float(m.engine.tables["los"][tier])
                oop += nights * ((costs.lodging_per_night if place > 0 else 0.0)
                                 + costs.companion_income_share * self.income / 365.0)
            u = (coef.tier_constant[tier]
                 + (coef.employee_hospital_bonus if self.scheme == 1 and tier >= COUNTY else 0.0)
                 + (coef.tertiary_admission if ep.inpatient and tier == TERTIARY else 0.0)
                 + coef.quality[sev] * self.trust[tier]
                 - coef.travel[sev] * hours
                 - coef.cost * math.log1p(max(oop, 0.0) / max(self.income / 365.0, 1.0))
                 - coef.wait * m.wait_hours[f]
                 + (coef.family_doctor if self.signed and own else 0.0))
            utils.append(u)
            facilities.append(f)
        outcome = CHRONIC if ep.chronic else ep.severity
        utils.append(coef.forgo[outcome])
        top = max(utils)
        weights = [math.exp(u - top) for u in utils]
        draw = self.random.random() * sum(weights)
        pick, acc = len(weights) - 1, 0.0
        for k, wgt in enumerate(weights):
            acc += wgt
            if draw < acc:
                pick = k
                break
        pick = first_contact(m, self, ep, utils, facilities, pick)
        if pick == len(facilities):
            m.count(f"forgone_{_outcome_name(outcome)}")
            m.count(f"forgone_quintile_q{self.quintile + 1}")
            if ep.chronic:
                self.next_followup = m.day + m.followup_days
            return
        f = facilities[pick]
        ep.first_tier = m.tier[f]
        m.count(f"first_visits_{_TIERS[ep.first_tier]}")
        if ep.severity == 0 and not ep.chronic:
            m.count("minor_sought")
            if ep.first_tier == TERTIARY:
                m.count("minor_first_tertiary")
        m.providers[f].arrivals.append(ep)

    def learn(self, tier: int, outcome: float) -> None:
        """Move trust in a tier toward the latest experience."""
        self.trust[tier] += self.model.learning_rate * (outcome - self.trust[tier])

    def pay(self, tier: int, setting: int, amount: float, fee: float, grade: int, place: int, referred: bool,
            chronic: bool, waive: bool) -> tuple[float, float, float, float]:
        """Settle a bill (terms by the facility's grade and place) with the fund, 大病保险 and
        医疗救助; return (fund, serious illness, assistance, out of pocket)."""
        m = self.model
        rules = m.engine.rules
        terms_place = int(rules.place_of[self.scheme, place])
        registered = setting == INPATIENT and self.registration_draw < float(rules.registered_share[terms_place])
        rate = float(m.rates[self.scheme, setting, tier, grade, place, int(referred or registered), int(self.signed),
                             int(chronic)])
        amount_in_policy = amount * float(rules.in_policy[self.scheme])
        if setting == OUTPATIENT and chronic and self.recognised:
            paid = self.pay_chronic_special(amount_in_policy, rate)
        else:
            paid = self.pay_fund(grade, setting, amount_in_policy, rate, waive, place)
        qualifying = max(amount_in_policy - paid, 0.0)
        serious = min(self.pay_serious_illness(qualifying), qualifying)
        assist = self.pay_assistance(qualifying - serious)
        return paid, serious, assist, amount + fee - paid - serious - assist


_TIERS = ("village", "township", "county", "tertiary")


def _outcome_name(outcome: int) -> str:
    return ("minor", "moderate", "severe", "critical", "chronic")[outcome]


class Provider(mesa.Agent):
    """A facility that serves its own queue each day, in its own `step()`."""

    def __init__(self, model: "ReferenceModel", f: int):
        super().__init__(model)
        self.f = f
        self.tier = model.tier[f]
        self.arrivals: list[Episode] = []
        self.transfers: list[Episode] = []  # referred here today, seen tomorrow
        self.waiting: list[Episode] = []   # waiting for a visit
        self.bed_queue: list[Episode] = []  # seen, waiting for a bed
        self.demand = 0
        self.visits = self.admissions = 0
        self.revenue = 0.0

    def step(self) -> None:
        """See patients within capacity; treat, refer up or admit them."""
        m = self.model
        queue = self.waiting + self.arrivals
        self.arrivals, self.waiting = self.transfers, []
        self.transfers = []
        self.demand += len(queue)
        signed_first = m.engine.params.signing.benefits.priority_referral

        def priority(ep: Episode) -> float:
            if ep.referred and signed_first and ep.patient.signed:
                rank = 0.0
            elif ep.waited > 0:
                rank = 1.0
            elif ep.referred:
                rank = 2.0
            else:
                rank = 3.0
            return rank + self.random.random()
        if len(queue) - 1 >= m.remaining[self.f]:
            queue.sort(key=priority)
        for ep in queue:
            if m.remaining[self.f] > 0:
                m.remaining[self.f] -= 1
                self.examine(ep)
            else:
                self.waiting.append(ep)
        self.admit_from_queue()

    def examine(self, ep: Episode) -> None:
        m = self.model
        m.count(f"visits_{_TIERS[self.tier]}_{('resident', 'employee')[ep.patient.scheme]}")
        self.visits += 1
        capability = m.capability[self.f] + m.engine.fac.stretch[self.f]
        ok = self.random.random() < min(max(capability - ep.severity + 1.0, 0.0), 1.0)
        ok = ok and not (ep.inpatient and m.beds[self.f] <= 0)
        up = m.referral_up[self.f]
        refer = not ok and up >= 0
        if not ep.inpatient or refer:
            m.bill(ep, self.f, OUTPATIENT)
        if refer:  # a referral slip, or told to go elsewhere (a self-referral, unreferred)
            formal = self.random.random() < m.engine.fac.formal_share[self.f]
            m.count(f"{'referrals_up' if formal else 'self_referrals'}_{_TIERS[self.tier]}")
            if formal:
                m.referral_pairs[(self.f, up)] = m.referral_pairs.get((self.f, up), 0) + 1
            ep.patient.learn(self.tier, m.referred_outcome)
            ep.referred, ep.waited = formal, 0
            m.providers[up].transfers.append(ep)  # seen at the next tier tomorrow
            return
        if ep.inpatient:
            self.bed_queue.append(ep)
            return
        m.count("treated_outpatient")
        m.count(f"flow_{_TIERS[ep.first_tier]}_{_TIERS[self.tier]}")
        m.experience(ep, self.f)
        if ep.chronic:
            p = ep.patient
            long_rx = p.signed and self.tier <= TOWNSHIP
            p.next_followup = m.day + (m.long_rx_days if long_rx else m.followup_days)
            if self.tier <= TOWNSHIP:
                p.last_followup = m.day
            elif m.down.enabled and self.random.random() < m.down.chronic * boosted(m.engine.fac.down_boost[self.f], (
                    treatable(m.capability[p.own_clinic], ep.severity) if p.own_clinic >= 0 else 1.0)):
                m.count("referrals_down_chronic")
                p.trust[VILLAGE] += 0.5 * (1.0 - p.trust[VILLAGE])

    def admit_from_queue(self) -> None:
        m = self.model
        if not self.bed_queue:
            return
        free = m.beds[self.f] - m.occupied[self.f]
        if len(self.bed_queue) > free:
            signed_first = m.engine.params.signing.benefits.priority_referral
            self.bed_queue.sort(key=lambda ep: 2.0 * (not (signed_first and ep.referred and ep.patient.signed))
                                + (ep.waited == 0) + self.random.random() - ep.severity)
        admitted, self.bed_queue = self.bed_queue[:max(free, 0)], self.bed_queue[max(free, 0):]
        for ep in admitted:
            m.admit(ep, self.f, rehab=False)


class ReferenceModel(mesa.Model):
    """The idiomatic per-agent model: `shuffle_do("step")` for patients, then providers by tier."""

    def __init__(self, timeline: Timeline):
        engine = TierFlowModel(timeline, agents=False)  # set-up only: county, residents, tables
        params = engine.params
        super().__init__(rng=params.seed)
        self.engine = engine
        self.params = params
        self.warmup = params.warmup_days
        self.day = -self.warmup
        self.ledger = Ledger(params.days, params.scale, self.warmup)
        self.tier = [int(t) for t in engine.world.fac_tier]
        self.capacity = engine.fac.capacity.tolist()
        self.beds = [int(b) for b in engine.fac.beds]
        self.capability = engine.fac.capability.tolist()
        self.quality = engine.fac.quality.tolist()
        self.base_wait = engine.fac.base_wait.tolist()
        self.referral_up = [int(u) for u in engine.world.referral_up]
        self.occupied = [0] * len(self.tier)
        self.load = [0.7] * len(self.tier)
        self.wait_hours = [0.0] * len(self.tier)
        self.rates = engine.billing.rates
        self.expected_bill = engine.billing.expected_bill.tolist()
        self.expected_paid = engine.billing.expected_paid.tolist()
        b = params.behaviour
        self.daily_rate = (engine.onset.rates / 365.0).tolist()
        self.severity_cdf = np.cumsum(engine.onset.severity_shares).tolist()
        self.shares = engine.onset.severity_shares.tolist()
        self.inpatient_probability = engine.onset.inpatient_probability.tolist()
        self.older, self.unmanaged = b.older_severity_multiplier, b.unmanaged_complication_multiplier
        self.signed_reduction = params.signing.benefits.complication_reduction
        self.followup_days = b.chronic_followup_days
        self.long_rx_days = params.signing.benefits.long_prescription_days
        self.learning_rate = b.trust.learning_rate
        self.referred_outcome = b.trust.referred_outcome
        self.waiting_penalty = b.trust.waiting_penalty
        self.renege = b.renege_probability
        self.down = params.referral.downward
        self.discharges: dict[int, list[tuple[Episode, int, bool]]] = {}
        self.referral_pairs: dict[tuple[int, int], int] = {}
        self.patients = [Patient(self, i, engine) for i in range(engine.people.n)]
        for day, chunks in engine.onset.calendar.items():
            for chunk in chunks:
                for i in chunk:
                    self.patients[int(i)].next_followup = day
        self.providers = [Provider(self, f) for f in range(len(self.tier))]
        self.providers_by_tier = [mesa.agent.AgentSet([p for p in self.providers if p.tier == t], random=self.random)
                                  for t in range(4)]
        self.first_county = engine.flow.first_county

    # -- the day
    def step(self) -> None:
        """One day: discharges, every patient's step, then every provider's, tier by tier."""
        if self.day == 0:
            for p in self.patients:
                p.reset_accounts()
                p.oop = 0.0
                p.ooc = 0.0
                p.severe = 0
            for pr in self.providers:
                pr.visits = pr.admissions = 0
                pr.revenue = 0.0
            self.referral_pairs = {}
        elif self.day > 0 and self.day % 365 == 0:
            for p in self.patients:
                p.reset_accounts()
        self.remaining = list(self.capacity)
        self.discharge()
        self.agents_by_type[Patient].shuffle_do("step")
        for providers in self.providers_by_tier:
            providers.shuffle_do("step")
        self.end_of_day()
        self.day += 1

    def run(self) -> "ReferenceModel":
        """Run the warm-up and every day of the scenario."""
        while self.day < self.params.days:
            self.step()
        return self

    def count(self, column: str, value: float = 1.0) -> None:
        """Add to today's ledger row (scaled like the engine's)."""
        self.ledger.row[INDEX[column]] += value * self.params.scale

    def draw_severity(self, u: float, odds: float) -> int:
        """Inverse-CDF severity with the odds of severe/critical scaled (as the engine)."""
        s = self.shares
        p_high = s[2] + s[3]
        high = odds * p_high / (1 - p_high + odds * p_high)
        lo, hi = (1 - high) / (1 - p_high), high / p_high
        c0 = s[0] * lo
        c1 = c0 + s[1] * lo
        c2 = c1 + s[2] * hi
        return int(u >= c0) + int(u >= c1) + int(u >= c2)

    def bill(self, ep: Episode, f: int, setting: int, waive: bool = False) -> None:
        """Price a visit or an admission and settle it with the insurance."""
        p = ep.patient
        tier = self.tier[f]
        t = self.engine.tables
        if setting == INPATIENT:
            place = int(self.engine.world.fac_place[f])
            amount, fee = t["ip_price"][tier] * t["ip_severity_cost"][ep.severity] * t["ip_place_factor"][place], 0.0
        elif ep.chronic:
            supply = self.long_rx_days if (p.signed and tier <= TOWNSHIP) else self.followup_days
            amount = t["op_price"][tier] * 0.5 + supply * t["drug_cost"]
            fee = t["registration_fee"][tier]
        else:
            amount, fee = t["op_price"][tier] * t["op_severity_cost"][ep.severity], t["registration_fee"][tier]
            fee *= t["fee_severity"][ep.severity] if tier >= COUNTY else 1.0  # seniority fees at hospitals
        sigma = self.engine.billing.payer_rules.tail_sigma
        if setting == INPATIENT and ep.severity == 3 and not waive and sigma > 0:
            amount *= math.exp(sigma * self.random.gauss(0.0, 1.0) - 0.5 * sigma * sigma)
        if setting == INPATIENT and ep.severity >= 2 and not waive:
            p.severe += 1
        w = self.engine.world
        paid, serious, assist, oop = p.pay(tier, setting, amount, fee, int(w.fac_grade[f]), int(w.fac_place[f]),
                                           ep.referred, ep.chronic, waive)
        scheme = ("resident", "employee")[p.scheme]
        name = (_TIERS[tier], scheme)
        self.count(f"serious_illness_{('outpatient', 'inpatient')[setting]}_{name[0]}_{name[1]}", serious)
        self.count(f"assistance_{('outpatient', 'inpatient')[setting]}_{name[0]}_{name[1]}", assist)
        if setting == OUTPATIENT and ep.chronic and p.recognised:
            self.count(f"chronic_special_{name[0]}_{name[1]}", paid)
        self.count(f"billed_{('outpatient', 'inpatient')[setting]}_{name[0]}", amount + fee)
        self.count(f"reimbursed_{('outpatient', 'inpatient')[setting]}_{name[0]}_{name[1]}", paid)
        self.count(f"oop_{('outpatient', 'inpatient')[setting]}_{name[0]}_{name[1]}", oop)
        p.oop += oop
        self.providers[f].revenue += amount + fee
        self.count(f"oop_quintile_q{p.quintile + 1}", oop)
        self.count(f"oop_severity_{_outcome_name(CHRONIC if ep.chronic else ep.severity)}", oop)
        if setting == INPATIENT and tier == TERTIARY:
            p.ooc += paid + serious  # 大病保险 is the fund's too

    def experience(self, ep: Episode, f: int) -> None:
        """A visit or stay at f: good with the facility's quality, worse after waiting."""
        outcome = float(self.random.random() < self.quality[f]) - self.waiting_penalty * (ep.waited > 0)
        ep.patient.learn(self.tier[f], min(max(outcome, 0.0), 1.0))

    def admit(self, ep: Episode, f: int, rehab: bool) -> None:
        """Put a patient in a bed; book the discharge."""
        tier = self.tier[f]
        self.occupied[f] += 1
        self.providers[f].admissions += 1
        self.count(f"admissions_{_TIERS[tier]}_{('resident', 'employee')[ep.patient.scheme]}")
        self.bill(ep, f, INPATIENT, waive=rehab)
        if rehab:
            los = self.down.rehab_days
        else:
            self.count("treated_inpatient")
            self.count(f"flow_{_TIERS[ep.first_tier]}_{_TIERS[tier]}")
            self.experience(ep, f)
            los = self.engine.tables["los"][tier] * LOS_BY_SEVERITY[ep.severity]
        stay = 1 + int(self.rng.poisson(max(los - 1, 0)))
        self.discharges.setdefault(self.day + stay, []).append((ep, f, rehab))

    def discharge(self) -> None:
        """Free today's beds; send some patients down after the acute phase."""
        for ep, f, rehab in self.discharges.pop(self.day, []):
            self.occupied[f] -= 1
            tier = self.tier[f]
            if not self.down.enabled or rehab or tier < COUNTY:
                continue
            target = self.first_county if tier == TERTIARY else ep.patient.own_centre
            prob = (self.down.county if tier == COUNTY else self.down.tertiary) * boosted(
                self.engine.fac.down_boost[f], treatable(self.capability[max(target, 0)], ep.severity))
            if self.random.random() >= prob:
                continue
            if target >= 0 and self.occupied[target] < self.beds[target]:
                self.count("referrals_down_inpatient")
                self.referral_pairs[(f, target)] = self.referral_pairs.get((f, target), 0) + 1
                self.admit(Episode(ep.patient, ep.severity, True, False, referred=True), target, rehab=True)

    def end_of_day(self) -> None:
        """Waiting patients may give up; loads, states and premiums are recorded."""
        for pr in self.providers:
            for queue in (pr.waiting, pr.bed_queue):
                stay = []
                for ep in queue:
                    if self.random.random() < self.renege:
                        outcome = CHRONIC if ep.chronic else ep.severity
                        self.count(f"reneged_{_outcome_name(outcome)}")
                        self.count(f"forgone_quintile_q{ep.patient.quintile + 1}")
                        if ep.chronic:
                            ep.patient.next_followup = self.day + self.followup_days
                    else:
                        ep.waited += 1
                        self.count(f"wait_days_{_TIERS[pr.tier]}")
                        stay.append(ep)
                queue[:] = stay
            cap = max(self.capacity[pr.f], 1e-9)
            self.load[pr.f] = 0.8 * self.load[pr.f] + 0.2 * pr.demand / cap
            pr.demand = 0
            backlog = len(pr.waiting) / cap
            self.wait_hours[pr.f] = self.base_wait[pr.f] / (1 - min(self.load[pr.f], 0.95)) + 8.0 * backlog
        chronic = [p for p in self.patients if p.chronic]
        managed = sum(p.last_followup > self.day - MANAGED_WINDOW for p in chronic)
        self.ledger.row[INDEX["chronic_managed_rate"]] = managed / max(len(chronic), 1)
        self.ledger.row[INDEX["signing_rate"]] = sum(p.signed for p in self.patients) / len(self.patients)
        enrolled = np.bincount([p.scheme for p in self.patients], minlength=2)
        self.count("premiums", float(enrolled @ self.engine.rules.premium) / 365.0)
        self.ledger.day += 1

    def summary(self) -> dict:
        """Indicators computed by the engine's own summary function."""
        rows = self.ledger.rows[self.warmup:]
        daily = {c: rows[:, i] for i, c in enumerate(COLUMNS)}
        inc = self.params.population.income
        persons = PersonTotals(
            oop=np.array([p.oop for p in self.patients]), ooc_inpatient_fund=np.array([p.ooc for p in self.patients]),
            capacity_to_pay=np.array([p.income for p in self.patients]) * inc.capacity_to_pay_share,
            catastrophic_threshold=inc.catastrophic_threshold,
            income_quintile=np.array([p.quintile for p in self.patients]), scale=self.params.scale,
            severely_ill=np.array([p.severe > 0 for p in self.patients], dtype=bool))
        return summarise(daily, persons, len(self.patients) * self.params.scale)


__all__ = ["ReferenceModel"]
