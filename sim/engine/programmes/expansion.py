"""Tertiary capacity expansion: crowded tertiary hospitals add clinics and beds."""

from __future__ import annotations

from sim.engine.facilities import Facilities
from sim.engine.programmes.base import Programme


class CapacityExpansion(Programme):
    """Reviews tertiary capacity against demand every `review_days` (when the lever is on)."""

    def __init__(self, fac: Facilities):
        self.fac = fac

    def step(self, day: int) -> None:
        """Expand crowded tertiary hospitals on review days."""
        ce = self.params.providers.capacity_expansion
        if ce.enabled and day > 0 and day % ce.review_days == 0:
            self.fac.expand(self.params)
