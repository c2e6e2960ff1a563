"""What the engine keeps about residents beyond their attributes: running counts and trust.

`Population` (sim/county/population.py) holds each resident's attributes and accounts;
`Residents` adds the engine's running totals over them (signed, chronic, managed by day,
summed trust), kept in step as they change, and the two updates of trust.
"""

from __future__ import annotations

import numpy as np

from sim.county.population import Population
from sim.county.world import VILLAGE
from sim.engine.behaviour import experience, learn
from sim.engine.episodes import Batch, Contact, add_counts, unique_rounds
from sim.engine.onset import MANAGED_WINDOW


class Residents:
    """Running totals over the residents, and updates that keep them in step."""

    def __init__(self, people: Population, warmup: int, days: int):
        self.people = people
        self.warmup = warmup
        self.enrolled = np.bincount(people.scheme, minlength=2)  # schemes do not change in a run
        self.chronic_count = int(people.chronic.sum())
        self.signed_count = int(people.signed.sum())
        self.managed_by_day = np.zeros(warmup + days + 1, np.int64)  # by day of last follow-up
        self.trust_sum = people.trust.sum(axis=0).astype(np.float64)
        self.scratch = np.zeros(people.n, dtype=np.int64)  # for linear-time duplicate detection

    @property
    def signing_rate(self) -> float:
        """Share of residents signed to a family doctor."""
        return self.signed_count / max(self.people.n, 1)

    def first_per_person(self, person: np.ndarray) -> np.ndarray:
        """Rows that are each person's first in this batch."""
        rows = np.arange(len(person))
        self.scratch[person[::-1]] = rows[::-1]  # the first occurrence is written last
        return self.scratch[person] == rows

    def rounds(self, person: np.ndarray, unique: bool) -> list[np.ndarray]:
        """Row indexes in rounds where no person appears twice (one round when `unique`)."""
        return [np.arange(len(person))] if unique else unique_rounds(person, self.scratch)

    def mark_managed(self, person: np.ndarray, day: int) -> None:
        """Record a grassroots chronic follow-up on `day` (chronic disease management)."""
        person = person[self.first_per_person(person)]
        old = self.people.last_followup[person].astype(np.int64) + self.warmup
        self.managed_by_day -= np.bincount(old[old >= 0], minlength=len(self.managed_by_day))
        self.managed_by_day[day + self.warmup] += len(person)
        self.people.last_followup[person] = day

    def managed_rate(self, day: int) -> float:
        """Share of chronic patients seen at the grassroots within `MANAGED_WINDOW` days."""
        today = day + self.warmup
        window = self.managed_by_day[max(today - MANAGED_WINDOW + 1, 0):today + 1].sum()
        return window / max(self.chronic_count, 1)

    def learn(self, eps: Batch, tier: np.ndarray, quality: np.ndarray, trust_params, rng: np.random.Generator,
              unique: bool) -> None:
        """Update trust from contacts at facilities of `tier` and `quality` (`unique`: each person
        has one); `trust_params` is the scenario's behaviour.trust."""
        if len(eps) == 0:
            return
        person, waited = eps.person, eps.waited > 0
        referred_on = (eps.contact & Contact.REFERRED_ON) > 0
        t = trust_params
        satisfied = rng.random(len(person)) < quality
        outcome = experience(satisfied, waited, referred_on, t.waiting_penalty, t.referred_outcome)
        trust = self.people.trust
        for rows in self.rounds(person, unique):
            whole = len(rows) == len(person)
            p, k, o = (person, tier, outcome) if whole else (person[rows], tier[rows], outcome[rows])
            old = trust[p, k]
            new = learn(old, o, t.learning_rate)
            trust[p, k] = new
            add_counts(self.trust_sum, k, new - old)

    def hand_back(self, person: np.ndarray) -> None:
        """A specialist hands chronic patients back: their family doctor gains their trust."""
        person = person[self.first_per_person(person)]
        trust = self.people.trust
        old = trust[person, VILLAGE]
        trust[person, VILLAGE] = learn(old, 1.0, 0.5)
        self.trust_sum[VILLAGE] += float((trust[person, VILLAGE] - old).sum())
