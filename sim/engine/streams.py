"""Independent random streams, one per purpose and day.

A policy that changes choices leaves the same people falling ill on the same days
(common random numbers).
"""

from __future__ import annotations

import numpy as np

STREAMS = ("world", "population", "onset", "choice", "care", "signing", "discharge", "teams", "payers")


class Streams:
    """Per-purpose, per-day random generators derived from one seed."""

    SETUP = None
    DAY_OFFSET = 10_000  # keys stay non-negative through any warm-up
    SPENT_BUFFER = np.zeros(4, np.uint64)  # buffer_pos 4: the buffer is used up, the next draw starts afresh

    def __init__(self, seed: int):
        self.seed = seed
        self.key = np.array([np.random.SeedSequence(seed).generate_state(1, np.uint64)[0], 0], dtype=np.uint64)
        self.generators: dict[str, np.random.Generator] = {}

    def get(self, purpose: str, day: int | None = SETUP) -> np.random.Generator:
        """The generator for one purpose on one day (no day: building the model).

        Philox is counter-based: each (purpose, day) counter starts an independent stream. One
        generator per purpose is moved to the day's counter (cheaper than opening a new one),
        so a purpose's generator from an earlier day must not be used again.
        """
        counter = np.array([0, 0, STREAMS.index(purpose), 0 if day is None else day + self.DAY_OFFSET], np.uint64)
        gen = self.generators.get(purpose)
        if gen is None:
            gen = self.generators[purpose] = np.random.Generator(np.random.Philox(key=self.key, counter=counter))
        else:
            bits = gen.bit_generator
            bits.state = {"bit_generator": "Philox", "state": {"counter": counter, "key": self.key},
                          "buffer": self.SPENT_BUFFER, "buffer_pos": 4, "has_uint32": 0, "uinteger": 0}
        return gen
