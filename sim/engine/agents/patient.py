"""A resident as a Mesa agent: a view onto its row of the population arrays."""

from __future__ import annotations

import mesa

from sim.scenario.schema import SCHEMES, TIERS


class Patient(mesa.Agent):
    """A resident of the county (one agent may stand for `scale` residents)."""

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index

    @classmethod
    def view(cls, model: mesa.Model, index: int) -> "Patient":
        """The same view without registering an agent (models built with `agents=False`)."""
        view = cls.__new__(cls)
        view.model, view.index, view.unique_id = model, index, None
        return view

    @property
    def cell(self):
        """The Network cell of the home settlement's node (residents are not registered in cells)."""
        return self.model.network[self.model.world.set_id[int(self.model.people.settlement[self.index])]]

    @property
    def served(self) -> bool:
        """Signed and actually served by the family-doctor team (履约)."""
        return bool(self.model.people.served[self.index])

    @property
    def journey(self) -> list[dict]:
        """Recorded episodes (only once followed, see `TierFlowModel.follow`)."""
        return self.model.journey(self.index)

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
