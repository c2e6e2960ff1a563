"""Grassroots providers: family-doctor teams (village clinics) and township health centres."""

from __future__ import annotations

from sim.engine.agents.facility import Facility


class FamilyDoctor(Facility):
    """A village clinic's family-doctor team (家庭医生团队)."""


class TownshipHealthCentre(Facility):
    """A township health centre (乡镇卫生院) or the county seat's community health centre.

    Its visit capacity and quality follow its senior staff (`fac.staff`): doctors recruited
    away by tertiary hospitals lower both; each review it replaces a share of those lost.
    """

    def review(self, day: int) -> None:
        """Replace a share of the staff lost (on the tertiary hospitals' review cycle)."""
        ce = self.model.params.providers.capacity_expansion
        if day > 0 and day % ce.review_days == 0:
            staff = self.model.fac.staff
            staff[self.index] += ce.rehire * (1.0 - staff[self.index])
