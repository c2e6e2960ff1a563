"""Hospitals that decide: the county hospital (head of the medical community) and tertiary hospitals.

Each reviews on its own cycle (`review`, called through the model's AgentSets on every day;
it acts only on its review days) and writes what it decides into the facility arrays
(sim/engine/facilities.py) that the day's flow reads.
"""

from __future__ import annotations

import numpy as np

from sim.county.world import COUNTY, TOWNSHIP
from sim.engine.agents.facility import Facility
from sim.engine.facilities import Facilities
from sim.scenario.schema import Scenario


def review_day(day: int, every: int) -> bool:
    """A review falls on days every, 2 x every, ... after day 0."""
    return day > 0 and day % every == 0


def payment_weight(own_fees: float, surplus_share: float, budget: bool) -> float:
    """The head's preference for keeping volume that its payment gives (0.5 at even terms).

    A case it keeps (rather than losing it out of county or sending it down) earns its own fees
    and, under a budget, the saving on out-of-county claims; a case it sends down earns its share
    of the saving and spares what fees do not pay. Weight = keep / (keep + down).
    """
    kept = surplus_share if budget else 0.0
    keep, down = own_fees + kept, kept + (1.0 - own_fees)
    return 0.5 if keep + down <= 0 else keep / (keep + down)


def keep_weight(p: Scenario) -> float:
    """`keep_volume_weight` moved by the head's payment terms (own fees, its share of the surplus)."""
    mc = p.medical_community
    budget = mc.enabled and mc.global_budget.enabled
    shift = payment_weight(mc.head.own_fees, mc.head.surplus_share, budget) - 0.5
    return float(np.clip(mc.head.keep_volume_weight + shift, 0.0, 1.0))


def absorption(capability: np.ndarray) -> float:
    """Share of the head's severe (level 2) cases its member centres can treat: what frees the
    head to keep cases it would send out of county (1 without members)."""
    return float(np.clip(capability - 1.0, 0.0, 1.0).mean()) if len(capability) else 1.0


def head_rules(fac: Facilities, p: Scenario, effort: float) -> None:
    """The head county hospital's rules at a given effort (1: the global budget's own rules).

    Under the budget it stretches `keep_in_county` x effort x 2w before referring out (without
    a budget, only as far as its fees make it prefer volume: x 2(w - 0.5)), scaled by what its
    member township centres can take of its severe cases (`absorption`); it refers down
    (1 + `down_referral_boost` x effort x 2(1-w)) times as often, w from `keep_weight`; it
    seconds 2(1-w) x the experts_* gains to member grassroots.
    """
    mc, gb = p.medical_community, p.medical_community.global_budget
    w = keep_weight(p)
    member = fac.world.fac_medical_community & mc.enabled
    head = member & (fac.tier == COUNTY)
    incentive = mc.enabled and gb.enabled
    drive = 2 * w if incentive else 2 * max(w - 0.5, 0.0)
    room = absorption(fac.capability[member & (fac.tier == TOWNSHIP)]) if mc.enabled else 1.0
    fac.stretch = np.where(head, min(gb.keep_in_county * effort * drive * room, 1.0) if mc.enabled else 0.0, 0.0)
    fac.down_boost = np.where(head, 1.0 + (gb.down_referral_boost * effort * 2 * (1 - w) if incentive else 0.0), 1.0)
    fac.secondment = np.where(member & (fac.tier < COUNTY), min(2 * (1 - w), mc.head.max_secondment), 1.0)


def budget_effort(balance_share: float, response: float, most: float) -> float:
    """How hard the head hospital works to save: 1 at a balanced budget, more in deficit, less in surplus."""
    return float(np.clip(1.0 - response * balance_share, 0.0, most))


def rehire(staff: float, share: float) -> float:
    """Staff after replacing `share` of those lost."""
    return staff + share * (1.0 - staff)


class CountyHospital(Facility):
    """A county-level hospital (县医院), head of the medical community.

    Under a global budget (总额付费、结余留用) it reads the community's running balance and
    sets how far it stretches before referring out and how much it refers down; its
    `keep_volume_weight`, moved by how it is paid (`keep_weight`), says which it prefers, and
    whether it grows its own clinics and beds when either is crowded (keeping volume) or seconds
    experts to the townships (sending it down).
    """

    effort = 1.0  # the last review's effort (1: the budget's own rules)

    def review(self, day: int) -> None:
        """Rehire lost staff; as head of a community, decide from the budget's running balance."""
        p, fac, i = self.model.params, self.model.fac, self.index
        mc = p.medical_community
        if review_day(day, p.providers.capacity_expansion.review_days):
            fac.staff[i] = rehire(fac.staff[i], p.providers.capacity_expansion.rehire)
        if not (mc.enabled and self.model.world.fac_medical_community[i] and review_day(day, mc.head.review_days)):
            return
        head = mc.head
        if mc.global_budget.enabled:
            share = self.model.community.balance_share(day)
            self.effort = budget_effort(share, head.budget_response, head.max_effort)
        head_rules(fac, p, self.effort)  # members' capability has moved with the ramp
        keep = 2.0 * (keep_weight(p) - 0.5)
        crowded = max(fac.load[i], fac.occupied[i] / max(fac.beds[i], 1))  # its clinics or its wards
        if keep > 0 and crowded > p.providers.capacity_expansion.utilisation_threshold:
            fac.expansion[i] = min(fac.expansion[i] * (1.0 + head.growth * keep), head.max_expansion)


class TertiaryHospital(Facility):
    """An out-of-county tertiary hospital (三级医院).

    Every `review_days` it looks at its demand and at its revenue per bed against other
    tertiary hospitals; where both are high it adds clinics and beds (up to the cap), and
    staffs part of them with senior doctors recruited from the county's hospitals and centres.
    """

    earned = 0.0           # revenue at the last review (agent units)
    revenue_per_bed = 0.0  # over the last review period

    def review(self, day: int) -> None:
        """Expand where demand and revenue per bed are high; recruit from the county."""
        ce = self.model.params.providers.capacity_expansion
        if not (ce.enabled and review_day(day, ce.review_days)):
            return
        fac, i = self.model.fac, self.index
        revenue = fac.revenue[i]
        self.revenue_per_bed = max(revenue - self.earned if revenue >= self.earned else revenue, 0.0) / max(
            fac.beds[i], 1)
        self.earned = revenue
        peers = self.model.agents_by_type[TertiaryHospital]
        mean = float(np.mean(peers.get("revenue_per_bed")))
        if fac.load[i] <= ce.utilisation_threshold or mean <= 0:
            return
        growth = ce.growth * min((self.revenue_per_bed / mean) ** ce.revenue_elasticity, 2.0)
        before = fac.expansion[i]
        fac.expansion[i] = min(before * (1.0 + growth), ce.max_multiplier)
        self.recruit(fac.base_capacity[i] * (fac.expansion[i] - before) * ce.recruitment)

    def recruit(self, capacity: float) -> None:
        """Take senior staff worth `capacity` visits a day from in-county hospitals and centres,
        in proportion to their size (their staff, so capacity and quality, fall)."""
        fac, w = self.model.fac, self.model.world
        lower = w.fac_in_county & (fac.tier >= TOWNSHIP) & (fac.tier <= COUNTY)
        pool = fac.base_capacity[lower].sum()
        if capacity > 0 and pool > 0:
            fac.staff[lower] = np.maximum(fac.staff[lower] - capacity / pool, 0.2)
