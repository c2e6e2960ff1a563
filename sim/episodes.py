"""A batch of episodes as a structure of arrays (one array per field, one row per episode)."""

from __future__ import annotations

import numpy as np

VISIT, BED = 0, 1  # what an episode waits for at its facility

FIELDS = {
    "person": np.int64,      # resident agent index
    "severity": np.int8,     # 0 minor .. 3 critical
    "inpatient": np.bool_,   # needs a bed
    "chronic": np.bool_,     # a chronic follow-up (not an acute episode)
    "facility": np.int32,    # where the episode is now (-1 before choosing)
    "first_tier": np.int8,   # tier of first contact (-1 before the first visit)
    "referred": np.bool_,    # arrived by referral
    "waited": np.int16,      # days waited so far
    "stage": np.int8,        # VISIT or BED
}


class Batch:
    """Episodes as parallel arrays; `take` selects rows, `concat` joins batches."""

    __slots__ = ("data",)

    def __init__(self, **arrays: np.ndarray):
        self.data = {k: np.asarray(arrays[k], dtype=t) for k, t in FIELDS.items()}

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __len__(self) -> int:
        return len(self.data["person"])

    @classmethod
    def _of(cls, data: dict[str, np.ndarray]) -> "Batch":
        batch = cls.__new__(cls)
        batch.data = data
        return batch

    def take(self, index: np.ndarray) -> "Batch":
        """Rows selected by a boolean mask or an index array."""
        return Batch._of({k: v[index] for k, v in self.data.items()})

    def replace(self, **arrays: np.ndarray) -> "Batch":
        """A copy with some fields replaced."""
        data = dict(self.data)
        for k, v in arrays.items():
            data[k] = np.asarray(v, dtype=FIELDS[k])
        return Batch._of(data)

    @staticmethod
    def empty() -> "Batch":
        """A batch with no episodes."""
        return Batch(**{k: np.zeros(0, t) for k, t in FIELDS.items()})

    @staticmethod
    def new(person: np.ndarray, severity: np.ndarray, inpatient: np.ndarray, chronic: np.ndarray) -> "Batch":
        """Fresh episodes that have not chosen a facility yet."""
        n = len(person)
        return Batch(person=person, severity=severity, inpatient=inpatient, chronic=chronic,
                     facility=np.full(n, -1), first_tier=np.full(n, -1), referred=np.zeros(n, bool),
                     waited=np.zeros(n), stage=np.zeros(n))

    @staticmethod
    def concat(batches: list["Batch"]) -> "Batch":
        """Join batches row-wise."""
        batches = [b for b in batches if len(b)]
        if not batches:
            return Batch.empty()
        if len(batches) == 1:
            return batches[0]
        return Batch._of({k: np.concatenate([b.data[k] for b in batches]) for k in FIELDS})


def rank_within(group: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Position of each row within its group when rows are ordered by key (0 = first)."""
    order = np.lexsort((key, group))
    sorted_group = group[order]
    starts = np.searchsorted(sorted_group, sorted_group, side="left")
    rank = np.empty(len(group), dtype=np.int64)
    rank[order] = np.arange(len(group)) - starts
    return rank


def unique_rounds(person: np.ndarray, scratch: np.ndarray | None = None) -> list[np.ndarray]:
    """Split row indexes into rounds in which no person appears twice (exact per-person caps).

    With `scratch` (an int array as long as the population) this runs in linear time.
    """
    if len(person) == 0:
        return []
    if scratch is not None:
        rows = np.arange(len(person))
        rounds = []
        while len(rows):
            scratch[person[rows]] = rows
            first = scratch[person[rows]] == rows
            rounds.append(rows[first])
            rows = rows[~first]
        return rounds
    occurrence = rank_within(person, np.arange(len(person)))
    top = int(occurrence.max())
    if top == 0:
        return [np.arange(len(person))]
    return [np.flatnonzero(occurrence == r) for r in range(top + 1)]
