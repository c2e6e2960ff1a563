"""The base of a policy programme."""

from __future__ import annotations

from sim.scenario.schema import Scenario


class Programme:
    """A policy lever acting on the county. The model calls, in this order: `configure` at
    set-up and after each dated change; `on_change` just before a dated change takes effect
    (still configured with the old parameters); `step` each day before care is sought, and
    `finish_step` each day after care is given."""

    params: Scenario

    def configure(self, params: Scenario) -> None:
        """Read the programme's parameters (at set-up and after each dated change)."""
        self.params = params

    def on_change(self, old: Scenario, new: Scenario, day: int) -> None:
        """React to a dated change from `old` to `new` on `day` (e.g. restart a ramp)."""

    def step(self, day: int) -> None:
        """Act on `day`, before residents fall ill and seek care."""

    def finish_step(self, day: int) -> None:
        """Act on `day`, after the day's care."""
