"""Family doctor signing (家庭医生签约): the policy target the family-doctor teams act toward.

The programme holds the target and its ramp; the teams (`FamilyDoctor` agents) sign their
own residents toward the day's goal as far as their panel allows (sim/engine/teams.py).
"""

from __future__ import annotations

from sim.engine.programmes.base import Programme
from sim.engine.residents import Residents
from sim.scenario.schema import Scenario


class Signing(Programme):
    """The signing target: from the rate on the ramp's first day to `target_rate` over `ramp_days`."""

    def __init__(self, residents: Residents):
        self.residents = residents
        self.start = (0, residents.signing_rate)  # the ramp's first day and the rate it starts from

    def on_change(self, old: Scenario, new: Scenario, day: int) -> None:
        """A new target or ramp starts from today's rate."""
        if (old.signing.target_rate, old.signing.ramp_days) != (new.signing.target_rate, new.signing.ramp_days):
            self.start = (day, self.residents.signing_rate)

    def goal_rate(self, day: int) -> float | None:
        """The share of residents the teams should have signed by `day` (None: nothing to do)."""
        sg = self.params.signing
        start_day, start_rate = self.start
        if day < 0 or sg.target_rate <= start_rate:
            return None
        progress = 1.0 if sg.ramp_days == 0 else min(1.0, (day - start_day + 1) / sg.ramp_days)
        return start_rate + (sg.target_rate - start_rate) * progress
