"""Grassroots providers: family-doctor teams (village clinics) and township health centres."""

from __future__ import annotations

from sim.engine.agents.facility import Facility


class FamilyDoctor(Facility):
    """A village clinic's family-doctor team (家庭医生团队): signs its catchment's residents
    toward the policy target within its panel, and serves them as far as its capacity allows
    (state in `model.teams`, sim/engine/teams.py)."""

    def sign(self, day: int, goal_rate: float | None = None) -> int:
        """Ask to sign residents toward `goal_rate` (default: the programme's goal for `day`); the model
        carries out the day's requests of all teams together (`Teams.settle`)."""
        if goal_rate is None:
            goal_rate = self.model.signing.goal_rate(day)
            if goal_rate is None:
                return 0
        return self.model.teams.sign(self.index, goal_rate)

    @property
    def panel(self) -> int:
        """Signed residents on the team's panel (agent units)."""
        return int(self.model.teams.panel[self.index])

    @property
    def panel_capacity(self) -> float:
        """Residents the team can serve (members x panel per member, agent units)."""
        return float(self.model.teams.capacity[self.index])

    @property
    def delivery(self) -> float:
        """Share of its signed residents the team actually serves (履约率)."""
        return float(self.model.teams.delivery[self.index])


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
