"""Family-doctor teams' panels as arrays: who belongs to which team, who is signed, who is served.

Each village clinic's team (`FamilyDoctor` agent, sim/engine/agents/primary_care.py) signs
the residents of its catchment (the settlements whose own clinic it is) in a fixed weighted
order, the old and the chronic first, up to what its members can serve. What a signed
resident gets (long prescriptions, priority referral, the grassroots bonus, the pull of the
own clinic, fewer complications) follows `Population.served`, not `signed`: when a team's
panel is over its capacity only a share `delivery[team]` of its signed residents is served
(履约), the same residents from day to day (those with the lowest `serve_draw`).
"""

from __future__ import annotations

import numpy as np

from sim.county.population import Population, signing_weights
from sim.county.world import World
from sim.engine.onset import Onset
from sim.engine.residents import Residents
from sim.scenario.schema import Scenario


def delivery_rate(capacity: np.ndarray, panel: np.ndarray, elasticity: float) -> np.ndarray:
    """Share of a team's signed residents it actually serves: 1 within capacity, falling as
    (capacity / panel) ** elasticity beyond it."""
    ratio = np.minimum(1.0, capacity / np.maximum(panel, 1e-9))
    return np.where(panel > capacity, ratio ** elasticity, 1.0)


class Teams:
    """Panels, capacity and delivery of every family-doctor team (indexed by facility)."""

    def __init__(self, people: Population, world: World, residents: Residents, onset: Onset,
                 rng: np.random.Generator):
        self.people, self.residents, self.onset = people, residents, onset
        n_fac = world.n_facilities
        team = world.own_village_clinic[people.settlement.astype(np.int64)].astype(np.int64)
        self.team_of = team  # the facility index of each resident's team, -1 none
        self.signing_draw = rng.random(people.n).astype(np.float32) + np.float32(1e-7)
        self.serve_draw = rng.random(people.n).astype(np.float32)
        has = team >= 0
        self.pop = np.bincount(team[has], minlength=n_fac)
        self.end = np.cumsum(self.pop)
        self.begin = self.end - self.pop
        self.panel = np.bincount(team[has & people.signed], minlength=n_fac)
        self.capacity = np.zeros(n_fac)
        self.limit = np.zeros(n_fac, np.int64)
        self.delivery = np.ones(n_fac)
        self.elasticity = 1.0
        self.priority: tuple | None = None
        self.served_count = int(people.served.sum())

    def configure(self, params: Scenario, scale: int) -> None:
        """Capacity from the team's members and panel per member (in agents of `scale` residents);
        delivery and who is served follow at once."""
        tm = params.signing.team
        capacity = tm.members * tm.panel_per_member / scale
        self.capacity[:] = np.where(self.pop > 0, capacity, 0.0)
        self.limit[:] = int(np.floor(capacity * tm.sign_beyond_capacity + 1e-9))
        self.elasticity = tm.delivery_elasticity
        priority = (params.signing.priority.age_60_plus, params.signing.priority.chronic)
        if priority != self.priority:
            self.priority = priority
            self._order(params)
        self.delivery = delivery_rate(self.capacity, self.panel.astype(float), self.elasticity)
        ppl = self.people
        delivery = np.where(self.team_of >= 0, self.delivery[np.maximum(self.team_of, 0)], 1.0)
        ppl.served[:] = ppl.signed & (self.serve_draw < delivery)
        self.served_count = int(ppl.served.sum())

    def _order(self, params: Scenario) -> None:
        """Each team's residents in signing order: weighted sampling without replacement
        (Efraimidis-Spirakis keys log(u) / weight, largest first), teams one after another."""
        ppl = self.people
        member = np.flatnonzero(self.team_of >= 0)
        keys = np.log(self.signing_draw[member]) / signing_weights(params, ppl.band[member], ppl.chronic[member])
        self.order = member[np.lexsort((-keys, self.team_of[member]))]
        self.cursor = np.zeros(len(self.pop), np.int64)  # before it, everyone on the team is signed

    def sign(self, team: int, goal_rate: float, day: int, rng: np.random.Generator) -> int:
        """Sign team `team`'s next residents toward `goal_rate` of its catchment, within its limit."""
        need = min(int(self.limit[team]), round(goal_rate * self.pop[team])) - int(self.panel[team])
        if need <= 0:
            return 0
        picked = self._next_unsigned(team, need)
        if len(picked) == 0:
            return 0
        ppl = self.people
        ppl.signed[picked] = True
        self.panel[team] += len(picked)
        self.residents.signed_count += len(picked)
        self._deliver(team, picked)
        # Signing brings untreated chronic patients into the team's care, if it serves them.
        newly = picked[ppl.chronic[picked] & ~ppl.in_care[picked] & ppl.served[picked]]
        ppl.in_care[newly] = True
        self.onset.schedule(newly, day + 1 + rng.integers(0, 30, len(newly)))
        return len(picked)

    def _next_unsigned(self, team: int, need: int) -> np.ndarray:
        """The next `need` unsigned residents in the team's order (fewer if it runs out)."""
        signed, start, end = self.people.signed, self.begin[team] + self.cursor[team], self.end[team]
        out: list[np.ndarray] = []
        got = 0
        while got < need and start < end:
            chunk = self.order[start:min(end, start + max(2 * (need - got), 64))]
            free = np.flatnonzero(~signed[chunk])[: need - got]
            out.append(chunk[free])
            got += len(free)
            start = start + (int(free[-1]) + 1 if got >= need else len(chunk))
        self.cursor[team] = start - self.begin[team]
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def _deliver(self, team: int, picked: np.ndarray) -> None:
        """Update the team's delivery rate and who of its panel is served."""
        ppl = self.people
        old = self.delivery[team]
        new = float(delivery_rate(self.capacity[team:team + 1], self.panel[team:team + 1].astype(float),
                                  self.elasticity)[0])
        self.delivery[team] = new
        rows = picked if new == old else self.order[self.begin[team]:self.end[team]]
        before = int(ppl.served[rows].sum())
        ppl.served[rows] = ppl.signed[rows] & (self.serve_draw[rows] < new)
        self.served_count += int(ppl.served[rows].sum()) - before

    @property
    def service_rate(self) -> float:
        """Share of signed residents actually served (履约率)."""
        return self.served_count / max(self.residents.signed_count, 1)
