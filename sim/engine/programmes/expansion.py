"""Providers that act: hospitals and township centres review demand, money and staff.

The decisions are the facility agents' own (sim/engine/agents): tertiary hospitals expand
and recruit, the county hospital heads the medical community, township centres rehire.
This programme calls them through the model's AgentSets in that order, then has the
facility arrays recomputed.
"""

from __future__ import annotations

from sim.engine.agents import CountyHospital, TertiaryHospital, TownshipHealthCentre
from sim.engine.facilities import Facilities
from sim.engine.programmes.base import Programme

REVIEW_ORDER = (TertiaryHospital, CountyHospital, TownshipHealthCentre)


class ProviderReviews(Programme):
    """Steps the facility agents' `review` on days when any of their cycles falls."""

    def __init__(self, fac: Facilities, agents_by_type: dict):
        self.fac, self.agents_by_type = fac, agents_by_type  # the model's live AgentSets by class

    def step(self, day: int) -> None:
        """Run the reviews due today (tertiary first: recruitment then shows at the county)."""
        p = self.params
        cycles = (p.providers.capacity_expansion.review_days, p.medical_community.head.review_days)
        if day <= 0 or all(day % every for every in cycles):
            return
        for cls in REVIEW_ORDER:
            if cls in self.agents_by_type:
                self.agents_by_type[cls].do("review", day)
        self.fac.refresh()
