"""What every provider agent shares: its index, its node on the referral graph, its state."""

from __future__ import annotations

import mesa
from mesa.discrete_space import FixedAgent

from sim.scenario.schema import TIERS


class Facility(FixedAgent):
    """A care provider, fixed on its node's cell of `model.network`; subclasses name the tier."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index
        self.node = model.world.fac_id[index]  # its node in model.world.graph
        self.cell = model.network[self.node]

    @property
    def name(self) -> str:
        """Display name."""
        return self.model.world.fac_name[self.index]

    @property
    def tier(self) -> str:
        """Tier name."""
        return TIERS[self.model.fac.tier[self.index]]

    @property
    def capacity(self) -> float:
        """Outpatient visits per day (agent units)."""
        return float(self.model.fac.capacity[self.index])

    @property
    def beds(self) -> int:
        """Beds (agent units)."""
        return int(self.model.fac.beds[self.index])

    @property
    def occupied_beds(self) -> int:
        """Beds in use now."""
        return int(self.model.fac.occupied[self.index])

    @property
    def quality(self) -> float:
        """Actual quality now (0-1)."""
        return float(self.model.fac.quality[self.index])

    @property
    def capability(self) -> float:
        """Highest severity treated now (0 minor .. 3 critical)."""
        return float(self.model.fac.capability[self.index])

    @property
    def revenue(self) -> float:
        """Yuan billed since the run began (scaled to residents)."""
        return float(self.model.fac.revenue[self.index] * self.model.params.scale)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.node!r}, {self.name!r})"
