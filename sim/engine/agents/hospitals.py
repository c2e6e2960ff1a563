"""Hospitals: the county hospital (head of the medical community) and tertiary hospitals."""

from __future__ import annotations

from sim.engine.agents.facility import Facility


class CountyHospital(Facility):
    """A county-level hospital (县医院), head of the medical community."""


class TertiaryHospital(Facility):
    """An out-of-county tertiary hospital (三级医院)."""
