"""Family doctor signing (家庭医生签约): residents are signed toward a target rate over a ramp."""

from __future__ import annotations

import numpy as np

from sim.county.population import Population, signing_weights
from sim.engine.onset import Onset
from sim.engine.programmes.base import Programme
from sim.engine.residents import Residents
from sim.engine.streams import Streams
from sim.scenario.schema import Scenario


class Signing(Programme):
    """Family doctors sign residents toward the target rate, the old and chronic first."""

    def __init__(self, people: Population, residents: Residents, onset: Onset, streams: Streams):
        self.people, self.residents, self.onset, self.streams = people, residents, onset, streams
        self.start = (0, residents.signing_rate)  # the ramp's first day and the rate it starts from

    def on_change(self, old: Scenario, new: Scenario, day: int) -> None:
        """A new target or ramp starts from today's rate."""
        if (old.signing.target_rate, old.signing.ramp_days) != (new.signing.target_rate, new.signing.ramp_days):
            self.start = (day, self.residents.signing_rate)

    def step(self, day: int) -> None:
        """Sign enough residents to keep up with the ramp."""
        sg = self.params.signing
        start_day, start_rate = self.start
        res, ppl = self.residents, self.people
        if day < 0:
            return
        if sg.target_rate <= start_rate and res.signed_count >= round(sg.target_rate * ppl.n):
            return
        progress = 1.0 if sg.ramp_days == 0 else min(1.0, (day - start_day + 1) / sg.ramp_days)
        goal = round((start_rate + (sg.target_rate - start_rate) * progress) * ppl.n)
        need = goal - res.signed_count
        if need <= 0:
            return
        rng = self.streams.get("signing", day)
        weight_max = 1.0 + sg.priority.age_60_plus + sg.priority.chronic
        got = 0
        for _ in range(50):  # rejection sampling: work grows with those signed, not with the population
            cand = rng.integers(0, ppl.n, size=max(4 * (need - got), 64))
            w = signing_weights(self.params, ppl.band[cand], ppl.chronic[cand])
            cand = cand[(rng.random(len(cand)) * weight_max < w) & ~ppl.signed[cand]]
            _, first = np.unique(cand, return_index=True)  # drop repeats, keep the random order
            cand = cand[np.sort(first)][: need - got]
            ppl.signed[cand] = True
            # Signing brings untreated chronic patients into the family doctor's care.
            newly = cand[ppl.chronic[cand] & ~ppl.in_care[cand]]
            ppl.in_care[newly] = True
            self.onset.schedule(newly, day + 1 + rng.integers(0, 30, len(newly)))
            got += len(cand)
            if got >= need:
                break
        res.signed_count += got
