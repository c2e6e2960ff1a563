"""Mesa agents: residents and providers, as views onto the model's arrays.

Every resident is a `Patient` and every facility an agent of its tier's class, reachable
through `model.agents_by_type`. Their state lives in numpy arrays (sim/population.py,
sim/facilities.py) so that the day's decisions run for all episodes at once; an agent
reads and shows its own row, which is what a user inspecting one resident needs.
"""

from __future__ import annotations

import mesa

from sim.scenario.schema import SCHEMES, TIERS


class Patient(mesa.Agent):
    """A resident of the county (one agent may stand for `scale` residents)."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def age(self) -> int:
        """Age in years."""
        return int(self.model.people.age[self.index])

    @property
    def scheme(self) -> str:
        """Insurance scheme: 'resident' or 'employee'."""
        return SCHEMES[self.model.people.scheme[self.index]]

    @property
    def income(self) -> float:
        """Annual disposable income, yuan."""
        return float(self.model.people.income[self.index])

    @property
    def chronic(self) -> bool:
        """Has hypertension or diabetes."""
        return bool(self.model.people.chronic[self.index])

    @property
    def signed(self) -> bool:
        """Has signed with a family doctor."""
        return bool(self.model.people.signed[self.index])

    @property
    def settlement(self) -> str:
        """Home settlement id."""
        return self.model.world.set_id[int(self.model.people.settlement[self.index])]

    @property
    def trust(self) -> dict[str, float]:
        """Perceived quality of each tier."""
        return dict(zip(TIERS, map(float, self.model.people.trust[self.index])))

    @property
    def out_of_pocket(self) -> float:
        """Out-of-pocket spending since the run began, yuan."""
        return float(self.model.people.oop[self.index])

    def __repr__(self) -> str:
        return (f"Patient({self.index}, age={self.age}, {self.scheme}, chronic={self.chronic}, "
                f"signed={self.signed}, settlement={self.settlement})")


class Facility(mesa.Agent):
    """A care provider; subclasses name the tier."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index
        self.node = model.world.fac_id[index]  # its node in model.world.graph

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


class FamilyDoctor(Facility):
    """A village clinic's family-doctor team (家庭医生团队)."""


class TownshipHealthCentre(Facility):
    """A township health centre (乡镇卫生院) or the county seat's community health centre."""


class CountyHospital(Facility):
    """A county-level hospital (县医院), head of the medical community."""


class TertiaryHospital(Facility):
    """An out-of-county tertiary hospital (三级医院)."""


FACILITY_CLASSES = (FamilyDoctor, TownshipHealthCentre, CountyHospital, TertiaryHospital)
