"""Who needs care today: new acute episodes and chronic follow-ups that fall due.

Acute onsets are drawn per stratum (age band x chronic status) as Poisson counts, then
the ill are picked within the stratum, so a day's work grows with its episodes. Chronic
follow-ups wait in a calendar keyed by day.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from sim.engine.behaviour import episode_counts, needs_admission, severity_cutoffs, severity_from_cutoffs
from sim.engine.episodes import Batch
from sim.county.population import OLDER_BANDS, Population
from sim.scenario.schema import AGE_BANDS, SEVERITIES, Scenario

MANAGED_WINDOW = 90  # days: a chronic patient seen at the grassroots within this is "managed"


class Onset:
    """Illness onset and the chronic follow-up calendar."""

    def __init__(self, people: Population, params: Scenario, rng: np.random.Generator, start_day: int = 0):
        self.people = people
        chronic = people.chronic
        key = people.band.astype(np.int64) * 2 + chronic
        order = np.argsort(key, kind="stable")
        bounds = np.searchsorted(key[order], np.arange(len(AGE_BANDS) * 2 + 1))
        self.members = order                 # residents sorted by stratum
        self.starts = bounds[:-1]            # where each stratum begins in `members`
        self.sizes = np.diff(bounds)
        self.calendar: dict[int, list[np.ndarray]] = defaultdict(list)
        self.configure(params)
        # First follow-ups spread over one supply period, so the calendar starts in steady state.
        who = np.flatnonzero(people.in_care)
        supply = np.where(people.signed[who], params.signing.benefits.long_prescription_days,
                          params.behaviour.chronic_followup_days)
        self.schedule(who, start_day + (rng.random(len(who)) * supply).astype(np.int64))

    def configure(self, params: Scenario) -> None:
        """Read incidence and severity parameters (again after a policy change)."""
        b = params.behaviour
        band_rate = np.array([getattr(b.acute_incidence, band) for band in AGE_BANDS])
        self.rates = np.repeat(band_rate, 2) * np.tile([1.0, b.chronic_incidence_multiplier], len(AGE_BANDS))
        self.severity_shares = np.array([getattr(b.severity, s) for s in SEVERITIES])
        self.inpatient_probability = np.array([getattr(b.inpatient_probability, s) for s in SEVERITIES])
        # Severity odds by kind of person: older x 4 + unmanaged chronic x 2 + signed chronic.
        older, unmanaged, signed = (np.arange(8) // 4, np.arange(8) // 2 % 2, np.arange(8) % 2)
        odds = np.where(older == 1, b.older_severity_multiplier, 1.0)
        odds = odds * np.where(unmanaged == 1, b.unmanaged_complication_multiplier, 1.0)
        odds = odds * np.where(signed == 1, 1.0 - params.signing.benefits.complication_reduction, 1.0)
        self.cutoffs = np.ascontiguousarray(severity_cutoffs(self.severity_shares, odds).T)  # (3, kinds)

    def schedule(self, person: np.ndarray, day: np.ndarray | int) -> None:
        """Put chronic follow-ups in the calendar."""
        if len(person) == 0:
            return
        if isinstance(day, (int, np.integer)):  # one day for all: the usual case
            self.calendar[int(day)].append(person)
            return
        day = np.asarray(day, dtype=np.int64)
        days = np.unique(day)
        if len(days) == 1:  # the usual case: one supply length
            self.calendar[int(days[0])].append(person)
            return
        if len(days) > 64:  # many distinct days (the initial schedule): sort once
            order = np.argsort(day, kind="stable")
            days, starts = np.unique(day[order], return_index=True)
            for d, chunk in zip(days, np.split(person[order], starts[1:])):
                self.calendar[int(d)].append(chunk)
            return
        for d in days:
            self.calendar[int(d)].append(person[day == d])

    def today(self, day: int, rng: np.random.Generator) -> Batch:
        """Today's new episodes: acute onsets, then chronic follow-ups due."""
        counts = episode_counts(self.rates, self.sizes, rng)
        stratum = np.repeat(np.arange(len(counts)), counts)
        # Pick the ill uniformly within their stratum (with replacement: a rare double onset is allowed).
        within = (rng.random(len(stratum)) * self.sizes[stratum]).astype(np.int64)
        acute = self.members[self.starts[stratum] + within]
        ppl = self.people
        chronic = ppl.chronic[acute]
        unmanaged = chronic & (ppl.last_followup[acute] < day - MANAGED_WINDOW)
        kind = (ppl.band[acute] >= min(OLDER_BANDS)) * 4 + unmanaged * 2 + (chronic & ppl.served[acute])
        u = rng.random((2, len(acute)))
        severity = severity_from_cutoffs(u[0], self.cutoffs[:, kind])
        inpatient = needs_admission(u[1], severity, self.inpatient_probability)
        due = self.calendar.pop(day, [])
        n = len(acute)
        eps = Batch.new(np.concatenate([acute] + due), 0, False, False)  # the follow-ups come last
        eps.severity[:n], eps.inpatient[:n], eps.chronic[n:] = severity, inpatient, True
        return eps
