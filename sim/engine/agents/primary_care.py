"""Grassroots providers: family-doctor teams (village clinics) and township health centres."""

from __future__ import annotations

from sim.engine.agents.facility import Facility


class FamilyDoctor(Facility):
    """A village clinic's family-doctor team (家庭医生团队)."""


class TownshipHealthCentre(Facility):
    """A township health centre (乡镇卫生院) or the county seat's community health centre."""
