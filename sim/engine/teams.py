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
        team = world.own_village_clinic[people.settlement.astype(np.int64)].astype(np.int32)
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
        self.requests = np.zeros(n_fac, np.int64)  # residents each team asks to sign today

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
        self.order = member[np.lexsort((-keys, self.team_of[member]))].astype(np.int32)
        self.cursor = np.zeros(len(self.pop), np.int64)  # before it, everyone on the team is signed

    def needing(self, goal_rate: float | None) -> np.ndarray:
        """Teams (by facility) below `goal_rate` of their catchment and below their limit."""
        if goal_rate is None:
            return np.zeros(len(self.pop), dtype=bool)
        return np.minimum(self.limit, np.rint(goal_rate * self.pop)) > self.panel

    def sign(self, team: int, goal_rate: float) -> int:
        """Team `team` asks to sign its next residents toward `goal_rate` of its catchment, within
        its limit; the day's requests are carried out together by `settle`. Returns how many."""
        need = min(int(self.limit[team]), round(goal_rate * int(self.pop[team]))) - int(self.panel[team])
        if need <= 0:
            return 0
        self.requests[team] = need
        return need

    def settle(self, day: int, rng: np.random.Generator) -> None:
        """Sign what the teams asked for today, update delivery and who is served; newly signed
        chronic patients the teams serve come into their care (a first follow-up within a month)."""
        teams = np.flatnonzero(self.requests)
        if len(teams) == 0:
            return
        picked = self._next_unsigned(teams, self.requests[teams])
        self.requests[teams] = 0
        ppl = self.people
        ppl.signed[picked] = True
        self.panel += np.bincount(self.team_of[picked], minlength=len(self.panel))
        self.residents.signed_count += len(picked)
        self._deliver(picked)
        newly = picked[ppl.chronic[picked] & ~ppl.in_care[picked] & ppl.served[picked]]
        ppl.in_care[newly] = True
        self.onset.schedule(newly, day + 1 + rng.integers(0, 30, len(newly)))

    def _ranges(self, teams: np.ndarray, start: np.ndarray, width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions start..start+width of each team's order, all teams in one array, and the
        segment (index into `teams`) of each."""
        seg = np.repeat(np.arange(len(teams)), width)
        first = np.cumsum(width) - width
        return np.repeat(start - first, width) + np.arange(int(width.sum())), seg

    def _next_unsigned(self, teams: np.ndarray, need: np.ndarray) -> np.ndarray:
        """The next `need` unsigned residents in each team's order (fewer if a team runs out)."""
        signed = self.people.signed
        start = self.begin[teams] + self.cursor[teams]
        width = np.minimum(np.maximum(2 * need, 64), self.end[teams] - start)
        pos, seg = self._ranges(teams, start, width)
        who = self.order[pos]
        free = ~signed[who]
        before = np.concatenate(([0], np.cumsum(free)))
        rank = before[1:] - np.repeat(before[np.cumsum(width) - width], width)  # 1-based among the free
        take = free & (rank <= need[seg])
        got = np.bincount(seg[take], minlength=len(teams))
        end_pos = start + width  # cursor after the window ...
        last = np.flatnonzero(take)
        last = last[np.r_[seg[last][1:] != seg[last][:-1], True]] if len(last) else last
        done = got >= need
        end_pos[seg[last][done[seg[last]]]] = pos[last][done[seg[last]]] + 1  # ... or after the last taken
        self.cursor[teams] = end_pos - self.begin[teams]
        out = [who[take]]
        for k in np.flatnonzero(~done & (end_pos < self.end[teams])):  # a window too short: rare
            out.append(self._next_unsigned(teams[k:k + 1], need[k:k + 1] - got[k:k + 1]))
        return np.concatenate(out) if len(out) > 1 else out[0]

    def _deliver(self, picked: np.ndarray) -> None:
        """Update the teams' delivery rates and who of their panels is served."""
        ppl = self.people
        old, self.delivery = self.delivery, delivery_rate(self.capacity, self.panel.astype(float), self.elasticity)
        changed = np.flatnonzero(old != self.delivery)
        rows = picked[~np.isin(self.team_of[picked], changed)]
        if len(changed):
            span, _ = self._ranges(changed, self.begin[changed], self.pop[changed])
            rows = np.concatenate([rows, self.order[span]])
        before = int(np.count_nonzero(ppl.served[rows]))
        now = ppl.signed[rows] & (self.serve_draw[rows] < self.delivery[self.team_of[rows]])
        ppl.served[rows] = now
        self.served_count += int(np.count_nonzero(now)) - before

    @property
    def service_rate(self) -> float:
        """Share of signed residents actually served (履约率)."""
        return self.served_count / max(self.residents.signed_count, 1)
