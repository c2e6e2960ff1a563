"""Facilities' state as arrays: capability, quality, capacity, beds, load, revenue, referrals.

Per-tier parameters come from the scenario's `providers`; values a planner supplied per
facility (CSV worlds) take precedence. The county medical community raises grassroots
quality and capability over its ramp; provider agents (sim/engine/agents) write what they
decide (expansion, staff, experts seconded, stretch and downward referral) into these arrays.
"""

from __future__ import annotations

import numpy as np

from sim.engine.behaviour import expected_wait_hours
from sim.scenario.schema import TIERS, Scenario
from sim.county.world import World

LOAD_SMOOTHING = 0.2  # weight of today's demand in the load patients expect


def by_tier(model, tier: np.ndarray) -> np.ndarray:
    """Spread a per-tier parameter group (e.g. providers.quality) onto facilities."""
    return np.array([getattr(model, t) for t in TIERS], dtype=np.float64)[tier]


def _override(values: np.ndarray, supplied: np.ndarray | None) -> np.ndarray:
    if supplied is None:
        return values
    return np.where(np.isnan(supplied), values, supplied)


class Facilities:
    """Every facility's current state, indexed like `world.fac_*`."""

    def __init__(self, world: World, scale: int):
        self.world = world
        self.scale = scale
        self.tier = world.fac_tier.astype(np.int64)
        n = len(self.tier)
        self.expansion = np.ones(n)          # tertiary capacity growth so far
        self.load = np.full(n, 0.7)          # smoothed demand / capacity
        self.backlog = np.zeros(n)           # patients waiting for a visit
        self.unused = np.zeros(n)            # visit capacity left over from earlier days (scale > 1 only)
        self.occupied = np.zeros(n, np.int64)
        self.revenue = np.zeros(n)           # yuan billed (agent units)
        self.visits = np.zeros(n)            # visits seen since day 0 (agent units)
        self.admissions = np.zeros(n)        # admissions since day 0 (agent units)
        self.quality = np.zeros(n)
        self.capability = np.zeros(n)
        self.quality_offset = np.zeros(n)    # facility's known difference from its tier
        self.base_quality = np.zeros(n)
        self.base_capability = np.zeros(n)
        self.capacity = np.zeros(n)
        self.beds = np.zeros(n, np.int64)
        self.base_wait = np.zeros(n)
        self.referral_codes = np.zeros(0, np.int64)  # (from * n_facilities + to) pairs seen so far
        self.referral_totals = np.zeros(0)           # referrals per pair (agent units)
        self.referral_pending: list[np.ndarray] = []  # codes not yet counted in
        # What provider agents decide (sim/engine/agents): the arrays the day's flow reads.
        self.stretch = np.zeros(n)           # severity levels a facility stretches before referring out
        self.down_boost = np.ones(n)         # multiplier of its downward referrals
        self.staff = np.ones(n)              # senior staff left, share of the start (recruitment lowers it)
        self.secondment = np.ones(n)         # experts seconded here, x the community's experts_* gains
        self.formal_share = np.zeros(n)      # share of cases beyond capability given a referral slip
        self.progress = 0.0                  # the medical community's ramp (0 .. 1)
        self.pinned: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # shared facilities' share (regions)
        self.demand = self.waiting = self.bed_demand = np.zeros(n)  # today's, for a region's coupling

    def configure(self, params: Scenario) -> None:
        """Apply a (new) parameter set: per-tier values, then the facility's own."""
        pv, w = params.providers, self.world
        tier_quality = by_tier(pv.quality, self.tier)
        self.base_quality = _override(tier_quality, w.fac_quality)
        self.quality_offset = self.base_quality - tier_quality
        # A telemedicine tie lets a facility treat slightly more severe cases (sim/county/routing.py, TIES).
        self.base_capability = _override(by_tier(pv.capability, self.tier), w.fac_capability) + w.fac_capability_gain
        per_1000 = w.fac_catchment / 1000.0 / self.scale
        self.base_capacity = _override(by_tier(pv.outpatient_capacity, self.tier) * per_1000,
                                       None if w.fac_capacity is None else w.fac_capacity / self.scale)
        self.base_beds = _override(by_tier(pv.beds, self.tier) * per_1000,
                                   None if w.fac_beds is None else w.fac_beds / self.scale)
        self.base_wait = by_tier(pv.base_wait_hours, self.tier)
        member = w.fac_medical_community & (self.tier <= 2) & params.medical_community.enabled
        self.formal_share = np.where(member, params.medical_community.formal_share, params.referral.formal_share)
        self.strengthen(params, self.progress)

    def _resize(self) -> None:
        self.own_capacity = self.base_capacity * self.expansion * self.staff
        self.own_beds = np.round(self.base_beds * self.expansion).astype(np.int64)
        self.capacity, self.beds = self.own_capacity, self.own_beds
        if self.pinned is not None:
            index, capacity, beds = self.pinned
            self.capacity, self.beds = self.own_capacity.copy(), self.own_beds.copy()
            self.capacity[index], self.beds[index] = capacity, beds
        self.capacity_by_tier = self.by_tier(self.capacity)  # for the daily ledger
        self.beds_by_tier = self.by_tier(self.beds)

    def pin(self, index: np.ndarray, capacity: np.ndarray, beds: np.ndarray) -> None:
        """Hold the capacity and beds of facilities shared with other areas at the share a region
        gives this area (sim/region/coupling.py), whatever this area's own copy would have."""
        self.pinned = (np.asarray(index), np.asarray(capacity, np.float64), np.asarray(beds, np.int64))
        self._resize()

    def by_tier(self, per_facility: np.ndarray) -> np.ndarray:
        """Sum a facility array by tier."""
        return np.bincount(self.tier, weights=per_facility, minlength=len(TIERS))

    def strengthen(self, params: Scenario, progress: float) -> None:
        """Medical community (紧密型县域医共体): experts sent down, telemedicine and shared labs.

        Gains reach member village clinics, township centres and the county hospital in
        proportion to `progress` (0 at the start, 1 after the ramp); experts' gains at the
        grassroots also scale with what the head hospital seconds (`secondment`).
        """
        self.params, self.progress = params, progress
        self.refresh()

    def refresh(self) -> None:
        """Recompute quality, capability, capacity and beds from the community's gains, the
        experts seconded, staff left and expansion (after the agents decide)."""
        mc = self.params.medical_community
        gain_q = np.zeros(len(self.tier))
        gain_c = np.zeros(len(self.tier))
        if mc.enabled and self.progress > 0:
            member = self.world.fac_medical_community & (self.tier <= 2)
            for tier_index, name in ((0, "village"), (1, "township"), (2, "county")):
                sel = member & (self.tier == tier_index)
                sent = self.secondment[sel] if tier_index < 2 else 1.0
                gain_q[sel] = getattr(mc.experts_quality, name) * sent + getattr(mc.shared_labs_quality, name)
                gain_c[sel] = getattr(mc.experts_capability, name) * sent + getattr(mc.telemedicine_capability, name)
        self.quality = np.clip((self.base_quality + self.progress * gain_q) * self.staff, 0.0, 1.0)
        self.capability = np.clip(self.base_capability + self.progress * gain_c, 0.0, 3.0)
        self._resize()

    def visit_slots(self) -> np.ndarray:
        """Visits each facility can give today, in agents.

        At full resolution, one day's capacity. When one agent stands for k residents,
        arrivals come in lumps of k: over k days a facility sees as many agents as it sees
        residents in one day at full resolution, with the same relative variation. So
        capacity is pooled over k days: what goes unused carries over, up to k days' worth,
        and the chance that a lump finds the facility full is as at full resolution.
        """
        if self.scale == 1:
            return self.capacity
        return np.minimum(self.unused + self.capacity, self.scale * self.capacity)

    def use_slots(self, slots: np.ndarray, seen_at: np.ndarray) -> None:
        """Carry today's unused visit slots over (`seen_at`: the facility of each visit seen; see
        `visit_slots`)."""
        if self.scale > 1:
            self.unused = np.maximum(slots - np.bincount(seen_at, minlength=len(slots)), 0.0)

    def observe(self, demand: np.ndarray, waiting: np.ndarray) -> None:
        """Update the load and backlog patients will expect tomorrow."""
        self.demand, self.waiting = demand, waiting
        cap = np.maximum(self.capacity, 1e-9)
        self.load = (1 - LOAD_SMOOTHING) * self.load + LOAD_SMOOTHING * demand / cap
        self.backlog = waiting / cap

    def wait_hours(self) -> np.ndarray:
        """Expected waiting time at each facility, in hours."""
        return expected_wait_hours(self.base_wait, self.load, self.backlog)

    def count_referrals(self, source: np.ndarray, target: np.ndarray, day: int, formal: bool = True) -> None:
        """Count referrals per (from, to) facility pair from day 0 on, for the referral network figure;
        self-referrals (`formal=False`) are kept apart."""
        if len(source) and day >= 0:
            n = self.world.n_facilities
            self.referral_pending.append((0 if formal else n * n) + source.astype(np.int64) * n + target)
            if len(self.referral_pending) >= 60:  # aggregate as we go: keep counts, not records
                self._compact_referrals()

    def _compact_referrals(self) -> None:
        codes = np.concatenate([self.referral_codes] + self.referral_pending)
        weights = np.concatenate([self.referral_totals, np.ones(len(codes) - len(self.referral_codes))])
        self.referral_codes, inverse = np.unique(codes, return_inverse=True)
        self.referral_totals = np.bincount(inverse, weights=weights)
        self.referral_pending = []

    def referral_counts(self, formal: bool = True) -> dict[tuple[int, int], int]:
        """Referrals since day 0 per (from, to) facility pair (agent units): formal ones, or
        self-referrals (`formal=False`)."""
        self._compact_referrals()
        n = self.world.n_facilities
        keep = self.referral_codes // (n * n) == (0 if formal else 1)
        codes = self.referral_codes[keep] % (n * n)
        return {(int(c // n), int(c % n)): int(k) for c, k in zip(codes, self.referral_totals[keep])}
